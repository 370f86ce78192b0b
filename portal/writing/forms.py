from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, StopValidation
from wtforms.widgets import HiddenInput

from portal.forms import MAX_DB_INT, ActionForm, PortalForm

# A long article in Markdown stays far below this; it only stops absurd payloads.
TEXT_MAX_CHARS = 300_000


def _required_number(form, field) -> None:
    # InputRequired refuses 0 sent as a JSON number, the version of a page with no draft yet.
    if field.data is None:
        raise StopValidation(_l("Reload the page and try again."))


def _a_text(form, field) -> None:
    # A JSON body can carry anything: only a string is a text.
    if field.data is not None and not isinstance(field.data, str):
        raise StopValidation(_l("The text could not be read. Try again."))


class PoolFilterForm(PortalForm):
    """The filters of "Available work", read from the query string (GET, no CSRF)."""

    class Meta:
        csrf = False

    content_type = SelectField(_l("Type of content"), coerce=str, validators=[Optional()],
                               validate_choice=False)
    language = SelectField(_l("Language"), coerce=str, validators=[Optional()],
                           validate_choice=False)
    tier = SelectField(_l("Quality level"), coerce=str, validators=[Optional()],
                       validate_choice=False)
    sort = SelectField(
        _l("Sort by"),
        choices=[SelectChoice("deadline", _l("Deadline first")),
                 SelectChoice("newest", _l("Newest first"))],
        default="deadline",
        validate_choice=False,
    )

class ClaimForm(ActionForm):
    """The "Claim" button."""


class DraftForm(PortalForm):
    """The editor's text and the draft version the page started from. The autosave sends it as
    JSON (CSRF token in the X-CSRFToken header); without JavaScript it is an ordinary form."""

    text = TextAreaField(
        _l("Your text"),  # line breaks made LF by PortalForm (guard_text), like the editor's
        validators=[_a_text, Length(max=TEXT_MAX_CHARS,
                                    message=_l("This text is too long to be saved."))],
    )
    base_version = IntegerField(
        widget=HiddenInput(),
        validators=[_required_number, NumberRange(min=0, max=MAX_DB_INT)],
    )

    def has_text(self) -> bool:
        """The request carried a text (an empty one included): a request without it must never
        erase the draft."""
        return bool(self.text.raw_data) and isinstance(self.text.data, str)


class DeliverForm(DraftForm):
    """Delivering posts the editor's text too: the view saves it and delivers it in one
    transaction, so nothing typed since the last autosave is lost."""

    note = TextAreaField(
        _l("A note to the client (optional)"),
        validators=[Optional(),
                    Length(max=2000, message=_l("A note has at most 2,000 characters."))],
    )


class ReleaseForm(PortalForm):
    reason = TextAreaField(
        _l("Why do you give this order back?"),
        validators=[
            DataRequired(message=_l("Say why you give this order back.")),
            Length(max=1000, message=_l("A reason has at most 1,000 characters.")),
        ],
    )
