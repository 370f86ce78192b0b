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
from portal.accounts.models import (
    ROLE_LABELS,
    Invitation,
    PendingSignup,
    Role,
    User,
    new_session_token,
)
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
    """True when an account uses `email`. An address waiting to be confirmed (a sign-up, or
    a change of address) reserves nothing."""
    email = normalize_email(email)
    query = sa.select(User.id).where(User.email == email)
    if except_user is not None:
        query = query.where(User.id != except_user.id)
    return db.session.scalar(query.limit(1)) is not None


def _fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def _email(user: User, kind: str, key: str, subject, *, to: str | None = None,
           **context) -> None:
    """Queue an email about `user`'s account, in their language, to their address (or `to`)."""
    queue_email(kind=kind, key=key, to=to or user.email, user_id=user.id, locale=user.locale,
                subject=subject, user=user, **context)


def check_new_password(password: str, *personal: str) -> None:
    problem = password_problem(password, personal)
    if problem:
        raise Conflict(problem, field="password")


# --- sign-up and confirmation -------------------------------------------------------------


def sign_up_client(
    *, email: str, password: str, display_name: str, locale: str, timezone: str,
    company_name: str = "",
) -> None:
    """Answer a sign-up the same way whatever the address, so that it never tells whether an
    account uses it: a free address gets a link to finish creating the account (the sign-up
    waits as a PendingSignup, which reserves nothing; the account and its company, named
    `company_name` or else after the person, are made when the link is followed); an address
    with an account gets, instead, an email telling its owner that someone tried (at most one
    an hour). The password is hashed in both cases, so both take the same time. One address
    receives at most SIGNUP_EMAILS_PER_HOUR links an hour from every source together: past
    that, a sign-up is answered alike and stores and sends nothing.

    Raises Conflict only when the password is refused (which depends on what the visitor
    typed, never on who has an account)."""
    email = normalize_email(email)
    check_new_password(password, email, display_name)
    password_hash = hash_password(password)
    owner = find_user_by_email(email)
    if owner is not None:
        tell_owner_of_attempt(owner, "signup")
        security_log.record("signup_for_existing_account", user_id=owner.id)
        return
    now = utcnow()
    db.session.execute(sa.delete(PendingSignup).where(
        PendingSignup.created_at < now - current_app.config["CONFIRM_EMAIL_MAX_AGE"]))
    sent_this_hour = db.session.scalar(
        sa.select(sa.func.count(PendingSignup.id))
        .where(PendingSignup.email == email, PendingSignup.created_at > now - timedelta(hours=1)))
    if sent_this_hour >= current_app.config["SIGNUP_EMAILS_PER_HOUR"]:
        security_log.record("signup_emails_capped", email_key=security_log.email_key(email))
        return
    pending = PendingSignup(email=email, password_hash=password_hash,
                            display_name=display_name.strip(), locale=locale, timezone=timezone,
                            company_name=company_name.strip(), created_at=now)
    db.session.add(pending)
    db.session.flush()
    token = make_token("signup", {"pid": pending.id, "email": email})
    queue_email(
        kind="confirm_signup",
        key=f"signup:{pending.id}",
        to=email,
        locale=locale,
        subject=_l("Confirm your email address"),
        name=pending.display_name,
        link=external_url("auth.confirm_signup", token=token),
        hours=int(current_app.config["CONFIRM_EMAIL_MAX_AGE"].total_seconds() // 3600),
    )


def tell_owner_of_attempt(owner: User, what: str) -> None:
    """Tell the owner of an address that someone tried to use it: to create an account
    (`what` "signup") or as the new address of another account ("change"). At most one such
    email an hour per account; nothing for a closed account."""
    if not owner.active:
        return
    hour = int(utcnow().timestamp()) // 3600
    _email(owner, "address_in_use", f"address-in-use:{owner.id}:{hour}",
           _l("Someone tried to use your address"), what=what,
           login_link=external_url("auth.login"),
           reset_link=external_url("auth.forgot_password"))


def pending_signup_for(token: str) -> PendingSignup:
    """The sign-up a confirmation link finishes. Raises InvalidToken for a forged or expired
    link, or one already used."""
    payload = read_token("signup", token, current_app.config["CONFIRM_EMAIL_MAX_AGE"])
    pending = db.session.get(PendingSignup, payload.get("pid"))
    if pending is None or pending.email != payload.get("email"):
        raise InvalidToken(_("This link has already been used or is no longer valid."))
    return pending


def confirm_signup(token: str, password: str) -> User:
    """Create the client account a sign-up link was sent for, its address confirmed, once the
    person types the password they chose (a link alone must not open an account whose
    password someone else may have chosen). Every sign-up waiting for that address ends.

    Raises InvalidToken (see pending_signup_for), Conflict on the password field when it is
    not the one chosen, Conflict when an account took the address meanwhile."""
    pending = pending_signup_for(token)
    if not verify_password(pending.password_hash, password):
        raise Conflict(_("This is not the password you chose when you signed up."),
                       field="password")
    if email_taken(pending.email):
        raise Conflict(_("An account already uses this address. Log in, or reset your "
                         "password."))
    user = User(email=pending.email, password_hash=pending.password_hash,
                display_name=pending.display_name, role=Role.CLIENT, locale=pending.locale,
                timezone=pending.timezone, email_confirmed_at=utcnow(), last_login_at=utcnow())
    _insert_user(user)
    db.session.execute(sa.delete(PendingSignup).where(PendingSignup.email == pending.email))
    security_log.record("signup_confirmed", user_id=user.id)
    from portal.billing.companies import create_company

    create_company(user, pending.company_name or user.display_name)
    return user


def _insert_user(user: User) -> None:
    # Two confirmations of the same address at once: the second insert meets the unique
    # address, and is told so rather than failing.
    try:
        with db.session.begin_nested():
            db.session.add(user)
            db.session.flush()
    except sa.exc.IntegrityError:
        raise Conflict(_("An account already uses this address. Log in, or reset your "
                         "password.")) from None


def send_confirmation(user: User) -> None:
    """Queue a confirmation link for the address the user has to confirm (new or pending).

    A new address that another account uses gets no link: its owner is told instead, and the
    person asking sees the same answer (a link to it could only fail)."""
    address = user.waiting_email or user.email
    if user.waiting_email is None and user.is_confirmed:
        raise Conflict(_("Your address is already confirmed."))
    if user.waiting_email is not None:
        owner = find_user_by_email(address)
        if owner is not None and owner.id != user.id:
            tell_owner_of_attempt(owner, "change")
            return
    token = make_token("confirm", {"uid": user.id, "email": address})
    _email(user, "confirm_email", f"confirm:{user.id}:{_fingerprint(token)}",
           _l("Confirm your email address"), to=address,
           link=external_url("auth.confirm", token=token),
           hours=int(current_app.config["CONFIRM_EMAIL_MAX_AGE"].total_seconds() // 3600),
           is_change=user.waiting_email is not None)


def _confirmation_target(token: str) -> tuple[User, str]:
    payload = read_token("confirm", token, current_app.config["CONFIRM_EMAIL_MAX_AGE"])
    user = db.session.get(User, payload.get("uid"))
    email = payload.get("email")
    if user is None or not user.active or not isinstance(email, str):
        raise InvalidToken(_("This link is not valid. Check that you copied it whole."))
    if email not in (user.email, user.waiting_email):
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
    longer waits to confirm (the change was cancelled, replaced or expired after
    CONFIRM_EMAIL_MAX_AGE); Conflict if another account took the address meanwhile (a change
    reserves nothing).
    """
    user, email = _confirmation_target(token)
    if email == user.email:
        if user.email_confirmed_at is None:
            user.email_confirmed_at = utcnow()
            db.session.flush()
        return user
    taken = Conflict(_("Another account now uses %(email)s: your address stays %(current)s. "
                       "Choose another new address in your settings.", email=email,
                       current=user.email))
    if email_taken(email, except_user=user):
        raise taken
    previous = user.email
    try:
        with db.session.begin_nested():
            user.email = email
            user.pending_email = None
            user.pending_email_expires_at = None
            user.email_confirmed_at = utcnow()
            db.session.flush()
    except sa.exc.IntegrityError:
        raise taken from None
    _email(user, "email_changed", f"email-changed:{user.id}:{_fingerprint(token)}",
           _l("Your email address was changed"), to=previous, new_email=email)
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


def email_login_link(email: str, password: str) -> None:
    """Log in past the account's ceiling of failed logins (portal.rate_limits): the password
    alone opens nothing; when it is right (and the account active) a one-time login link goes
    to the account's address, at most one a minute.

    Raises NotAllowed with the login's message when the password is wrong; the caller answers
    both cases the same, so the answer never says whether the password was right."""
    user = find_user_by_email(email)
    if not verify_password(user.password_hash if user else None, password) or user is None \
            or not user.active:
        security_log.record("login_failed", user_id=user.id if user else None,
                            reason="needs_link", email_key=security_log.email_key(email))
        raise NotAllowed(_("Email or password is incorrect."))
    token = make_token("login", {"uid": user.id, "fp": _login_fingerprint(user)})
    minute = int(utcnow().timestamp()) // 60
    _email(user, "login_link", f"login-link:{user.id}:{minute}", _l("Your link to log in"),
           link=external_url("auth.login_link", token=token),
           minutes=int(current_app.config["LOGIN_LINK_MAX_AGE"].total_seconds() // 60))
    security_log.record("login_link_sent", user_id=user.id)


def _login_fingerprint(user: User) -> str:
    # A login, a new password or the end of every session spends the link.
    last = user.last_login_at.isoformat() if user.last_login_at else "-"
    return _fingerprint(f"{user.password_hash}:{user.session_token}:{last}")


def user_for_login_link(token: str) -> User:
    """The account a login link opens; the link dies with the next login. Raises
    InvalidToken."""
    payload = read_token("login", token, current_app.config["LOGIN_LINK_MAX_AGE"])
    user = db.session.get(User, payload.get("uid"))
    if user is None or not user.active or payload.get("fp") != _login_fingerprint(user):
        raise InvalidToken(_("This link has already been used or is no longer valid."))
    return user


def log_in_by_link(token: str) -> User:
    """Open the account of a login link (once). Raises InvalidToken."""
    user = user_for_login_link(token)
    user.last_login_at = utcnow()
    db.session.flush()
    security_log.record("login_ok", user_id=user.id, by="link")
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
    _email(user, "reset_password", f"reset:{user.id}:{_fingerprint(token)}",
           _l("Reset your password"), link=external_url("auth.reset_password", token=token),
           minutes=int(current_app.config["RESET_PASSWORD_MAX_AGE"].total_seconds() // 60))


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
    """Invite a writer, an editor or a manager and queue the email with the set-password link.

    A new invitation to the same address replaces the earlier ones. Raises NotAllowed if the
    inviter is not a manager or the role is not a staff role, Conflict if the address has an
    account.
    """
    if not manager.is_manager or not manager.active:
        raise NotAllowed(_("Only managers can invite people."))
    if role not in (Role.WRITER, Role.EDITOR, Role.MANAGER):
        raise NotAllowed(_("Invitations are for writers, editors and managers."), field="role")
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
