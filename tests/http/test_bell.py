"""The bell in the navigation: the unread count, the latest events each leading to their
order, marking one or all as read, the full list, and a number of statements per page that
does not grow with the notifications."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from portal.accounts.models import Role, User
from portal.extensions import db
from portal.messaging.service import post_message
from portal.notifications import service
from portal.notifications.inbox import Notification, NotificationKind
from portal.orders.models import Order, OrderStatus
from tests.conftest import counted_statements, statements_of
from tests.http.pages import by_testid, flashes, location, texts

READ_FORM = re.compile(r'action="/notifications/(\d+)/read"')


def bell_items(response) -> list[str]:
    return texts(response, lambda _tag, attrs: attrs.get("data-testid") == "bell-item")


def unread_badge(response) -> str:
    return by_testid(response, "bell-count")


def announce(app, user, order, count: int, event: str = "order.delivered") -> None:
    """`count` events about `order` for `user`, as the order emails would make them."""
    with app.app_context():
        person = db.session.get(User, user.id)
        stored = db.session.get(Order, order.id)
        for _n in range(count):
            service.notify(person, kind=NotificationKind.STATUS, event=event, order=stored,
                           params={"ref": stored.reference, "title": stored.title})
        db.session.commit()


def unread_of(ctx, user) -> int:
    with ctx() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
            Notification.user_id == user.id, Notification.read_at.is_(None)))


@pytest.fixture
def ama(person, factory):
    """A client whose order was received, then taken by a writer."""
    client = person("client", email="ama@example.test", name="Ama")
    order = factory.order(client=client, status=OrderStatus.IN_PROGRESS, title="Le marché")
    client.order = order
    return client


def test_the_bell_counts_what_is_unread_and_shows_the_latest(ama, signed_in):
    browser = signed_in(ama)
    home = browser.get("/home")
    assert unread_badge(home) == "2 unread"
    ref = ama.order.reference
    latest_first = bell_items(home)
    assert len(latest_first) == 2
    assert latest_first[0].startswith(f"Your order {ref} is being written")
    assert latest_first[1].startswith(f"Order {ref} received: Le marché")


def test_a_notification_leads_to_its_order_and_is_then_read(ama, signed_in, ctx):
    browser = signed_in(ama)
    home = browser.get("/home")
    first_id = READ_FORM.findall(home.get_data(as_text=True))[0]
    response = browser.submit(f"/notifications/{first_id}/read", page="/home")
    assert location(response) == f"/orders/{ama.order.id}"
    assert unread_of(ctx, ama) == 1
    assert unread_badge(browser.get("/home")) == "1 unread"
    # Following it again still leads there, and changes nothing.
    again = browser.submit(f"/notifications/{first_id}/read", page="/home")
    assert location(again) == f"/orders/{ama.order.id}"
    assert unread_of(ctx, ama) == 1


def test_mark_all_as_read(ama, signed_in, ctx, app):
    announce(app, ama, ama.order, 3)
    browser = signed_in(ama)
    assert unread_badge(browser.get("/home")) == "5 unread"
    response = browser.submit("/notifications/read-all", {"next": "/orders"}, page="/home")
    assert location(response) == "/orders"
    page = browser.get("/orders")
    assert flashes(page) == ["5 notifications marked as read."]
    assert unread_badge(page) == ""
    assert unread_of(ctx, ama) == 0
    # Without a place to go back to, or with one off the site: the list of notifications.
    response = browser.submit("/notifications/read-all", {"next": "https://evil.test/"},
                              page="/home")
    assert location(response) == "/notifications"


def test_someone_elses_notification_is_not_found(ama, signed_in, ctx):
    with ctx() as session:
        theirs = session.scalar(sa.select(Notification.id).where(
            Notification.user_id == ama.id))
    intruder = signed_in("client")
    response = intruder.submit(f"/notifications/{theirs}/read", page="/home")
    assert response.status_code == 404
    assert unread_of(ctx, ama) == 2


def test_marking_read_needs_the_form(ama, signed_in, ctx):
    browser = signed_in(ama)
    with ctx() as session:
        mine = session.scalar(sa.select(Notification.id).where(Notification.user_id == ama.id))
    assert browser.post(f"/notifications/{mine}/read").status_code == 400
    assert browser.post("/notifications/read-all").status_code == 400
    assert unread_of(ctx, ama) == 2


def test_the_list_of_notifications_pages_and_links_each_to_its_order(ama, signed_in, app):
    announce(app, ama, ama.order, 28)  # 30 in all
    browser = signed_in(ama)
    first = browser.get("/notifications")
    assert first.status_code == 200
    rows = texts(first, lambda _tag, attrs: attrs.get("data-testid") == "notification")
    assert len(rows) == app.config["NOTIFICATIONS_PER_PAGE"]
    assert f'href="/orders/{ama.order.id}"' in first.get_data(as_text=True)
    second = browser.get("/notifications?page=2")
    rows = texts(second, lambda _tag, attrs: attrs.get("data-testid") == "notification")
    assert len(rows) == 30 - app.config["NOTIFICATIONS_PER_PAGE"]
    assert any("received" in row for row in rows)  # the oldest come last
    # The bell shows the latest eight.
    assert len(bell_items(first)) == 8


def test_nothing_yet(signed_in):
    browser = signed_in("writer")
    page = browser.get("/notifications")
    assert by_testid(page, "no-notifications")
    assert unread_badge(page) == ""
    assert "No notifications yet." in page.get_data(as_text=True)


def test_a_writer_taken_off_an_order_is_led_to_their_assignments(app, factory, signed_in,
                                                                 person):
    tier = factory.tier()
    first = factory.writer(tiers=[tier], locale="en")
    second = factory.writer(tiers=[tier])
    manager = factory.user(Role.MANAGER)
    order = factory.order(status=OrderStatus.IN_PROGRESS, writer=first, tier=tier)
    with app.app_context():
        from portal.orders import service as orders

        orders.assign(db.session.get(Order, order.id), db.session.get(User, manager.id),
                        db.session.get(User, second.id), "Congé")
        db.session.commit()
    browser = signed_in(first)
    home = browser.get("/home")
    assert any("You are no longer on the order" in item for item in bell_items(home))
    notification_id = READ_FORM.findall(home.get_data(as_text=True))[0]
    response = browser.submit(f"/notifications/{notification_id}/read", page="/home")
    assert location(response) == "/work/assignments"


def test_nobody_logged_in_sees_no_bell(visitor):
    assert 'data-testid="bell"' not in visitor.get("/login").get_data(as_text=True)


# --- bounded statements -------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/home", "/notifications", "/settings",
                                  "/settings/notifications", "/orders"])
def test_every_page_runs_as_many_statements_for_30_notifications_as_for_3(
    app, factory, signed_in, path
):
    client = factory.user(Role.CLIENT, locale="en")
    orders = [factory.order(client=client, status=OrderStatus.OPEN) for _n in range(3)]
    browser = signed_in(client)

    def measure() -> int:
        return len(statements_of(app, browser, path))

    few = measure()  # three "received" notifications, one per order
    for order in orders:
        announce(app, client, order, 9)  # 30 in all, over three orders
    many = measure()
    assert few == many, (path, few, many)


def test_the_bell_is_one_statement(app, ama):
    with app.app_context():
        person = db.session.get(User, ama.id)
        with counted_statements(app) as statements:
            figures = service.chrome(person)
    assert (figures.bell_unread, len(figures.bell_items)) == (2, 2)
    assert len(statements) == 1


def test_the_navigation_is_one_statement_with_the_unread_messages(app, ama, factory):
    writer = factory.user(Role.WRITER)
    nobody_told = factory.user(Role.CLIENT)  # no notification at all
    with app.app_context():
        order = db.session.get(Order, ama.order.id)
        post_message(order, db.session.get(User, order.writer_id), "Une question.")
        post_message(order, db.session.get(User, order.writer_id), "Une autre.")
        db.session.commit()
        person, other = db.session.get(User, ama.id), db.session.get(User, nobody_told.id)
        with counted_statements(app) as statements:
            figures = service.chrome(person)
            empty = service.chrome(other)
        assert len(statements) == 2
        # Two notifications of the order's life, two of the messages, two messages unread.
        assert (figures.bell_unread, len(figures.bell_items), figures.messages_unread) \
            == (4, 4, 2)
        assert [n.created_at for n in figures.bell_items] == sorted(
            (n.created_at for n in figures.bell_items), reverse=True)
        assert empty == service.Chrome()
        assert service.chrome(db.session.get(User, writer.id)) == service.Chrome()


def test_a_page_reads_the_bell_and_the_unread_total_once_and_a_visitor_not_at_all(
    app, ama, signed_in, visitor
):
    browser = signed_in(ama)
    for path in ("/home", "/orders", f"/orders/{ama.order.id}", "/notifications"):
        statements = statements_of(app, browser, path)
        # (The order page's own statement reads the person's marker of that order and whether
        # its notifications are read, with the order: not the layout's.)
        layout = [s for s in statements if "read_markers.unread" in s and "notifications" in s
                  and not s.startswith("SELECT orders.")]
        assert len(layout) == 1, path
        assert not [s for s in statements if s not in layout and "sum(read_markers" in s]
    statements = statements_of(app, visitor, "/login")
    assert not [s for s in statements if "notifications" in s or "read_markers" in s]


def test_a_database_error_in_the_navigation_leaves_the_page_whole(app, ama, signed_in):
    """The navigation's statement fails for real (its table is away for a moment): the page
    and the error page still answer, without badges, and the next request reads them again."""
    browser = signed_in(ama)
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE read_markers RENAME TO read_markers_away"))
        db.engine.dispose()
    try:
        page = browser.get("/settings")
        # A page that does not exist (not an order's: the order page reads the person's
        # read marker with the order, so a missing read_markers table is its own failure).
        missing = browser.get("/orders/no-such-page")
    finally:
        with app.app_context():
            with db.engine.begin() as conn:
                conn.execute(sa.text("ALTER TABLE read_markers_away RENAME TO read_markers"))
            db.engine.dispose()
    assert page.status_code == 200 and 'data-testid="bell"' in page.get_data(as_text=True)
    assert unread_badge(page) == "" and by_testid(page, "nav-unread-count") == ""
    assert missing.status_code == 404
    assert unread_badge(browser.get("/settings")) == "2 unread"


def test_the_bell_text_is_inert(app, factory, signed_in):
    client = factory.user(Role.CLIENT, locale="en")
    order = factory.order(client=client, status=OrderStatus.OPEN,
                          title="<script>alert(1)</script> & co")
    home = signed_in(client).get("/home")
    page = home.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
    assert bell_items(home)[0].startswith(
        f"Order {order.reference} received: <script>alert(1)</script> & co")
