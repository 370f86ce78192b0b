"""The scheduled work on orders, with the clock moved by time_machine (nothing sleeps):
auto-approval after the review window, the review clock restarting at each delivery, and
reminders that go out once however often the jobs run. Run by the service, by
`flask orders …` and by the mail worker."""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from portal.accounts.models import Role, User
from portal.extensions import db
from portal.notifications.models import OutboxEmail
from portal.orders import jobs, service
from portal.orders.models import Order, OrderEvent, OrderStatus
from tests.factories import deliverable

S = OrderStatus
T0 = datetime(2026, 4, 6, 9, 0, tzinfo=UTC)


def at(moment: datetime):
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def days(app) -> int:
    return app.config["AUTO_APPROVE_DAYS"]


def emails(app, kind: str) -> list[OutboxEmail]:
    """The outbox rows of one kind of order email (the part of the key after the event)."""
    with app.app_context():
        rows = db.session.scalars(
            sa.select(OutboxEmail).where(OutboxEmail.idempotency_key.like(f"%:{kind}:%"))
            .order_by(OutboxEmail.id)
        ).all()
        db.session.expunge_all()
    return list(rows)


def status_of(app, order) -> OrderStatus:
    with app.app_context():
        return db.session.get(Order, order.id).status


def run(app, job) -> int:
    with app.app_context():
        result = job()
        db.session.commit()
    return result


def test_the_default_review_window_is_seven_days(app):
    assert app.config["AUTO_APPROVE_DAYS"] == 7


def test_a_delivery_left_unreviewed_is_approved_when_the_window_closes(app, factory, days):
    with at(T0):
        order = factory.order(status=S.DELIVERED)
    with at(T0 + timedelta(days=days) - timedelta(minutes=1)):
        assert run(app, service.auto_approve_due) == 0
    assert status_of(app, order) is S.DELIVERED
    with at(T0 + timedelta(days=days)):
        assert run(app, service.auto_approve_due) == 1
        assert run(app, service.auto_approve_due) == 0  # once
    with app.app_context():
        stored = db.session.get(Order, order.id)
        assert stored.status is S.APPROVED
        assert stored.closed_at == T0 + timedelta(days=days)
        assert stored.rating is None
        event = db.session.scalars(sa.select(OrderEvent).where(
            OrderEvent.order_id == order.id).order_by(OrderEvent.id.desc())).first()
        assert (event.action, event.actor_id, event.from_status, event.to_status) == \
            ("auto_approve", None, S.DELIVERED, S.APPROVED)
    # Client and writer are both told.
    assert sorted(r.recipient_user_id for r in emails(app, "auto-approved")) == \
        sorted([order.client_id, order.writer_id])


def test_flask_orders_auto_approve_approves_and_commits(app, factory, days):
    with at(T0):
        due = factory.order(status=S.DELIVERED)
    with at(T0 + timedelta(days=days - 2)):
        recent = factory.order(status=S.DELIVERED)
    with at(T0 + timedelta(days=days, hours=1)):
        result = app.test_cli_runner().invoke(args=["orders", "auto-approve"])
    assert result.exit_code == 0, result.output
    assert "auto-approved 1 order(s)" in result.output
    assert status_of(app, due) is S.APPROVED
    assert status_of(app, recent) is S.DELIVERED


def test_the_review_clock_restarts_at_each_delivery(app, ctx, factory, days):
    with at(T0):
        order = factory.order(status=S.DELIVERED)
    with at(T0 + timedelta(days=1)), ctx() as session:
        service.request_revision(session.get(Order, order.id),
                                 session.get(User, order.client_id), "Plus court, s'il vous plaît")
        session.commit()
    # The writer takes ten days to revise: that time is not review time.
    with at(T0 + timedelta(days=days + 3)):
        assert run(app, service.auto_approve_due) == 0
        assert status_of(app, order) is S.REVISION_REQUESTED
    redelivered = T0 + timedelta(days=11)
    with at(redelivered), ctx() as session:
        stored = session.get(Order, order.id)
        writer = session.get(User, order.writer_id)
        draft = service.draft_for(stored)
        service.save_draft(stored, writer, deliverable(stored, "Un texte plus court."),
                           base_version=draft.version)
        service.deliver(stored, writer, "Raccourci")
        session.commit()
    with at(redelivered + timedelta(days=days) - timedelta(seconds=1)):
        assert run(app, service.auto_approve_due) == 0
    assert status_of(app, order) is S.DELIVERED
    with at(redelivered + timedelta(days=days)):
        assert run(app, service.auto_approve_due) == 1
    assert status_of(app, order) is S.APPROVED


