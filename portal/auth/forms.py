from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from portal.forms import (
    ActionForm,
    LocaleField,
    PortalForm,
    TimezoneField,
    at_most,
    display_name_field,
    email_field,
    new_password_fields,
)


class SignupForm(PortalForm):
    display_name = display_name_field()
    company_name = StringField(_l("Company or organisation (optional)"),
                               validators=[at_most(200)],
                               render_kw={"autocomplete": "organization"})
    email = email_field(for_sending=True)
    password, confirm = new_password_fields()
    locale = LocaleField()
    timezone = TimezoneField()


def known_password_field(label, empty_message, too_long_message) -> PasswordField:
    """A password the person already has (to log in, to confirm who they are): required,
    and refused past 1,024 characters with the message of a wrong password."""
    return PasswordField(
        label,
        validators=[
            DataRequired(message=empty_message),
            Length(max=1024, message=too_long_message),
        ],
        render_kw={"autocomplete": "current-password"},
    )


class LoginForm(PortalForm):
    email = email_field()
    password = known_password_field(_l("Password"), _l("Enter your password."),
                                    _l("Email or password is incorrect."))
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
    password = known_password_field(
        _l("The password you chose"), _l("Enter your password."),
        _l("This is not the password you chose when you signed up."))
