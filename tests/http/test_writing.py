"""The writer's side: the pool, claiming, the workspace with its autosave, delivering, releasing,
and the assignments list."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import render_template

from portal.extensions import db, utcnow
from portal.orders import policies, status_counts
from portal.orders.models import Delivery, Draft, Order, OrderEvent, OrderStatus
from tests.conftest import statements_of
from tests.http.pages import by_testid, flashes, location, page_text, texts
from tests.http.writing_helpers import (
    ARTICLE,
    SECOND_ARTICLE,
    act,
    catalogue,
    change,
    page_csrf,
    place_order,
    qualify,
    stored_order,
)


@pytest.fixture
def cat(app):
    return catalogue(app)


@pytest.fixture
def shop(person):
    """The client who places the orders of these stories."""
    return person("client", name="Ama Koffi")


@pytest.fixture
def writer(app, person, cat):
    """A writer of French at the Standard level."""
    user = person("writer", name="Kofi Mensah")
    qualify(app, user, languages=["fr"], tiers=[cat.standard])
    return user


@pytest.fixture
def rival(app, person, cat):
    """Another writer with the same skills."""
    user = person("writer", name="Yao Agbeko")
    qualify(app, user, languages=["fr"], tiers=[cat.standard])
    return user


def _attr_values(response, testid: str, attribute: str) -> list[str]:
    from html.parser import HTMLParser

    values: list[str] = []

    class Grab(HTMLParser):
        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if attrs.get("data-testid") == testid:
                values.append(attrs.get(attribute))

    Grab().feed(response.get_data(as_text=True))
    return values


def save(browser, order_id: int, text: str, base_version: int, token: str | None = None):
    """What the editor's script sends."""
    headers = {"Accept": "application/json"}
    if token is not None:
        headers["X-CSRFToken"] = token
    return browser.post(f"/work/orders/{order_id}/draft", json={
        "text": text, "base_version": base_version}, headers=headers)


def workspace_token(browser, order_id: int) -> str:
    response = browser.get(f"/work/orders/{order_id}")
    assert response.status_code == 200, response.status_code
    return page_csrf(response)


def events(ctx, order_id: int, action: str) -> list[OrderEvent]:
    with ctx() as session:
        rows = session.scalars(sa.select(OrderEvent).where(
            OrderEvent.order_id == order_id, OrderEvent.action == action)).all()
        for row in rows:
            session.expunge(row)
        return rows


# --- the pool -----------------------------------------------------------------------------


def test_pool_shows_only_the_orders_the_writer_may_take(app, cat, shop, writer, rival,
                                                        signed_in):
    mine = place_order(app, shop, cat, title="Le baobab")
    english = place_order(app, shop, cat, title="The baobab", language="en")
    premium = place_order(app, shop, cat, title="Le fromager", tier_id=cat.premium, days=6)
    for_rival = place_order(app, shop, cat, title="Offert à un autre")
    change(app, for_rival, preferred_writer_id=rival.id,
           offered_until=utcnow() + timedelta(hours=20))
    window_over = place_order(app, shop, cat, title="Fenêtre passée")
    change(app, window_over, preferred_writer_id=rival.id,
           offered_until=utcnow() - timedelta(minutes=1))
    for_me = place_order(app, shop, cat, title="Offert à moi")
    change(app, for_me, preferred_writer_id=writer.id,
           offered_until=utcnow() + timedelta(hours=20))
    taken = place_order(app, shop, cat, title="Déjà pris")
    act(app, taken, rival, "claim")

    browser = signed_in(writer)
    response = browser.get("/work/pool")

    assert response.status_code == 200
    shown = set(int(i) for i in _attr_values(response, "pool-order", "data-order-id"))
    assert shown == {mine, window_over, for_me}
    assert not shown & {english, premium, for_rival, taken}
    assert "Offered to you until" in page_text(response)
    # The rival, for whom the offer stands, sees it too.
    rival_view = signed_in(rival).get("/work/pool")
    assert for_rival in {int(i) for i in _attr_values(rival_view, "pool-order", "data-order-id")}


def test_pool_rows_show_what_a_writer_decides_on(app, cat, shop, writer, signed_in):
    order_id = place_order(app, shop, cat, title="Le baobab", words=(300, 600))
    order = stored_order(app, order_id)

    response = signed_in(writer).get("/work/pool")
    row = page_text(response)

    assert "Le baobab" in row and "Blog article" in row and "Français" in row
    assert "300\u2013600 words" in row and "Standard" in row
    # English puts the CFA franc after the amount too (portal/i18n.py).
    assert by_testid(response, "writer-pay") == "7,200 F CFA"
    assert order.writer_pay_total == 600 * 12
    assert f'action="/work/orders/{order_id}/claim"' in response.get_data(as_text=True)


