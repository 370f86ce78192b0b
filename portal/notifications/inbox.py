"""In-portal notifications (the bell) and each person's email preferences per kind of event."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import User
from portal.extensions import UTCDateTime, db, foreign_key, string_enum, utcnow


class NotificationKind(enum.StrEnum):
    """Kinds a person chooses an email mode for. Security emails (confirmation, reset,
    invitation) are not among them: they always go."""

    STATUS = "status"  # an order changed status (taken, delivered, approved, cancelled…)
    MESSAGE = "message"  # a message (or, for staff, an internal note) on an order
    DEADLINE = "deadline"  # deadline soon, overdue, review reminders


KIND_LABELS = {
    NotificationKind.STATUS: _l("Changes of status of my orders"),
    NotificationKind.MESSAGE: _l("Messages on my orders"),
    NotificationKind.DEADLINE: _l("Deadlines and reminders"),
}


class EmailMode(enum.StrEnum):
    IMMEDIATE = "immediate"
    DIGEST = "digest"
    NEVER = "never"


MODE_LABELS = {
    EmailMode.IMMEDIATE: _l("At once"),
    EmailMode.DIGEST: _l("In my daily digest"),
    EmailMode.NEVER: _l("Never"),
}


class Notification(db.Model):
    """One thing that happened that concerns one person: shown in the bell, and emailed at once,
    in a burst, in the digest or never, as the person chose."""

    __tablename__ = "notifications"
    __table_args__ = (
        sa.Index("ix_notifications_user_id_read_at_created_at", "user_id", "read_at",
                 "created_at"),
        sa.Index("ix_notifications_email_due", "email_mode", "emailed_at", "created_at"),
        # The bell's latest and the list of notifications, newest first, read in index order.
        sa.Index("ix_notifications_user_id_created_at_id", "user_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = foreign_key("users.id", "CASCADE")
    order_id: Mapped[int | None] = foreign_key("orders.id", "CASCADE", index=True)
    message_id: Mapped[int | None] = foreign_key("messages.id", "CASCADE")
    kind: Mapped[NotificationKind] = mapped_column(
        string_enum(NotificationKind, "notification_kind"))
    # What happened, as a key the page and the emails translate (e.g. "order.delivered").
    event: Mapped[str] = mapped_column(sa.String(60))
    # Values the translated text needs (title, names, rating…), kept as they were then.
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # How it is emailed, decided when it is created from the person's preference then.
    email_mode: Mapped[EmailMode] = mapped_column(string_enum(EmailMode, "email_mode"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when an email (immediate, burst or digest) carried it; never set for mode "never".
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


class NotificationPreference(db.Model):
    """A person's email mode for one kind; no row means the default (at once)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = foreign_key("users.id", "CASCADE", primary_key=True)
    kind: Mapped[NotificationKind] = mapped_column(
        string_enum(NotificationKind, "notification_kind"), primary_key=True
    )
    mode: Mapped[EmailMode] = mapped_column(string_enum(EmailMode, "email_mode"))
