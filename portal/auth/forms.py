from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from portal.forms import (
    ActionForm,
    LocaleField,
    PortalForm,
    TimezoneField,
    display_name_field,
    email_field,
    new_password_fields,
)


class SignupForm(PortalForm):
    display_name = display_name_field()
    company_name = StringField(
        _l("Company or organisation (optional)"),
        validators=[Length(max=200, message=_l("At most %(max)d characters.", max=200))],
        render_kw={"autocomplete": "organization"},
    )
    email = email_field(for_sending=True)
    password, confirm = new_password_fields()
    locale = LocaleField()
    timezone = TimezoneField()


class LoginForm(PortalForm):
    email = email_field()
    password = PasswordField(
        _l("Password"),
        validators=[
            DataRequired(message=_l("Enter your password.")),
            Length(max=1024, message=_l("Email or password is incorrect.")),
        ],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField(_l("Keep me signed in on this device"))
    next = HiddenField()


class ForgotPasswordForm(PortalForm):
    email = email_field()


class ResetPasswordForm(PortalForm):
    password, confirm = new_password_fields()


class AcceptInvitationForm(PortalForm):
    display_name = display_name_field()
    password, confirm = new_password_fields()
    timezone = TimezoneField()


class LogoutForm(ActionForm):
    pass


class ResendConfirmationForm(ActionForm):
    pass


class ConfirmEmailForm(ActionForm):
    pass


class LoginLinkForm(ActionForm):
    pass


class ConfirmSignupForm(PortalForm):
    password = PasswordField(
        _l("The password you chose"),
        validators=[
            DataRequired(message=_l("Enter your password.")),
            Length(max=1024, message=_l("This is not the password you chose when you signed up.")),
        ],
        render_kw={"autocomplete": "current-password"},
    )
