"""indexes found by the benchmark (issue 6)

Revision ID: 0004_bench_indexes
Revises: 0003_conversations
Create Date: 2026-11-26 03:40:00

The benchmark's agency-sized data set (200,000 orders) showed three lists reading far more than
they show:

- "All orders" (newest first) sorted every submitted order to show twenty:
  ix_orders_created_at_id lets it read them in index order and stop;
- "My orders" sorted all of a client's orders for every page: ix_orders_client_id_created_at_id;
- the writer's pool filtered by language and tier was planned on ix_orders_tier_id (a scan of
  every order of that tier, open or not) for its count: ix_orders_status_language_tier_id_deadline
  finds the open ones of that language and tier directly, already in deadline order.

Written by hand. Plain CREATE INDEX: it holds a write lock on `orders` while it builds (about a
second per 200,000 orders); on a much larger PostgreSQL table build them CONCURRENTLY first.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0004_bench_indexes'
down_revision = '0003_conversations'
branch_labels = None
depends_on = None

INDEXES = (
    ('ix_orders_created_at_id', ['created_at', 'id']),
    ('ix_orders_client_id_created_at_id', ['client_id', 'created_at', 'id']),
    ('ix_orders_status_language_tier_id_deadline', ['status', 'language', 'tier_id', 'deadline']),
)


def upgrade():
    for name, columns in INDEXES:
        op.create_index(name, 'orders', columns, unique=False)


def downgrade():
    for name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name='orders')
