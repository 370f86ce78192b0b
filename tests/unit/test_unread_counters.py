"""The unread counters (read_markers.unread) always say what the definition counts.

The definition is the query that counted messages on every page before the counters came
(portal.messaging.queries.recount_unread). A story of an agency's week goes through the
services (messages and notes by every role, by email too, visits, claims, assignments,
reassignments, releases, a submitted draft, a new manager, a role change, an account closed and
opened again); after each step the counters of every (person, order) equal the definition's
count, and the navigation's total and the lists read them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.accounts import service as accounts
from portal.accounts.models import Role, User
from portal.errors import NotAllowed
from portal.extensions import db
from portal.messaging import queries, unread
from portal.messaging.models import Message, MessageSource, ReadMarker
from portal.messaging.service import post_message
from portal.orders import service as orders
from portal.orders.models import Order, OrderStatus
from portal.orders.queries import get_order_page
from tests.conftest import counted_statements


def counters() -> dict[tuple[int, int], int]:
    """Every counter with something unread: {(person, order): count}."""
    rows = db.session.execute(
        sa.select(ReadMarker.user_id, ReadMarker.order_id, ReadMarker.unread)
        .where(ReadMarker.unread != 0)
    ).all()
    return {(user_id, order_id): count for user_id, order_id, count in rows}


def definition() -> dict[tuple[int, int], int]:
    """What the definition counts for every person and order (nothing for someone inactive)."""
    found = {}
    for user in db.session.scalars(sa.select(User).order_by(User.id)):
        for order_id, count in queries.recount_unread(user).items():
            found[(user.id, order_id)] = count
    return found


def check() -> None:
    db.session.flush()
    expected = definition()
    assert counters() == expected
    for user in db.session.scalars(sa.select(User)):
        mine = {order_id: count for (user_id, order_id), count in expected.items()
                if user_id == user.id}
        assert queries.unread_total(user) == sum(mine.values()), user
        ids = db.session.scalars(sa.select(Order.id)).all()
        assert queries.unread_counts(user, ids) == mine, user


class Agency:
    """Loaded people and orders of the story, by name, in the current app context."""

    def __init__(self, ids: dict[str, int], order_ids: dict[str, int]) -> None:
        self.ids, self.order_ids = ids, order_ids

    def __getattr__(self, name: str):
        if name in self.__dict__.get("ids", {}):
            return db.session.get(User, self.ids[name])
        if name in self.__dict__.get("order_ids", {}):
            return db.session.get(Order, self.order_ids[name])
        raise AttributeError(name)


@pytest.fixture
def agency(app, factory, time_machine):
    time_machine.move_to(datetime(2026, 3, 2, 8, 0, tzinfo=UTC), tick=False)
    tier = factory.tier()
    people = {
        "ama": factory.user(Role.CLIENT), "kossi": factory.user(Role.CLIENT),
        "kofi": factory.writer(tiers=[tier]), "yao": factory.writer(tiers=[tier]),
        "esi": factory.user(Role.MANAGER), "afi": factory.user(Role.MANAGER),
    }
    time_machine.shift(timedelta(minutes=5))
    order_ids = {
        "written": factory.order(client=people["ama"], writer=people["kofi"], tier=tier,
                                 status=OrderStatus.IN_PROGRESS).id,
        "open": factory.order(client=people["ama"], tier=tier).id,
        "draft": factory.order(client=people["kossi"], tier=tier,
                               status=OrderStatus.DRAFT).id,
        "delivered": factory.order(client=people["kossi"], writer=people["yao"], tier=tier,
                                   status=OrderStatus.DELIVERED).id,
    }
    with app.app_context():
        yield Agency({name: user.id for name, user in people.items()}, order_ids)


def say(order: Order, author: User, body: str = "Bonjour.", **kwargs) -> Message:
    return post_message(order, author, body, **kwargs)


def test_the_counters_follow_a_week_of_the_agency(agency, time_machine):
    a = agency
    check()

    # Messages and notes by every role, at the same instant and later.
    say(a.written, a.ama, "Une question sur le ton.")
    say(a.written, a.kofi, "Je réponds.")
    say(a.written, a.esi, "Entre nous.", internal=True)
    say(a.written, a.kofi, "Note du rédacteur.", internal=True)
    say(a.open, a.ama, "Quelqu'un ?")
    say(a.delivered, a.kossi, "Merci !", source=MessageSource.EMAIL,
        email_message_id="<reply-1@mail.example.test>")
    say(a.delivered, a.kossi, "Merci !", source=MessageSource.EMAIL,
        email_message_id="<reply-1@mail.example.test>")  # the same email again: stored once
    check()

    # Visits: at the same instant as the messages, then after new ones.
    queries.mark_read(a.ama, a.written)
    queries.mark_read(a.esi, a.written)
    check()
    time_machine.shift(timedelta(minutes=1))
    say(a.written, a.afi, "Une remarque.")
    say(a.written, a.ama, "D'accord.")
    queries.mark_read(a.kofi, a.written)
    check()

    # A writer claims the open order, gives it back, another takes it, a manager moves it.
    time_machine.shift(timedelta(minutes=1))
    orders.claim(a.open, a.yao)
    check()
    say(a.open, a.yao, "Je commence.")
    say(a.open, a.esi, "Attention au délai.", internal=True)
    check()
    orders.release(a.open, a.yao, "Pas le temps.")
    check()
    say(a.open, a.ama, "Il n'y a plus personne ?")
    orders.assign(a.open, a.esi, a.kofi)
    check()
    orders.assign(a.open, a.afi, a.yao, "Congé de Kofi")  # a reassignment
    check()
    queries.mark_read(a.yao, a.open)
    orders.assign(a.open, a.afi, a.kofi)
    check()

    # The draft is submitted; a new manager arrives, then messages come.
    time_machine.shift(timedelta(minutes=1))
    orders.submit(a.draft, a.kossi)
    check()
    newcomer = User(email="abla@example.test", display_name="Abla", role=Role.MANAGER,
                    password_hash="x")
    db.session.add(newcomer)
    db.session.flush()
    check()
    time_machine.shift(timedelta(minutes=1))
    say(a.draft, a.kossi, "Mon brief est clair ?")
    say(a.delivered, a.yao, "Voici la livraison.", internal=True)
    check()

    # A writer becomes a manager, a manager becomes a writer, a client is closed and back.
    accounts.change_role(a.esi, a.kofi, Role.MANAGER)
    check()
    accounts.change_role(a.esi, a.afi, Role.WRITER)
    check()
    accounts.deactivate(a.esi, a.ama)
    check()
    say(a.written, a.esi, "Pendant son absence.")
    check()
    accounts.reactivate(a.esi, a.ama)
    check()
    accounts.change_role(a.esi, a.kofi, Role.WRITER)
    check()
    assert counters(), "the story left nothing unread: it checks nothing"


def test_a_recount_puts_back_what_the_definition_says(agency):
    a = agency
    say(a.written, a.ama, "Une question.")
    say(a.written, a.esi, "Une note.", internal=True)
    db.session.execute(sa.update(ReadMarker).values(unread=42))  # broken by hand
    for user in db.session.scalars(sa.select(User)):
        unread.recount(user)
    check()


def test_a_message_counts_for_everyone_concerned_but_its_author_in_one_statement(agency, app):
    """One upsert (post_message has locked the order's row on PostgreSQL before)."""
    a = agency
    order, author = a.written, a.ama
    db.session.flush()
    with counted_statements(app) as statements:
        message = Message(order_id=order.id, author_id=author.id, body="Bonjour.")
        db.session.add(message)
        db.session.flush()
        statements.clear()
        unread.message_posted(message)
    assert len(statements) == 1
    assert counters() == {(a.kofi.id, order.id): 1, (a.esi.id, order.id): 1,
                          (a.afi.id, order.id): 1}


def test_clocks_that_disagree_change_nothing(agency, time_machine):
    """Two servers a few seconds apart: a message dated after a visit stays unread, one dated
    before it does not count."""
    a = agency
    now = datetime.now(UTC)
    time_machine.move_to(now + timedelta(seconds=10), tick=False)
    say(a.written, a.ama, "Écrit sur un serveur en avance.")
    time_machine.move_to(now, tick=False)
    queries.mark_read(a.kofi, a.written)
    check()
    assert counters()[(a.kofi.id, a.written.id)] == 1

    time_machine.move_to(now + timedelta(seconds=20), tick=False)
    queries.mark_read(a.esi, a.written)
    time_machine.move_to(now + timedelta(seconds=15), tick=False)
    say(a.written, a.ama, "Écrit sur un serveur en retard.")
    check()
    assert (a.esi.id, a.written.id) not in counters()


def test_a_message_posted_while_a_writer_claims_counts_for_the_writer(app, factory):
    """The claim's transaction is open (the order is the writer's, not committed) when the
    client posts in another: the message counts for the writer once both committed, whichever
    waits for the other (PostgreSQL: the message waits on the order's row; SQLite: on the
    database)."""
    import threading
    import time

    tier = factory.tier()
    client, writer = factory.user(Role.CLIENT), factory.writer(tiers=[tier])
    factory.user(Role.MANAGER)
    order_id = factory.order(client=client, tier=tier).id
    claimed, posted = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def claim() -> None:
        with app.app_context():
            try:
                orders.claim(db.session.get(Order, order_id), db.session.get(User, writer.id))
                claimed.set()
                # Long enough for the message to reach its upsert if nothing held it back.
                posted.wait(0.5)
                db.session.commit()
            except BaseException as error:  # checked below
                errors.append(error)
                claimed.set()

    def post() -> None:
        claimed.wait(10)
        with app.app_context():
            try:
                say(db.session.get(Order, order_id), db.session.get(User, client.id),
                    "Écrit pendant la prise de commande.")
                db.session.commit()
            except BaseException as error:  # checked below
                errors.append(error)
            finally:
                posted.set()

    threads = [threading.Thread(target=claim), threading.Thread(target=post)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors and time.monotonic() - started < 30
    with app.app_context():
        check()
        assert counters().get((writer.id, order_id)) == 1


def _written_once(app, factory) -> tuple[User, User, int]:
    """(client, writer, order id) of an order its writer wrote in once: unread for the client.
    PostgreSQL only: SQLite writes one transaction at a time, there is no lock to watch."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite writes one transaction at a time")
    tier = factory.tier()
    client, writer = factory.user(Role.CLIENT), factory.writer(tiers=[tier])
    order_id = factory.order(client=client, tier=tier).id
    with app.app_context():
        orders.claim(db.session.get(Order, order_id), db.session.get(User, writer.id))
        say(db.session.get(Order, order_id), db.session.get(User, writer.id), "Premier message.")
        db.session.commit()
    return client, writer, order_id


def _open_the_order_page(person_id: int, order_id: int):
    """What the order page does before it renders: the order read with the person's marker,
    the visit, its commit. Returns the visit before (None when nothing moved)."""
    person = db.session.get(User, person_id)
    order, (unread_count, last_read_at) = get_order_page(
        person, order_id, *queries.marker_columns(person, order_id))
    before = queries.visit(person, order, queries.Marker(unread_count, last_read_at))
    db.session.commit()
    return before


def _waiting_on_a_lock(app) -> bool:
    """Whether a session of the test's database waits on a lock (PostgreSQL)."""
    with app.app_context(), db.engine.connect() as conn:
        return bool(conn.scalar(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()")))


def test_a_visit_while_a_message_is_being_posted_shows_it_or_leaves_it_unread(app, factory):
    """The writer's message has its instant (flushed, not committed) when the client, who has
    an unread message, opens the order in another transaction. Once both committed, the
    message is on what the visit shows, or still unread for the client; before the order's
    row was held, it was neither: the visit marked read, as of a later instant, a message its
    page could not show, and the message's upsert left the visited marker alone."""
    import threading
    import time

    client, writer, order_id = _written_once(app, factory)
    flushed, release, visited = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []
    shown: list[str] = []

    def post() -> None:
        with app.app_context():
            try:
                say(db.session.get(Order, order_id), db.session.get(User, writer.id),
                    "Écrit pendant la visite.")
                db.session.commit()
            except BaseException as error:  # checked below
                errors.append(error)
                flushed.set()

    def pause_after_the_insert(_session, _context) -> None:
        # Between the message's INSERT (its instant taken) and its counters' upsert.
        if threading.current_thread() is threads[0] and not flushed.is_set():
            flushed.set()
            release.wait(30)

    def visit() -> None:
        flushed.wait(30)
        with app.app_context():
            try:
                _open_the_order_page(client.id, order_id)
                shown.extend(m.body for m in db.session.scalars(queries.visible_messages(
                    db.session.get(Order, order_id), db.session.get(User, client.id))))
            except BaseException as error:  # checked below
                errors.append(error)
            finally:
                visited.set()

    threads = [threading.Thread(target=post), threading.Thread(target=visit)]
    sa.event.listen(Session, "after_flush", pause_after_the_insert)
    try:
        for thread in threads:
            thread.start()
        # The message goes on once the visit is over, or waits on a lock.
        deadline = time.monotonic() + 30
        while not visited.is_set() and time.monotonic() < deadline:
            if flushed.is_set() and _waiting_on_a_lock(app):
                break
            visited.wait(0.01)
        release.set()
        for thread in threads:
            thread.join(30)
    finally:
        sa.event.remove(Session, "after_flush", pause_after_the_insert)
    assert not errors
    with app.app_context():
        check()
        counted = counters().get((client.id, order_id), 0)
    assert "Écrit pendant la visite." in shown or counted >= 1, (shown, counted)


def test_a_visit_writes_nothing_rather_than_wait_for_a_transaction_holding_the_order(
        app, factory):
    """A file being stored, a move, the night's approvals hold the order's row (FOR UPDATE):
    the page neither waits for them nor marks read; the marker moves at a later visit."""
    import threading

    client, _writer, order_id = _written_once(app, factory)
    held, release = threading.Event(), threading.Event()
    moved: list = []

    def hold() -> None:
        with app.app_context():
            db.session.execute(sa.select(Order.id).where(Order.id == order_id)
                               .with_for_update())
            held.set()
            release.wait(30)
            db.session.commit()

    def visit() -> None:
        with app.app_context():
            moved.append(_open_the_order_page(client.id, order_id))

    holder, visitor = threading.Thread(target=hold), threading.Thread(target=visit)
    holder.start()
    held.wait(30)
    visitor.start()
    visitor.join(30)
    finished = not visitor.is_alive()
    release.set()
    holder.join(30)
    visitor.join(30)
    assert finished and moved == [None]
    with app.app_context():
        check()
        assert counters()[(client.id, order_id)] == 1


def test_a_writer_taken_off_while_writing_is_refused_once_the_change_is_committed(
        app, factory):
    """A manager gives the order to another writer (not committed yet) while its writer posts
    in it: the message waits for the change and, once it is committed, is refused and stores
    nothing. Before the order was read again under its lock, the writer was judged on the
    order as loaded and the message landed on an order that was no longer theirs."""
    import threading
    import time

    _client, writer, order_id = _written_once(app, factory)
    manager, replacement = factory.user(Role.MANAGER), factory.writer()
    moved, release, posted = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []
    refused: list[NotAllowed] = []

    def reassign() -> None:
        with app.app_context():
            try:
                orders.assign(db.session.get(Order, order_id), db.session.get(User, manager.id),
                              db.session.get(User, replacement.id))
                moved.set()
                release.wait(30)
                db.session.commit()
            except BaseException as error:  # checked below
                errors.append(error)
                moved.set()

    def post() -> None:
        with app.app_context():
            try:
                say(db.session.get(Order, order_id), db.session.get(User, writer.id),
                    "Écrit pendant la réattribution.")
                db.session.commit()
            except NotAllowed as error:
                db.session.rollback()
                refused.append(error)
            except BaseException as error:  # checked below
                errors.append(error)
            finally:
                posted.set()

    mover, poster = threading.Thread(target=reassign), threading.Thread(target=post)
    mover.start()
    moved.wait(30)
    poster.start()
    waited = False
    deadline = time.monotonic() + 30
    while not posted.is_set() and time.monotonic() < deadline:
        if _waiting_on_a_lock(app):
            waited = True
            break
        posted.wait(0.01)
    release.set()
    for thread in (mover, poster):
        thread.join(30)
    assert not errors and waited
    assert len(refused) == 1
    with app.app_context():
        assert db.session.get(Order, order_id).writer_id == replacement.id
        assert db.session.scalars(sa.select(Message.body).where(
            Message.order_id == order_id)).all() == ["Premier message."]
        check()


def test_a_page_reads_its_orders_counters_by_key_not_the_whole_backlog(agency, app):
    """unread_counts looks a page's orders up by primary key (person, order). Asked with
    `unread > 0`, both databases prefer the partial index of the person's whole backlog: for
    a manager who never read, every order of the agency (190 ms at 200,000 orders)."""
    say(agency.written, agency.kofi)
    db.session.flush()
    with counted_statements(app, parameters=True) as seen:
        counts = queries.unread_counts(agency.esi, [agency.written.id, agency.open.id])
    assert counts == {agency.written.id: 1}
    [(statement, parameters)] = [(s, p) for s, p in seen if "FROM read_markers" in s]
    explain = "EXPLAIN QUERY PLAN " if db.engine.dialect.name == "sqlite" else "EXPLAIN "
    connection = db.session.connection().connection.driver_connection
    cursor = connection.cursor()
    cursor.execute(explain + statement, parameters)
    plan = " ".join(str(row) for row in cursor.fetchall())
    assert "ix_read_markers_user_id_unread" not in plan, plan
