"""an email's Message-ID is unique per order, not across the portal (issue 10)

Revision ID: 0007_reply_ids_per_order
Revises: 0006_status_counts
Create Date: 2026-12-02 06:00:00

A reply by email is stored once: its Message-ID was unique in `messages`. The same email sent to
the reply addresses of two orders (one answer to two notification emails) was then posted on the
first order and silently dropped from the second. The Message-ID is now unique per order:
`uq_messages_email_message_id` becomes `uq_messages_order_id_email_message_id` on
(order_id, email_message_id); its index also serves the duplicate check, which looks an email up
by order.

Downgrade puts the portal-wide constraint back: it fails if an email was meanwhile stored on two
orders (delete one of the two messages first).

Written by hand.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0007_reply_ids_per_order'
down_revision = '0006_status_counts'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_constraint('uq_messages_email_message_id', type_='unique')
        batch_op.create_unique_constraint('uq_messages_order_id_email_message_id',
                                          ['order_id', 'email_message_id'])


def downgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_constraint('uq_messages_order_id_email_message_id', type_='unique')
        batch_op.create_unique_constraint('uq_messages_email_message_id', ['email_message_id'])
