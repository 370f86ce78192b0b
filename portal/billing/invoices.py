"""Invoices and credit notes: issued, numbered, rendered to PDF and emailed in one transaction,
then never changed.

- An **orders invoice** bills captured orders: at approval for a prepaid company (one order,
  settled at once from its prepaid balance), once a month for a postpaid one (every capture of
  the month not yet billed; what its balance did not cover is due).
- A **deposit invoice** acknowledges a top-up: the payment confirmed for a proforma.
- A **credit note** cancels all or part of an invoice, up to what the invoice still stands for
  (its total less the credit notes already issued). On an orders invoice the amount goes back to
  the company's balance (a refund entry); on a deposit it leaves the balance (the money is given
  back), if the balance still holds it.

Prices are VAT included: when the agency is registered for VAT (AGENCY_VAT_RATE, 18 in Togo),
each line's VAT is taken out of its amount, rounded half up. The agency's and the company's
identities are copied onto the document at issue. A guard on the session refuses any later
change to an issued document but what moves after issue (paid, credited, settled_at).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import event
from sqlalchemy.orm import Session, joinedload

from portal.accounts.models import User
from portal.billing import figures, ledger, numbering
from portal.billing.companies import billing_address, visible_to
from portal.billing.models import (
    BillingMode,
    Company,
    CreditNote,
    Document,
    EntryKind,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    LedgerEntry,
    Payment,
    Proforma,
)
from portal.billing.money import split_vat
from portal.billing.months import month_start
from portal.errors import Conflict, DomainError
from portal.extensions import db, utcnow
from portal.i18n import format_money
from portal.orders.models import Order
from portal.orders.service import require_manager


class ImmutableDocument(DomainError):
    """An issued invoice or credit note cannot be changed or deleted."""


# --- who is on the document -------------------------------------------------------------------


def vat_rate() -> int:
    """The agency's VAT rate in hundredths of a percent (0: not registered for VAT)."""
    return current_app.config["VAT_RATE"]


def seller() -> dict:
    """The agency as its documents show it, from the settings (copied at issue)."""
    config = current_app.config
    return {
        "name": config["AGENCY_LEGAL_NAME"] or config["AGENCY_NAME"],
        "address": config["AGENCY_ADDRESS"],
        "tax_number": config["AGENCY_TAX_NUMBER"],
        "trade_register": config["AGENCY_TRADE_REGISTER"],
        "vat_regime": config["AGENCY_VAT_REGIME"],
        "email": config["AGENCY_EMAIL"],
        "phone": config["AGENCY_PHONE"],
    }


def buyer(company: Company) -> dict:
    return {"name": company.name, "address": company.address,
            "tax_number": company.tax_number, "trade_register": company.trade_register,
            "email": billing_address(company)}


# --- issuing ------------------------------------------------------------------------------------


def _issue(company: Company, kind: InvoiceKind, actor: User | None, lines: list[InvoiceLine],
           **values) -> Invoice:
    """Number the invoice of `lines` now (settled at once when nothing is left due), attach its
    PDF and queue its email."""
    from portal.billing import emails, pdf

    now = utcnow()
    invoice = Invoice(**numbering.take(numbering.INVOICE, now), kind=kind, company_id=company.id,
                      currency=company.currency, locale=company.locale, issued_at=now,
                      seller=seller(), buyer=buyer(company), vat_rate=vat_rate(),
                      created_by_id=actor.id if actor else None, credited=0, **values)
    db.session.add(invoice)
    figures.record(now, **{"deposits" if kind is InvoiceKind.DEPOSIT else "invoiced":
                           values["total"]})
    db.session.flush()
    for line in lines:
        line.invoice_id = invoice.id
        db.session.add(line)
    if invoice.due == 0:
        invoice.settled_at = invoice.issued_at
    db.session.flush()
    _attach_pdf(invoice, pdf.invoice_pdf(invoice))
    emails.invoice_issued(invoice)
    return invoice


def _totals(lines: list[InvoiceLine]) -> dict:
    total = sum(line.amount for line in lines)
    excl = sum(line.amount_excl_vat for line in lines)
    return {"total": total, "total_excl_vat": excl, "total_vat": total - excl}


def _line(position: int, amount: int, **values) -> InvoiceLine:
    return InvoiceLine(position=position, amount=amount,
                       amount_excl_vat=split_vat(amount, vat_rate()).excl_vat, **values)


def _order_line(position: int, entry: LedgerEntry, order: Order) -> InvoiceLine:
    charged = -entry.amount
    if charged == order.price_total:
        return _line(position, charged, order_id=order.id, entry_id=entry.id,
                     reference=order.reference, description=order.title[:300],
                     words=order.words_max, price_per_word=order.price_per_word,
                     rush_surcharge=order.rush_surcharge or 0)
    with force_locale(_company_locale(order.company_id)):
        description = _("%(title)s (cancelled: part of the work charged)", title=order.title)
    return _line(position, charged, order_id=order.id, entry_id=entry.id,
                 reference=order.reference, description=description[:300])


