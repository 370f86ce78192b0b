"""writers' earnings and payout batches (issue 11)

Revision ID: 0012_writer_earnings
Revises: 0011_ledger_documents
Create Date: 2026-12-02 06:20:00

- `writer_earnings`: the writer's frozen pay of an approved order (one per order), unpaid until
  a payout pays it (`payout_id`); read by writer and date
  (ix_writer_earnings_writer_id_earned_at_id) and, for the payouts, by payout and writer.
- `payout_batches`, `payouts`: what a manager paid whom, how, with which reference (one payout
  per writer and batch).

No backfill: orders approved before this revision were paid outside the portal.

Written by hand. Downgrade drops the three tables.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_writer_earnings'
down_revision = '0011_ledger_documents'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('payout_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_payout_batches_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payout_batches'))
    )
    op.create_table('payouts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('writer_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('method', sa.Enum('flooz', 'mixx', 'bank_transfer', 'cash', 'fedapay', name='payment_method', native_enum=False, length=20), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_payouts_amount_positive')),
    sa.ForeignKeyConstraint(['batch_id'], ['payout_batches.id'], name=op.f('fk_payouts_batch_id_payout_batches'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['writer_id'], ['users.id'], name=op.f('fk_payouts_writer_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payouts')),
    sa.UniqueConstraint('batch_id', 'writer_id', name='uq_payouts_batch_id_writer_id')
    )
    op.create_index('ix_payouts_writer_id_created_at', 'payouts', ['writer_id', 'created_at'], unique=False)
    op.create_table('writer_earnings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('writer_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('earned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('payout_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_writer_earnings_order_id_orders'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['payout_id'], ['payouts.id'], name=op.f('fk_writer_earnings_payout_id_payouts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['writer_id'], ['users.id'], name=op.f('fk_writer_earnings_writer_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_writer_earnings')),
    sa.UniqueConstraint('order_id', name=op.f('uq_writer_earnings_order_id'))
    )
    op.create_index('ix_writer_earnings_payout_id_writer_id', 'writer_earnings', ['payout_id', 'writer_id'], unique=False)
    op.create_index('ix_writer_earnings_writer_id_earned_at_id', 'writer_earnings', ['writer_id', 'earned_at', 'id'], unique=False)


def downgrade():
    op.drop_table('writer_earnings')
    op.drop_table('payouts')
    op.drop_table('payout_batches')
