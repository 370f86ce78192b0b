"""Language and timezone of the person being served, and formatting in them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from babel import Locale
from babel.dates import DateTimePattern, get_date_format, get_datetime_format, get_time_format
from babel.dates import parse_pattern as parse_date_pattern
from babel.numbers import NumberPattern, get_currency_precision
from flask import current_app, has_request_context, session
from flask_babel import format_datetime, get_locale, get_timezone, get_translations
from flask_login import current_user

_NAMED_FORMATS = ("full", "long", "medium", "short")


_CATALOGS: dict[Locale, object] = {}


def current_catalog():
    """The translations of the current language (follows force_locale), as
    flask_babel.get_translations() gives them for the portal's one domain. That function walks
    the domain, the context and the locale's name again for every string; a page of the
    templates asks for a hundred strings or more."""
    locale = get_locale()
    if locale is None:  # outside any context: flask_babel's null translations
        return get_translations()
    found = _CATALOGS.get(locale)
    if found is None:
        found = _CATALOGS[locale] = get_translations()
    return found


def install_template_gettext(app) -> None:
    """The templates' _(), gettext and ngettext (Jinja's i18n extension, newstyle, installed by
    Flask-Babel) through current_catalog()."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: current_catalog().ugettext(s),
        ngettext=lambda s, p, n: current_catalog().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: current_catalog().upgettext(c, s),
        npgettext=lambda c, s, p, n: current_catalog().unpgettext(c, s, p, n),
    )


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


# List pages format a date and an amount on every row. Babel's format_datetime and
# format_currency look the locale's patterns up and, for dates, format date and time apart and
# glue them on every call (~70 us each); the parsed pattern for a (locale, format) pair never
# changes, so it is built once per process and only applied per value.


@lru_cache(maxsize=128)
def _datetime_pattern(locale_id: str, fmt: str) -> tuple[Locale, DateTimePattern]:
    locale = Locale.parse(locale_id)
    if fmt not in _NAMED_FORMATS:
        return locale, parse_date_pattern(fmt)
    # The locale's glue ("{1} {0}", "{1} 'à' {0}") is itself a pattern whose literals are
    # quoted: putting the date and time patterns in its place gives one pattern that formats
    # exactly what Babel's three-step format_datetime gives.
    glue = get_datetime_format(fmt, locale=locale)
    combined = glue.replace("{0}", get_time_format(fmt, locale=locale).pattern).replace(
        "{1}", get_date_format(fmt, locale=locale).pattern)
    return locale, parse_date_pattern(combined)


@lru_cache(maxsize=64)
def _money_pattern(locale_id: str, currency: str) -> tuple[Locale, NumberPattern, int]:
    locale = Locale.parse(locale_id)
    return locale, locale.currency_formats["standard"], get_currency_precision(currency)


# The same deadlines and prices come back on every view of a list, and a formatted value
# depends only on its arguments: the last few thousand are kept (a few hundred kB).
@lru_cache(maxsize=8192)
def _formatted_datetime(locale_id: str, zone, fmt: str, value: datetime) -> str:
    locale, pattern = _datetime_pattern(locale_id, fmt)
    return pattern.apply(value.astimezone(zone), locale)


@lru_cache(maxsize=4096)
def _formatted_money(locale_id: str, currency: str, amount: int) -> str:
    locale, pattern, digits = _money_pattern(locale_id, currency)
    # Exact: 1250 cents are Decimal("12.50"), never the float 12.5.
    value = Decimal(amount).scaleb(-digits) if digits else amount
    return pattern.apply(value, locale, currency=currency, currency_digits=True,
                         decimal_quantization=True, group_separator=True,
                         numbering_system="latn")


def format_local(value: datetime | None, fmt: str = "medium") -> str:
    """A timestamp in the person's language and time zone (the templates' `datetime` filter):
    what flask_babel.format_datetime gives, with the pattern parsed once per process."""
    if value is None:
        return ""
    if value.tzinfo is None:  # stored timestamps are UTC
        value = value.replace(tzinfo=UTC)
    # Both follow flask_babel's force_locale (emails are written in their recipient's language).
    return _formatted_datetime(current_language(), get_timezone(), fmt, value)


_TRANSLATED: dict[tuple[int, str], dict] = {}


def translated(labels: dict) -> dict:
    """A module-level table of lazy labels as plain strings in the current language, built once
    per process and language: a list shows a label on every row, and translating a lazy
    string costs a catalog lookup each time. Only for tables that live as long as the process
    (the key is the table's identity)."""
    key = (id(labels), current_language())
    found = _TRANSLATED.get(key)
    if found is None:
        found = _TRANSLATED[key] = {name: str(label) for name, label in labels.items()}
    return found


def format_money(amount: int | None, currency: str) -> str:
    """An amount held in the currency's minor unit, formatted for the current locale."""
    if amount is None:
        return ""
    return _formatted_money(current_language(), currency, amount)
