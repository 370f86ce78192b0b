"""Unread state per person per order: counts on every order list and in the navigation, cleared
by opening the order page, a "new since your last visit" line, notes never counted for a
client, and lists and the order page that run as many statements with few or many messages."""

from __future__ import annotations

import pytest

from portal.accounts.models import User
from portal.extensions import db
from portal.messaging import queries
from portal.messaging.models import ReadMarker
from portal.orders import service as orders_service
from portal.orders.models import Order, OrderStatus
from tests.conftest import counted_statements, statements_of
from tests.http.messaging_helpers import TEXT_FILE, make_cast
from tests.http.pages import by_testid, texts


@pytest.fixture
def cast(app, factory, signed_in):
    return make_cast(app, factory, signed_in)


def badges(response) -> dict[str, str]:
    """The unread badge of each row of a list: {link of the row's order page: count}."""
    html = response.get_data(as_text=True)
    found = {}
    for chunk in html.split('data-testid="unread-badge"')[:-1]:
        href = chunk[chunk.rindex('href="') + 6:]
        found[href[:href.index('"')]] = None
    counts = texts(response, lambda _tag, attrs: attrs.get("data-testid") == "unread-badge")
    return {href: count.split(" ")[0] for href, count in zip(found, counts, strict=True)}


def nav_count(response) -> str:
    return by_testid(response, "nav-unread-count")


LISTS = {"client": "/orders", "writer": "/work/assignments", "manager": "/agency/orders"}


@pytest.mark.parametrize("reader", ["client", "writer", "manager"])
def test_every_order_list_and_the_navigation_count_what_the_person_has_not_read(
    cast, clock, reader
):
    browser = getattr(cast, reader)
    others = [who for who in ("client", "writer", "manager") if who != reader]
    quiet_order = cast.new_order()
    browser.get(cast.url)
    browser.get(f"/orders/{quiet_order}")
    clock.advance(minutes=1)
    cast.say(getattr(cast, others[0]), "Une question.")
    cast.say(getattr(cast, others[1]), "Une autre.")
    cast.say(browser, "Ma propre réponse ne compte pas.")

    listing = browser.get(LISTS[reader])
    assert badges(listing) == {f"{cast.url}#conversation": "2"}
    assert nav_count(listing) == "2"
    assert "2 unread messages" in listing.get_data(as_text=True)

    clock.advance(minutes=1)
    assert browser.get(cast.url).status_code == 200
    listing = browser.get(LISTS[reader])
    assert badges(listing) == {}
    assert nav_count(listing) == ""


def test_opening_the_order_page_marks_it_read_for_that_person_only(cast, clock, app):
    clock.advance(minutes=1)
    cast.say(cast.writer, "Le texte avance.")
    clock.advance(minutes=1)

    cast.client.get(cast.url)

    with app.app_context():
        client, manager = cast.client.user, cast.manager.user
        assert queries.unread_total(client) == 0
        assert queries.unread_total(manager) == 1
        assert queries.unread_counts(manager, [cast.order_id]) == {cast.order_id: 1}
        marker = db.session.get(ReadMarker, (client.id, cast.order_id))
        assert marker.last_read_at == clock.now() and marker.previous_read_at is None


def test_a_new_since_your_last_visit_line_stands_before_the_first_new_message(cast, clock, app):
    first = cast.say(cast.writer, "Déjà lu.")
    clock.advance(minutes=1)
    page = cast.client.get(cast.url)
    assert "New since your last visit" not in page.get_data(as_text=True)  # a first visit

    clock.advance(minutes=1)
    mine = cast.say(cast.client, "Ma réponse.")
    clock.advance(minutes=1)
    new = cast.say(cast.manager, "Nouveau message.")
    clock.advance(minutes=1)
    newer = cast.say(cast.writer, "Encore un.")
    clock.advance(minutes=1)

    html = cast.client.get(cast.url).get_data(as_text=True)
    assert html.count('data-testid="new-marker"') == 1
    marker = html.index('data-testid="new-marker"')
    assert html.index(f'id="message-{first}"') < html.index(f'id="message-{mine}"') < marker \
        < html.index(f'id="message-{new}"') < html.index(f'id="message-{newer}"')
    assert "New since your last visit" in html

    clock.advance(minutes=1)
    again = cast.client.get(cast.url).get_data(as_text=True)
    assert 'data-testid="new-marker"' not in again


def test_a_client_never_counts_internal_notes(cast, clock, app):
    cast.client.get(cast.url)
    cast.writer.get(cast.url)
    clock.advance(minutes=1)
    cast.say(cast.manager, "Entre nous.", internal=True)
    cast.say(cast.manager, "Encore entre nous.", internal=True)

    assert badges(cast.client.get("/orders")) == {}
    assert nav_count(cast.client.get("/orders")) == ""
    assert badges(cast.writer.get("/work/assignments")) == {f"{cast.url}#conversation": "2"}
    with app.app_context():
        assert queries.unread_counts(cast.client.user, [cast.order_id]) == {}
        assert queries.unread_total(cast.client.user) == 0
        assert queries.unread_total(cast.writer.user) == 2
        # A writer counts the notes of the orders they write only.
        assert queries.unread_total(cast.other_writer.user) == 0


