from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from babel.numbers import format_decimal, get_currency_precision
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    Field,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget, TextInput

from portal.agency.service import (
    MAX_LEAD_HOURS,
    MAX_REVISIONS,
    MIN_LEAD_HOURS,
    ContentTypeValues,
    TierValues,
)
from portal.extensions import db
from portal.forms import PlausibleDateTime, PortalForm, db_int
from portal.i18n import current_language
from portal.orders.models import REFERENCE_TEXTS_MAX, STATUS_LABELS, OrderStatus
from portal.orders.queries import SORTS, ListFilters, writer_binds, writers_matching


def currency_digits() -> int:
    return get_currency_precision(current_app.config["AGENCY_CURRENCY"])


def to_minor(amount: Decimal) -> int:
    """An amount in the currency's major unit (what a person types) as an integer of its minor
    unit (what is stored)."""
    return int(amount.scaleb(currency_digits()))


def to_major(amount: int) -> Decimal:
    return Decimal(amount).scaleb(-currency_digits())


# Twelve digits either side are far beyond any price; more would overflow Decimal's precision.
_AMOUNT = re.compile(r"^-?\d{1,12}(?:[.,]\d{1,12})?$")


class MoneyField(Field):
    """An amount typed in the agency currency's major unit ("0,08" € or "25" FCFA), with a
    comma or a dot; `data` is a Decimal. Refuses more decimals than the currency has."""

    widget = TextInput()

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "decimal", "autocomplete": "off"})
        super().__init__(label, validators, **kwargs)

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        digits = currency_digits()
        pattern = "0" + ("." + "0" * digits if digits else "")
        return format_decimal(self.data, format=pattern, locale=current_language(),
                              group_separator=False)

    def process_formdata(self, valuelist) -> None:
        if not valuelist:
            return
        self.data = None  # until the amount is read whole
        text = "".join(valuelist[0].split())  # "1 250,50": spaces group thousands in French
        if not text:
            return
        if not _AMOUNT.match(text):
            raise ValueError(_l("Enter an amount, like 25 or 0,08."))
        try:
            value = Decimal(text.replace(",", "."))
        except InvalidOperation:  # pragma: no cover - the pattern already guards it
            raise ValueError(_l("Enter an amount, like 25 or 0,08.")) from None
        digits = currency_digits()
        if value != value.quantize(Decimal(1).scaleb(-digits)):
            if digits == 0:
                raise ValueError(_l("This currency has no decimals: enter a whole amount."))
            raise ValueError(_l("Enter at most %(digits)d decimals.", digits=digits))
        self.data = value


def not_negative(form, field) -> None:
    if field.data is not None and field.data < 0:
        raise ValidationError(_l("A price cannot be negative."))


def _position_field() -> IntegerField:
    return IntegerField(
        _l("Position in lists"),
        default=0,
        validators=[InputRequired(message=_l("Give a position (0 comes first).")),
                    NumberRange(min=0, max=9999, message=_l("A position goes from 0 to 9999."))],
    )


