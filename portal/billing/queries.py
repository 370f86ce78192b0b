"""What the money pages read, each in a bounded number of statements whatever the history: the
lists are pages read in index order (ledger entries by company and date, invoices by company
and date), never whole histories."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from portal.accounts.models import User
from portal.billing.companies import company_id_of
from portal.billing.models import (
    Company,
    CreditNote,
    Invoice,
    LedgerEntry,
    Payment,
    PaymentMethod,
    Proforma,
)
from portal.extensions import any_holds, db, utcnow
from portal.orders.models import Order, OrderStatus


@dataclass
class AccountView:
    waiting: list[Order]  # orders waiting for the company's payment
    entries: list[LedgerEntry]  # a page of the ledger, newest first
    older: int | None  # the id to read the next page from (None: no more)
    proformas: list[Proforma]
    payments: list[Payment]
    invoices_due: list[Invoice]


def ledger_page(company_id: int, before: int | None, per_page: int):
    """A page of the company's entries, newest first, from the entry `before` (an id) on; read
    in the order of ix_ledger_entries_company_id_created_at_id."""
    stmt = (sa.select(LedgerEntry).where(LedgerEntry.company_id == company_id)
            .order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc()).limit(per_page + 1))
    if before is not None:
        anchor = sa.select(LedgerEntry.created_at).where(
            LedgerEntry.id == before, LedgerEntry.company_id == company_id).scalar_subquery()
        stmt = stmt.where(sa.tuple_(LedgerEntry.created_at, LedgerEntry.id)
                          < sa.tuple_(anchor, before))
    rows = list(db.session.scalars(stmt))
    older = rows[per_page - 1].id if len(rows) > per_page else None
    return rows[:per_page], older


def account_view(company: Company, before: int | None, per_page: int) -> AccountView:
    """The account page: five statements."""
    waiting = list(db.session.scalars(
        sa.select(Order).where(Order.company_id == company.id,
                               Order.status == OrderStatus.AWAITING_PAYMENT)
        .order_by(Order.submitted_at, Order.id).limit(50)))
    entries, older = ledger_page(company.id, before, per_page)
    proformas = list(db.session.scalars(
        sa.select(Proforma).where(Proforma.company_id == company.id)
        .order_by(Proforma.created_at.desc(), Proforma.id.desc()).limit(10)))
    payments = list(db.session.scalars(
        sa.select(Payment).where(Payment.company_id == company.id)
        .order_by(Payment.created_at.desc(), Payment.id.desc()).limit(10)))
    due = list(db.session.scalars(
        sa.select(Invoice).where(Invoice.company_id == company.id, Invoice.settled_at.is_(None))
        .order_by(Invoice.issued_at, Invoice.id).limit(20)))
    return AccountView(waiting, entries, older, proformas, payments, due)


def statement_months(company: Company, count: int = 12) -> list[date]:
    """The months a statement can be asked for: this one and the ones before, back to the
    company's creation (at most `count`)."""
    zone = ZoneInfo(current_app.config["AGENCY_TIMEZONE"])
    first = company.created_at.astimezone(zone).date().replace(day=1)
    current = utcnow().astimezone(zone).date().replace(day=1)
    months = []
    while current >= first and len(months) < count:
        months.append(current)
        current = (current - timedelta(days=1)).replace(day=1)
    return months


def payments_of_proforma(proforma_id: int) -> list[Payment]:
    return list(db.session.scalars(
        sa.select(Payment).where(Payment.proforma_id == proforma_id)
        .order_by(Payment.created_at, Payment.id)))


def payments_of_invoice(invoice_id: int) -> list[Payment]:
    return list(db.session.scalars(
        sa.select(Payment).where(Payment.invoice_id == invoice_id)
        .order_by(Payment.created_at, Payment.id)))


