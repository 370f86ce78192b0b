"""The agency's figures for managers, and the CSV exports for the accountant.

Kept on write, repaired at night. The finance page shows, for the last MONTHS months (this
one included), what was invoiced, taken as deposits, credited and paid, and the sales and
writer pay per tier; and the running totals of what is held for open orders, what companies
hold in advances and what postpaid companies owe. Summing the invoices, payments, earnings
and companies at every view would cost the volume of a month (and of every company): the page
grew with the data. Instead every change that moves a figure writes what it adds, in its own
transaction, as rows of `finance_deltas` (`record`: a rollback, a savepoint's too, takes them
back, and no row is shared between writers, so money changes never wait for each other here).
The mail worker folds them every minute (`fold`) into `finance_figures`, one row per month,
tier and figure, by an atomic add; the page reads both tables in one statement (the figures,
plus the few deltas not folded yet), so it costs the same at any size.

The figures start from a baseline: the first view (or a new AGENCY_TIMEZONE, which draws the
months' boundaries) computes them from the invoices, payments, earnings and companies
(`refigure`), with the deltas table locked so that no change is counted twice or missed.
`refigure` also runs every night from the mail worker (portal.ops.recount) and by
`flask billing refigure`: it compares, logs each figure that drifted (a restore, a row written
by hand) and stores the right ones.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from portal.billing.models import (
    Company,
    CreditNote,
    FinanceDelta,
    FinanceFigure,
    Invoice,
    InvoiceKind,
    LedgerEntry,
    Payment,
    PaymentStatus,
    Proforma,
    ProformaStatus,
    WriterEarning,
)
from portal.billing.months import month_of, month_start
from portal.extensions import db, upsert_insert, utcnow
from portal.orders.models import Order, Tier

MONTHS = 12
CHUNK = 5_000
FOLD = 5_000  # deltas folded per transaction
TOTALS = ("held", "advances", "receivable")  # running totals: month ""
BASELINE = "baseline"  # the figure whose row says the zone's figures were computed
QUIET_TRIES, QUIET_PAUSE = 30, 2  # the night's repair: a minute (seconds) to find the deltas free

log = logging.getLogger(__name__)


def record(at: datetime, tier_id: int = 0, **amounts: int) -> None:
    """Note what a change adds to the figures (figure=amount), dated `at`, in the caller's
    transaction. Sales and writer pay name the order's tier."""
    db.session.add_all(FinanceDelta(at=at, tier_id=tier_id, figure=figure, amount=amount)
                       for figure, amount in amounts.items() if amount)


def _zone() -> str:
    return current_app.config["AGENCY_TIMEZONE"]


def _window_start() -> datetime:
    """When the window's oldest month began."""
    start = month_start(utcnow())
    for _n in range(MONTHS - 1):
        start = month_start(start - timedelta(days=1))
    return start


def _first_month(zone: str) -> str:
    """The window's oldest month ("2026-01")."""
    return _window_start().astimezone(ZoneInfo(zone)).strftime("%Y-%m")


def _month(zone: str):
    """A delta's month ("" for a running total), drawn by the database as every other month."""
    return sa.case((FinanceDelta.figure.in_(TOTALS), ""),
                   else_=month_of(FinanceDelta.at, zone))


def _read(zone: str) -> dict[tuple[str, str, str], int]:
    """{(month, tier's name, figure): amount}: the stored figures plus the deltas not folded
    yet, in one statement; computed first (refigure) when the zone has no baseline."""
    stored, pending, month = FinanceFigure, FinanceDelta, _month(zone)
    name = sa.func.coalesce(Tier.name, "")
    rows = db.session.execute(sa.union_all(
        sa.select(stored.month, name, stored.figure, stored.amount).select_from(stored)
        .outerjoin(Tier, Tier.id == stored.tier_id).where(stored.zone == zone),
        sa.select(month, name, pending.figure, sa.func.sum(pending.amount))
        .select_from(pending).outerjoin(Tier, Tier.id == pending.tier_id)
        .group_by(month, name, pending.figure))).all()
    figures: Counter = Counter()
    for key_month, tier, figure, amount in rows:
        if key_month is not None:  # None: a timestamp written by hand (months.local_month)
            figures[(key_month, tier, figure)] += int(amount)
    if ("", "", BASELINE) in figures:
        return figures
    try:
        refigure()
    except Busy:  # shown, not kept: a later view keeps them
        names = dict(db.session.execute(sa.select(Tier.id, Tier.name)).all())
        return Counter({(month, names.get(tier_id, ""), figure): amount
                        for (month, tier_id, figure), amount in _computed(zone).items()})
    return _read(zone)


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


