"""The agency's figures for managers, and the CSV exports for the accountant.

The page reads a fixed number of statements whatever the size of the data: one for the figures
of today (what is held, owed, waiting: sums over the companies, one per client, and over what
is open or unpaid, each read through an index), one for the stored months, and four grouped
statements for the current month.

Stored months. The monthly tables cover MONTHS months, this one included. A month that has
ended does not change in normal operation: every invoice, credit note, payment decision and
earning is dated when it happens, in the current month. So each ended month's figures are
stored once in `finance_months`, per agency time zone (the zone draws the months' boundaries)
and month, with its sales and writer pay per tier: the first view after a month ends computes
the ended months missing from the table with the same grouped statements over just those
months and stores them (an insert that meets a month another request stored meanwhile does
nothing), and the caller commits. Only the current month is computed at every view, so the
page costs the month's volume instead of the year's.

What writes into an ended month by another way (a restore, an import by hand) is not seen
until the repair: `refigure` computes the window's ended months again, logs each month whose
stored figures differ and stores the right ones; the mail worker runs it every night
(portal.ops.recount) and `flask billing refigure` by hand. A tier renamed keeps its old name
in the months stored before (the repair then logs them and stores the new name).
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from portal.billing.earnings import month_of
from portal.billing.invoices import month_start
from portal.billing.models import (
    Company,
    CreditNote,
    FinanceMonth,
    Invoice,
    InvoiceKind,
    LedgerEntry,
    Payment,
    PaymentStatus,
    Proforma,
    ProformaStatus,
    WriterEarning,
)
from portal.extensions import db, upsert_insert, utcnow
from portal.orders.models import Order, Tier

MONTHS = 12
# A month is stored only this long after it ended: a transaction begun before midnight (the
# worker's auto-approvals, a confirmation) may still commit rows dated in it. Until then it is
# computed with the current month, in the same statements.
STORE_AFTER = timedelta(hours=1)
CHUNK = 5_000
FIGURES = ("invoiced", "deposits", "credited", "paid", "sales", "writer_pay")

log = logging.getLogger(__name__)


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
    """The figures of the moment, in one statement (the companies read once for three sums)."""
    def total(column, *where):
        return sa.select(sa.func.coalesce(sa.func.sum(column), 0)).where(*where) \
            .scalar_subquery()

    def count(model, *where):
        return sa.select(sa.func.count()).select_from(model).where(*where).scalar_subquery()

    companies = sa.select(*(sa.func.coalesce(sum_, 0) for sum_ in (
        sa.func.sum(Company.held), sa.func.sum(Company.balance).filter(Company.balance > 0),
        sa.func.sum(-Company.balance).filter(Company.balance < 0)))).subquery("companies")
    row = db.session.execute(sa.select(
        *companies.c,
        count(Proforma, Proforma.status == ProformaStatus.OPEN),
        total(Proforma.amount, Proforma.status == ProformaStatus.OPEN),
        count(Payment, Payment.status == PaymentStatus.DECLARED),
        total(Payment.amount, Payment.status == PaymentStatus.DECLARED),
        total(WriterEarning.amount, WriterEarning.payout_id.is_(None)),
        total(Invoice.total - Invoice.paid - Invoice.credited, Invoice.settled_at.is_(None)),
    )).one()
    return Today(*(int(value) for value in row))


def _ended() -> list[tuple[str, datetime, datetime]]:
    """(month, start, end) of the window's MONTHS - 1 ended months, oldest first."""
    zone = ZoneInfo(current_app.config["AGENCY_TIMEZONE"])
    starts = [month_start(utcnow())]
    for _n in range(MONTHS - 1):
        starts.insert(0, month_start(starts[0] - timedelta(days=1)))
    return [(start.astimezone(zone).strftime("%Y-%m"), start, end)
            for start, end in pairwise(starts)]


def _settled(ended: list[tuple[str, datetime, datetime]]) -> list[tuple[str, datetime, datetime]]:
    """The ended months that may be stored: over for STORE_AFTER at least."""
    now = utcnow()
    return [month for month in ended if now - month[2] >= STORE_AFTER]


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


