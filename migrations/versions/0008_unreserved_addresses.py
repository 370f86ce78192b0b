"""sign-ups and email changes reserve no address; an email change expires (issue 10)

Revision ID: 0008_unreserved_addresses
Revises: 0007_reply_ids_per_order
Create Date: 2026-12-02 06:00:00

Sign-up answered "This email is already used" (anyone could learn who has an account), and an
unconfirmed email change reserved the new address against everyone's sign-up for ever.

- `pending_signups`: a sign-up waits here until its address is confirmed; the account is made
  only then, so a sign-up reserves nothing and the answer is the same for every address
  (portal/auth/service.py). Rows are deleted once confirmed, and after CONFIRM_EMAIL_MAX_AGE.
- `users.pending_email_expires_at`: a requested change of address is forgotten after
  CONFIRM_EMAIL_MAX_AGE (48 h). Changes already waiting get 48 h from the upgrade.

Downgrade drops both; sign-ups still waiting are lost (their links stop working).

Written by hand.
"""
from datetime import UTC, datetime, timedelta

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_unreserved_addresses'
down_revision = '0007_reply_ids_per_order'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('pending_signups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('display_name', sa.String(length=80), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('company_name', sa.String(length=200), server_default=sa.text("''"),
              nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_signups'))
    )
    with op.batch_alter_table('pending_signups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pending_signups_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_pending_signups_created_at'), ['created_at'],
                              unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pending_email_expires_at', sa.DateTime(timezone=True),
                                      nullable=True))
    # SQLite keeps timestamps as naive UTC, PostgreSQL with their zone (UTCDateTime).
    expires = datetime.now(UTC) + timedelta(hours=48)
    if op.get_bind().dialect.name == 'sqlite':
        expires = expires.replace(tzinfo=None)
    users = sa.table('users', sa.column('pending_email', sa.String()),
                     sa.column('pending_email_expires_at', sa.DateTime(timezone=True)))
    op.execute(users.update().where(users.c.pending_email.is_not(None))
               .values(pending_email_expires_at=expires))


def downgrade():
    # A plain ALTER TABLE … DROP COLUMN (SQLite 3.35 and later): a batch would copy `users`
    # into a new table, and dropping the old one breaks the foreign keys that point at it.
    op.drop_column('users', 'pending_email_expires_at')
    with op.batch_alter_table('pending_signups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_signups_created_at'))
        batch_op.drop_index(batch_op.f('ix_pending_signups_email'))
    op.drop_table('pending_signups')
