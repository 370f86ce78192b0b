"""originality: the brief's reference texts and the index of the agency's texts (issue 13)

Revision ID: 0016_originality
Revises: 0015_editorial_review
Create Date: 2026-12-02 12:55:00

- `orders.reference_texts` (text, empty by default): texts the client or a manager pastes in the
  brief; a delivery that copies them is found by the originality check.
- `text_shingles (hash, delivery_id)`: the sampled phrases of every delivery, by a 64-bit hash
  (portal/orders/originality.py). The primary key is the lookup index (phrases by their hash);
  on SQLite the table has no rowid. A delivery's rows go with it (CASCADE).

No backfill: the table starts empty, so deliveries made before this revision are not compared
with until `flask orders index-texts` indexes them (run it once after upgrading; it rebuilds the
whole index and may be run again at any time). Their own reports keep "originality" empty.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_originality'
down_revision = '0015_editorial_review'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reference_texts', sa.Text(), server_default=sa.text("''"),
                                      nullable=False))
    op.create_table('text_shingles',
    sa.Column('hash', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('delivery_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], name=op.f('fk_text_shingles_delivery_id_deliveries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('hash', 'delivery_id', name=op.f('pk_text_shingles')),
    sqlite_with_rowid=False
    )


def downgrade():
    op.drop_table('text_shingles')
    # A plain DROP COLUMN (SQLite 3.35 and later, PostgreSQL), as 0014 does.
    op.execute('ALTER TABLE orders DROP COLUMN reference_texts')
