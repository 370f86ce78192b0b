"""What the money does when an order moves (the receiver of `order_moved`).

- into "open" (submitted, or its payment received): the frozen price is held on the company's
  balance; when the balance is short, NotEnoughFunds refuses the move, so no order is ever open
  without its hold (the submission then makes the order wait for payment instead);
- into "approved" (by the client, a manager or the auto-approval): the hold is captured, the
  writer's frozen pay is earned, and a prepaid company gets its invoice (a postpaid one, its
  month's invoice later);
- into "cancelled": the hold is released, less the part a manager charged for work already
  done (captured and invoiced); the money freed may then pay orders waiting for payment.
"""

from __future__ import annotations

from typing import Any

from portal.accounts.models import User
from portal.billing import earnings, invoices, ledger
from portal.billing.models import BillingMode, Company
from portal.extensions import db
from portal.orders.models import Order, OrderStatus


def on_order_moved(order: Order, *, source: OrderStatus, target: OrderStatus,
                   actor: User | None, context: dict[str, Any], **_: Any) -> None:
    if target is source:
        return
    if target is OrderStatus.OPEN and source in (OrderStatus.DRAFT,
                                                 OrderStatus.AWAITING_PAYMENT):
        ledger.hold(order, actor)
    elif target is OrderStatus.APPROVED:
        entry = ledger.capture(order, actor)
        earnings.earn(order)
        if entry is not None and _company(order).billing_mode is BillingMode.PREPAID:
            invoices.issue_for_captures(_company(order), [entry], actor=actor)
    elif target is OrderStatus.CANCELLED:
        charge = int(context.get("charge") or 0)
        entry = ledger.capture(order, actor, amount=charge, note=context.get("reason", "")) \
            if charge else None
        ledger.release(order, actor)
        if entry is not None and _company(order).billing_mode is BillingMode.PREPAID:
            invoices.issue_for_captures(_company(order), [entry], actor=actor)
        if source is not OrderStatus.AWAITING_PAYMENT:
            ledger.fund_waiting_orders(order.company_id)


def _company(order: Order) -> Company:
    return db.session.get(Company, order.company_id)
