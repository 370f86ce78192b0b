"""The agency's money, for managers: the figures, payments to confirm, companies and their
accounts, credit notes, monthly invoices, writers' payouts, and the accountant's exports."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts.models import Role
from portal.billing import companies, earnings, figures, invoices, ledger, payments, queries
from portal.billing.forms import (
    ActionForm,
    AdjustForm,
    CreditNoteForm,
    PayoutForm,
    RejectForm,
    TermsForm,
)
from portal.billing.models import BILLING_MODE_LABELS, Company, PayoutBatch
from portal.extensions import commit_keeping_loaded, db
from portal.forms import db_int, page_arg
from portal.roles import role_required
from portal.view_helpers import (
    service_call,
    statement_response,
    submitted,
    validate_or_flash,
    validated_or_400,
)

bp = Blueprint("finance", __name__, url_prefix="/agency/finance")


@bp.get("")
@role_required(Role.MANAGER)
def figures_page():
    shown = figures.read()
    commit_keeping_loaded()  # the first view's baseline, computed once
    return render_template("finance/figures.html", today=shown.today, months=shown.months,
                           per_tier=shown.per_tier)


# --- payments -----------------------------------------------------------------------------------


@bp.get("/payments")
@role_required(Role.MANAGER)
def payment_list():
    return render_template("finance/payments.html", waiting=payments.awaiting_confirmation(),
                           recent=queries.recent_payments(),
                           confirm_form=ActionForm(formdata=None),
                           reject_form=RejectForm(formdata=None))


@bp.post("/payments/<int:payment_id>/confirm")
@role_required(Role.MANAGER)
def confirm_payment(payment_id: int):
    payment = payments.payment_for(current_user, payment_id)
    validated_or_400(ActionForm())
    with service_call() as call:
        payments.confirm(payment, current_user)
    if call.ok:
        flash(_("The payment %(reference)s is confirmed: the balance is credited.",
                reference=payment.reference), "success")
    return redirect(url_for("finance.payment_list"))


@bp.post("/payments/<int:payment_id>/reject")
@role_required(Role.MANAGER)
def reject_payment(payment_id: int):
    payment = payments.payment_for(current_user, payment_id)
    form = RejectForm()
    if validate_or_flash(form):
        with service_call() as call:
            payments.reject(payment, current_user, form.reason.data)
        if call.ok:
            flash(_("The payment %(reference)s is rejected; the client is told why.",
                    reference=payment.reference), "info")
    return redirect(url_for("finance.payment_list"))


# --- companies ----------------------------------------------------------------------------------


@bp.get("/companies")
@role_required(Role.MANAGER)
def company_list():
    q = (request.args.get("q") or "").strip()[:100]
    page = queries.companies_page(page_arg(request.args), 30, q)
    return render_template("finance/companies.html", page=page, q=q,
                           modes=BILLING_MODE_LABELS)


def _company_page(company: Company, *, terms_form=None, adjust_form=None, status: int = 200):
    entries, older = queries.ledger_page(company.id, db_int(request.args.get("before")), 30)
    return render_template(
        "finance/company.html", company=company, entries=entries, older=older,
        invoices=queries.company_invoices(company.id),
        terms_form=terms_form or TermsForm(formdata=None, billing_mode=company.billing_mode.value,
                                           credit_limit=company.credit_limit),
        adjust_form=adjust_form or AdjustForm(formdata=None),
        month_form=ActionForm(formdata=None), modes=BILLING_MODE_LABELS,
        owner=companies.owner_of(company)), status


@bp.get("/companies/<int:company_id>")
@role_required(Role.MANAGER)
def company_detail(company_id: int):
    return _company_page(db.get_or_404(Company, company_id))


@bp.post("/companies/<int:company_id>/terms")
@role_required(Role.MANAGER)
def company_terms(company_id: int):
    company = db.get_or_404(Company, company_id)
    form = TermsForm()
    call = submitted(form, lambda: companies.set_terms(company, current_user, form.chosen_mode(),
                                                       form.credit_limit.data))
    if call.ok:
        flash(_("The billing terms of %(name)s are saved.", name=company.name), "success")
        return redirect(url_for("finance.company_detail", company_id=company.id))
    return _company_page(company, terms_form=form, status=422)


@bp.post("/companies/<int:company_id>/adjust")
@role_required(Role.MANAGER)
def adjust(company_id: int):
    company = db.get_or_404(Company, company_id)
    form = AdjustForm()
    call = submitted(form, lambda: ledger.adjust(company, current_user, form.amount.data,
                                                 form.reason.data))
    if call.ok:
        flash(_("The balance of %(name)s is adjusted.", name=company.name), "success")
        return redirect(url_for("finance.company_detail", company_id=company.id))
    return _company_page(company, adjust_form=form, status=422)


@bp.post("/companies/<int:company_id>/invoice-month")
@role_required(Role.MANAGER)
def invoice_month(company_id: int):
    company = db.get_or_404(Company, company_id)
    validated_or_400(ActionForm())
    with service_call() as call:
        invoice = invoices.invoice_month(company, current_user)
    if call.ok:
        if invoice is None:
            flash(_("Nothing to invoice for last month."), "info")
        else:
            flash(_("Invoice %(number)s is issued and emailed.", number=invoice.number),
                  "success")
    return redirect(url_for("finance.company_detail", company_id=company.id))


@bp.get("/companies/<int:company_id>/statements/<int:year>/<int:month>")
@role_required(Role.MANAGER)
def company_statement(company_id: int, year: int, month: int):
    return statement_response(db.get_or_404(Company, company_id), year, month)


# --- credit notes -------------------------------------------------------------------------------


@bp.post("/invoices/<int:invoice_id>/credit-note")
@role_required(Role.MANAGER)
def credit_note(invoice_id: int):
    invoice = invoices.invoice_for(current_user, invoice_id)
    form = CreditNoteForm()
    if validate_or_flash(form):
        with service_call() as call:
            note = invoices.issue_credit_note(invoice, current_user, form.amount.data,
                                              form.reason.data)
        if call.ok:
            flash(_("Credit note %(number)s is issued and emailed.", number=note.number),
                  "success")
    return redirect(url_for("billing.invoice", invoice_id=invoice.id))


# --- payouts ------------------------------------------------------------------------------------


def _payouts_page(form=None, status: int = 200):
    payable = earnings.payable_writers(current_app.config["PAYOUT_THRESHOLD"])
    if form is None:
        form = PayoutForm(formdata=None)
        for writer in payable:
            form.lines.append_entry({"writer_id": str(writer.writer_id), "pay": False,
                                     "method": "flooz", "reference": ""})
    return render_template("finance/payouts.html", form=form, payable=payable,
                           batches=_batches(),
                           threshold=current_app.config["PAYOUT_THRESHOLD"]), status


def _batches() -> list[PayoutBatch]:
    return list(db.session.scalars(
        sa.select(PayoutBatch).order_by(PayoutBatch.created_at.desc(), PayoutBatch.id.desc())
        .limit(20)))


@bp.route("/payouts", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def payouts():
    if request.method == "GET":
        return _payouts_page()
    form = PayoutForm()
    if form.validate_on_submit():
        lines = []
        for writer_id, method, reference in form.chosen():
            if writer_id is None or method is None:
                form.form_errors.append(_("Choose how each writer was paid."))
                break
            lines.append(earnings.PayoutLine(writer_id, method, reference))
        else:
            with service_call(form) as call:
                batch = earnings.pay_out(current_user, lines, form.note.data or "")
            if call.ok:
                flash(_("The payouts are recorded and each writer is told."), "success")
                return redirect(url_for("finance.payout_batch", batch_id=batch.id))
    return _payouts_page(form, 422)


@bp.get("/payouts/<int:batch_id>")
@role_required(Role.MANAGER)
def payout_batch(batch_id: int):
    batch = db.get_or_404(PayoutBatch, batch_id)
    return render_template("finance/payout_batch.html", batch=batch)


# --- exports ------------------------------------------------------------------------------------


def _period() -> tuple[datetime | None, datetime | None]:
    def read(name: str) -> datetime | None:
        try:
            day = datetime.strptime(request.args.get(name, ""), "%Y-%m-%d")
        except ValueError:  # absent, empty or not a day
            return None
        return day.replace(tzinfo=UTC) if 2000 <= day.year <= 2100 else None

    return read("from"), read("to")


def _csv_response(rows, filename: str) -> Response:
    # Written whole before it is sent: nothing of the request (its session, its queries) is
    # left open while the client reads. A period keeps a large export small.
    response = Response("".join(rows), mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/export/ledger.csv")
@role_required(Role.MANAGER)
def export_ledger():
    start, end = _period()
    return _csv_response(figures.ledger_csv(start, end), "grand-livre-clients.csv")


@bp.get("/export/invoices.csv")
@role_required(Role.MANAGER)
def export_invoices():
    start, end = _period()
    return _csv_response(figures.invoices_csv(start, end), "factures-avoirs.csv")
