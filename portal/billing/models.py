"""The money of the agency: client companies, their ledger, proformas and payments, numbered
invoices and credit notes with their PDF, and the writers' earnings and payouts.

The money model
---------------

- **Integers only.** Every amount is an integer of the currency's minor unit, with its currency
  code beside it (XOF has no minor unit: 12 500 F CFA is stored as 12500). Percentages are
  integers too (VAT in hundredths of a percent, 1800 = 18 %); rounding is half up, in integers
  (`portal.billing.money`). No float ever touches an amount (tests/unit/test_money_no_float.py
  reads the code for it).
- **A company pays.** Balances, invoices, proformas and payments belong to a `Company`, never
  to a person. People join it through `CompanyMember` (one company per person for now: a unique
  user_id; the owner is the client who signed up).
- **The ledger is append-only.** `LedgerEntry` rows are written, never updated or deleted. Each
  has two effects: `amount` on the company's balance and `held` on what is reserved for open
  orders. So:

      balance   = SUM(amount)          (money in: top-ups, refunds, adjustments; out: captures)
      held      = SUM(held)            (holds of open orders, less their captures and releases)
      available = balance - held

  Kinds: top-up (+amount), hold (+held), capture (-amount, -held: the reserved price becomes
  the agency's), release (-held), refund (±amount, a credit note giving money back), adjustment
  (±amount, a manager with a reason).
- **A stored figure, proven.** `companies.balance` and `companies.held` are the two sums, kept
  in the same statement that guards each entry (a conditional UPDATE, see
  `portal.billing.ledger`), because that row is also the company's lock. Tests (the state
  machine, the per-test check in tests/conftest.py) prove they always equal the sums.
- **Nothing below the credit limit.** `balance - held >= -credit_limit`, checked by the
  services before each change, by the conditional UPDATE itself (so two requests at once cannot
  both pass) and by a CHECK constraint of the database as the last lock. Prepaid companies have
  a credit limit of 0; postpaid ones (trusted clients invoiced monthly) a limit set by a manager.
- **Each order's money, once.** Entries about an order carry a unique key (`hold:order:12`,
  `capture:order:12`, `release:order:12`): an order is held once, captured once, released once,
  whatever runs twice. A payment credits once (`topup:payment:7`).
- **Documents are numbered at issue** in one gapless series per year (FA for invoices, AV for
  credit notes, PF for proformas), from a counter row updated inside the issuing transaction
  (`portal.billing.numbering`). An issued invoice or credit note is never changed (an ORM guard
  refuses it) and its PDF, rendered once at issue, is kept as issued (`Document`).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import User
from portal.extensions import UTCDateTime, db, foreign_key, string_enum, utcnow

if TYPE_CHECKING:
    from portal.orders.models import Order


Money = sa.BigInteger


# --- companies --------------------------------------------------------------------------------


class BillingMode(enum.StrEnum):
    PREPAID = "prepaid"  # orders are paid from the balance before they start (the default)
    POSTPAID = "postpaid"  # trusted clients: orders held against a credit limit, invoiced monthly


BILLING_MODE_LABELS = {
    BillingMode.PREPAID: _l("Prepaid (pay before the work starts)"),
    BillingMode.POSTPAID: _l("Postpaid (monthly invoice, within a credit limit)"),
}


class MemberRole(enum.StrEnum):
    OWNER = "owner"
    MEMBER = "member"


class Company(db.Model):
    """The client's business: who the invoices are made out to and whose balance pays."""

    __tablename__ = "companies"
    __table_args__ = (
        sa.CheckConstraint("credit_limit >= 0", name="credit_limit_positive"),
        sa.CheckConstraint("held >= 0", name="held_positive"),
        sa.CheckConstraint("balance - held >= -credit_limit", name="within_credit"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))  # legal name
    address: Mapped[str] = mapped_column(sa.Text, default="")
    tax_number: Mapped[str] = mapped_column(sa.String(40), default="")  # NIF
    trade_register: Mapped[str] = mapped_column(sa.String(60), default="")  # RCCM
    billing_email: Mapped[str] = mapped_column(sa.String(254), default="")  # else the owner's
    locale: Mapped[str] = mapped_column(sa.String(8), default="fr")  # of its documents
    currency: Mapped[str] = mapped_column(sa.String(3))
    billing_mode: Mapped[BillingMode] = mapped_column(
        string_enum(BillingMode, "billing_mode"), default=BillingMode.PREPAID)
    credit_limit: Mapped[int] = mapped_column(Money, default=0, server_default=sa.text("0"))
    # The sums of the ledger, kept with each entry (see the module's docstring).
    balance: Mapped[int] = mapped_column(Money, default=0, server_default=sa.text("0"))
    held: Mapped[int] = mapped_column(Money, default=0, server_default=sa.text("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<Company {self.id} {self.name!r}>"

    @property
    def available(self) -> int:
        return self.balance - self.held

    @property
    def spendable(self) -> int:
        """What a new order may hold now: the available balance plus the credit limit."""
        return self.balance - self.held + self.credit_limit


class CompanyMember(db.Model):
    """A person of a company. One company per person for now (user_id is unique); a later issue
    lets several people share one company, each with a role in it."""

    __tablename__ = "company_members"

    company_id: Mapped[int] = foreign_key("companies.id", "CASCADE", primary_key=True)
    user_id: Mapped[int] = foreign_key("users.id", "CASCADE", primary_key=True, unique=True)
    role: Mapped[MemberRole] = mapped_column(string_enum(MemberRole, "member_role"),
                                                    default=MemberRole.OWNER)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    company: Mapped[Company] = relationship()
    user: Mapped[User] = relationship()


# --- the ledger -------------------------------------------------------------------------------


class EntryKind(enum.StrEnum):
    TOPUP = "topup"
    HOLD = "hold"
    CAPTURE = "capture"
    RELEASE = "release"
    REFUND = "refund"
    ADJUSTMENT = "adjustment"


ENTRY_LABELS = {
    EntryKind.TOPUP: _l("Payment received"),
    EntryKind.HOLD: _l("Reserved for an order"),
    EntryKind.CAPTURE: _l("Order charged"),
    EntryKind.RELEASE: _l("Reservation released"),
    EntryKind.REFUND: _l("Refund (credit note)"),
    EntryKind.ADJUSTMENT: _l("Adjustment by the agency"),
}


class LedgerEntry(db.Model):
    """One line of a company's account. Written once, never changed."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        sa.Index("ix_ledger_entries_company_id_created_at_id", "company_id", "created_at", "id"),
        sa.Index("ix_ledger_entries_kind_created_at", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = foreign_key("companies.id", "RESTRICT")
    kind: Mapped[EntryKind] = mapped_column(string_enum(EntryKind, "entry_kind"))
    amount: Mapped[int] = mapped_column(Money, default=0)  # on the balance
    held: Mapped[int] = mapped_column(Money, default=0)  # on what is reserved
    currency: Mapped[str] = mapped_column(sa.String(3))
    order_id: Mapped[int | None] = foreign_key("orders.id", "RESTRICT", index=True)
    payment_id: Mapped[int | None] = foreign_key("payments.id", "RESTRICT", index=True)
    credit_note_id: Mapped[int | None] = foreign_key("credit_notes.id", "RESTRICT", index=True)
    actor_id: Mapped[int | None] = foreign_key("users.id", "SET NULL")
    note: Mapped[str] = mapped_column(sa.Text, default="")
    # What the entry is about, once: "hold:order:12", "topup:payment:7"…
    key: Mapped[str] = mapped_column(sa.String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    actor: Mapped[User | None] = relationship()


class DocumentCounter(db.Model):
    """The last number given in a series (FA, AV, PF) for a year."""

    __tablename__ = "document_counters"

    series: Mapped[str] = mapped_column(sa.String(4), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(default=0)


class Document(db.Model):
    """A PDF as it was issued (an invoice, a credit note): kept, never rendered again."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(sa.String(120))
    media_type: Mapped[str] = mapped_column(sa.String(100), default="application/pdf")
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# --- proformas and payments -------------------------------------------------------------------


class ProformaStatus(enum.StrEnum):
    OPEN = "open"
    PAID = "paid"
    CANCELLED = "cancelled"


class Proforma(db.Model):
    """A request for money: the amount to pay, with the agency's payment instructions and its
    number as the reference to quote. Paying it credits the balance and issues an invoice."""

    __tablename__ = "proformas"
    __table_args__ = (
        sa.Index("ix_proformas_company_id_created_at", "company_id", "created_at"),
        sa.Index("ix_proformas_status_created_at", "status", "created_at"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    company_id: Mapped[int] = foreign_key("companies.id", "RESTRICT")
    amount: Mapped[int] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(sa.String(3))
    status: Mapped[ProformaStatus] = mapped_column(string_enum(ProformaStatus, "proforma_status"),
                                                          default=ProformaStatus.OPEN)
    created_by_id: Mapped[int | None] = foreign_key("users.id", "SET NULL")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    company: Mapped[Company] = relationship()


class PaymentMethod(enum.StrEnum):
    FLOOZ = "flooz"  # Moov Africa's mobile money
    MIXX = "mixx"  # Mixx by Yas (formerly T-Money)
    BANK_TRANSFER = "bank_transfer"
    CASH = "cash"
    FEDAPAY = "fedapay"  # paid through the aggregator's checkout


METHOD_LABELS = {
    PaymentMethod.FLOOZ: _l("Flooz (Moov Africa)"),
    PaymentMethod.MIXX: _l("Mixx by Yas"),
    PaymentMethod.BANK_TRANSFER: _l("Bank transfer"),
    PaymentMethod.CASH: _l("Cash"),
    PaymentMethod.FEDAPAY: _l("Online (FedaPay)"),
}
# What a client may declare by hand (the online payment declares itself).
DECLARED_METHODS = (PaymentMethod.FLOOZ, PaymentMethod.MIXX, PaymentMethod.BANK_TRANSFER,
                    PaymentMethod.CASH)


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"  # started at the payment provider, not finished
    DECLARED = "declared"  # the client says it paid; a manager checks
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


PAYMENT_STATUS_LABELS = {
    PaymentStatus.PENDING: _l("Waiting for the payment provider"),
    PaymentStatus.DECLARED: _l("Waiting for confirmation"),
    PaymentStatus.CONFIRMED: _l("Confirmed"),
    PaymentStatus.REJECTED: _l("Rejected"),
}


class Payment(db.Model):
    """Money a company says it sent (or the provider says it received), for a proforma or an
    unpaid invoice. Only a confirmed payment credits the ledger, once."""

    __tablename__ = "payments"
    __table_args__ = (
        sa.Index("ix_payments_status_created_at", "status", "created_at"),
        sa.Index("ix_payments_status_decided_at", "status", "decided_at"),
        sa.Index("ix_payments_company_id_created_at", "company_id", "created_at"),
        # A reference (a mobile-money transaction id, a transfer's reference) pays once: unique
        # per method among the payments not rejected.
        sa.Index("uq_payments_method_reference_key", "method", "reference_key", unique=True,
                 sqlite_where=sa.text("status <> 'rejected'"),
                 postgresql_where=sa.text("status <> 'rejected'")),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = foreign_key("companies.id", "RESTRICT")
    proforma_id: Mapped[int | None] = foreign_key("proformas.id", "RESTRICT", index=True)
    invoice_id: Mapped[int | None] = foreign_key("invoices.id", "RESTRICT", index=True)
    amount: Mapped[int] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(sa.String(3))
    method: Mapped[PaymentMethod] = mapped_column(string_enum(PaymentMethod, "payment_method"))
    reference: Mapped[str] = mapped_column(sa.String(100))
    # The reference as compared: upper case, without spaces or dashes.
    reference_key: Mapped[str] = mapped_column(sa.String(100))
    status: Mapped[PaymentStatus] = mapped_column(string_enum(PaymentStatus, "payment_status"),
                                                         default=PaymentStatus.DECLARED)
    proof_name: Mapped[str | None] = mapped_column(sa.String(255))
    proof_stored_name: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    proof_media_type: Mapped[str | None] = mapped_column(sa.String(100))
    declared_by_id: Mapped[int | None] = foreign_key("users.id", "SET NULL")
    decided_by_id: Mapped[int | None] = foreign_key("users.id", "SET NULL")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reject_reason: Mapped[str] = mapped_column(sa.Text, default="")
    # The provider's own id of the transaction (FedaPay): a webhook delivered twice finds it.
    provider_ref: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    provider_currency: Mapped[str | None] = mapped_column(sa.String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    company: Mapped[Company] = relationship()
    proforma: Mapped[Proforma | None] = relationship()
    invoice: Mapped[Invoice | None] = relationship(foreign_keys=[invoice_id])
    declared_by: Mapped[User | None] = relationship(foreign_keys=[declared_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


# --- invoices and credit notes ----------------------------------------------------------------


class InvoiceKind(enum.StrEnum):
    DEPOSIT = "deposit"  # a top-up received (facture d'acompte)
    ORDERS = "orders"  # approved orders (one at approval if prepaid, a month's if postpaid)


class Invoice(db.Model):
    """A numbered invoice. Everything it says is frozen at issue (the agency's and the
    company's identities included, as they were then); only what has been paid and credited
    since moves."""

    __tablename__ = "invoices"
    __table_args__ = (
        sa.UniqueConstraint("year", "sequence", name="uq_invoices_year_sequence"),
        sa.Index("ix_invoices_company_id_issued_at_id", "company_id", "issued_at", "id"),
        sa.Index("ix_invoices_issued_at", "issued_at"),
        # The invoices still owed (the finance page's total, a company's account, in order).
        sa.Index("ix_invoices_company_id_unsettled", "company_id", "issued_at", "id",
                 sqlite_where=sa.text("settled_at IS NULL"),
                 postgresql_where=sa.text("settled_at IS NULL")),
        # A company's monthly invoice is issued once.
        sa.Index("uq_invoices_company_id_period", "company_id", "period", unique=True,
                 sqlite_where=sa.text("period IS NOT NULL"),
                 postgresql_where=sa.text("period IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    year: Mapped[int]
    sequence: Mapped[int]
    kind: Mapped[InvoiceKind] = mapped_column(string_enum(InvoiceKind, "invoice_kind"))
    company_id: Mapped[int] = foreign_key("companies.id", "RESTRICT")
    currency: Mapped[str] = mapped_column(sa.String(3))
    locale: Mapped[str] = mapped_column(sa.String(8))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    period: Mapped[str | None] = mapped_column(sa.String(7))  # "2026-11" for a monthly invoice
    seller: Mapped[dict] = mapped_column(sa.JSON)
    buyer: Mapped[dict] = mapped_column(sa.JSON)
    vat_rate: Mapped[int] = mapped_column(default=0)  # hundredths of a percent: 1800 = 18 %
    total_excl_vat: Mapped[int] = mapped_column(Money)
    total_vat: Mapped[int] = mapped_column(Money)
    total: Mapped[int] = mapped_column(Money)  # VAT included
    # Settled at issue from the prepaid balance (or by the payment of a deposit).
    paid_at_issue: Mapped[int] = mapped_column(Money, default=0)
    # A deposit invoice: the proforma whose payment it acknowledges.
    proforma_id: Mapped[int | None] = foreign_key("proformas.id", "RESTRICT", index=True)
    document_id: Mapped[int | None] = foreign_key("documents.id", "RESTRICT")
    created_by_id: Mapped[int | None] = foreign_key("users.id", "SET NULL")
    # What moves after issue (never the document): payments received, credit notes issued.
    paid: Mapped[int] = mapped_column(Money, default=0)
    credited: Mapped[int] = mapped_column(Money, default=0)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    company: Mapped[Company] = relationship()
    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.position")
    document: Mapped[Document | None] = relationship()

    MUTABLE = frozenset({"paid", "credited", "settled_at", "document_id"})

    @property
    def due(self) -> int:
        """What is still to pay: the total less payments and credit notes (never below 0)."""
        return max(0, self.total - self.paid - self.credited)

    @property
    def creditable(self) -> int:
        """What a credit note may still cancel of it."""
        return self.total - self.credited


class InvoiceLine(db.Model):
    """A line of an invoice: an order (reference, title, words, price per word, rush surcharge)
    or a deposit. Amounts VAT included, with their share without VAT."""

    __tablename__ = "invoice_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = foreign_key("invoices.id", "RESTRICT", index=True)
    position: Mapped[int]
    order_id: Mapped[int | None] = foreign_key("orders.id", "RESTRICT", index=True)
    # The capture it bills: a capture is invoiced once.
    entry_id: Mapped[int | None] = foreign_key("ledger_entries.id", "RESTRICT", unique=True)
    reference: Mapped[str] = mapped_column(sa.String(40), default="")
    description: Mapped[str] = mapped_column(sa.String(300))
    words: Mapped[int | None]
    price_per_word: Mapped[int | None] = mapped_column(Money)
    rush_surcharge: Mapped[int] = mapped_column(Money, default=0)
    amount_excl_vat: Mapped[int] = mapped_column(Money)
    amount: Mapped[int] = mapped_column(Money)

    invoice: Mapped[Invoice] = relationship(back_populates="lines")


class CreditNote(db.Model):
    """A numbered credit note cancelling all or part of an invoice. Frozen at issue."""

    __tablename__ = "credit_notes"
    __table_args__ = (
        sa.UniqueConstraint("year", "sequence", name="uq_credit_notes_year_sequence"),
        sa.Index("ix_credit_notes_company_id_issued_at", "company_id", "issued_at"),
        sa.Index("ix_credit_notes_issued_at", "issued_at"),
        sa.CheckConstraint("total > 0", name="total_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    year: Mapped[int]
    sequence: Mapped[int]
    invoice_id: Mapped[int] = foreign_key("invoices.id", "RESTRICT", index=True)
    company_id: Mapped[int] = foreign_key("companies.id", "RESTRICT")
    currency: Mapped[str] = mapped_column(sa.String(3))
    locale: Mapped[str] = mapped_column(sa.String(8))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    seller: Mapped[dict] = mapped_column(sa.JSON)
    buyer: Mapped[dict] = mapped_column(sa.JSON)
    vat_rate: Mapped[int] = mapped_column(default=0)
    total_excl_vat: Mapped[int] = mapped_column(Money)
    total_vat: Mapped[int] = mapped_column(Money)
    total: Mapped[int] = mapped_column(Money)
    reason: Mapped[str] = mapped_column(sa.Text)
    # Of the total: what no longer has to be paid, and what goes back to the balance.
    cancels_due: Mapped[int] = mapped_column(Money, default=0)
    refunded: Mapped[int] = mapped_column(Money, default=0)
    document_id: Mapped[int | None] = foreign_key("documents.id", "RESTRICT")
    created_by_id: Mapped[int | None] = foreign_key("users.id", "SET NULL")

    invoice: Mapped[Invoice] = relationship()
    company: Mapped[Company] = relationship()
    document: Mapped[Document | None] = relationship()

    MUTABLE = frozenset({"document_id"})


# --- writers' earnings ------------------------------------------------------------------------


class PayoutBatch(db.Model):
    """Payouts a manager made together: who was paid, how, with which reference."""

    __tablename__ = "payout_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int | None] = foreign_key("users.id", "SET NULL")
    note: Mapped[str] = mapped_column(sa.Text, default="")
    total: Mapped[int] = mapped_column(Money, default=0)
    currency: Mapped[str] = mapped_column(sa.String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    created_by: Mapped[User | None] = relationship()
    payouts: Mapped[list[Payout]] = relationship(back_populates="batch", order_by="Payout.id")


class Payout(db.Model):
    """Money sent to one writer in a batch: the sum of the earnings it pays."""

    __tablename__ = "payouts"
    __table_args__ = (
        sa.UniqueConstraint("batch_id", "writer_id", name="uq_payouts_batch_id_writer_id"),
        sa.Index("ix_payouts_writer_id_created_at", "writer_id", "created_at"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = foreign_key("payout_batches.id", "RESTRICT")
    writer_id: Mapped[int] = foreign_key("users.id", "RESTRICT")
    amount: Mapped[int] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(sa.String(3))
    method: Mapped[PaymentMethod] = mapped_column(string_enum(PaymentMethod, "payment_method"))
    reference: Mapped[str] = mapped_column(sa.String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    batch: Mapped[PayoutBatch] = relationship(back_populates="payouts")
    writer: Mapped[User] = relationship()


class WriterEarning(db.Model):
    """A writer's frozen pay for an approved order: earned at approval, paid by a payout."""

    __tablename__ = "writer_earnings"
    __table_args__ = (
        sa.Index("ix_writer_earnings_writer_id_earned_at_id", "writer_id", "earned_at", "id"),
        sa.Index("ix_writer_earnings_payout_id_writer_id", "payout_id", "writer_id"),
        sa.Index("ix_writer_earnings_earned_at", "earned_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    writer_id: Mapped[int] = foreign_key("users.id", "RESTRICT")
    order_id: Mapped[int] = foreign_key("orders.id", "RESTRICT", unique=True)
    amount: Mapped[int] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(sa.String(3))
    earned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    payout_id: Mapped[int | None] = foreign_key("payouts.id", "RESTRICT")

    payout: Mapped[Payout | None] = relationship()
    order: Mapped[Order] = relationship("Order")


class FinanceFigure(db.Model):
    """One of the agency's figures on the finance page (portal.billing.figures): a month's
    (invoiced, deposits, credited, paid; sales and writer pay per tier) or a running total
    (held, advances, receivable: month ""), kept by folding finance_deltas into it."""

    __tablename__ = "finance_figures"

    zone: Mapped[str] = mapped_column(sa.String(64), primary_key=True)  # AGENCY_TIMEZONE
    month: Mapped[str] = mapped_column(sa.String(7), primary_key=True)  # "2026-11", or ""
    # The tier's id, 0 for none; not a foreign key: a figure outlives nothing it names.
    tier_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    figure: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    amount: Mapped[int] = mapped_column(Money)


class FinanceDelta(db.Model):
    """What one change adds to a figure, written in the change's transaction, until the mail
    worker folds it into finance_figures (portal.billing.figures)."""

    __tablename__ = "finance_deltas"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    tier_id: Mapped[int]  # 0 for none
    figure: Mapped[str] = mapped_column(sa.String(16))
    amount: Mapped[int] = mapped_column(Money)