def test_a_writer_no_longer_on_the_order_counts_nothing_of_it(cast, clock, app):
    clock.advance(minutes=1)
    cast.say(cast.client, "Bonjour.")
    with app.app_context():
        assert queries.unread_total(cast.writer.user) == 1
        # Reassigned by a manager, the one way (portal.orders.workflow) a writer changes.
        order = db.session.get(Order, cast.order_id)
        orders_service.assign(order, db.session.get(User, cast.manager.user.id),
                              db.session.get(User, cast.other_writer.user.id))
        db.session.commit()
        assert queries.unread_total(cast.writer.user) == 0
        assert queries.unread_total(cast.other_writer.user) == 1


# --- bounded statements -------------------------------------------------------------------


def _busy(cast, order_id: int, messages: int) -> None:
    for n in range(messages):
        who = (cast.client, cast.writer, cast.manager)[n % 3]
        internal = who is not cast.client and n % 2 == 0
        cast.say(who, f"Message {n}", order_id=order_id, internal=internal,
                 files=[TEXT_FILE] if n % 4 == 0 else [])


@pytest.mark.parametrize("reader", ["client", "writer", "manager"])
def test_the_order_page_runs_as_many_statements_with_2_or_40_messages(
    cast, tmp_path, monkeypatch, app, reader
):
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))
    browser = getattr(cast, reader)
    _busy(cast, cast.order_id, 2)
    browser.get(cast.url)
    _busy(cast, cast.order_id, 2)
    few = len(statements_of(app, browser, cast.url))
    quiet_few = len(statements_of(app, browser, cast.url))
    _busy(cast, cast.order_id, 38)
    many = len(statements_of(app, browser, cast.url))
    quiet_many = len(statements_of(app, browser, cast.url))
    # A visit after new messages writes the read marker and the bell; one with nothing new
    # writes nothing (tests/http/test_order_page_statements.py): each as many either way.
    assert few == many
    assert quiet_few == quiet_many < few


@pytest.mark.parametrize("reader", ["client", "writer", "manager"])
def test_each_order_list_runs_as_many_statements_with_2_or_12_busy_orders(
    cast, app, reader
):
    browser = getattr(cast, reader)
    url = LISTS[reader] + ("?tab=writing" if reader == "writer" else "")
    _busy(cast, cast.order_id, 3)
    _busy(cast, cast.new_order(), 3)
    few = len(statements_of(app, browser, url))
    for _n in range(10):
        order_id = cast.new_order()
        _busy(cast, order_id, 3)
    many = len(statements_of(app, browser, url))
    assert few == many
    assert len(badges(browser.get(url))) == 12


def test_unread_counts_run_one_statement_for_a_whole_page(cast, app):
    ids = [cast.order_id] + [cast.new_order() for _n in range(4)]
    for order_id in ids:
        cast.say(cast.writer, "Bonjour.", order_id=order_id)
    with app.app_context(), counted_statements(app) as statements:
        client = db.session.get(type(cast.client.user), cast.client.user.id)
        statements.clear()
        counts = queries.unread_counts(client, ids)
        total = queries.unread_total(client)
        nothing = queries.unread_counts(client, [])
    assert counts == dict.fromkeys(ids, 1) and total == 5 and nothing == {}
    assert len(statements) == 2


def test_a_draft_or_an_inactive_person_has_nothing_unread(cast, app, factory):
    draft = cast.new_order(OrderStatus.DRAFT)
    with app.app_context():
        assert queries.unread_counts(cast.client.user, [draft]) == {}
    cast.say(cast.writer, "Bonjour.")
    gone = factory.user("manager", active=False)
    with app.app_context():
        assert queries.unread_total(gone) == 0
        assert queries.unread_counts(gone, [cast.order_id]) == {}


def test_the_badge_says_99_plus_and_reads_at_most_100_counters(cast, app):
    ids = [cast.order_id] + [cast.new_order() for _n in range(2)]
    for order_id in ids:
        cast.say(cast.writer, "Bonjour.", order_id=order_id)
    with app.app_context():
        import sqlalchemy as sa

        client = db.session.get(User, cast.client.user.id)
        total = queries.unread_total_select
        assert db.session.scalar(sa.select(total(client.id))) == 3
        assert db.session.scalar(sa.select(total(client.id, cap=2))) == 2  # at least the cap
        db.session.execute(sa.update(ReadMarker).where(ReadMarker.user_id == client.id,
                                                       ReadMarker.order_id == ids[0])
                           .values(unread=150))
        db.session.commit()
    assert nav_count(cast.client.get("/orders")) == "99+"
