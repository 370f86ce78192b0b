"""Conversations on orders: messages, staff-only internal notes, their attachments, and what
each person has read."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from markupsafe import Markup
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import User
from portal.extensions import UTCDateTime, db, utcnow
from portal.plaintext import render_plain


def _html_of_body(context) -> str:
    return str(render_plain(context.get_current_parameters()["body"]))


class MessageSource(enum.StrEnum):
    WEB = "web"
    EMAIL = "email"


class Message(db.Model):
    """A message on an order's conversation. `internal` notes are for staff only: they never
    reach a client, in a page, an email or an export."""

    __tablename__ = "messages"
    __table_args__ = (
        sa.Index("ix_messages_order_id_created_at", "order_id", "created_at"),
        # The same email received twice for one order is stored once; sent to the reply
        # addresses of two orders, it is a message on each.
        sa.UniqueConstraint("order_id", "email_message_id",
                            name="uq_messages_order_id_email_message_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    body: Mapped[str] = mapped_column(sa.Text)
    # The body as the pages and emails show it (portal.plaintext.render_plain: escaped, links
    # made), rendered once when the message is stored; a row inserted without it gets it from
    # its body.
    html: Mapped[str] = mapped_column(sa.Text, default=_html_of_body)
    # The renderer's version that made it (service.MESSAGE_HTML_VERSION); a row that does not
    # say is taken as the first's, so `flask messaging rerender` renders it again.
    html_version: Mapped[int] = mapped_column(server_default=sa.text("1"))
    internal: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    source: Mapped[MessageSource] = mapped_column(
        sa.Enum(MessageSource, name="message_source", native_enum=False, length=10,
                values_callable=lambda items: [i.value for i in items], validate_strings=True),
        default=MessageSource.WEB,
    )
    # The Message-ID of an email reply (unique per order, see above).
    email_message_id: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    author: Mapped[User | None] = relationship()
    attachments: Mapped[list[MessageAttachment]] = relationship(
        back_populates="message", order_by="MessageAttachment.id", cascade="all, delete-orphan"
    )

    @property
    def body_html(self) -> Markup:
        """The stored HTML, safe to show as it is: it was escaped when it was rendered."""
        return Markup(self.html or "")  # noqa: S704  # nosec B704  # escaped by render_plain


class MessageAttachment(db.Model):
    """A file on a message, under the same rules and storage as brief attachments."""

    __tablename__ = "message_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        sa.ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    original_name: Mapped[str] = mapped_column(sa.String(255))
    stored_name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    media_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    message: Mapped[Message] = relationship(back_populates="attachments")


class ReadMarker(db.Model):
    """One person's state of one order's conversation: when they last opened it, and how many of
    its messages they have not read (`unread`).

    `unread` is a counter kept by portal.messaging.unread in the transaction of every change that
    can alter it; it always equals what portal.messaging.queries.recount_unread (the query that
    defines "unread") would count for the pair, and 0 for someone inactive. A row may exist
    before the person ever opened the order (a message came for them): `last_read_at` is then
    None, and what came after the person joined counts."""

    __tablename__ = "read_markers"
    __table_args__ = (
        # The navigation's total reads the person's unread backlog only, not every order they
        # ever took part in.
        sa.Index("ix_read_markers_user_id_unread", "user_id", "unread",
                 sqlite_where=sa.text("unread > 0"), postgresql_where=sa.text("unread > 0")),
    )

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    order_id: Mapped[int] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    # None: never opened (the row only holds a counter).
    last_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=utcnow)
    # The marker before the latest visit: the page shows "new since your last visit" from it.
    previous_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    unread: Mapped[int] = mapped_column(default=0, server_default=sa.text("0"))