def test_pool_filters_and_sorts(app, cat, person, shop, signed_in):
    polyglot = person("writer")
    qualify(app, polyglot, languages=["fr", "en"], tiers=[cat.standard, cat.premium])
    late = place_order(app, shop, cat, title="Tard", days=9)
    soon = place_order(app, shop, cat, title="Bientôt", days=3)
    english = place_order(app, shop, cat, title="English one", language="en", days=5)
    news = place_order(app, shop, cat, title="Actu", content_type_id=cat.news,
                       tier_id=cat.premium, days=7)
    browser = signed_in(polyglot)

    def ids(query=""):
        response = browser.get("/work/pool" + query)
        assert response.status_code == 200
        return [int(i) for i in _attr_values(response, "pool-order", "data-order-id")]

    assert ids() == [soon, english, news, late]  # deadline first by default
    assert ids("?sort=newest") == [news, english, soon, late]
    assert ids("?language=en") == [english]
    assert ids(f"?tier={cat.premium}") == [news]
    assert ids(f"?content_type={cat.news}") == [news]
    assert ids("?sort=nonsense&tier=abc&page=zz") == [soon, english, news, late]


def test_pool_paginates(app, cat, shop, writer, signed_in):
    app.config["ORDERS_PER_PAGE"] = 2
    try:
        for n in range(5):
            place_order(app, shop, cat, title=f"Commande {n}", days=3 + n)
        browser = signed_in(writer)
        first = browser.get("/work/pool")
        third = browser.get("/work/pool?page=3")
    finally:
        app.config["ORDERS_PER_PAGE"] = 20
    assert len(_attr_values(first, "pool-order", "data-order-id")) == 2
    assert len(_attr_values(third, "pool-order", "data-order-id")) == 1
    assert "5 orders you may take" in page_text(first)


def test_writer_without_languages_or_tiers_is_told_the_agency_sets_them(person, signed_in):
    newcomer = person("writer")
    response = signed_in(newcomer).get("/work/pool")
    assert response.status_code == 200
    message = by_testid(response, "pool-not-set-up")
    assert "not yet set which orders you may take" in message
    assert "languages and your quality levels are not set" in message


@pytest.mark.parametrize("role", ["client", "manager"])
def test_pool_and_assignments_are_for_writers_only(signed_in, role):
    browser = signed_in(role)
    assert browser.get("/work/pool").status_code == 404
    assert browser.get("/work/assignments").status_code == 404


# --- claiming -----------------------------------------------------------------------------


def test_claim_makes_the_order_the_writers_with_one_timeline_event(app, ctx, cat, shop, writer,
                                                                    signed_in):
    order_id = place_order(app, shop, cat)
    browser = signed_in(writer)

    response = browser.submit(f"/work/orders/{order_id}/claim", page="/work/pool")

    assert response.status_code == 302
    assert location(response) == f"/work/orders/{order_id}"
    order = stored_order(app, order_id)
    assert order.status is OrderStatus.IN_PROGRESS
    assert order.writer_id == writer.id
    claims = events(ctx, order_id, "claim")
    assert len(claims) == 1 and claims[0].actor_id == writer.id
    page = browser.get(location(response))
    assert "The order is yours" in " ".join(flashes(page))


def test_a_claim_lost_to_another_writer_answers_like_an_unknown_order(app, ctx, cat, shop,
                                                                      writer, rival, signed_in):
    order_id = place_order(app, shop, cat)
    first, second = signed_in(writer), signed_in(rival)
    token = second.csrf_token("/work/pool")  # the rival's pool still showed the order

    assert first.submit(f"/work/orders/{order_id}/claim", page="/work/pool").status_code == 302
    response = second.post(f"/work/orders/{order_id}/claim", data={"csrf_token": token})

    # The order is the first writer's now: for the rival it no longer exists.
    assert _answer(response) == _answer(
        second.post("/work/orders/999999/claim", data={"csrf_token": token}))
    assert response.status_code == 404
    assert stored_order(app, order_id).writer_id == writer.id
    assert len(events(ctx, order_id, "claim")) == 1


