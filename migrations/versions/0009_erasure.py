"""when a person's data was erased (issue 15)

Revision ID: 0009_erasure
Revises: 0008_unreserved_addresses
Create Date: 2026-12-02 06:00:00

A manager may erase a former client or writer (portal/privacy/erasure.py): the account's row
stays, because orders, deliveries and (later) invoices point to it, but its personal fields are
replaced. `users.erased_at` records when, so the people page can say so and the account can
never be reactivated. Nullable, no backfill: nobody was erased before.

Written by hand.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_erasure'
down_revision = '0008_unreserved_addresses'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    # A plain DROP COLUMN (SQLite 3.35 and later, PostgreSQL): a batch operation would copy
    # the users table, which SQLite refuses while other tables' rows point to it.
    op.execute('ALTER TABLE users DROP COLUMN erased_at')
