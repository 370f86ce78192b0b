"""Top-ups and payments: the client asks for an amount (a proforma with the agency's payment
instructions), pays it by mobile money, transfer or cash and says so (method, reference, an
optional proof under the upload rules); a manager confirms, which credits the balance once,
issues the invoice and sends on the orders waiting for payment, or rejects with a reason.

A postpaid company pays its monthly invoices the same way (a payment for an invoice credits the
balance and settles what the invoice owes, without a new invoice).

A payment through the provider (FedaPay, portal.billing.providers) is created "pending" with the
provider's transaction id, and confirmed by the provider's signed notification through the same
`confirm` (the id is unique and the confirmation conditional, so a notification delivered twice
credits once).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload
from werkzeug.datastructures import FileStorage

from portal.accounts.models import Role, User
from portal.billing import emails, figures, invoices, ledger, numbering, providers
from portal.billing.companies import company_of, is_member, visible_to
from portal.billing.models import (
    DECLARED_METHODS,
    Company,
    EntryKind,
    Invoice,
    InvoiceKind,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Proforma,
    ProformaStatus,
)
from portal.errors import Conflict, NotAllowed
from portal.extensions import db, utcnow
from portal.i18n import format_money
from portal.orders import uploads
from portal.orders.service import require_manager

REFERENCE_KEEP = re.compile(r"[^0-9A-Z]")


def instructions() -> list[tuple[PaymentMethod, str]]:
    """The agency's payment instructions from the settings, per method (those set)."""
    config = current_app.config
    found = [(PaymentMethod.FLOOZ, config["PAYMENT_FLOOZ"]),
             (PaymentMethod.MIXX, config["PAYMENT_MIXX"]),
             (PaymentMethod.BANK_TRANSFER, config["PAYMENT_BANK"]),
             (PaymentMethod.CASH, config["PAYMENT_CASH"])]
    return [(method, text.strip()) for method, text in found if text and text.strip()]


def check_amount(amount: object, field: str = "amount") -> int:
    """An amount a person may ask for or declare: a whole number between TOPUP_MIN and
    TOPUP_MAX. Raises Conflict otherwise."""
    low, high = current_app.config["TOPUP_MIN"], current_app.config["TOPUP_MAX"]
    if not isinstance(amount, int) or isinstance(amount, bool) or not low <= amount <= high:
        currency = current_app.config["AGENCY_CURRENCY"]
        raise Conflict(_("Enter an amount between %(low)s and %(high)s.",
                         low=format_money(low, currency), high=format_money(high, currency)),
                       field=field)
    return amount


# --- proformas ----------------------------------------------------------------------------------


def request_topup(client: User, amount: int) -> Proforma:
    """A proforma of `amount` for the client's company, numbered now; emailed with its PDF.
    Raises NotAllowed for anyone but a client, Conflict for an amount refused."""
    if client.role is not Role.CLIENT or not client.active:
        raise NotAllowed(_("Only clients top up their balance."))
    amount = check_amount(amount)
    company = company_of(client, create=True)
    now = utcnow()
    proforma = Proforma(number=numbering.take(numbering.PROFORMA, now)["number"],
                        company_id=company.id, amount=amount, currency=company.currency,
                        status=ProformaStatus.OPEN, created_by_id=client.id, created_at=now)
    db.session.add(proforma)
    db.session.flush()
    emails.proforma_issued(proforma)
    return proforma


def proforma_for(user: User, proforma_id: int) -> Proforma:
    """The proforma if `user` may see it (its company's people, managers); else 404."""
    return visible_to(user, Proforma, proforma_id, "proforma")


def payment_for(user: User, payment_id: int) -> Payment:
    return visible_to(user, Payment, payment_id, "payment")


# --- declaring ----------------------------------------------------------------------------------


@dataclass
class Declaration:
    method: PaymentMethod
    reference: str
    amount: int
    proof: FileStorage | None = None


def reference_key(reference: str) -> str:
    """The reference as it is compared: upper case, letters and digits only."""
    return REFERENCE_KEEP.sub("", reference.upper())


def _check_declaration(declaration: Declaration) -> str:
    if declaration.method not in DECLARED_METHODS:
        raise Conflict(_("Choose how you paid from the list."), field="method")
    key = reference_key(declaration.reference)
    if not key:
        raise Conflict(_("Enter the reference of your payment (the transaction number of the "
                         "mobile money, of the transfer, or of the cash receipt)."),
                       field="reference")
    check_amount(declaration.amount)
    taken = db.session.scalar(sa.select(Payment.id).where(
        Payment.method == declaration.method, Payment.reference_key == key,
        Payment.status != PaymentStatus.REJECTED))
    if taken is not None:
        raise Conflict(_("This reference was already used for a payment."), field="reference")
    return key


