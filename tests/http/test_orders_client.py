"""The client's side of orders, told through the browser: the brief and its live quote, drafts,
submission, "My orders", the order page, review of deliveries, and what other people may not
see."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db, utcnow
from portal.orders import service
from portal.orders.models import Delivery, Order, OrderEvent, OrderStatus
from tests.conftest import statements_of
from tests.http.orders_helpers import OrderWorld, local_input
from tests.http.pages import by_testid, field_error, flashes, form_errors, location, page_text

# Fixed deadlines below must stay within the agency's horizon (ORDER_MAX_DAYS_AHEAD) whatever
# the day the suite runs: the clock starts on a known day and keeps ticking.
pytestmark = pytest.mark.usefixtures("known_day")


@pytest.fixture
def known_day(time_machine):
    time_machine.move_to(datetime(2026, 11, 26, 9, 0, tzinfo=UTC), tick=True)


STALE = "This brief was changed in another window since you opened it."


@pytest.fixture
def world(app, factory) -> OrderWorld:
    return OrderWorld(app, factory)


@pytest.fixture
def ama(signed_in):
    """A confirmed client, logged in, who lives in Paris."""
    return signed_in("client", timezone="Europe/Paris")


def csrf(client, page="/orders/new") -> str:
    return client.csrf_token(page)


def post_brief(client, data, url="/orders/new"):
    return client.submit(url, data, page=url)


# --- the brief ----------------------------------------------------------------------------


def test_the_brief_page_offers_the_catalogue_and_a_live_quote_box(ama, world):
    assert world.catalogue
    page = ama.get("/orders/new")

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<meta name="csrf-token" content="' in html
    assert "/static/js/quote.js" in html
    assert "<script>" not in html  # no inline script: the CSP forbids them
    assert 'type="datetime-local"' in html
    assert "Blog article" in html  # the content type in the client's language
    assert "Standard 1 · " in html and "per word" in html  # each level with its price
    # The default brief is priced on the server before any script runs.
    assert by_testid(page, "quote-total") not in ("", "—")


def test_a_client_saves_a_draft_and_the_deadline_is_read_in_their_time_zone(ama, world, load):
    form = world.form(zone="Europe/Paris", deadline="2027-03-10T09:30",
                      secondary_keywords="plage, marché\nmusée\nPlage",
                      links_to_include="https://example.com/agenda\n\nhttps://example.com/b")

    response = post_brief(ama, form)

    order = load(Order, title="Dix idées de sorties à Lomé")
    assert location(response) == f"/orders/{order.id}"
    assert order.status is OrderStatus.DRAFT
    assert order.client_id == ama.user.id
    # 09:30 in Paris in March (UTC+1) is 08:30 UTC.
    assert order.deadline == datetime(2027, 3, 10, 8, 30, tzinfo=UTC)
    assert order.secondary_keywords == "plage\nmarché\nmusée"
    assert order.links_to_include == "https://example.com/agenda\nhttps://example.com/b"
    assert order.price_total is None  # priced at submission only
    saved = flashes(ama.get(location(response)))
    assert "Your draft is saved. Submit it when it is ready." in saved

    edit = ama.get(f"/orders/{order.id}/edit").get_data(as_text=True)
    assert 'value="2027-03-10T09:30"' in edit


def test_save_and_submit_freezes_the_price_and_opens_the_order(ama, world, load, stored):
    response = post_brief(ama, world.form(save_draft=None, save_submit="Save and submit",
                                          words_max="1000"))

    order = load(Order, title="Dix idées de sorties à Lomé")
    assert location(response) == f"/orders/{order.id}"
    assert order.status is OrderStatus.OPEN
    assert order.price_total == 1000 * world.catalogue.price_per_word
    assert order.writer_pay_total == 1000 * world.catalogue.pay_per_word
    assert order.submitted_at is not None
    assert stored(OrderEvent, OrderEvent.order_id == order.id, OrderEvent.action == "submit") == 1
    page = ama.get(f"/orders/{order.id}")
    assert f"Your order {order.reference} is sent." in " ".join(flashes(page))


def test_a_draft_is_submitted_from_its_page(ama, world, load):
    order_id = world.order(ama.user, OrderStatus.DRAFT)
    page = ama.get(f"/orders/{order_id}")
    assert "Submit the order" in page_text(page)

    response = ama.submit(f"/orders/{order_id}/submit",
                          {"version": load(Order, id=order_id).version},
                          page=f"/orders/{order_id}")

    assert location(response) == f"/orders/{order_id}"
    assert load(Order, id=order_id).status is OrderStatus.OPEN


def in_hours(hours: int, zone: str = "Europe/Paris") -> str:
    return local_input(utcnow() + timedelta(hours=hours), zone)


SUBMIT = {"save_draft": None, "save_submit": "Save and submit"}

BAD_BRIEFS = [
    ("deadline in the past", {"deadline": "2020-01-01T10:00"}, "deadline",
     "The deadline is in the past."),
    ("deadline inside the lead time", {"deadline": lambda: in_hours(20), **SUBMIT}, "deadline",
     "level needs at least 48 hours: choose a later deadline."),
    ("deadline not a date", {"deadline": "next tuesday"}, "deadline",
     "Enter the deadline as a date and a time."),
    ("no deadline", {"deadline": ""}, "deadline", "Choose a deadline."),
    ("min above max", {"words_min": "900", "words_max": "800"}, "words_min",
     "The minimum cannot be above the maximum."),
    ("min below 100", {"words_min": "99"}, "words_min", "A word count is between 100 and 20,000."),
    ("max above 20,000", {"words_max": "20001"}, "words_max",
     "A word count is between 100 and 20,000."),
    ("words not a number", {"words_max": "huit cents"}, "words_max",
     "Enter a whole number of words, like 800."),
    ("no title", {"title": "  "}, "title", "Give the order a title."),
    ("unknown tier", {"tier_id": "999"}, "tier_id", "Choose a quality level from the list."),
    ("unknown content type", {"content_type_id": "abc"}, "content_type_id",
     "Choose a type of content from the list."),
    ("unknown language", {"language": "de"}, "language", "Choose a language from the list."),
    ("link with a script scheme", {"links_to_include": "javascript:alert(1)"},
     "links_to_include", "“javascript:alert(1)” is refused: only web addresses starting with "
     "http:// or https:// are accepted, not “javascript:”."),
    ("reference that names no host", {"reference_urls": "https://ok.example.com\nexample"},
     "reference_urls", "“example” is not a web address"),
    ("writer who never worked for the client", {"preferred_writer_id": "1"},
     "preferred_writer_id", "Choose a writer who has worked for you before."),
    ("instructions too long", {"instructions": "x" * 10_001}, "instructions",
     "At most 10,000 characters."),
    ("reference texts too long", {"reference_texts": "mot " * 5_001}, "reference_texts",
     "The reference texts hold at most 20,000 characters: keep the passages that matter."),
    # the delivery rules look for words: a keyword of signs alone could never be delivered
    ("main keyword of signs alone", {"primary_keyword": "🍕"}, "primary_keyword",
     "A keyword needs at least one letter or digit: “🍕” has none."),
    ("another keyword of signs alone", {"secondary_keywords": "pizza\n&"}, "secondary_keywords",
     "A keyword needs at least one letter or digit: “&” has none."),
]


@pytest.mark.parametrize(("changes", "field", "message"),
                         [case[1:] for case in BAD_BRIEFS], ids=[case[0] for case in BAD_BRIEFS])
def test_a_bad_brief_is_refused_with_a_clear_message_and_nothing_is_stored(
    ama, world, stored, changes, field, message
):
    changes = {k: v() if callable(v) else v for k, v in changes.items()}

    response = post_brief(ama, world.form(zone="Europe/Paris", **changes))

    assert response.status_code == 422
    assert message in field_error(response, field)
    assert stored(Order) == 0


@pytest.mark.parametrize("extra", [
    {"price_total": "1"},
    {"status": "approved"},
    {"writer_id": "1"},
    {"price_per_word": "0", "client_id": "1"},
])
@pytest.mark.parametrize("button", [{}, SUBMIT])
def test_fields_a_client_may_not_set_are_refused_and_nothing_is_stored(
    ama, world, stored, extra, button
):
    response = post_brief(ama, world.form(**button, **extra))

    assert response.status_code == 422
    errors = " ".join(form_errors(response))
    assert "This form does not accept these fields:" in errors
    for name in extra:
        assert name in errors
    assert stored(Order) == 0


def test_an_edit_made_from_an_old_version_is_refused_and_overwrites_nothing(ama, world, app, load):
    order_id = world.order(ama.user, OrderStatus.DRAFT, title="Premier titre")
    version = load(Order, id=order_id).version
    # Meanwhile, in another window, the client saved a change.
    with app.app_context():
        order = db.session.get(Order, order_id)
        service.update_draft(order, order.client, service.Brief(
            title="Titre de l'autre fenêtre", content_type_id=order.content_type_id,
            language="fr", words_min=100, words_max=800, tier_id=order.tier_id,
            deadline=order.deadline), version=version)
        db.session.commit()

    response = post_brief(ama, world.form(title="Titre périmé", version=str(version)),
                          url=f"/orders/{order_id}/edit")

    assert response.status_code == 422
    assert STALE in " ".join(form_errors(response))
    stored_order = load(Order, id=order_id)
    assert stored_order.title == "Titre de l'autre fenêtre"
    assert stored_order.version == version + 1


def test_a_draft_is_edited_with_its_current_version(ama, world, load):
    order_id = world.order(ama.user, OrderStatus.DRAFT)
    version = load(Order, id=order_id).version

    response = post_brief(ama, world.form(title="Nouveau titre", version=str(version)),
                          url=f"/orders/{order_id}/edit")

    assert location(response) == f"/orders/{order_id}"
    order = load(Order, id=order_id)
    assert (order.title, order.version) == ("Nouveau titre", version + 1)


def test_an_edited_draft_is_saved_and_submitted_at_once(ama, world, load):
    order_id = world.order(ama.user, OrderStatus.DRAFT)
    version = load(Order, id=order_id).version

    response = post_brief(ama, world.form(title="Prêt à partir", version=str(version), **SUBMIT),
                          url=f"/orders/{order_id}/edit")

    assert location(response) == f"/orders/{order_id}"
    order = load(Order, id=order_id)
    assert (order.title, order.status) == ("Prêt à partir", OrderStatus.OPEN)
    assert order.price_total == 800 * world.catalogue.price_per_word


def test_a_client_may_ask_for_a_writer_who_worked_for_them_before(ama, world, load):
    writer = world.writer(name="Kossi Mensah")
    world.order(ama.user, OrderStatus.APPROVED, writer=writer)
    assert "Kossi Mensah" in ama.get("/orders/new").get_data(as_text=True)

    post_brief(ama, world.form(title="Avec Kossi", preferred_writer_id=str(writer.id), **SUBMIT))

    order = load(Order, title="Avec Kossi")
    assert order.preferred_writer_id == writer.id
    assert order.offered_until is not None
    assert "Kossi Mensah" in by_testid(ama.get(f"/orders/{order.id}"), "facts")


def test_a_submitted_brief_can_no_longer_be_edited(ama, world, load):
    order_id = world.order(ama.user, OrderStatus.OPEN)
    response = post_brief(ama, world.form(title="Trop tard", version="2"),
                          url=f"/orders/{order_id}/edit")
    assert location(response) == f"/orders/{order_id}"
    assert load(Order, id=order_id).title != "Trop tard"


def test_an_unconfirmed_client_may_save_a_draft_but_not_submit(signed_in, world, stored, load):
    newcomer = signed_in("client", confirmed=False)
    page = newcomer.get("/orders/new")
    assert "Confirm your email address to submit orders and attach files." in by_testid(
        page, "unconfirmed-note")

    refused = post_brief(newcomer, world.form(**SUBMIT))
    assert refused.status_code == 422
    assert "Confirm your email address before placing an order." in " ".join(form_errors(refused))
    assert stored(Order) == 0

    saved = post_brief(newcomer, world.form())
    order = load(Order, client_id=newcomer.user.id)
    assert location(saved) == f"/orders/{order.id}"

    response = newcomer.submit(f"/orders/{order.id}/submit", {"version": order.version},
                               page=f"/orders/{order.id}")
    assert "Confirm your email address before placing an order." in flashes(
        newcomer.get(location(response)))
    assert load(Order, id=order.id).status is OrderStatus.DRAFT


def test_a_draft_is_deleted_by_its_client(ama, world, stored):
    order_id = world.order(ama.user, OrderStatus.DRAFT)
    response = ama.submit(f"/orders/{order_id}/delete", {}, page=f"/orders/{order_id}")
    assert location(response) == "/orders"
    assert stored(Order) == 0


def test_the_owner_cancels_an_open_order(ama, world, load):
    order_id = world.order(ama.user, OrderStatus.OPEN)
    assert "Cancel the order" in page_text(ama.get(f"/orders/{order_id}"))

    response = ama.submit(f"/orders/{order_id}/cancel", {"reason": "Plus besoin."},
                          page=f"/orders/{order_id}")

    assert location(response) == f"/orders/{order_id}"
    assert load(Order, id=order_id).status is OrderStatus.CANCELLED


def test_pages_of_the_client_side_are_for_clients(signed_in):
    writer = signed_in("writer")
    assert writer.get("/orders/new").status_code == 404
    assert writer.get("/orders").status_code == 404


# --- the live quote -----------------------------------------------------------------------


def quote(client, token, **data):
    return client.post("/orders/quote", json=data, headers={"X-CSRFToken": token})


def test_the_quote_follows_the_word_count_tier_and_deadline(ama, world, app):
    token = csrf(ama)
    price = world.catalogue.price_per_word
    far = in_hours(24 * 10)

    small = quote(ama, token, words_max="500", tier_id=world.catalogue.tier_id, deadline=far)
    large = quote(ama, token, words_max=1200, tier_id=str(world.catalogue.tier_id), deadline=far)

    assert small.status_code == 200
    first, second = small.get_json(), large.get_json()
    assert first["ok"] and second["ok"]
    assert (first["total"], second["total"]) == (500 * price, 1200 * price)
    assert first["is_rush"] is False
    assert first["total_display"] != second["total_display"]
    assert first["per_word_display"] and first["base_display"] == first["total_display"]
    assert "500 words" in first["message"]

    # A deadline inside the rush window (72 h) but beyond the tier's lead time (48 h).
    rushed = quote(ama, token, words_max="1000", tier_id=world.catalogue.tier_id,
                   deadline=in_hours(60)).get_json()
    percent = app.config["RUSH_SURCHARGE_PERCENT"]
    assert rushed["ok"] and rushed["is_rush"]
    assert rushed["total"] == 1000 * price + (1000 * price * percent + 50) // 100
    assert "rush surcharge" in rushed["message"]


@pytest.mark.parametrize(("data", "message"), [
    ({"words_max": "50"}, "A word count is between 100 and 20,000."),
    ({"words_max": "abc"}, "Enter a whole number of words, like 800."),
    ({"words_max": ""}, "Enter a number of words."),
    ({"tier_id": "999"}, "Choose a quality level from the list."),
    ({"tier_id": "x"}, "Choose a quality level from the list."),
    ({"deadline": "2020-01-01T10:00"}, "The deadline is in the past."),
    ({"deadline": "lundi"}, "Enter the deadline as a date and a time."),
    ({"deadline": ""}, "Choose a deadline to see the price."),
])
def test_a_quote_of_bad_input_says_why_and_is_never_a_server_error(ama, world, data, message):
    payload = {"words_max": "800", "tier_id": world.catalogue.tier_id,
               "deadline": in_hours(24 * 10), **data}

    response = quote(ama, csrf(ama), **payload)

    assert response.status_code == 422
    body = response.get_json()
    assert body["ok"] is False
    assert message in body["message"]


def test_a_quote_inside_the_lead_time_names_the_rule(ama, world):
    body = quote(ama, csrf(ama), words_max="800", tier_id=world.catalogue.tier_id,
                 deadline=in_hours(10)).get_json()
    assert body["ok"] is False
    assert "needs at least 48 hours" in body["message"]


def test_a_quote_without_the_csrf_header_is_refused(ama, world):
    response = ama.post("/orders/quote", json={"words_max": "800"})
    assert response.status_code == 400
    assert response.get_json()["ok"] is False


# --- "My orders" --------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["d'İzmir", "guide du", "GUIDE du MARCHÉ"])
def test_my_orders_search_finds_a_title_as_the_page_shows_it(ama, world, typed):
    """Both sides folded by the database: "İ" is "i̇" to Python and "i" to PostgreSQL, and a
    page shows two spaces as one."""
    world.order(ama.user, OrderStatus.OPEN, title="Guide  du marché d'İzmir")
    world.order(ama.user, OrderStatus.OPEN, title="Autre commande")

    found = page_text(ama.get("/orders", query_string={"q": typed}))

    assert "Guide" in found and "Autre commande" not in found


def test_my_orders_has_tabs_with_counts_search_and_sort(ama, world, signed_in, update, load):
    other = signed_in("client")
    world.order(other.user, OrderStatus.OPEN, title="Pas à moi")
    world.order(ama.user, OrderStatus.DRAFT, title="Brouillon sur le café")
    first = world.order(ama.user, OrderStatus.OPEN, title="Guide du café togolais",
                        deadline=utcnow() + timedelta(days=20))
    world.order(ama.user, OrderStatus.OPEN, title="Recettes de fête",
                deadline=utcnow() + timedelta(days=5))
    world.order(ama.user, OrderStatus.CANCELLED, title="Annulée")

    page = ama.get("/orders")
    assert page.status_code == 200
    assert by_testid(page, "count-all") == "4"
    assert by_testid(page, "count-open") == "2"
    assert by_testid(page, "count-draft") == "1"
    assert by_testid(page, "count-cancelled") == "1"
    assert "Pas à moi" not in page_text(page)
    text = page_text(page)
    # Newest first by default.
    assert text.index("Annulée") < text.index("Recettes de fête") < text.index("Brouillon")

    open_tab = page_text(ama.get("/orders?status=open"))
    assert "Guide du café togolais" in open_tab and "Brouillon" not in open_tab

    found = page_text(ama.get("/orders?q=CAFÉ"))
    assert "Guide du café togolais" in found and "Brouillon sur le café" in found
    assert "Recettes" not in found

    by_deadline = page_text(ama.get("/orders?status=open&sort=deadline"))
    assert by_deadline.index("Recettes de fête") < by_deadline.index("Guide du café")

    # An order past its deadline is highlighted.
    update(load(Order, id=first), deadline=utcnow() - timedelta(hours=1))
    assert "Overdue" in by_testid(ama.get("/orders?status=open"), "overdue")


def test_my_orders_is_paginated(ama, world, app):
    app.config["ORDERS_PER_PAGE"], previous = 2, app.config["ORDERS_PER_PAGE"]
    try:
        for n in range(5):
            world.order(ama.user, OrderStatus.DRAFT, title=f"Texte numéro {n}")
        first = ama.get("/orders")
        third = ama.get("/orders?page=3")
        beyond = ama.get("/orders?page=99")
    finally:
        app.config["ORDERS_PER_PAGE"] = previous
    assert first.get_data(as_text=True).count('data-testid="order-row"') == 2
    assert "/orders?page=3" in first.get_data(as_text=True)
    assert "Texte numéro 0" in page_text(third)
    assert beyond.status_code == 200


def test_my_orders_runs_the_same_number_of_statements_for_3_or_30_orders(ama, world, app):
    for n in range(3):
        world.order(ama.user, OrderStatus.OPEN if n % 2 else OrderStatus.DRAFT)
    with_three = len(statements_of(app, ama, "/orders"))
    for n in range(27):
        world.order(ama.user, OrderStatus.OPEN if n % 2 else OrderStatus.DRAFT)
    with_thirty = len(statements_of(app, ama, "/orders"))

    assert with_three == with_thirty
    assert with_three <= 6  # with the navigation's bell and unread total (one statement)


# --- the order page -----------------------------------------------------------------------


def test_the_order_page_shows_the_brief_safely_in_the_viewers_time_zone(ama, world, load):
    order_id = world.order(
        ama.user, OrderStatus.OPEN,
        deadline=datetime(2027, 7, 1, 10, 0, tzinfo=UTC),
        instructions="Première ligne\n<script>alert('x')</script><b>gras</b>",
        links_to_include=["https://example.com/agenda"],
        reference_urls=["http://example.org/guide"],
    )

    page = ama.get(f"/orders/{order_id}")

    html = page.get_data(as_text=True)
    assert "<script>alert" not in html and "<b>gras</b>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;b&gt;gras&lt;/b&gt;" in html
    assert "Première ligne\n" in by_testid(page, "instructions") or \
        "Première ligne" in by_testid(page, "instructions")
    assert re.search(r'<a href="https://example.com/agenda" rel="noopener nofollow[^"]*"', html)
    # 10:00 UTC is noon in Paris in July.
    assert "12:00" in by_testid(page, "deadline")
    order = load(Order, id=order_id)
    assert by_testid(page, "revisions") == "0 of 2 revisions used"
    assert by_testid(page, "price").startswith(
        by_testid(page, "price").split()[0])  # shown at all
    assert str(order.price_total // 1000) in by_testid(page, "price").replace("\u202f", "")
    assert "Waiting for a writer" in by_testid(page, "status")
    assert "Order submitted" in by_testid(page, "timeline")


def test_a_writer_sees_their_pay_not_the_client_price(world, signed_in, app):
    client = signed_in("client")
    writer_user = world.writer(locale="en")
    order_id = world.order(client.user, OrderStatus.IN_PROGRESS, writer=writer_user,
                           words_max=1000)
    writer = signed_in(writer_user)

    page = writer.get(f"/orders/{order_id}")

    assert page.status_code == 200
    text = page_text(page)
    assert "Your pay" in text
    price = by_testid(page, "price").replace("\u202f", " ").replace("\xa0", " ")
    assert "15 000" in price or "15,000" in price  # 1000 words at 15
    assert "25 000" not in text and "25,000" not in text


def test_the_client_reviews_a_delivery_and_asks_for_a_revision(ama, world, load, stored):
    order_id = world.order(ama.user, OrderStatus.DELIVERED,
                           texts=("## Sortir à Lomé\n\nLa **plage** est belle.",))

    page = ama.get(f"/orders/{order_id}")

    review = page.get_data(as_text=True)
    assert "<h2>Sortir à Lomé</h2>" in review and "<strong>plage</strong>" in review
    assert "Delivery 1 is waiting for your review" in page_text(page)
    assert "Lomé · present" in by_testid(page, "keyword-present")
    assert "plage · present" in by_testid(page, "keyword-present")
    assert "marché · absent" in by_testid(page, "keyword-absent")
    assert "words; asked: 100 to 800." in by_testid(page, "word-count")
    assert "2 revisions left." in by_testid(page, "revision-form")

    empty = ama.submit(f"/orders/{order_id}/revision", {"reason": "   "},
                       page=f"/orders/{order_id}")
    assert empty.status_code == 422
    assert "Say what should change." in field_error(empty, "reason")
    assert load(Order, id=order_id).status is OrderStatus.DELIVERED

    sent = ama.submit(f"/orders/{order_id}/revision", {"reason": "Plus de détails."},
                      page=f"/orders/{order_id}")
    assert location(sent) == f"/orders/{order_id}"
    order = load(Order, id=order_id)
    assert (order.status, order.revisions_used) == (OrderStatus.REVISION_REQUESTED, 1)
    assert by_testid(ama.get(f"/orders/{order_id}"), "revisions") == "1 of 2 revisions used"
    assert stored(OrderEvent, OrderEvent.action == "request_revision") == 1


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"rating": "2", "comment": ""}, "comment", "a low rating needs a comment"),
    ({"rating": "7"}, "rating", "Give a rating from 1 to 5."),
    ({"rating": "zero"}, "rating", "Give a rating from 1 to 5."),
    ({}, "rating", "Give a rating from 1 to 5."),
])
def test_a_bad_approval_is_refused(ama, world, load, data, field, message):
    order_id = world.order(ama.user, OrderStatus.DELIVERED)
    response = ama.submit(f"/orders/{order_id}/approve", data, page=f"/orders/{order_id}")
    assert response.status_code == 422
    assert message in field_error(response, field)
    assert load(Order, id=order_id).status is OrderStatus.DELIVERED


def test_the_client_approves_with_a_rating(ama, world, load):
    order_id = world.order(ama.user, OrderStatus.DELIVERED)
    response = ama.submit(f"/orders/{order_id}/approve", {"rating": "4", "comment": "Bien."},
                          page=f"/orders/{order_id}")
    assert location(response) == f"/orders/{order_id}"
    order = load(Order, id=order_id)
    assert (order.status, order.rating, order.rating_comment) == (OrderStatus.APPROVED, 4,
                                                                   "Bien.")
    assert "4 out of 5" in by_testid(ama.get(f"/orders/{order_id}"), "rating")

    again = ama.submit(f"/orders/{order_id}/approve", {"rating": "1", "comment": "Non."},
                       page=f"/orders/{order_id}")
    assert again.status_code == 422
    assert "This order can no longer be changed this way" in " ".join(form_errors(again))
    assert load(Order, id=order_id).rating == 4


def test_no_revision_form_once_every_round_is_used(ama, world):
    order_id = world.order(ama.user, OrderStatus.DELIVERED,
                           texts=("Un.", "Deux.", "Trois."))  # 2 of 2 revisions used
    page = ama.get(f"/orders/{order_id}")
    assert by_testid(page, "revisions") == "2 of 2 revisions used"
    assert by_testid(page, "revision-form") == ""
    assert "All revisions of this order are used." in by_testid(page, "no-revision-left")
    refused = ama.submit(f"/orders/{order_id}/revision", {"reason": "Encore."},
                         page=f"/orders/{order_id}")
    assert refused.status_code == 422
    assert "All 2 revisions of this order are used." in " ".join(form_errors(refused))


def test_the_client_sees_what_changed_between_two_deliveries(ama, world):
    order_id = world.order(ama.user, OrderStatus.DELIVERED,
                           texts=("La plage est belle le matin.",
                                  "La plage est magnifique le soir."))

    page = ama.get(f"/orders/{order_id}")
    assert "See what changed since delivery 1" in by_testid(page, "diff-link")

    diff = ama.get(f"/orders/{order_id}/deliveries/2")
    assert diff.status_code == 200
    html = diff.get_data(as_text=True)
    assert re.search(r'<del class="diff-removed"><span class="visually-hidden">\[removed\] '
                     r'</span>belle </del>', html)
    assert re.search(r'<ins class="diff-added"><span class="visually-hidden">\[added\] '
                     r'</span>magnifique </ins>', html)
    assert "Changes since delivery 1" in page_text(diff)
    assert "1 passage changed, 0 added, 0 removed." in by_testid(diff, "diff-summary")
    first = ama.get(f"/orders/{order_id}/deliveries/1")
    assert first.status_code == 200 and by_testid(first, "diff") == ""
    assert ama.get(f"/orders/{order_id}/deliveries/3").status_code == 404


def test_the_client_never_sees_the_working_draft(ama, world, app):
    order_id = world.order(ama.user, OrderStatus.REVISION_REQUESTED, texts=("Version livrée.",))
    with app.app_context():
        order = db.session.get(Order, order_id)
        draft = service.draft_for(order)
        service.save_draft(order, order.writer, "BROUILLON SECRET en cours",
                           base_version=draft.version)
        db.session.commit()

    for url in (f"/orders/{order_id}", f"/orders/{order_id}/deliveries/1"):
        assert "BROUILLON SECRET" not in ama.get(url).get_data(as_text=True)


# --- what other people may not see --------------------------------------------------------


def test_another_client_gets_404_for_the_order_its_files_and_its_deliveries(
    world, signed_in, app, tmp_path, monkeypatch
):
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))
    owner = signed_in("client")
    order_id = world.order(owner.user, OrderStatus.DELIVERED)
    draft_id = world.order(owner.user, OrderStatus.DRAFT)
    from io import BytesIO

    owner.submit(f"/orders/{draft_id}/attachments",
                 {"file": (BytesIO(b"notes du client"), "notes.txt")},
                 page=f"/orders/{draft_id}")
    with app.app_context():
        from portal.orders.models import Attachment

        attachment_id = db.session.scalar(sa.select(Attachment.id))
        delivery_number = db.session.scalar(sa.select(Delivery.number))
    assert owner.get(f"/orders/{draft_id}/attachments/{attachment_id}").status_code == 200

    intruder = signed_in("client")
    token = intruder.csrf_token("/orders/new")
    for url in (f"/orders/{order_id}", f"/orders/{draft_id}", f"/orders/{draft_id}/edit",
                f"/orders/{draft_id}/attachments/{attachment_id}",
                f"/orders/{order_id}/deliveries/{delivery_number}"):
        assert intruder.get(url).status_code == 404, url
    for url, data in ((f"/orders/{draft_id}/submit", {"version": "1"}),
                      (f"/orders/{draft_id}/delete", {}),
                      (f"/orders/{order_id}/approve", {"rating": "5"}),
                      (f"/orders/{order_id}/revision", {"reason": "Non."}),
                      (f"/orders/{draft_id}/cancel", {}),
                      (f"/orders/{draft_id}/attachments/{attachment_id}/delete", {})):
        assert intruder.post(url, data={**data, "csrf_token": token}).status_code == 404, url

    with app.app_context():
        assert db.session.get(Order, order_id).status is OrderStatus.DELIVERED
        assert db.session.get(Order, draft_id) is not None


def test_a_writer_sees_open_orders_they_may_take_and_their_own_only(world, signed_in):
    client = signed_in("client")
    open_id = world.order(client.user, OrderStatus.OPEN)
    english_only = world.order(client.user, OrderStatus.OPEN, language="en")
    draft_id = world.order(client.user, OrderStatus.DRAFT)
    someone_elses = world.order(client.user, OrderStatus.IN_PROGRESS)
    writer = signed_in(world.writer(locale="en"))

    assert writer.get(f"/orders/{open_id}").status_code == 200
    for order_id in (english_only, draft_id, someone_elses):
        assert writer.get(f"/orders/{order_id}").status_code == 404


def test_a_manager_sees_any_order_with_the_client_price(world, signed_in, load):
    client = signed_in("client")
    order_id = world.order(client.user, OrderStatus.OPEN)
    manager = signed_in("manager")
    page = manager.get(f"/orders/{order_id}")
    assert page.status_code == 200
    assert "Price" in page_text(page)
    assert "Your pay" not in page_text(page)
