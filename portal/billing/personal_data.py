"""The money's part of a person's data (portal/privacy/parts.py).

Export. A client gets their company as its people see it on the account pages: its details
and its style guide, every ledger entry, the proformas, the invoices and credit notes with
their PDF as issued, a statement per month (the balance at the start and the end, what came in
and went out), and the payments they declared with their proof files. A writer gets their
earnings (per order, with the payout that paid each) and their payouts. Amounts are integers of
the currency's minor unit, with the currency beside them. A fixed number of statements whatever
the history; the PDFs, kept in the database, are read in one statement while the zip is
written, one at a time.

Erasure. What the law requires to be kept is kept: under OHADA (Acte uniforme relatif au droit
comptable, art. 24) accounting records and their supporting documents are kept ten years, and
an issued invoice is never altered. So:

- **A client's company stays whole**, with its ledger, proformas, payments, invoices and credit
  notes. Its name, address, NIF and RCCM stay too: they are the buyer's identity in the
  agency's books (a postpaid month not invoiced yet is billed to it later). The issued
  documents already hold the buyer as it was at issue (`Invoice.buyer`, `CreditNote.buyer`
  and their PDF, copied at issue), the person's email among them when the company had no
  billing address of its own; they are not touched.
- **The person leaves the company**: their membership row goes. The membership is what lets a
  person read and act for the company and what its emails go to (the owner's address when the
  company has none of its own); an erased account can do neither. The company's billing
  address goes too when it was the person's own address. When nobody is left in the company,
  its open proformas are cancelled (nobody is left to pay them; the agency's figures no longer
  count them as coming).
- **Proof files of payments**: a proof of a *confirmed* payment stays (with its name and
  type). It is the supporting document of a ledger entry (the top-up it credited) and of the
  deposit invoice issued for it, which the agency must be able to show for ten years, and it is
  only readable by managers once the person is gone. A proof of a *rejected* payment is
  deleted: it supports no entry, so nothing requires keeping it. A declared payment still
  waiting for a manager's decision stands in the way of the erasure (decide it first), so no
  proof is left undecided. (An online payment left pending at the provider has no proof and
  does not: if the provider confirms it later, the company is credited as usual.)
- **A writer's earnings and payouts stay** (what the agency paid, and owes, are accounting
  records), shown under “Former member” like every place that reads their account. Their old
  name is taken out of what is not an issued document: the notes and references of the payouts
  and batches that paid them. Earnings not paid yet stay owed and can still be paid out (no
  email is sent to the erased address).
"""

from __future__ import annotations

from collections.abc import Iterator
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload, selectinload

from portal.accounts.models import Role, User
from portal.billing.models import (
    Company,
    CompanyMember,
    CreditNote,
    Document,
    Invoice,
    LedgerEntry,
    Payment,
    PaymentStatus,
    Payout,
    PayoutBatch,
    Proforma,
    ProformaStatus,
    WriterEarning,
)
from portal.extensions import db
from portal.orders.models import Order
from portal.privacy.parts import Erasure, ExportFile, Part, Section, when
from portal.style_guides.models import StyleGuide

AMOUNTS = "integers of the currency's minor unit"


def _reference(order_id: int | None) -> str | None:
    return Order.reference_of(order_id) if order_id else None


# --- export -------------------------------------------------------------------------------------


def export(person: User) -> Section:
    if person.role is Role.CLIENT:
        return _client(person)
    if person.role is Role.WRITER:
        return _writer(person)
    return Section({})


