"""Rules added after review: a released draft is not passed on, a preferred writer who cannot
take the order does not block it, reminders and deadline changes reach the writer, approval
emails say who approved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from portal.accounts.models import Role, User
from portal.errors import Conflict
from portal.extensions import db, utcnow
from portal.notifications.models import OutboxEmail
from portal.orders import jobs, service
from portal.orders.models import Draft, Order, OrderStatus

S = OrderStatus


def keys(app, kind: str) -> list[tuple[int | None, str]]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(OutboxEmail.recipient_user_id, OutboxEmail.text_body)
            .where(OutboxEmail.idempotency_key.like(f"%:{kind}:%")).order_by(OutboxEmail.id)
        ).all()
    return [tuple(row) for row in rows]


def test_a_released_order_reaches_the_next_writer_without_the_old_draft(app, factory):
    tier = factory.tier()
    first = factory.writer(tiers=[tier])
    second = factory.writer(tiers=[tier])
    order = factory.order(tier=tier, writer=first, status=S.IN_PROGRESS)
    with app.app_context():
        stored = db.session.get(Order, order.id)
        service.save_draft(stored, db.session.get(User, first.id), "Mon brouillon à moi",
                           base_version=service.draft_for(stored).version)
        service.release(stored, db.session.get(User, first.id), "Je suis malade")
        db.session.commit()
        service.claim(stored, db.session.get(User, second.id))
        db.session.commit()
        assert service.draft_for(stored).text == ""
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Draft)) == 1


def test_a_preferred_writer_who_cannot_take_the_order_does_not_hold_it(app, factory):
    tier = factory.tier()
    other_tier = factory.tier()
    client = factory.user(Role.CLIENT)
    able = factory.writer(tiers=[tier])
    unable = factory.writer(tiers=[other_tier])
    # Both have worked for this client before.
    factory.order(client=client, tier=tier, writer=able, status=S.APPROVED)
    factory.order(client=client, tier=other_tier, writer=unable, status=S.APPROVED)

    held = factory.order(client=client, tier=tier, preferred_writer=able, status=S.OPEN)
    free = factory.order(client=client, tier=tier, preferred_writer=unable, status=S.OPEN)
    with app.app_context():
        assert db.session.get(Order, held.id).offered_until is not None
        assert db.session.get(Order, free.id).offered_until is None


def test_the_review_reminder_also_reaches_the_writer(app, factory):
    start = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        order = factory.order(status=S.DELIVERED)
    days = app.config["AUTO_APPROVE_DAYS"]
    with time_machine.travel(start + timedelta(days=days / 2, hours=1), tick=False):
        for _ in range(3):
            with app.app_context():
                jobs.send_reminders()
                db.session.commit()
    assert [who for who, _ in keys(app, "review-reminder")] == [order.client_id]
    assert [who for who, _ in keys(app, "review-reminder-writer")] == [order.writer_id]


def test_a_new_deadline_must_be_later_than_now_and_reaches_the_writer(app, factory):
    order = factory.order(status=S.IN_PROGRESS)
    manager = factory.user(Role.MANAGER)
    with app.app_context():
        stored = db.session.get(Order, order.id)
        boss = db.session.get(User, manager.id)
        with time_machine.travel(order.deadline + timedelta(days=2), tick=False), \
                pytest.raises(Conflict):
            service.extend_deadline(stored, boss, order.deadline + timedelta(days=1))
        db.session.rollback()
        with pytest.raises(Conflict):
            service.extend_deadline(stored, boss, utcnow() + timedelta(days=400))
        db.session.rollback()
        service.extend_deadline(stored, boss, order.deadline + timedelta(days=3),
                                "Sources en retard")
        db.session.commit()
    assert [who for who, _ in keys(app, "deadline-extended")] == [order.writer_id]


@pytest.mark.parametrize("who, words", [("client", "The client approved"),
                                        ("manager", "The agency approved")])
def test_the_approval_email_says_who_approved(app, factory, who, words):
    tier = factory.tier()
    order = factory.order(status=S.DELIVERED, tier=tier,
                          writer=factory.writer(tiers=[tier], locale="en"))
    with app.app_context():
        stored = db.session.get(Order, order.id)
        actor = db.session.get(User, order.client_id) if who == "client" \
            else db.session.get(User, factory.user(Role.MANAGER).id)
        service.approve(stored, actor, 5, "")
        db.session.commit()
    [(recipient, body)] = keys(app, "approved")
    assert recipient == order.writer_id and words in body
