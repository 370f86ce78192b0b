"""The company's account: every entry goes through `post()`, the one place that writes to the
ledger (see the money model in portal/billing/models.py).

`post()` first moves the company's stored sums with one conditional UPDATE of its row:

    UPDATE companies SET balance = balance + :amount, held = held + :held
    WHERE id = :company AND held + :held >= 0
      [AND balance + :amount - (held + :held) >= -credit_limit]     -- when the entry spends

That statement is the company's lock. PostgreSQL locks the row and evaluates the condition
again on its newest version once a concurrent transaction has committed; SQLite takes its one
write lock at this statement, and every read of the transaction after it sees the latest data
(FOR UPDATE would be ignored there, which is why the guard is in the UPDATE itself). So two
orders submitted at once by one company cannot both spend the same money: the second one's
condition fails, it changes nothing, and the order waits for payment. Then the entry is
inserted, under its unique key, while the lock is held.

Services call these functions and never commit; the request commits once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import sqlalchemy as sa
from flask_babel import gettext as _

from portal.accounts.models import User
from portal.billing import figures
from portal.billing.models import Company, EntryKind, LedgerEntry
from portal.errors import Conflict, DomainError
from portal.extensions import db, utcnow
from portal.orders.models import Order, OrderStatus
from portal.orders.service import payment_received, require_manager

MAX_ADJUSTMENT = 100_000_000


class NotEnoughFunds(Conflict):
    """The change would take the company below its credit limit; nothing was changed."""


class AlreadyPosted(Conflict):
    """An entry with this key exists: the thing it records happened already."""


def post(company_id: int, kind: EntryKind, *, key: str, amount: int = 0, held: int = 0,
         spends: bool = False, order_id: int | None = None, payment_id: int | None = None,
         credit_note_id: int | None = None, actor: User | None = None,
         note: str = "") -> LedgerEntry:
    """Write one entry and move the company's balance and held sums with it.

    `spends`: the entry may not take the company below its credit limit (holds, refunds paid
    out, negative adjustments); NotEnoughFunds then, with nothing changed. AlreadyPosted when
    an entry with `key` exists (the caller's transaction must then be rolled back)."""
    for value in (amount, held):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError("amounts are integers of the currency's minor unit")
    condition = sa.and_(Company.id == company_id, Company.held + held >= 0)
    if spends:
        condition = sa.and_(condition, Company.balance + amount - (Company.held + held)
                            >= -Company.credit_limit)
    now = utcnow()
    after = db.session.scalar(
        sa.update(Company).where(condition)
        .values(balance=Company.balance + amount, held=Company.held + held, updated_at=now)
        .returning(Company.balance).execution_options(synchronize_session=False)
    )
    if after is None:
        raise NotEnoughFunds(_("The balance is not enough for this."))
    before = after - amount
    figures.record(now, held=held, advances=max(after, 0) - max(before, 0),
                   receivable=max(-after, 0) - max(-before, 0))
    if db.session.scalar(sa.select(LedgerEntry.id).where(LedgerEntry.key == key)) is not None:
        raise AlreadyPosted(_("This was already recorded."))
    currency = db.session.scalar(sa.select(Company.currency).where(Company.id == company_id))
    entry = LedgerEntry(company_id=company_id, kind=kind, amount=amount, held=held,
                        currency=currency, order_id=order_id, payment_id=payment_id,
                        credit_note_id=credit_note_id, actor_id=actor.id if actor else None,
                        note=note, key=key, created_at=now)
    db.session.add(entry)
    db.session.flush()
    _expire_company(company_id)
    return entry


def _expire_company(company_id: int) -> None:
    """The sums moved in the database: a Company already loaded reads them again."""
    company = db.session.identity_map.get(sa.inspect(Company).identity_key_from_primary_key(
        (company_id,)))
    if company is not None:
        db.session.expire(company, ["balance", "held", "updated_at"])


def lock_company(company_id: int) -> Company:
    """Lock the company's row for the rest of the transaction and return it as it is now.

    A write, not SELECT … FOR UPDATE: PostgreSQL locks the row either way, and SQLite (which
    ignores FOR UPDATE) takes its one write lock here, so what this transaction reads of the
    company afterwards cannot change under it. It also makes sure a transaction is open before
    any savepoint (pysqlite starts one only at the first write, and releasing a savepoint with
    no transaction around it would commit)."""
    db.session.execute(
        sa.update(Company).where(Company.id == company_id).values(updated_at=utcnow())
        .execution_options(synchronize_session=False))
    return db.session.scalars(sa.select(Company).where(Company.id == company_id)
                              .execution_options(populate_existing=True)).one()


# --- orders -----------------------------------------------------------------------------------


def open_hold(order_id: int) -> int:
    """What is still reserved for the order: its hold less its capture and release."""
    # int(): PostgreSQL adds BIGINTs up as NUMERIC (a Decimal here).
    return int(db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(LedgerEntry.held), 0))
        .where(LedgerEntry.order_id == order_id)
    ) or 0)


def hold(order: Order, actor: User | None = None) -> LedgerEntry:
    """Reserve the order's frozen price on its company's balance. NotEnoughFunds when the
    available balance (plus the credit limit) is short: nothing is changed."""
    if order.price_total is None or order.price_total <= 0:
        raise Conflict(_("This order has no price yet."))
    return post(order.company_id, EntryKind.HOLD, key=f"hold:order:{order.id}",
                held=order.price_total, spends=True, order_id=order.id, actor=actor)


