"""People of the portal: accounts with a role, and the invitations that bring staff in."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import UTCDateTime, db, foreign_key, string_enum, utcnow


class Role(enum.StrEnum):
    CLIENT = "client"
    WRITER = "writer"
    MANAGER = "manager"
    # Reads deliveries in review and passes them to the client or returns them to the writer
    # (portal/orders/review.py); managers hold these rights too.
    EDITOR = "editor"


ROLE_LABELS = {
    Role.CLIENT: _l("Client"),
    Role.WRITER: _l("Writer"),
    Role.MANAGER: _l("Manager"),
    Role.EDITOR: _l("Editor"),
}


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    display_name: Mapped[str] = mapped_column(sa.String(80))
    role: Mapped[Role] = mapped_column(string_enum(Role, "role"), index=True)
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A new address waits here until its owner confirms it; the old one stays in use until then.
    # It reserves nothing (another account may take it meanwhile) and is forgotten once
    # pending_email_expires_at has passed (see `waiting_email`).
    pending_email: Mapped[str | None] = mapped_column(sa.String(254))
    pending_email_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    locale: Mapped[str] = mapped_column(sa.String(8), default="fr")
    timezone: Mapped[str] = mapped_column(sa.String(64), default="Africa/Lome")
    # Part of the login identity: rotating it ends every session and remember cookie at once.
    session_token: Mapped[str] = mapped_column(sa.String(64), default=new_session_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The daily digest goes at this hour of the person's own time zone.
    digest_hour: Mapped[int] = mapped_column(default=18, server_default="18")
    last_digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when a manager erased the person (portal/privacy/erasure.py): the row stays for the
    # orders and records that point to it, its personal fields are replaced.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role.value}>"

    # Flask-Login reads the login identity from get_id(); it includes the session token so that a
    # copied session or remember cookie dies when the token is rotated.
    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    @property
    def waiting_email(self) -> str | None:
        """The new address waiting to be confirmed, until its request expires."""
        if self.pending_email is None or self.pending_email_expires_at is None:
            return None
        return self.pending_email if self.pending_email_expires_at > utcnow() else None

    @property
    def is_manager(self) -> bool:
        return self.role is Role.MANAGER

    @property
    def is_writer(self) -> bool:
        return self.role is Role.WRITER

    @property
    def is_client(self) -> bool:
        return self.role is Role.CLIENT

    @property
    def is_editor(self) -> bool:
        return self.role is Role.EDITOR

    @property
    def can_review(self) -> bool:
        """Editors, and managers (who hold the editor's rights), read deliveries in review."""
        return self.active and self.role in (Role.EDITOR, Role.MANAGER)

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.WRITER, Role.MANAGER, Role.EDITOR)


class PendingSignup(db.Model):
    """A sign-up waiting for its address to be confirmed. No account exists until then, so a
    sign-up reserves no address: several may wait for the same one, and the first confirmed
    makes the account (the others then fail). Rows older than CONFIRM_EMAIL_MAX_AGE are
    deleted at the next sign-up."""

    __tablename__ = "pending_signups"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    display_name: Mapped[str] = mapped_column(sa.String(80))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    locale: Mapped[str] = mapped_column(sa.String(8))
    timezone: Mapped[str] = mapped_column(sa.String(64))
    # The company the account will belong to (portal.billing.companies), empty for none given.
    company_name: Mapped[str] = mapped_column(sa.String(200), default="",
                                              server_default=sa.text("''"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class Invitation(db.Model):
    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    display_name: Mapped[str] = mapped_column(sa.String(80))
    role: Mapped[Role] = mapped_column(string_enum(Role, "role"))
    locale: Mapped[str] = mapped_column(sa.String(8), default="fr")
    invited_by_id: Mapped[int | None] = foreign_key("users.id", "SET NULL", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    user_id: Mapped[int | None] = foreign_key("users.id", "SET NULL", index=True)

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
