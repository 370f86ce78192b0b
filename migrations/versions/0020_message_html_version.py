"""each message says which renderer made its HTML (issue 14)

Revision ID: 0020_message_html_version
Revises: 0019_message_html
Create Date: 2026-12-03 08:00:00

`messages.html_version` (integer, not null, default 1): the version of
portal.messaging.service.render_message whose output `messages.html` holds
(MESSAGE_HTML_VERSION). When the renderer's output changes, that constant is raised and
`flask messaging rerender` renders again every message below it.

Existing messages were rendered by 0019 with the first renderer: the server default fills
them with 1 as the column is added (SQLite adds it in place, PostgreSQL without rewriting
the table). The default stays: a row written without a version is taken as the first
renderer's, so a later rerender renders it again. The downgrade drops the column.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020_message_html_version'
down_revision = '0019_message_html'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('html_version', sa.Integer(), server_default=sa.text('1'),
                                      nullable=False))


def downgrade():
    # A plain DROP COLUMN (SQLite 3.35 and later, PostgreSQL), as 0019 does.
    op.execute('ALTER TABLE messages DROP COLUMN html_version')