def _check_open_proforma(client: User, proforma: Proforma) -> None:
    if not is_member(client, proforma.company_id):
        raise NotAllowed(_("This proforma belongs to another company."))
    if proforma.status is not ProformaStatus.OPEN:
        raise Conflict(_("This proforma is already paid or cancelled."))


def declare_for_proforma(client: User, proforma: Proforma,
                         declaration: Declaration) -> Payment:
    """The client says the proforma was paid. Raises NotAllowed for another company's
    proforma, Conflict when it is no longer open, or for a method, reference (empty or already
    used) or amount refused; nothing is then stored."""
    _check_open_proforma(client, proforma)
    return _declare(client, proforma.company_id, declaration, proforma_id=proforma.id)


def declare_for_invoice(client: User, invoice: Invoice, declaration: Declaration) -> Payment:
    """The client says an invoice still due was paid (postpaid companies). Same refusals."""
    if not is_member(client, invoice.company_id):
        raise NotAllowed(_("This invoice belongs to another company."))
    if invoice.due <= 0:
        raise Conflict(_("This invoice is already paid."))
    return _declare(client, invoice.company_id, declaration, invoice_id=invoice.id)


def _declare(client: User, company_id: int, declaration: Declaration, **target) -> Payment:
    key = _check_declaration(declaration)
    payment = Payment(company_id=company_id, amount=declaration.amount,
                      currency=current_app.config["AGENCY_CURRENCY"], method=declaration.method,
                      reference=declaration.reference.strip()[:100], reference_key=key[:100],
                      status=PaymentStatus.DECLARED, declared_by_id=client.id,
                      created_at=utcnow(), **target)
    stored = None
    if declaration.proof is not None and declaration.proof.filename:
        checked = uploads.check_upload(declaration.proof, field="proof")
        try:
            stored = uploads.store(checked.data, checked.media_type)
        except OSError:
            raise Conflict(_("The file could not be stored. Please try again in a moment."),
                           field="proof") from None
        payment.proof_name, payment.proof_stored_name = checked.name, stored
        payment.proof_media_type = checked.media_type
    try:
        db.session.add(payment)
        db.session.flush()
        emails.payment_declared(payment)
    except Exception:
        if stored:
            uploads.discard_file(stored)
        raise
    return payment


# --- deciding -----------------------------------------------------------------------------------