def capture(order: Order, actor: User | None = None, amount: int | None = None,
            note: str = "") -> LedgerEntry | None:
    """The reserved price becomes the agency's: all of it (approval), or `amount` of it (a
    manager cancelling work in progress), the rest released. Returns the capture entry, None
    when nothing was reserved or nothing is charged."""
    reserved = open_hold(order.id)
    charged = reserved if amount is None else amount
    if not 0 <= charged <= reserved:
        raise Conflict(_("Charge between 0 and %(amount)d.", amount=reserved), field="charge")
    entry = None
    if charged:
        entry = post(order.company_id, EntryKind.CAPTURE, key=f"capture:order:{order.id}",
                     amount=-charged, held=-charged, order_id=order.id, actor=actor, note=note)
    if reserved - charged:
        post(order.company_id, EntryKind.RELEASE, key=f"release:order:{order.id}",
             held=-(reserved - charged), order_id=order.id, actor=actor)
    return entry


def release(order: Order, actor: User | None = None) -> int:
    """Give back what is reserved for the order (it was cancelled); returns how much."""
    reserved = open_hold(order.id)
    if reserved:
        post(order.company_id, EntryKind.RELEASE, key=f"release:order:{order.id}",
             held=-reserved, order_id=order.id, actor=actor)
    return reserved


def fund_waiting_orders(company_id: int) -> list[Order]:
    """Orders of the company waiting for payment, oldest first, each held and sent on to the
    writers when the available balance now covers it (one that does not fit is skipped, a
    smaller one after it may). Each in its own savepoint. Returns the orders sent on."""
    company = lock_company(company_id)
    waiting = list(db.session.scalars(
        sa.select(Order).where(Order.company_id == company_id,
                               Order.status == OrderStatus.AWAITING_PAYMENT)
        .order_by(Order.submitted_at, Order.id).limit(100)
    ))
    funded = []
    for order in waiting:
        if (order.price_total or 0) > company.spendable:
            continue
        try:
            with db.session.begin_nested():
                payment_received(order)
        except DomainError:  # still short (or the order moved meanwhile): it keeps waiting
            db.session.refresh(order)
            continue
        funded.append(order)
        db.session.refresh(company)
    return funded


# --- money in and out -------------------------------------------------------------------------


def adjust(company: Company, manager: User, amount: int, reason: str) -> LedgerEntry:
    """A manager corrects a company's balance by `amount` (positive or negative), saying why.
    Raises NotAllowed for anyone but a manager; Conflict for a zero or absurd amount, no
    reason, or a withdrawal the balance does not hold (nothing is changed)."""
    require_manager(manager)
    if not isinstance(amount, int) or amount == 0 or abs(amount) > MAX_ADJUSTMENT:
        raise Conflict(_("Enter an amount other than 0, of at most %(max)s.",
                         max=f"{MAX_ADJUSTMENT:,}".replace(",", " ")), field="amount")
    if not reason.strip():
        raise Conflict(_("Say why the balance changes."), field="reason")
    try:
        entry = post(company.id, EntryKind.ADJUSTMENT, key=f"adjustment:{uuid.uuid4().hex}",
                     amount=amount, spends=amount < 0, actor=manager, note=reason.strip())
    except NotEnoughFunds:
        raise NotEnoughFunds(_("The available balance does not hold this amount."),
                             field="amount") from None
    if amount > 0:
        fund_waiting_orders(company.id)
    return entry


def change_credit_limit(company: Company, credit_limit: int) -> None:
    """Set the credit limit, unless the company already uses more credit than that (Conflict,
    nothing changed). Conditional, like every change of the sums."""
    result = db.session.execute(
        sa.update(Company)
        .where(Company.id == company.id, Company.balance - Company.held >= -credit_limit)
        .values(credit_limit=credit_limit, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict(_("The company already uses more credit than this: its open orders "
                         "are held on it."), field="credit_limit")
    _expire_company(company.id)


# --- reading ----------------------------------------------------------------------------------


def disagreements(company_ids: Iterable[int] | None = None) -> dict[int, tuple]:
    """Companies whose stored balance or held differ from their entries' sums:
    {id: ((stored balance, stored held), (summed balance, summed held))}. Empty when all
    agree."""
    summed = (
        sa.select(LedgerEntry.company_id.label("company_id"),
                  sa.func.sum(LedgerEntry.amount).label("amount"),
                  sa.func.sum(LedgerEntry.held).label("held"))
        .group_by(LedgerEntry.company_id).subquery()
    )
    stmt = sa.select(Company.id, Company.balance, Company.held,
                     sa.func.coalesce(summed.c.amount, 0), sa.func.coalesce(summed.c.held, 0)) \
        .outerjoin(summed, summed.c.company_id == Company.id)
    if company_ids is not None:
        stmt = stmt.where(Company.id.in_(list(company_ids)))
    return {row[0]: ((row[1], row[2]), (int(row[3]), int(row[4])))
            for row in db.session.execute(stmt) if (row[1], row[2]) != (row[3], row[4])}