def test_the_race_loser_gets_the_services_refusal(app, ctx, cat, shop, writer, rival, signed_in,
                                                  monkeypatch):
    """Both writers loaded the open order; the other one's UPDATE wins between our check and
    ours: the conditional UPDATE refuses and the writer is told."""
    order_id = place_order(app, shop, cat)
    browser = signed_in(rival)
    from portal.orders import service

    real_claim = service.claim

    def claim_after_the_other(order, user):
        db.session.execute(sa.update(Order).where(Order.id == order_id).values(
            writer_id=writer.id, status=OrderStatus.IN_PROGRESS))
        return real_claim(order, user)

    monkeypatch.setattr(service, "claim", claim_after_the_other)
    response = browser.submit(f"/work/orders/{order_id}/claim", page="/work/pool")

    assert location(response) == "/work/pool"
    assert "Another writer took this order a moment ago." in " ".join(
        flashes(browser.get("/work/pool")))
    order = stored_order(app, order_id)
    assert order.status is OrderStatus.OPEN and order.writer_id is None  # rolled back
    assert events(ctx, order_id, "claim") == []


def test_claim_outside_the_writers_skills_is_a_404(app, cat, shop, writer, signed_in):
    # An order the writer could never take does not exist for them.
    order_id = place_order(app, shop, cat, language="en")
    browser = signed_in(writer)
    response = browser.submit(f"/work/orders/{order_id}/claim", page="/work/pool")
    assert response.status_code == 404
    assert stored_order(app, order_id).status is OrderStatus.OPEN


def test_claim_of_a_missing_order_or_a_draft_is_404(app, cat, shop, writer, signed_in):
    browser = signed_in(writer)
    assert browser.submit("/work/orders/9999/claim", page="/work/pool").status_code == 404


def _answer(response) -> tuple[int, str]:
    """Status and page, without the tokens that change from one page to the next and the
    address asked (the language switch sends the person back to it)."""
    page = re.sub(r'(content|value)="[A-Za-z0-9._-]{20,}"', r'\1="…"',
                  response.get_data(as_text=True))
    page = re.sub(r"/work/orders/\d+/claim", "/work/orders/…/claim", page)
    return response.status_code, page


def test_an_order_the_writer_may_not_see_answers_exactly_like_an_unknown_one(
    app, ctx, cat, shop, writer, rival, signed_in
):
    """Taken by another writer, offered to another writer first, outside the writer's skills,
    finished, still a draft: the same status and page as an id no order has, with or without
    the form's token, and nothing changes."""
    taken = place_order(app, shop, cat)
    act(app, taken, rival, "claim")
    offered = place_order(app, shop, cat)
    change(app, offered, preferred_writer_id=rival.id,
           offered_until=utcnow() + timedelta(hours=3))
    foreign = place_order(app, shop, cat, language="en")
    finished = place_order(app, shop, cat)
    change(app, finished, status=OrderStatus.CANCELLED)
    draft = place_order(app, shop, cat)
    change(app, draft, status=OrderStatus.DRAFT)
    with app.app_context():
        status_counts.recount()
        db.session.commit()
    browser = signed_in(writer)
    token = browser.csrf_token("/work/pool")

    for data, status in (({"csrf_token": token}, 404), ({}, 400)):
        unknown = _answer(browser.post("/work/orders/999999/claim", data=data))
        assert unknown[0] == status
        for order_id in (taken, offered, foreign, finished, draft):
            assert _answer(browser.post(f"/work/orders/{order_id}/claim", data=data)) == unknown

    assert stored_order(app, offered).writer_id is None
    assert stored_order(app, taken).writer_id == rival.id
    assert [len(events(ctx, order_id, "claim")) for order_id in (taken, offered)] == [1, 0]


# --- the workspace ------------------------------------------------------------------------


@pytest.fixture
def claimed(app, cat, shop, writer):
    """An order of 100 to 200 words the writer took: ARTICLE (and its revision) can be
    delivered."""
    order_id = place_order(app, shop, cat, words=(100, 200))
    act(app, order_id, writer, "claim")
    return order_id


