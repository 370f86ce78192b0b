from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectChoice, SelectField
from wtforms.validators import ValidationError

from portal.forms import PortalForm
from portal.notifications.inbox import KIND_LABELS, MODE_LABELS, EmailMode, NotificationKind


class ModeField(RadioField):
    def __init__(self, label=None, **kwargs):
        super().__init__(label, choices=[SelectChoice(m.value, MODE_LABELS[m]) for m in EmailMode],
                         default=EmailMode.IMMEDIATE.value, **kwargs)

    def pre_validate(self, form):
        if self.data not in {m.value for m in EmailMode}:
            raise ValidationError(_l("Choose at once, in the daily digest or never."))


def _hour(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


class HourField(SelectField):
    def __init__(self, label=None, **kwargs):
        super().__init__(label, choices=[SelectChoice(h, f"{h:02d}:00") for h in range(24)],
                         coerce=_hour, default=18, **kwargs)

    def pre_validate(self, form):
        if not isinstance(self.data, int) or not 0 <= self.data <= 23:
            raise ValidationError(_l("Choose an hour between 0 and 23."))


class PreferencesForm(PortalForm):
    status = ModeField(KIND_LABELS[NotificationKind.STATUS])
    message = ModeField(KIND_LABELS[NotificationKind.MESSAGE])
    deadline = ModeField(KIND_LABELS[NotificationKind.DEADLINE])
    digest_hour = HourField(_l("Send my daily digest at"))

    def mode_fields(self):
        """(kind, field) for each kind, in the order of the grid."""
        return [(kind, self[kind.value]) for kind in NotificationKind]

    def modes(self) -> dict[NotificationKind, EmailMode]:
        return {kind: EmailMode(field.data) for kind, field in self.mode_fields()}
