"""style guides per client company, and each order's copy of it (issue 13)

Revision ID: 0017_style_guides
Revises: 0016_originality
Create Date: 2026-12-02 12:50:00

- `style_guides`: one per company (its key is the company's, CASCADE): tone, audience, words
  to use and forbidden words (one per line), formatting rules, examples, a version that
  guards concurrent edits, and who saved it last (SET NULL when that account is deleted).
- `orders.style_guide` (JSON, nullable): the guide as it was when the order was submitted
  (portal/style_guides/service.py). No backfill: orders submitted before have none.

Written by hand from the models; tests/unit/test_migrations.py compares them.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017_style_guides'
down_revision = '0016_originality'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('style_guides',
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('tone', sa.String(length=200), nullable=False),
    sa.Column('audience', sa.String(length=300), nullable=False),
    sa.Column('words_to_use', sa.Text(), nullable=False),
    sa.Column('forbidden_words', sa.Text(), nullable=False),
    sa.Column('formatting', sa.Text(), nullable=False),
    sa.Column('examples', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_style_guides_company_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_style_guides_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('company_id', name=op.f('pk_style_guides'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('style_guide', sa.JSON(), nullable=True))


def downgrade():
    # A plain DROP COLUMN (SQLite 3.35 and later, PostgreSQL), as 0014 does: no copy of the
    # orders table on SQLite.
    op.execute('ALTER TABLE orders DROP COLUMN style_guide')
    op.drop_table('style_guides')
