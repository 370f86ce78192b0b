"""The account's part of a person's data (portal/privacy/parts.py): the profile. On erasure the
row stays (orders and records point to it) with every personal field replaced, and every
session ends. Runs last: the other parts read the old name and address first."""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.accounts.models import Invitation, Role, User
from portal.auth.service import end_all_sessions
from portal.extensions import db, utcnow
from portal.privacy.parts import Erasure, Part, Section, when

ERASED_DOMAIN = "erased.invalid"  # reserved (RFC 2606): never delivered


def export(person: User) -> Section:
    return Section({
        "id": person.id, "email": person.email, "name": person.display_name,
        "role": person.role.value, "language": person.locale, "time_zone": person.timezone,
        "member_since": person.created_at.isoformat(),
        "email_confirmed_at": when(person.email_confirmed_at),
        "pending_email": person.pending_email,
        "last_login_at": when(person.last_login_at),
        "active": person.active,
        "deactivated_at": when(person.deactivated_at),
    })


def blockers(person: User) -> list[str]:
    if person.role is Role.MANAGER:
        return [_("A manager cannot be erased: give them another role first.")]
    if person.active:
        return [_("Only a former member can be erased: deactivate the account first.")]
    return []


def erase(erasure: Erasure) -> None:
    person = erasure.person
    person.email = f"erased-{person.id}@{ERASED_DOMAIN}"
    person.pending_email = None
    # No password matches a value that is not a hash.
    person.password_hash = "!erased-" + secrets.token_hex(16)
    person.locale = current_app.config["BABEL_DEFAULT_LOCALE"]
    person.timezone = current_app.config["AGENCY_TIMEZONE"]
    person.last_login_at = None
    person.email_confirmed_at = None
    person.erased_at = utcnow()
    db.session.execute(
        sa.update(Invitation)
        .where(sa.or_(Invitation.user_id == person.id, Invitation.email == erasure.old_email))
        .values(email=person.email, display_name=person.display_name)
        .execution_options(synchronize_session=False))
    end_all_sessions(person)


PART = Part(
    name="profile", export=export, blockers=blockers, erase=erase,
    kept=(_l("The account stays as an empty shell, without name, address or password, so that "
             "the orders it took part in still add up; it can never log in again."),),
)