class TierForm(PortalForm):
    name = StringField(
        _l("Name"),
        validators=[DataRequired(message=_l("Give the tier a name.")),
                    Length(max=60, message=_l("A name has at most 60 characters."))],
    )
    description = TextAreaField(
        _l("Description"),
        validators=[Optional(), Length(max=300, message=_l("At most 300 characters."))],
        render_kw={"rows": 2},
    )
    client_price = MoneyField(
        _l("Client price per word"),
        validators=[InputRequired(message=_l("Give the client price per word.")), not_negative],
    )
    writer_pay = MoneyField(
        _l("Writer pay per word"),
        validators=[InputRequired(message=_l("Give the writer pay per word.")), not_negative],
    )
    included_revisions = IntegerField(
        _l("Included revision rounds"),
        default=2,
        validators=[
            InputRequired(message=_l("Give the number of included revision rounds.")),
            NumberRange(min=0, max=MAX_REVISIONS,
                        message=_l("From %(low)d to %(high)d.", low=0, high=MAX_REVISIONS)),
        ],
    )
    min_lead_hours = IntegerField(
        _l("Minimum lead time (hours)"),
        default=48,
        validators=[
            InputRequired(message=_l("Give the minimum lead time in hours.")),
            NumberRange(min=MIN_LEAD_HOURS, max=MAX_LEAD_HOURS,
                        message=_l("From %(low)d to %(high)d hours.", low=MIN_LEAD_HOURS,
                                   high=MAX_LEAD_HOURS)),
        ],
    )
    position = _position_field()
    active = BooleanField(_l("Offered to clients"), default=True)
    requires_review = BooleanField(_l("An editor reads every delivery before the client"),
                                   default=False)

    def fill_from(self, tier) -> None:
        for name in ("name", "description", "included_revisions", "min_lead_hours", "position",
                     "active", "requires_review"):
            getattr(self, name).data = getattr(tier, name)
        self.client_price.data = to_major(tier.client_price_per_word)
        self.writer_pay.data = to_major(tier.writer_pay_per_word)

    def values(self) -> TierValues:
        return TierValues(
            name=self.name.data or "",
            description=self.description.data or "",
            client_price_per_word=to_minor(self.client_price.data),
            writer_pay_per_word=to_minor(self.writer_pay.data),
            included_revisions=self.included_revisions.data,
            min_lead_hours=self.min_lead_hours.data,
            position=self.position.data,
            active=bool(self.active.data),
            requires_review=bool(self.requires_review.data),
        )


class ContentTypeForm(PortalForm):
    name_fr = StringField(
        _l("Name in French"),
        validators=[DataRequired(message=_l("Give the French name.")),
                    Length(max=80, message=_l("A name has at most 80 characters."))],
    )
    name_en = StringField(
        _l("Name in English"),
        validators=[DataRequired(message=_l("Give the English name.")),
                    Length(max=80, message=_l("A name has at most 80 characters."))],
    )
    position = _position_field()
    active = BooleanField(_l("Offered in the brief form"), default=True)

    def values(self) -> ContentTypeValues:
        return ContentTypeValues(
            name_fr=self.name_fr.data or "",
            name_en=self.name_en.data or "",
            position=self.position.data,
            active=bool(self.active.data),
        )


# --- choosing a writer by name ------------------------------------------------------------
# An agency has hundreds of writers: a <select> of all of them is thousands of lines of HTML on
# every page that offers it, and unusable on a phone. A manager types a name or an email
# address (or part of one); the form finds the one active writer it means, or says that none
# or several match. The <datalist> offers a few likely writers (WriterField.suggestions), as
# "Name <address>", which the field reads back exactly; without JavaScript it is a text field.

WRITER_MATCHES_SHOWN = 5
WRITER_SUGGESTIONS = 20
WRITER_TEXT_MAX = 340  # "Name <address>": 80 + 254 and the brackets
_ADDRESS_IN_BRACKETS = re.compile(r"<\s*([^<>\s]+@[^<>\s]+)\s*>\s*$")


def writer_text(writer) -> str:
    """How the writer field writes a writer: "Name <address>" (the address tells two writers of
    the same name apart)."""
    return f"{writer.display_name} <{writer.email}>"


def _wanted(text: str) -> tuple[str, str]:
    """`text` with its spaces folded, and what it looks for: the address in "Name <address>",
    else the whole of it."""
    typed = " ".join(text.split())
    bracketed = _ADDRESS_IN_BRACKETS.search(typed)
    return typed, bracketed.group(1) if bracketed else typed


def writer_search(text: str) -> dict:
    """queries.writer_binds for what _wanted finds in `text` (none if nothing, or too much)."""
    shown = 0 < len(text.strip()) <= WRITER_TEXT_MAX
    return writer_binds(_wanted(text)[1], WRITER_MATCHES_SHOWN + 1 if shown else 0)


