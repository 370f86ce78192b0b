"""Rate limits: which requests are counted, by what key, and the limiter of each app.

The limits themselves live in the configuration (RATE_LIMITS, "N per minute; M per hour"), the
storage in RATELIMIT_STORAGE_URI: memory:// in development and tests, Redis in production (the
counters must be shared by every worker process). A request over a limit is answered 429 with
the error page of the site's layout and a Retry-After header, and written to the security log.

Logins are limited three ways, so that nobody can keep a person out by failing on purpose:
- every attempt, per address (login_per_address);
- failed attempts per account *and* address (login_failures_per_account_and_address): a
  guesser is refused (429) from their own address only; the owner, elsewhere, still logs in;
- failed attempts per account from every address (login_failures_per_account, the ceiling):
  once an account has had that many, a password alone no longer opens it, from anywhere. The
  answer is the same whether the password was right or not ("if it was right, a link is on
  its way"), and a right password emails the account a one-time login link
  (auth.service.email_login_link): the owner gets in through their mailbox, while a guesser
  learns nothing from the answer and, even with the right password, cannot get in without
  the mailbox. The ceiling is counted by `count_failed_login` and read by
  `login_needs_link`, in the same storage as the other limits.

Why not a global `limiter` in extensions.py like the other extensions: Flask-Limiter keeps its
storage, its on/off switch and its limits on the Limiter object itself, so one object bound to
several apps (the test process builds many) would let the last app's settings win. Each app
gets its own Limiter here, and the limits are attached to the app's view functions by endpoint
name, so the table below is the one place that says what is limited.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app, request
from flask_limiter import Limiter, RequestLimit
from flask_login import current_user
from limits import parse_many

from portal import security_log

log = logging.getLogger("portal.rate_limits")


def by_address() -> str:
    """The client's address (after ProxyFix, when PROXY_HOPS says a proxy is trusted)."""
    return f"addr:{request.remote_addr or '-'}"


def by_account() -> str:
    """The account an anonymous form names (its `email` field), as a keyed hash."""
    return f"account:{security_log.email_key(request.form.get('email', ''))}"


def by_account_and_address() -> str:
    """The account an anonymous form names, tried from this address."""
    return f"{by_account()}/{by_address()}"


def by_person() -> str:
    """The logged-in person; anonymous requests are exempt (login_required answers them)."""
    return f"user:{current_user.id}"


def _anonymous() -> bool:
    return not current_user.is_authenticated


def _failed(response) -> bool:
    """A login that did not go through: the form came back instead of a redirect."""
    return response.status_code != 302


@dataclass(frozen=True)
class Rule:
    endpoint: str
    setting: str  # the name in app.config["RATE_LIMITS"]
    key: Callable[[], str]
    failures_only: bool = False  # count only answers that are not a redirect (failed logins)
    methods: tuple[str, ...] = ("POST",)

    @property
    def exempt_when(self) -> Callable[[], bool] | None:
        return _anonymous if self.key is by_person else None

    def limit_value(self) -> str:
        return current_app.config["RATE_LIMITS"][self.setting]


# POST requests are counted: reading a form page is never limited. The one GET limited is the
# .zip of a period's texts, built inside the request (up to TEXTS_PER_ARCHIVE texts in two
# formats each): a loop on it would keep a worker busy.
RULES: tuple[Rule, ...] = (
    Rule("auth.login", "login_per_address", by_address),
    Rule("auth.login", "login_failures_per_account_and_address", by_account_and_address,
         failures_only=True),
    Rule("auth.login_link", "login_link_per_address", by_address),
    Rule("auth.signup", "signup_per_address", by_address),
    Rule("auth.signup", "signup_per_account_and_address", by_account_and_address),
    Rule("accounts.change_email", "email_change_per_person", by_person),
    Rule("auth.confirm_signup", "signup_confirm_per_address", by_address),
    Rule("auth.forgot_password", "reset_request_per_address", by_address),
    Rule("auth.forgot_password", "reset_request_per_account", by_account),
    Rule("auth.reset_password", "reset_per_address", by_address),
    Rule("accounts.invite", "invitation_per_manager", by_person),
    Rule("auth.accept_invitation", "invitation_accept_per_address", by_address),
    Rule("orders.post_message", "message_per_person", by_person),
    Rule("orders.texts_archive", "texts_archive_per_person", by_person, methods=("GET",)),
    Rule("orders.company_texts_archive", "texts_archive_per_person", by_person,
         methods=("GET",)),
)


def _log_breach(limit: RequestLimit) -> None:
    security_log.record("rate_limited", limit=str(limit.limit))


def init_rate_limits(app: Flask) -> Limiter | None:
    """Give `app` its own limiter and attach RULES to its views; nothing when disabled."""
    limiter = Limiter(key_func=by_address, on_breach=_log_breach)
    limiter.init_app(app)
    app.extensions["portal_limiter"] = limiter
    if not limiter.enabled:
        return None
    for rule in RULES:
        view = app.view_functions[rule.endpoint]
        app.view_functions[rule.endpoint] = limiter.limit(
            rule.limit_value,
            key_func=rule.key,
            methods=list(rule.methods),
            exempt_when=rule.exempt_when,
            deduct_when=_failed if rule.failures_only else None,
        )(view)
    return limiter


# --- the ceiling of failed logins per account, from every address ---------------------------

ACCOUNT_CEILING = "login_failures_per_account"  # its setting in app.config["RATE_LIMITS"]


def _ceiling() -> tuple[Limiter, list, list[str]] | None:
    """The app's limiter, the ceiling's limits and the identifiers of the account the login
    form names; None when the limits are off."""
    limiter = current_app.extensions.get("portal_limiter")
    if limiter is None or not limiter.enabled:
        return None
    items = parse_many(current_app.config["RATE_LIMITS"][ACCOUNT_CEILING])
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or ""
    return limiter, items, [prefix, "login-ceiling", by_account()]


def login_needs_link() -> bool:
    """Has the account named by the login form reached its ceiling of failed logins (from any
    address)? Then only an emailed link opens it. False when the limits are off, or the
    storage cannot be read (the limits per address still hold)."""
    ceiling = _ceiling()
    if ceiling is None:
        return False
    limiter, items, identifiers = ceiling
    try:
        return not all(limiter.limiter.test(item, *identifiers) for item in items)
    except Exception:
        log.warning("the login ceiling could not be read", exc_info=True)
        return False


def count_failed_login() -> None:
    """Count a failed login on the account named by the login form, towards its ceiling."""
    ceiling = _ceiling()
    if ceiling is None:
        return
    limiter, items, identifiers = ceiling
    try:
        for item in items:
            limiter.limiter.hit(item, *identifiers)
    except Exception:
        log.warning("a failed login could not be counted", exc_info=True)
