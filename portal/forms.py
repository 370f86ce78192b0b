"""Form pieces shared by several blueprints."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit

import wtforms
from babel import support
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.i18n import messages_path
from wtforms import (
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, Length, StopValidation, ValidationError

from portal.auth.passwords import MAX_LENGTH
from portal.errors import DomainError
from portal.i18n import current_language, is_timezone, timezone_names


@lru_cache(maxsize=8)  # one per language; see README "Caches"
def _wtforms_catalog(language: str) -> support.Translations:
    return support.Translations.load(messages_path(), [language], domain="wtforms")


class _WTFormsMessages:
    """WTForms' own messages ("Not a valid choice", …) in the person's language. Flask-WTF
    reads that catalog from disk again on every request, for the forms of the layout too;
    it does not change while the process runs."""

    def gettext(self, string: str) -> str:
        return _wtforms_catalog(current_language()).ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return _wtforms_catalog(current_language()).ungettext(singular, plural, n)


_WTFORMS_MESSAGES = _WTFormsMessages()


# C0 and C1 controls (Unicode's whole Cc category: line breaks, tabs, NUL, escape, DEL, NEL…)
# and the line and paragraph separators (Zl, Zp), as classes of the regex engine: a draft of
# 300,000 characters is searched at each autosave. U+FFFE and U+FFFF are no characters at all:
# XML refuses them, so a .docx export of a text holding one could not be built.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufffe\uffff]")
_CONTROL_BUT_LF_AND_TAB = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufffe\uffff]")


def control_characters(text: str, allowed: str = "") -> set[str]:
    """The characters of `text` that no text a person types should hold, but those in
    `allowed`: C0 and C1 controls (line breaks, tabs, NUL, escape, DEL, NEL…) and the Unicode
    line and paragraph separators, and the noncharacters U+FFFE and U+FFFF."""
    pattern = _CONTROL_BUT_LF_AND_TAB if allowed == "\n\t" else _CONTROL
    if pattern.search(text) is None:
        return set()
    return set(pattern.findall(text)) - set(allowed)


# CR, and what other programs write for a line break: the vertical tab (PowerPoint's and
# Word's manual line break, pasted into the editor), form feed, NEL and the Unicode separators.
_LINE_BREAKS = re.compile("\r\n|[\r\x0b\x0c\x85\u2028\u2029]")


def normalize_line_breaks(value):
    """A text's line breaks as LF: browsers send a textarea's as CRLF, and text pasted from
    office programs may break its lines with a vertical tab or a form feed."""
    return _LINE_BREAKS.sub("\n", value) if isinstance(value, str) else value


def multi_line_text_of(value: str) -> str:
    """What multi_line_text accepts, made from text that comes by no form (a reply by email):
    line breaks as LF, tabs kept, every other control character dropped."""
    return _CONTROL_BUT_LF_AND_TAB.sub("", normalize_line_breaks(value))


def single_line_text(form, field) -> None:
    """One line of text: no line break (a title goes into an email's subject, where a line
    break would start a new header), no tab or other control character."""
    if isinstance(field.data, str) and control_characters(field.data):
        # Translated now, as text: views join a field's errors into one message.
        raise StopValidation(_("Write this on one line of plain text: line breaks and "
                               "invisible control characters are not accepted."))


def multi_line_text(form, field) -> None:
    """Lines of text: line breaks and tabs, no other control character."""
    if isinstance(field.data, str) and control_characters(field.data, allowed="\n\t"):
        raise StopValidation(_("This text holds invisible control characters: remove them "
                               "and send it again."))


def guard_text(field):
    """Give a bound text field the rule of its kind, checked before its own validators (which
    may compare it with the database): single_line_text for a one-line field, line breaks
    made LF and multi_line_text for a TextAreaField. Passwords are never shown or sent
    anywhere, and are kept as typed; hidden fields are not typed by anyone and each has its
    own reading (a version number, a page to return to through safe_next…): a stray
    character there must not make a login fail."""
    if isinstance(field, PasswordField | HiddenField):
        return field
    if isinstance(field, TextAreaField):
        field.filters = (normalize_line_breaks, *field.filters)
        field.validators = [multi_line_text, *field.validators]
    elif isinstance(field, StringField):
        field.validators = [single_line_text, *field.validators]
    return field


class PortalForm(FlaskForm):
    """The base of every form of the portal: Flask-WTF's, with WTForms' messages loaded once
    per process, and the rule of text fields (guard_text) on every text field, JSON bodies
    included."""

    class Meta:
        def get_translations(self, form):
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            return _WTFORMS_MESSAGES

        def bind_field(self, form, unbound_field, options):
            return guard_text(super().bind_field(form, unbound_field, options))


class PortalSubForm(wtforms.Form):
    """The base of the portal's sub-forms (a FormField inside a PortalForm, which carries the
    CSRF token): the same rule of text fields."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            return guard_text(super().bind_field(form, unbound_field, options))


