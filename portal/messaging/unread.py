"""Unread counters: `read_markers.unread` per (person, order), kept in the transaction of every
change that can alter it, so that the navigation and the lists read a person's few rows instead
of counting the agency's messages.

The definition stays the query of portal.messaging.queries (`recount_unread`): for an active
person, the messages of an order whose conversation they take part in (a client: their orders;
a writer: the orders they write; a manager: every order but drafts), written by someone else
(or by nobody, the author's account gone), dated after their last visit of the order or, never
opened, after they joined, and visible to them (never an internal note for a client). For an
inactive person every counter is 0. The rules that keep the counters equal to it:

The rules follow the signals of portal/signals.py, in the sender's transaction:

1. A message is posted (`message_posted`, sent by portal.messaging.service.post_message, which
   the email replies of portal.notifications.inbound go through too): +1 for every active
   person it counts for, in one upsert (`message_posted`).
2. A person opens the order (queries.mark_read; the order page through queries.visit, which
   writes only when the counter is not 0 or on a first visit): their counter becomes the number
   of messages dated after that instant, 0 but for clocks that disagree, in mark_read's own
   upsert. A counter at 0 with a marker set already says what a visit would write.
3. A writer is put on an order (claim, offer accepted, assignment, reassignment: every writer
   change goes through portal.orders.workflow.apply, which sends `order_moved`): their
   counter of that order is recounted from the order's messages. A writer taken off
   (release, reassignment): their counter is 0.
4. An order leaves draft (submitted, or cancelled by a manager): managers now take part; its
   messages are counted for them (there are none: nobody may write in a draft).
5. A person's role changes, or their account is reactivated (`account_changed`): all their
   counters are recounted (`recount`; rare, and heavier). An account deactivated: all its
   counters are 0 (`forget`).
6. Nothing else changes the definition's answer: a new account counts nothing (every message
   is older than it); messages are never edited, moved or deleted; an order's client never
   changes; a deleted order or person takes its rows along (ON DELETE CASCADE); an author's
   account deleted makes `author_id` NULL, which changes nothing for the others.

Rows written with the counter only (a message came before the person ever opened the order) have
`last_read_at` NULL. Nothing here commits.

At the same moment in two transactions: a message and a visit agree (the message holds the order's
row from the moment before its instant is taken, service.hold_order, and a visit that writes locks
it too, so one waits for the other; the upsert of rule 1 leaves alone a row read after the message,
and a visit's leaves alone a row that changed since the page read it); a message and a writer change
agree (the same lock, which the move's UPDATE takes too: neither misses the message for the new
writer). A message posted while a person's role changes or their account is reopened may be missed
by their recount, until their next visit of that order (rare; `repair`, which the mail worker runs
every night and `flask messaging recount` by hand, puts it right and logs it).
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

from portal.accounts.models import Role, User
from portal.extensions import db, upsert_insert
from portal.messaging import queries
from portal.messaging.models import Message, ReadMarker
from portal.orders.models import Order, OrderStatus

_COLUMNS = ("user_id", "order_id", "unread")
# Drift is logged one line per counter up to this many, then as a total: a restore by hand may
# leave every counter of the agency behind.
LOGGED_DRIFT = 50

log = logging.getLogger(__name__)


def counted(role: Role, *where: sa.ColumnElement[bool]) -> sa.Select:
    """(user_id, order_id, unread) by the definition for the active people of `role`, written
    over all people of that role at once (the definition of queries.recount_unread, with the
    person a column instead of a value), restricted by `where` (a message, an order). Pairs
    with nothing unread are left out. Used by the rules above, the benchmark's loader and the
    tests; the migration 0005 holds its own copy."""
    if role is Role.CLIENT:
        takes_part = sa.and_(User.id == Order.client_id, Message.internal.is_(False))
    elif role is Role.WRITER:
        takes_part = User.id == Order.writer_id  # notes included: staff on the order
    elif role is Role.EDITOR:
        takes_part = sa.false()  # editors read deliveries, not conversations
    else:
        takes_part = Order.status != OrderStatus.DRAFT
    return (
        sa.select(User.id.label("user_id"), Message.order_id.label("order_id"),
                  sa.func.count(Message.id).label("unread"))
        .select_from(Message)
        .join(Order, Order.id == Message.order_id)
        .join(User, sa.and_(User.role == role, User.active.is_(True), takes_part))
        .outerjoin(ReadMarker, sa.and_(ReadMarker.user_id == User.id,
                                       ReadMarker.order_id == Message.order_id))
        .where(sa.or_(Message.author_id.is_(None), Message.author_id != User.id),
               Message.created_at > sa.func.coalesce(ReadMarker.last_read_at, User.created_at),
               *where)
        .group_by(User.id, Message.order_id)
    )


def counter_upsert(select: sa.Select, *, add: bool,
                   where: sa.ColumnElement[bool] | None = None, dialect: str | None = None):
    """INSERT the (user_id, order_id, unread) rows of `select` into read_markers; a row that
    exists gets `unread` added (`add`) or replaced, when `where` (on the existing row) holds.
    For the session's database unless `dialect` is named."""
    insert = upsert_insert(dialect)
    table = ReadMarker.__table__
    # No defaults: a row made here was never opened (last_read_at stays NULL).
    stmt = insert(table).from_select(_COLUMNS, select, include_defaults=False)
    return stmt.on_conflict_do_update(
        index_elements=[table.c.user_id, table.c.order_id],
        set_={"unread": table.c.unread + stmt.excluded.unread if add else stmt.excluded.unread},
        where=where,
    )


