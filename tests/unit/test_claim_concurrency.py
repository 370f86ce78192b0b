"""Twenty writers claim the same open order at the same moment: exactly one gets it, the
nineteen others are told clearly that someone was faster, and the timeline shows one claim.

Each writer is a thread with its own app context (so its own session and connection), all
released together by a barrier, on the SQLite file database or on PostgreSQL
(TEST_DATABASE_URL).
"""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from flask_babel import gettext

from portal.accounts.models import User
from portal.errors import Conflict
from portal.extensions import db
from portal.notifications.models import OutboxEmail
from portal.orders import service
from portal.orders.models import Order, OrderEvent, OrderStatus

WRITERS = 20


@pytest.mark.parametrize("load", ["before", "after"], ids=lambda w: f"order-loaded-{w}-the-start")
def test_twenty_writers_claim_the_same_order_and_one_wins(app, factory, load):
    """Loaded before the start, every writer sees the order open and the race is decided by
    the conditional UPDATE; loaded after, late writers already see it taken. Both answer the
    same."""
    tier = factory.tier()
    order = factory.order(status=OrderStatus.OPEN, tier=tier)
    writers = [factory.writer(languages=["fr"], tiers=[tier]) for _ in range(WRITERS)]
    barrier = threading.Barrier(WRITERS, timeout=30)
    results: dict[int, object] = {}
    seen: dict[int, OrderStatus] = {}

    def claim(writer_id: int) -> None:
        with app.app_context():
            try:
                # What a request does: load the order and the writer, claim, commit.
                if load == "before":
                    stored = db.session.get(Order, order.id)
                    me = db.session.get(User, writer_id)
                    # Give the connection back (the pool has fewer than 20) but keep what was
                    # read: close() detaches without expiring.
                    db.session.close()
                barrier.wait()
                if load == "before":
                    db.session.add_all([stored, me])
                if load == "after":
                    stored = db.session.get(Order, order.id)
                    me = db.session.get(User, writer_id)
                seen[writer_id] = stored.status
                service.claim(stored, me)
                db.session.commit()
                results[writer_id] = "claimed"
            except Exception as error:  # every outcome is recorded and checked below
                db.session.rollback()
                results[writer_id] = error

    threads = [threading.Thread(target=claim, args=(w.id,)) for w in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)

    winners = [wid for wid, outcome in results.items() if outcome == "claimed"]
    refusals = [outcome for outcome in results.values() if outcome != "claimed"]
    assert len(winners) == 1, results
    if load == "before":  # every one of them went to the UPDATE believing the order open
        assert set(seen.values()) == {OrderStatus.OPEN}
    assert len(refusals) == WRITERS - 1
    unexpected = [r for r in refusals if not isinstance(r, Conflict)]
    assert not unexpected, unexpected  # never "database is locked" or another crash
    with app.app_context():  # the message, in the language the refusals were given in
        taken = gettext("Another writer took this order a moment ago.")
    assert {r.message for r in refusals} == {taken}

    with app.app_context():
        stored = db.session.get(Order, order.id)
        assert stored.status is OrderStatus.IN_PROGRESS
        assert stored.writer_id == winners[0]
        claims = db.session.scalars(
            sa.select(OrderEvent).where(OrderEvent.order_id == order.id,
                                        OrderEvent.action == "claim")
        ).all()
        assert [(e.actor_id, e.from_status, e.to_status) for e in claims] == \
            [(winners[0], OrderStatus.OPEN, OrderStatus.IN_PROGRESS)]
        # The client hears once that the order is taken.
        taken = db.session.scalar(sa.select(sa.func.count(OutboxEmail.id))
                                  .where(OutboxEmail.idempotency_key.like("%:taken:%")))
        assert taken == 1
