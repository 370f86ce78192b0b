"""The message form of the order page. It checks shape; the service checks who may post what."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, MultipleFileField, TextAreaField
from wtforms.validators import DataRequired, Length

from portal.messaging.service import BODY_MAX_CHARS, normalize_body
from portal.orders.forms import StrictForm


class MessageForm(StrictForm):
    body = TextAreaField(
        _l("Your message"),
        filters=[normalize_body],
        validators=[
            DataRequired(message=_l("Write your message before sending it.")),
            Length(max=BODY_MAX_CHARS,
                   message=_l("A message has at most %(max)d characters.", max=BODY_MAX_CHARS)),
        ],
        render_kw={"rows": 4, "maxlength": BODY_MAX_CHARS},
    )
    # Shown to staff only; a client who sends it anyway is refused by the service.
    internal = BooleanField(_l("Internal note: only the agency's team sees it"))
    files = MultipleFileField(_l("Attach files"))

    def uploads(self) -> list:
        return [f for f in (self.files.data or []) if getattr(f, "filename", None)]
