"""unread counters on read_markers (issue 6)

Revision ID: 0005_unread_counters
Revises: 0004_bench_indexes
Create Date: 2026-11-26 06:00:00

The unread badge counted, on every page, every message of the person's conversations since they
joined: for a manager, every message of the agency (17 ms at 20,000 messages, growing with
them). Each (person, order) now keeps its count in read_markers.unread, maintained by
portal.messaging.unread in the transaction of each change; the badge sums the person's rows
with something unread (ix_read_markers_user_id_unread, partial: only those rows).

- `unread` (NOT NULL, default 0);
- `last_read_at` becomes nullable: a message may make a row for someone who never opened the
  order (only its counter);
- the counters are filled from the definition (portal.messaging.queries.recount_unread), one
  INSERT ... SELECT per role, in plain SQL that SQLite and PostgreSQL both run (a copy: the app's
  code may change after this revision). About a second per 100,000 messages; the tables are
  written meanwhile, so run it with the portal stopped.

Downgrade removes the rows that only held a counter, then the column and the index.

Written by hand.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_unread_counters'
down_revision = '0004_bench_indexes'
branch_labels = None
depends_on = None

INDEX = 'ix_read_markers_user_id_unread'
UNREAD_ROWS = sa.text('unread > 0')

# Who takes part, per role (portal.messaging.queries._participation and _unread_condition).
TAKES_PART = {
    'client': 'u.id = o.client_id AND NOT m.internal',
    'writer': 'u.id = o.writer_id',
    'manager': "o.status <> 'draft'",
}

BACKFILL = """
INSERT INTO read_markers (user_id, order_id, unread)
SELECT u.id, m.order_id, count(m.id)
FROM messages m
JOIN orders o ON o.id = m.order_id
JOIN users u ON u.role = '{role}' AND u.active AND {takes_part}
LEFT OUTER JOIN read_markers rm ON rm.user_id = u.id AND rm.order_id = m.order_id
WHERE (m.author_id IS NULL OR m.author_id <> u.id)
  AND m.created_at > coalesce(rm.last_read_at, u.created_at)
GROUP BY u.id, m.order_id
ON CONFLICT (user_id, order_id) DO UPDATE SET unread = excluded.unread
"""


def upgrade():
    with op.batch_alter_table('read_markers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unread', sa.Integer(), server_default=sa.text('0'),
                                      nullable=False))
        batch_op.alter_column('last_read_at', existing_type=sa.DateTime(timezone=True),
                              nullable=True)
    op.create_index(INDEX, 'read_markers', ['user_id', 'unread'], unique=False,
                    sqlite_where=UNREAD_ROWS, postgresql_where=UNREAD_ROWS)
    for role, takes_part in TAKES_PART.items():
        # Our own constants only, no input.
        op.execute(BACKFILL.format(role=role, takes_part=takes_part))  # nosec B608


def downgrade():
    op.drop_index(INDEX, table_name='read_markers',
                  sqlite_where=UNREAD_ROWS, postgresql_where=UNREAD_ROWS)
    op.execute('DELETE FROM read_markers WHERE last_read_at IS NULL')
    with op.batch_alter_table('read_markers', schema=None) as batch_op:
        batch_op.alter_column('last_read_at', existing_type=sa.DateTime(timezone=True),
                              nullable=False)
        batch_op.drop_column('unread')
