"""Scheduled work on orders, run by the mail worker every minute and by `flask orders …`."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from portal.extensions import db, utcnow
from portal.orders import emails, service
from portal.orders.models import LATE_STATUSES, WRITING_STATUSES, Order, OrderStatus

BATCH = 500
# Overdue reminders look this far back, so a worker stopped for a few days still sends them;
# the idempotency key makes each go once.
OVERDUE_LOOKBACK_DAYS = 14


def _orders(*conditions) -> list[Order]:
    return list(db.session.scalars(
        sa.select(Order).options(joinedload(Order.client), joinedload(Order.writer))
        .where(*conditions).order_by(Order.id).limit(BATCH)
    ))


def send_reminders() -> int:
    """Queue the deadline, overdue and review reminders that are due. Each email has a key made
    of the order and the moment it refers to, so a reminder goes out once however often this
    runs. Returns how many orders were looked at."""
    now = utcnow()
    window = timedelta(days=current_app.config["AUTO_APPROVE_DAYS"])
    soon = _orders(Order.status.in_(WRITING_STATUSES), Order.deadline > now,
                   Order.deadline <= now + timedelta(hours=24))
    for order in soon:
        emails.notify_deadline_soon(order)
    # Only recently passed deadlines: older ones were reminded when they passed.
    late = _orders(Order.status.in_(LATE_STATUSES),
                   Order.deadline <= now,
                   Order.deadline > now - timedelta(days=OVERDUE_LOOKBACK_DAYS))
    for order in late:
        emails.notify_overdue(order)
    review = _orders(Order.status == OrderStatus.DELIVERED,
                     Order.delivered_at <= now - window / 2, Order.delivered_at > now - window)
    for order in review:
        days_left = max(1, (order.delivered_at + window - now).days)
        emails.notify_review_reminder(order, days_left)
    db.session.flush()
    return len(soon) + len(late) + len(review)


def run_order_jobs() -> None:
    """One pass of every order job, committed as one step each."""
    service.auto_approve_due()
    db.session.commit()
    send_reminders()
    db.session.commit()
