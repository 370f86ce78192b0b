"""Reading conversations: the stream of an order (messages and order events in time order), what
each person has not read yet, and marking an order read.

Internal notes are filtered here, in SQL, for everyone who is not staff on the order, so no
page, count or export built on these functions can show one to a client. Each function runs a
fixed number of statements, whatever the number of messages or orders.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from types import SimpleNamespace

import sqlalchemy as sa
from flask import abort
from sqlalchemy.orm import joinedload

from portal import security_log
from portal.accounts.models import Role, User
from portal.extensions import db, upsert_insert, utcnow
from portal.messaging import forms, policies, service
from portal.messaging.models import Message, MessageAttachment, MessageSource, ReadMarker
from portal.orders.models import Order, OrderEvent, OrderStatus
from portal.orders.queries import timeline


@dataclass(frozen=True)
class StreamItem:
    """One line of a conversation: a message (or note) or an order event."""

    at: datetime
    message: Message | Shown | None = None
    event: OrderEvent | None = None

    @property
    def kind(self) -> str:
        return "message" if self.message is not None else "event"


def visible_messages(order: Order, viewer: User) -> sa.Select:
    """The messages of `order` that `viewer` may read (notes only for staff on the order)."""
    return _notes_kept(sa.select(Message).where(Message.order_id == order.id),
                       policies.sees_internal(viewer, order))


def _notes_kept(stmt: sa.Select, notes: bool) -> sa.Select:
    """`stmt` without the internal notes unless `notes`: the page and its window share it."""
    return stmt if notes else stmt.where(Message.internal.is_(False))


def stream(order: Order, viewer: User, *,
           events: list[OrderEvent] | None = None) -> list[StreamItem]:
    """Messages and order events of `order` in time order (events first at the same instant),
    as `viewer` may see them; empty for someone who does not take part. One statement for the
    messages with their authors and files; one more for the events unless `events` (the
    order's whole timeline in time order, orders.queries.timeline) is given."""
    if not policies.takes_part(viewer, order):
        return []
    messages = db.session.scalars(
        visible_messages(order, viewer)
        .options(joinedload(Message.author), joinedload(Message.attachments))
        .order_by(Message.created_at, Message.id)
    ).unique().all()
    if events is None:
        events = timeline(order)
    items = [StreamItem(at=e.created_at, event=e) for e in events]
    items += [StreamItem(at=m.created_at, message=m) for m in messages]
    # A stable sort: events, then messages, each already in their own order.
    return sorted(items, key=lambda item: item.at)


# A conversation can run to hundreds of messages; the order page shows the latest ones, and
# earlier ones a page at a time, so that it costs the same whatever the conversation's length.
CONVERSATION_WINDOW = 50
# ... except when the person's unread messages go further back: up to this many are shown.
UNREAD_REACH = 200


@dataclass
class Window:
    """A part of a conversation as the order page shows it."""

    items: list[StreamItem]
    earlier_before: int | None  # the message to ask for earlier ones before; None: none left
    latest: bool  # the part that ends with the latest message


@dataclass(eq=False)
class Shown:
    """A message as the order page shows it, as plain values: building Message, User and file
    objects cost the page 2 of its 16 ms of CPU (200 messages, a tenth of the bench data)."""

    id: int
    created_at: datetime
    author_id: int | None
    internal: bool
    source: MessageSource
    html: str
    author: SimpleNamespace | None  # display_name, role; None once the account is gone
    attachments: list[SimpleNamespace] = field(default_factory=list)  # id, original_name, size
    body_html = Message.body_html


@lru_cache(maxsize=4)  # one per (notes shown, earlier page), README "Caches"
def _newest_statement(notes: bool, earlier: bool) -> sa.Select:
    newest = _notes_kept(sa.select(Message.id, Message.created_at, Message.author_id,
                                   Message.internal, Message.source, Message.html)
                         .where(Message.order_id == sa.bindparam("order")), notes)
    if earlier:
        at = sa.bindparam("at", type_=Message.created_at.type)
        newest = newest.where(sa.tuple_(Message.created_at, Message.id)
                              < sa.tuple_(at, sa.bindparam("id")))
    newest = newest.order_by(Message.created_at.desc(), Message.id.desc()) \
        .limit(sa.bindparam("limit")).subquery()
    return (sa.select(newest, User.display_name, User.role, MessageAttachment.id.label("file"),
                      MessageAttachment.original_name, MessageAttachment.size)
            .outerjoin(User, User.id == newest.c.author_id)
            .outerjoin(MessageAttachment, MessageAttachment.message_id == newest.c.id)
            .order_by(newest.c.created_at.desc(), newest.c.id.desc(), MessageAttachment.id))


def _newest_first(order: Order, notes: bool, limit: int, before: tuple | None) -> list[Shown]:
    """The latest `limit` messages of `order` (before the (created_at, id) `before`), notes
    only if `notes`, newest first, with their authors and files: one statement, built once."""
    at, id_ = before or (None, None)
    rows = db.session.execute(_newest_statement(notes, before is not None),
                              {"order": order.id, "limit": limit, "at": at, "id": id_})
    shown: dict[int, Shown] = {}
    for r in rows:
        if (message := shown.get(r.id)) is None:
            author = SimpleNamespace(display_name=r.display_name, role=r.role) \
                if r.display_name is not None else None
            message = shown[r.id] = Shown(*r[:6], author=author)
        if r.file is not None:
            message.attachments.append(SimpleNamespace(id=r.file, original_name=r.original_name,
                                                       size=r.size))
    return list(shown.values())


def window(order: Order, viewer: User, *, events: list[OrderEvent] | None = None,
           before_id: int | None = None, since: datetime | None = None,
           size: int = CONVERSATION_WINDOW) -> Window:
    """The latest `size` messages of the conversation as `viewer` may see them, or the `size`
    before the message `before_id` (an earlier page), with the order's events of the same
    span, in time order as `stream` gives them. When `since` (the person's previous visit)
    falls before the oldest of them, the window reaches back to the first message after it,
    up to UNREAD_REACH messages, so that the "new" marker is on the page. One statement for
    the messages; one more on an earlier page (where the cursor is) and one more when the
    unread reach back; the events cost one unless given. Empty for someone who does not take
    part."""
    if not policies.takes_part(viewer, order):
        return Window(items=[], earlier_before=None, latest=True)
    notes = policies.sees_internal(viewer, order)
    upper = None
    if before_id is not None:
        upper = db.session.execute(
            visible_messages(order, viewer).with_only_columns(Message.created_at, Message.id)
            .where(Message.id == before_id)
        ).first()
    messages = _newest_first(order, notes, size + 1, tuple(upper) if upper else None)
    more = len(messages) > size
    messages = messages[:size]
    if more and since is not None and messages[-1].created_at > since:
        reach = UNREAD_REACH - size
        oldest = messages[-1]
        older = _newest_first(order, notes, reach + 1, (oldest.created_at, oldest.id))
        unread = [m for m in older[:reach] if m.created_at > since]
        messages += unread
        more = len(older) > len(unread)
    messages.reverse()
    if events is None:
        events = timeline(order)
    # The events between the messages shown: after the oldest one when earlier messages exist,
    # before the cursor on an earlier page (those after it are on the later part).
    start = messages[0].created_at if more and messages else None
    end = upper[0] if upper is not None else None
    items = [StreamItem(at=e.created_at, event=e) for e in events
             if (start is None or e.created_at >= start) and (end is None or e.created_at < end)]
    items += [StreamItem(at=m.created_at, message=m) for m in messages]
    return Window(items=sorted(items, key=lambda item: item.at),
                  earlier_before=messages[0].id if more and messages else None,
                  latest=upper is None)


# --- what "unread" means --------------------------------------------------------------------
# The definition, for one person: the messages of the conversations they take part in, written by
# someone else after their last visit, that they may see. The counters of read_markers.unread
# (portal.messaging.unread) hold its answer per order; `recount_unread` runs it for real for one
# person: the tests' oracle. The repair (`unread.repair`: `flask messaging recount`, and the mail
# worker every night) checks the counters against its form for everyone, `unread.counted`.


def _unread_condition(user: User) -> sa.ColumnElement[bool]:
    """Messages `user` has not read: written by someone else after their last visit of the
    order, and visible to them (a client never counts a note; a writer counts notes of the
    orders they write)."""
    condition = sa.and_(
        sa.or_(Message.author_id.is_(None), Message.author_id != user.id),
        # Never opened: what came after the person joined is unread (a new manager does not
        # inherit the agency's whole history).
        Message.created_at > sa.func.coalesce(ReadMarker.last_read_at, user.created_at),
    )
    if user.role is Role.CLIENT:
        condition = sa.and_(condition, Message.internal.is_(False))
    elif user.role is Role.WRITER:
        condition = sa.and_(condition, sa.or_(Message.internal.is_(False),
                                              Order.writer_id == user.id))
    return condition


def _participation(user: User) -> sa.ColumnElement[bool]:
    """The orders whose conversation `user` takes part in (see policies.takes_part)."""
    if user.role is Role.CLIENT:
        return Order.client_id == user.id
    if user.role is Role.WRITER:
        return Order.writer_id == user.id
    if user.role is Role.EDITOR:
        return sa.false()  # editors take part in no conversation (policies.takes_part)
    return Order.status != OrderStatus.DRAFT


def unread_select(user: User, *columns) -> sa.Select:
    """The select of the definition for `user` (the messages they have not read), with
    `columns`. It reads every message of their conversations since they joined: for recounts
    and tests only, never for a page."""
    return (
        sa.select(*columns)
        .select_from(Message)
        .join(Order, Order.id == Message.order_id)
        .outerjoin(ReadMarker, sa.and_(ReadMarker.order_id == Message.order_id,
                                       ReadMarker.user_id == user.id))
        .where(_participation(user), _unread_condition(user))
    )


def recount_unread(user: User, order_ids: Iterable[int] | None = None) -> dict[int, int]:
    """Unread messages per order by the definition (orders with none left out), for the orders
    listed or every order; nothing for someone inactive. It reads messages, not the counters:
    the oracle the counters are checked against."""
    if not user.active:
        return {}
    stmt = unread_select(user, Message.order_id, sa.func.count(Message.id))
    if order_ids is not None:
        stmt = stmt.where(Message.order_id.in_(sorted(set(order_ids))))
    rows = db.session.execute(stmt.group_by(Message.order_id)).all()
    return {order_id: count for order_id, count in rows}


# --- what pages read: the counters ----------------------------------------------------------

# Written as a literal, not a parameter: the databases then read the partial index
# ix_read_markers_user_id_unread (unread > 0), the person's unread backlog only.
HAS_UNREAD = ReadMarker.unread > sa.literal_column("0")


def unread_counts(user: User, order_ids: Iterable[int]) -> dict[int, int]:
    """Unread messages per order for the orders listed (those with none are left out), from
    the counters. One statement on the person's own rows; none when the list is empty.

    Looked up by primary key (user, order), a page's worth of rows: with `unread > 0` in the
    condition the databases prefer the partial index, i.e. the person's whole backlog (a
    manager who never read: every order of the agency, 190 ms at 200,000 orders)."""
    ids = sorted(set(order_ids))
    if not ids or not user.active:
        return {}
    rows = db.session.execute(
        sa.select(ReadMarker.order_id, ReadMarker.unread)
        .where(ReadMarker.user_id == user.id, ReadMarker.order_id.in_(ids))
    ).all()
    return {order_id: count for order_id, count in rows if count > 0}


def unread_total_select(user_id, *, cap: int | None = None) -> sa.ScalarSelect:
    """The unread messages of person `user_id` (an id or a bound parameter) over every
    conversation, as a scalar subquery: the sum of their counters, read through
    ix_read_markers_user_id_unread (their unread backlog only, not the agency's history). With
    `cap`, at most `cap` counters are read: the sum is exact below `cap` and at least `cap`
    otherwise (each counter read is 1 or more), which is all a badge showing "99+" needs, at a
    cost that no longer grows with the backlog either."""
    counters = sa.select(ReadMarker.unread).where(ReadMarker.user_id == user_id, HAS_UNREAD)
    if cap is not None:
        counters = counters.limit(cap)
    rows = counters.subquery("counters")
    return sa.select(sa.func.coalesce(sa.func.sum(rows.c.unread), 0)).scalar_subquery()


def unread_total(user: User) -> int:
    """Unread messages over every conversation `user` takes part in. One statement."""
    if not user.active:
        return 0
    return db.session.scalar(sa.select(unread_total_select(user.id))) or 0


@dataclass(frozen=True)
class Marker:
    """A person's read marker of one order, as the order page reads it with the order
    (`marker_columns`) to decide whether the visit writes anything."""

    unread: int | None  # None: no row (never opened, nothing ever counted)
    last_read_at: datetime | None  # None: never opened

    @property
    def must_move(self) -> bool:
        """A visit changes the marker when it is the person's first (no row, or a row that only
        held a counter) or something is unread (the counter, kept equal to the definition by
        portal.messaging.unread). Otherwise the marker already says what a visit would: nothing
        is new since their last visit, which stays the one "new since" counts from."""
        return self.unread is None or self.last_read_at is None or self.unread != 0


def marker_columns(user: User, order_id: int) -> tuple[sa.ScalarSelect, sa.ScalarSelect]:
    """`user`'s marker of the order as scalar subqueries (unread, last_read_at; NULL without a
    row), for the statement that loads the order: then reading it costs no statement."""
    row = sa.select(ReadMarker.unread).where(ReadMarker.user_id == user.id,
                                             ReadMarker.order_id == order_id)
    return (row.scalar_subquery(),
            row.with_only_columns(ReadMarker.last_read_at).scalar_subquery())


def visit(user: User, order: Order, marker: Marker) -> datetime | None:
    """The person opens the order's page (rule 2), `marker` being theirs as read with the
    order. When it need not move (`Marker.must_move`), nothing is written and their last visit
    is returned: "new since your last visit" counts from it, as it would after a write.
    Otherwise `mark_read`'s one upsert, which leaves alone a row that changed since `marker`
    was read (another visit moved it: that visit's tab and this one then both mark what is new
    since `marker`; or a message came meanwhile, which stays unread) or whose order's row
    another transaction holds (a message being posted). Returns the previous visit; None for
    someone who does not take part, or on a first visit."""
    if not policies.takes_part(user, order):
        return None
    if not marker.must_move:
        return marker.last_read_at
    moved = _mark_read(user, order, seen=marker)
    return marker.last_read_at if moved is None else moved[0]


def mark_read(user: User, order: Order) -> datetime | None:
    """Record that `user` opened the order's conversation now, keeping the visit before as
    `previous_read_at`; returns that previous visit (None on a first visit, or when the row
    only held a counter). The person's unread counter of the order goes back to what the
    definition says right after a visit: the messages dated after this instant (none, unless
    clocks disagree), read through ix_messages_order_id_created_at. One statement, an upsert, so
    two tabs opening at once do not collide. Nothing for someone who does not take part. The
    order page writes through `visit`, only when the marker must move."""
    if not policies.takes_part(user, order):
        return None
    return _mark_read(user, order).scalar_one()


def _mark_read(user: User, order: Order, *, seen: Marker | None = None):
    now = utcnow()
    insert = upsert_insert()
    table = ReadMarker.__table__
    after_now = (
        visible_messages(order, user)
        .with_only_columns(sa.func.count(Message.id))
        .where(Message.created_at > now,
               sa.or_(Message.author_id.is_(None), Message.author_id != user.id))
        .scalar_subquery()
    )
    # The order's row is locked as the row to write is made (PostgreSQL; SQLite writes one
    # transaction at a time): a message being posted holds it from before its instant is taken
    # (service.hold_order). A visit does not wait for it (nor for a move, a file being stored,
    # the night's approvals): it writes nothing, the marker moves at a later visit, and the
    # message stays unread rather than be marked read unseen. Nor does it move a row that
    # changed since the page read it (`seen`: another tab's visit, a message meanwhile).
    row = (sa.select(sa.literal(user.id), Order.id, sa.literal(now, table.c.last_read_at.type),
                     sa.null(), after_now)
           .where(Order.id == order.id)
           .with_for_update(key_share=True, skip_locked=seen is not None))
    stmt = insert(table).from_select(
        ["user_id", "order_id", "last_read_at", "previous_read_at", "unread"], row)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.user_id, table.c.order_id],
        set_={"previous_read_at": table.c.last_read_at, "last_read_at": now,
              "unread": stmt.excluded.unread},
        where=None if seen is None else sa.and_(
            sa.or_(table.c.unread != 0, table.c.last_read_at.is_(None)),
            table.c.unread.is_not_distinct_from(seen.unread),
            table.c.last_read_at.is_not_distinct_from(seen.last_read_at)),
    ).returning(table.c.previous_read_at)
    result = db.session.execute(stmt)
    return result.first() if seen is not None else result