# The largest id or number the database columns hold (32-bit signed integer).
MAX_DB_INT = 2**31 - 1


def at_most(limit: int) -> Length:
    return Length(max=limit, message=_l("At most %(max)d characters.", max=limit))


def db_int(value: object) -> int | None:
    """A positive whole number that fits the database, else None (for ids in query strings)."""
    text = str(value).strip() if value is not None else ""
    # isdigit() alone takes "²" and "①", which int() refuses
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if 0 < number <= MAX_DB_INT else None


def page_arg(args) -> int:
    """The page asked for in the query string, kept within sensible bounds."""
    return min(max(args.get("page", 1, type=int) or 1, 1), 100_000)


class PlausibleDateTime:
    """A date a person could mean: between 2000 and 2100 (absurd years overflow time zones)."""

    def __call__(self, form, field) -> None:
        if field.data is not None and not 2000 <= field.data.year <= 2100:
            # Stop here: later checks would compute with the date and overflow.
            raise StopValidation(_l("Enter a date between the years 2000 and 2100."))


# A scheme at the start of an address ("javascript:", "mailto:", "https:"). A word with a dot
# before the colon is a host with its port ("example.com:8080"), not a scheme.
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+-]*):")
MAX_WEB_ADDRESS = 2000


def web_address(text: str) -> str:
    """The web address a person means by `text`: "www.example.com" or "//example.com" become
    "https://www.example.com"; an http(s) address is kept as typed. Raises ValidationError,
    with a message that says why, for any other scheme (javascript:, data:, mailto:, ftp:…)
    and for what is no address on a named host."""
    url = text.strip()
    scheme = _SCHEME.match(url)
    if scheme is not None and scheme.group(1).lower() not in ("http", "https"):
        raise ValidationError(_("“%(url)s” is refused: only web addresses starting with "
                                "http:// or https:// are accepted, not “%(scheme)s”.",
                                url=url[:80], scheme=scheme.group(0)[:21]))
    if scheme is None:
        url = "https:" + url if url.startswith("//") else "https://" + url
    try:
        host = urlsplit(url).hostname if len(url) <= MAX_WEB_ADDRESS else None
    except ValueError:
        host = None
    if not host or "." not in host.strip(".") or any(ch.isspace() for ch in url):
        raise ValidationError(_("“%(url)s” is not a web address: put one address per line, "
                                "like www.example.com or https://example.com/page.",
                                url=text.strip()[:80]))
    return url


