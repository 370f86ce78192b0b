"""each message keeps its HTML (issue 14)

Revision ID: 0019_message_html
Revises: 0018_showcase
Create Date: 2026-12-02 17:40:00

`messages.html` (text, not null): the body as the pages and the emails show it
(portal.plaintext.render_plain: escaped, paragraphs and line breaks kept, web addresses made
links), rendered once when a message is posted instead of at every visit.

Existing messages are rendered here, BATCH rows at a time in id order, so that memory stays
bounded on a large conversation history (a million messages: a few minutes). The column is
added nullable, filled, then made NOT NULL (on SQLite a copy of the table, foreign keys being
off during migrations, see env.py). The downgrade drops the column: the body is still there.

"""
from alembic import op
import sqlalchemy as sa

from portal.plaintext import render_plain


# revision identifiers, used by Alembic.
revision = '0019_message_html'
down_revision = '0018_showcase'
branch_labels = None
depends_on = None

BATCH = 2000

messages = sa.table('messages', sa.column('id', sa.Integer), sa.column('body', sa.Text),
                    sa.column('html', sa.Text))


def upgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('html', sa.Text(), nullable=True))
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.select(messages.c.id, messages.c.body)
            .where(messages.c.id > last, messages.c.html.is_(None))
            .order_by(messages.c.id).limit(BATCH)
        ).all()
        if not rows:
            break
        connection.execute(
            messages.update().where(messages.c.id == sa.bindparam('row_id'))
            .values(html=sa.bindparam('row_html')),
            [{'row_id': row.id, 'row_html': str(render_plain(row.body))} for row in rows],
        )
        last = rows[-1].id
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.alter_column('html', existing_type=sa.Text(), nullable=False)


def downgrade():
    # A plain DROP COLUMN (SQLite 3.35 and later, PostgreSQL), as 0014 does.
    op.execute('ALTER TABLE messages DROP COLUMN html')