def _company_locale(company_id: int) -> str:
    return db.session.scalar(sa.select(Company.locale).where(Company.id == company_id)) or "fr"


def issue_for_captures(company: Company, entries: Iterable[LedgerEntry], *,
                       actor: User | None = None, period: str | None = None) -> Invoice:
    """An orders invoice for these captures. For a prepaid company it is settled at issue (the
    captures took the money from its balance); for a postpaid one, what its balance covered is
    settled and the rest is due. Queues the email with the PDF."""
    entries = sorted(entries, key=lambda e: e.id)
    if not entries:
        raise Conflict(_("There is nothing to invoice."))
    orders = {o.id: o for o in db.session.scalars(
        sa.select(Order).where(Order.id.in_([e.order_id for e in entries])))}
    lines = [_order_line(n, entry, orders[entry.order_id])
             for n, entry in enumerate(entries, start=1)]
    totals = _totals(lines)
    if company.billing_mode is BillingMode.PREPAID:
        settled = totals["total"]
    else:  # what the balance held before these captures pays; the rest is due
        settled = max(0, min(totals["total"], company.balance + totals["total"]))
    return _issue(company, InvoiceKind.ORDERS, actor, lines, period=period,
                  paid_at_issue=settled, paid=settled, **totals)


def issue_deposit(payment: Payment, proforma: Proforma, actor: User | None) -> Invoice:
    """The invoice of a top-up: the amount paid for the proforma, settled at issue."""
    company = db.session.get(Company, payment.company_id)
    with force_locale(company.locale):
        description = _("Advance on writing services (proforma %(number)s)",
                        number=proforma.number)
    line = _line(1, payment.amount, reference=proforma.number, description=description)
    return _issue(company, InvoiceKind.DEPOSIT, actor, [line], proforma_id=proforma.id,
                  paid_at_issue=payment.amount, paid=payment.amount, **_totals([line]))


def _attach_pdf(document_of: Invoice | CreditNote, content: bytes) -> None:
    document = Document(filename=f"{document_of.number}.pdf", media_type="application/pdf",
                        content=content, sha256=hashlib.sha256(content).hexdigest())
    db.session.add(document)
    db.session.flush()
    document_of.document_id = document.id
    db.session.flush()


def uninvoiced_captures(company_id: int, before: datetime) -> list[LedgerEntry]:
    """The company's captures made before `before` that no invoice bills yet."""
    billed = sa.select(InvoiceLine.entry_id).where(InvoiceLine.entry_id.is_not(None))
    return list(db.session.scalars(
        sa.select(LedgerEntry).where(
            LedgerEntry.company_id == company_id, LedgerEntry.kind == EntryKind.CAPTURE,
            LedgerEntry.created_at < before, LedgerEntry.id.not_in(billed))
        .order_by(LedgerEntry.id)
    ))


def invoice_month(company: Company, actor: User | None = None,
                  now: datetime | None = None) -> Invoice | None:
    """The postpaid company's invoice for the month before `now`'s: every capture not yet
    billed from before this month. None when there is nothing to bill or that month's invoice
    exists. Raises Conflict for a prepaid company (billed at each approval)."""
    if company.billing_mode is not BillingMode.POSTPAID:
        raise Conflict(_("This company is prepaid: its orders are invoiced at approval."))
    start = month_start(now or utcnow())
    period = (start - timedelta(days=1)).astimezone(
        ZoneInfo(current_app.config["AGENCY_TIMEZONE"])).strftime("%Y-%m")
    if db.session.scalar(sa.select(Invoice.id).where(Invoice.company_id == company.id,
                                                     Invoice.period == period)):
        return None
    captures = uninvoiced_captures(company.id, start)
    if not captures:
        return None
    return issue_for_captures(company, captures, actor=actor, period=period)


def invoice_postpaid_months(now: datetime | None = None) -> int:
    """Every postpaid company's monthly invoice that is due (the worker runs it; each invoice
    in its own savepoint). Returns how many were issued."""
    issued = 0
    for company in db.session.scalars(
            sa.select(Company).where(Company.billing_mode == BillingMode.POSTPAID)
            .order_by(Company.id)):
        try:
            with db.session.begin_nested():
                if invoice_month(company, None, now) is not None:
                    issued += 1
        except Exception:
            current_app.logger.exception("monthly invoice of company %s failed", company.id)
    return issued


# --- paying an invoice --------------------------------------------------------------------------


def record_payment(invoice: Invoice, amount: int) -> None:
    """A confirmed payment for this invoice: what it still owed is paid, up to `amount` (any
    excess stays on the company's balance). Conditional, like the credit notes."""
    paid = min(amount, invoice.due)
    if paid <= 0:
        return
    db.session.execute(
        sa.update(Invoice).where(Invoice.id == invoice.id)
        .values(paid=Invoice.paid + paid).execution_options(synchronize_session=False))
    db.session.refresh(invoice)
    if invoice.due == 0 and invoice.settled_at is None:
        _settle(invoice)


