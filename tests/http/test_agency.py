"""The agency's pages, told through a manager's browser: tiers and their prices, content types,
writers' languages and tiers, the dashboard of every order and the tools on an order.

Other roles find none of these pages; a price change never reaches an order already placed.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import render_template_string
from flask_login import login_user
from markupsafe import escape

from portal.accounts.models import User
from portal.agency.forms import WRITER_SUGGESTIONS, writer_text
from portal.agency.views import LOAD_SHOWN
from portal.errors import Conflict
from portal.extensions import db, utcnow
from portal.notifications.models import OutboxEmail
from portal.orders import service as orders_service
from portal.orders import status_counts
from portal.orders.models import (
    BriefTemplate,
    ContentType,
    Draft,
    Order,
    OrderEvent,
    OrderStatus,
    Tier,
    WriterLanguage,
    writer_tiers,
)
from tests.conftest import counted_statements, statements_of
from tests.factories import deliverable
from tests.http.agency_helpers import (
    bulk_orders,
    claim_order,
    give_skills,
    make_content_type,
    make_tier,
    place_order,
)
from tests.http.pages import by_testid, field_error, flashes, location, page_text


def tier_form(**changes) -> dict:
    form = {
        "name": "Premium",
        "description": "Textes experts, relus deux fois.",
        "client_price": "40",
        "writer_pay": "25",
        "included_revisions": "3",
        "min_lead_hours": "72",
        "position": "2",
        "active": "y",
    }
    form.update(changes)
    return {name: value for name, value in form.items() if value is not None}


@pytest.fixture
def manager(signed_in):
    return signed_in("manager")


@pytest.fixture
def catalogue(app):
    """A tier (20 F CFA a word, 12 to the writer) and a content type, as ids."""
    return {"tier": make_tier(app, name="Standard"),
            "content_type": make_content_type(app, "Article de blog", "Blog article")}


# --- who may come -------------------------------------------------------------------------


AGENCY_PAGES = [
    ("GET", "/agency/orders"),
    ("GET", "/agency/tiers"),
    ("GET", "/agency/tiers/new"),
    ("POST", "/agency/tiers/new"),
    ("GET", "/agency/tiers/{tier}/edit"),
    ("POST", "/agency/tiers/{tier}/edit"),
    ("GET", "/agency/content-types"),
    ("GET", "/agency/content-types/new"),
    ("POST", "/agency/content-types/new"),
    ("GET", "/agency/content-types/{content_type}/edit"),
    ("POST", "/agency/content-types/{content_type}/edit"),
    ("GET", "/agency/writers/{writer}"),
    ("POST", "/agency/writers/{writer}"),
    ("POST", "/agency/orders/{order}/assign"),
    ("POST", "/agency/orders/{order}/deadline"),
    ("POST", "/agency/orders/{order}/revisions"),
    ("POST", "/agency/orders/{order}/references"),
    ("POST", "/agency/orders/{order}/showcase"),
    ("GET", "/agency/templates"),
    ("GET", "/agency/templates/new"),
    ("POST", "/agency/templates/new"),
    ("GET", "/agency/templates/{template}/edit"),
    ("POST", "/agency/templates/{template}/edit"),
    ("POST", "/agency/templates/{template}/publish"),
    ("POST", "/agency/templates/{template}/delete"),
]


@pytest.fixture
def world(app, person, catalogue):
    client = person("client")
    writer = person("writer")
    order = place_order(app, client, tier_id=catalogue["tier"],
                        content_type_id=catalogue["content_type"])
    with app.app_context():
        template = BriefTemplate(owner_id=None, name="Article type", published=True,
                                 content_type_id=catalogue["content_type"], language="fr",
                                 words_min=600, words_max=800)
        db.session.add(template)
        db.session.commit()
        template_id = template.id
    return {**catalogue, "writer": writer.id, "order": order, "client_user": client,
            "template": template_id}


@pytest.mark.parametrize("role", ["client", "writer"])
@pytest.mark.parametrize(("method", "url"), AGENCY_PAGES)
def test_clients_and_writers_find_no_agency_page(signed_in, world, role, method, url, stored):
    browser = signed_in(world["client_user"] if role == "client" else role)
    target = url.format(**world)
    if method == "GET":
        response = browser.get(target)
    else:
        response = browser.submit(target, {"name": "Volé", "client_price": "1", "writer_pay": "1",
                                           "assign-writer": "Writer"},
                                  page="/home")
    assert response.status_code == 404
    assert stored(Tier, Tier.name == "Volé") == 0
    assert stored(BriefTemplate, BriefTemplate.name == "Article type") == 1
    assert stored(OrderEvent, OrderEvent.action.in_(["assign", "deadline_extended",
                                                     "revision_granted"])) == 0


@pytest.mark.parametrize(("method", "url"), AGENCY_PAGES)
def test_visitors_are_sent_to_the_login_page(visitor, world, method, url):
    target = url.format(**world)
    response = visitor.get(target) if method == "GET" else visitor.submit(target, {},
                                                                           page="/login")
    assert response.status_code == 302
    assert location(response).startswith("/login")


def test_every_agency_view_is_for_managers_only(app):
    from portal.accounts.models import Role

    views = {name: view for name, view in app.view_functions.items()
             if name.startswith("agency.")}
    assert len(views) == len({url for _method, url in AGENCY_PAGES})
    assert all(view.allowed_roles == (Role.MANAGER,) for view in views.values())


# --- tiers --------------------------------------------------------------------------------


def test_a_manager_creates_a_tier_with_prices_typed_in_francs(manager, load):
    page = manager.get("/agency/tiers/new")
    assert page.status_code == 200
    assert "A price change applies to orders submitted after it." in page_text(page)

    response = manager.submit("/agency/tiers/new", tier_form())

    assert location(response) == "/agency/tiers"
    tier = load(Tier, name="Premium")
    assert (tier.client_price_per_word, tier.writer_pay_per_word) == (40, 25)
    assert (tier.included_revisions, tier.min_lead_hours, tier.position, tier.active) == \
        (3, 72, 2, True)
    listing = manager.get("/agency/tiers")
    assert "The tier “Premium” is created." in flashes(listing)
    row = by_testid(listing, f"tier-{tier.id}")
    assert "Premium" in row
    assert "40" in row and "25" in row and "72 hours" in row


def test_prices_in_euros_are_typed_with_cents_and_stored_in_cents(app, manager, load,
                                                                  monkeypatch):
    monkeypatch.setitem(app.config, "AGENCY_CURRENCY", "EUR")

    response = manager.submit("/agency/tiers/new", tier_form(client_price="0,08",
                                                             writer_pay="0.05"))

    assert location(response) == "/agency/tiers"
    tier = load(Tier, name="Premium")
    assert (tier.client_price_per_word, tier.writer_pay_per_word) == (8, 5)
    assert "€0.08" in by_testid(manager.get("/agency/tiers"), f"tier-{tier.id}")
    edit = manager.get(f"/agency/tiers/{tier.id}/edit").get_data(as_text=True)
    assert 'value="0.08"' in edit


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"client_price": "-5"}, "client_price", "A price cannot be negative."),
    ({"writer_pay": "-1"}, "writer_pay", "A price cannot be negative."),
    ({"client_price": "0", "writer_pay": "0"}, "client_price",
     "The client price per word must be more than zero."),
    ({"client_price": "20", "writer_pay": "25"}, "writer_pay",
     "The writer pay per word cannot be more than the client price per word."),
    ({"name": "standard"}, "name", "A tier named “standard” already exists."),
    ({"name": "  "}, "name", "Give the tier a name."),
    ({"min_lead_hours": "0"}, "min_lead_hours", "From 1 to 720 hours."),
    ({"min_lead_hours": "721"}, "min_lead_hours", "From 1 to 720 hours."),
    ({"included_revisions": "11"}, "included_revisions", "From 0 to 10."),
    ({"client_price": "25,5"}, "client_price",
     "This currency has no decimals: enter a whole amount."),
    ({"client_price": "vingt"}, "client_price", "Enter an amount, like 25 or 0,08."),
    ({"client_price": ""}, "client_price", "Give the client price per word."),
])
def test_a_tier_the_rules_refuse_is_not_stored_and_the_form_says_why(
    manager, catalogue, stored, changes, field, message
):
    before = stored(Tier)

    response = manager.submit("/agency/tiers/new", tier_form(**changes))

    assert response.status_code == 422
    assert message in field_error(response, field)
    assert stored(Tier) == before


def test_the_service_refuses_what_the_form_would_let_through(app, person, catalogue):
    from portal.agency import service

    with app.app_context():
        manager = db.session.get(User, person("manager").id)
        values = service.TierValues(name="Bis", client_price_per_word=10,
                                    writer_pay_per_word=11, included_revisions=1,
                                    min_lead_hours=24)
        with pytest.raises(Conflict) as refused:
            service.create_tier(manager, values)
        assert refused.value.field == "writer_pay"
        values.writer_pay_per_word, values.min_lead_hours = 5, 0
        with pytest.raises(Conflict):
            service.create_tier(manager, values)
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Tier)) == 1


def test_editing_a_tier_changes_it_and_keeps_its_own_name_free(manager, catalogue, load):
    tier_id = catalogue["tier"]
    page = manager.get(f"/agency/tiers/{tier_id}/edit")
    assert page.status_code == 200
    assert 'value="Standard"' in page.get_data(as_text=True)

    response = manager.submit(f"/agency/tiers/{tier_id}/edit",
                              tier_form(name="Standard", client_price="30", writer_pay="18",
                                        active=None))

    assert location(response) == "/agency/tiers"
    tier = load(Tier, id=tier_id)
    assert (tier.name, tier.client_price_per_word, tier.writer_pay_per_word, tier.active) == \
        ("Standard", 30, 18, False)


def test_renaming_a_tier_to_another_tiers_name_is_refused(app, manager, catalogue, load):
    other = make_tier(app, name="Expert")

    response = manager.submit(f"/agency/tiers/{other}/edit", tier_form(name="STANDARD"))

    assert response.status_code == 422
    assert "A tier named “STANDARD” already exists." in field_error(response, "name")
    assert load(Tier, id=other).name == "Expert"


def test_a_new_price_never_changes_an_order_already_submitted(app, manager, person,
                                                              catalogue, load):
    client = person("client")
    order_id = place_order(app, client, tier_id=catalogue["tier"],
                           content_type_id=catalogue["content_type"], words_max=500)
    placed = load(Order, id=order_id)
    assert (placed.price_per_word, placed.price_total) == (20, 10_000)

    response = manager.submit(f"/agency/tiers/{catalogue['tier']}/edit",
                              tier_form(name="Standard", client_price="40", writer_pay="30",
                                        included_revisions="0"))
    assert location(response) == "/agency/tiers"
    assert "Orders already placed keep their price." in " ".join(
        flashes(manager.get("/agency/tiers")))

    kept = load(Order, id=order_id)
    assert (kept.price_per_word, kept.price_total, kept.writer_pay_total) == (20, 10_000, 6_000)
    assert kept.included_revisions == 2
    assert load(Tier, id=catalogue["tier"]).client_price_per_word == 40
    newer = load(Order, id=place_order(app, client, tier_id=catalogue["tier"],
                                       content_type_id=catalogue["content_type"],
                                       words_max=500))
    assert newer.price_total == 20_000


def test_unknown_tier_is_not_found(manager):
    assert manager.get("/agency/tiers/999/edit").status_code == 404


# --- content types ------------------------------------------------------------------------


def test_a_manager_creates_and_edits_a_content_type(manager, load, stored):
    response = manager.submit("/agency/content-types/new", {
        "name_fr": "Communiqué de presse", "name_en": "Press release", "position": "4",
        "active": "y",
    })
    assert location(response) == "/agency/content-types"
    kind = load(ContentType, name_fr="Communiqué de presse")
    assert (kind.name_en, kind.position, kind.active) == ("Press release", 4, True)
    assert "Press release" in by_testid(manager.get("/agency/content-types"),
                                        f"content-type-{kind.id}")

    duplicate = manager.submit("/agency/content-types/new", {
        "name_fr": "communiqué de presse", "name_en": "Other", "position": "0"})
    assert duplicate.status_code == 422
    assert "already exists" in field_error(duplicate, "name_fr")
    missing = manager.submit("/agency/content-types/new", {
        "name_fr": "Fiche produit", "name_en": "", "position": "0"})
    assert "Give the English name." in field_error(missing, "name_en")
    assert stored(ContentType) == 1

    edit = manager.get(f"/agency/content-types/{kind.id}/edit")
    assert 'value="Communiqué de presse"' in edit.get_data(as_text=True)
    response = manager.submit(f"/agency/content-types/{kind.id}/edit", {
        "name_fr": "Communiqué", "name_en": "Press release", "position": "1"})
    assert location(response) == "/agency/content-types"
    kind = load(ContentType, id=kind.id)
    assert (kind.name_fr, kind.position, kind.active) == ("Communiqué", 1, False)


def test_a_withdrawn_content_type_takes_no_new_brief_but_orders_keep_it(
    app, manager, person, catalogue, load
):
    client = person("client")
    order_id = place_order(app, client, tier_id=catalogue["tier"],
                           content_type_id=catalogue["content_type"])

    manager.submit(f"/agency/content-types/{catalogue['content_type']}/edit", {
        "name_fr": "Article de blog", "name_en": "Blog article", "position": "0"})

    assert load(ContentType, id=catalogue["content_type"]).active is False
    assert load(Order, id=order_id).content_type_id == catalogue["content_type"]
    assert "Blog article" in page_text(manager.get("/agency/orders"))
    with app.app_context(), pytest.raises(Conflict):
        orders_service.create_draft(db.session.get(User, client.id), orders_service.Brief(
            title="Nouveau", content_type_id=catalogue["content_type"], language="fr",
            words_min=300, words_max=500, tier_id=catalogue["tier"],
            deadline=utcnow() + timedelta(days=10)))


# --- writers' languages and tiers ---------------------------------------------------------


def _skills(app, user_id: int) -> tuple[set[str], set[int]]:
    with app.app_context():
        languages = set(db.session.scalars(
            sa.select(WriterLanguage.language).where(WriterLanguage.user_id == user_id)))
        tiers = set(db.session.scalars(
            sa.select(writer_tiers.c.tier_id).where(writer_tiers.c.user_id == user_id)))
    return languages, tiers


def test_a_manager_sets_the_languages_and_tiers_of_a_writer(app, manager, person, catalogue):
    writer = person("writer", name="Kossi Mensah")
    expert = make_tier(app, name="Expert")
    person_page = manager.get(f"/people/{writer.id}")
    assert f"/agency/writers/{writer.id}" in person_page.get_data(as_text=True)

    page = manager.get(f"/agency/writers/{writer.id}")
    assert page.status_code == 200
    assert "Languages and tiers of Kossi Mensah" in page_text(page)

    response = manager.submit(f"/agency/writers/{writer.id}", {
        "languages": ["fr", "en"], "tiers": [str(catalogue["tier"]), str(expert)]})
    assert location(response) == f"/agency/writers/{writer.id}"
    assert _skills(app, writer.id) == ({"fr", "en"}, {catalogue["tier"], expert})
    saved = manager.get(f"/agency/writers/{writer.id}")
    assert "Kossi Mensah's languages and tiers are saved." in flashes(saved)
    assert saved.get_data(as_text=True).count("checked") == 4

    manager.submit(f"/agency/writers/{writer.id}", {"languages": ["en"]})
    assert _skills(app, writer.id) == ({"en"}, set())


def test_unknown_languages_or_tiers_are_refused(app, manager, person, catalogue):
    writer = person("writer")
    give_skills(app, writer, languages=["fr"], tier_ids=[catalogue["tier"]])

    response = manager.submit(f"/agency/writers/{writer.id}", {"languages": ["fr", "de"],
                                                               "tiers": ["999"]})

    assert response.status_code == 422
    assert _skills(app, writer.id) == ({"fr"}, {catalogue["tier"]})


@pytest.mark.parametrize("role", ["client", "manager"])
def test_the_skills_page_exists_only_for_writers(manager, person, role):
    somebody = person(role)
    assert manager.get(f"/agency/writers/{somebody.id}").status_code == 404
    assert manager.submit(f"/agency/writers/{somebody.id}", {"languages": ["fr"]},
                          page="/agency/tiers").status_code == 404
    assert manager.get("/agency/writers/999").status_code == 404
    assert "/agency/writers/" not in manager.get(f"/people/{somebody.id}").get_data(
        as_text=True)


# --- tools on an order --------------------------------------------------------------------


def _emails(app, order_id: int, kind: str) -> list[str]:
    with app.app_context():
        return sorted(db.session.scalars(
            sa.select(OutboxEmail.recipient).where(
                OutboxEmail.idempotency_key.like(f"order:{order_id}:%:{kind}:%"))))


def _events(app, order_id: int, action: str) -> list[OrderEvent]:
    with app.app_context():
        events = list(db.session.scalars(sa.select(OrderEvent).where(
            OrderEvent.order_id == order_id, OrderEvent.action == action)))
        db.session.expunge_all()
        return events


def _assign(manager, order_id: int, writer: str, page: str | None = None, **fields: str):
    """The manager sends the assign form of an order from `page` (the order's own by default):
    `writer` as typed in its writer field, the other fields named without their prefix."""
    form = {"assign-writer": writer} | {f"assign-{name}": value for name, value in fields.items()}
    return manager.submit(f"/agency/orders/{order_id}/assign", form,
                          page=page or f"/orders/{order_id}")


def _claimed(app, person, catalogue) -> tuple[int, User, User]:
    """A client's order claimed by a first writer, and a second writer to give it to."""
    client = person("client")
    first, second = person("writer"), person("writer")
    order_id = place_order(app, client, tier_id=catalogue["tier"],
                           content_type_id=catalogue["content_type"])
    give_skills(app, first, tier_ids=[catalogue["tier"]])
    claim_order(app, order_id, first)
    return order_id, first, second


def test_a_manager_assigns_then_reassigns_an_order(app, manager, person, catalogue, load):
    client = person("client")
    first = person("writer", name="Afi Lawson")
    second = person("writer", name="Yao Agbeko")
    order_id = place_order(app, client, tier_id=catalogue["tier"],
                           content_type_id=catalogue["content_type"])

    response = _assign(manager, order_id, f"Afi Lawson <{first.email}>", "/agency/orders",
                       note="Afi connaît ce client.")

    assert location(response) == f"/orders/{order_id}"
    order = load(Order, id=order_id)
    assert (order.status, order.writer_id) == (OrderStatus.IN_PROGRESS, first.id)
    [event] = _events(app, order_id, "assign")
    assert (event.from_status, event.to_status, event.note) == (
        OrderStatus.OPEN, OrderStatus.IN_PROGRESS, "Afi connaît ce client.")
    assert _emails(app, order_id, "taken") == [client.email]
    assert _emails(app, order_id, "assigned") == [first.email]
    assert f"CMD-{order_id:05d} is now assigned to Afi Lawson." in flashes(
        manager.get("/agency/tiers"))

    response = _assign(manager, order_id, second.email, "/agency/orders")

    assert location(response) == f"/orders/{order_id}"
    order = load(Order, id=order_id)
    assert (order.status, order.writer_id) == (OrderStatus.IN_PROGRESS, second.id)
    assert len(_events(app, order_id, "assign")) == 1
    assert len(_events(app, order_id, "reassign")) == 1
    assert _emails(app, order_id, "taken") == [client.email, client.email]
    assert _emails(app, order_id, "assigned") == sorted([first.email, second.email])
    # The writer taken off the order is told, once.
    assert _emails(app, order_id, "unassigned") == [first.email]


def _writer_at_work(app, order_id: int, writer: User, text: str, *,
                    deliver: bool = False) -> str | None:
    """The writer saves `text` in the order's draft (and delivers it, completed to pass the
    delivery rules, then the client asks for a revision, when `deliver`). Returns the delivered
    text."""
    with app.app_context():
        order = db.session.get(Order, order_id)
        author = db.session.get(User, writer.id)
        draft = orders_service.draft_for(order)
        delivered = deliverable(order, text)  # long enough for the brief when delivered
        orders_service.save_draft(order, author, delivered if deliver else text,
                                  base_version=draft.version)
        if deliver:
            orders_service.deliver(order, author)
            orders_service.request_revision(order, order.client, "Plus court.")
            draft = orders_service.draft_for(order)
            orders_service.save_draft(order, author, text + "\n\nUne suite à moitié écrite.",
                                      base_version=draft.version)
        db.session.commit()
        return delivered if deliver else None


def _stored_draft(app, order_id: int) -> str | None:
    with app.app_context():
        draft = db.session.get(Draft, order_id)
        return None if draft is None else draft.text


def _unassigned_email(app, order_id: int, writer: User) -> str:
    with app.app_context():
        return db.session.scalar(sa.select(OutboxEmail.text_body).where(
            OutboxEmail.idempotency_key.like(f"order:{order_id}:%:unassigned:{writer.id}")))


PASSED = "Your unfinished text was passed on to the new writer."
SET_ASIDE = "Your unfinished text was not passed on"
DELIVERED = "(the delivered text)"


@pytest.mark.parametrize(("choice", "delivered", "draft_after", "line"), [
    ({}, False, None, SET_ASIDE),
    ({"pass_draft": "y"}, False, "Mon premier jet.", PASSED),
    ({}, True, DELIVERED, SET_ASIDE),
    ({"pass_draft": "y"}, True, "Mon premier jet.\n\nUne suite à moitié écrite.",
     PASSED),
], ids=["default: set aside", "passed on", "in revision: back to the delivery",
        "in revision: passed on"])
def test_a_reassignment_passes_the_unfinished_text_on_only_when_the_manager_chooses_it(
    app, manager, person, catalogue, choice, delivered, draft_after, line
):
    order_id, first, second = _claimed(app, person, catalogue)
    delivered_text = _writer_at_work(app, order_id, first, "Mon premier jet.",
                                     deliver=delivered)
    draft_after = delivered_text if draft_after == DELIVERED else draft_after
    page = manager.get(f"/orders/{order_id}").get_data(as_text=True)
    checkbox = re.search(r'<input[^>]*name="assign-pass_draft"[^>]*>', page).group(0)
    assert "checked" not in checkbox  # not passed on unless the manager says so

    response = _assign(manager, order_id, writer_text(second), **choice)

    assert location(response) == f"/orders/{order_id}"
    assert _stored_draft(app, order_id) == draft_after
    email = _unassigned_email(app, order_id, first)
    assert line in email
    assert (PASSED if line == SET_ASIDE else SET_ASIDE) not in email
    assert "stays with the order" not in email


def test_a_reassignment_without_unfinished_text_says_nothing_about_it(app, manager, person,
                                                                      catalogue):
    order_id, first, second = _claimed(app, person, catalogue)

    _assign(manager, order_id, writer_text(second), pass_draft="y")

    email = _unassigned_email(app, order_id, first)
    assert "gave the order" in email and "unfinished text" not in email


def test_assigning_to_someone_who_is_not_an_active_writer_is_refused(app, manager, person,
                                                                     catalogue, load, stored):
    client = person("client")
    gone = person("writer", active=False)
    order_id = place_order(app, client, tier_id=catalogue["tier"],
                           content_type_id=catalogue["content_type"])

    for typed in (gone.email, gone.display_name, client.email, "Nobody at all"):
        response = _assign(manager, order_id, typed, "/agency/orders")
        assert location(response) == f"/orders/{order_id}"
        assert flashes(manager.get("/agency/tiers")) == [
            f"No active writer matches “{typed}”: type part of their name or their email "
            "address."]

    assert load(Order, id=order_id).status is OrderStatus.OPEN
    assert stored(OrderEvent, OrderEvent.action == "assign") == 0


def test_an_approved_order_cannot_be_assigned(app, manager, person, catalogue, load):
    client = person("client")
    writer = person("writer")
    order_id = place_order(app, client, tier_id=catalogue["tier"],
                           content_type_id=catalogue["content_type"])
    with app.app_context():
        db.session.execute(sa.update(Order).where(Order.id == order_id)
                           .values(status=OrderStatus.APPROVED))
        status_counts.recount()
        db.session.commit()

    _assign(manager, order_id, writer.email, "/agency/orders")

    [message] = flashes(manager.get("/agency/tiers"))
    assert "can no longer be changed this way" in message
    assert load(Order, id=order_id).writer_id is None


def _local(value: datetime, zone: str) -> str:
    return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def test_a_deadline_moves_later_in_the_managers_time_zone_never_earlier(
    app, signed_in, person, catalogue, load
):
    manager = signed_in("manager", timezone="Europe/Paris")
    client = person("client")
    deadline = (utcnow() + timedelta(days=10)).replace(second=0, microsecond=0)
    order_id = place_order(app, client, tier_id=catalogue["tier"],
                           content_type_id=catalogue["content_type"], deadline=deadline)

    earlier = _local(deadline - timedelta(hours=1), "Europe/Paris")
    manager.submit(f"/agency/orders/{order_id}/deadline", {"deadline-deadline": earlier},
                   page="/agency/orders")
    assert flashes(manager.get("/agency/tiers")) == [
        "The new deadline must be later than the current one and than now."]
    assert load(Order, id=order_id).deadline == deadline
    assert _events(app, order_id, "deadline_extended") == []

    later = deadline + timedelta(days=20)
    response = manager.submit(f"/agency/orders/{order_id}/deadline",
                              {"deadline-deadline": _local(later, "Europe/Paris"),
                               "deadline-note": "Le client attend des chiffres."},
                              page="/agency/orders")
    assert location(response) == f"/orders/{order_id}"
    assert load(Order, id=order_id).deadline == later
    [event] = _events(app, order_id, "deadline_extended")
    assert event.note == "Le client attend des chiffres."

    manager.submit(f"/agency/orders/{order_id}/deadline", {"deadline-deadline": "demain"},
                   page="/agency/orders")
    assert flashes(manager.get("/agency/tiers")) == ["Not a valid datetime value."]


def test_a_manager_grants_an_extra_revision(app, manager, person, catalogue, load):
    client = person("client")
    order_id = place_order(app, client, tier_id=catalogue["tier"],
                           content_type_id=catalogue["content_type"])

    response = manager.submit(f"/agency/orders/{order_id}/revisions", {},
                              page="/agency/orders")

    assert location(response) == f"/orders/{order_id}"
    order = load(Order, id=order_id)
    assert (order.extra_revisions, order.revisions_allowed) == (1, 3)
    assert len(_events(app, order_id, "revision_granted")) == 1
    assert flashes(manager.get("/agency/tiers")) == [
        "One more revision round is granted: 3 in all."]


def test_the_order_tools_show_what_the_manager_may_do_now(app, person, catalogue):
    client = person("client")
    manager = person("manager")
    writer = person("writer", name="Afi Lawson")
    person("writer", name="Yao Agbeko")
    give_skills(app, writer, languages=["fr"], tier_ids=[catalogue["tier"]])
    order_id = place_order(app, client, tier_id=catalogue["tier"],
                           content_type_id=catalogue["content_type"])
    template = "{% include 'agency/_order_tools.html' %}"

    def tools_for(user_id: int) -> str:
        with app.test_request_context("/"):
            login_user(db.session.get(User, user_id))
            return render_template_string(template, order=db.session.get(Order, order_id))

    html = tools_for(manager.id)
    assert f'action="/agency/orders/{order_id}/assign"' in html
    # Suggested: the writers of the order's language and tier, with their work in hand.
    assert (f'<option value="{escape(writer_text(writer))}">0 being written, 0 awaiting '
            'review</option>') in html
    assert "Yao Agbeko" not in html  # outside their languages or tiers: typed, not suggested
    assert f'action="/agency/orders/{order_id}/deadline"' in html
    assert f'action="/agency/orders/{order_id}/revisions"' in html
    assert tools_for(client.id).strip() == ""
    assert tools_for(writer.id).strip() == ""

    claim_order(app, order_id, writer)
    html = tools_for(manager.id)
    assert "Reassign" in html
    assert "Afi Lawson" not in html  # already on it
    assert 'name="assign-writer"' in html


# --- all orders ---------------------------------------------------------------------------


def test_the_dashboard_counts_filters_and_flags_late_orders(app, manager, person, catalogue):
    client = person("client", name="Ama Koffi")
    afi = person("writer", name="Afi Lawson")
    yao = person("writer", name="Yao Agbeko")
    bulk_orders(app, 12, client=client, tier_id=catalogue["tier"],
                content_type_id=catalogue["content_type"], writers=[afi, yao], overdue_every=6)

    page = manager.get("/agency/orders")

    assert page.status_code == 200
    assert by_testid(page, "count-open").split()[-1] == "2"
    assert by_testid(page, "count-in_progress").split()[-1] == "2"
    assert by_testid(page, "count-all").split()[-1] == "12"
    # Orders 1 and 7 are late; both are open, so they count as overdue.
    assert by_testid(page, "count-overdue").split()[-1] == "2"
    assert by_testid(page, "overdue-badge").count("Overdue") == 2
    assert "Ama Koffi" in page_text(page)
    assert "16,000" in page_text(page) or "16 000" in page_text(page)
    # Statuses cycle open, in progress, delivered, revision, approved, cancelled and writers
    # alternate: Afi holds the deliveries (and approvals), Yao what is being written (and the
    # cancelled ones, which are nobody's load).
    assert by_testid(page, f"load-{afi.id}").split()[-2:] == ["0", "2"]
    assert by_testid(page, f"load-{yao.id}").split()[-2:] == ["4", "0"]

    overdue = manager.get("/agency/orders?overdue=1")
    assert len([row for row in overdue.get_data(as_text=True).split('data-testid="order-row"')
                [1:]]) == 2
    by_status = manager.get("/agency/orders?status=delivered")
    assert "2 orders" in by_testid(by_status, "result-count")
    by_writer = manager.get(f"/agency/orders?writer_id={afi.id}&status=approved")
    assert "2 orders" in by_testid(by_writer, "result-count")
    by_title = manager.get("/agency/orders?q=commande 1")
    assert "4 orders" in by_testid(by_title, "result-count")  # 1, 10, 11, 12
    nothing = manager.get(f"/agency/orders?tier_id={make_tier(app)}")
    assert "No order matches these filters." in page_text(nothing)
    assert manager.get("/agency/orders?status=bogus&tier_id=x&page=99&sort=drop").status_code \
        == 200


def test_the_dashboard_counts_follow_each_change_made_through_the_pages(
    app, manager, person, catalogue, signed_in
):
    client = person("client")
    writer = person("writer")
    give_skills(app, writer, ("fr",), (catalogue["tier"],))
    first, second, third = (place_order(app, client, tier_id=catalogue["tier"],
                                        content_type_id=catalogue["content_type"])
                            for _n in range(3))

    def shown() -> dict[str, str]:
        page = manager.get("/agency/orders")
        return {name: by_testid(page, f"count-{name}").split()[-1]
                for name in ("all", "open", "in_progress", "cancelled", "overdue")}

    assert shown() == {"all": "3", "open": "3", "in_progress": "0", "cancelled": "0",
                       "overdue": "0"}

    signed_in(writer).submit(f"/work/orders/{first}/claim", page="/work/pool")
    assert shown() == {"all": "3", "open": "2", "in_progress": "1", "cancelled": "0",
                       "overdue": "0"}

    manager.submit(f"/orders/{second}/cancel", {"reason": "Plus besoin."},
                   page=f"/orders/{second}")
    assert shown() == {"all": "3", "open": "1", "in_progress": "1", "cancelled": "1",
                       "overdue": "0"}

    browser = signed_in(client)
    browser.submit("/orders/new", {
        "title": "Un brouillon", "content_type_id": str(catalogue["content_type"]),
        "language": "fr", "words_min": "300", "words_max": "500",
        "tier_id": str(catalogue["tier"]),
        "deadline": (datetime.now(ZoneInfo("Africa/Lome")) + timedelta(days=9))
        .strftime("%Y-%m-%dT%H:%M"),
        "save_draft": "1",
    })
    with app.app_context():
        [draft] = db.session.scalars(sa.select(Order.id).where(
            Order.status == OrderStatus.DRAFT))
        assert status_counts.counted()[OrderStatus.DRAFT] == 1
        # Late now: a deadline is not a status, the overdue count is read from the orders.
        db.session.execute(sa.update(Order).where(Order.id.in_((first, third)))
                           .values(deadline=utcnow() - timedelta(hours=1)))
        db.session.commit()
    assert shown() == {"all": "3", "open": "1", "in_progress": "1", "cancelled": "1",
                       "overdue": "2"}  # the draft is the client's, not yet the agency's

    browser.submit(f"/orders/{draft}/delete", {}, page=f"/orders/{draft}")
    with app.app_context():
        assert status_counts.counted()[OrderStatus.DRAFT] == 0
    assert shown()["all"] == "3"


def test_drafts_are_not_on_the_dashboard(app, manager, person, catalogue):
    client = person("client")
    bulk_orders(app, 3, client=client, tier_id=catalogue["tier"],
                content_type_id=catalogue["content_type"], statuses=[OrderStatus.DRAFT])
    page = manager.get("/agency/orders")
    assert by_testid(page, "count-all").split()[-1] == "0"
    assert "No order matches these filters." in page_text(page)


def test_the_dashboard_pages_through_many_orders_keeping_the_filters(
    app, manager, person, catalogue
):
    client = person("client")
    bulk_orders(app, 45, client=client, tier_id=catalogue["tier"],
                content_type_id=catalogue["content_type"], statuses=[OrderStatus.OPEN])
    page = manager.get("/agency/orders?status=open&sort=deadline")
    html = page.get_data(as_text=True)
    assert html.count('data-testid="order-row"') == 20
    assert "page=3" in html and "status=open" in html and "sort=deadline" in html
    last = manager.get("/agency/orders?status=open&sort=deadline&page=3")
    assert last.get_data(as_text=True).count('data-testid="order-row"') == 5


# The user, the writers' load, the filters' tiers and content types (one statement), the counts
# per status with the overdue count (one, from order_status_counts), the page of orders, their
# unread counts, the bell with the unread total (one); a filter other than the status adds the
# count of what it finds. Past its budget the page has a new statement, maybe one per row.
DASHBOARD_BUDGET = {
    "/agency/orders": 7,
    "/agency/orders?overdue=1&sort=deadline": 8,
    "/agency/orders?status=in_progress&language=fr": 8,
}


@pytest.mark.parametrize("url", list(DASHBOARD_BUDGET))
def test_the_dashboard_runs_as_many_statements_for_30_orders_as_for_3(
    app, manager, person, catalogue, url
):
    client = person("client")
    writers = [person("writer") for _ in range(3)]

    def statements_with(count: int) -> int:
        bulk_orders(app, count, client=client, tier_id=catalogue["tier"],
                    content_type_id=catalogue["content_type"], writers=writers,
                    overdue_every=4)
        return len(statements_of(app, manager, url))

    few = statements_with(3)
    many = statements_with(27)  # 30 in all
    assert few == many
    assert few <= DASHBOARD_BUDGET[url]


def test_the_dashboard_never_counts_the_orders_per_status(app, manager, person, catalogue):
    """The counts per status come from order_status_counts: no GROUP BY over the orders."""
    bulk_orders(app, 6, client=person("client"), tier_id=catalogue["tier"],
                content_type_id=catalogue["content_type"])
    statements = statements_of(app, manager, "/agency/orders")
    grouped = [s for s in statements if "GROUP BY orders.status" in s]
    assert grouped == []
    assert len([s for s in statements if "order_status_counts" in s]) == 1
    assert not any(" FROM tiers" in s and "content_types" not in s for s in statements)


@pytest.mark.parametrize("query", ["", "?writer_id={writer.id}", "?writer={writer.email}",
                                   "?writer=Nobody%20of%20that%20name"])
def test_the_dashboard_reads_the_same_rows_for_3_writers_as_with_60_idle_ones_more(
    app, manager, person, catalogue, query
):
    """What the side table and the writer field read follows the work in progress, not the
    agency's size: each statement, and how many rows it brings back, is the same whatever the
    number of writers without work."""
    writers = [person("writer") for _ in range(3)]
    bulk_orders(app, 12, client=person("client"), tier_id=catalogue["tier"],
                content_type_id=catalogue["content_type"], writers=writers)
    url = "/agency/orders" + query.format(writer=writers[0])

    def read() -> list[tuple[str, int]]:
        with counted_statements(app, parameters=True) as sent:
            assert manager.get(url).status_code == 200
        with app.app_context(), db.engine.connect() as connection:
            return [(statement, len(connection.exec_driver_sql(statement, parameters).all()))
                    for statement, parameters in sent]  # the page only reads

    few = read()
    # The linked writer, or those matching the typed one, are read with the panel (8 in all,
    # the count of their orders included; 7 when nobody matches: no writer filter).
    assert len(few) <= (8 if "{writer" in query else 7), [s[:70] for s, _n in few]
    for _ in range(60):
        person("writer")
    assert read() == few


def _rows_read(app, client, url: str) -> list[tuple[str, int]]:
    """Each statement of a GET of `url` after a first one (which may move a read marker), and
    how many rows it brings back (run again; the page only reads then)."""
    assert client.get(url).status_code == 200
    with counted_statements(app, parameters=True) as sent:
        assert client.get(url).status_code == 200
    with app.app_context(), db.engine.connect() as connection:
        return [(statement, len(connection.exec_driver_sql(statement, parameters).all()))
                for statement, parameters in sent]


def test_the_assign_form_costs_the_same_statements_and_few_rows_for_5_writers_as_for_65(
    app, manager, person, catalogue
):
    """The assign form's suggestions are the least busy writers of the order's language and
    tier, a few of them: the order page runs the same statements with 5 such writers as with
    60 more, none bringing back more rows than a page of suggestions; idle writers come first."""
    client = person("client")
    order_id = place_order(app, client, tier_id=catalogue["tier"],
                           content_type_id=catalogue["content_type"])
    busy = [person("writer", name=f"Busy {n}") for n in range(5)]
    for writer in busy:
        give_skills(app, writer, tier_ids=[catalogue["tier"]])
    bulk_orders(app, 5, client=client, tier_id=catalogue["tier"],
                content_type_id=catalogue["content_type"], writers=busy,
                statuses=[OrderStatus.IN_PROGRESS])
    url = f"/orders/{order_id}"

    few = _rows_read(app, manager, url)
    assert 'name="assign-writer"' in manager.get(url).get_data(as_text=True)
    for n in range(60):
        give_skills(app, person("writer", name=f"Idle {n:02d}"), tier_ids=[catalogue["tier"]])
    many = _rows_read(app, manager, url)

    assert [statement for statement, _n in many] == [statement for statement, _n in few]
    assert max(rows for _s, rows in many) <= max(WRITER_SUGGESTIONS,
                                                 *(rows for _s, rows in few))
    html = manager.get(url).get_data(as_text=True)
    suggested = re.findall(r'<option value="([^"]+)">', html.split(
        '<datalist id="assign-writer-suggestions">')[1].split("</datalist>")[0])
    assert len(suggested) == WRITER_SUGGESTIONS
    assert all(value.startswith("Idle") for value in suggested)


def test_a_writer_outside_the_suggestions_is_assigned_by_address_with_a_warning(
    app, manager, person, catalogue, load
):
    """The suggestions are a few writers of the order's language and tier; any other active
    writer is typed: found by their address, assigned, and the manager is told that they do
    not write at this tier."""
    client = person("client")
    order_id = place_order(app, client, tier_id=catalogue["tier"],
                           content_type_id=catalogue["content_type"])
    for n in range(WRITER_SUGGESTIONS + 3):
        give_skills(app, person("writer", name=f"Skilled {n:02d}"), tier_ids=[catalogue["tier"]])
    outsider = person("writer", name="Kossi Outside")

    page = manager.get(f"/orders/{order_id}").get_data(as_text=True)
    assert "Kossi" not in page.split('<datalist id="assign-writer-suggestions">')[1] \
        .split("</datalist>")[0]
    _assign(manager, order_id, outsider.email)

    assert load(Order, id=order_id).writer_id == outsider.id
    assert flashes(manager.get("/agency/tiers")) == [
        f"CMD-{order_id:05d} is now assigned to Kossi Outside.",
        "Kossi Outside does not write in this order's language or at its tier: make sure they "
        "can write it."]


def test_the_dashboard_writer_filter_reads_wildcards_as_typed(app, manager, person, catalogue):
    """What is typed is looked for as it is: "_" is a character of a name, not a wildcard
    that would bring back a page of other writers first (only a few are read)."""
    client = person("client")
    underscored = person("writer", name="Ko_fi Mensah")
    for n in range(8):  # "o_f" as a wildcard: all of these, sorted before Ko_fi
        person("writer", name=f"Aoxf {n}")
    bulk_orders(app, 2, client=client, tier_id=catalogue["tier"],
                content_type_id=catalogue["content_type"], writers=[underscored],
                statuses=[OrderStatus.IN_PROGRESS])

    page = manager.get("/agency/orders?writer=o_f")
    assert "is-invalid" not in page.get_data(as_text=True)
    assert "2 orders" in by_testid(page, "result-count")


def test_the_order_page_carries_the_tools_and_their_cancel_form_works(app, manager, person,
                                                                      catalogue, load):
    client = person("client")
    order_id = place_order(app, client, tier_id=catalogue["tier"],
                           content_type_id=catalogue["content_type"])

    page = manager.get(f"/orders/{order_id}")
    assert page.status_code == 200
    tools = by_testid(page, "agency-tools")
    assert "Agency tools" in tools and "Extend the deadline" in tools
    assert "Cancel the order" in tools
    html = page.get_data(as_text=True)
    assert f'action="/orders/{order_id}/cancel"' in html
    assert 'id="agency-cancel-reason" name="reason"' in html

    response = manager.submit(f"/orders/{order_id}/cancel", {"reason": "Doublon."},
                              page=f"/orders/{order_id}")

    assert response.status_code == 302
    assert load(Order, id=order_id).status is OrderStatus.CANCELLED
    assert "agency-tools" not in manager.get(f"/orders/{order_id}").get_data(as_text=True)


def test_the_dashboard_shows_the_busiest_writers_and_counts_the_rest(app, manager, person,
                                                                     catalogue):
    """An agency of hundreds of writers: the side table keeps to the busiest fifteen (busiest
    first), says how many others are busy and links to those without work; the writer filter
    is a text field that suggests the busiest few, never a list of every writer."""
    client = person("client")
    busiest = person("writer", name="Zoé Busiest")
    busy = [person("writer", name=f"Writer {n:02d}") for n in range(WRITER_SUGGESTIONS + 2)]
    idle = [person("writer", name=f"Idle {n}") for n in range(3)]
    bulk_orders(app, 3, client=client, tier_id=catalogue["tier"],
                content_type_id=catalogue["content_type"], writers=[busiest],
                statuses=[OrderStatus.IN_PROGRESS])
    bulk_orders(app, len(busy), client=client, tier_id=catalogue["tier"],
                content_type_id=catalogue["content_type"], writers=busy,
                statuses=[OrderStatus.DELIVERED])

    page = manager.get("/agency/orders")

    html = page.get_data(as_text=True)
    shown = re.findall(r'data-testid="load-(\d+)"', html)
    assert len(shown) == LOAD_SHOWN
    assert shown[0] == str(busiest.id)
    assert not {str(writer.id) for writer in idle} & set(shown)
    others = by_testid(page, "load-others")
    assert f"{len(busy) + 1 - LOAD_SHOWN} other writers have work in progress" in others
    assert "3 writers without work in progress" in others
    assert "/people?role=writer&amp;status=active" in html
    field = re.search(r'<input[^>]*name="writer"[^>]*>', html).group(0)
    assert 'list="writer-suggestions"' in field and 'type="search"' in field
    suggested = re.findall(r'<option value="([^"]+)">',
                           html.split('<datalist id="writer-suggestions">')[1]
                           .split("</datalist>")[0])
    assert len(suggested) == WRITER_SUGGESTIONS < len([busiest, *busy, *idle])
    assert suggested[0] == writer_text(busiest).replace("<", "&lt;").replace(">", "&gt;")
    assert not any(value.startswith("Idle") for value in suggested)  # typed, not suggested
    assert 'name="writer_id"' not in html  # no <select> of every writer
    # A link to one writer's orders (the side table's) shows who in the field.
    chosen = manager.get(f"/agency/orders?writer_id={idle[0].id}").get_data(as_text=True)
    field = re.search(r'<input[^>]*name="writer"[^>]*>', chosen).group(0)
    assert f'value="Idle 0 &lt;{idle[0].email}&gt;"' in field


def test_the_dashboard_writer_filter_finds_one_writer_or_says_why_not(app, manager, person,
                                                                      catalogue):
    """Typed, not picked from thousands: a name (or part of one, or an address) that means one
    active writer filters on them; one that means nobody, or several, says so at the field
    and filters on no writer."""
    client = person("client")
    afi = person("writer", name="Afi Lawson", email="afi.lawson@example.test")
    afiwa = person("writer", name="Afiwa Mensah", email="afiwa@example.test")
    person("writer", name="Afi Lawson", email="other.afi@example.test", active=False)
    bulk_orders(app, 2, client=client, tier_id=catalogue["tier"],
                content_type_id=catalogue["content_type"], writers=[afi],
                statuses=[OrderStatus.IN_PROGRESS])
    bulk_orders(app, 3, client=client, tier_id=catalogue["tier"],
                content_type_id=catalogue["content_type"], writers=[afiwa],
                statuses=[OrderStatus.IN_PROGRESS])

    for typed in ("Afi Lawson", "afi lawson", "lawson", "AFI.LAWSON@example.test",
                  f"Someone else <{afi.email}>"):
        page = manager.get("/agency/orders", query_string={"writer": typed})
        assert "2 orders" in by_testid(page, "result-count"), typed
        assert "is-invalid" not in page.get_data(as_text=True)
    assert "3 orders" in by_testid(manager.get("/agency/orders?writer=Mensah"), "result-count")

    several = manager.get("/agency/orders?writer=afi")
    assert "5 orders" in by_testid(several, "result-count")  # no writer filter
    assert ("Several writers match “afi” (Afi Lawson, Afiwa Mensah…): type more of the name, "
            "or the email address.") in page_text(several)
    assert 'aria-invalid="true"' in several.get_data(as_text=True)

    nobody = manager.get("/agency/orders?writer=Kossi")
    assert "5 orders" in by_testid(nobody, "result-count")
    assert ("No active writer matches “Kossi”: type part of their name or their email "
            "address.") in page_text(nobody)


def test_assigning_by_a_typed_name_takes_the_one_writer_it_means(app, manager, person,
                                                                 catalogue, load, stored):
    """The assign form's writer field: a name that means one active writer assigns them; a
    name that means several, or nobody, is refused with its reason and changes nothing."""
    client = person("client")
    afi = person("writer", name="Afi Lawson")
    person("writer", name="Afiwa Mensah")
    order_id = place_order(app, client, tier_id=catalogue["tier"],
                           content_type_id=catalogue["content_type"])
    give_skills(app, afi, tier_ids=[catalogue["tier"]])

    page = manager.get(f"/orders/{order_id}").get_data(as_text=True)
    field = re.search(r'<input[^>]*name="assign-writer"[^>]*>', page).group(0)
    assert 'list="assign-writer-suggestions"' in field
    # Suggested: the writers of the order's language and tier (Afi only).
    suggestions = page.split('<datalist id="assign-writer-suggestions">')[1] \
        .split("</datalist>")[0]
    assert "Afi Lawson" in suggestions and "Afiwa" not in suggestions

    for typed, message in (
        ("afi", "Several writers match “afi” (Afi Lawson, Afiwa Mensah…): type more of the "
                "name, or the email address."),
        ("Kossi", "No active writer matches “Kossi”: type part of their name or their email "
                  "address."),
        ("   ", "Type the name or the email address of the writer."),
        ("Afi " * 100, "At most 340 characters."),
    ):
        _assign(manager, order_id, typed)
        assert flashes(manager.get("/agency/tiers")) == [message]
        assert load(Order, id=order_id).writer_id is None
    assert stored(OrderEvent, OrderEvent.action == "assign") == 0

    # A name, even one writer's whole name, only proposes them: names are the writers' own to
    # choose and need not be unique, so only the address assigns (the suggestions carry it).
    for typed in ("afi lawson", "lawson"):
        _assign(manager, order_id, typed)
        assert flashes(manager.get("/agency/tiers")) == [
            f"Choose the writer in the list, or type their email address: "
            f"Afi Lawson <{afi.email}>"]
        assert load(Order, id=order_id).writer_id is None
    _assign(manager, order_id, f"Afi Lawson <{afi.email}>")
    assert load(Order, id=order_id).writer_id == afi.id


def test_a_writer_named_with_two_spaces_is_found_as_the_page_shows_the_name(
        app, manager, person, catalogue):
    """"Afi  Mensah" reads "Afi Mensah" on a page (HTML folds spaces), and that is what a
    manager types: both the dashboard filter and the assign field find her, typed either way."""
    client = person("client")
    afi = person("writer", name="Afi  Mensah", email="afi@example.test")
    bulk_orders(app, 2, client=client, tier_id=catalogue["tier"],
                content_type_id=catalogue["content_type"], writers=[afi],
                statuses=[OrderStatus.IN_PROGRESS])
    order_id = place_order(app, client, tier_id=catalogue["tier"],
                           content_type_id=catalogue["content_type"])
    for typed in ("Afi Mensah", "afi  mensah"):
        page = manager.get("/agency/orders", query_string={"writer": typed})
        assert "2 orders" in by_testid(page, "result-count"), typed
        _assign(manager, order_id, typed)
        assert flashes(manager.get("/agency/tiers")) == [
            f"Choose the writer in the list, or type their email address: "
            f"Afi Mensah <{afi.email}>"]  # as the page shows it


def test_a_writer_named_with_an_accented_capital_is_found_in_any_case(app, manager, person,
                                                                        catalogue, load):
    """SQLite's own lower() folds ASCII only: "élodie" would not find "Élodie" there."""
    client = person("client")
    elodie = person("writer", name="Élodie Agbo")
    order_id = place_order(app, client, tier_id=catalogue["tier"],
                           content_type_id=catalogue["content_type"])
    for typed in ("élodie", "ÉLODIE AGBO"):
        _assign(manager, order_id, typed)
        assert flashes(manager.get("/agency/tiers")) == [
            f"Choose the writer in the list, or type their email address: "
            f"Élodie Agbo <{elodie.email}>"]
    _assign(manager, order_id, elodie.email.upper())
    assert load(Order, id=order_id).writer_id == elodie.id


def test_assigning_a_writer_outside_the_orders_language_or_tier_warns_the_manager(
        app, manager, person, catalogue, load):
    """The suggestions offer the writers of the order's language and tier only; one typed by
    address outside them is assigned, and the manager is told."""
    client = person("client")
    outsider = person("writer", name="Kodjo Outside")
    insider = person("writer", name="Afi Inside")
    give_skills(app, insider, tier_ids=[catalogue["tier"]])
    order_id = place_order(app, client, tier_id=catalogue["tier"],
                           content_type_id=catalogue["content_type"])

    _assign(manager, order_id, outsider.email)
    assert load(Order, id=order_id).writer_id == outsider.id
    assert flashes(manager.get("/agency/tiers")) == [
        f"CMD-{order_id:05d} is now assigned to Kodjo Outside.",
        "Kodjo Outside does not write in this order's language or at its tier: make sure they "
        "can write it."]

    _assign(manager, order_id, insider.email)
    assert load(Order, id=order_id).writer_id == insider.id
    assert flashes(manager.get("/agency/tiers")) == [
        f"CMD-{order_id:05d} is now assigned to Afi Inside."]


def test_idle_writers_are_suggested_even_beside_an_order_in_progress_with_no_writer(
        app, manager, person, catalogue):
    """An order being written that has no writer (an import, a repair by hand) must not empty
    the assign form's idle suggestions: NOT IN over a list holding NULL is never true."""
    client = person("client")
    idle = [person("writer", name=f"Idle {n}") for n in range(3)]
    for writer in idle:
        give_skills(app, writer, tier_ids=[catalogue["tier"]])
    order_id = place_order(app, client, tier_id=catalogue["tier"],
                           content_type_id=catalogue["content_type"])
    bulk_orders(app, 1, client=client, tier_id=catalogue["tier"],
                content_type_id=catalogue["content_type"], statuses=[OrderStatus.IN_PROGRESS])
    page = manager.get(f"/orders/{order_id}").get_data(as_text=True)
    offered = page.split('<datalist id="assign-writer-suggestions">')[1].split("</datalist>")[0]
    assert [writer.display_name in offered for writer in idle] == [True] * 3


def test_a_writer_is_found_by_their_name_as_stored_whatever_the_database_lowers_it_to(
        app, manager, person, catalogue, load):
    """Python and PostgreSQL lower "İ" and a final sigma differently: both sides are lowered by
    the database, so a name typed as stored finds its writer on both."""
    client = person("client")
    ilker = person("writer", name="İlker Ψ ΟΔΥΣΣΕΑΣ")
    order_id = place_order(app, client, tier_id=catalogue["tier"],
                           content_type_id=catalogue["content_type"])
    _assign(manager, order_id, "İlker Ψ ΟΔΥΣΣΕΑΣ")  # found: a name is confirmed by address
    assert flashes(manager.get("/agency/tiers")) == [
        f"Choose the writer in the list, or type their email address: "
        f"İlker Ψ ΟΔΥΣΣΕΑΣ <{ilker.email}>"]
    assert load(Order, id=order_id).writer_id is None
