"""Language and timezone of the person being served, and formatting in them."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, available_timezones

from flask import current_app, has_request_context, session
from flask_babel import format_datetime, get_locale
from flask_login import current_user


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    # Outside a request (the CLI, the worker, a thread) there is no session to read.
    chosen = session.get("locale") if has_request_context() else None
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


def to_utc(local: datetime, zone: str) -> datetime:
    """A wall-clock time typed by a person in `zone`, as an aware UTC datetime."""
    from datetime import UTC

    return local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def to_local(value: datetime, zone: str) -> datetime:
    """An aware datetime as naive wall-clock time in `zone` (to fill a datetime-local input)."""
    return value.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def format_money(amount: int | None, currency: str) -> str:
    """An amount held in the currency's minor unit, formatted for the current locale."""
    from babel.numbers import format_currency, get_currency_precision

    if amount is None:
        return ""
    digits = get_currency_precision(currency)
    value = amount / (10**digits) if digits else amount
    return format_currency(value, currency, locale=current_language())