def _settle(invoice: Invoice) -> None:
    db.session.execute(sa.update(Invoice).where(Invoice.id == invoice.id)
                       .values(settled_at=utcnow()).execution_options(synchronize_session=False))
    db.session.refresh(invoice)


# --- credit notes -------------------------------------------------------------------------------


def issue_credit_note(invoice: Invoice, manager: User, amount: int, reason: str) -> CreditNote:
    """A credit note cancelling `amount` of the invoice (VAT included), numbered and rendered
    now, emailed with its PDF.

    Raises NotAllowed for anyone but a manager; Conflict (nothing changed) for an amount of 0,
    negative or above what the invoice still stands for, no reason, or a deposit whose money the
    balance no longer holds."""
    from portal.billing import emails, pdf

    require_manager(manager)
    if not reason.strip():
        raise Conflict(_("Say why the invoice is cancelled."), field="reason")
    if not isinstance(amount, int) or not 0 < amount <= invoice.creditable:
        raise Conflict(_("A credit note is between 1 and what the invoice still stands for "
                         "(%(amount)s).", amount=_plain(invoice.creditable)), field="amount")
    # Conditional: two credit notes at once never cancel more than the invoice.
    result = db.session.execute(
        sa.update(Invoice).where(Invoice.id == invoice.id,
                                 Invoice.credited + amount <= Invoice.total)
        .values(credited=Invoice.credited + amount)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise Conflict(_("Another credit note was issued for this invoice a moment ago. Reload "
                         "the page."), field="amount")
    due_before = invoice.due
    db.session.refresh(invoice)
    cancels_due = min(amount, due_before)
    now = utcnow()
    split = split_vat(amount, invoice.vat_rate)
    company = db.session.get(Company, invoice.company_id)
    note = CreditNote(**numbering.take(numbering.CREDIT_NOTE, now), invoice_id=invoice.id,
                      company_id=invoice.company_id, currency=invoice.currency,
                      locale=company.locale, issued_at=now, seller=seller(),
                      buyer=buyer(company), vat_rate=invoice.vat_rate,
                      total_excl_vat=split.excl_vat, total_vat=split.vat, total=amount,
                      reason=reason.strip(), cancels_due=cancels_due,
                      refunded=amount - cancels_due, created_by_id=manager.id)
    db.session.add(note)
    figures.record(now, credited=amount)
    db.session.flush()
    # An orders invoice: the client is charged less, so what was taken from the balance (or
    # owed) comes back. A deposit cancelled: the money is given back, so it leaves the balance.
    deposit = invoice.kind is InvoiceKind.DEPOSIT
    try:
        ledger.post(invoice.company_id, EntryKind.REFUND, key=f"refund:credit_note:{note.id}",
                    amount=-amount if deposit else amount, spends=deposit,
                    credit_note_id=note.id, actor=manager, note=reason.strip())
    except ledger.NotEnoughFunds:  # only a deposit's refund spends
        raise Conflict(_("The company's available balance no longer holds this amount: it "
                         "was spent on orders."), field="amount") from None
    if invoice.due == 0 and invoice.settled_at is None:
        _settle(invoice)
    _attach_pdf(note, pdf.credit_note_pdf(note))
    emails.credit_note_issued(note)
    if not deposit:
        ledger.fund_waiting_orders(invoice.company_id)
    return note


def _plain(amount: int) -> str:
    return format_money(amount, current_app.config["AGENCY_CURRENCY"])


# --- reading ------------------------------------------------------------------------------------


def invoice_for(user: User, invoice_id: int) -> Invoice:
    """The invoice if `user` may see it (a person of its company, a manager); else 404."""
    return visible_to(user, Invoice, invoice_id, "invoice", options=[joinedload(Invoice.lines)])


# --- documents are never changed ----------------------------------------------------------------


def _refuse_change() -> None:
    raise ImmutableDocument(_("An issued invoice or credit note cannot be changed: issue a "
                              "credit note to correct it."))


@event.listens_for(Session, "before_flush")
def _issued_documents_stay_as_issued(session: Session, _context, _instances) -> None:
    for obj in session.dirty:
        if isinstance(obj, Invoice | CreditNote):
            state = sa.inspect(obj)
            changed = {attr.key for attr in state.attrs if attr.history.has_changes()}
            # Its PDF is joined once, at issue.
            replaced = "document_id" in changed and any(
                value is not None for value in state.attrs.document_id.history.deleted)
            if changed - obj.MUTABLE or replaced:
                _refuse_change()
        elif isinstance(obj, InvoiceLine) and any(
                attr.history.has_changes() for attr in sa.inspect(obj).attrs):
            _refuse_change()
    if any(isinstance(obj, Invoice | CreditNote | InvoiceLine | LedgerEntry | Document)
           for obj in session.deleted):
        _refuse_change()
