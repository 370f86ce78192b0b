"""Language and time zone of the person being served, and the one way to format for people.

Every date, number and amount a person reads (pages, emails, flashes, PDFs) goes through the
functions below or their Jinja filters; machine formats (ISO 8601 in `datetime` attributes and
exports, CSV, `datetime-local` inputs, idempotency keys) do not.

Dates and times are shown in the reader's time zone: the viewer's setting (else the agency's)
on a page; in an email, the recipient's (`queue_email` renders under `in_zone`). Never seconds.
Six forms, named, and no other pattern (`format_local` refuses any other name):

    form    French                               English
    short   2 déc. 2026, 14:33                   Dec 2, 2026, 2:33 PM        lists, pages
    long    mercredi 2 décembre 2026, 14:33      Wednesday, December 2, 2026, 2:33 PM
                                                 (a sentence, an email, a deadline stated)
    date    2 déc. 2026                          Dec 2, 2026
    day     2 décembre 2026                      December 2, 2026  (documents: PDFs)
    time    14:33                                2:33 PM
    month   décembre 2026                        December 2026

(Babel's own "medium"/"long" date-times carry seconds and a zone name; "short" is all digits:
"02/12/2026 14:33". The forms above mix the locale's date and short time patterns, glued as
the locale glues them.)

Numbers: the locale's grouping, as Babel gives it: "1 200 mots" (U+202F, a narrow no-break
space) and "1,200 words". Translated strings format every int parameter this way
(`numbers_in_text`; `%(num)d` included, so "%(num)d words" reads "1 200 mots"): the
templates' _()/ngettext (`install_template_formatting`) and Python's _(), _l(), ngettext
(portal.extensions.GroupingDomain). An int that is not a quantity (a year, an id) must not
be passed to a translated string as an int: pass it as text.

Money: an integer in the currency's minor unit. French: the locale's form, amount first,
"12 000 F CFA", "12,50 €". English: the locale's form when the currency has a sign ("€12.50",
"$3.00"); when its symbol is letters (the CFA franc's "F CFA"), CLDR's "F CFA12,000" is
unreadable, so the symbol goes after the amount as its countries write it: "12,000 F CFA"
(a no-break space between; likewise a code used as symbol, "1,234.50 GHS").

Jinja filters: `datetime(form="short")`, `date`, `time`, `month`, `number`, `money(currency)`.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale
from babel.dates import DateTimePattern, get_date_format, get_datetime_format, get_time_format
from babel.dates import parse_pattern as parse_date_pattern
from babel.numbers import (
    NumberPattern,
    format_decimal,
    get_currency_precision,
    get_currency_symbol,
)
from babel.numbers import parse_pattern as parse_number_pattern
from flask import current_app, has_request_context, session
from flask_babel import get_locale, get_timezone, get_translations
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup


def current_catalog():
    """The translations of the current language (follows force_locale), as Flask-Babel's
    get_translations() gives them. Flask-Babel loads each catalog once, but finding it again
    (the domain, the context, the locale's name) costs about 2.5 times what this does (13-19
    us a string against 5-7 on a busy machine), and a page of the templates asks for a
    hundred strings or more (README "Caches")."""
    locale = get_locale()
    if locale is None:  # outside any context: flask_babel's null translations
        return get_translations()
    return _catalog(locale)


@lru_cache(maxsize=8)  # one per language; see README "Caches"
def _catalog(locale: Locale):
    return get_translations()


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
    install_template_formatting(app)


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


@lru_cache(maxsize=1)  # reading the zone files takes tens of milliseconds; they do not change
def timezone_names() -> tuple[str, ...]:
    """Every IANA zone name the machine knows, sorted."""
    return (
        *sorted(
            name
            for name in available_timezones()
            if "/" in name and not name.startswith("Etc/")
        ),
        "UTC",
    )


def is_timezone(name: str) -> bool:
    return name in timezone_names()


def format_in_zone(value: datetime | None, zone: str, form: str = "short") -> str:
    """A timestamp shown in an explicit zone (emails are written for their recipient, not the
    person whose request queued them)."""
    with in_zone(zone):
        return format_local(value, form)


def current_language() -> str:
    return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])


def to_utc(local: datetime, zone: str) -> datetime:
    """A wall-clock time typed by a person in `zone`, as an aware UTC datetime."""
    return local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def to_local(value: datetime, zone: str) -> datetime:
    """An aware datetime as naive wall-clock time in `zone` (to fill a datetime-local input)."""
    return value.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


# --- formatting -----------------------------------------------------------------------------
# List pages format a date and an amount on every row. Babel's format_datetime and
# format_currency look the locale's patterns up and, for dates, format date and time apart and
# glue them on every call; the parsed pattern of a (locale, form) pair never changes, so it is
# built once per process and applied to each value. Applying it is still slow (20 to 40 us a
# date or an amount: Babel's generic pattern machinery), and the same deadlines and prices come
# back on every view of a list: the last few thousand formatted values are kept too (a few
# hundred kB; under 1 us a value found there). All bounded lru_caches (README "Caches").

# form: (date pattern, time pattern, glue), each a Babel named format, or None for none.
DATETIME_FORMS = {
    "short": ("medium", "short", "medium"),
    "long": ("full", "short", "long"),
    "date": ("medium", None, None),
    "day": ("long", None, None),
    "time": (None, "short", None),
    "month": (None, None, None),  # the locale's "yMMMM" skeleton
}

_ZONE: ContextVar[ZoneInfo | None] = ContextVar("portal_zone", default=None)


@contextmanager
def in_zone(zone: str | None):
    """Format timestamps in `zone` inside the block (an email in its recipient's zone); None
    or an unknown name leave the viewer's zone."""
    try:
        found = ZoneInfo(zone) if zone else None
    except (ZoneInfoNotFoundError, ValueError):
        found = None
    token = _ZONE.set(found) if found is not None else None
    try:
        yield
    finally:
        if token is not None:
            _ZONE.reset(token)


def reader_zone():
    """The zone timestamps are shown in: the one `in_zone` set, else the viewer's."""
    return _ZONE.get() or get_timezone() or ZoneInfo(current_app.config["AGENCY_TIMEZONE"])


@lru_cache(maxsize=64)
def _datetime_pattern(locale_id: str, form: str) -> tuple[Locale, DateTimePattern]:
    locale = Locale.parse(locale_id)
    if form not in DATETIME_FORMS:
        raise ValueError(f"unknown date form {form!r}; use one of {sorted(DATETIME_FORMS)}")
    date_format, time_format, glue_format = DATETIME_FORMS[form]
    if form == "month":
        return locale, parse_date_pattern(locale.datetime_skeletons["yMMMM"].pattern)
    date_pattern = get_date_format(date_format, locale=locale).pattern if date_format else None
    time_pattern = get_time_format(time_format, locale=locale).pattern if time_format else None
    if date_pattern and time_pattern:
        # The locale's glue ("{1}, {0}", "{1} 'à' {0}") is itself a pattern whose literals
        # are quoted: the date and time patterns in its place give one pattern.
        glue = get_datetime_format(glue_format, locale=locale)
        combined = glue.replace("{0}", time_pattern).replace("{1}", date_pattern)
    else:
        combined = date_pattern or time_pattern
    return locale, parse_date_pattern(combined)


@lru_cache(maxsize=64)
def _money_pattern(locale_id: str, currency: str) -> tuple[Locale, NumberPattern, int]:
    locale = Locale.parse(locale_id)
    pattern = locale.currency_formats["standard"]
    symbol = get_currency_symbol(currency, locale=locale)
    if any(ch.isalpha() for ch in symbol) and pattern.pattern.startswith("\u00a4"):
        # "F CFA12,000" reads badly: a symbol of letters goes after the amount.
        pattern = parse_number_pattern(pattern.pattern.replace("\u00a4", "") + "\u00a0\u00a4")
    return locale, pattern, get_currency_precision(currency)


@lru_cache(maxsize=8192)
def _formatted_datetime(locale_id: str, zone, form: str, value: datetime | date) -> str:
    locale, pattern = _datetime_pattern(locale_id, form)
    if isinstance(value, datetime):
        value = value.astimezone(zone)
    return pattern.apply(value, locale)


@lru_cache(maxsize=4096)
def _formatted_money(locale_id: str, currency: str, amount: int) -> str:
    locale, pattern, digits = _money_pattern(locale_id, currency)
    # Exact: 1250 cents are Decimal("12.50"), never the float 12.5.
    value = Decimal(amount).scaleb(-digits) if digits else amount
    return pattern.apply(value, locale, currency=currency, currency_digits=True,
                         decimal_quantization=True, group_separator=True,
                         numbering_system="latn")


def format_local(value: datetime | date | None, form: str = "short") -> str:
    """A timestamp (or a day, or a month as "YYYY-MM") in the reader's language and time zone,
    in one of the named forms of DATETIME_FORMS (the templates' `datetime` filter). Raises
    ValueError for any other form, so that no page invents its own."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):  # a month kept as "2026-11" (an invoice's period)
        year, month = (int(part) for part in value.split("-")[:2])
        value = date(year, month, 1)
    if isinstance(value, datetime) and value.tzinfo is None:  # stored timestamps are UTC
        value = value.replace(tzinfo=UTC)
    # Both follow flask_babel's force_locale (emails are written in their recipient's language).
    return _formatted_datetime(current_language(), reader_zone(), form, value)


def format_number(value: int | float | Decimal | None) -> str:
    """A count or a quantity with the locale's grouping: "1 200" (U+202F) / "1,200"."""
    if value is None:
        return ""
    # + 0: -0.0 and 0.0 are one key of the cache (equal, same hash), so both are written 0.
    return _formatted_number(current_language(), value + 0)


@lru_cache(maxsize=4096, typed=True)  # 25 us a number with Babel; a dashboard shows 50
def _formatted_number(locale_id: str, value: int | float | Decimal) -> str:
    return format_decimal(value, locale=locale_id)


def format_money(amount: int | None, currency: str) -> str:
    """An amount held in the currency's minor unit, formatted for the current locale."""
    if amount is None:
        return ""
    return _formatted_money(current_language(), currency, amount)


_INT_PARAMETER = re.compile(r"(?<!%)%\((\w+)\)d")


def numbers_in_text(text: str, variables: dict) -> tuple[str, dict]:
    """A translated string and its parameters with every int parameter as the locale writes
    it ("%(num)d mots" with 1200 gives "1 200 mots"); other values untouched."""
    numbers = {name for name, value in variables.items() if type(value) is int}
    if not numbers:
        return text, variables
    rewritten = _INT_PARAMETER.sub(
        lambda m: f"%({m.group(1)})s" if m.group(1) in numbers else m.group(0), text)
    return rewritten, {name: format_number(value) if name in numbers else value
                       for name, value in variables.items()}


def install_template_formatting(app) -> None:
    """The templates' _(), gettext, ngettext, pgettext, npgettext through current_catalog(),
    with int parameters grouped as the locale groups them, and the formatting filters."""

    def translate(context, text, variables):
        text, variables = numbers_in_text(text, variables)
        if context.eval_ctx.autoescape:
            # The catalog's text, as Jinja's own newstyle gettext trusts it; the parameters
            # are escaped by Markup's %.
            text = Markup(text)  # noqa: S704  # nosec B704
        return text % variables

    @pass_context
    def gettext(__context, __string, **variables):
        return translate(__context, current_catalog().ugettext(__string), variables)

    @pass_context
    def ngettext(__context, __singular, __plural, __num, **variables):
        variables.setdefault("num", __num)
        return translate(__context, current_catalog().ungettext(__singular, __plural, __num),
                         variables)

    @pass_context
    def pgettext(__context, __string_ctx, __string, **variables):
        variables.setdefault("context", __string_ctx)
        return translate(__context, current_catalog().upgettext(__string_ctx, __string),
                         variables)

    @pass_context
    def npgettext(__context, __string_ctx, __singular, __plural, __num, **variables):
        variables.setdefault("context", __string_ctx)
        variables.setdefault("num", __num)
        return translate(__context, current_catalog().unpgettext(
            __string_ctx, __singular, __plural, __num), variables)

    # `_` stays Jinja's alias, which looks `gettext` up when called (the emails wrap it).
    app.jinja_env.globals.update(gettext=gettext, ngettext=ngettext,
                                 pgettext=pgettext, npgettext=npgettext)
    filters = app.jinja_env.filters
    filters["datetime"] = format_local
    filters["date"] = lambda value: format_local(value, "date")
    filters["time"] = lambda value: format_local(value, "time")
    filters["month"] = lambda value: format_local(value, "month")
    filters["number"] = format_number
    filters["money"] = format_money
