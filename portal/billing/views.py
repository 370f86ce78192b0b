"""The client's company account (balance, top-ups, payments, invoices, statements), the
documents every reader of them opens (invoices, credit notes, proformas as pages and PDF), and
the payment provider's checkout and notifications."""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    abort,
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
from portal.billing import companies, invoices, payments, providers, queries
from portal.billing.forms import (
    ActionForm,
    CompanyForm,
    CreditNoteForm,
    DeclarePaymentForm,
    TopupForm,
)
from portal.billing.models import (
    ENTRY_LABELS,
    METHOD_LABELS,
    PAYMENT_STATUS_LABELS,
    CreditNote,
    Document,
    PaymentStatus,
    ProformaStatus,
)
from portal.errors import DomainError
from portal.extensions import csrf, db
from portal.forms import db_int
from portal.notifications.outbox import external_url
from portal.orders import uploads
from portal.roles import role_required
from portal.view_helpers import (
    own_company,
    pdf_response,
    render_form,
    service_call,
    statement_response,
    submitted,
    validated_or_400,
)

bp = Blueprint("billing", __name__, url_prefix="/billing")
log = logging.getLogger("portal.billing")


@bp.app_context_processor
def billing_labels():
    return {"entry_labels": ENTRY_LABELS, "method_labels": METHOD_LABELS,
            "payment_status_labels": PAYMENT_STATUS_LABELS}


# --- the account --------------------------------------------------------------------------------


@bp.get("")
@role_required(Role.CLIENT)
def account():
    company = own_company()
    view = queries.account_view(company, before=db_int(request.args.get("before")),
                                per_page=current_app.config["LEDGER_PER_PAGE"])
    return render_template("billing/account.html", company=company, view=view,
                           labels=ENTRY_LABELS,
                           months=queries.statement_months(company))


@bp.route("/company", methods=["GET", "POST"])
@role_required(Role.CLIENT)
def company():
    found = own_company()
    form = CompanyForm(obj=found if request.method == "GET" else None)
    call = submitted(form, lambda: companies.update_details(found, current_user, companies.Details(
        name=form.name.data, address=form.address.data or "",
        tax_number=form.tax_number.data or "",
        trade_register=form.trade_register.data or "",
        billing_email=form.billing_email.data or "", locale=form.locale.data)))
    if call.ok:
        flash(_("The company's details are saved. Documents already issued keep the "
                "details they were issued with."), "success")
        return redirect(url_for("billing.account"))
    return render_form("billing/company.html", form=form, company=found)


@bp.route("/topup", methods=["GET", "POST"])
@role_required(Role.CLIENT)
def topup():
    form = TopupForm()
    if request.method == "GET":
        form.amount.data = db_int(request.args.get("amount"))
    call = submitted(form, lambda: payments.request_topup(current_user, form.amount.data))
    if call.ok:
        proforma = call.result
        flash(_("Here is your proforma %(number)s: pay it and tell us below.",
                number=proforma.number), "success")
        return redirect(url_for("billing.proforma", proforma_id=proforma.id))
    return render_form("billing/topup.html", form=form, instructions=payments.instructions())


# --- proformas and payments ---------------------------------------------------------------------


def _proforma_page(proforma, form=None, status: int = 200):
    if form is None:
        form = DeclarePaymentForm(formdata=None, amount=proforma.amount)
    return render_template(
        "billing/proforma.html", proforma=proforma, form=form,
        instructions=payments.instructions(),
        payments=queries.payments_of_proforma(proforma.id),
        deposit=payments.deposit_invoice_of(proforma),
        online=providers.provider() is not None and current_user.is_client,
        checkout_form=ActionForm(formdata=None),
        may_declare=current_user.is_client and proforma.status is ProformaStatus.OPEN,
    ), status


@bp.get("/proformas/<int:proforma_id>")
@role_required(Role.CLIENT, Role.MANAGER)
def proforma(proforma_id: int):
    return _proforma_page(payments.proforma_for(current_user, proforma_id))


@bp.get("/proformas/<int:proforma_id>/pdf")
@role_required(Role.CLIENT, Role.MANAGER)
def proforma_pdf(proforma_id: int):
    from portal.billing import pdf

    found = payments.proforma_for(current_user, proforma_id)
    return pdf_response(pdf.proforma_pdf(found), f"{found.number}.pdf")


@bp.post("/proformas/<int:proforma_id>/payments")
@role_required(Role.CLIENT)
def declare_payment(proforma_id: int):
    found = payments.proforma_for(current_user, proforma_id)
    form = DeclarePaymentForm()
    call = submitted(form, lambda: payments.declare_for_proforma(current_user, found,
                                                                 _declaration(form)))
    if call.ok:
        flash(_("Thank you: we check your payment and tell you as soon as it is "
                "confirmed."), "success")
        return redirect(url_for("billing.proforma", proforma_id=found.id))
    return _proforma_page(found, form, 422)


def _declaration(form: DeclarePaymentForm) -> payments.Declaration:
    return payments.Declaration(method=form.chosen_method(), reference=form.reference.data,
                                amount=form.amount.data, proof=form.proof.data or None)


@bp.get("/payments/<int:payment_id>/proof")
@role_required(Role.CLIENT, Role.MANAGER)
def payment_proof(payment_id: int):
    payment = payments.payment_for(current_user, payment_id)
    if not payment.proof_stored_name:
        abort(404)
    return uploads.stored_download(payment.proof_stored_name, payment.proof_media_type,
                                   payment.proof_name, f"payment {payment.id}")


# --- online payment -----------------------------------------------------------------------------