def _client(person: User) -> Section:
    found = db.session.execute(
        sa.select(Company, CompanyMember, StyleGuide)
        .join(CompanyMember, CompanyMember.company_id == Company.id)
        .outerjoin(StyleGuide, StyleGuide.company_id == Company.id)
        .where(CompanyMember.user_id == person.id)).first()
    declared, proofs = _declared_payments(person)
    if found is None:
        return Section({"amounts": AMOUNTS, "company": None, "payments_declared": declared},
                       proofs)
    company, member, guide = found
    entries = list(db.session.scalars(
        sa.select(LedgerEntry).where(LedgerEntry.company_id == company.id)
        .order_by(LedgerEntry.created_at, LedgerEntry.id)))
    proformas = list(db.session.scalars(
        sa.select(Proforma).where(Proforma.company_id == company.id)
        .order_by(Proforma.created_at, Proforma.id)))
    invoices = list(db.session.scalars(
        sa.select(Invoice).where(Invoice.company_id == company.id)
        .options(selectinload(Invoice.lines)).order_by(Invoice.issued_at, Invoice.id)))
    notes = list(db.session.scalars(
        sa.select(CreditNote).where(CreditNote.company_id == company.id)
        .order_by(CreditNote.issued_at, CreditNote.id)))
    numbers = {invoice.id: invoice.number for invoice in invoices}
    note_numbers = {note.id: note.number for note in notes}
    pdfs: dict[int, str] = {}
    for document_of, folder in [*((i, "invoices") for i in invoices),
                                *((n, "credit-notes") for n in notes)]:
        if document_of.document_id:
            pdfs[document_of.document_id] = f"files/billing/{folder}/{document_of.number}.pdf"
    data = {
        "amounts": AMOUNTS,
        "company": {
            "name": company.name, "address": company.address,
            "tax_number": company.tax_number, "trade_register": company.trade_register,
            "billing_email": company.billing_email, "language": company.locale,
            "currency": company.currency, "billing_mode": company.billing_mode.value,
            "credit_limit": company.credit_limit, "balance": company.balance,
            "reserved": company.held, "available": company.available,
            "created_at": when(company.created_at),
            "my_role": member.role.value, "member_since": when(member.created_at),
            "style_guide": _style_guide(guide),
        },
        "ledger": [
            {"at": when(e.created_at), "kind": e.kind.value, "amount": e.amount,
             "reserved": e.held, "currency": e.currency, "order": _reference(e.order_id),
             "credit_note": note_numbers.get(e.credit_note_id), "note": e.note}
            for e in entries],
        "statements": _statements(company, entries),
        "proformas": [
            {"number": p.number, "amount": p.amount, "currency": p.currency,
             "status": p.status.value, "created_at": when(p.created_at),
             "paid_at": when(p.paid_at)}
            for p in proformas],
        "invoices": [_invoice(invoice, pdfs.get(invoice.document_id)) for invoice in invoices],
        "credit_notes": [
            {"number": n.number, "invoice": numbers.get(n.invoice_id),
             "issued_at": when(n.issued_at), "currency": n.currency, "seller": n.seller,
             "buyer": n.buyer, "vat_rate_hundredths_percent": n.vat_rate,
             "total_excl_vat": n.total_excl_vat, "total_vat": n.total_vat, "total": n.total,
             "reason": n.reason, "cancels_due": n.cancels_due, "refunded": n.refunded,
             "pdf": pdfs.get(n.document_id)}
            for n in notes],
        "payments_declared": declared,
    }
    return Section(data, proofs, stored=_documents(company.id, pdfs))


def _style_guide(guide: StyleGuide | None) -> dict | None:
    """The company's style guide as its people keep it (each order holds its own copy, in the
    orders' part)."""
    from portal.style_guides.service import values_of

    if guide is None:
        return None
    values = values_of(guide)
    return {"tone": values.tone, "audience": values.audience,
            "words_to_use": values.words_to_use, "forbidden_words": values.forbidden_words,
            "formatting": values.formatting, "examples": values.examples,
            "version": guide.version, "updated_at": when(guide.updated_at)}


def _invoice(invoice: Invoice, pdf: str | None) -> dict:
    return {
        "number": invoice.number, "kind": invoice.kind.value,
        "issued_at": when(invoice.issued_at), "period": invoice.period,
        "currency": invoice.currency, "language": invoice.locale, "seller": invoice.seller,
        "buyer": invoice.buyer, "vat_rate_hundredths_percent": invoice.vat_rate,
        "lines": [
            {"reference": line.reference, "description": line.description,
             "words": line.words, "price_per_word": line.price_per_word,
             "rush_surcharge": line.rush_surcharge, "amount_excl_vat": line.amount_excl_vat,
             "amount": line.amount}
            for line in invoice.lines],
        "total_excl_vat": invoice.total_excl_vat, "total_vat": invoice.total_vat,
        "total": invoice.total, "paid": invoice.paid, "credited": invoice.credited,
        "due": invoice.due, "settled_at": when(invoice.settled_at), "pdf": pdf,
    }


