"""The security log: one structured line per event that matters to the portal's security.

Each event is one JSON object on the `portal.security` logger (it reaches the app's log through
the `portal` logger): the event name, the time in UTC, the user id, the remote address, the
endpoint, and the event's own fields. For example:

    {"event":"login_failed","time":"2026-03-02T09:14:03.120Z","user_id":12,
     "ip":"203.0.113.9","endpoint":"auth.login","reason":"bad_password"}

What it never holds: a password, a token or a session id. Fields whose name says secret
(password, token, secret, csrf, cookie, session) are written as "[redacted]"; the request path
is not logged (a reset or invitation link carries its token in the path), only the endpoint
and the numeric ids of the URL. An address that has no account is logged as `email_key`, a
keyed hash (the same address gives the same key, so attempts can be grouped, but what was
typed, perhaps a password in the wrong field, is not written).

One line per event, whatever a visitor typed: JSON escapes every control character (newline,
carriage return, escape, NUL…) and, with ensure_ascii, every non-ASCII character (U+2028 and
U+0085 break lines in some viewers), and long values are cut.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from flask import current_app, has_app_context, has_request_context, request

logger = logging.getLogger("portal.security")

SECRET_WORDS = ("password", "token", "secret", "csrf", "cookie", "session")
MAX_VALUE_LENGTH = 200
_CURRENT_USER = object()

# Events that say something was refused are warnings; the others are information.
WARNINGS = {"login_failed", "access_refused", "rate_limited", "host_refused"}


def email_key(email: str) -> str:
    """A keyed hash of an address as typed (trimmed, lower case): groups attempts on the same
    address without writing it down. Also the per-account key of the rate limits."""
    key = current_app.config["SECRET_KEY"] if has_app_context() else ""
    normalised = (email or "").strip().lower().encode("utf-8", "replace")
    return hmac.new(str(key).encode(), normalised, hashlib.sha256).hexdigest()[:16]


def record(event: str, *, user_id: Any = _CURRENT_USER, **fields: Any) -> dict[str, Any]:
    """Write one event; returns what was written (for tests and callers that want it).

    `user_id` defaults to the logged-in user of the request (None when anonymous). Give it for
    events about an account nobody is logged in as yet (login, password reset).
    """
    entry: dict[str, Any] = {
        "event": event,
        "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "user_id": _current_user_id() if user_id is _CURRENT_USER else user_id,
        "ip": request.remote_addr if has_request_context() else None,
    }
    if has_request_context():
        entry["endpoint"] = request.endpoint
        entry["method"] = request.method
        ids = {k: v for k, v in (request.view_args or {}).items() if isinstance(v, int)}
        if ids:
            entry["ids"] = ids
    for name, value in fields.items():
        entry[name] = "[redacted]" if _is_secret(name) else _clean(value)
    line = json.dumps(entry, ensure_ascii=True, separators=(",", ":"), default=str)
    level = logging.WARNING if event in WARNINGS else logging.INFO
    logger.log(level, line, extra={"security_event": entry})
    return entry


def access_refused(reason: str, **fields: Any) -> None:
    """Someone asked for what they may not have (the caller answers 404 or 400)."""
    record("access_refused", reason=reason, **fields)


def _is_secret(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_WORDS)


def _clean(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {str(k): "[redacted]" if _is_secret(str(k)) else _clean(v)
                for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_clean(v) for v in value]
    text = str(value.value if isinstance(value, Enum) else value)
    if len(text) > MAX_VALUE_LENGTH:
        text = text[:MAX_VALUE_LENGTH] + "…"
    return text


def _current_user_id() -> int | None:
    if not has_request_context():
        return None
    from flask_login import current_user

    try:
        return current_user.id if current_user.is_authenticated else None
    except Exception:  # the user could not be loaded (database down): still log the event
        return None
