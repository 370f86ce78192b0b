"""invoices still owed, by company and date of issue (issue 14)

Revision ID: 0022_unsettled_by_date
Revises: 0021_finance_months
Create Date: 2026-12-03 15:00:00

- `ix_invoices_company_id_unsettled` (partial, `settled_at IS NULL`) gains `issued_at` and
  `id`: a client's account lists the invoices it still owes in order of issue. On the company
  alone, SQLite preferred `ix_invoices_company_id_issued_at_id` for its order and walked every
  invoice of the company to find the few still owed (the account page grew 1.4 times from a
  tenth of the benchmark's data to its full size); this index gives both.

Written by hand. Downgrade puts the index back on the company alone.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022_unsettled_by_date'
down_revision = '0021_finance_months'
branch_labels = None
depends_on = None

UNSETTLED = sa.text('settled_at IS NULL')


def _index(columns):
    op.drop_index('ix_invoices_company_id_unsettled', table_name='invoices')
    op.create_index('ix_invoices_company_id_unsettled', 'invoices', columns, unique=False,
                    sqlite_where=UNSETTLED, postgresql_where=UNSETTLED)


def upgrade():
    _index(['company_id', 'issued_at', 'id'])


def downgrade():
    _index(['company_id'])