def _declared_payments(person: User) -> tuple[list[dict], list[ExportFile]]:
    """The payments the person declared (any company's), with their proof files."""
    payments, proofs = [], []
    for payment in db.session.scalars(
            sa.select(Payment).where(Payment.declared_by_id == person.id)
            .options(joinedload(Payment.proforma), joinedload(Payment.invoice))
            .order_by(Payment.created_at, Payment.id)):
        entry = {
            "declared_at": when(payment.created_at), "amount": payment.amount,
            "currency": payment.currency, "method": payment.method.value,
            "reference": payment.reference, "status": payment.status.value,
            "decided_at": when(payment.decided_at), "reject_reason": payment.reject_reason,
            "proforma": payment.proforma.number if payment.proforma else None,
            "invoice": payment.invoice.number if payment.invoice else None, "proof": None,
        }
        if payment.proof_stored_name:
            proof = ExportFile(
                path=f"files/billing/payments/{payment.id}-{payment.proof_name}",
                name=payment.proof_name or "",
                stored_name=payment.proof_stored_name)
            proofs.append(proof)
            entry["proof"] = {"name": payment.proof_name, "path": proof.path}
        payments.append(entry)
    return payments, proofs


def _statements(company: Company, entries: list[LedgerEntry]) -> list[dict]:
    """A statement per month in the agency's time zone, from the company's first month to its
    last entry's (a month without entries included): the balance at its start and its end,
    what came in and what went out."""
    zone = ZoneInfo(current_app.config["AGENCY_TIMEZONE"])
    moved: dict[tuple[int, int], dict] = {}
    for entry in entries:
        local = entry.created_at.astimezone(zone)
        row = moved.setdefault((local.year, local.month), {"entries": 0, "in": 0, "out": 0})
        row["entries"] += 1
        if entry.amount > 0:
            row["in"] += entry.amount
        else:
            row["out"] -= entry.amount
    if not moved:
        return []
    created = company.created_at.astimezone(zone)
    year, month = min((created.year, created.month), min(moved))
    statements, balance = [], 0
    while (year, month) <= max(moved):
        row = moved.get((year, month), {"entries": 0, "in": 0, "out": 0})
        closing = balance + row["in"] - row["out"]
        statements.append({"month": f"{year}-{month:02d}", "currency": company.currency,
                           "opening_balance": balance, "received": row["in"],
                           "spent": row["out"], "closing_balance": closing,
                           "entries": row["entries"]})
        balance = closing
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return statements


def _documents(company_id: int, paths: dict[int, str]):
    """The company's invoices' and credit notes' PDFs as issued, read in one statement as the
    zip is written (a few at a time, never all in memory)."""

    def read() -> Iterator[ExportFile]:
        issued = sa.union_all(
            sa.select(Invoice.document_id).where(Invoice.company_id == company_id),
            sa.select(CreditNote.document_id).where(CreditNote.company_id == company_id))
        rows = db.session.execute(
            sa.select(Document.id, Document.filename, Document.content)
            .where(Document.id.in_(issued)).order_by(Document.id)
            .execution_options(yield_per=8))
        for document_id, filename, content in rows:
            if document_id in paths:
                yield ExportFile(path=paths[document_id], name=filename, content=content)

    return read


def _writer(person: User) -> Section:
    earnings = db.session.execute(
        sa.select(WriterEarning, Order.title)
        .join(Order, Order.id == WriterEarning.order_id)
        .where(WriterEarning.writer_id == person.id)
        .order_by(WriterEarning.earned_at, WriterEarning.id)).all()
    payouts = list(db.session.scalars(
        sa.select(Payout).where(Payout.writer_id == person.id)
        .order_by(Payout.created_at, Payout.id)))
    paid_on = {payout.id: payout.created_at for payout in payouts}
    zone = ZoneInfo(current_app.config["AGENCY_TIMEZONE"])
    months: dict[str, dict] = {}
    for earning, _title in earnings:
        month = earning.earned_at.astimezone(zone).strftime("%Y-%m")
        row = months.setdefault(month, {"month": month, "orders": 0, "earned": 0, "unpaid": 0})
        row["orders"] += 1
        row["earned"] += earning.amount
        if earning.payout_id is None:
            row["unpaid"] += earning.amount
    return Section({
        "amounts": AMOUNTS,
        "earned": sum(earning.amount for earning, _title in earnings),
        "paid": sum(payout.amount for payout in payouts),
        "unpaid": sum(e.amount for e, _title in earnings if e.payout_id is None),
        "earnings": [
            {"order": _reference(earning.order_id), "title": title, "amount": earning.amount,
             "currency": earning.currency, "earned_at": when(earning.earned_at),
             "paid_at": when(paid_on.get(earning.payout_id))}
            for earning, title in earnings],
        "by_month": [months[month] for month in sorted(months)],
        "payouts": [
            {"at": when(p.created_at), "amount": p.amount, "currency": p.currency,
             "method": p.method.value, "reference": p.reference}
            for p in payouts],
    })


