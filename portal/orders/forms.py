"""Forms of the client side of orders: the brief, the live quote, files, review and the
one-button actions. They check shape (lengths, choices, formats); the services check the rules."""

from __future__ import annotations

import re
from datetime import datetime

import sqlalchemy as sa
from flask import current_app, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    AnyOf,
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from portal.accounts.models import User
from portal.extensions import db, utcnow
from portal.forms import (
    MAX_DB_INT,
    PlausibleDateTime,
    PortalForm,
    at_most,
    complete_web_addresses,
    web_address,
)
from portal.i18n import current_language, format_money, to_local, to_utc
from portal.orders.brief_templates import BRIEF_FIELDS
from portal.orders.models import REFERENCE_TEXTS_MAX, ContentType, Order, OrderStatus, Tier
from portal.orders.queries import catalogue
from portal.orders.service import Brief, previous_writers
from portal.orders.text import nonblank_lines

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
MAX_KEYWORDS = 30
MAX_URLS = 20


# --- pieces -------------------------------------------------------------------------------


def word_range(form, field) -> None:
    """A word count inside WORDS_MIN..WORDS_MAX of the configuration."""
    low, high = current_app.config["WORDS_MIN"], current_app.config["WORDS_MAX"]
    if field.data is not None and not low <= field.data <= high:
        raise ValidationError(_("A word count is between %(low)d and %(high)d.",
                                low=low, high=high))


def words_field(label) -> IntegerField:
    return IntegerField(
        label,
        validators=[InputRequired(message=_l("Enter a number of words.")), word_range],
        invalid_value_message=_l("Enter a whole number of words, like 800."),
        render_kw={"inputmode": "numeric", "min": 100, "max": 20000, "step": 50},
    )


def split_keywords(text: str | None) -> list[str]:
    """Keywords one per line or separated by commas, without repeats."""
    seen: dict[str, str] = {}
    for part in re.split(r"[,\n;]", text or ""):
        word = " ".join(part.split())
        if word and word.lower() not in seen:
            seen[word.lower()] = word
    return list(seen.values())


def web_addresses(form, field) -> None:
    """One web address per line (see portal.forms.web_address), at most MAX_URLS."""
    urls = nonblank_lines(field.data)
    if len(urls) > MAX_URLS:
        raise ValidationError(_("Give at most %(count)d addresses.", count=MAX_URLS))
    for url in urls:
        web_address(url)


def findable_keywords(form, field) -> None:
    """Each keyword (one, or one per line) holds a letter or a digit: the delivery rules match
    words, and a keyword of signs alone ("&", "🍕") could never be found in any text."""
    for keyword in nonblank_lines(field.data):
        if not any(ch.isalnum() for ch in keyword):
            raise ValidationError(_(
                "A keyword needs at least one letter or digit: “%(keyword)s” has none.",
                keyword=keyword[:40]))


class StrictForm(PortalForm):
    """Refuses a request carrying fields the form does not have (a price, a status, a writer
    slipped into the brief): people never set those, so the whole request is refused."""

    def validate(self, extra_validators=None) -> bool:
        fields_ok = super().validate(extra_validators)
        extra = self.extra_fields()
        if extra:
            self.form_errors.append(_("This form does not accept these fields: %(fields)s.",
                                      fields=", ".join(name[:40] for name in extra[:10])))
        return fields_ok and not extra

    def extra_fields(self) -> list[str]:
        if not self.is_submitted():
            return []
        known = set(self._fields)
        sent = set(request.form.keys()) | set(request.files.keys())
        return sorted(name for name in sent if name not in known)


class StatedVersion:
    """The version of what the form edits, as the page it was made from states it (its
    `version` field); -1 when that is not a number."""

    def stated_version(self) -> int:
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return -1


# --- the brief ----------------------------------------------------------------------------