def complete_web_addresses(value):
    """A field's filter: each line that names a web address without its scheme
    ("www.example.com") completed to https://; other lines kept as typed, for the validator
    to refuse with its message."""
    if not isinstance(value, str):
        return value
    lines = []
    for line in value.splitlines():
        try:
            lines.append(web_address(line) if line.strip() else line)
        except ValidationError:
            lines.append(line)
    return "\n".join(lines)


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def form_error(form, error: DomainError) -> None:
    """Show a service's refusal on the form: under its field when it names one, else above."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


class ActionForm(PortalForm):
    """A form with no fields: one button that changes something, covered by CSRF."""


class EmailAddress:
    """A syntactically valid address on a real domain. Development and tests also accept the
    reserved .test domain (EMAIL_ALLOW_TEST_DOMAINS), which production refuses. With
    `for_sending`, an address the portal will write to must also be one SMTP carries without
    SMTPUTF8, which our relay does not offer: ASCII before the @ (a domain in any script is
    sent in its IDNA form)."""

    def __init__(self, *, for_sending: bool = False) -> None:
        self.for_sending = for_sending

    def __call__(self, form, field) -> None:
        try:
            validate_email(
                field.data or "",
                check_deliverability=False,
                test_environment=current_app.config["EMAIL_ALLOW_TEST_DOMAINS"],
            )
        except EmailNotValidError:
            raise ValidationError(
                _l("Enter a valid email address, like name@example.com.")
            ) from None
        if self.for_sending and not field.data.rpartition("@")[0].isascii():
            raise ValidationError(_l("Our emails cannot reach an address with accents or other "
                                     "non-Latin letters before the @: use another address."))


def email_field(label=None, *, for_sending: bool = False) -> StringField:
    """An email address field; `for_sending` for an address the portal will store and write
    to (sign-up, a new address, an invitation), see EmailAddress."""
    return StringField(
        label or _l("Email address"),
        validators=[
            DataRequired(message=_l("Enter your email address.")),
            Length(max=254, message=_l("An email address has at most 254 characters.")),
            EmailAddress(for_sending=for_sending),
        ],
        render_kw={"autocomplete": "email", "inputmode": "email"},
    )


def new_password_fields() -> tuple[PasswordField, PasswordField]:
    password = PasswordField(
        _l("Password"),
        validators=[
            DataRequired(message=_l("Choose a password.")),
            # The length rule itself is checked, with its reason, by the password policy; this
            # only stops absurd payloads before they reach it.
            Length(max=MAX_LENGTH * 8, message=_l("This password is far too long.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[
            DataRequired(message=_l("Repeat the password.")),
            EqualTo("password", message=_l("The two passwords are not the same.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    return password, confirm


def display_name_field() -> StringField:
    return StringField(
        _l("Your name"),
        validators=[
            DataRequired(message=_l("Enter your name.")),
            Length(min=2, max=80, message=_l("A name has 2 to 80 characters.")),
        ],
        render_kw={"autocomplete": "name"},
    )


class LocaleField(SelectField):
    def __init__(self, label=None, **kwargs):
        super().__init__(label or _l("Language"), **kwargs)

    def pre_validate(self, form):
        if self.data not in current_app.config["LANGUAGES"]:
            raise ValidationError(_l("Choose a language from the list."))

    def iter_choices(self):
        self.choices = [SelectChoice(code, name)
                        for code, name in current_app.config["LANGUAGES"].items()]
        return super().iter_choices()


# The regions of the IANA names, in the order the chooser lists them after the agency's own.
TIMEZONE_REGIONS = {
    "Africa": _l("Africa"),
    "Europe": _l("Europe"),
    "America": _l("America"),
    "Asia": _l("Asia"),
    "Atlantic": _l("Atlantic Ocean"),
    "Indian": _l("Indian Ocean"),
    "Pacific": _l("Pacific Ocean"),
    "Australia": _l("Australia"),
    "Antarctica": _l("Antarctica"),
    "Arctic": _l("Arctic"),
}


@lru_cache(maxsize=16)  # one per agency zone (one in production); see README "Caches"
def _timezone_groups(agency_zone: str) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """The zones by region (keys of TIMEZONE_REGIONS, "" for the others), the agency's region
    first with the agency's zone at its head; each zone labelled without its region."""
    by_region: dict[str, list[tuple[str, str]]] = {}
    for name in timezone_names():
        region, _slash, place = name.partition("/")
        if region not in TIMEZONE_REGIONS:
            region, place = "", name
        by_region.setdefault(region, []).append((name, place.replace("_", " ")))
    home = agency_zone.partition("/")[0] if agency_zone.partition("/")[0] in by_region else ""
    order = [home] + [r for r in [*TIMEZONE_REGIONS, ""] if r != home and r in by_region]
    groups = []
    for region in order:
        zones = by_region[region]
        if region == home:
            zones = sorted(zones, key=lambda zone: zone[0] != agency_zone)
        groups.append((region, tuple(zones)))
    return tuple(groups)


def timezone_choices() -> list[SelectChoice]:
    """The chooser's options, each in the optgroup of its region, in the language of the
    request."""
    agency_zone = current_app.config["AGENCY_TIMEZONE"]
    return [SelectChoice(zone, label, optgroup=str(TIMEZONE_REGIONS.get(region)
                                                   or _("Other zones")))
            for region, zones in _timezone_groups(agency_zone) for zone, label in zones]


class TimezoneField(SelectField):
    """The time zone chooser: the agency's region first (its own zone at the head), then the
    others grouped by region. portal.js adds a filter box above it (data-filter-label); without
    JavaScript it is a plain select."""

    def __init__(self, label=None, **kwargs):
        kwargs.setdefault("render_kw", {
            "data-filter-label": _l("Find a time zone"),
            "data-filter-placeholder": _l("A city or a region: Lomé, Paris, Africa…"),
            "data-filter-none": _l("No time zone matches."),
        })
        super().__init__(label or _l("Time zone"), choices=timezone_choices, **kwargs)

    def pre_validate(self, form):
        if not self.data or not is_timezone(self.data):
            raise ValidationError(_l("Choose a time zone from the list."))
