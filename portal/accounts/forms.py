from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from portal.accounts.models import ROLE_LABELS, Role
from portal.auth.forms import known_password_field
from portal.forms import (
    ActionForm,
    LocaleField,
    PortalForm,
    TimezoneField,
    display_name_field,
    email_field,
    new_password_fields,
)


def _current_password() -> PasswordField:
    return known_password_field(_l("Current password"), _l("Enter your current password."),
                                _l("Your current password is not correct."))


class ProfileForm(PortalForm):
    display_name = display_name_field()
    locale = LocaleField()
    timezone = TimezoneField()


class PasswordForm(PortalForm):
    current_password = _current_password()
    password, confirm = new_password_fields()


class EmailForm(PortalForm):
    email = email_field(_l("New email address"), for_sending=True)
    current_password = _current_password()


class InviteForm(PortalForm):
    display_name = StringField(
        _l("Name"),
        validators=[
            DataRequired(message=_l("Enter the person's name.")),
            Length(min=2, max=80, message=_l("A name has 2 to 80 characters.")),
        ],
    )
    email = email_field(for_sending=True)
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice(role.value, ROLE_LABELS[role])
                 for role in (Role.WRITER, Role.EDITOR, Role.MANAGER)],
        validate_choice=True,
    )
    locale = LocaleField(_l("Language of the invitation"))


class RoleForm(PortalForm):
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice(role.value, label) for role, label in ROLE_LABELS.items()],
        validate_choice=True,
    )


class PeopleFilterForm(PortalForm):
    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)])
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice("", _l("All roles"))]
        + [SelectChoice(r.value, label) for r, label in ROLE_LABELS.items()],
        validators=[Optional()],
    )
    status = SelectField(
        _l("Status"),
        choices=[SelectChoice("", _l("All")), SelectChoice("active", _l("Active")),
                 SelectChoice("inactive", _l("Deactivated"))],
        validators=[Optional()],
    )


class AccountActionForm(ActionForm):
    pass


class EraseForm(PortalForm):
    confirm = BooleanField(
        _l("I understand that this cannot be undone."),
        validators=[DataRequired(message=_l("Tick the box to confirm the erasure."))],
    )
