"""Joining and signing in: sign-up, email confirmation, login, password reset, invitations.

Every function adds and flushes; the request that calls it commits once.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal import security_log
from portal.accounts.models import ROLE_LABELS, Invitation, Role, User, new_session_token
from portal.auth.passwords import hash_password, password_problem, verify_password
from portal.auth.tokens import make_token, read_token
from portal.errors import Conflict, InvalidToken, NotAllowed
from portal.extensions import db, utcnow
from portal.notifications.models import OutboxEmail
from portal.notifications.outbox import external_url, queue_email


def normalize_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalize_email(email)))


def email_taken(email: str, *, except_user: User | None = None) -> bool:
    """True when an account uses `email`, or waits to confirm it as its new address."""
    email = normalize_email(email)
    query = sa.select(User.id).where(sa.or_(User.email == email, User.pending_email == email))
    if except_user is not None:
        query = query.where(User.id != except_user.id)
    return db.session.scalar(query.limit(1)) is not None


def _fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def check_new_password(password: str, *personal: str) -> None:
    problem = password_problem(password, personal)
    if problem:
        raise Conflict(problem, field="password")


# --- sign-up and confirmation -------------------------------------------------------------


def sign_up_client(
    *, email: str, password: str, display_name: str, locale: str, timezone: str,
    company_name: str = "",
) -> User:
    """Create a client account with its company (named `company_name`, else after the person;
    the client its owner) and queue the confirmation email.

    Raises Conflict when the address is taken or the password is refused.
    """
    from portal.billing.companies import create_company

    email = normalize_email(email)
    if email_taken(email):
        raise Conflict(
            _("An account already uses this address. Log in, or reset your password."),
            field="email",
        )
    check_new_password(password, email, display_name)
    user = User(
        email=email,
        password_hash=hash_password(password),
        display_name=display_name.strip(),
        role=Role.CLIENT,
        locale=locale,
        timezone=timezone,
    )
    db.session.add(user)
    db.session.flush()
    create_company(user, company_name.strip() or user.display_name)
    send_confirmation(user)
    return user


def send_confirmation(user: User) -> None:
    """Queue a confirmation link for the address the user has to confirm (new or pending)."""
    address = user.pending_email or user.email
    if user.pending_email is None and user.is_confirmed:
        raise Conflict(_("Your address is already confirmed."))
    token = make_token("confirm", {"uid": user.id, "email": address})
    queue_email(
        kind="confirm_email",
        key=f"confirm:{user.id}:{_fingerprint(token)}",
        to=address,
        user_id=user.id,
        locale=user.locale,
        subject=_l("Confirm your email address"),
        user=user,
        link=external_url("auth.confirm", token=token),
        hours=int(current_app.config["CONFIRM_EMAIL_MAX_AGE"].total_seconds() // 3600),
        is_change=user.pending_email is not None,
    )


def _confirmation_target(token: str) -> tuple[User, str]:
    payload = read_token("confirm", token, current_app.config["CONFIRM_EMAIL_MAX_AGE"])
    user = db.session.get(User, payload.get("uid"))
    email = payload.get("email")
    if user is None or not user.active or not isinstance(email, str):
        raise InvalidToken(_("This link is not valid. Check that you copied it whole."))
    if email not in (user.email, user.pending_email):
        raise InvalidToken(
            _("This link is for an address that is no longer waiting to be confirmed.")
        )
    return user, email


def address_to_confirm(token: str) -> str:
    """The address a confirmation link is for. Raises InvalidToken like confirm_email."""
    return _confirmation_target(token)[1]


def confirm_email(token: str) -> User:
    """Confirm the address a link was sent to: the sign-up address, or a new one that then
    replaces the old (which is told of the change).

    Raises InvalidToken for a forged or expired link, or one whose address the account no
    longer waits to confirm; Conflict if another account took the address meanwhile.
    """
    user, email = _confirmation_target(token)
    if email == user.email:
        if user.email_confirmed_at is None:
            user.email_confirmed_at = utcnow()
            db.session.flush()
        return user
    if db.session.scalar(sa.select(User.id).where(User.email == email, User.id != user.id)):
        raise Conflict(_("Another account already uses this address."))
    previous = user.email
    user.email = email
    user.pending_email = None
    user.email_confirmed_at = utcnow()
    db.session.flush()
    queue_email(
        kind="email_changed",
        key=f"email-changed:{user.id}:{_fingerprint(token)}",
        to=previous,
        user_id=user.id,
        locale=user.locale,
        subject=_l("Your email address was changed"),
        user=user,
        new_email=email,
    )
    return user


# --- login and sessions -------------------------------------------------------------------


def authenticate(email: str, password: str) -> User:
    """The account these credentials open.

    Raises NotAllowed with the same message for an unknown address and a wrong password, and a
    distinct one for a deactivated account (only once the password is right).
    """
    user = find_user_by_email(email)
    if not verify_password(user.password_hash if user else None, password) or user is None:
        if user is None:
            security_log.record("login_failed", user_id=None, reason="unknown_account",
                                email_key=security_log.email_key(email))
        else:
            security_log.record("login_failed", user_id=user.id, reason="bad_password")
        raise NotAllowed(_("Email or password is incorrect."))
    if not user.active:
        security_log.record("login_failed", user_id=user.id, reason="deactivated")
        raise NotAllowed(_("This account has been deactivated. Contact the agency."))
    user.last_login_at = utcnow()
    db.session.flush()
    security_log.record("login_ok", user_id=user.id)
    return user


def end_all_sessions(user: User) -> None:
    """Make every session and remember cookie of `user` invalid at its next request."""
    user.session_token = new_session_token()
    db.session.flush()


# --- password reset -----------------------------------------------------------------------


def request_password_reset(email: str) -> None:
    """Queue a reset link if an active account has this address; silent otherwise, so the
    answer never tells whether an address is registered."""
    user = find_user_by_email(email)
    if user is None or not user.active:
        security_log.record("password_reset_requested", user_id=user.id if user else None,
                            sent=False, reason="inactive" if user else "unknown_account",
                            email_key=security_log.email_key(email))
        return
    security_log.record("password_reset_requested", user_id=user.id, sent=True)
    token = make_token("reset", {"uid": user.id, "pw": _fingerprint(user.password_hash)})
    queue_email(
        kind="reset_password",
        key=f"reset:{user.id}:{_fingerprint(token)}",
        to=user.email,
        user_id=user.id,
        locale=user.locale,
        subject=_l("Reset your password"),
        user=user,
        link=external_url("auth.reset_password", token=token),
        minutes=int(current_app.config["RESET_PASSWORD_MAX_AGE"].total_seconds() // 60),
    )


def user_for_reset(token: str) -> User:
    """The account a reset link opens. The link dies once the password changes, which makes it
    single use. Raises InvalidToken."""
    payload = read_token("reset", token, current_app.config["RESET_PASSWORD_MAX_AGE"])
    user = db.session.get(User, payload.get("uid"))
    if user is None or not user.active or payload.get("pw") != _fingerprint(user.password_hash):
        raise InvalidToken(_("This link has already been used or is no longer valid."))
    return user


def reset_password(token: str, password: str) -> User:
    """Set a new password through a reset link and end every session of the account.

    Raises InvalidToken or Conflict (refused password)."""
    user = user_for_reset(token)
    set_password(user, password)
    # Whoever holds the link also holds the mailbox: the address is proven.
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
    security_log.record("password_reset_done", user_id=user.id)
    return user


def set_password(user: User, password: str) -> None:
    check_new_password(password, user.email, user.display_name)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    end_all_sessions(user)


# --- invitations --------------------------------------------------------------------------


def invite(
    *, manager: User, email: str, display_name: str, role: Role, locale: str
) -> Invitation:
    """Invite a writer or a manager and queue the email with the set-password link.

    A new invitation to the same address replaces the earlier ones. Raises NotAllowed if the
    inviter is not a manager or the role is not a staff role, Conflict if the address has an
    account.
    """
    if not manager.is_manager or not manager.active:
        raise NotAllowed(_("Only managers can invite people."))
    if role not in (Role.WRITER, Role.MANAGER):
        raise NotAllowed(_("Invitations are for writers and managers."), field="role")
    email = normalize_email(email)
    if email_taken(email):
        raise Conflict(_("An account already uses this address."), field="email")
    now = utcnow()
    db.session.execute(
        sa.update(Invitation)
        .where(
            Invitation.email == email,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    invitation = Invitation(
        email=email,
        display_name=display_name.strip(),
        role=role,
        locale=locale,
        invited_by_id=manager.id,
        created_at=now,
        expires_at=now + current_app.config["INVITATION_MAX_AGE"],
    )
    db.session.add(invitation)
    db.session.flush()
    security_log.record("invitation_sent", user_id=manager.id, invitation_id=invitation.id,
                        role=role, email_key=security_log.email_key(email))
    token = make_token("invite", {"inv": invitation.id, "email": email})
    queue_email(
        kind="invitation",
        key=f"invitation:{invitation.id}",
        to=email,
        locale=locale,
        subject=_l("You are invited to join %(agency)s", agency=current_app.config["AGENCY_NAME"]),
        invitation=invitation,
        inviter=manager,
        role_name=ROLE_LABELS[role],
        link=external_url("auth.accept_invitation", token=token),
        days=current_app.config["INVITATION_MAX_AGE"].days,
    )
    return invitation


def invitation_for(token: str) -> Invitation:
    """The invitation a link carries, if it can still be accepted. Raises InvalidToken."""
    max_age = current_app.config["INVITATION_MAX_AGE"]
    payload = read_token("invite", token, max_age)
    invitation = db.session.get(Invitation, payload.get("inv"))
    if invitation is None or invitation.email != payload.get("email"):
        raise InvalidToken(_("This link is not valid. Check that you copied it whole."))
    if invitation.accepted_at is not None:
        raise InvalidToken(_("This invitation has already been accepted. Log in instead."))
    if invitation.revoked_at is not None:
        raise InvalidToken(_("This invitation was withdrawn. Ask the agency for a new one."))
    if invitation.expires_at <= utcnow():
        raise InvalidToken(_("This link has expired. Ask for a new one."))
    return invitation


def accept_invitation(token: str, *, password: str, display_name: str, timezone: str) -> User:
    """Create the invited account with the chosen password; the invitation is then used up.

    Raises InvalidToken, or Conflict when the password is refused or the address was taken.
    """
    invitation = invitation_for(token)
    if email_taken(invitation.email):
        raise Conflict(_("An account already uses this address. Log in instead."))
    check_new_password(password, invitation.email, display_name)
    now = utcnow()
    user = User(
        email=invitation.email,
        password_hash=hash_password(password),
        display_name=display_name.strip(),
        role=invitation.role,
        locale=invitation.locale,
        timezone=timezone,
        # The link reached this mailbox: the address is proven.
        email_confirmed_at=now,
    )
    db.session.add(user)
    db.session.flush()
    invitation.accepted_at = now
    invitation.user_id = user.id
    db.session.flush()
    security_log.record("invitation_accepted", user_id=user.id, invitation_id=invitation.id,
                        role=user.role)
    return user


def confirmation_resend_allowed(user: User) -> bool:
    """Clients may ask for a new link at most once a minute (the outbox keeps each one)."""
    last = db.session.scalar(
        sa.select(sa.func.max(OutboxEmail.created_at)).where(
            OutboxEmail.recipient_user_id == user.id, OutboxEmail.kind == "confirm_email"
        )
    )
    return last is None or utcnow() - last >= timedelta(minutes=1)
