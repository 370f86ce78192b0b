from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from babel.numbers import format_decimal, get_currency_precision
from flask import current_app
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    Field,
    IntegerField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget, TextInput

from portal.agency.service import (
    MAX_LEAD_HOURS,
    MAX_REVISIONS,
    MIN_LEAD_HOURS,
    ContentTypeValues,
    TierValues,
)
from portal.forms import PlausibleDateTime, PortalForm, SelectField, db_int
from portal.i18n import current_language
from portal.orders.models import REFERENCE_TEXTS_MAX, STATUS_LABELS, OrderStatus
from portal.orders.queries import SORTS


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
        text = "".join(valuelist[0].split())  # "1 250,50": spaces group thousands in French
        if not text:
            self.data = None
            return
        if not _AMOUNT.match(text):
            self.data = None
            raise ValueError(_l("Enter an amount, like 25 or 0,08."))
        try:
            value = Decimal(text.replace(",", "."))
        except InvalidOperation:  # pragma: no cover - the pattern already guards it
            self.data = None
            raise ValueError(_l("Enter an amount, like 25 or 0,08.")) from None
        digits = currency_digits()
        if value != value.quantize(Decimal(1).scaleb(-digits)):
            self.data = None
            if digits == 0:
                raise ValueError(_l("This currency has no decimals: enter a whole amount."))
            raise ValueError(_l("Enter at most %(digits)d decimals.", digits=digits))
        self.data = value


class NotNegative:
    def __call__(self, form, field) -> None:
        from wtforms.validators import ValidationError

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
        validators=[InputRequired(message=_l("Give the client price per word.")), NotNegative()],
    )
    writer_pay = MoneyField(
        _l("Writer pay per word"),
        validators=[InputRequired(message=_l("Give the writer pay per word.")), NotNegative()],
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
        self.name.data = tier.name
        self.description.data = tier.description
        self.client_price.data = to_major(tier.client_price_per_word)
        self.writer_pay.data = to_major(tier.writer_pay_per_word)
        self.included_revisions.data = tier.included_revisions
        self.min_lead_hours.data = tier.min_lead_hours
        self.position.data = tier.position
        self.active.data = tier.active
        self.requires_review.data = tier.requires_review

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


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class WriterSkillsForm(PortalForm):
    languages = CheckboxesField(_l("Languages"), choices=[], validate_choice=True)
    tiers = CheckboxesField(_l("Tiers"), choices=[], coerce=int, validate_choice=True)


# The order page shows several forms: each tool has its own prefix, so names and ids differ.
class AssignForm(PortalForm):
    PREFIX = "assign"

    writer_id = SelectField(_l("Writer"), coerce=int, choices=[], validate_choice=True)
    note = TextAreaField(
        _l("Note for the timeline (optional)"),
        validators=[Optional(), Length(max=500, message=_l("At most 500 characters."))],
        render_kw={"rows": 2},
    )
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
    note = TextAreaField(
        _l("Note for the timeline (optional)"),
        validators=[Optional(), Length(max=500, message=_l("At most 500 characters."))],
        render_kw={"rows": 2},
    )


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

    note = TextAreaField(
        _l("Note for the timeline (optional)"),
        validators=[Optional(), Length(max=500, message=_l("At most 500 characters."))],
        render_kw={"rows": 2},
    )


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
    writer_id = SelectField(_l("Writer"), validators=[Optional()], choices=[])
    tier_id = SelectField(_l("Tier"), validators=[Optional()], choices=[])
    content_type_id = SelectField(_l("Content type"), validators=[Optional()], choices=[])
    language = SelectField(_l("Language"), validators=[Optional()], choices=[])
    sort = SelectField(_l("Sort"), validators=[Optional()], choices=[])
    overdue = BooleanField(_l("Overdue only"), false_values=("", "0", "false", "n"))

    def set_choices(self, writers, tiers: list[tuple[int, str]],
                    content_types: list[tuple[int, str]]) -> None:
        """`tiers` and `content_types` are (id, name) pairs, in the order to show."""
        self.status.choices = [("", _l("All statuses"))] + [
            (status.value, label) for status, label in STATUS_LABELS.items()
            if status is not OrderStatus.DRAFT
        ]
        self.writer_id.choices = [("", _l("All writers"))] + [
            (str(writer.id), writer.display_name) for writer in writers
        ]
        self.tier_id.choices = [("", _l("All tiers"))] + [
            (str(tier_id), name) for tier_id, name in tiers
        ]
        self.content_type_id.choices = [("", _l("All content types"))] + [
            (str(kind_id), name) for kind_id, name in content_types
        ]
        self.sort.choices = [(key, label) for key, label in SORT_LABELS.items() if key in SORTS]
        self.language.choices = [("", _l("All languages")),
                                 *current_app.config["ORDER_LANGUAGES"].items()]

    @staticmethod
    def _id(value) -> int | None:
        return db_int(value)

    def filters(self):
        from portal.orders.queries import ListFilters

        valid_status = {status.value for status in OrderStatus} - {OrderStatus.DRAFT.value}
        return ListFilters(
            status=self.status.data if self.status.data in valid_status else "",
            q=(self.q.data or "").strip()[:100],
            sort=self.sort.data if self.sort.data in SORTS else "newest",
            language=self.language.data
            if self.language.data in current_app.config["ORDER_LANGUAGES"] else "",
            tier_id=self._id(self.tier_id.data),
            content_type_id=self._id(self.content_type_id.data),
            writer_id=self._id(self.writer_id.data),
            overdue=bool(self.overdue.data),
        )
