"""samples on the landing page: the client's consent and the manager's showcase (issue 12)

Revision ID: 0018_showcase
Revises: 0017_style_guides
Create Date: 2026-12-02 12:45:00

`orders.sample_consent` (boolean, false for every existing order: nobody consented yet) and
`orders.showcased_at` (when a manager put the approved text on the landing page; empty),
indexed for the landing page's newest samples first.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_showcase'
down_revision = '0017_style_guides'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sample_consent', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('showcased_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_orders_showcased_at', ['showcased_at'], unique=False)


def downgrade():
    # Plain DROP COLUMN (SQLite 3.35 and later, PostgreSQL), as 0008 does: a batch operation
    # would copy the whole orders table on SQLite.
    op.drop_index('ix_orders_showcased_at', table_name='orders')
    op.drop_column('orders', 'showcased_at')
    op.drop_column('orders', 'sample_consent')