def message_posted(message: Message, **_signal) -> None:
    """Rule 1: +1 on the counter of every active person the new `message` counts for (its
    order's client unless it is a note, its writer, the managers; never its author), in one
    statement. A person who opened the order at or after the message's instant (another
    transaction) is left alone: the message is not unread for them. The sender holds the
    order's row (service.hold_order: FOR NO KEY UPDATE, so two messages on one order are
    posted one after the other)."""
    table = ReadMarker.__table__
    people = sa.union_all(*(counted(role, Message.id == message.id) for role in Role))
    rows = sa.select(people.subquery()).where(sa.true())  # (SQLite reads ON as a join's)
    db.session.execute(counter_upsert(
        rows, add=True,
        where=sa.or_(table.c.last_read_at.is_(None), table.c.last_read_at < message.created_at),
    ))


def on_order_moved(order: Order, *, source: OrderStatus, writer_before: int | None,
                   **_) -> None:
    """Rules 3 and 4, the receiver of `order_moved`: a move wrote `order` (its writer was
    `writer_before`, its status `source`)."""
    if order.writer_id != writer_before:
        # Every writer but the current one: `writer_before` may be stale (a release does not
        # check who it releases from), the order's rows are few.
        writers = sa.select(User.id).where(User.role == Role.WRITER)
        if order.writer_id is not None:
            writers = writers.where(User.id != order.writer_id)
        _zero(ReadMarker.order_id == order.id, ReadMarker.user_id.in_(writers))
        if order.writer_id is not None:
            recount(db.session.get(User, order.writer_id), order_id=order.id)
    if source is OrderStatus.DRAFT and order.status is not OrderStatus.DRAFT:
        db.session.execute(counter_upsert(
            counted(Role.MANAGER, Message.order_id == order.id), add=False))


