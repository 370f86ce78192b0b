"""the finance page's figures kept on write (issue 14)

Revision ID: 0024_finance_figures
Revises: 0023_writer_load
Create Date: 2026-12-04 22:30:00

- `finance_figures`: one row per agency time zone, month ("" for the running totals), tier
  (its id, 0 for none: a tier renamed keeps its figures) and figure; `finance_deltas`: what
  each change adds, until the mail worker folds it in (portal.billing.figures). Both empty
  here: the first view of the finance page computes the baseline.
- `finance_months` goes: the ended months' figures stored at the first view after the month
  ended are now rows of `finance_figures`, and the current month no longer needs computing.

Written by hand. Downgrade drops both tables and gives back an empty `finance_months` (the
page of that version fills it).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0024_finance_figures'
down_revision = '0023_writer_load'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('finance_figures',
    sa.Column('zone', sa.String(length=64), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('tier_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('figure', sa.String(length=16), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('zone', 'month', 'tier_id', 'figure',
                            name=op.f('pk_finance_figures'))
    )
    op.create_table('finance_deltas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tier_id', sa.Integer(), nullable=False),
    sa.Column('figure', sa.String(length=16), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finance_deltas'))
    )
    op.drop_table('finance_months')


def downgrade():
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
    op.drop_table('finance_deltas')
    op.drop_table('finance_figures')
