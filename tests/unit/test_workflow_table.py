"""The table of moves, walked whole: every status, every action, every kind of actor.

What should happen is written out below by hand from the issue (not read from `MOVES`, or this
test could not fail). An allowed move changes the status as expected, writes exactly one
timeline event and moves one order from one count per status to the other; a refused one
raises InvalidTransition (the status does not allow the action) or NotAllowed (the actor may
not make it) and changes nothing: status, version, timeline, outbox and counts stay as they
were.

One order per status is built once for the module through the real services; each case runs
`workflow.apply` in its own transaction and rolls it back.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from portal.accounts.models import Role, User
from portal.billing import ledger
from portal.billing.models import EntryKind
from portal.errors import InvalidTransition, NotAllowed
from portal.extensions import db, utcnow
from portal.notifications.models import OutboxEmail
from portal.orders import status_counts
from portal.orders.models import Order, OrderEvent, OrderStatus
from portal.orders.workflow import Action, apply
from tests.conftest import empty_database
from tests.factories import Factory

S = OrderStatus
A = Action

OWNER = "owner"
OTHER_CLIENT = "other_client"
ASSIGNED_WRITER = "assigned_writer"  # the order's writer; on a draft or open order, the writer
#                                      who will take it (no one is assigned yet)
OTHER_WRITER = "other_writer"  # qualifies for the order too, but is not on it
MANAGER = "manager"
EDITOR = "editor"  # reads deliveries in review (managers hold the editor's rights too)
SYSTEM = "system"  # a scheduled job: actor None
DEACTIVATED = "deactivated"  # a manager whose account was switched off
ACTORS = (OWNER, OTHER_CLIENT, ASSIGNED_WRITER, OTHER_WRITER, MANAGER, EDITOR, SYSTEM,
          DEACTIVATED)

# (status, action) -> (status after the move, who may make it). Anything not listed is refused
# with InvalidTransition; a listed move made by someone else is refused with NotAllowed.
EXPECTED: dict[tuple[OrderStatus, Action], tuple[OrderStatus, set[str]]] = {
    (S.DRAFT, A.SUBMIT): (S.OPEN, {OWNER}),
    # Submitted while the company's balance is short: the order waits for its payment, then
    # goes on by itself (the system) once the company has paid.
    (S.DRAFT, A.AWAIT_PAYMENT): (S.AWAITING_PAYMENT, {OWNER}),
    (S.AWAITING_PAYMENT, A.PAYMENT_RECEIVED): (S.OPEN, {SYSTEM}),
    (S.AWAITING_PAYMENT, A.CANCEL): (S.CANCELLED, {OWNER, MANAGER}),
    (S.DRAFT, A.CANCEL): (S.CANCELLED, {MANAGER}),
    (S.OPEN, A.CANCEL): (S.CANCELLED, {OWNER, MANAGER}),
    (S.OPEN, A.CLAIM): (S.IN_PROGRESS, {ASSIGNED_WRITER, OTHER_WRITER}),
    (S.OPEN, A.ASSIGN): (S.IN_PROGRESS, {MANAGER}),
    (S.IN_PROGRESS, A.CANCEL): (S.CANCELLED, {MANAGER}),
    # On a tier that requires review, the writer's delivery goes to an editor first; the
    # editor (or a manager) passes it to the client or returns it to the writer.
    (S.IN_PROGRESS, A.SEND_TO_REVIEW): (S.IN_REVIEW, {ASSIGNED_WRITER}),
    (S.REVISION_REQUESTED, A.SEND_TO_REVIEW): (S.IN_REVIEW, {ASSIGNED_WRITER}),
    (S.IN_REVIEW, A.PASS_REVIEW): (S.DELIVERED, {EDITOR, MANAGER}),
    (S.IN_REVIEW, A.RETURN_TO_WRITER): (S.IN_PROGRESS, {EDITOR, MANAGER}),
    (S.IN_REVIEW, A.CANCEL): (S.CANCELLED, {MANAGER}),
    (S.IN_PROGRESS, A.REASSIGN): (S.IN_PROGRESS, {MANAGER}),
    (S.IN_PROGRESS, A.RELEASE): (S.OPEN, {ASSIGNED_WRITER, MANAGER}),
    (S.IN_PROGRESS, A.DELIVER): (S.DELIVERED, {ASSIGNED_WRITER}),
    (S.DELIVERED, A.CANCEL): (S.CANCELLED, {MANAGER}),
    (S.DELIVERED, A.REQUEST_REVISION): (S.REVISION_REQUESTED, {OWNER, MANAGER}),
    (S.DELIVERED, A.APPROVE): (S.APPROVED, {OWNER, MANAGER}),
    (S.DELIVERED, A.AUTO_APPROVE): (S.APPROVED, {SYSTEM}),
    (S.REVISION_REQUESTED, A.CANCEL): (S.CANCELLED, {MANAGER}),
    (S.REVISION_REQUESTED, A.REASSIGN): (S.REVISION_REQUESTED, {MANAGER}),
    (S.REVISION_REQUESTED, A.DELIVER): (S.DELIVERED, {ASSIGNED_WRITER}),
    # Approved and cancelled orders are final: nothing moves them.
}


@dataclass
class World:
    people: dict[str, int]
    orders: dict[OrderStatus, int]


@pytest.fixture(autouse=True)
def _clean_database():
    """Overrides the per-test cleaning: the world below is built once and every case rolls
    its transaction back."""
    yield


@pytest.fixture(scope="module")
def world(app) -> World:
    empty_database(app)
    factory = Factory(app)
    tier = factory.tier()
    reviewed = factory.tier(requires_review=True)
    content_type = factory.content_type()
    people = {
        # Prepaid, with money for the orders of the world (each is 12,000 F CFA) and little to
        # spare: the order awaiting payment (60,000) stays waiting whatever one case releases.
        OWNER: factory.user(Role.CLIENT, billing="prepaid", funds=84_000),
        OTHER_CLIENT: factory.user(Role.CLIENT),
        ASSIGNED_WRITER: factory.writer(languages=["fr"], tiers=[tier, reviewed]),
        OTHER_WRITER: factory.writer(languages=["fr"], tiers=[tier, reviewed]),
        MANAGER: factory.user(Role.MANAGER),
        EDITOR: factory.user(Role.EDITOR),
        DEACTIVATED: factory.user(Role.MANAGER, active=False),
    }
    # The order awaiting payment comes last: a cancellation releases money, which would pay
    # for it and send it on.
    statuses = [s for s in OrderStatus if s is not S.AWAITING_PAYMENT] + [S.AWAITING_PAYMENT]
    orders = {
        status: factory.order(
            client=people[OWNER], status=status, writer=people[ASSIGNED_WRITER],
            tier=reviewed if status is S.IN_REVIEW else tier,
            content_type=content_type, manager=people[MANAGER], editor=people[EDITOR],
            # cancelled while being written, so that the cancelled order has a writer too
            cancelled_from=S.IN_PROGRESS,
            words_max=3000 if status is S.AWAITING_PAYMENT else 600,
        ).id
        for status in statuses
    }
    yield World(people={k: u.id for k, u in people.items()}, orders=orders)
    empty_database(app)


def _changes(action: Action, actor: User | None, world: World) -> dict:
    """The columns the services write with each move."""
    now = utcnow()
    if action is A.SUBMIT or action is A.AWAIT_PAYMENT:  # the price is frozen (and held)
        return {"submitted_at": now, "price_per_word": 20, "rush_surcharge": 0,
                "price_total": 12_000, "writer_pay_total": 7_200, "included_revisions": 2}
    if action is A.CLAIM:
        return {"writer_id": actor.id if actor else None, "claimed_at": now}
    if action is A.ASSIGN:
        return {"writer_id": world.people[ASSIGNED_WRITER], "claimed_at": now}
    if action is A.REASSIGN:
        return {"writer_id": world.people[OTHER_WRITER], "claimed_at": now}
    if action is A.RELEASE:
        return {"writer_id": None, "claimed_at": None}
    if action in (A.DELIVER, A.PASS_REVIEW):
        return {"delivered_at": now}
    if action is A.APPROVE:
        return {"rating": 5, "closed_at": now}
    if action in (A.AUTO_APPROVE, A.CANCEL):
        return {"closed_at": now}
    return {}


def _state(order_id: int) -> dict:
    session = db.session
    order = session.get(Order, order_id)
    return {
        "status": order.status,
        "version": order.version,
        "writer_id": order.writer_id,
        "events": session.scalar(sa.select(sa.func.count(OrderEvent.id))
                                 .where(OrderEvent.order_id == order_id)),
        "outbox": session.scalar(sa.select(sa.func.count(OutboxEmail.id))),
        "counts": status_counts.counted(),
    }


def _grouped() -> dict[OrderStatus, int]:
    counts = dict.fromkeys(OrderStatus, 0)
    counts.update(db.session.execute(
        sa.select(Order.status, sa.func.count()).group_by(Order.status)).all())
    return counts


@pytest.mark.parametrize("actor_kind", ACTORS)
@pytest.mark.parametrize("action", list(Action), ids=str)
@pytest.mark.parametrize("status", list(OrderStatus), ids=str)
def test_every_move_for_every_actor(app, world, status, action, actor_kind):
    order_id = world.orders[status]
    with app.app_context():
        session = db.session
        try:
            order = session.get(Order, order_id)
            assert order.status is status  # the world is as built
            actor = None if actor_kind == SYSTEM else session.get(User, world.people[actor_kind])
            before = _state(order_id)
            expected = EXPECTED.get((status, action))

            if expected is not None and actor_kind in expected[1]:
                target = expected[0]
                if action is A.PAYMENT_RECEIVED:  # as a confirmed payment would first
                    ledger.post(order.company_id, EntryKind.TOPUP, key="table:payment",
                                amount=order.price_total)
                event = apply(order, action, actor, note="table",
                              changes=_changes(action, actor, world))
                session.expire_all()
                after = _state(order_id)
                assert after["status"] is target
                assert after["version"] == before["version"] + 1
                assert after["events"] == before["events"] + 1
                # The counts per status follow the move, in the same transaction.
                moved = dict(before["counts"])
                moved[status] -= 1
                moved[target] += 1
                assert after["counts"] == moved == _grouped()
                stored = session.get(OrderEvent, event.id)
                assert (stored.from_status, stored.to_status, stored.actor_id, stored.action) \
                    == (status, target, actor.id if actor else None, action.value)
            else:
                refusal = NotAllowed if expected is not None else InvalidTransition
                with pytest.raises(refusal) as caught:
                    apply(order, action, actor, changes=_changes(action, actor, world))
                assert type(caught.value) is refusal
                assert caught.value.message  # a sentence a person can read
                session.expire_all()
                assert _state(order_id) == before
        finally:
            session.rollback()


def test_the_table_has_no_move_the_issue_does_not_ask_for(app):
    """The other way round: every move of MOVES is one of the expected ones."""
    from portal.orders.workflow import MOVES

    for move in MOVES:
        for source in move.sources:
            assert (source, move.action) in EXPECTED, (source, move.action)
            assert (move.target or source) is EXPECTED[(source, move.action)][0]
