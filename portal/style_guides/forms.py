"""The style guide form: lengths and the shape of its word lists. The rules (who, the version,
a word in both lists) are the service's."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import ValidationError

from portal.forms import at_most
from portal.orders.forms import StrictForm, split_keywords
from portal.style_guides.service import (
    AUDIENCE_MAX,
    TEXT_MAX,
    TONE_MAX,
    WORD_MAX,
    WORDS_MAX,
    GuideValues,
)


class WordList:
    """Words or short expressions, one per line or separated by commas: at most WORDS_MAX,
    each of at most WORD_MAX characters with a letter or a digit (the checks match words: an
    entry of signs alone could never be found)."""

    def __call__(self, form, field) -> None:
        words = split_keywords(field.data)
        if len(words) > WORDS_MAX:
            raise ValidationError(_("Give at most %(count)d words in this list.",
                                    count=WORDS_MAX))
        for word in words:
            if len(word) > WORD_MAX:
                raise ValidationError(_("“%(word)s…” is too long: at most %(max)d characters "
                                        "for one word or expression.",
                                        word=word[:30], max=WORD_MAX))
            if not any(ch.isalnum() for ch in word):
                raise ValidationError(_("“%(word)s” has no letter or digit: it could never be "
                                        "found in a text.", word=word[:30]))


class StyleGuideForm(StrictForm):
    tone = StringField(_l("Tone"), validators=[at_most(TONE_MAX)],
                       render_kw={"placeholder": _l("Warm and direct, without jargon"),
                                  "maxlength": TONE_MAX})
    audience = StringField(_l("Audience"), validators=[at_most(AUDIENCE_MAX)],
                           render_kw={"maxlength": AUDIENCE_MAX})
    words_to_use = TextAreaField(_l("Words to use"), validators=[at_most(TEXT_MAX), WordList()],
                                 render_kw={"rows": 3})
    forbidden_words = TextAreaField(_l("Forbidden words"),
                                    validators=[at_most(TEXT_MAX), WordList()],
                                    render_kw={"rows": 3})
    formatting = TextAreaField(_l("Formatting rules"), validators=[at_most(TEXT_MAX)],
                               render_kw={"rows": 5, "maxlength": TEXT_MAX})
    examples = TextAreaField(_l("Examples"), validators=[at_most(TEXT_MAX)],
                             render_kw={"rows": 5, "maxlength": TEXT_MAX})
    version = HiddenField()

    def version_number(self) -> int | None:
        """The version the form was made from (0 before the first save); None when the field
        holds anything else (the service then refuses it as stale)."""
        text = (self.version.data or "").strip()
        if text.isascii() and text.isdigit() and len(text) <= 9:
            return int(text)
        return None

    def values(self) -> GuideValues:
        return GuideValues(
            tone=self.tone.data or "", audience=self.audience.data or "",
            words_to_use=split_keywords(self.words_to_use.data),
            forbidden_words=split_keywords(self.forbidden_words.data),
            formatting=self.formatting.data or "", examples=self.examples.data or "")

    def fill(self, values: GuideValues, version: int) -> None:
        self.tone.data, self.audience.data = values.tone, values.audience
        self.words_to_use.data = "\n".join(values.words_to_use)
        self.forbidden_words.data = "\n".join(values.forbidden_words)
        self.formatting.data, self.examples.data = values.formatting, values.examples
        self.version.data = str(version)