def _decide(payment: Payment, status: PaymentStatus, manager: User | None,
            reason: str = "") -> None:
    """Move the payment out of "declared" (or "pending") once: a second decision finds it
    decided and changes nothing."""
    result = db.session.execute(
        sa.update(Payment)
        .where(Payment.id == payment.id,
               Payment.status.in_((PaymentStatus.DECLARED, PaymentStatus.PENDING)))
        .values(status=status, decided_by_id=manager.id if manager else None,
                decided_at=utcnow(), reject_reason=reason)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.refresh(payment)
        raise Conflict(_("This payment was already %(decision)s.",
                         decision=_("confirmed") if payment.status is PaymentStatus.CONFIRMED
                         else _("rejected")))
    db.session.refresh(payment)


def confirm(payment: Payment, manager: User | None) -> Payment:
    """Confirm a payment (a manager, or None for the provider's notification): the balance is
    credited once, a proforma's invoice is issued (an invoice's due is settled instead), and
    the company's orders waiting for payment go on to the writers when they now fit.

    Raises NotAllowed for a person who is not a manager; Conflict when it was already confirmed
    or rejected (nothing changes: a payment credits once)."""
    if manager is not None:
        require_manager(manager)
    _decide(payment, PaymentStatus.CONFIRMED, manager)
    figures.record(payment.decided_at, paid=payment.amount)
    ledger.post(payment.company_id, EntryKind.TOPUP, key=f"topup:payment:{payment.id}",
                amount=payment.amount, payment_id=payment.id, actor=manager,
                note=payment.reference)
    if payment.proforma_id is not None:
        proforma = db.session.get(Proforma, payment.proforma_id)
        # Paid once; a second payment for it (paid twice by mistake) is money received all
        # the same: credited, with its own deposit invoice.
        db.session.execute(
            sa.update(Proforma).where(Proforma.id == proforma.id,
                                      Proforma.status == ProformaStatus.OPEN)
            .values(status=ProformaStatus.PAID, paid_at=utcnow())
            .execution_options(synchronize_session=False))
        db.session.refresh(proforma)
        invoices.issue_deposit(payment, proforma, manager)
    elif payment.invoice_id is not None:
        invoices.record_payment(db.session.get(Invoice, payment.invoice_id), payment.amount)
    emails.payment_decided(payment)
    ledger.fund_waiting_orders(payment.company_id)
    return payment


def reject(payment: Payment, manager: User, reason: str) -> Payment:
    """Reject a declared payment with a reason, told to the client. Raises NotAllowed for
    anyone but a manager, Conflict without a reason or when it was already decided."""
    require_manager(manager)
    if not reason.strip():
        raise Conflict(_("Say why the payment is rejected."), field="reason")
    _decide(payment, PaymentStatus.REJECTED, manager, reason.strip())
    emails.payment_decided(payment)
    return payment


# --- online, through the provider ---------------------------------------------------------------


def start_checkout(client: User, proforma: Proforma, return_url: str) -> str:
    """Start paying the proforma online: a transaction at the provider for its amount, a
    pending payment that remembers it, and the provider's page to send the client to.

    Raises NotAllowed for another company's proforma or when no provider is configured,
    Conflict when the proforma is no longer open or the provider cannot be reached (nothing
    is stored)."""
    provider = providers.provider()
    if provider is None:
        raise NotAllowed(_("Online payment is not offered."))
    _check_open_proforma(client, proforma)
    try:
        checkout = provider.start(
            amount=proforma.amount, currency=proforma.currency,
            description=_("Proforma %(number)s", number=proforma.number),
            return_url=return_url, metadata={"proforma": proforma.number})
    except providers.ProviderError as error:
        current_app.logger.warning("checkout of %s failed: %s", proforma.number, error)
        raise Conflict(_("The online payment service cannot be reached. Try again in a "
                         "moment, or pay by mobile money and declare it below.")) from None
    reference = f"{provider.name.upper()}-{checkout.provider_ref}"
    payment = Payment(company_id=proforma.company_id, proforma_id=proforma.id,
                      amount=proforma.amount, currency=proforma.currency,
                      method=PaymentMethod.FEDAPAY, reference=reference,
                      reference_key=reference_key(reference), status=PaymentStatus.PENDING,
                      declared_by_id=client.id, provider_ref=checkout.provider_ref,
                      provider_currency=checkout.currency_ref, created_at=utcnow())
    db.session.add(payment)
    db.session.flush()
    return checkout.url


def settle_online(provider_ref: str) -> str:
    """Bring the payment of a provider's transaction up to date from the provider itself (its
    notification said something happened, or the client came back): confirmed when the
    transaction is approved with the amount and currency asked for, rejected when it failed.
    Safe to run any number of times: the payment credits once. Returns what happened
    ("confirmed", "rejected", "pending", "unknown", "already")."""
    provider = providers.provider()
    payment = db.session.scalar(sa.select(Payment).where(Payment.provider_ref == provider_ref))
    if provider is None or payment is None:
        return "unknown"
    if payment.status not in (PaymentStatus.PENDING, PaymentStatus.DECLARED):
        return "already"
    transaction = provider.fetch(provider_ref)
    if transaction.status in ("declined", "canceled", "cancelled", "expired", "refunded"):
        _decide(payment, PaymentStatus.REJECTED, None,
                _("The payment service says: %(status)s.", status=transaction.status))
        emails.payment_decided(payment)
        return "rejected"
    if transaction.status not in ("approved", "transferred"):
        return "pending"
    if transaction.amount != payment.amount or (
            payment.provider_currency and transaction.currency_ref != payment.provider_currency):
        current_app.logger.error("transaction %s: %s %s paid for %s %s asked", provider_ref,
                                 transaction.amount, transaction.currency_ref, payment.amount,
                                 payment.provider_currency)
        return "mismatch"
    try:
        confirm(payment, None)
    except Conflict:  # confirmed meanwhile (the notification and the return crossed)
        return "already"
    return "confirmed"


# --- reading ------------------------------------------------------------------------------------


def awaiting_confirmation(limit: int = 100) -> list[Payment]:
    """Declared payments, oldest first, with their company and what they pay (one
    statement)."""
    return list(db.session.scalars(
        sa.select(Payment)
        .options(joinedload(Payment.company), joinedload(Payment.proforma),
                 joinedload(Payment.invoice), joinedload(Payment.declared_by))
        .where(Payment.status == PaymentStatus.DECLARED)
        .order_by(Payment.created_at, Payment.id).limit(limit)
    ))


def amount_to_add(company: Company, price: int) -> int:
    """What the company must add for an order of `price` to go on."""
    return max(0, price - company.spendable)


def deposit_invoice_of(proforma: Proforma) -> Invoice | None:
    """The (first) invoice of the payment of this proforma."""
    return db.session.scalars(
        sa.select(Invoice).where(Invoice.proforma_id == proforma.id,
                                 Invoice.kind == InvoiceKind.DEPOSIT).order_by(Invoice.id)
    ).first()

