"""orders

Revision ID: 0002_orders
Revises: 0001_accounts
Create Date: 2026-11-26 02:32:52.596610

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002_orders'
down_revision = '0001_accounts'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('content_types',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name_fr', sa.String(length=80), nullable=False),
    sa.Column('name_en', sa.String(length=80), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_types')),
    sa.UniqueConstraint('name_fr', name=op.f('uq_content_types_name_fr'))
    )
    op.create_table('tiers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('client_price_per_word', sa.Integer(), nullable=False),
    sa.Column('writer_pay_per_word', sa.Integer(), nullable=False),
    sa.Column('included_revisions', sa.Integer(), nullable=False),
    sa.Column('min_lead_hours', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tiers')),
    sa.UniqueConstraint('name', name=op.f('uq_tiers_name'))
    )
    op.create_table('orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('writer_id', sa.Integer(), nullable=True),
    sa.Column('preferred_writer_id', sa.Integer(), nullable=True),
    sa.Column('offered_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.Enum('draft', 'open', 'in_progress', 'delivered', 'revision_requested', 'approved', 'cancelled', name='order_status', native_enum=False, length=30), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('content_type_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('words_min', sa.Integer(), nullable=False),
    sa.Column('words_max', sa.Integer(), nullable=False),
    sa.Column('tier_id', sa.Integer(), nullable=False),
    sa.Column('tone', sa.String(length=120), nullable=False),
    sa.Column('audience', sa.String(length=200), nullable=False),
    sa.Column('primary_keyword', sa.String(length=120), nullable=False),
    sa.Column('secondary_keywords', sa.Text(), nullable=False),
    sa.Column('links_to_include', sa.Text(), nullable=False),
    sa.Column('reference_urls', sa.Text(), nullable=False),
    sa.Column('instructions', sa.Text(), nullable=False),
    sa.Column('deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('price_per_word', sa.Integer(), nullable=True),
    sa.Column('rush_surcharge', sa.Integer(), nullable=True),
    sa.Column('price_total', sa.Integer(), nullable=True),
    sa.Column('writer_pay_total', sa.Integer(), nullable=True),
    sa.Column('included_revisions', sa.Integer(), nullable=True),
    sa.Column('extra_revisions', sa.Integer(), nullable=False),
    sa.Column('revisions_used', sa.Integer(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('rating_comment', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('words_min >= 1 AND words_min <= words_max', name=op.f('ck_orders_word_range')),
    sa.ForeignKeyConstraint(['client_id'], ['users.id'], name=op.f('fk_orders_client_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['content_type_id'], ['content_types.id'], name=op.f('fk_orders_content_type_id_content_types')),
    sa.ForeignKeyConstraint(['preferred_writer_id'], ['users.id'], name=op.f('fk_orders_preferred_writer_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tier_id'], ['tiers.id'], name=op.f('fk_orders_tier_id_tiers')),
    sa.ForeignKeyConstraint(['writer_id'], ['users.id'], name=op.f('fk_orders_writer_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_client_id_status_created_at', ['client_id', 'status', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_content_type_id'), ['content_type_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_delivered_at'), ['delivered_at'], unique=False)
        batch_op.create_index('ix_orders_status_deadline', ['status', 'deadline'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_tier_id'), ['tier_id'], unique=False)
        batch_op.create_index('ix_orders_writer_id_status_deadline', ['writer_id', 'status', 'deadline'], unique=False)

    op.create_table('writer_languages',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_writer_languages_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'language', name=op.f('pk_writer_languages'))
    )
    with op.batch_alter_table('writer_languages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_writer_languages_language'), ['language'], unique=False)

    op.create_table('writer_tiers',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('tier_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tier_id'], ['tiers.id'], name=op.f('fk_writer_tiers_tier_id_tiers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_writer_tiers_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'tier_id', name=op.f('pk_writer_tiers'))
    )
    op.create_table('attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('stored_name', sa.String(length=64), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_attachments_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_attachments_uploaded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_attachments_stored_name'))
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachments_order_id'), ['order_id'], unique=False)

    op.create_table('deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('writer_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('word_count', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_deliveries_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['writer_id'], ['users.id'], name=op.f('fk_deliveries_writer_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries')),
    sa.UniqueConstraint('order_id', 'number', name=op.f('uq_deliveries_order_id'))
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deliveries_order_id'), ['order_id'], unique=False)

    op.create_table('drafts',
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_drafts_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_drafts_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_drafts'))
    )
    op.create_table('order_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('from_status', sa.Enum('draft', 'open', 'in_progress', 'delivered', 'revision_requested', 'approved', 'cancelled', name='order_status', native_enum=False, length=30), nullable=True),
    sa.Column('to_status', sa.Enum('draft', 'open', 'in_progress', 'delivered', 'revision_requested', 'approved', 'cancelled', name='order_status', native_enum=False, length=30), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_order_events_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_events_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_events'))
    )
    with op.batch_alter_table('order_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_events_order_id'), ['order_id'], unique=False)



def downgrade():
    with op.batch_alter_table('order_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_events_order_id'))

    op.drop_table('order_events')
    op.drop_table('drafts')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deliveries_order_id'))

    op.drop_table('deliveries')
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachments_order_id'))

    op.drop_table('attachments')
    op.drop_table('writer_tiers')
    with op.batch_alter_table('writer_languages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_writer_languages_language'))

    op.drop_table('writer_languages')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_writer_id_status_deadline')
        batch_op.drop_index(batch_op.f('ix_orders_tier_id'))
        batch_op.drop_index('ix_orders_status_deadline')
        batch_op.drop_index(batch_op.f('ix_orders_delivered_at'))
        batch_op.drop_index(batch_op.f('ix_orders_content_type_id'))
        batch_op.drop_index('ix_orders_client_id_status_created_at')

    op.drop_table('orders')
    op.drop_table('tiers')
    op.drop_table('content_types')