def test_workspace_shows_the_brief_beside_the_editor(claimed, writer, signed_in):
    response = signed_in(writer).get(f"/work/orders/{claimed}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="editor"' in html and 'name="csrf-token"' in html
    assert "Parlez des usages du fruit." in by_testid(response, "instructions")
    assert "0 words \u2014 target 100\u2013200" in by_testid(response, "word-count")
    keywords = by_testid(response, "keywords")
    assert "baobab" in keywords and "pain de singe" in keywords
    assert "Nothing saved yet" in by_testid(response, "autosave-status")
    assert "js/workspace.js" in html
    assert "<script>" not in html and "style=" not in html  # the CSP allows neither


@pytest.mark.parametrize("who", ["rival", "client", "manager", "stranger"])
def test_only_the_assigned_writer_reaches_the_workspace(app, claimed, shop, rival, signed_in,
                                                        person, who):
    user = {"rival": rival, "client": shop}.get(who) or person(
        "manager" if who == "manager" else "client")
    browser = signed_in(user)
    assert browser.get(f"/work/orders/{claimed}").status_code == 404
    token = browser.csrf_token("/settings")
    response = save(browser, claimed, "hijack", 0, token)
    assert response.status_code == 404
    assert response.is_json and response.json["reason"] == "not_found"
    with app.app_context():
        assert db.session.get(Draft, claimed) is None


def test_save_draft_keeps_the_text_and_answers_json(app, claimed, writer, signed_in):
    browser = signed_in(writer)
    token = workspace_token(browser, claimed)

    response = save(browser, claimed, ARTICLE, 0, token)

    assert response.status_code == 200 and response.is_json
    assert response.json["ok"] is True and response.json["version"] == 1
    assert response.json["message"].startswith("Saved at ")
    assert response.json["word_count"] > 30
    with app.app_context():
        draft = db.session.get(Draft, claimed)
        assert draft.text == ARTICLE and draft.version == 1 and draft.updated_by_id == writer.id
    page = browser.get(f"/work/orders/{claimed}")
    assert "Saved at" in by_testid(page, "autosave-status")
    assert "Le baobab est l&#39;arbre" in page.get_data(as_text=True)
    keywords = texts(page, lambda tag, attrs: "writing-keyword" in attrs.get("class", "").split())
    assert all("present" in k and "missing" not in k for k in keywords), keywords


def test_a_stale_save_is_refused_with_409_and_overwrites_nothing(app, claimed, writer,
                                                                  signed_in):
    browser = signed_in(writer)
    token = workspace_token(browser, claimed)
    assert save(browser, claimed, "Texte de l'onglet A", 0, token).status_code == 200

    response = save(browser, claimed, "Texte de l'onglet B", 0, token)

    assert response.status_code == 409 and response.is_json
    assert response.json["reason"] == "conflict" and response.json["version"] == 1
    assert "another window" in response.json["error"]
    with app.app_context():
        assert db.session.get(Draft, claimed).text == "Texte de l'onglet A"


def test_an_anonymous_save_answers_401_json_not_a_login_page(app, claimed, visitor):
    token = visitor.csrf_token("/login")
    response = save(visitor, claimed, "perdu ?", 0, token)
    assert response.status_code == 401 and response.is_json
    assert response.json["reason"] == "session_expired"
    assert "log in again in another tab" in response.json["error"]


def test_a_save_with_an_expired_csrf_token_answers_400_json(claimed, writer, signed_in):
    browser = signed_in(writer)
    workspace_token(browser, claimed)
    response = save(browser, claimed, "texte", 0, "not-the-token")
    assert response.status_code == 400 and response.is_json
    assert response.json["reason"] == "csrf"
    assert save(browser, claimed, "texte", 0, None).status_code == 400


def test_a_save_after_logging_out_elsewhere_answers_json(app, claimed, writer, signed_in,
                                                          make_client):
    browser = signed_in(writer)
    token = workspace_token(browser, claimed)
    other_device = signed_in(writer)
    from tests.http.pages import log_out
    log_out(other_device)  # ends every session of this writer

    response = save(browser, claimed, "texte", 0, token)

    assert response.status_code == 401 and response.is_json


def test_a_malformed_save_changes_nothing(app, claimed, writer, signed_in):
    browser = signed_in(writer)
    token = workspace_token(browser, claimed)
    assert save(browser, claimed, "gardé", 0, token).status_code == 200
    headers = {"Accept": "application/json", "X-CSRFToken": token}
    for body in ({"base_version": 1}, {"text": "x", "base_version": "un"}, ["text"],
                 {"text": 12, "base_version": 1}):
        response = browser.post(f"/work/orders/{claimed}/draft", json=body, headers=headers)
        assert response.status_code == 400 and response.is_json, body
    with app.app_context():
        assert db.session.get(Draft, claimed).text == "gardé"


def test_the_save_button_works_without_javascript(app, claimed, writer, signed_in):
    browser = signed_in(writer)
    page = f"/work/orders/{claimed}"
    response = browser.submit(f"/work/orders/{claimed}/draft",
                              {"text": "Ligne un\r\nLigne deux", "base_version": "0"}, page=page)
    assert location(response) == page
    with app.app_context():
        assert db.session.get(Draft, claimed).text == "Ligne un\nLigne deux"
    stale = browser.submit(f"/work/orders/{claimed}/draft",
                           {"text": "Texte tapé hors ligne", "base_version": "0"}, page=page)
    assert stale.status_code == 409
    assert "Texte tapé hors ligne" in stale.get_data(as_text=True)  # still in the editor


# --- delivering ---------------------------------------------------------------------------


def deliver(browser, order_id, text, base_version, note=""):
    page = f"/work/orders/{order_id}"
    return browser.submit(f"/work/orders/{order_id}/deliver",
                          {"text": text, "base_version": str(base_version), "note": note},
                          page=page)


def test_deliver_revise_and_deliver_again(app, ctx, claimed, shop, writer, signed_in):
    browser = signed_in(writer)

    response = deliver(browser, claimed, ARTICLE, 0, note="Bonne lecture")

    assert location(response) == f"/work/orders/{claimed}"
    with ctx() as session:
        first = session.scalars(sa.select(Delivery).where(Delivery.order_id == claimed)).one()
        assert first.number == 1 and first.text == ARTICLE and first.note == "Bonne lecture"
        from portal.orders.text import word_count
        assert first.word_count == word_count(ARTICLE)
        assert session.get(Order, claimed).status is OrderStatus.DELIVERED
    page = browser.get(f"/work/orders/{claimed}")
    assert "Version 1 is delivered" in " ".join(flashes(page))
    assert 'id="editor"' not in page.get_data(as_text=True)
    assert "the client is reviewing it" in by_testid(page, "not-editable")

    act(app, claimed, shop, "request_revision", "Ajoutez la légende du baobab.")
    page = browser.get(f"/work/orders/{claimed}")
    assert "Ajoutez la légende du baobab." in by_testid(page, "revision-reason")
    assert "Version 1" in by_testid(page, "deliveries")
    with ctx() as session:
        version = session.get(Draft, claimed).version

    revised = ARTICLE + "\nLa légende dit que le baobab fut planté à l'envers.\n"
    response = deliver(browser, claimed, revised, version)

    assert location(response) == f"/work/orders/{claimed}"
    with ctx() as session:
        numbers = session.scalars(sa.select(Delivery.number).where(
            Delivery.order_id == claimed).order_by(Delivery.number)).all()
        assert numbers == [1, 2]
        assert session.get(Order, claimed).status is OrderStatus.DELIVERED
        assert session.get(Delivery, 1).text == ARTICLE  # the first one never changed
    assert len(events(ctx, claimed, "deliver")) == 2


def test_deliver_saves_what_was_typed_since_the_last_autosave(app, ctx, claimed, writer,
                                                               signed_in):
    browser = signed_in(writer)
    token = workspace_token(browser, claimed)
    assert save(browser, claimed, "Début", 0, token).json["version"] == 1

    deliver(browser, claimed, ARTICLE, 1)

    with ctx() as session:
        assert session.scalars(sa.select(Delivery.text)).one() == ARTICLE
        assert session.get(Draft, claimed).text == ARTICLE


def test_a_refused_delivery_keeps_the_text_on_the_page(app, ctx, claimed, writer, signed_in):
    browser = signed_in(writer)
    token = workspace_token(browser, claimed)
    save(browser, claimed, "Version d'un autre onglet", 0, token)

    stale = deliver(browser, claimed, "Mon texte à ne pas perdre", 0)
    empty = deliver(browser, claimed, "   ", 1)

    assert stale.status_code == 422
    assert "Mon texte à ne pas perdre" in stale.get_data(as_text=True)
    assert "another window" in page_text(stale)
    assert empty.status_code == 422 and "The text is empty" in page_text(empty)
    with ctx() as session:
        assert session.scalar(sa.select(sa.func.count(Delivery.id))) == 0
        assert session.get(Draft, claimed).text == "Version d'un autre onglet"
        assert session.get(Order, claimed).status is OrderStatus.IN_PROGRESS


def test_the_client_never_sees_the_working_draft(app, claimed, shop, writer, signed_in):
    browser = signed_in(writer)
    token = workspace_token(browser, claimed)
    save(browser, claimed, "Brouillon secret du rédacteur", 0, token)
    client_browser = signed_in(shop)

    assert client_browser.get(f"/work/orders/{claimed}").status_code == 404
    page = client_browser.get(f"/orders/{claimed}")
    assert page.status_code == 200
    assert "Brouillon secret du rédacteur" not in page.get_data(as_text=True)
    with app.app_context():
        order = db.session.get(Order, claimed)
        client = db.session.get(type(order.client), shop.id)
        assert policies.can_see(client, order)
        assert not policies.can_write(client, order)


# --- the rules before delivery (portal/orders/checks.py) ----------------------------------

# 26 words, with the main keyword: far from a 900-1,200-word brief.
SHORT = ("Le baobab vit très longtemps. Son tronc garde l'eau, ses feuilles se mangent et son "
         "fruit nourrit les familles du village pendant la saison sèche, dit-on.")


def deliver_disabled(page) -> bool:
    button = re.search(r'<button[^>]*data-testid="deliver-button"[^>]*>',
                       page.get_data(as_text=True)).group(0)
    return re.search(r"\sdisabled[\s>]", button) is not None


@pytest.fixture
def long_order(app, cat, shop, writer):
    """A 900 to 1,200-word order the writer took."""
    order_id = place_order(app, shop, cat, words=(900, 1200))
    act(app, order_id, writer, "claim")
    return order_id


def test_a_26_word_text_on_a_900_word_order_is_refused_and_nothing_changes(
        app, ctx, long_order, writer, signed_in):
    from portal.orders.text import word_count
    assert word_count(SHORT) == 26
    browser = signed_in(writer)

    page = browser.get(f"/work/orders/{long_order}")
    assert "The text has 0 words; the brief asks for at least 900." in by_testid(
        page, "checks-blocking")
    assert deliver_disabled(page) is True

    response = deliver(browser, long_order, SHORT, 0)

    assert response.status_code == 422
    shown = page_text(response)
    assert "This text cannot be delivered yet: The text has 26 words; the brief asks for at " \
           "least 900." in shown
    assert "Le baobab vit très longtemps." in response.get_data(as_text=True)  # kept
    with ctx() as session:
        assert session.scalar(sa.select(sa.func.count(Delivery.id))) == 0
        assert session.get(Order, long_order).status is OrderStatus.IN_PROGRESS
    assert events(ctx, long_order, "deliver") == []


def test_a_text_that_meets_the_brief_is_delivered(app, ctx, long_order, writer, signed_in):
    from tests.factories import deliverable
    with ctx() as session:
        text = deliverable(session.get(Order, long_order), ARTICLE)
    browser = signed_in(writer)

    response = deliver(browser, long_order, text, 0)

    assert location(response) == f"/work/orders/{long_order}"
    with ctx() as session:
        assert session.scalars(sa.select(Delivery.text)).one() == text
        assert session.get(Order, long_order).status is OrderStatus.DELIVERED


def test_a_hand_made_post_cannot_deliver_a_text_missing_its_keyword(app, ctx, claimed, writer,
                                                                    signed_in):
    browser = signed_in(writer)
    text = ARTICLE.replace("baobab", "arbre") + "\nEt pourtant, on ne le nomme pas.\n"

    response = deliver(browser, claimed, text, 0)

    assert response.status_code == 422
    assert "The main keyword “baobab” is not in the text." in page_text(response)
    assert stored_order(app, claimed).status is OrderStatus.IN_PROGRESS


def test_the_autosave_answers_with_the_checks(app, long_order, claimed, writer, signed_in):
    browser = signed_in(writer)
    token = workspace_token(browser, long_order)

    short = save(browser, long_order, SHORT, 0, token).json["checks"]
    fine = save(browser, claimed, ARTICLE, 0, token).json["checks"]

    assert short["ok"] is False and short["words"] == 26
    assert short["blocking"] == [{
        "code": "too_short", "figures": {"words": 26, "min": 900},
        "message": "The text has 26 words; the brief asks for at least 900."}]
    assert [w["code"] for w in short["warnings"]] == ["density_high", "secondary_missing"]
    assert short["warnings"][0]["figures"] == {"keyword": "baobab", "count": 1, "words": 26,
                                               "density": 3.85}
    assert fine["ok"] is True and fine["blocking"] == []
    page = browser.get(f"/work/orders/{claimed}")
    assert "Ready to deliver" in by_testid(page, "checks-summary")
    assert deliver_disabled(page) is False


def test_the_rules_panel_speaks_french(app, ctx, long_order, writer, signed_in):
    with ctx() as session:
        session.get(type(writer), writer.id).locale = "fr"
        session.commit()
    page = signed_in(writer).get(f"/work/orders/{long_order}")
    assert "Le texte compte 0 mots ; le brief en demande au moins 900." in by_testid(
        page, "checks-blocking")
    assert "0 mots\u202f; le brief" in page.get_data(as_text=True)  # the narrow space


# --- releasing ----------------------------------------------------------------------------


def test_release_needs_a_reason(app, ctx, claimed, writer, signed_in):
    browser = signed_in(writer)
    response = browser.submit(f"/work/orders/{claimed}/release", {"reason": "  "},
                              page=f"/work/orders/{claimed}")
    assert location(response) == f"/work/orders/{claimed}"
    assert "Say why you give this order back." in " ".join(flashes(browser.get(
        f"/work/orders/{claimed}")))
    order = stored_order(app, claimed)
    assert order.status is OrderStatus.IN_PROGRESS and order.writer_id == writer.id


def test_release_with_a_reason_puts_the_order_back_in_the_pool(app, ctx, claimed, writer,
                                                                rival, signed_in):
    browser = signed_in(writer)
    response = browser.submit(f"/work/orders/{claimed}/release",
                              {"reason": "Je suis malade cette semaine."},
                              page=f"/work/orders/{claimed}")
    assert location(response) == "/work/assignments"
    order = stored_order(app, claimed)
    assert order.status is OrderStatus.OPEN and order.writer_id is None
    released = events(ctx, claimed, "release")
    assert len(released) == 1 and released[0].note == "Je suis malade cette semaine."
    assert browser.get(f"/work/orders/{claimed}").status_code == 404
    rival_pool = signed_in(rival).get("/work/pool")
    assert str(claimed) in _attr_values(rival_pool, "pool-order", "data-order-id")


def test_a_manager_can_put_a_writers_order_back_in_the_pool(app, ctx, claimed, signed_in):
    manager = signed_in("manager")
    response = manager.submit(f"/work/orders/{claimed}/release",
                              {"reason": "Le rédacteur est injoignable."},
                              page="/settings")
    assert response.status_code == 302
    order = stored_order(app, claimed)
    assert order.status is OrderStatus.OPEN and order.writer_id is None
    assert events(ctx, claimed, "release")[0].note == "Le rédacteur est injoignable."


def test_a_delivered_order_can_no_longer_be_released(app, claimed, writer, signed_in):
    browser = signed_in(writer)
    deliver(browser, claimed, ARTICLE, 0)
    browser.submit(f"/work/orders/{claimed}/release", {"reason": "Trop tard"},
                   page=f"/work/orders/{claimed}")
    assert stored_order(app, claimed).status is OrderStatus.DELIVERED


def test_another_writer_cannot_release(app, claimed, rival, signed_in):
    browser = signed_in(rival)
    response = browser.submit(f"/work/orders/{claimed}/release", {"reason": "Je le veux"},
                              page="/work/pool")
    assert response.status_code == 404
    assert stored_order(app, claimed).status is OrderStatus.IN_PROGRESS


# --- my assignments -----------------------------------------------------------------------


def test_assignments_by_tab_with_counts_and_overdue_deadlines(app, cat, shop, writer,
                                                               signed_in):
    writing = place_order(app, shop, cat, title="À écrire")
    late = place_order(app, shop, cat, title="En retard")
    delivered = place_order(app, shop, cat, title="Livré", words=(100, 200))
    approved = place_order(app, shop, cat, title="Approuvé", words=(100, 200))
    for order_id in (writing, late, delivered, approved):
        act(app, order_id, writer, "claim")
    # Two texts of their own: the same text delivered twice would wait for an editor.
    for order_id, text in ((delivered, ARTICLE), (approved, SECOND_ARTICLE)):
        act(app, order_id, writer, "save_draft", text, base_version=0)
        act(app, order_id, writer, "deliver")
    act(app, approved, shop, "approve", 5)
    change(app, late, deadline=utcnow() - timedelta(hours=2))
    browser = signed_in(writer)

    response = browser.get("/work/assignments")

    assert response.status_code == 200
    assert [by_testid(response, f"count-{tab}") for tab in ("writing", "delivered",
                                                            "finished")] == ["2", "1", "1"]
    rows = [int(i) for i in _attr_values(response, "assignment", "data-order-id")]
    assert rows == [late, writing]  # the overdue one first: deadline order
    html = response.get_data(as_text=True)
    assert 'class="row-overdue"' in html and "deadline-overdue" in html
    assert "Overdue" in page_text(response)
    assert [int(i) for i in _attr_values(browser.get("/work/assignments?tab=delivered"),
                                         "assignment", "data-order-id")] == [delivered]
    assert [int(i) for i in _attr_values(browser.get("/work/assignments?tab=finished"),
                                         "assignment", "data-order-id")] == [approved]


def test_assignments_and_pool_run_a_bounded_number_of_statements(app, cat, person, writer,
                                                                  signed_in):
    clients = [person("client") for _ in range(3)]
    browser = signed_in(writer)

    def add(n):
        for i in range(n):
            order_id = place_order(app, clients[i % 3], cat, title=f"Commande {i}")
            if i % 2:
                act(app, order_id, writer, "claim")

    def measure(path):
        return len(statements_of(app, browser, path))

    add(6)
    small = (measure("/work/assignments"), measure("/work/pool"))
    add(54)
    large = (measure("/work/assignments"), measure("/work/pool"))
    assert small == large, (small, large)
    assert large[0] <= 6  # with the navigation's bell and unread total (one statement)


# --- the partial on the order page -------------------------------------------------------


def render_actions(app, order_id: int, user_id: int) -> str:
    from portal.accounts.models import User

    with app.test_request_context():
        order = db.session.get(Order, order_id)
        user = db.session.get(User, user_id)
        return render_template("writing/_order_actions.html", order=order, current_user=user,
                               can=policies.can)


def test_order_page_actions_follow_the_policies(app, cat, shop, writer, rival):
    order_id = place_order(app, shop, cat)

    offered = render_actions(app, order_id, writer.id)
    assert f"/work/orders/{order_id}/claim" in offered and "Open the writing page" not in offered
    assert render_actions(app, order_id, shop.id).strip() == ""

    act(app, order_id, writer, "claim")
    mine = render_actions(app, order_id, writer.id)
    assert f'href="/work/orders/{order_id}"' in mine
    assert f"/work/orders/{order_id}/release" in mine and 'name="reason"' in mine
    assert "csrf_token" in mine
    assert render_actions(app, order_id, rival.id).strip() == ""


def test_the_order_page_shows_the_writer_actions(app, cat, shop, writer, signed_in):
    order_id = place_order(app, shop, cat)
    browser = signed_in(writer)

    page = browser.get(f"/orders/{order_id}")
    assert page.status_code == 200
    assert f"/work/orders/{order_id}/claim" in page.get_data(as_text=True)
    assert "Claim this order" in by_testid(page, "writer-actions")

    browser.submit(f"/work/orders/{order_id}/claim", page=f"/orders/{order_id}")
    page = browser.get(f"/orders/{order_id}")
    actions = by_testid(page, "writer-actions")
    assert "Open the writing page" in actions and "Give it back" in actions


def test_the_autosave_answers_with_the_preview_the_client_would_read(app, claimed, writer,
                                                                      signed_in):
    """The preview is the client's rendering of the saved text: same Markdown, same cleaning."""
    browser = signed_in(writer)
    token = workspace_token(browser, claimed)
    text = ("## Le baobab\n\nUn arbre **immense** et *vieux*. [Voir](https://baobab.tg)\n\n"
            "- fruit\n- écorce\n\n<script>alert(1)</script> [x](javascript:alert(1))")

    preview = save(browser, claimed, text, 0, token).json["preview_html"]

    from portal.orders.text import render_markdown
    assert preview == str(render_markdown(text))
    assert "<h2>Le baobab</h2>" in preview and "<strong>immense</strong>" in preview
    assert "<li>fruit</li>" in preview and 'href="https://baobab.tg"' in preview
    assert "<script" not in preview and not re.search(r'href="\s*javascript', preview)
    page = browser.get(f"/work/orders/{claimed}")
    shown = page.get_data(as_text=True).split('data-testid="preview-body"')[1]
    assert "<strong>immense</strong>" in shown


def test_the_workspace_has_a_toolbar_a_preview_and_no_markdown_help(claimed, writer, signed_in):
    response = signed_in(writer).get(f"/work/orders/{claimed}")
    html = response.get_data(as_text=True)
    toolbar = by_testid(response, "editor-toolbar")
    formats = re.findall(r'data-format="(\w+)"', html)
    assert formats == ["h2", "h3", "bold", "italic", "ul", "ol", "link"]
    assert 'aria-label="Bold"' in html and 'aria-keyshortcuts="Control+B"' in html
    assert "js/editor.js" in html and toolbar is not None
    assert "Markdown" not in page_text(response) and "font-monospace" not in html
    # On a phone the brief comes first: it is before the editor in the page, at every width.
    assert html.index('id="brief-title"') < html.index('id="editor"')
