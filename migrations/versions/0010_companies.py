"""client companies; orders belong to the company that pays (issue 11)

Revision ID: 0010_companies
Revises: 0009_erasure
Create Date: 2026-12-02 06:00:00

- `companies`: the client's business (legal name, address, NIF, RCCM, billing email, language),
  how it pays (prepaid by default, or postpaid within a credit limit) and the two sums of its
  ledger (balance, held), kept with each entry (portal/billing/ledger.py). CHECK constraints:
  credit_limit >= 0, held >= 0, balance - held >= -credit_limit (the last lock against an
  overdraft).
- `company_members`: who belongs to which company, with a role (owner, member); user_id is
  unique for now (one company per person).
- `orders.company_id` (NOT NULL) and ix_orders_company_id_status_submitted_at (the orders of a
  company waiting for its payment, oldest first).

Backfill: one prepaid company per person who is a client or placed an order, named after the
person, in their language, owned by them; every order gets its client's company. Balances
start at 0: money handled before this revision stays outside the portal. A new status,
"awaiting_payment", needs no change of the schema (statuses are strings).

Written by hand. Downgrade turns orders awaiting payment back into drafts (recounting the orders
per status), then drops the column, the index and both tables.
"""
from alembic import op
import sqlalchemy as sa
from flask import current_app


# revision identifiers, used by Alembic.
revision = '0010_companies'
down_revision = '0009_erasure'
branch_labels = None
depends_on = None

INDEX = 'ix_orders_company_id_status_submitted_at'


def upgrade():
    op.create_table('companies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('tax_number', sa.String(length=40), nullable=False),
    sa.Column('trade_register', sa.String(length=60), nullable=False),
    sa.Column('billing_email', sa.String(length=254), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('billing_mode', sa.Enum('prepaid', 'postpaid', name='billing_mode', native_enum=False, length=20), nullable=False),
    sa.Column('credit_limit', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('balance', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('held', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('credit_limit >= 0', name=op.f('ck_companies_credit_limit_positive')),
    sa.CheckConstraint('held >= 0', name=op.f('ck_companies_held_positive')),
    sa.CheckConstraint('balance - held >= -credit_limit', name=op.f('ck_companies_within_credit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_companies'))
    )
    op.create_table('company_members',
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('owner', 'member', name='member_role', native_enum=False, length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_company_members_company_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_company_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('company_id', 'user_id', name=op.f('pk_company_members')),
    sa.UniqueConstraint('user_id', name=op.f('uq_company_members_user_id'))
    )
    _backfill()
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('company_id', sa.Integer(), nullable=True))
    op.execute(
        "UPDATE orders SET company_id = (SELECT m.company_id FROM company_members m "
        "WHERE m.user_id = orders.client_id)"
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.alter_column('company_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(batch_op.f('fk_orders_company_id_companies'), 'companies',
                                    ['company_id'], ['id'], ondelete='RESTRICT')
    op.create_index(INDEX, 'orders', ['company_id', 'status', 'submitted_at'], unique=False)


def _backfill():
    """A company for every client and every person who placed an order."""
    connection = op.get_bind()
    currency = current_app.config.get('AGENCY_CURRENCY', 'XOF') if current_app else 'XOF'
    people = connection.execute(sa.text(
        "SELECT id, display_name, locale, created_at FROM users "
        "WHERE role = 'client' OR id IN (SELECT client_id FROM orders) ORDER BY id"
    )).all()
    companies = sa.table('companies', sa.column('id', sa.Integer), sa.column('name'),
                         sa.column('address'), sa.column('tax_number'),
                         sa.column('trade_register'), sa.column('billing_email'),
                         sa.column('locale'), sa.column('currency'), sa.column('billing_mode'),
                         sa.column('credit_limit'), sa.column('balance'), sa.column('held'),
                         sa.column('created_at'), sa.column('updated_at'))
    members = sa.table('company_members', sa.column('company_id'), sa.column('user_id'),
                       sa.column('role'), sa.column('created_at'))
    for person_id, name, locale, created_at in people:
        company_id = connection.execute(
            companies.insert().values(
                name=(name or '')[:200], address='', tax_number='', trade_register='',
                billing_email='', locale=locale or 'fr', currency=currency,
                billing_mode='prepaid', credit_limit=0, balance=0, held=0,
                created_at=created_at, updated_at=created_at,
            ).returning(companies.c.id)
        ).scalar_one()
        connection.execute(members.insert().values(company_id=company_id, user_id=person_id,
                                                   role='owner', created_at=created_at))


def downgrade():
    # The previous code knows no "awaiting payment": those orders go back to being drafts (they
    # never reached a writer), and the counts per status are counted again.
    op.execute("UPDATE orders SET status = 'draft' WHERE status = 'awaiting_payment'")
    op.execute("DELETE FROM order_status_counts")
    op.execute("INSERT INTO order_status_counts (status, count) "
               "SELECT status, count(*) FROM orders GROUP BY status")
    op.drop_index(INDEX, table_name='orders')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_orders_company_id_companies'), type_='foreignkey')
        batch_op.drop_column('company_id')
    op.drop_table('company_members')
    op.drop_table('companies')