def pick_writer(text: str, candidates: list[sa.Row], *, by_address: bool = False) -> sa.Row:
    """The one writer among `candidates` (rows with id, display_name, email) that `text`
    means: the address in "Name <address>" or typed alone; else the one whose name is `text`
    (case aside); else the only one whose name or address holds `text`. Raises
    ValidationError, naming a few of them, when none or several match. `by_address`: only the
    address chooses (what acts on the writer: names are theirs to choose, and need not be
    unique); a name that matches gives the address to confirm with instead."""
    typed, wanted = _wanted(text)
    wanted = wanted.casefold()
    by_email = [r for r in candidates if r.email.casefold() == wanted]
    if len(by_email) == 1:
        return by_email[0]
    name = {r: " ".join(r.display_name.split()).casefold() for r in candidates}  # as shown
    exact = [r for r in candidates if name[r] == wanted]
    if len(exact) == 1 and not by_address:
        return exact[0]
    found = [r for r in candidates if wanted in name[r] or wanted in r.email.casefold()]
    if len(found) == 1 and not by_address:
        return found[0]
    if len(exact or found) == 1 and by_address:
        raise ValidationError(_("Choose the writer in the list, or type their email address: "
                                "%(writer)s", writer=writer_text((exact or found)[0])))
    if not found:
        raise ValidationError(_("No active writer matches “%(text)s”: type part of their "
                                "name or their email address.", text=typed[:80]))
    names = ", ".join(sorted({r.display_name for r in found})[:WRITER_MATCHES_SHOWN])
    raise ValidationError(_("Several writers match “%(text)s” (%(names)s…): type more of the "
                            "name, or the email address.", text=typed[:80], names=names))


class WriterField(StringField):
    """A writer typed by name or address (see pick_writer), looked for by one bounded query
    (queries.writers_matching) unless the page read its `candidates` with others; `writer` is
    the one found. `suggestions`: rows (display_name, email, writing, review) to offer."""

    def __init__(self, label=None, validators=None, *, by_address: bool = False, **kwargs):
        self.by_address = by_address
        kwargs.setdefault("render_kw", {"autocomplete": "off", "spellcheck": "false",
                                        "placeholder": _l("Name or email address")})
        super().__init__(label, validators, **kwargs)
        self.writer: sa.Row | None = None
        self.suggestions: list = []
        self.candidates: list[sa.Row] | None = None

    text_of = staticmethod(writer_text)  # the datalist's values, read back by pick_writer

    @property
    def datalist_id(self) -> str:
        return f"{self.id}-suggestions"

    def __call__(self, **kwargs):
        kwargs.setdefault("list", self.datalist_id)
        return super().__call__(**kwargs)

    def pre_validate(self, form):
        self.writer = None
        text = (self.data or "").strip()
        if not text:
            return
        if len(text) > WRITER_TEXT_MAX:  # before any query
            raise ValidationError(_("At most %(max)d characters.", max=WRITER_TEXT_MAX))
        if self.candidates is None:
            self.candidates = db.session.execute(writers_matching(), writer_search(text)).all()
        self.writer = pick_writer(text, self.candidates, by_address=self.by_address)


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class WriterSkillsForm(PortalForm):
    languages = CheckboxesField(_l("Languages"), choices=[], validate_choice=True)
    tiers = CheckboxesField(_l("Tiers"), choices=[], coerce=int, validate_choice=True)


def _timeline_note_field() -> TextAreaField:
    return TextAreaField(
        _l("Note for the timeline (optional)"),
        validators=[Optional(), Length(max=500, message=_l("At most 500 characters."))],
        render_kw={"rows": 2},
    )


# The order page shows several forms: each tool has its own prefix, so names and ids differ.
class AssignForm(PortalForm):
    PREFIX = "assign"

    writer = WriterField(_l("Writer"), by_address=True, validators=[
        DataRequired(message=_l("Type the name or the email address of the writer."))])
    note = _timeline_note_field()
    # Reassignments only; unchecked (the default) sets the unfinished text aside, as a
    # release does (orders.service.set_aside_draft).
    pass_draft = BooleanField(_l("Pass the current writer's unfinished text on to the new writer"),
                              default=False)


class ExtendDeadlineForm(PortalForm):
    PREFIX = "deadline"

    deadline = DateTimeLocalField(
        _l("New deadline"),
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[InputRequired(message=_l("Give the new deadline.")), PlausibleDateTime()],
    )
    note = _timeline_note_field()


