"""the companies' ledger, proformas, payments, numbered invoices and credit notes (issue 11)

Revision ID: 0011_ledger_documents
Revises: 0010_companies
Create Date: 2026-12-02 06:10:00

- `ledger_entries`: append-only; each entry moves the balance (`amount`) and what is reserved
  (`held`), under a unique `key` (an order is held, captured and released once; a payment
  credits once). Read per company newest first (ix_ledger_entries_company_id_created_at_id).
- `document_counters`: the last number of each series (FA, AV, PF) per year, taken inside the
  issuing transaction (gapless).
- `documents`: PDFs as they were issued; `outbox_emails.document_id` attaches one to an email.
- `proformas`, `payments` (a reference pays once per method among those not rejected: a partial
  unique index; a provider's transaction id once), `invoices` (unique year and sequence, one
  monthly invoice per company and month: a partial unique index), `invoice_lines` (a capture is
  billed once), `credit_notes`.

Money columns are BIGINT: integers of the currency's minor unit.

Written by hand. Downgrade drops the column and the tables.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_ledger_documents'
down_revision = '0010_companies'
branch_labels = None
depends_on = None

NOT_REJECTED = sa.text("status <> 'rejected'")
MONTHLY = sa.text('period IS NOT NULL')


def upgrade():
    op.create_table('documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=120), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents'))
    )
    op.create_table('document_counters',
    sa.Column('series', sa.String(length=4), nullable=False),
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('series', 'year', name=op.f('pk_document_counters'))
    )
    op.create_table('proformas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.Enum('open', 'paid', 'cancelled', name='proforma_status', native_enum=False, length=20), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('amount > 0', name=op.f('ck_proformas_amount_positive')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_proformas_company_id_companies'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_proformas_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proformas')),
    sa.UniqueConstraint('number', name=op.f('uq_proformas_number'))
    )
    op.create_index('ix_proformas_company_id_created_at', 'proformas', ['company_id', 'created_at'], unique=False)
    op.create_index('ix_proformas_status_created_at', 'proformas', ['status', 'created_at'], unique=False)
    op.create_table('invoices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('deposit', 'orders', name='invoice_kind', native_enum=False, length=20), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=True),
    sa.Column('seller', sa.JSON(), nullable=False),
    sa.Column('buyer', sa.JSON(), nullable=False),
    sa.Column('vat_rate', sa.Integer(), nullable=False),
    sa.Column('total_excl_vat', sa.BigInteger(), nullable=False),
    sa.Column('total_vat', sa.BigInteger(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('paid_at_issue', sa.BigInteger(), nullable=False),
    sa.Column('proforma_id', sa.Integer(), nullable=True),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('paid', sa.BigInteger(), nullable=False),
    sa.Column('credited', sa.BigInteger(), nullable=False),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_invoices_company_id_companies'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_invoices_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_invoices_document_id_documents'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['proforma_id'], ['proformas.id'], name=op.f('fk_invoices_proforma_id_proformas'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoices')),
    sa.UniqueConstraint('number', name=op.f('uq_invoices_number')),
    sa.UniqueConstraint('year', 'sequence', name='uq_invoices_year_sequence')
    )
    op.create_index('ix_invoices_company_id_issued_at_id', 'invoices', ['company_id', 'issued_at', 'id'], unique=False)
    op.create_index('ix_invoices_issued_at', 'invoices', ['issued_at'], unique=False)
    op.create_index(op.f('ix_invoices_proforma_id'), 'invoices', ['proforma_id'], unique=False)
    op.create_index('uq_invoices_company_id_period', 'invoices', ['company_id', 'period'], unique=True,
                    sqlite_where=MONTHLY, postgresql_where=MONTHLY)
    op.create_table('payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('proforma_id', sa.Integer(), nullable=True),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('method', sa.Enum('flooz', 'mixx', 'bank_transfer', 'cash', 'fedapay', name='payment_method', native_enum=False, length=20), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('reference_key', sa.String(length=100), nullable=False),
    sa.Column('status', sa.Enum('pending', 'declared', 'confirmed', 'rejected', name='payment_status', native_enum=False, length=20), nullable=False),
    sa.Column('proof_name', sa.String(length=255), nullable=True),
    sa.Column('proof_stored_name', sa.String(length=64), nullable=True),
    sa.Column('proof_media_type', sa.String(length=100), nullable=True),
    sa.Column('declared_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reject_reason', sa.Text(), nullable=False),
    sa.Column('provider_ref', sa.String(length=100), nullable=True),
    sa.Column('provider_currency', sa.String(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_payments_amount_positive')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_payments_company_id_companies'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_payments_decided_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['declared_by_id'], ['users.id'], name=op.f('fk_payments_declared_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_payments_invoice_id_invoices'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['proforma_id'], ['proformas.id'], name=op.f('fk_payments_proforma_id_proformas'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('proof_stored_name', name=op.f('uq_payments_proof_stored_name')),
    sa.UniqueConstraint('provider_ref', name=op.f('uq_payments_provider_ref'))
    )
    op.create_index('ix_payments_company_id_created_at', 'payments', ['company_id', 'created_at'], unique=False)
    op.create_index(op.f('ix_payments_invoice_id'), 'payments', ['invoice_id'], unique=False)
    op.create_index(op.f('ix_payments_proforma_id'), 'payments', ['proforma_id'], unique=False)
    op.create_index('ix_payments_status_created_at', 'payments', ['status', 'created_at'], unique=False)
    op.create_index('uq_payments_method_reference_key', 'payments', ['method', 'reference_key'], unique=True,
                    sqlite_where=NOT_REJECTED, postgresql_where=NOT_REJECTED)
    op.create_table('credit_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seller', sa.JSON(), nullable=False),
    sa.Column('buyer', sa.JSON(), nullable=False),
    sa.Column('vat_rate', sa.Integer(), nullable=False),
    sa.Column('total_excl_vat', sa.BigInteger(), nullable=False),
    sa.Column('total_vat', sa.BigInteger(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('cancels_due', sa.BigInteger(), nullable=False),
    sa.Column('refunded', sa.BigInteger(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('total > 0', name=op.f('ck_credit_notes_total_positive')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_credit_notes_company_id_companies'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_credit_notes_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_credit_notes_document_id_documents'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_credit_notes_invoice_id_invoices'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_notes')),
    sa.UniqueConstraint('number', name=op.f('uq_credit_notes_number')),
    sa.UniqueConstraint('year', 'sequence', name='uq_credit_notes_year_sequence')
    )
    op.create_index('ix_credit_notes_company_id_issued_at', 'credit_notes', ['company_id', 'issued_at'], unique=False)
    op.create_index(op.f('ix_credit_notes_invoice_id'), 'credit_notes', ['invoice_id'], unique=False)
    op.create_table('ledger_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('topup', 'hold', 'capture', 'release', 'refund', 'adjustment', name='entry_kind', native_enum=False, length=20), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('held', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('credit_note_id', sa.Integer(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_ledger_entries_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_ledger_entries_company_id_companies'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['credit_note_id'], ['credit_notes.id'], name=op.f('fk_ledger_entries_credit_note_id_credit_notes'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_ledger_entries_order_id_orders'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_ledger_entries_payment_id_payments'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entries')),
    sa.UniqueConstraint('key', name=op.f('uq_ledger_entries_key'))
    )
    op.create_index('ix_ledger_entries_company_id_created_at_id', 'ledger_entries', ['company_id', 'created_at', 'id'], unique=False)
    op.create_index(op.f('ix_ledger_entries_credit_note_id'), 'ledger_entries', ['credit_note_id'], unique=False)
    op.create_index('ix_ledger_entries_kind_created_at', 'ledger_entries', ['kind', 'created_at'], unique=False)
    op.create_index(op.f('ix_ledger_entries_order_id'), 'ledger_entries', ['order_id'], unique=False)
    op.create_index(op.f('ix_ledger_entries_payment_id'), 'ledger_entries', ['payment_id'], unique=False)
    op.create_table('invoice_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.Column('reference', sa.String(length=40), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('words', sa.Integer(), nullable=True),
    sa.Column('price_per_word', sa.BigInteger(), nullable=True),
    sa.Column('rush_surcharge', sa.BigInteger(), nullable=False),
    sa.Column('amount_excl_vat', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entries.id'], name=op.f('fk_invoice_lines_entry_id_ledger_entries'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_lines_invoice_id_invoices'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_invoice_lines_order_id_orders'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_lines')),
    sa.UniqueConstraint('entry_id', name=op.f('uq_invoice_lines_entry_id'))
    )
    op.create_index(op.f('ix_invoice_lines_invoice_id'), 'invoice_lines', ['invoice_id'], unique=False)
    op.create_index(op.f('ix_invoice_lines_order_id'), 'invoice_lines', ['order_id'], unique=False)
    with op.batch_alter_table('outbox_emails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('document_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_outbox_emails_document_id_documents'), 'documents',
                                    ['document_id'], ['id'], ondelete='RESTRICT')


def downgrade():
    with op.batch_alter_table('outbox_emails', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_outbox_emails_document_id_documents'), type_='foreignkey')
        batch_op.drop_column('document_id')
    op.drop_table('invoice_lines')
    op.drop_table('ledger_entries')
    op.drop_table('credit_notes')
    op.drop_table('payments')
    op.drop_table('invoices')
    op.drop_table('proformas')
    op.drop_table('document_counters')
    op.drop_table('documents')