# --- erasure ------------------------------------------------------------------------------------


def blockers(person: User) -> list[str]:
    if person.role is not Role.CLIENT:
        return []
    waiting = db.session.scalars(
        sa.select(Payment.reference).where(Payment.declared_by_id == person.id,
                                           Payment.status == PaymentStatus.DECLARED)
        .order_by(Payment.id).limit(10)).all()
    if not waiting:
        return []
    return [_("Payments they declared wait for a decision: %(refs)s. Confirm or reject them "
              "first.", refs=", ".join(waiting))]


def erase(erasure: Erasure) -> None:
    if erasure.person.role is Role.CLIENT:
        _erase_client(erasure)
    elif erasure.person.role is Role.WRITER:
        _erase_writer(erasure)


def _erase_client(erasure: Erasure) -> None:
    person = erasure.person
    company_ids = list(db.session.scalars(
        sa.select(CompanyMember.company_id).where(CompanyMember.user_id == person.id)))
    db.session.execute(sa.delete(CompanyMember).where(CompanyMember.user_id == person.id))
    erasure.count("companies_left", len(company_ids))
    if company_ids:
        # Their own address is no longer where the company's documents go.
        db.session.execute(
            sa.update(Company).where(Company.id.in_(company_ids),
                                     sa.func.lower(Company.billing_email)
                                     == erasure.old_email.lower())
            .values(billing_email="").execution_options(synchronize_session=False))
        someone_left = sa.select(CompanyMember.company_id).where(
            CompanyMember.company_id == Company.id).exists()
        empty = sa.select(Company.id).where(Company.id.in_(company_ids), ~someone_left)
        cancelled = db.session.execute(
            sa.update(Proforma).where(Proforma.company_id.in_(empty),
                                      Proforma.status == ProformaStatus.OPEN)
            .values(status=ProformaStatus.CANCELLED)
            .execution_options(synchronize_session=False)).rowcount
        erasure.count("proformas_cancelled", cancelled)
    # Proofs of rejected payments support no entry of the accounts: they go. Those of confirmed
    # payments stay (the module's docstring says why); none is undecided (blockers).
    rejected = db.session.scalars(sa.select(Payment).where(
        Payment.declared_by_id == person.id, Payment.status == PaymentStatus.REJECTED,
        Payment.proof_stored_name.is_not(None))).all()
    for payment in rejected:
        erasure.files_to_remove.append(payment.proof_stored_name)
        payment.proof_stored_name = payment.proof_name = payment.proof_media_type = None
    erasure.count("files", len(rejected))
    db.session.flush()


def _erase_writer(erasure: Erasure) -> None:
    name, replacement = erasure.old_name, erasure.person.display_name
    if len(name) < 2:
        return
    payouts = db.session.scalars(sa.select(Payout).where(
        Payout.writer_id == erasure.person.id,
        Payout.reference.contains(name, autoescape=True))).all()
    for payout in payouts:
        payout.reference = payout.reference.replace(name, replacement)[:100]
    paid_them = sa.select(Payout.batch_id).where(Payout.writer_id == erasure.person.id)
    for batch in db.session.scalars(sa.select(PayoutBatch).where(
            PayoutBatch.id.in_(paid_them), PayoutBatch.note.contains(name, autoescape=True))):
        batch.note = batch.note.replace(name, replacement)
    db.session.flush()


def kept(person: User) -> tuple:
    if person.role is Role.CLIENT:
        return (
            _l("Their company stays with its account: its ledger entries, invoices and credit "
               "notes (with their PDF) are kept ten years, unchanged, as OHADA accounting law "
               "requires; issued documents keep the buyer's name, address and email as they "
               "were at issue. The company keeps its name and address (the buyer in the "
               "accounts). The person leaves it: its documents are no longer emailed to them, "
               "and when nobody is left in it its open proformas are cancelled."),
            _l("Their company's style guide stays with the company, for its next orders; the "
               "orders keep the copy they were submitted with."),
            _l("Proofs of payment they uploaded stay with the confirmed payments (evidence of "
               "the money credited, kept with the accounts); those of rejected payments are "
               "deleted."),
        )
    if person.role is Role.WRITER:
        return (
            _l("Their earnings and payouts stay ten years, as OHADA accounting law requires, "
               "under “Former member”; their name is taken out of the payouts' references and "
               "notes. Earnings not paid yet stay owed and can still be paid out."),
        )
    return ()


PART = Part(name="billing", export=export, blockers=blockers, erase=erase, kept=kept)