@dataclass(frozen=True)
class Figures:
    today: Today
    months: list[Month]  # newest first, those with figures
    per_tier: list[tuple[str, str, int, int, int]]  # (month, tier, sales, pay, margin)


def read() -> Figures:
    """The finance page's figures, in two statements (one more to compute the baseline)."""
    zone = _zone()
    figures = _read(zone)
    first = _first_month(zone)
    table: dict[str, Month] = {}
    tiers: dict[tuple[str, str], list[int]] = {}
    for (month, tier, figure), amount in figures.items():
        if month < first or figure == BASELINE or not amount:
            continue  # older than the window, or a running total (month "")
        row = table.setdefault(month, Month(month))
        setattr(row, figure, getattr(row, figure) + amount)
        if figure in ("sales", "writer_pay"):
            tiers.setdefault((month, tier), [0, 0])[figure == "writer_pay"] += amount
    # Newest month first, its tiers by name: sorted by both, then by month alone (stable).
    ordered = sorted(tiers.items())
    ordered.sort(key=lambda item: item[0][0], reverse=True)
    per_tier = [(month, tier, sales, pay, sales - pay)
                for (month, tier), (sales, pay) in ordered]
    return Figures(_today(*(figures[("", "", name)] for name in TOTALS)),
                   sorted(table.values(), key=lambda row: row.month, reverse=True), per_tier)


def _today(held: int, advances: int, receivable: int) -> Today:
    """The running totals with what is open or unpaid now, in one statement (each sum read
    through an index on what is open)."""
    def total(column, *where):
        return sa.select(sa.func.coalesce(sa.func.sum(column), 0)).where(*where) \
            .scalar_subquery()

    def count(model, *where):
        return sa.select(sa.func.count()).select_from(model).where(*where).scalar_subquery()

    row = db.session.execute(sa.select(
        count(Proforma, Proforma.status == ProformaStatus.OPEN),
        total(Proforma.amount, Proforma.status == ProformaStatus.OPEN),
        count(Payment, Payment.status == PaymentStatus.DECLARED),
        total(Payment.amount, Payment.status == PaymentStatus.DECLARED),
        total(WriterEarning.amount, WriterEarning.payout_id.is_(None)),
        total(Invoice.total - Invoice.paid - Invoice.credited, Invoice.settled_at.is_(None)),
    )).one()
    return Today(held, advances, receivable, *(int(value) for value in row))


def _take(zone: str, delete: sa.Delete) -> Counter:
    """Delete the deltas `delete` selects: what they add up to, by (month, tier, figure)."""
    taken: Counter = Counter()
    for month, tier_id, figure, amount in db.session.execute(delete.returning(
            _month(zone), FinanceDelta.tier_id, FinanceDelta.figure, FinanceDelta.amount)):
        if month is not None:  # None: a timestamp written by hand (months.local_month)
            taken[(month, tier_id, figure)] += amount
    return taken


def fold() -> None:
    """Add the deltas into finance_figures, FOLD at a time, each batch deleted as it is added
    and committed (a delete that another worker's fold took first deletes, and adds, nothing).
    The mail worker runs it every minute."""
    zone, table = _zone(), FinanceFigure.__table__
    while taken := _take(zone, sa.delete(FinanceDelta).where(FinanceDelta.id.in_(
            sa.select(FinanceDelta.id).order_by(FinanceDelta.id).limit(FOLD)))):
        insert = upsert_insert()(table)
        db.session.execute(insert.on_conflict_do_update(
            index_elements=["zone", "month", "tier_id", "figure"],
            set_={"amount": table.c.amount + insert.excluded.amount}), [
            {"zone": zone, "month": month, "tier_id": tier, "figure": figure, "amount": amount}
            for (month, tier, figure), amount in taken.items()])
        db.session.commit()


