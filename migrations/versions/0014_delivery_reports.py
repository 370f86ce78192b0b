"""each delivery keeps its compliance report (issue 13)

Revision ID: 0014_delivery_reports
Revises: 0013_brief_templates
Create Date: 2026-12-02 09:40:00

`deliveries.report` (JSON): the compliance report computed when the writer delivers
(portal/orders/report.py): words against the brief, keywords with their density, links,
headings, sentences and readability. Nullable, no backfill: a delivery stored before this
revision has none, and its page computes one from its text when shown (without storing it).

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_delivery_reports'
down_revision = '0013_brief_templates'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('report', sa.JSON(), nullable=True))


def downgrade():
    # A plain DROP COLUMN (SQLite 3.35 and later, PostgreSQL), as 0009 does: no copy of the
    # deliveries table on SQLite.
    op.execute('ALTER TABLE deliveries DROP COLUMN report')