@bp.post("/proformas/<int:proforma_id>/checkout")
@role_required(Role.CLIENT)
def checkout(proforma_id: int):
    found = payments.proforma_for(current_user, proforma_id)
    validated_or_400(ActionForm())
    with service_call() as call:
        # Built from BASE_URL, never from the request's Host (like every link that leaves).
        url = payments.start_checkout(current_user, found,
                                      external_url("billing.checkout_return"))
    if not call.ok:
        return redirect(url_for("billing.proforma", proforma_id=found.id))
    return redirect(url, code=303)


@bp.get("/checkout/return")
@role_required(Role.CLIENT)
def checkout_return():
    # The provider sends the client back here; the payment is confirmed by its signed
    # notification (or the button below), never by this address, which anyone can type.
    payment = queries.online_payment_of(current_user, request.args.get("id", ""))
    return render_template("billing/checkout_return.html", payment=payment,
                           check_form=ActionForm(formdata=None))


@bp.post("/payments/<int:payment_id>/check")
@role_required(Role.CLIENT)
def check_payment(payment_id: int):
    payment = payments.payment_for(current_user, payment_id)
    if not ActionForm().validate_on_submit() or not payment.provider_ref:
        abort(400)
    try:
        outcome = payments.settle_online(payment.provider_ref)
    except (DomainError, providers.ProviderError):
        db.session.rollback()
        flash(_("The online payment service cannot be reached. Try again in a moment."),
              "danger")
        return redirect(url_for("billing.account"))
    db.session.commit()
    if outcome == "confirmed" or payment.status is PaymentStatus.CONFIRMED:
        flash(_("Your payment is confirmed."), "success")
    elif outcome == "rejected":
        flash(_("The payment did not go through."), "warning")
    else:
        flash(_("The payment is not confirmed yet. We tell you by email as soon as it is."),
              "info")
    return redirect(url_for("billing.account"))


@bp.post("/webhooks/fedapay")
@csrf.exempt  # the provider signs its notifications (X-FEDAPAY-SIGNATURE) instead
def fedapay_webhook():
    provider = providers.provider()
    if provider is None:
        abort(404)
    body = request.get_data(cache=False)
    try:
        notification = provider.read_notification(body, request.headers)
    except providers.BadSignature as error:
        log.warning("FedaPay notification refused: %s", error)
        return {"ok": False}, 400
    except providers.ProviderError as error:
        log.warning("FedaPay notification unreadable: %s", error)
        return {"ok": False}, 400
    if not notification.event.startswith("transaction."):
        return {"ok": True, "outcome": "ignored"}
    try:
        outcome = payments.settle_online(notification.provider_ref)
    except providers.ProviderError as error:
        db.session.rollback()
        log.warning("FedaPay transaction %s could not be read: %s", notification.provider_ref,
                    error)
        return {"ok": False}, 502  # the provider sends it again later
    db.session.commit()
    return {"ok": True, "outcome": outcome}


# --- invoices and statements --------------------------------------------------------------------


@bp.get("/invoices")
@role_required(Role.CLIENT)
def invoice_list():
    company = own_company()
    page = queries.invoices_page(company.id, db_int(request.args.get("page")) or 1, 20)
    return render_template("billing/invoices.html", company=company, page=page,
                           notes=queries.credit_notes_of([i.id for i in page.items]))


@bp.get("/invoices/<int:invoice_id>")
@role_required(Role.CLIENT, Role.MANAGER)
def invoice(invoice_id: int):
    found = invoices.invoice_for(current_user, invoice_id)
    return render_template(
        "billing/invoice.html", invoice=found, notes=queries.credit_notes_of([found.id]),
        payments=queries.payments_of_invoice(found.id),
        pay_form=DeclarePaymentForm(formdata=None, amount=found.due),
        credit_form=CreditNoteForm(formdata=None, amount=found.creditable),
        instructions=payments.instructions())


@bp.get("/invoices/<int:invoice_id>/pdf")
@role_required(Role.CLIENT, Role.MANAGER)
def invoice_pdf(invoice_id: int):
    return _issued_pdf(invoices.invoice_for(current_user, invoice_id).document_id)


def _issued_pdf(document_id: int | None):
    """An invoice's or credit note's PDF as it was issued."""
    document = db.session.get(Document, document_id) if document_id else None
    if document is None:
        abort(404)
    return pdf_response(document.content, document.filename)


@bp.post("/invoices/<int:invoice_id>/payments")
@role_required(Role.CLIENT)
def pay_invoice(invoice_id: int):
    found = invoices.invoice_for(current_user, invoice_id)
    form = DeclarePaymentForm()
    if form.validate_on_submit():
        with service_call() as call:
            payments.declare_for_invoice(current_user, found, _declaration(form))
        if call.ok:
            flash(_("Thank you: we check your payment and tell you as soon as it is "
                    "confirmed."), "success")
    else:
        flash(" ".join(str(e) for errors in form.errors.values() for e in errors)
              or _("The payment could not be declared."), "danger")
    return redirect(url_for("billing.invoice", invoice_id=found.id))


@bp.get("/credit-notes/<int:credit_note_id>/pdf")
@role_required(Role.CLIENT, Role.MANAGER)
def credit_note_pdf(credit_note_id: int):
    note = db.get_or_404(CreditNote, credit_note_id)
    invoices.invoice_for(current_user, note.invoice_id)  # 404 for another company's
    return _issued_pdf(note.document_id)


@bp.get("/statements/<int:year>/<int:month>")
@role_required(Role.CLIENT)
def statement(year: int, month: int):
    return statement_response(own_company(), year, month)

