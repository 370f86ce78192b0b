"""Reading conversations: the stream of an order (messages and order events in time order), what
each person has not read yet, and marking an order read.

Internal notes are filtered here, in SQL, for everyone who is not staff on the order, so no
page, count or export built on these functions can show one to a client. Each function runs a
fixed number of statements, whatever the number of messages or orders.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload, selectinload

from portal.accounts.models import Role, User
from portal.extensions import db, utcnow
from portal.messaging import policies
from portal.messaging.models import Message, ReadMarker
from portal.orders.models import Order, OrderEvent, OrderStatus


@dataclass(frozen=True)
class StreamItem:
    """One line of a conversation: a message (or note) or an order event."""

    at: datetime
    message: Message | None = None
    event: OrderEvent | None = None

    @property
    def kind(self) -> str:
        return "message" if self.message is not None else "event"


def visible_messages(order: Order, viewer: User) -> sa.Select:
    """The messages of `order` that `viewer` may read (notes only for staff on the order)."""
    stmt = sa.select(Message).where(Message.order_id == order.id)
    if not policies.sees_internal(viewer, order):
        stmt = stmt.where(Message.internal.is_(False))
    return stmt


def stream(order: Order, viewer: User) -> list[StreamItem]:
    """Messages and order events of `order` in time order (events first at the same instant),
    as `viewer` may see them; empty for someone who does not take part. Three statements."""
    if not policies.takes_part(viewer, order):
        return []
    messages = db.session.scalars(
        visible_messages(order, viewer)
        .options(joinedload(Message.author), selectinload(Message.attachments))
        .order_by(Message.created_at, Message.id)
    ).unique().all()
    events = db.session.scalars(
        sa.select(OrderEvent).options(joinedload(OrderEvent.actor))
        .where(OrderEvent.order_id == order.id).order_by(OrderEvent.created_at, OrderEvent.id)
    ).all()
    items = [StreamItem(at=e.created_at, event=e) for e in events]
    items += [StreamItem(at=m.created_at, message=m) for m in messages]
    # A stable sort: events, then messages, each already in their own order.
    return sorted(items, key=lambda item: item.at)


# --- what "unread" means --------------------------------------------------------------------
# The definition, for one person: the messages of the conversations they take part in, written by
# someone else after their last visit, that they may see. The counters of read_markers.unread
# (portal.messaging.unread) hold its answer per order; `recount_unread` runs it for real: the
# recount tool and the tests' oracle.


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
    the counters. One statement on the person's own rows; none when the list is empty."""
    ids = sorted(set(order_ids))
    if not ids or not user.active:
        return {}
    rows = db.session.execute(
        sa.select(ReadMarker.order_id, ReadMarker.unread)
        .where(ReadMarker.user_id == user.id, ReadMarker.order_id.in_(ids),
               HAS_UNREAD)
    ).all()
    return {order_id: count for order_id, count in rows}


def unread_total_select(user: User, *, cap: int | None = None) -> sa.ScalarSelect:
    """The person's unread messages over every conversation, as a scalar subquery: the sum of
    their counters, read through ix_read_markers_user_id_unread (their unread backlog only, not
    the agency's history). With `cap`, at most `cap` counters are read: the sum is exact below
    `cap` and at least `cap` otherwise (each counter read is 1 or more), which is all a badge
    showing "99+" needs, at a cost that no longer grows with the backlog either."""
    counters = sa.select(ReadMarker.unread).where(ReadMarker.user_id == user.id, HAS_UNREAD)
    if cap is not None:
        counters = counters.limit(cap)
    rows = counters.subquery("counters")
    return sa.select(sa.func.coalesce(sa.func.sum(rows.c.unread), 0)).scalar_subquery()


def unread_total(user: User) -> int:
    """Unread messages over every conversation `user` takes part in. One statement."""
    if not user.active:
        return 0
    return db.session.scalar(sa.select(unread_total_select(user))) or 0


def mark_read(user: User, order: Order) -> datetime | None:
    """Record that `user` opened the order's conversation now, keeping the visit before as
    `previous_read_at`; returns that previous visit (None on a first visit, or when the row
    only held a counter). The person's unread counter of the order goes back to what the
    definition says right after a visit: the messages dated after this instant (none, unless
    clocks disagree), read through ix_messages_order_id_created_at. One statement, an upsert, so
    two tabs opening at once do not collide. Nothing for someone who does not take part."""
    if not policies.takes_part(user, order):
        return None
    now = utcnow()
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = ReadMarker.__table__
    after_now = (
        visible_messages(order, user)
        .with_only_columns(sa.func.count(Message.id))
        .where(Message.created_at > now,
               sa.or_(Message.author_id.is_(None), Message.author_id != user.id))
        .scalar_subquery()
    )
    stmt = insert(table).values(user_id=user.id, order_id=order.id, last_read_at=now,
                                previous_read_at=None, unread=after_now)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.user_id, table.c.order_id],
        set_={"previous_read_at": table.c.last_read_at, "last_read_at": now,
              "unread": stmt.excluded.unread},
    ).returning(table.c.previous_read_at)
    return db.session.execute(stmt).scalar_one()
