"""orders per status, counted as they change (issue 6)

Revision ID: 0006_status_counts
Revises: 0005_unread_counters
Create Date: 2026-11-26 06:00:00

The manager's dashboard counted every submitted order by status on each visit
(`SELECT status, count(*) FROM orders … GROUP BY status`): 20 to 30 ms at 200,000 orders, and
growing with them. `order_status_counts` keeps one row per status, changed in the transaction
that creates, moves or deletes an order (portal/orders/status_counts.py); the dashboard reads
seven rows.

The backfill counts the orders once, inside the migration's transaction. A portal still running
the previous code moves orders without counting them: migrate with the portal stopped, or run
`flask orders recount` once the new code serves.

Written by hand.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_status_counts'
down_revision = '0005_unread_counters'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('order_status_counts',
    sa.Column('status', sa.Enum('draft', 'open', 'in_progress', 'delivered', 'revision_requested', 'approved', 'cancelled', name='order_status', native_enum=False, length=30), nullable=False),
    sa.Column('count', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.PrimaryKeyConstraint('status', name=op.f('pk_order_status_counts'))
    )
    op.execute(
        "INSERT INTO order_status_counts (status, count) "
        "SELECT status, count(*) FROM orders GROUP BY status"
    )


def downgrade():
    op.drop_table('order_status_counts')