def recount(user: User, *, order_id: int | None = None) -> None:
    """Rules 3 and 5: set `user`'s counters (of one order, or all of them) to what the
    definition counts, with the definition's own query (queries.unread_select). Two statements:
    the counters go to 0, then the orders with something unread get their count. All of a
    manager's counters read every message since they joined: for rare changes only."""
    scope = [ReadMarker.user_id == user.id]
    if order_id is not None:
        scope.append(ReadMarker.order_id == order_id)
    _zero(*scope)
    if not user.active:
        return
    select = queries.unread_select(
        user, sa.literal(user.id, sa.Integer).label("user_id"), Message.order_id,
        sa.func.count(Message.id),
    )
    if order_id is not None:
        select = select.where(Message.order_id == order_id)
    db.session.execute(counter_upsert(select.group_by(Message.order_id), add=False))


def on_account_changed(user: User, *, change: str, **_) -> None:
    """Rule 5, the receiver of `account_changed`."""
    if change == "deactivated":
        forget(user)
    else:
        recount(user)


def forget(user: User) -> None:
    """Rule 5: an account deactivated has nothing unread."""
    _zero(ReadMarker.user_id == user.id)


def _zero(*where: sa.ColumnElement[bool]) -> None:
    db.session.execute(
        sa.update(ReadMarker).where(*where, queries.HAS_UNREAD).values(unread=0)
        .execution_options(synchronize_session=False)
    )


def recount_everyone() -> None:
    """Every counter of every person set to what the definition counts, in one statement per
    role after zeroing (what migration 0005 did): after an upgrade or a restore by hand."""
    db.session.execute(
        sa.update(ReadMarker).where(queries.HAS_UNREAD).values(unread=0)
        .execution_options(synchronize_session=False)
    )
    for role in Role:
        db.session.execute(counter_upsert(counted(role), add=False))


def drift(user: User | None = None) -> list[tuple[int, int, int, int]]:
    """The counters of `user` (or of everyone) that differ from the definition, as (user_id,
    order_id, stored, actual), read in one statement that writes nothing. An inactive
    person's definition is 0 everywhere."""
    scope = [] if user is None else [User.id == user.id]
    roles = list(Role) if user is None else [user.role]
    zero = sa.literal(0, sa.Integer)
    # Both sides in one list, summed per pair: no join between them, each read once.
    sides = sa.union_all(
        sa.select(ReadMarker.user_id, ReadMarker.order_id, ReadMarker.unread.label("stored"),
                  zero.label("actual"))
        .where(queries.HAS_UNREAD, *([] if user is None else [ReadMarker.user_id == user.id])),
        *(sa.select(found.c.user_id, found.c.order_id, zero, found.c.unread)
          for found in (counted(role, *scope).subquery() for role in roles)),
    ).subquery()
    stored, actual = sa.func.sum(sides.c.stored), sa.func.sum(sides.c.actual)
    rows = db.session.execute(
        sa.select(sides.c.user_id, sides.c.order_id, stored, actual)
        .group_by(sides.c.user_id, sides.c.order_id).having(stored != actual)
    ).all()
    return sorted((int(u), int(o), int(s), int(a)) for u, o, s, a in rows)


def repair(user: User | None = None) -> int:
    """Compare `user`'s counters (or everyone's) with the definition; when any differs, log each
    difference as a warning (person, order, stored, actual; the first LOGGED_DRIFT, then the
    total) and recount them (`recount` or `recount_everyone`). Returns how many differed (0:
    nothing written). Run every night by the mail worker and by `flask messaging recount`."""
    found = drift(user)
    for user_id, order_id, stored, actual in found[:LOGGED_DRIFT]:
        log.warning("counter drift: read_markers.unread[user %d, order %d] stored %d, actual %d",
                    user_id, order_id, stored, actual,
                    extra={"counter": "read_markers.unread", "key": (user_id, order_id),
                           "stored": stored, "actual": actual})
    if len(found) > LOGGED_DRIFT:
        log.warning("counter drift: %d more read_markers.unread counters differed",
                    len(found) - LOGGED_DRIFT,
                    extra={"counter": "read_markers.unread", "differed": len(found)})
    if found:
        if user is None:
            recount_everyone()
        else:
            recount(user)
    return len(found)
