"""Every change of an order's status goes through `apply()`, following the table `MOVES`.

A move is checked against the actor and the order's current status, written with a conditional
UPDATE (so two people acting at once cannot both win), counted in `order_status_counts` and
`writer_loads`, recorded as a timeline event and announced by the `order_moved` signal
(portal/signals.py), whose receivers (unread counters, money, emails) act in the caller's
transaction. Nothing else assigns `order.status` (nor `order.writer_id`: the counters follow the
moves here).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from portal.accounts.models import Role, User
from portal.errors import Conflict, InvalidTransition, NotAllowed
from portal.extensions import db, utcnow
from portal.orders import status_counts
from portal.orders.models import STATUS_LABELS, Order, OrderEvent, OrderStatus
from portal.signals import order_moved

S = OrderStatus


class Action(enum.StrEnum):
    SUBMIT = "submit"
    AWAIT_PAYMENT = "await_payment"  # submitted, but the company's balance is short
    PAYMENT_RECEIVED = "payment_received"  # the balance now covers it: to the writers
    CANCEL = "cancel"
    CLAIM = "claim"
    ASSIGN = "assign"
    REASSIGN = "reassign"
    RELEASE = "release"
    DELIVER = "deliver"
    SEND_TO_REVIEW = "send_to_review"  # delivered on an order that needs review (review.py)
    PASS_REVIEW = "pass_review"  # noqa: S105 (a name, not a secret): to the client
    RETURN_TO_WRITER = "return_to_writer"  # the editor sends it back, not a client revision
    REQUEST_REVISION = "request_revision"
    APPROVE = "approve"
    AUTO_APPROVE = "auto_approve"


class Party(enum.StrEnum):
    """Who may make a move, relative to the order."""

    OWNER = "owner"  # the client who placed the order
    WRITER = "writer"  # any active writer (claims are further checked by policies)
    ASSIGNED_WRITER = "assigned_writer"
    MANAGER = "manager"
    EDITOR = "editor"  # editors, and managers, who hold the editor's rights
    SYSTEM = "system"  # scheduled jobs, no person


@dataclass(frozen=True)
class Move:
    action: Action
    sources: frozenset[OrderStatus]
    target: OrderStatus | None  # None: the status stays (a reassignment)
    parties: frozenset[Party]


def _move(action, sources, target, *parties) -> Move:
    return Move(action, frozenset(sources), target, frozenset(parties))


P = Party
MOVES: tuple[Move, ...] = (
    _move(Action.SUBMIT, {S.DRAFT}, S.OPEN, P.OWNER),
    _move(Action.AWAIT_PAYMENT, {S.DRAFT}, S.AWAITING_PAYMENT, P.OWNER),
    _move(Action.PAYMENT_RECEIVED, {S.AWAITING_PAYMENT}, S.OPEN, P.SYSTEM),
    _move(Action.CANCEL, {S.OPEN, S.AWAITING_PAYMENT}, S.CANCELLED, P.OWNER, P.MANAGER),
    _move(Action.CANCEL, {S.DRAFT, S.IN_PROGRESS, S.IN_REVIEW, S.DELIVERED,
                          S.REVISION_REQUESTED}, S.CANCELLED, P.MANAGER),
    _move(Action.CLAIM, {S.OPEN}, S.IN_PROGRESS, P.WRITER),
    _move(Action.ASSIGN, {S.OPEN}, S.IN_PROGRESS, P.MANAGER),
    _move(Action.REASSIGN, {S.IN_PROGRESS, S.REVISION_REQUESTED}, None, P.MANAGER),
    _move(Action.RELEASE, {S.IN_PROGRESS}, S.OPEN, P.ASSIGNED_WRITER, P.MANAGER),
    _move(Action.DELIVER, {S.IN_PROGRESS, S.REVISION_REQUESTED}, S.DELIVERED, P.ASSIGNED_WRITER),
    _move(Action.SEND_TO_REVIEW, {S.IN_PROGRESS, S.REVISION_REQUESTED}, S.IN_REVIEW,
          P.ASSIGNED_WRITER),
    _move(Action.PASS_REVIEW, {S.IN_REVIEW}, S.DELIVERED, P.EDITOR),
    _move(Action.RETURN_TO_WRITER, {S.IN_REVIEW}, S.IN_PROGRESS, P.EDITOR),
    _move(Action.REQUEST_REVISION, {S.DELIVERED}, S.REVISION_REQUESTED, P.OWNER, P.MANAGER),
    _move(Action.APPROVE, {S.DELIVERED}, S.APPROVED, P.OWNER, P.MANAGER),
    _move(Action.AUTO_APPROVE, {S.DELIVERED}, S.APPROVED, P.SYSTEM),
)


def parties_of(actor: User | None, order: Order) -> set[Party]:
    """What `actor` is to `order`."""
    if actor is None:
        return {Party.SYSTEM}
    if not actor.active:
        return set()
    parties: set[Party] = set()
    if actor.role is Role.CLIENT and order.client_id == actor.id:
        parties.add(Party.OWNER)
    if actor.role is Role.WRITER:
        parties.add(Party.WRITER)
        if order.writer_id == actor.id:
            parties.add(Party.ASSIGNED_WRITER)
    if actor.role is Role.MANAGER:
        parties.add(Party.MANAGER)
    if actor.role in (Role.EDITOR, Role.MANAGER):
        parties.add(Party.EDITOR)
    return parties


def find_move(status: OrderStatus, action: Action) -> Move | None:
    for move in MOVES:
        if move.action is action and status in move.sources:
            return move
    return None


def allowed(actor: User | None, order: Order, action: Action) -> bool:
    """True when the table lets `actor` make `action` on `order` as it stands now."""
    move = find_move(order.status, action)
    return move is not None and bool(move.parties & parties_of(actor, order))


def apply(
    order: Order,
    action: Action,
    actor: User | None,
    *,
    note: str = "",
    changes: dict[str, Any] | None = None,
    extra_condition: sa.ColumnElement[bool] | None = None,
    conflict_message: str | None = None,
    context: dict[str, Any] | None = None,
) -> OrderEvent:
    """Make `action` on `order` for `actor` (None for the system) and return its event.

    `changes` are further columns written in the same UPDATE (the writer on a claim, a
    timestamp); `context` goes to the receivers of `order_moved` (the part of the price a
    cancellation charges). Raises InvalidTransition when the order's status does not allow the
    action, NotAllowed when the actor may not make it, and Conflict when the order changed in
    the meantime (another writer claimed it first): nothing is then changed. A receiver of
    `order_moved` may refuse the move by raising (the caller rolls back).
    """
    move = find_move(order.status, action)
    if move is None:
        raise InvalidTransition(
            _("This order can no longer be changed this way (it is now: %(status)s).",
              status=str(STATUS_LABELS[order.status]))
        )
    if not move.parties & parties_of(actor, order):
        raise NotAllowed(_("You are not allowed to do this on this order."))

    source = order.status
    writer_before = order.writer_id
    target = move.target or source
    now = utcnow()
    values = {"status": target, "updated_at": now, "version": Order.version + 1,
              **(changes or {})}
    # The writer too: a reassignment keeps the status, and a move decided on the order as it
    # was before one (the old writer delivering) must not win, nor count the wrong writer.
    condition = sa.and_(Order.id == order.id, Order.status == source,
                        Order.writer_id.is_not_distinct_from(writer_before))
    if extra_condition is not None:
        condition = sa.and_(condition, extra_condition)
    result = db.session.execute(
        sa.update(Order).where(condition).values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict(conflict_message or _(
            "This order changed a moment ago. Reload the page to see where it stands."
        ))
    status_counts.moved(source, target)
    db.session.refresh(order)
    status_counts.writer_moved((writer_before, source), (order.writer_id, target))
    event = OrderEvent(
        order_id=order.id,
        actor_id=actor.id if actor else None,
        action=action.value,
        from_status=source,
        to_status=target,
        note=note,
        created_at=now,
    )
    db.session.add(event)
    db.session.flush()
    order_moved.send(order, action=action, source=source, target=target, actor=actor,
                     event=event, writer_before=writer_before, context=context or {})
    return event


def record(order: Order, action: str, actor: User | None, note: str = "") -> OrderEvent:
    """A timeline line for a change that is not a move (an edit, a new deadline, a granted
    revision): the status is untouched."""
    event = OrderEvent(order_id=order.id, actor_id=actor.id if actor else None, action=action,
                       from_status=order.status, to_status=order.status, note=note)
    db.session.add(event)
    db.session.flush()
    return event
