"""the finance page's ended months, stored; indexes that bound its statements (issue 14)

Revision ID: 0021_finance_months
Revises: 0020_message_html_version
Create Date: 2026-12-03 08:30:00

- `finance_months`: the figures of an ended month (invoiced, deposits, credited, paid, sales,
  writer pay, and sales and pay per tier as JSON) per agency time zone and month ("2026-11"),
  written at the first view of the finance page after the month ended
  (portal.billing.figures). Empty here: the page fills it.
- Indexes so that the page reads the current month and today's figures without scanning the
  history: invoices still owed (partial, `settled_at IS NULL`, by company), credit notes by
  date of issue, payments by status and date of decision, writers' earnings by date.

Written by hand. Downgrade drops the table and the indexes.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021_finance_months'
down_revision = '0020_message_html_version'
branch_labels = None
depends_on = None

UNSETTLED = sa.text('settled_at IS NULL')


def upgrade():
    op.create_table('finance_months',
    sa.Column('zone', sa.String(length=64), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('invoiced', sa.BigInteger(), nullable=False),
    sa.Column('deposits', sa.BigInteger(), nullable=False),
    sa.Column('credited', sa.BigInteger(), nullable=False),
    sa.Column('paid', sa.BigInteger(), nullable=False),
    sa.Column('sales', sa.BigInteger(), nullable=False),
    sa.Column('writer_pay', sa.BigInteger(), nullable=False),
    sa.Column('tiers', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('zone', 'month', name=op.f('pk_finance_months'))
    )
    op.create_index('ix_invoices_company_id_unsettled', 'invoices', ['company_id'], unique=False,
                    sqlite_where=UNSETTLED, postgresql_where=UNSETTLED)
    op.create_index('ix_credit_notes_issued_at', 'credit_notes', ['issued_at'], unique=False)
    op.create_index('ix_payments_status_decided_at', 'payments', ['status', 'decided_at'],
                    unique=False)
    op.create_index('ix_writer_earnings_earned_at', 'writer_earnings', ['earned_at'],
                    unique=False)


def downgrade():
    op.drop_index('ix_writer_earnings_earned_at', table_name='writer_earnings')
    op.drop_index('ix_payments_status_decided_at', table_name='payments')
    op.drop_index('ix_credit_notes_issued_at', table_name='credit_notes')
    op.drop_index('ix_invoices_company_id_unsettled', table_name='invoices')
    op.drop_table('finance_months')
