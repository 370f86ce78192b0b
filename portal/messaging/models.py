"""Conversations on orders: messages, staff-only internal notes, their attachments, and what
each person has read."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import User
from portal.extensions import UTCDateTime, db, utcnow


class MessageSource(enum.StrEnum):
    WEB = "web"
    EMAIL = "email"


class Message(db.Model):
    """A message on an order's conversation. `internal` notes are for staff only: they never
    reach a client, in a page, an email or an export."""

    __tablename__ = "messages"
    __table_args__ = (
        sa.Index("ix_messages_order_id_created_at", "order_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    body: Mapped[str] = mapped_column(sa.Text)
    internal: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    source: Mapped[MessageSource] = mapped_column(
        sa.Enum(MessageSource, name="message_source", native_enum=False, length=10,
                values_callable=lambda items: [i.value for i in items], validate_strings=True),
        default=MessageSource.WEB,
    )
    # The Message-ID of an email reply: the same email received twice is stored once.
    email_message_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    author: Mapped[User | None] = relationship()
    attachments: Mapped[list[MessageAttachment]] = relationship(
        back_populates="message", order_by="MessageAttachment.id", cascade="all, delete-orphan"
    )


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
    """When a person last opened an order's conversation; what came after is unread."""

    __tablename__ = "read_markers"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    order_id: Mapped[int] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    last_read_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The marker before the latest visit: the page shows "new since your last visit" from it.
    previous_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