def _computed(zone: str) -> dict[tuple[str, str, str], int]:
    """The figures computed from what they count: four grouped statements over the window's
    months and one over the companies."""
    start = _window_start()
    figures: Counter = Counter({("", 0, BASELINE): 0})

    invoiced = month_of(Invoice.issued_at, zone).label("m")
    for key, kind, amount in db.session.execute(
            sa.select(invoiced, Invoice.kind, sa.func.sum(Invoice.total))
            .where(Invoice.issued_at >= start).group_by(invoiced, Invoice.kind)):
        figures[(key, 0, "deposits" if kind is InvoiceKind.DEPOSIT else "invoiced")] += \
            int(amount)
    confirmed = Payment.status == PaymentStatus.CONFIRMED
    for column, amount, figure, *where in (
            (CreditNote.issued_at, CreditNote.total, "credited"),
            (Payment.decided_at, Payment.amount, "paid", confirmed)):
        month = month_of(column, zone).label("m")
        for key, total in db.session.execute(sa.select(month, sa.func.sum(amount))
                                             .where(column >= start, *where).group_by(month)):
            figures[(key, 0, figure)] += int(total)
    earned = month_of(WriterEarning.earned_at, zone).label("m")
    for key, tier, sales, pay in db.session.execute(
            sa.select(earned, Order.tier_id, sa.func.sum(Order.price_total),
                      sa.func.sum(WriterEarning.amount))
            .join(Order, Order.id == WriterEarning.order_id)
            .where(WriterEarning.earned_at >= start).group_by(earned, Order.tier_id)):
        figures[(key, tier, "sales")] += int(sales or 0)
        figures[(key, tier, "writer_pay")] += int(pay or 0)
    held, advances, receivable = db.session.execute(sa.select(*(
        sa.func.coalesce(sum_, 0) for sum_ in (
            sa.func.sum(Company.held), sa.func.sum(Company.balance).filter(Company.balance > 0),
            sa.func.sum(-Company.balance).filter(Company.balance < 0))))).one()
    figures.update({("", 0, "held"): int(held), ("", 0, "advances"): int(advances),
                    ("", 0, "receivable"): int(receivable)})
    return Counter({key: amount for key, amount in figures.items()
                    if key[0] is not None and (amount or key[2] == BASELINE)})


class Busy(Exception):
    """Changes to the figures were under way: they could not be computed again now."""


def refigure() -> int:
    """Compute the figures from what they count and store them in place of the kept ones,
    logging each kept figure that differed (the first computation logs nothing). The deltas
    are taken in the same transaction, under a lock that makes writers wait for the commit
    (PostgreSQL: LOCK TABLE; SQLite: the DELETE takes the one write lock), so a change is in
    the computation or in a delta after it, never both. Returns how many figures differed;
    the caller commits.

    PostgreSQL's lock is asked for without waiting: waiting would queue every new change
    behind it, and a change holding its delta while it waits for another's company row would
    close a cycle (a deadlock, one of them failed). Busy then, with nothing changed."""
    zone = _zone()
    if db.session.get_bind().dialect.name == "postgresql":
        try:
            with db.session.begin_nested():
                db.session.execute(sa.text(
                    "LOCK TABLE finance_deltas IN SHARE ROW EXCLUSIVE MODE NOWAIT"))
        except sa.exc.OperationalError as error:
            if getattr(error.orig, "sqlstate", None) != "55P03":  # lock_not_available
                raise
            raise Busy from error
    kept = _take(zone, sa.delete(FinanceDelta))
    for month, tier_id, figure, amount in db.session.execute(
            sa.select(FinanceFigure.month, FinanceFigure.tier_id, FinanceFigure.figure,
                      FinanceFigure.amount).where(FinanceFigure.zone == zone)):
        kept[(month, tier_id, figure)] += amount
    computed = _computed(zone)
    first = _first_month(zone)
    differed = [] if ("", 0, BASELINE) not in kept else sorted(
        key for key in set(kept) | set(computed)
        if (key[0] == "" or key[0] >= first) and kept[key] != computed[key])
    for key in differed:
        log.warning("finance figure drift: %s %s %s kept %s, actual %s", key[0] or "total",
                    *key[1:], kept[key], computed[key], extra={
                        "counter": "finance_figures", "key": "/".join(map(str, key)),
                        "stored": kept[key], "actual": computed[key]})
    db.session.execute(sa.delete(FinanceFigure))  # other zones' too: no fold kept them
    db.session.execute(sa.insert(FinanceFigure), [
        {"zone": zone, "month": month, "tier_id": tier, "figure": figure, "amount": amount}
        for (month, tier, figure), amount in computed.items()])
    return len(differed)


def refigure_when_quiet() -> int:
    """The night's repair: refigure, asked for again while changes are under way (QUIET_TRIES
    times, QUIET_PAUSE seconds apart: the fold, autovacuum or a change holds the deltas for
    moments), then left to the next night with a warning. The caller commits."""
    for _try in range(QUIET_TRIES):
        try:
            return refigure()
        except Busy:
            time.sleep(QUIET_PAUSE)
    log.warning("finance figures not refigured: changes were under way %s times", QUIET_TRIES)
    return 0


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
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not text.lstrip("-").isdigit():
        return "'" + text
    return text


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