def test_the_review_reminder_goes_once_at_half_the_window(app, ctx, factory, days):
    with at(T0):
        order = factory.order(client=factory.user(locale="en"), status=S.DELIVERED)
    half = T0 + timedelta(days=days / 2)
    with at(half - timedelta(minutes=1)):
        run(app, jobs.send_reminders)
    assert emails(app, "review-reminder") == []
    for moment in (half, half + timedelta(hours=1), half + timedelta(days=1),
                   T0 + timedelta(days=days) - timedelta(minutes=1)):
        with at(moment):
            run(app, jobs.send_reminders)
    reminders = emails(app, "review-reminder")
    assert [r.recipient_user_id for r in reminders] == [order.client_id]
    assert "approved automatically in 3 days" in reminders[0].text_body

    # A new delivery opens a new review period: one new reminder at its half.
    with at(T0 + timedelta(days=days) - timedelta(minutes=1)), ctx() as session:
        stored = session.get(Order, order.id)
        service.request_revision(stored, session.get(User, order.client_id), "Un détail")
        writer = session.get(User, order.writer_id)
        service.save_draft(stored, writer, deliverable(stored, "Nouveau texte"),
                           base_version=service.draft_for(
            stored).version)
        service.deliver(stored, writer)
        session.commit()
        second = stored.delivered_at
    with at(second + timedelta(days=days / 2, hours=1)):
        run(app, jobs.send_reminders)
        run(app, jobs.send_reminders)
    assert len(emails(app, "review-reminder")) == 2


def test_flask_orders_reminders_queues_and_commits(app, factory, days):
    with at(T0):
        factory.order(status=S.DELIVERED)
    with at(T0 + timedelta(days=days / 2)):
        result = app.test_cli_runner().invoke(args=["orders", "reminders"])
        again = app.test_cli_runner().invoke(args=["orders", "reminders"])
    assert result.exit_code == 0 and again.exit_code == 0, result.output + again.output
    assert "reminders:" in result.output
    assert len(emails(app, "review-reminder")) == 1


@pytest.mark.parametrize("status", [S.IN_PROGRESS, S.REVISION_REQUESTED], ids=str)
def test_the_deadline_reminder_goes_to_the_writer_once(app, factory, status):
    deadline = T0 + timedelta(days=10)
    with at(T0):
        order = factory.order(status=status, deadline=deadline)
    with at(deadline - timedelta(hours=24, minutes=1)):
        run(app, jobs.send_reminders)
    assert emails(app, "deadline-soon") == []
    for moment in (deadline - timedelta(hours=23), deadline - timedelta(hours=22),
                   deadline - timedelta(hours=1), deadline - timedelta(minutes=1)):
        with at(moment):
            run(app, jobs.send_reminders)
    assert [r.recipient_user_id for r in emails(app, "deadline-soon")] == [order.writer_id]


def test_no_deadline_reminder_for_an_order_already_delivered(app, factory):
    deadline = T0 + timedelta(days=10)
    with at(T0):
        factory.order(status=S.DELIVERED, deadline=deadline)
    with at(deadline - timedelta(hours=2)):
        run(app, jobs.send_reminders)
    assert emails(app, "deadline-soon") == []


def test_the_overdue_email_goes_once_to_the_writer_and_the_managers(app, factory):
    deadline = T0 + timedelta(days=10)
    managers = [factory.user(Role.MANAGER), factory.user(Role.MANAGER)]
    factory.user(Role.MANAGER, active=False)  # gone: not told
    with at(T0):
        order = factory.order(status=S.IN_PROGRESS, deadline=deadline)
    with at(deadline - timedelta(seconds=1)):
        run(app, jobs.send_reminders)
    assert emails(app, "overdue") == []
    for moment in (deadline + timedelta(minutes=1), deadline + timedelta(hours=2),
                   deadline + timedelta(days=1), deadline + timedelta(days=5)):
        with at(moment):
            run(app, jobs.send_reminders)
    assert sorted(r.recipient_user_id for r in emails(app, "overdue")) == \
        sorted([order.writer_id, *(m.id for m in managers)])


def test_a_new_deadline_gets_its_own_reminders(app, ctx, factory):
    deadline = T0 + timedelta(days=10)
    manager = factory.user(Role.MANAGER)
    with at(T0):
        order = factory.order(status=S.IN_PROGRESS, deadline=deadline)
    with at(deadline - timedelta(hours=2)):
        run(app, jobs.send_reminders)
    later = deadline + timedelta(days=2)
    with at(deadline - timedelta(hours=1)), ctx() as session:
        service.extend_deadline(session.get(Order, order.id), session.get(User, manager.id),
                                later)
        session.commit()
    with at(later - timedelta(hours=3)):
        run(app, jobs.send_reminders)
        run(app, jobs.send_reminders)
    assert len(emails(app, "deadline-soon")) == 2


def test_the_mail_worker_runs_the_order_jobs(app, factory, days):
    from portal.notifications.worker import PERIODIC_JOBS, run_worker

    assert ("orders", 60.0, jobs.run_order_jobs) in PERIODIC_JOBS
    assert [name for name, *_ in PERIODIC_JOBS].count("orders") == 1
    with at(T0):
        order = factory.order(status=S.DELIVERED)
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    try:
        with at(T0 + timedelta(days=days, minutes=1)):
            run_worker(app, interval=0, once=True, echo=lambda *_args: None)
    finally:
        signal.signal(signal.SIGINT, handlers[0])
        signal.signal(signal.SIGTERM, handlers[1])
    assert status_of(app, order) is S.APPROVED
    assert len(emails(app, "auto-approved")) == 2


def test_creating_another_app_does_not_schedule_the_jobs_twice(app):
    from config import TestingConfig
    from portal import create_app
    from portal.notifications.worker import PERIODIC_JOBS

    create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"])
    assert [name for name, *_ in PERIODIC_JOBS].count("orders") == 1
