from __future__ import annotations

from wtforms import HiddenField

from portal.forms import LocaleField, PortalForm


class LanguageForm(PortalForm):
    locale = LocaleField()
    next = HiddenField()
