"""Writers' earnings and the payouts that pay them.

At approval the writer's pay frozen on the order becomes an earning (one per order: order_id is
unique). A manager pays writers in batches: each payout is the sum of the writer's unpaid
earnings, and marks exactly those earnings paid with a conditional UPDATE (`payout_id IS NULL`),
so two managers paying the same writer at once cannot pay an earning twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from portal.accounts.models import Role, User
from portal.billing import emails, figures
from portal.billing.models import (
    DECLARED_METHODS,
    PaymentMethod,
    Payout,
    PayoutBatch,
    WriterEarning,
)
from portal.billing.months import month_of
from portal.errors import Conflict
from portal.extensions import db, utcnow
from portal.orders.models import Order, OrderStatus
from portal.orders.service import require_manager


def earn(order: Order) -> WriterEarning | None:
    """The writer's frozen pay for the approved order, earned now (once)."""
    if order.writer_id is None or not order.writer_pay_total:
        return None
    exists = db.session.scalar(sa.select(WriterEarning.id)
                               .where(WriterEarning.order_id == order.id))
    if exists is not None:
        return None
    earning = WriterEarning(writer_id=order.writer_id, order_id=order.id,
                            amount=order.writer_pay_total, currency=order.currency,
                            earned_at=utcnow())
    db.session.add(earning)
    figures.record(earning.earned_at, order.tier_id, sales=order.price_total or 0,
                   writer_pay=earning.amount)
    db.session.flush()
    return earning


@dataclass(frozen=True)
class Payable:
    writer_id: int
    display_name: str
    email: str
    owed: int
    earnings: int


def payable_writers(threshold: int) -> list[Payable]:
    """Writers whose unpaid earnings reach `threshold`, most owed first (one statement)."""
    owed = sa.func.sum(WriterEarning.amount)
    rows = db.session.execute(
        sa.select(User.id, User.display_name, User.email, owed, sa.func.count(WriterEarning.id))
        .join(WriterEarning, WriterEarning.writer_id == User.id)
        .where(WriterEarning.payout_id.is_(None))
        .group_by(User.id, User.display_name, User.email)
        .having(owed >= threshold)
        .order_by(owed.desc(), User.display_name)
    ).all()
    return [Payable(row[0], row[1], row[2], int(row[3]), int(row[4])) for row in rows]


@dataclass(frozen=True)
class PayoutLine:
    writer_id: int
    method: PaymentMethod
    reference: str


def pay_out(manager: User, lines: list[PayoutLine], note: str = "") -> PayoutBatch:
    """Pay each writer of `lines` all their unpaid earnings, by the method and with the
    reference the manager recorded, as one batch; each writer is emailed.

    Raises NotAllowed for anyone but a manager; Conflict (nothing changed) when no writer is
    chosen, a writer is below PAYOUT_THRESHOLD, a method is not one of the list, a reference is
    missing (except for cash), or someone paid these earnings meanwhile."""
    require_manager(manager)
    if not lines:
        raise Conflict(_("Choose at least one writer to pay."))
    if len({line.writer_id for line in lines}) != len(lines):
        raise Conflict(_("Each writer is paid once in a batch."))
    threshold = current_app.config["PAYOUT_THRESHOLD"]
    batch = PayoutBatch(created_by_id=manager.id, note=note.strip(), total=0,
                        currency=current_app.config["AGENCY_CURRENCY"], created_at=utcnow())
    db.session.add(batch)
    db.session.flush()
    for line in lines:
        writer = db.session.get(User, line.writer_id)
        name = writer.display_name if writer else "?"
        if writer is None or writer.role is not Role.WRITER:
            raise Conflict(_("Choose writers from the list."))
        if line.method not in DECLARED_METHODS:
            raise Conflict(_("Choose how %(name)s was paid.", name=name))
        if line.method is not PaymentMethod.CASH and not line.reference.strip():
            raise Conflict(_("Enter the reference of the payment to %(name)s.", name=name))
        unpaid = db.session.execute(
            sa.select(WriterEarning.id, WriterEarning.amount)
            .where(WriterEarning.writer_id == writer.id, WriterEarning.payout_id.is_(None))
        ).all()
        amount = sum(row.amount for row in unpaid)
        if not unpaid or amount < threshold:
            raise Conflict(_("%(name)s has less than the payout threshold to be paid.",
                             name=name))
        payout = Payout(batch_id=batch.id, writer_id=writer.id, amount=amount,
                        currency=batch.currency, method=line.method,
                        reference=line.reference.strip()[:100], created_at=batch.created_at)
        db.session.add(payout)
        db.session.flush()
        ids = [row.id for row in unpaid]
        marked = db.session.execute(
            sa.update(WriterEarning)
            .where(WriterEarning.id.in_(ids), WriterEarning.payout_id.is_(None))
            .values(payout_id=payout.id).execution_options(synchronize_session=False)
        ).rowcount
        if marked != len(ids):
            raise Conflict(_("Someone paid %(name)s a moment ago. Reload the page.", name=name))
        batch.total += amount
        emails.payout_sent(payout, writer)
    db.session.flush()
    return batch


