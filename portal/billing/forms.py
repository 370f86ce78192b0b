"""Forms about money. They check shape (whole numbers, lengths, choices); the services check the
rules (an amount within the limits, a reference not used yet, who may do what)."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, NumberRange, Optional

from portal.billing.models import (
    BILLING_MODE_LABELS,
    DECLARED_METHODS,
    METHOD_LABELS,
    BillingMode,
    PaymentMethod,
)
from portal.forms import EmailAddress, LocaleField, PortalSubForm, at_most, db_int
from portal.orders.forms import StrictForm

LINE_FIELD = re.compile(r"lines-\d{1,3}-(writer_id|pay|method|reference)")
# The largest amount any form takes (the services have their own, lower, limits).
MAX_AMOUNT = 2_000_000_000


def amount_field(label, *, minimum: int = 1) -> IntegerField:
    return IntegerField(
        label,
        validators=[InputRequired(message=_l("Enter an amount.")),
                    NumberRange(min=minimum, max=MAX_AMOUNT,
                                message=_l("Enter an amount in whole units."))],
        invalid_value_message=_l("Enter a whole amount, without spaces or decimals, like "
                                 "25000."),
        render_kw={"inputmode": "numeric"},
    )


class CompanyForm(StrictForm):
    name = StringField(_l("Legal name"), validators=[
        DataRequired(message=_l("Enter the company's legal name.")), at_most(200)],
        render_kw={"autocomplete": "organization"})
    address = TextAreaField(_l("Address"), validators=[at_most(500)],
                            render_kw={"rows": 3, "autocomplete": "street-address"})
    tax_number = StringField(_l("Tax number (NIF)"), validators=[at_most(40)])
    trade_register = StringField(_l("Trade register (RCCM)"), validators=[at_most(60)])
    billing_email = StringField(_l("Email for invoices"), validators=[
        Optional(), at_most(254), EmailAddress()],
        render_kw={"inputmode": "email", "autocomplete": "email"})
    locale = LocaleField(_l("Language of the invoices"))


class TopupForm(StrictForm):
    amount = amount_field(_l("Amount to add"))


class DeclarePaymentForm(StrictForm):
    method = SelectField(_l("How did you pay?"), choices=[
        SelectChoice(method.value, METHOD_LABELS[method]) for method in DECLARED_METHODS],
        validators=[DataRequired(message=_l("Choose how you paid."))])
    reference = StringField(_l("Reference of the payment"), validators=[
        DataRequired(message=_l("Enter the reference of your payment.")), at_most(100)])
    amount = amount_field(_l("Amount paid"))
    proof = FileField(_l("Proof (optional): a screenshot or a receipt"))

    def chosen_method(self) -> PaymentMethod:
        return PaymentMethod(self.method.data)


class ActionForm(StrictForm):
    """One button."""


class RejectForm(StrictForm):
    reason = TextAreaField(_l("Reason (told to the client)"), validators=[
        DataRequired(message=_l("Say why the payment is rejected.")), at_most(2000)],
        render_kw={"rows": 2})


class TermsForm(StrictForm):
    billing_mode = SelectField(_l("Billing"), choices=[
        SelectChoice(mode.value, label) for mode, label in BILLING_MODE_LABELS.items()],
        validators=[DataRequired()])
    credit_limit = amount_field(_l("Credit limit (postpaid)"), minimum=0)

    def chosen_mode(self) -> BillingMode:
        return BillingMode(self.billing_mode.data)


class AdjustForm(StrictForm):
    amount = IntegerField(_l("Amount (negative to take away)"), validators=[
        InputRequired(message=_l("Enter an amount.")),
        NumberRange(min=-MAX_AMOUNT, max=MAX_AMOUNT, message=_l("Enter an amount in whole "
                                                                "units."))],
        invalid_value_message=_l("Enter a whole amount, like 5000 or -5000."))
    reason = TextAreaField(_l("Reason"), validators=[
        DataRequired(message=_l("Say why the balance changes.")), at_most(2000)],
        render_kw={"rows": 2})


class CreditNoteForm(StrictForm):
    amount = amount_field(_l("Amount to cancel (VAT included)"))
    reason = TextAreaField(_l("Reason"), validators=[
        DataRequired(message=_l("Say why the invoice is cancelled.")), at_most(2000)],
        render_kw={"rows": 2})


class PayoutLineForm(PortalSubForm):
    """One writer of a payout batch (a sub-form: the batch's form carries the CSRF token)."""

    writer_id = HiddenField()
    pay = BooleanField(_l("Pay"))
    method = SelectField(_l("Method"), choices=[
        SelectChoice(method.value, METHOD_LABELS[method]) for method in DECLARED_METHODS],
        validate_choice=False)
    reference = StringField(_l("Reference"), validators=[at_most(100)])


class PayoutForm(StrictForm):
    lines = FieldList(FormField(PayoutLineForm), min_entries=0, max_entries=500)
    note = TextAreaField(_l("Note (optional)"), validators=[at_most(2000)],
                         render_kw={"rows": 2})

    def extra_fields(self) -> list[str]:
        # The lines' fields are named lines-<n>-<field>.
        return [name for name in super().extra_fields() if not LINE_FIELD.fullmatch(name)]

    def chosen(self) -> list[tuple[int, PaymentMethod | None, str]]:
        chosen = []
        for line in self.lines:
            if not line.pay.data:
                continue
            writer_id = db_int(line.writer_id.data)
            method = line.method.data if line.method.data in {m.value for m in PaymentMethod} \
                else None
            chosen.append((writer_id, PaymentMethod(method) if method else None,
                           (line.reference.data or "").strip()))
        return chosen