def online_payment_of(user: User, provider_ref: str) -> Payment | None:
    """The client's own online payment with this provider id (None for anyone else's)."""
    if not provider_ref or len(provider_ref) > 100:
        return None
    company_id = company_id_of(user)
    return db.session.scalar(sa.select(Payment).where(
        Payment.provider_ref == provider_ref, Payment.company_id == company_id,
        Payment.method == PaymentMethod.FEDAPAY))


def invoices_page(company_id: int, page: int, per_page: int):
    """The company's invoices, newest first (the page and its count)."""
    return db.paginate(
        sa.select(Invoice).where(Invoice.company_id == company_id)
        .order_by(Invoice.issued_at.desc(), Invoice.id.desc()),
        page=page, per_page=per_page, error_out=False)


def credit_notes_of(invoice_ids: list[int]) -> dict[int, list[CreditNote]]:
    """The credit notes of these invoices, by invoice (one statement)."""
    if not invoice_ids:
        return {}
    found: dict[int, list[CreditNote]] = {}
    for note in db.session.scalars(
            sa.select(CreditNote).where(CreditNote.invoice_id.in_(invoice_ids))
            .order_by(CreditNote.issued_at, CreditNote.id)):
        found.setdefault(note.invoice_id, []).append(note)
    return found


def statement_data(company: Company, month: date) -> dict:
    """What the monthly statement shows: the balance at the start, the month's entries, the
    balance at the end, the month's documents and the invoices still due."""
    zone = ZoneInfo(current_app.config["AGENCY_TIMEZONE"])
    start = datetime(month.year, month.month, 1, tzinfo=zone)
    end = (start + timedelta(days=32)).replace(day=1)
    opening = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(LedgerEntry.amount), 0))
        .where(LedgerEntry.company_id == company.id, LedgerEntry.created_at < start)) or 0
    entries = list(db.session.scalars(
        sa.select(LedgerEntry).where(LedgerEntry.company_id == company.id,
                                     LedgerEntry.created_at >= start,
                                     LedgerEntry.created_at < end)
        .order_by(LedgerEntry.created_at, LedgerEntry.id)))
    issued = list(db.session.scalars(
        sa.select(Invoice).where(Invoice.company_id == company.id, Invoice.issued_at >= start,
                                 Invoice.issued_at < end)
        .order_by(Invoice.issued_at, Invoice.id)))
    issued += list(db.session.scalars(
        sa.select(CreditNote).where(CreditNote.company_id == company.id,
                                    CreditNote.issued_at >= start, CreditNote.issued_at < end)
        .order_by(CreditNote.issued_at, CreditNote.id)))
    unpaid = list(db.session.scalars(
        sa.select(Invoice).where(Invoice.company_id == company.id,
                                 Invoice.settled_at.is_(None), Invoice.issued_at < end)
        .order_by(Invoice.issued_at, Invoice.id)))
    closing = int(opening) + sum(entry.amount for entry in entries)
    return {"opening": int(opening), "entries": entries, "closing": closing,
            "issued": issued, "unpaid": unpaid}


# --- managers -----------------------------------------------------------------------------------


def companies_page(page: int, per_page: int, q: str = ""):
    stmt = sa.select(Company).order_by(Company.name, Company.id)
    if q.strip():
        stmt = stmt.where(any_holds(q.strip(), Company.name))
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def recent_payments(limit: int = 30) -> list[Payment]:
    """The latest decided payments with their company (one statement)."""
    return list(db.session.scalars(
        sa.select(Payment).options(joinedload(Payment.company), joinedload(Payment.decided_by))
        .where(Payment.decided_at.is_not(None))
        .order_by(Payment.decided_at.desc(), Payment.id.desc()).limit(limit)))


def company_invoices(company_id: int, limit: int = 20) -> list[Invoice]:
    return list(db.session.scalars(
        sa.select(Invoice).where(Invoice.company_id == company_id)
        .order_by(Invoice.issued_at.desc(), Invoice.id.desc()).limit(limit)))