class ReferenceTextsForm(PortalForm):
    PREFIX = "references"

    reference_texts = TextAreaField(
        _l("Reference texts"),
        validators=[Length(max=REFERENCE_TEXTS_MAX, message=_l(
            "The reference texts hold at most 20,000 characters: keep the passages that "
            "matter."))],
        render_kw={"rows": 4},
    )


class GrantRevisionForm(PortalForm):
    PREFIX = "revision"

    note = _timeline_note_field()


SORT_LABELS = {
    "newest": _l("Newest first"),
    "oldest": _l("Oldest first"),
    "deadline": _l("Closest deadline first"),
}


class DashboardFilterForm(PortalForm):
    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)])
    status = SelectField(_l("Status"), validators=[Optional()], choices=[])
    writer = WriterField(_l("Writer"), validators=[Optional()])
    writer_id = StringField()  # the writer chosen, in links (the side table, the pages)
    tier_id = SelectField(_l("Tier"), validators=[Optional()], choices=[])
    content_type_id = SelectField(_l("Content type"), validators=[Optional()], choices=[])
    language = SelectField(_l("Language"), validators=[Optional()], choices=[])
    sort = SelectField(_l("Sort"), validators=[Optional()], choices=[])
    overdue = BooleanField(_l("Overdue only"), false_values=("", "0", "false", "n"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.typed = (self.writer.data or "").strip()
        # A link's writer (writer_id) when none is typed; else what writer_load looks for.
        self.linked = None if self.typed else db_int(self.writer_id.data)
        self.search = writer_search(self.typed)

    def set_choices(self, load, tiers: list[tuple[int, str]],
                    content_types: list[tuple[int, str]]) -> None:
        """`load`: queries.writer_load's, with the busiest active writers (whom the writer
        field suggests), the linked writer and those matching the typed one; `tiers` and
        `content_types` are (id, name) pairs, in the order to show."""
        self.status.choices = [SelectChoice("", _l("All statuses"))] + [
            SelectChoice(status.value, label) for status, label in STATUS_LABELS.items()
            if status is not OrderStatus.DRAFT
        ]
        self.writer.suggestions = load.busiest[:WRITER_SUGGESTIONS]
        self.writer.candidates = load.matches
        if self.linked:  # a link to one writer's orders: the field shows who
            self.writer.data = writer_text(load.named) if load.named else ""
        self.tier_id.choices = [SelectChoice("", _l("All tiers"))] + [
            SelectChoice(str(tier_id), name) for tier_id, name in tiers
        ]
        self.content_type_id.choices = [SelectChoice("", _l("All content types"))] + [
            SelectChoice(str(kind_id), name) for kind_id, name in content_types
        ]
        self.sort.choices = [SelectChoice(key, label) for key, label in SORT_LABELS.items()
                             if key in SORTS]
        self.language.choices = [SelectChoice("", _l("All languages"))] + [
            SelectChoice(code, name)
            for code, name in current_app.config["ORDER_LANGUAGES"].items()]

    def writer_filter(self) -> int | None:
        """The writer typed in the field (its error set when none or several match: then no
        writer filter), else the one of a link (writer_id), else None."""
        if not self.typed:
            return self.linked
        try:
            self.writer.pre_validate(self)
        except ValidationError as error:
            self.writer.errors = [str(error)]
            return None
        return self.writer.writer.id

    def filters(self) -> ListFilters:
        valid_status = {status.value for status in OrderStatus} - {OrderStatus.DRAFT.value}
        return ListFilters(
            status=self.status.data if self.status.data in valid_status else "",
            q=(self.q.data or "").strip()[:100],
            sort=self.sort.data if self.sort.data in SORTS else "newest",
            language=self.language.data
            if self.language.data in current_app.config["ORDER_LANGUAGES"] else "",
            tier_id=db_int(self.tier_id.data),
            content_type_id=db_int(self.content_type_id.data),
            writer_id=self.writer_filter(),
            overdue=bool(self.overdue.data),
        )