class BriefForm(StatedVersion, StrictForm):
    title = StringField(_l("Title"), validators=[
        DataRequired(message=_l("Give the order a title.")),
        Length(min=3, max=200, message=_l("A title has 3 to 200 characters.")),
    ])
    content_type_id = SelectField(
        _l("Type of content"), invalid_choice_message=_l("Choose a type of content from the list.")
    )
    language = SelectField(
        _l("Language of the text"), invalid_choice_message=_l("Choose a language from the list.")
    )
    words_min = words_field(_l("Words, at least"))
    words_max = words_field(_l("Words, at most"))
    tier_id = SelectField(
        _l("Quality level"), invalid_choice_message=_l("Choose a quality level from the list.")
    )
    tone = StringField(_l("Tone"), validators=[at_most(120)],
                       render_kw={"placeholder": _l("Friendly, expert, formal…")})
    audience = StringField(_l("Audience"), validators=[at_most(200)])
    primary_keyword = StringField(_l("Main keyword"), validators=[at_most(120), findable_keywords])
    secondary_keywords = TextAreaField(_l("Other keywords"), validators=[findable_keywords],
                                       render_kw={"rows": 3})
    links_to_include = TextAreaField(_l("Links to include"), validators=[web_addresses],
                                     filters=[complete_web_addresses],
                                     render_kw={"rows": 3, "inputmode": "url"})
    reference_urls = TextAreaField(_l("Reference pages"), validators=[web_addresses],
                                   filters=[complete_web_addresses],
                                   render_kw={"rows": 3, "inputmode": "url"})
    reference_texts = TextAreaField(_l("Reference texts"), validators=[
        Length(max=REFERENCE_TEXTS_MAX, message=_l(
            "The reference texts hold at most 20,000 characters: keep the passages that "
            "matter."))],
        render_kw={"rows": 4})
    instructions = TextAreaField(_l("Instructions"), validators=[at_most(10_000)],
                                 render_kw={"rows": 6})
    deadline = DateTimeLocalField(
        _l("Deadline"), format=DATETIME_FORMATS,
        validators=[InputRequired(message=_l("Choose a deadline.")), PlausibleDateTime()],
        invalid_value_message=_l("Enter the deadline as a date and a time."))
    preferred_writer_id = SelectField(_l("Preferred writer"), validate_choice=False)
    version = HiddenField()
    save_draft = SubmitField(_l("Save as draft"))
    save_submit = SubmitField(_l("Save and submit"))

    def __init__(self, *args, client: User, zone: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.zone = zone
        locale = current_language()
        types, self.tiers = catalogue()
        self.content_type_id.choices = [SelectChoice(str(t.id), t.name(locale)) for t in types]
        self.language.choices = [SelectChoice(code, name) for code, name
                                 in current_app.config["ORDER_LANGUAGES"].items()]
        self.tier_id.choices = [SelectChoice(str(t.id), tier_label(t)) for t in self.tiers]
        self.writers = previous_writers(client)
        self.preferred_writer_id.choices = [SelectChoice("", _("No preference"))] + [
            SelectChoice(str(w.id), w.display_name) for w in self.writers
        ]

    def validate_words_min(self, field) -> None:
        high = self.words_max.data
        if field.data is not None and high is not None and field.data > high:
            raise ValidationError(_("The minimum cannot be above the maximum."))

    def validate_preferred_writer_id(self, field) -> None:
        if field.data and field.data not in {str(w.id) for w in self.writers}:
            raise ValidationError(_("Choose a writer who has worked for you before."))

    def validate_secondary_keywords(self, field) -> None:
        words = split_keywords(field.data)
        if len(words) > MAX_KEYWORDS:
            raise ValidationError(_("Give at most %(count)d keywords.", count=MAX_KEYWORDS))
        if any(len(word) > 120 for word in words):
            raise ValidationError(_("A keyword has at most %(max)d characters.", max=120))

    def validate_deadline(self, field) -> None:
        if field.data is not None and self.deadline_utc() <= utcnow():
            raise ValidationError(_("The deadline is in the past."))

    def deadline_utc(self) -> datetime:
        return to_utc(self.deadline.data, self.zone)

    @property
    def submitting(self) -> bool:
        return bool(self.save_submit.data)

    def brief_values(self) -> dict:
        """The values a brief and an agency template share, shaped for the service (lists one
        item per line)."""
        return dict(
            title=(self.title.data or "").strip(),
            content_type_id=int(self.content_type_id.data),
            language=self.language.data,
            words_min=self.words_min.data,
            words_max=self.words_max.data,
            tone=(self.tone.data or "").strip(),
            audience=(self.audience.data or "").strip(),
            primary_keyword=(self.primary_keyword.data or "").strip(),
            secondary_keywords=split_keywords(self.secondary_keywords.data),
            links_to_include=nonblank_lines(self.links_to_include.data),
            reference_urls=nonblank_lines(self.reference_urls.data),
            instructions=(self.instructions.data or "").strip(),
        )

    def brief(self) -> Brief:
        preferred = self.preferred_writer_id.data
        return Brief(
            **self.brief_values(),
            tier_id=int(self.tier_id.data),
            deadline=self.deadline_utc(),
            reference_texts=(self.reference_texts.data or "").strip(),
            preferred_writer_id=int(preferred) if preferred else None,
        )

    def fill_from(self, order: Order) -> None:
        """Show a stored brief in the form, the deadline in the client's time zone."""
        self.start_from({name: getattr(order, name) for name in BRIEF_FIELDS})
        self.reference_texts.data = order.reference_texts
        self.deadline.data = to_local(order.deadline, self.zone).replace(second=0, microsecond=0)
        self.preferred_writer_id.data = str(order.preferred_writer_id or "")
        self.version.data = str(order.version)

    def start_from(self, values: dict) -> None:
        """Show the values a new brief starts with (a template's, an older order's): only
        those the form offers."""
        for name in BRIEF_FIELDS:
            if name not in ("content_type_id", "tier_id"):
                getattr(self, name).data = values[name]
            elif values[name] is not None:
                getattr(self, name).data = str(values[name])


def tier_label(tier: Tier) -> str:
    currency = current_app.config["AGENCY_CURRENCY"]
    return _("%(name)s · %(price)s per word", name=tier.name,
             price=format_money(tier.client_price_per_word, currency))


class QuoteForm(PortalForm):
    """What the live quote needs from the brief form (sent by quote.js with the CSRF header)."""

    words_max = words_field(_l("Words, at most"))
    tier_id = IntegerField(_l("Quality level"), validators=[
        InputRequired(message=_l("Choose a quality level from the list.")),
        NumberRange(min=1, max=MAX_DB_INT, message=_l("Choose a quality level from the list."))],
        invalid_value_message=_l("Choose a quality level from the list."))
    deadline = DateTimeLocalField(_l("Deadline"), format=DATETIME_FORMATS,
                                  validators=[Optional(), PlausibleDateTime()],
                                  invalid_value_message=_l("Enter the deadline as a date and "
                                                           "a time."))


# --- one-button actions and review -------------------------------------------------------


class SubmitOrderForm(StatedVersion, PortalForm):
    version = HiddenField()


class CancelForm(PortalForm):
    reason = TextAreaField(_l("Reason (optional)"), validators=[at_most(2000)],
                           render_kw={"rows": 2})
    # A manager cancelling work already begun may charge a part of the price (the service
    # refuses it from anyone else).
    charge = IntegerField(_l("Part of the price to charge"), validators=[
        Optional(), NumberRange(min=0, max=MAX_DB_INT, message=_l("Enter a whole amount."))],
        invalid_value_message=_l("Enter a whole amount, like 5000."))


class RevisionForm(StrictForm):
    reason = TextAreaField(_l("What should change?"), validators=[
        DataRequired(message=_l("Say what should change.")), at_most(5000)], render_kw={"rows": 4})


class PassReviewForm(StrictForm):
    """The editor hands the delivery in review to the client."""

    note = TextAreaField(_l("A note for the client (optional)"),
                         validators=[Optional(), at_most(2000)], render_kw={"rows": 2})


class ReturnToWriterForm(StrictForm):
    """The editor sends the delivery in review back to its writer, saying what to change."""

    comments = TextAreaField(_l("What should the writer change?"), validators=[
        DataRequired(message=_l("Tell the writer what to change.")), at_most(5000)],
        render_kw={"rows": 4})


# The five stars of the approval, each with the word that says it.
RATING_CHOICES = [
    SelectChoice(1, _l("Very disappointing")),
    SelectChoice(2, _l("Disappointing")),
    SelectChoice(3, _l("Fair")),
    SelectChoice(4, _l("Very good")),
    SelectChoice(5, _l("Excellent")),
]


class ApproveForm(StrictForm):
    rating = RadioField(_l("Your rating"), choices=RATING_CHOICES, coerce=int,
                        validators=[InputRequired(message=_l("Give a rating from 1 to 5."))],
                        invalid_value_message=_l("Give a rating from 1 to 5."),
                        invalid_choice_message=_l("Give a rating from 1 to 5."))
    comment = TextAreaField(_l("Comment for the writer"), validators=[at_most(2000)],
                            render_kw={"rows": 3})

    def validate_comment(self, field) -> None:
        if self.rating.data in (1, 2) and not (field.data or "").strip():
            raise ValidationError(_("Tell the writer what went wrong: a low rating needs a "
                                    "comment."))


class SampleConsentForm(StrictForm):
    """The client's choice about showing the approved text as a sample (unchecked: no)."""

    consent = BooleanField(_l("I allow the agency to show this text as a sample on its "
                              "website"))


class ShowcaseForm(StrictForm):
    """A manager's one-button choice: show the text on the landing page ("1") or not ("0")."""

    shown = HiddenField(validators=[AnyOf(["0", "1"], message=_l("Choose show or remove."))])


class UploadForm(PortalForm):
    file = FileField(_l("Add a file"), validators=[FileRequired(message=_l("Choose a file."))])
    back = HiddenField()


class BackForm(PortalForm):
    """A one-button action that returns to the page it came from (the brief or the order)."""

    back = HiddenField()


class ListFilterForm(PortalForm):
    class Meta:
        csrf = False

    status = HiddenField()
    q = StringField(_l("Search by title"), validators=[Length(max=100)])
    sort = SelectField(_l("Sort"), choices=[
        SelectChoice("newest", _l("Newest first")),
        SelectChoice("oldest", _l("Oldest first")),
        SelectChoice("deadline", _l("Nearest deadline")),
    ], validate_choice=False)

    def clean_status(self) -> str:
        value = self.status.data or ""
        return value if value in {s.value for s in OrderStatus} else ""

    def clean_sort(self) -> str:
        return self.sort.data if self.sort.data in ("newest", "oldest", "deadline") \
            else "newest"


class TextsArchiveForm(PortalForm):
    """The period of the approved texts to download in one .zip (a GET: it changes nothing)."""

    MAX_DAYS = 366

    class Meta:
        csrf = False

    start = DateField(_l("First day"), validators=[
        InputRequired(_l("Choose the first day of the period.")), PlausibleDateTime()])
    end = DateField(_l("Last day"), validators=[
        InputRequired(_l("Choose the last day of the period.")), PlausibleDateTime()])

    def validate_end(self, field) -> None:
        if self.start.data is None or field.data is None:
            return
        if field.data < self.start.data:
            raise ValidationError(_("The end of the period comes before its start."))
        if (field.data - self.start.data).days >= self.MAX_DAYS:
            raise ValidationError(_("Choose a period of at most %(days)d days.",
                                    days=self.MAX_DAYS))


# --- templates of briefs ----------------------------------------------------------------------


def template_name_field() -> StringField:
    return StringField(_l("Name of the template"), validators=[
        DataRequired(message=_l("Give the template a name.")),
        Length(max=120, message=_l("A name has at most %(max)d characters.", max=120)),
    ], render_kw={"maxlength": 120, "autocomplete": "off"})


class SaveTemplateForm(StrictForm):
    """Keep an order's brief as a template of the client's."""

    name = template_name_field()


class PublishTemplateForm(PortalForm):
    """Publish ("y") or withdraw ("") an agency template in one click."""

    published = HiddenField()

    def wants_published(self) -> bool:
        return self.published.data == "y"


class BriefTemplateForm(StrictForm):
    """An agency template: a name, the brief's fields without deadline or writer, and whether
    clients see it. The level may stay empty (the client chooses)."""

    name = template_name_field()
    content_type_id = BriefForm.content_type_id
    title = StringField(_l("Title"), validators=[at_most(200)])
    language = BriefForm.language
    words_min = BriefForm.words_min
    words_max = BriefForm.words_max
    tier_id = SelectField(
        _l("Quality level"), invalid_choice_message=_l("Choose a quality level from the list.")
    )
    tone = BriefForm.tone
    audience = BriefForm.audience
    primary_keyword = BriefForm.primary_keyword
    secondary_keywords = BriefForm.secondary_keywords
    links_to_include = BriefForm.links_to_include
    reference_urls = BriefForm.reference_urls
    instructions = BriefForm.instructions
    published = BooleanField(_l("Published: clients see it in the brief form"))

    validate_words_min = BriefForm.validate_words_min
    validate_secondary_keywords = BriefForm.validate_secondary_keywords
    brief_values = BriefForm.brief_values
    start_from = BriefForm.start_from

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        locale = current_language()
        types = db.session.scalars(
            sa.select(ContentType).order_by(ContentType.position, ContentType.id)).all()
        self.content_type_id.choices = [
            SelectChoice(str(t.id), t.name(locale) if t.active else _("%(name)s (withdrawn)",
                                                          name=t.name(locale)))
            for t in types]
        self.language.choices = [SelectChoice(code, name) for code, name
                                 in current_app.config["ORDER_LANGUAGES"].items()]
        tiers = db.session.scalars(sa.select(Tier).order_by(Tier.position, Tier.id)).all()
        self.tier_id.choices = [SelectChoice("", _("The client chooses"))] + [
            SelectChoice(str(t.id), t.name if t.active else _("%(name)s (withdrawn)", name=t.name))
            for t in tiers]

    def values(self):
        from portal.orders.brief_templates import TemplateValues

        return TemplateValues(
            **self.brief_values(),
            name=self.name.data or "",
            tier_id=int(self.tier_id.data) if self.tier_id.data else None,
            published=bool(self.published.data),
        )

    def fill_from(self, template) -> None:
        self.start_from({name: getattr(template, name) for name in BRIEF_FIELDS})
        self.name.data = template.name
        self.tier_id.data = str(template.tier_id or "")
        self.published.data = template.published
