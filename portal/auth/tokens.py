"""Signed, time-limited tokens for links sent by email."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal.errors import InvalidToken


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"portal.{purpose}")


def make_token(purpose: str, payload: dict[str, Any]) -> str:
    return _serializer(purpose).dumps(payload)


def read_token(purpose: str, token: str, max_age: timedelta) -> dict[str, Any]:
    """The payload of a token made for `purpose`.

    Raises InvalidToken when the signature does not match (forged, or made for another purpose)
    or the token is older than `max_age`.
    """
    try:
        payload = _serializer(purpose).loads(token, max_age=int(max_age.total_seconds()))
    except SignatureExpired:
        raise InvalidToken(_("This link has expired. Ask for a new one.")) from None
    except BadSignature:
        raise InvalidToken(_("This link is not valid. Check that you copied it whole.")) from None
    if not isinstance(payload, dict):
        raise InvalidToken(_("This link is not valid. Check that you copied it whole."))
    return payload
