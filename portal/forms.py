"""Form pieces shared by several blueprints."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, StopValidation, ValidationError

from portal.auth.passwords import MAX_LENGTH
from portal.i18n import is_timezone, timezone_names

# The largest id or number the database columns hold (32-bit signed integer).
MAX_DB_INT = 2**31 - 1


def db_int(value: object) -> int | None:
    """A positive whole number that fits the database, else None (for ids in query strings)."""
    text = str(value).strip() if value is not None else ""
    if not text.isdigit():
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


class ActionForm(FlaskForm):
    """A form with no fields: one button that changes something, covered by CSRF."""


class EmailAddress:
    """A syntactically valid address on a real domain. Development and tests also accept the
    reserved .test domain (EMAIL_ALLOW_TEST_DOMAINS), which production refuses."""

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


def email_field(label=None) -> StringField:
    return StringField(
        label or _l("Email address"),
        validators=[
            DataRequired(message=_l("Enter your email address.")),
            Length(max=254, message=_l("An email address has at most 254 characters.")),
            EmailAddress(),
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
        self.choices = list(current_app.config["LANGUAGES"].items())
        return super().iter_choices()


class TimezoneField(SelectField):
    def __init__(self, label=None, **kwargs):
        super().__init__(label or _l("Time zone"), **kwargs)

    def pre_validate(self, form):
        if not self.data or not is_timezone(self.data):
            raise ValidationError(_l("Choose a time zone from the list."))

    def iter_choices(self):
        self.choices = [(name, name.replace("_", " ")) for name in timezone_names()]
        return super().iter_choices()
