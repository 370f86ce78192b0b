"""Emails about money, each an outbox row in the transaction of the change behind it.

They always go (like the account's security emails): an invoice, a credit note, a payment's
fate are documents of record, not notifications a person may turn off. Each is written in its
reader's language (the company's for its documents) and keyed on what it is about, so it goes
once. Invoices and credit notes carry their PDF as it was issued.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.accounts.models import User
from portal.billing.companies import billing_address, owner_of
from portal.billing.models import (
    METHOD_LABELS,
    Company,
    CreditNote,
    Invoice,
    InvoiceKind,
    Payment,
    PaymentStatus,
    Payout,
    Proforma,
)
from portal.extensions import db
from portal.i18n import format_money
from portal.notifications.outbox import external_url, queue_email
from portal.notifications.service import active_managers


def _to_company(company: Company, *, kind: str, key: str, subject, lines: list, button,
                link: str, document_id: int | None = None, quote: str = "") -> None:
    owner = owner_of(company)
    address = billing_address(company)
    if not address:
        return
    queue_email(kind=kind, key=key, to=address, user_id=owner.id if owner else None,
                locale=company.locale, subject=subject, name=company.name, lines=lines,
                button=button, link=link, quote=quote, document_id=document_id)


class _Amount:
    """An amount formatted in the language current when it is turned into text."""

    def __init__(self, amount: int, currency: str) -> None:
        self.amount, self.currency = amount, currency

    def __str__(self) -> str:
        return format_money(self.amount, self.currency)


def proforma_issued(proforma: Proforma) -> None:
    company = proforma.company
    amount = _Amount(proforma.amount, proforma.currency)
    _to_company(
        company, kind="proforma_issued", key=f"proforma:{proforma.id}",
        subject=_l("Proforma %(number)s: %(amount)s to pay", number=proforma.number,
                   amount=amount),
        lines=[_l("Here is the proforma %(number)s for %(amount)s. Pay it by mobile money, "
                  "transfer or cash, quoting %(number)s as the reference, then tell us on its "
                  "page how you paid.", number=proforma.number, amount=amount)],
        button=_l("See how to pay"),
        link=external_url("billing.proforma", proforma_id=proforma.id))


def payment_declared(payment: Payment) -> None:
    company = db.session.get(Company, payment.company_id)
    amount = _Amount(payment.amount, payment.currency)
    what = payment.proforma.number if payment.proforma else \
        payment.invoice.number if payment.invoice else ""
    for manager in active_managers():
        queue_email(
            kind="payment_declared", key=f"payment-declared:{payment.id}:{manager.id}",
            to=manager.email, user_id=manager.id, locale=manager.locale,
            subject=_l("Payment to confirm: %(amount)s from %(company)s", amount=amount,
                       company=company.name),
            name=manager.display_name,
            lines=[_l("%(company)s says it paid %(amount)s for %(what)s by %(method)s, "
                      "reference %(reference)s.", company=company.name, amount=amount,
                      what=what, method=METHOD_LABELS[payment.method],
                      reference=payment.reference),
                   _l("Check that the money arrived, then confirm or reject the payment.")],
            button=_l("Payments to confirm"), link=external_url("finance.payment_list"),
            quote="", document_id=None)


def payment_decided(payment: Payment) -> None:
    company = db.session.get(Company, payment.company_id)
    amount = _Amount(payment.amount, payment.currency)
    if payment.status is PaymentStatus.CONFIRMED:
        _to_company(
            company, kind="payment_confirmed", key=f"payment-confirmed:{payment.id}",
            subject=_l("Payment received: %(amount)s", amount=amount),
            lines=[_l("We received your payment of %(amount)s (reference %(reference)s). Your "
                      "balance is credited; orders waiting for payment go to the writers.",
                      amount=amount, reference=payment.reference)],
            button=_l("My account"), link=external_url("billing.account"))
    else:
        _to_company(
            company, kind="payment_rejected", key=f"payment-rejected:{payment.id}",
            subject=_l("Payment not confirmed: %(amount)s", amount=amount),
            lines=[_l("We could not confirm your payment of %(amount)s (reference "
                      "%(reference)s). The reason:", amount=amount,
                      reference=payment.reference)],
            quote=payment.reject_reason,
            button=_l("My account"), link=external_url("billing.account"))


def invoice_issued(invoice: Invoice) -> None:
    company = db.session.get(Company, invoice.company_id)
    amount = _Amount(invoice.total, invoice.currency)
    if invoice.kind is InvoiceKind.DEPOSIT:
        line = _l("Here is the invoice %(number)s for your payment of %(amount)s.",
                  number=invoice.number, amount=amount)
    elif invoice.due:
        line = _l("Here is the invoice %(number)s of %(amount)s; %(due)s is to pay.",
                  number=invoice.number, amount=amount,
                  due=_Amount(invoice.due, invoice.currency))
    else:
        line = _l("Here is the invoice %(number)s of %(amount)s, paid from your prepaid "
                  "balance.", number=invoice.number, amount=amount)
    _to_company(company, kind="invoice_issued", key=f"invoice:{invoice.id}",
                subject=_l("Invoice %(number)s", number=invoice.number),
                lines=[line, _l("The invoice is attached as a PDF.")],
                button=_l("See the invoice"),
                link=external_url("billing.invoice", invoice_id=invoice.id),
                document_id=invoice.document_id)


def credit_note_issued(note: CreditNote) -> None:
    company = db.session.get(Company, note.company_id)
    amount = _Amount(note.total, note.currency)
    _to_company(company, kind="credit_note_issued", key=f"credit-note:{note.id}",
                subject=_l("Credit note %(number)s", number=note.number),
                lines=[_l("Here is the credit note %(number)s of %(amount)s for the invoice "
                          "%(invoice)s. The reason:", number=note.number, amount=amount,
                          invoice=note.invoice.number),
                       _l("The credit note is attached as a PDF.")],
                quote=note.reason, button=_l("See the invoice"),
                link=external_url("billing.invoice", invoice_id=note.invoice_id),
                document_id=note.document_id)


def payout_sent(payout: Payout, writer: User) -> None:
    if writer.is_erased:  # paid what they were still owed; their address is gone
        return
    amount = _Amount(payout.amount, payout.currency)
    queue_email(kind="payout_sent", key=f"payout:{payout.id}", to=writer.email,
                user_id=writer.id, locale=writer.locale,
                subject=_l("Payout sent: %(amount)s", amount=amount),
                name=writer.display_name,
                lines=[_l("We sent you %(amount)s by %(method)s (reference %(reference)s) for "
                          "your approved orders.", amount=amount,
                          method=METHOD_LABELS[payout.method],
                          reference=payout.reference or "-")],
                button=_l("My earnings"), link=external_url("earnings.index"), quote="",
                document_id=None)
