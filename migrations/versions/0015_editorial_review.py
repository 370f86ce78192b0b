"""the editorial review step (issue 13)

Revision ID: 0015_editorial_review
Revises: 0014_delivery_reports
Create Date: 2026-12-02 13:00:00

- `tiers.requires_review` (boolean, false): every delivery of the tier's orders goes to an
  editor before the client (portal/orders/review.py).
- `deliveries.released_at` (nullable): when the client could first read the delivery. Backfill:
  every delivery stored before this revision reached its client when it was made, so it gets
  its `created_at`.
- A new order status, "in_review", and a new role, "editor": statuses and roles are strings
  (non-native enums without CHECK constraints, see 0001 and 0002), so neither needs a change
  of the schema on SQLite or PostgreSQL.

Written by hand. Downgrade gives the previous code nothing it does not know: orders in review
go back to their writer ("in_progress", the text stays their draft), the timeline's lines
that name "in_review" say "in_progress", the counts per status are counted again; editors'
accounts become deactivated writers (an administrator decides what they become) and pending
invitations of editors are revoked. Then both columns are dropped.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_editorial_review'
down_revision = '0014_delivery_reports'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tiers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requires_review', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('released_at', sa.DateTime(timezone=True), nullable=True))
    op.execute('UPDATE deliveries SET released_at = created_at')


def downgrade():
    op.execute("UPDATE orders SET status = 'in_progress' WHERE status = 'in_review'")
    op.execute("UPDATE order_events SET from_status = 'in_progress' "
               "WHERE from_status = 'in_review'")
    op.execute("UPDATE order_events SET to_status = 'in_progress' WHERE to_status = 'in_review'")
    op.execute("DELETE FROM order_status_counts")
    op.execute("INSERT INTO order_status_counts (status, count) "
               "SELECT status, count(*) FROM orders GROUP BY status")
    op.execute("UPDATE users SET role = 'writer', active = false WHERE role = 'editor'")
    op.execute("UPDATE invitations SET role = 'writer', revoked_at = CURRENT_TIMESTAMP "
               "WHERE role = 'editor' AND accepted_at IS NULL AND revoked_at IS NULL")
    op.execute("UPDATE invitations SET role = 'writer' WHERE role = 'editor'")
    # Plain DROP COLUMN (SQLite 3.35 and later, PostgreSQL), as 0009 and 0014 do: no copy of
    # a table other rows point to.
    op.execute('ALTER TABLE deliveries DROP COLUMN released_at')
    op.execute('ALTER TABLE tiers DROP COLUMN requires_review')
