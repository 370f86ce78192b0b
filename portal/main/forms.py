from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField

from portal.forms import LocaleField


class LanguageForm(FlaskForm):
    locale = LocaleField()
    next = HiddenField()