def conversation_for(order: Order, viewer: User, *, last_visit: datetime | None = None,
                     form: forms.MessageForm | None = None,
                     events: list[OrderEvent] | None = None,
                     before_id: int | None = None) -> dict | None:
    """What templates/messaging/_conversation.html shows on the order page; None for someone
    outside it. `events`: the order's timeline when the page has loaded it already;
    `before_id`: show the messages before that one (an earlier page) rather than the latest."""
    if not policies.takes_part(viewer, order):
        return None
    part = window(order, viewer, events=events, before_id=before_id, since=last_visit)
    items = part.items
    first_new = None
    if last_visit is not None:
        first_new = next((item.message.id for item in items if item.message is not None
                          and item.message.author_id != viewer.id
                          and item.message.created_at > last_visit), None)
    return {
        "stream": items,
        "earlier_before": part.earlier_before,
        "latest": part.latest,
        "has_messages": any(item.message is not None for item in items),
        "first_new_id": first_new,
        "form": form or forms.MessageForm(formdata=None),
        "may_note": policies.sees_internal(viewer, order),
        "may_attach": policies.can_attach_files(viewer, order),
        "files_max": service.FILES_PER_MESSAGE,
    }


def conversation_order(user: User, order_id: int) -> Order:
    """The order if `user` takes part in its conversation; 404 otherwise."""
    from portal.orders.queries import get_order_for

    order = get_order_for(user, order_id)
    if not policies.takes_part(user, order):
        security_log.access_refused("conversation", order_id=order.id)
        abort(404)
    return order
