"""Language and timezone of the person being served, and formatting in them."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, available_timezones

from flask import current_app, session
from flask_babel import format_datetime, get_locale
from flask_login import current_user


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    chosen = session.get("locale")
    if chosen in languages:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    if current_user and current_user.is_authenticated and current_user.timezone:
        return current_user.timezone
    return current_app.config["AGENCY_TIMEZONE"]


_TIMEZONES: list[str] | None = None


def timezone_names() -> list[str]:
    """Every IANA zone name the machine knows, sorted; computed once per process."""
    global _TIMEZONES
    if _TIMEZONES is None:
        _TIMEZONES = [
            *sorted(
                name
                for name in available_timezones()
                if "/" in name and not name.startswith("Etc/")
            ),
            "UTC",
        ]
    return _TIMEZONES


def is_timezone(name: str) -> bool:
    return name in set(timezone_names())


def format_in_zone(value: datetime | None, zone: str, fmt: str = "medium") -> str:
    """A timestamp shown in an explicit zone (emails are written for their recipient, not the
    person whose request queued them)."""
    if value is None:
        return ""
    return format_datetime(value.astimezone(ZoneInfo(zone)).replace(tzinfo=None), fmt, rebase=False)


def current_language() -> str:
    return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])
