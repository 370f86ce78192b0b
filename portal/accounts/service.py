"""Account settings and the administration of people by managers."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from portal import security_log
from portal.accounts.models import Invitation, Role, User
from portal.auth.passwords import verify_password
from portal.auth.service import (
    end_all_sessions,
    normalize_email,
    send_confirmation,
    set_password,
)
from portal.errors import Conflict, NotAllowed
from portal.extensions import any_holds, db, utcnow
from portal.signals import account_changed


def update_profile(user: User, *, display_name: str, locale: str, timezone: str) -> None:
    user.display_name = display_name.strip()
    user.locale = locale
    user.timezone = timezone
    db.session.flush()


def _require_current_password(user: User, current_password: str) -> None:
    if not verify_password(user.password_hash, current_password):
        raise NotAllowed(_("Your current password is not correct."), field="current_password")


def change_password(user: User, *, current_password: str, new_password: str) -> None:
    """Set a new password after checking the current one; every other session ends.

    Raises NotAllowed (wrong current password) or Conflict (refused new password)."""
    _require_current_password(user, current_password)
    set_password(user, new_password)
    security_log.record("password_changed", user_id=user.id)


def request_email_change(user: User, *, current_password: str, new_email: str) -> None:
    """Send a confirmation link to the new address; the change happens when it is followed,
    within CONFIRM_EMAIL_MAX_AGE (then the request is forgotten). The new address is not
    reserved meanwhile. An address another account uses is answered the same way (the owner
    is told instead, see send_confirmation), so that this form tells nobody who has an account.

    Raises NotAllowed (wrong current password) or Conflict (the address is already theirs)."""
    _require_current_password(user, current_password)
    new_email = normalize_email(new_email)
    if new_email == user.email:
        raise Conflict(_("This is already your address."), field="email")
    user.pending_email = new_email
    user.pending_email_expires_at = utcnow() + current_app.config["CONFIRM_EMAIL_MAX_AGE"]
    db.session.flush()
    send_confirmation(user)


def cancel_email_change(user: User) -> None:
    user.pending_email = None
    user.pending_email_expires_at = None
    db.session.flush()


def _require_manager(actor: User) -> None:
    if not actor.is_manager or not actor.active:
        raise NotAllowed(_("Only managers can manage people."))


def _active_managers() -> sa.Select:
    return (sa.select(User.id).where(User.role == Role.MANAGER, User.active.is_(True))
            .order_by(User.id).with_for_update())


def _lock_managers() -> None:
    """Called before a change that may remove a manager: locks the active managers' rows, in
    one order, before our own UPDATE. Two managers demoting each other at the same moment then
    queue (PostgreSQL; SQLite serialises the writes) instead of each holding the row the
    other's check needs, which PostgreSQL ends with a deadlock error."""
    db.session.execute(_active_managers())


def _ensure_a_manager_remains() -> None:
    """Called after the change: refuses it if no active manager would be left (the second of
    two managers demoting each other reads the first's change once it waited on the lock)."""
    db.session.flush()
    if not db.session.scalars(_active_managers()).all():
        raise NotAllowed(_("The agency needs at least one active manager."))


def change_role(actor: User, user: User, role: Role) -> None:
    """Give `user` another role. A manager cannot change their own role, and the last active
    manager keeps theirs. Raises NotAllowed. The person's unread counters are recounted for
    the conversations of their new role."""
    _require_manager(actor)
    if user.id == actor.id:
        raise NotAllowed(_("You cannot change your own role."))
    if user.is_erased:
        raise NotAllowed(_("This person's data have been erased: the account cannot be used "
                           "again."))
    if user.role is role:
        return
    was_manager = user.role is Role.MANAGER
    previous = user.role
    if was_manager:
        _lock_managers()
    user.role = role
    if was_manager:
        _ensure_a_manager_remains()
    # Other conversations, other notes: the unread counters follow.
    account_changed.send(user, change="role")
    # Permissions changed: sessions opened under the old role end.
    end_all_sessions(user)
    security_log.record("role_changed", user_id=actor.id, target_user_id=user.id,
                        previous_role=previous, role=role)


def deactivate(actor: User, user: User) -> None:
    """Close an account: the person can no longer log in and every session ends; nothing is
    unread for them any more. Raises NotAllowed for oneself."""
    _require_manager(actor)
    if user.id == actor.id:
        raise NotAllowed(_("You cannot deactivate your own account."))
    if not user.active:
        return
    if user.role is Role.MANAGER:
        _lock_managers()
    user.active = False
    user.deactivated_at = utcnow()
    if user.role is Role.MANAGER:
        _ensure_a_manager_remains()
    account_changed.send(user, change="deactivated")
    end_all_sessions(user)
    security_log.record("account_deactivated", user_id=actor.id, target_user_id=user.id)


def reactivate(actor: User, user: User) -> None:
    """Open a closed account again; its unread counters are recounted. NotAllowed for a
    non-manager, or an account whose data were erased."""
    _require_manager(actor)
    if user.is_erased:
        raise NotAllowed(_("This person's data have been erased: the account cannot be used "
                           "again."))
    was_active = user.active
    user.active = True
    user.deactivated_at = None
    db.session.flush()
    if not was_active:
        account_changed.send(user, change="reactivated")
        security_log.record("account_reactivated", user_id=actor.id, target_user_id=user.id)


def revoke_invitation(actor: User, invitation: Invitation) -> None:
    """Withdraw an invitation that has not been accepted. Raises NotAllowed otherwise."""
    _require_manager(actor)
    if invitation.accepted_at is not None:
        raise NotAllowed(_("This invitation has already been accepted."))
    if invitation.revoked_at is None:
        invitation.revoked_at = utcnow()
        db.session.flush()


def people_query(*, query: str = "", role: Role | None = None, status: str = "") -> sa.Select:
    """The select for the people list: name or email containing `query`, by role and state;
    both sides folded by the same database (extensions.folded: Python's lower() and the
    database's disagree on some letters)."""
    stmt = sa.select(User)
    if query := query.strip():
        stmt = stmt.where(any_holds(query, User.display_name, User.email))
    if role is not None:
        stmt = stmt.where(User.role == role)
    if status == "active":
        stmt = stmt.where(User.active.is_(True))
    elif status == "inactive":
        stmt = stmt.where(User.active.is_(False))
    return stmt.order_by(User.display_name, User.id)
