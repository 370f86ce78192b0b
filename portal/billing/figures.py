"""The agency's figures for managers, and the CSV exports for the accountant.

The page reads a fixed number of statements whatever the size of the data: one for the figures
of today (what is held, owed, waiting), one per monthly table (invoiced, paid, margin), each
bounded to the last MONTHS months and grouped in the database.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from portal.billing.earnings import month_of
from portal.billing.invoices import month_start
from portal.billing.models import (
    Company,
    CreditNote,
    Invoice,
    InvoiceKind,
    LedgerEntry,
    Payment,
    PaymentStatus,
    Proforma,
    ProformaStatus,
    WriterEarning,
)
from portal.extensions import db, utcnow
from portal.orders.models import Order, Tier

MONTHS = 12
CHUNK = 5_000


@dataclass(frozen=True)
class Today:
    held: int  # reserved for open orders
    advances: int  # what companies hold in prepaid balances (positive balances)
    receivable: int  # what postpaid companies owe (negative balances)
    proformas_open: int
    proformas_open_amount: int
    payments_waiting: int
    payments_waiting_amount: int
    writer_payable: int  # earned by writers, not paid yet
    invoices_due: int  # invoices still owed


def today() -> Today:
    """The figures of the moment, in one statement of scalar subqueries."""
    def total(column, *where):
        return sa.select(sa.func.coalesce(sa.func.sum(column), 0)).where(*where) \
            .scalar_subquery()

    def count(model, *where):
        return sa.select(sa.func.count()).select_from(model).where(*where).scalar_subquery()

    row = db.session.execute(sa.select(
        total(Company.held),
        total(Company.balance, Company.balance > 0),
        total(-Company.balance, Company.balance < 0),
        count(Proforma, Proforma.status == ProformaStatus.OPEN),
        total(Proforma.amount, Proforma.status == ProformaStatus.OPEN),
        count(Payment, Payment.status == PaymentStatus.DECLARED),
        total(Payment.amount, Payment.status == PaymentStatus.DECLARED),
        total(WriterEarning.amount, WriterEarning.payout_id.is_(None)),
        total(Invoice.total - Invoice.paid - Invoice.credited, Invoice.settled_at.is_(None)),
    )).one()
    return Today(*(int(value) for value in row))


def _since() -> datetime:
    """The start of the first month of the tables (MONTHS months, this one included)."""
    start = month_start(utcnow())
    for _n in range(MONTHS - 1):
        start = month_start(start - timedelta(days=1))
    return start


@dataclass
class Month:
    month: str
    invoiced: int = 0  # orders invoices
    deposits: int = 0  # deposit invoices (advances received)
    credited: int = 0
    paid: int = 0  # payments confirmed
    sales: int = 0  # prices of orders approved
    writer_pay: int = 0

    @property
    def margin(self) -> int:
        return self.sales - self.writer_pay


def months() -> tuple[list[Month], list[tuple[str, str, int, int, int]]]:
    """Per month, newest first: invoiced, deposits, credit notes, paid, and the margin of the
    orders approved (price less the writer's pay); and the margin per month and tier. Four
    statements."""
    zone = current_app.config["AGENCY_TIMEZONE"]
    since = _since()
    table: dict[str, Month] = {}

    def month(key: str) -> Month:
        return table.setdefault(key, Month(key))

    issued = month_of(Invoice.issued_at, zone).label("m")
    for key, kind, amount in db.session.execute(
            sa.select(issued, Invoice.kind, sa.func.sum(Invoice.total))
            .where(Invoice.issued_at >= since).group_by(issued, Invoice.kind)):
        if kind is InvoiceKind.DEPOSIT:
            month(key).deposits += int(amount)
        else:
            month(key).invoiced += int(amount)
    credited = month_of(CreditNote.issued_at, zone).label("m")
    for key, amount in db.session.execute(
            sa.select(credited, sa.func.sum(CreditNote.total))
            .where(CreditNote.issued_at >= since).group_by(credited)):
        month(key).credited += int(amount)
    decided = month_of(Payment.decided_at, zone).label("m")
    for key, amount in db.session.execute(
            sa.select(decided, sa.func.sum(Payment.amount))
            .where(Payment.status == PaymentStatus.CONFIRMED, Payment.decided_at >= since)
            .group_by(decided)):
        month(key).paid += int(amount)
    earned = month_of(WriterEarning.earned_at, zone).label("m")
    per_tier = []
    for key, tier, sales, pay in db.session.execute(
            sa.select(earned, Tier.name, sa.func.sum(Order.price_total),
                      sa.func.sum(WriterEarning.amount))
            .join(Order, Order.id == WriterEarning.order_id)
            .join(Tier, Tier.id == Order.tier_id)
            .where(WriterEarning.earned_at >= since).group_by(earned, Tier.name)
            .order_by(earned.desc(), Tier.name)):
        month(key).sales += int(sales or 0)
        month(key).writer_pay += int(pay or 0)
        per_tier.append((key, tier, int(sales or 0), int(pay or 0),
                         int(sales or 0) - int(pay or 0)))
    return sorted(table.values(), key=lambda m: m.month, reverse=True), per_tier


# --- CSV for the accountant ---------------------------------------------------------------------


def _csv(header: list[str], rows) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    buffer.write("\ufeff")  # spreadsheets open UTF-8 with accents right
    writer.writerow(header)
    yield buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_cell(value) for value in row])
        yield buffer.getvalue()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    text = str(getattr(value, "value", value))
    # A cell starting with = + - @ would be a formula in a spreadsheet: make it text.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    return text.lstrip("-").isdigit()


def _between(stmt: sa.Select, column, start: datetime | None, end: datetime | None):
    if start is not None:
        stmt = stmt.where(column >= start)
    if end is not None:
        stmt = stmt.where(column < end)
    return stmt


def ledger_csv(start: datetime | None = None, end: datetime | None = None) -> Iterator[str]:
    """Every ledger entry (in the order written) with its company: date, company, NIF, kind,
    amount, reserved, currency, order, payment, credit note, note, key. Read 5,000 at a time
    by id, each a plain query (no cursor kept open across the response)."""
    def rows():
        last = 0
        while True:
            stmt = (sa.select(LedgerEntry.id, LedgerEntry.created_at, Company.name,
                              Company.tax_number, LedgerEntry.kind, LedgerEntry.amount,
                              LedgerEntry.held, LedgerEntry.currency, LedgerEntry.order_id,
                              LedgerEntry.payment_id, LedgerEntry.credit_note_id,
                              LedgerEntry.note, LedgerEntry.key)
                    .join(Company, Company.id == LedgerEntry.company_id)
                    .where(LedgerEntry.id > last).order_by(LedgerEntry.id).limit(CHUNK))
            chunk = db.session.execute(_between(stmt, LedgerEntry.created_at, start, end)).all()
            for row in chunk:
                yield row[1:]
            if len(chunk) < CHUNK:
                return
            last = chunk[-1][0]

    return _csv(["date", "company", "nif", "kind", "amount", "reserved", "currency", "order",
                 "payment", "credit_note", "note", "key"], rows())


def invoices_csv(start: datetime | None = None, end: datetime | None = None) -> Iterator[str]:
    """Every invoice and credit note (by number): number, date, kind, company, NIF, total
    without VAT, VAT, total, paid, credited, due, currency, the invoice a credit note cancels."""
    invoices_stmt = sa.select(
        Invoice.number, Invoice.issued_at, Invoice.kind, Company.name, Company.tax_number,
        Invoice.total_excl_vat, Invoice.total_vat, Invoice.total, Invoice.paid,
        Invoice.credited, Invoice.total - Invoice.paid - Invoice.credited, Invoice.currency,
        sa.literal(""),
    ).join(Company, Company.id == Invoice.company_id)
    notes_stmt = sa.select(
        CreditNote.number, CreditNote.issued_at, sa.literal("credit_note"), Company.name,
        Company.tax_number, -CreditNote.total_excl_vat, -CreditNote.total_vat,
        -CreditNote.total, sa.literal(0), sa.literal(0), sa.literal(0), CreditNote.currency,
        Invoice.number,
    ).join(Company, Company.id == CreditNote.company_id) \
        .join(Invoice, Invoice.id == CreditNote.invoice_id)
    invoices_stmt = _between(invoices_stmt, Invoice.issued_at, start, end)
    notes_stmt = _between(notes_stmt, CreditNote.issued_at, start, end)

    def rows():
        found = list(db.session.execute(invoices_stmt)) + list(db.session.execute(notes_stmt))
        yield from sorted(found, key=lambda row: (row[1], row[0]))

    return _csv(["number", "date", "kind", "company", "nif", "total_excl_vat", "vat", "total",
                 "paid", "credited", "due", "currency", "cancels_invoice"], rows())
