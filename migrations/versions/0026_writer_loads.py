"""each writer's open work, counted as it changes (issue 14)

Revision ID: 0026_writer_loads
Revises: 0025_pool_index
Create Date: 2026-12-05 22:00:00

The dashboard grouped every order being written or under review per writer on each visit to
show the busiest writers (from ix_orders_status_writer_id alone, yet 0.19 ms at a tenth of the
benchmark's data set and 1.6-2.4 ms at full, 8,300 open orders: the statement that made the
page grow on SQLite). `writer_loads` keeps one row per writer with open work, changed by
portal.orders.workflow.apply in the move's transaction (portal/orders/status_counts.py); the
dashboard reads those rows.

The backfill counts the open work once, inside the migration's transaction. A portal still
running the previous code moves orders without counting them: migrate with the portal stopped,
or run `flask orders recount` once the new code serves.

Written by hand.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0026_writer_loads'
down_revision = '0025_pool_index'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('writer_loads',
    sa.Column('writer_id', sa.Integer(), nullable=False),
    sa.Column('writing', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('review', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.ForeignKeyConstraint(['writer_id'], ['users.id'], name=op.f('fk_writer_loads_writer_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('writer_id', name=op.f('pk_writer_loads'))
    )
    op.execute(
        "INSERT INTO writer_loads (writer_id, writing, review) "
        "SELECT writer_id, "
        "sum(CASE WHEN status IN ('in_progress', 'revision_requested') THEN 1 ELSE 0 END), "
        "sum(CASE WHEN status = 'delivered' THEN 1 ELSE 0 END) "
        "FROM orders WHERE status IN ('in_progress', 'revision_requested', 'delivered') "
        "AND writer_id IS NOT NULL GROUP BY writer_id"
    )


def downgrade():
    op.drop_table('writer_loads')