def _grouped(start: datetime, end: datetime | None = None):
    """The figures of [start, end) per month: {month: Month} and the (month, tier, sales,
    writer pay, margin) rows, newest first. Four grouped statements."""
    zone = current_app.config["AGENCY_TIMEZONE"]
    table: dict[str, Month] = {}

    def month(key: str) -> Month:
        return table.setdefault(key, Month(key))

    issued = month_of(Invoice.issued_at, zone).label("m")
    for key, kind, amount in db.session.execute(_between(
            sa.select(issued, Invoice.kind, sa.func.sum(Invoice.total)),
            Invoice.issued_at, start, end).group_by(issued, Invoice.kind)):
        if kind is InvoiceKind.DEPOSIT:
            month(key).deposits += int(amount)
        else:
            month(key).invoiced += int(amount)
    credited = month_of(CreditNote.issued_at, zone).label("m")
    for key, amount in db.session.execute(_between(
            sa.select(credited, sa.func.sum(CreditNote.total)),
            CreditNote.issued_at, start, end).group_by(credited)):
        month(key).credited += int(amount)
    decided = month_of(Payment.decided_at, zone).label("m")
    for key, amount in db.session.execute(_between(
            sa.select(decided, sa.func.sum(Payment.amount))
            .where(Payment.status == PaymentStatus.CONFIRMED),
            Payment.decided_at, start, end).group_by(decided)):
        month(key).paid += int(amount)
    earned = month_of(WriterEarning.earned_at, zone).label("m")
    per_tier = []
    for key, tier, sales, pay in db.session.execute(_between(
            sa.select(earned, Tier.name, sa.func.sum(Order.price_total),
                      sa.func.sum(WriterEarning.amount))
            .join(Order, Order.id == WriterEarning.order_id)
            .join(Tier, Tier.id == Order.tier_id),
            WriterEarning.earned_at, start, end)
            .group_by(earned, Tier.name).order_by(earned.desc(), Tier.name)):
        month(key).sales += int(sales or 0)
        month(key).writer_pay += int(pay or 0)
        per_tier.append((key, tier, int(sales or 0), int(pay or 0),
                         int(sales or 0) - int(pay or 0)))
    table.pop(None, None)  # rows of no month: a timestamp written by hand (local_month)
    return table, [row for row in per_tier if row[0] is not None]


def _rows(keys: list[str], table: dict[str, Month], per_tier: list) -> dict[str, dict]:
    """The finance_months rows of `keys` (a month without figures too: it is stored)."""
    zone = current_app.config["AGENCY_TIMEZONE"]
    return {key: {**asdict(table.get(key, Month(key))), "zone": zone,
                  "tiers": [[tier, sales, pay] for m, tier, sales, pay, _ in per_tier
                            if m == key]} for key in keys}


def _stored(keys: list[str]) -> dict[str, dict]:
    table = FinanceMonth.__table__
    return {row["month"]: dict(row) for row in db.session.execute(
        sa.select(table).where(table.c.zone == current_app.config["AGENCY_TIMEZONE"],
                               table.c.month.between(keys[0], keys[-1]))).mappings()}


def _store(rows: list[dict]) -> None:
    """Insert `rows`; a month another request stored meanwhile is left as it is."""
    db.session.execute(upsert_insert()(FinanceMonth.__table__).on_conflict_do_nothing(), rows)


def months() -> tuple[list[Month], list[tuple[str, str, int, int, int]]]:
    """Per month, newest first: invoiced, deposits, credit notes, paid, and the margin of the
    orders approved (price less the writer's pay); and the margin per month and tier. The ended
    months are read from finance_months, those not stored yet computed and stored (the caller
    commits); this month is computed, and the month before it during its first STORE_AFTER.
    Five statements (ten when a month is stored)."""
    ended = _ended()
    keys = [key for key, _start, _end in ended]
    rows = _stored(keys)
    settled = _settled(ended)
    missing = [month for month in settled if month[0] not in rows]
    if missing:
        computed = _rows([key for key, _start, _end in missing],
                         *_grouped(missing[0][1], missing[-1][2]))
        _store(list(computed.values()))
        rows.update(computed)
    unsettled = ended[len(settled):]
    table, per_tier = _grouped(unsettled[0][1] if unsettled else ended[-1][2])
    rows.update(_rows(list(table), table, per_tier))
    shown = [row for key, row in sorted(rows.items(), reverse=True)
             if row["tiers"] or any(row[name] for name in FIGURES)]
    return ([Month(**{name: row[name] for name in ("month", *FIGURES)}) for row in shown],
            [(row["month"], tier, sales, pay, sales - pay) for row in shown
             for tier, sales, pay in row["tiers"]])


def refigure() -> int:
    """Compute the window's ended months again and store those that differ from (or are
    missing in) finance_months, after a restore or an import that wrote into an ended month;
    each month that differed is logged as a warning. Returns how many differed. Run every night
    by the mail worker and by `flask billing refigure`."""
    ended = _settled(_ended())
    keys = [key for key, _start, _end in ended]
    fresh = _rows(keys, *_grouped(ended[0][1], ended[-1][2]))
    stored = _stored(keys)
    differed = [key for key in keys if key in stored and stored[key] != fresh[key]]
    for key in differed:
        log.warning("finance month drift: %s stored %s, actual %s", key, stored[key], fresh[key],
                    extra={"counter": "finance_months", "key": key, "stored": stored[key],
                           "actual": fresh[key]})
    if differed:
        db.session.execute(sa.delete(FinanceMonth).where(
            FinanceMonth.zone == current_app.config["AGENCY_TIMEZONE"],
            FinanceMonth.month.in_(differed)))
    if renewed := [fresh[key] for key in keys if key in differed or key not in stored]:
        _store(renewed)
    return len(differed)


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