@dataclass(frozen=True)
class WriterSummary:
    earned_unpaid: int  # approved, not paid yet
    paid: int
    pending: int  # frozen pay of orders being written or reviewed: earned at approval


def summary(writer: User) -> WriterSummary:
    """The writer's three figures in one statement."""
    unpaid = sa.select(sa.func.coalesce(sa.func.sum(WriterEarning.amount), 0)).where(
        WriterEarning.writer_id == writer.id, WriterEarning.payout_id.is_(None)
    ).scalar_subquery()
    paid = sa.select(sa.func.coalesce(sa.func.sum(Payout.amount), 0)).where(
        Payout.writer_id == writer.id).scalar_subquery()
    pending = sa.select(sa.func.coalesce(sa.func.sum(Order.writer_pay_total), 0)).where(
        Order.writer_id == writer.id,
        Order.status.in_((OrderStatus.IN_PROGRESS, OrderStatus.IN_REVIEW,
                          OrderStatus.DELIVERED, OrderStatus.REVISION_REQUESTED))
    ).scalar_subquery()
    row = db.session.execute(sa.select(unpaid, paid, pending)).one()
    return WriterSummary(int(row[0]), int(row[1]), int(row[2]))


def by_month(writer: User, zone: str, limit: int = 24) -> list[tuple[str, int, int, int]]:
    """(month, orders, earned, still unpaid) per month, newest first, in one statement."""
    month = month_of(WriterEarning.earned_at, zone).label("month")
    unpaid = sa.func.sum(sa.case((WriterEarning.payout_id.is_(None), WriterEarning.amount),
                                 else_=0))
    rows = db.session.execute(
        sa.select(month, sa.func.count(WriterEarning.id), sa.func.sum(WriterEarning.amount),
                  unpaid)
        .where(WriterEarning.writer_id == writer.id)
        .group_by(month).order_by(month.desc()).limit(limit)
    ).all()
    return [(row[0], int(row[1]), int(row[2]), int(row[3])) for row in rows
            if row[0] is not None]  # no month: a timestamp written by hand (local_month)


def earnings_page(writer: User, page: int, per_page: int):
    """The writer's earnings, newest first, with their order and payout, one page (two
    statements: the page and its count)."""
    return db.paginate(
        sa.select(WriterEarning)
        .options(joinedload(WriterEarning.order), joinedload(WriterEarning.payout))
        .where(WriterEarning.writer_id == writer.id)
        .order_by(WriterEarning.earned_at.desc(), WriterEarning.id.desc()),
        page=page, per_page=per_page, error_out=False)


def statement_rows(writer: User, start: datetime, end: datetime):
    """Earnings and payouts of the writer between `start` and `end`, for the statement."""
    earned = db.session.execute(
        sa.select(WriterEarning.earned_at, Order.id, Order.title, WriterEarning.amount,
                  WriterEarning.payout_id)
        .join(Order, Order.id == WriterEarning.order_id)
        .where(WriterEarning.writer_id == writer.id, WriterEarning.earned_at >= start,
               WriterEarning.earned_at < end)
        .order_by(WriterEarning.earned_at, WriterEarning.id)
    ).all()
    paid = db.session.execute(
        sa.select(Payout.created_at, Payout.amount, Payout.method, Payout.reference)
        .where(Payout.writer_id == writer.id, Payout.created_at >= start,
               Payout.created_at < end)
        .order_by(Payout.created_at, Payout.id)
    ).all()
    return earned, paid
