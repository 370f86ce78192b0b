"""The order page runs a fixed, small number of SQL statements for every reader, however many
deliveries, files, messages, notes and timeline events the order has.

Six reads: the user, the order with its brief's files, the reader's read marker and whether a
notification about it is unread, the deliveries, the timeline (shared with the conversation),
the latest messages with their authors and files, and the layout's bell with the unread total.
Writes only when the visit changes something: the read marker moved (one upsert) and the
order's notifications marked read (one UPDATE), committed before the page renders. Eight at
most. Past its budget the page has a new statement, maybe one per row.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from portal.accounts.models import User
from portal.extensions import db
from portal.messaging.models import Message
from portal.orders import service, uploads
from portal.orders.models import Order, OrderStatus
from tests.conftest import statements_of
from tests.factories import deliverable
from tests.http.messaging_helpers import TEXT_FILE, make_cast

ORDER_PAGE_BUDGET = 8


@pytest.fixture
def cast(app, factory, signed_in, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))
    monkeypatch.setitem(app.config, "ATTACHMENTS_PER_ORDER", 20)
    return make_cast(app, factory, signed_in)


def attach(cast, name: str) -> None:
    """The manager joins a file to the brief."""
    from io import BytesIO

    with cast.app.app_context():
        order = db.session.get(Order, cast.order_id)
        manager = db.session.scalar(sa.select(User).where(User.role == "manager"))
        uploads.add_attachment(order, manager, FileStorage(BytesIO(TEXT_FILE[1]), filename=name))
        db.session.commit()


def deliver_and_revise(cast, round_: int, *, revise: bool) -> None:
    """The writer delivers a version; the client asks for another one when `revise`."""
    with cast.app.app_context():
        order = db.session.get(Order, cast.order_id)
        writer = db.session.get(User, cast.writer.user.id)
        draft = service.draft_for(order)
        service.save_draft(order, writer, deliverable(order, f"# Version {round_}\n\nUn texte."),
                           base_version=draft.version)
        service.deliver(order, writer, f"Version {round_}.")
        if revise:
            order.extra_revisions += 1  # as a manager's grant would
            service.request_revision(order, db.session.get(User, cast.client.user.id),
                                     "Reprenez la fin.")
        db.session.commit()


def conversation(cast, messages: int) -> None:
    for n in range(messages):
        who = (cast.client, cast.writer, cast.manager)[n % 3]
        cast.say(who, f"Message {n}", internal=who is not cast.client and n % 2 == 0,
                 files=[TEXT_FILE] if n % 3 == 0 else [])


WRITES = ("INSERT", "UPDATE", "DELETE")


def writes(statements: list[str]) -> list[str]:
    return [s for s in statements if s.lstrip().upper().startswith(WRITES)]


def reads(statements: list[str]) -> list[str]:
    return [s for s in statements if s not in writes(statements)]


def table_written(statement: str) -> str:
    words = statement.split()
    return words[2] if words[0].upper() == "INSERT" else words[1]


@pytest.mark.parametrize("reader", ["client", "writer", "manager"])
def test_the_order_page_runs_eight_statements_however_full_the_order_is(cast, app, reader):
    browser = getattr(cast, reader)
    attach(cast, "brief.txt")
    conversation(cast, 3)
    deliver_and_revise(cast, 1, revise=False)
    browser.get(cast.url)
    few = statements_of(app, browser, cast.url)

    for n in range(4):
        attach(cast, f"brief-{n}.txt")
    conversation(cast, 30)
    with app.app_context():  # back to writing, then three more versions
        order = db.session.get(Order, cast.order_id)
        order.extra_revisions += 1
        service.request_revision(order, db.session.get(User, cast.client.user.id), "Encore.")
        db.session.commit()
    for round_ in (2, 3):
        deliver_and_revise(cast, round_, revise=True)
    deliver_and_revise(cast, 4, revise=False)
    many = statements_of(app, browser, cast.url)

    assert len(reads(few)) == len(reads(many)), many
    assert writes(few) == []  # nothing new since the visit before
    assert [table_written(s) for s in writes(many)] == ["read_markers", "notifications"]
    assert len(many) <= ORDER_PAGE_BUDGET, many
    # Each thing is read once: the timeline serves the conversation too, message files come
    # with their messages and the brief's files with the order.
    assert len([s for s in many if "FROM order_events" in s]) == 1
    assert not [s for s in many if "FROM message_attachments" in s]
    assert not [s for s in many if "FROM attachments" in s]


def test_what_each_reader_sees_is_unchanged(cast, app):
    attach(cast, "cahier-des-charges.txt")
    cast.say(cast.client, "Voici mes remarques.", files=[("remarques.txt", TEXT_FILE[1])])
    cast.say(cast.manager, "Note : client pressé.", internal=True,
             files=[("interne.txt", TEXT_FILE[1])])
    deliver_and_revise(cast, 1, revise=False)

    client_page = cast.client.get(cast.url).get_data(as_text=True)
    manager_page = cast.manager.get(cast.url).get_data(as_text=True)
    for page in (client_page, manager_page):
        assert "cahier-des-charges.txt" in page  # the brief's file
        assert "remarques.txt" in page and "Voici mes remarques." in page
        assert page.count('data-testid="event"') >= 4  # created, submit, claim, deliver
        assert 'data-testid="stream-event"' in page
    assert "Note : client pressé." in manager_page and "interne.txt" in manager_page
    assert "client pressé" not in client_page and "interne.txt" not in client_page


# --- the read marker: written only when it moves, committed before the page renders ----------


def read_marker(app, user_id: int, order_id: int) -> tuple:
    """(last_read_at, previous_read_at, unread) as another connection reads it: committed
    values only."""
    from portal.messaging.models import ReadMarker

    with app.app_context(), db.engine.connect() as other:
        return tuple(other.execute(
            sa.select(ReadMarker.last_read_at, ReadMarker.previous_read_at, ReadMarker.unread)
            .where(ReadMarker.user_id == user_id, ReadMarker.order_id == order_id)
        ).one())


@pytest.mark.parametrize("reader", ["client", "writer", "manager"])
def test_a_second_visit_with_nothing_new_writes_nothing(cast, app, reader):
    browser, person = getattr(cast, reader), getattr(cast, reader).user
    cast.say(cast.manager if reader != "manager" else cast.client, "Bonjour.")
    browser.get(cast.url)  # reads the message: the marker moves
    marker = read_marker(app, person.id, cast.order_id)

    again = statements_of(app, browser, cast.url)

    assert writes(again) == [], again
    assert read_marker(app, person.id, cast.order_id) == marker
    # Nor does the reader's own message make a later visit write: it was never unread.
    cast.say(browser, "Merci.")
    assert writes(statements_of(app, browser, cast.url)) == []


def test_a_visit_after_a_new_message_writes_once_and_commits_before_the_page_renders(cast, app):
    from flask import before_render_template

    from portal.notifications.inbox import Notification

    client = cast.client.user
    cast.client.get(cast.url)
    message_id = cast.say(cast.writer, "Le plan est prêt.")
    with app.app_context():  # the client read it in the bell: only the marker is left to move
        db.session.execute(sa.update(Notification).where(Notification.user_id == client.id)
                           .values(read_at=sa.func.current_timestamp()))
        db.session.commit()
        posted = db.session.get(Message, message_id).created_at
    assert read_marker(app, client.id, cast.order_id)[2] == 1

    seen_at_render = []

    def at_render(sender, template, context, **extra):
        if template.name != "orders/detail.html":
            return
        session = db.session()
        pending = bool(session.new or session.dirty or session.deleted)
        with db.engine.connect() as other:
            if other.dialect.name == "sqlite":
                # The database's write lock is free: another connection takes it at once.
                other.exec_driver_sql("PRAGMA busy_timeout=0")
                try:
                    other.exec_driver_sql("BEGIN IMMEDIATE")
                    other.exec_driver_sql("ROLLBACK")
                finally:
                    # Never back to the pool without its wait: a later test's connection
                    # would fail at once with "database is locked" (it did, in CI).
                    other.invalidate()
        seen_at_render.append((pending, read_marker(app, client.id, cast.order_id)))

    before_render_template.connect(at_render, app)
    try:
        statements = statements_of(app, cast.client, cast.url)
    finally:
        before_render_template.disconnect(at_render, app)

    assert [table_written(s) for s in writes(statements)] == ["read_markers"], statements
    [(pending, (last_read_at, previous_read_at, unread))] = seen_at_render
    assert not pending
    assert last_read_at >= posted and previous_read_at < posted and unread == 0


def test_the_new_marker_counts_from_the_last_visit_that_moved_the_marker(cast, app):
    """Visits with nothing new write nothing, and "new since your last visit" still marks
    what came after the reader's last look at the conversation."""
    from tests.http.pages import by_testid

    cast.client.get(cast.url)
    cast.client.get(cast.url)  # nothing new: nothing written
    message_id = cast.say(cast.writer, "Une question sur le ton.")

    page = cast.client.get(cast.url)
    assert by_testid(page, "new-marker")
    assert page.get_data(as_text=True).index('data-testid="new-marker"') < \
        page.get_data(as_text=True).index(f'id="message-{message_id}"')
    assert not by_testid(cast.client.get(cast.url), "new-marker")  # read now


def test_a_reader_outside_the_conversation_neither_writes_nor_commits(cast, app):
    """A manager reading a client's draft takes no part in its conversation: no marker to move,
    so the visit neither writes nor commits (the page's transaction only reads)."""
    draft_id = cast.new_order(OrderStatus.DRAFT)
    commits: list[int] = []

    def count(_conn):
        commits.append(1)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "commit", count)
    try:
        for _ in range(2):
            assert writes(statements_of(app, cast.manager, f"/orders/{draft_id}")) == []
    finally:
        sa.event.remove(engine, "commit", count)
    assert commits == []
