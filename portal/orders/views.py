"""The client's side of orders (the brief, the live quote, files, "My orders", review) and the
order page every role opens."""

from __future__ import annotations

import tempfile
from datetime import datetime, time, timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from portal.accounts.models import Role
from portal.errors import Conflict, DomainError
from portal.extensions import commit_keeping_loaded, db, utcnow
from portal.forms import db_int, form_error, page_arg
from portal.i18n import current_language, format_money, to_local, to_utc
from portal.messaging import policies as conversation_policies
from portal.messaging import queries as conversations
from portal.messaging import service as message_service
from portal.messaging.forms import MessageForm
from portal.notifications import service as notifications
from portal.orders import (
    brief_templates,
    compare,
    exports,
    originality,
    policies,
    queries,
    service,
    showcase,
    text,
    uploads,
)
from portal.orders.forms import (
    ApproveForm,
    BackForm,
    BriefForm,
    CancelForm,
    ListFilterForm,
    PassReviewForm,
    QuoteForm,
    ReturnToWriterForm,
    RevisionForm,
    SampleConsentForm,
    SaveTemplateForm,
    ShowcaseForm,
    SubmitOrderForm,
    TextsArchiveForm,
    UploadForm,
)
from portal.orders.models import (
    TIMELINE_LABELS,
    Attachment,
    Delivery,
    Order,
    OrderStatus,
    Tier,
)
from portal.orders.pricing import quote as price_quote
from portal.orders.report import for_display, report_of
from portal.orders.review import PRIVATE_NOTES, pass_to_client
from portal.orders.review import return_to_writer as return_delivery
from portal.roles import role_required
from portal.view_helpers import render_form, service_call, submitted, validated_or_400

bp = Blueprint("orders", __name__, url_prefix="/orders")

# The downloads of an approved text, in the order the page lists them.
EXPORT_LABELS = {
    "docx": _l("Word (.docx)"),
    "pdf": _l("PDF (.pdf)"),
    "html": _l("Web page (.html)"),
    "fragment.html": _l("HTML to paste (.html)"),
    "md": _l("Markdown (.md)"),
    "txt": _l("Plain text (.txt)"),
}


def _zone() -> str:
    return current_user.timezone or current_app.config["AGENCY_TIMEZONE"]


# --- the brief ----------------------------------------------------------------------------


def _brief_page(form: BriefForm, order: Order | None):
    own, agency = brief_templates.offered_templates(current_user) if order is None \
        else ([], [])
    return render_form(
        "orders/brief.html",
        form=form,
        order=order,
        # For a new brief, each tier's default deadline: quote.js moves the deadline there when
        # the client picks another tier, until they choose a deadline themselves.
        deadline_defaults=None if order else {
            str(tier.id): service.default_deadline(tier, form.zone).strftime("%Y-%m-%dT%H:%M")
            for tier in form.tiers
        },
        own_templates=own,
        agency_templates=agency,
        template_form=SaveTemplateForm(formdata=None),
        quote=_initial_quote(form),
        attachments=order.attachments if order else [],
        upload_form=UploadForm(formdata=None, back="edit"),
        remove_form=BackForm(formdata=None, back="edit"),
        accepted=uploads.ACCEPTED_EXTENSIONS,
    )


def _initial_quote(form: BriefForm) -> dict | None:
    """The quote shown before any script runs (and without JavaScript)."""
    tier_id, words = db_int(form.tier_id.data), db_int(form.words_max.data)
    deadline = form.deadline.data
    if tier_id is None or words is None or deadline is None or not 2000 <= deadline.year <= 2100:
        return None
    tier = db.session.get(Tier, tier_id)
    if tier is None or not tier.active:
        return None
    return _quote_payload(tier, words, to_utc(form.deadline.data, form.zone))


def _save_brief(form: BriefForm, order: Order | None):
    """Create or update the draft, then submit it when asked: one transaction. When a rule
    refuses, the brief's page again with the refusal."""
    draft = order
    with service_call(form) as call:
        if draft is None:
            draft = service.create_draft(current_user, form.brief())
        else:
            service.update_draft(draft, current_user, form.brief(), version=form.stated_version())
        if form.submitting:
            service.submit(draft, current_user)
    if not call.ok:
        return _brief_page(form, order)
    if form.submitting:
        _flash_submitted(draft)
    else:
        flash(_("Your draft is saved. Submit it when it is ready."), "success")
    return redirect(url_for("orders.detail", order_id=draft.id))


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.CLIENT)
def new():
    form = BriefForm(client=current_user, zone=_zone())
    if request.method == "GET":
        languages = current_app.config["ORDER_LANGUAGES"]
        form.language.data = current_language() if current_language() in languages \
            else next(iter(languages))
        form.words_min.data, form.words_max.data = 600, 800
        if form.tiers:
            form.tier_id.data = str(form.tiers[0].id)
        form.deadline.data = service.default_deadline(
            form.tiers[0] if form.tiers else None, form.zone)
        template_id = request.args.get("template")
        if template_id is not None:
            _start_from_template(form, template_id)
    elif form.validate_on_submit():
        return _save_brief(form, None)
    return _brief_page(form, None)


def _start_from_template(form: BriefForm, template_id: str) -> None:
    """Fill the new brief from a template the client may use (404 for any other)."""
    found = db_int(template_id)
    if found is None:
        abort(404)
    template = brief_templates.get_template_for(current_user, found)
    start = brief_templates.start_from(template)
    form.start_from(start.values)
    tier_id = start.values["tier_id"]
    form.deadline.data = service.default_deadline(
        db.session.get(Tier, tier_id) if tier_id is not None else None, form.zone)
    for sentence in start.replaced:
        flash(sentence, "warning")


@bp.route("/<int:order_id>/edit", methods=["GET", "POST"])
@role_required(Role.CLIENT)
def edit(order_id: int):
    order = queries.get_order_for(current_user, order_id)
    if not policies.can_edit_brief(current_user, order):
        flash(_("This order is no longer a draft: its brief cannot change."), "warning")
        return redirect(url_for("orders.detail", order_id=order.id))
    form = BriefForm(client=current_user, zone=_zone())
    if request.method == "GET":
        form.fill_from(order)
    elif form.validate_on_submit():
        return _save_brief(form, order)
    return _brief_page(form, order)


@bp.post("/<int:order_id>/submit")
@role_required(Role.CLIENT)
def submit(order_id: int):
    order = queries.get_order_for(current_user, order_id)
    form = validated_or_400(SubmitOrderForm())
    with service_call() as call:
        service.submit(order, current_user, version=form.stated_version())
    if call.ok:
        _flash_submitted(order)
    return redirect(url_for("orders.detail", order_id=order_id))


def _flash_submitted(order: Order) -> None:
    if order.status is OrderStatus.AWAITING_PAYMENT:
        flash(_("Your order %(ref)s is saved with its price, and waits for payment: your "
                "balance is short. See below how much to add.", ref=order.reference), "info")
    else:
        flash(_("Your order %(ref)s is sent. We will tell you when a writer takes it.",
                ref=order.reference), "success")


@bp.post("/<int:order_id>/delete")
@role_required(Role.CLIENT)
def delete(order_id: int):
    order = queries.get_order_for(current_user, order_id)
    validated_or_400(BackForm())
    stored = [attachment.stored_name for attachment in order.attachments]
    with service_call() as call:
        service.delete_draft(order, current_user)
    if not call.ok:
        return redirect(url_for("orders.detail", order_id=order_id))
    for name in stored:
        uploads.discard_file(name)
    flash(_("The draft is deleted."), "info")
    return redirect(url_for("orders.list"))


# --- order again and templates -----------------------------------------------------------


@bp.post("/<int:order_id>/again")
@role_required(Role.CLIENT)
def order_again(order_id: int):
    order = queries.get_order_for(current_user, order_id)
    validated_or_400(BackForm())
    with service_call() as call:
        draft, replaced = brief_templates.order_again(current_user, order)
    if not call.ok:
        return redirect(url_for("orders.detail", order_id=order_id))
    flash(_("A new draft copies the brief of %(ref)s. Check it, choose a deadline and submit "
            "it.", ref=order.reference), "success")
    for sentence in replaced:
        flash(sentence, "warning")
    return redirect(url_for("orders.edit", order_id=draft.id))


@bp.post("/<int:order_id>/template")
@role_required(Role.CLIENT)
def save_template(order_id: int):
    order = queries.get_order_for(current_user, order_id)
    form = SaveTemplateForm()
    back = url_for("orders.edit" if policies.can_edit_brief(current_user, order)
                   else "orders.detail", order_id=order_id)
    if not form.validate_on_submit():
        flash(" ".join(str(e) for e in [*form.form_errors, *form.name.errors])
              or _("The template could not be saved."), "danger")
        return redirect(back)
    with service_call() as call:
        template = brief_templates.save_from_order(current_user, order, form.name.data)
    if call.ok:
        flash(_("The brief is kept as the template “%(name)s”.", name=template.name), "success")
    return redirect(back)


@bp.get("/templates")
@role_required(Role.CLIENT)
def templates():
    return render_template("orders/templates.html",
                           templates=brief_templates.client_templates(current_user),
                           most=brief_templates.MAX_PER_CLIENT,
                           delete_form=BackForm(formdata=None))


@bp.post("/templates/<int:template_id>/delete")
@role_required(Role.CLIENT)
def delete_template(template_id: int):
    template = brief_templates.get_template_for(current_user, template_id)
    if template.owner_id != current_user.id:
        abort(404)  # an agency template is the agency's to delete
    validated_or_400(BackForm())
    name = template.name
    with service_call() as call:
        brief_templates.delete_template(current_user, template)
    if call.ok:
        flash(_("The template “%(name)s” is deleted.", name=name), "info")
    return redirect(url_for("orders.templates"))


# --- the live quote -----------------------------------------------------------------------


def _quote_payload(tier: Tier, words: int, deadline) -> dict:
    price = price_quote(tier, words, deadline)
    config = current_app.config
    if price.is_rush:
        message = _("A rush surcharge of %(percent)d%% applies: the deadline is less than "
                    "%(hours)d hours away.", percent=config["RUSH_SURCHARGE_PERCENT"],
                    hours=config["RUSH_WINDOW_HOURS"])
    else:
        message = _("%(words)d words × %(price)s per word.", words=words,  # noqa: RUF001
                    price=format_money(price.price_per_word, price.currency))
    return {
        "ok": True,
        "total": price.total,
        "total_display": format_money(price.total, price.currency),
        "base_display": format_money(price.base, price.currency),
        "rush_display": format_money(price.rush_surcharge, price.currency),
        "is_rush": price.is_rush,
        "per_word_display": format_money(price.price_per_word, price.currency),
        "words": words,
        "currency": price.currency,
        "message": message,
    }


def _no_quote(message: str):
    return jsonify(ok=False, total=None, total_display="", base_display="", rush_display="",
                   is_rush=False, per_word_display="", message=message), 422


@bp.post("/quote")
@role_required(Role.CLIENT)
def quote():
    form = QuoteForm()
    if not form.validate():
        for field in (form.words_max, form.tier_id, form.deadline):
            if field.errors:
                return _no_quote(str(field.errors[0]))
        return _no_quote(_("Fill in the word count, the level and the deadline."))
    tier = db.session.get(Tier, form.tier_id.data)
    if tier is None or not tier.active:
        return _no_quote(_("Choose a quality level from the list."))
    if form.deadline.data is None:
        return _no_quote(_("Choose a deadline to see the price."))
    deadline = to_utc(form.deadline.data, _zone())
    try:
        service.check_deadline(tier, deadline)
    except Conflict as error:
        return _no_quote(error.message)
    return jsonify(_quote_payload(tier, form.words_max.data, deadline))


# --- "My orders" --------------------------------------------------------------------------


@bp.get("", endpoint="list")
@role_required(Role.CLIENT)
def list_orders():
    # The period form of the texts' archive, filled with the last thirty days.
    form = TextsArchiveForm(formdata=None)
    today = to_local(utcnow(), _zone()).date()
    form.start.data, form.end.data = today - timedelta(days=30), today
    return _list_page(form)


def _list_page(archive_form: TextsArchiveForm, status: int = 200):
    filters = ListFilterForm(request.args)
    filters.validate()
    chosen = queries.ListFilters(status=filters.clean_status(),
                                 q=(filters.q.data or "").strip()[:100],
                                 sort=filters.clean_sort())
    counts = queries.status_counts(Order.client_id == current_user.id)
    page = queries.client_orders(current_user, chosen,
                                 page=page_arg(request.args),
                                 per_page=current_app.config["ORDERS_PER_PAGE"],
                                 total=queries.known_total(chosen, counts))
    return render_template("orders/list.html", page=page, filters=filters, chosen=chosen,
                           counts=counts, total=sum(counts.values()), estimate=_estimate,
                           unread=conversations.unread_counts(current_user,
                                                              [o.id for o in page.items]),
                           archive_form=archive_form), status


# Up to this size an archive is built in memory, then in a temporary file.
ARCHIVE_IN_MEMORY = 8 * 1024 * 1024


@bp.get("/texts.zip")
@role_required(Role.CLIENT)
def texts_archive():
    form = TextsArchiveForm(request.args)
    if not form.validate():
        return _list_page(form, 422)
    done = _texts_archive(form, Order.client_id == current_user.id, "texts")
    if isinstance(done, str):
        form.end.errors = [done]
        return _list_page(form)
    return done


@bp.get("/companies/<int:company_id>/texts.zip")
@role_required(Role.MANAGER)
def company_texts_archive(company_id: int):
    from portal.billing.models import Company

    company = db.get_or_404(Company, company_id)
    form = TextsArchiveForm(request.args)
    if form.validate():
        done = _texts_archive(form, Order.company_id == company.id,
                              f"{exports.slug(company.name, 'company')}-texts")
    else:
        done = " ".join(str(e) for e in [*form.start.errors, *form.end.errors])
    if isinstance(done, str):
        flash(done, "danger")
        return redirect(url_for("finance.company_detail", company_id=company.id))
    return done


def _texts_archive(form: TextsArchiveForm, whose, stem: str):
    """The .zip of the texts `whose` picks approved in the form's period (days in the reader's
    time zone), or why there is none."""
    zone = _zone()
    start = to_utc(datetime.combine(form.start.data, time()), zone)
    end = to_utc(datetime.combine(form.end.data + timedelta(days=1), time()), zone)
    count = queries.count_approved_texts(whose, start, end)
    most = current_app.config["TEXTS_PER_ARCHIVE"]
    if not count:
        return _("No text was approved in this period.")
    if count > most:
        return _("%(count)d texts were approved in this period; an archive holds at most "
                 "%(most)d. Choose a shorter period.", count=count, most=most)
    spool = tempfile.SpooledTemporaryFile(max_size=ARCHIVE_IN_MEMORY)  # noqa: SIM115
    exports.write_archive(queries.approved_texts(whose, start, end), spool)
    spool.seek(0)
    name = f"{stem}-{form.start.data.isoformat()}-{form.end.data.isoformat()}.zip"
    return uploads.inert(send_file(spool, mimetype="application/zip", as_attachment=True,
                                   download_name=name))


def _estimate(order: Order):
    """A draft's price as it would be if submitted now (submitted orders keep theirs)."""
    if order.price_total is not None:
        return order.price_total
    return price_quote(order.tier, order.words_max, order.deadline).total


# --- the order page -----------------------------------------------------------------------


def _detail_page(order: Order, *, revision_form=None, approve_form=None, message_form=None,
                 pass_form=None, return_form=None, last_visit=None, before_id: int | None = None,
                 status: int = 200):
    deliveries = queries.deliveries(order, current_user)
    events = queries.timeline(order)  # the timeline, and the conversation's events
    latest = deliveries[-1] if deliveries else None
    may_revise = policies.can_request_revision(current_user, order)
    may_approve = policies.can(current_user, order, "approve")
    review = None
    if latest is not None and order.status is OrderStatus.DELIVERED and (may_revise
                                                                         or may_approve):
        review = {
            "delivery": latest,
            "html": text.render_markdown(latest.text),  # its keywords: the report's
            "in_range": order.words_min <= latest.word_count <= order.words_max,
        }
    editorial = None
    if latest is not None and order.status is OrderStatus.IN_REVIEW \
            and policies.can_review(current_user, order):
        editorial = {"delivery": latest, "html": text.render_markdown(latest.text),
                     "pass_form": pass_form or PassReviewForm(formdata=None),
                     "return_form": return_form or ReturnToWriterForm(formdata=None)}
    return render_template(
        "orders/detail.html",
        order=order,
        editorial=editorial,
        private_notes=PRIVATE_NOTES if current_user.is_client else (),
        awaiting=_awaiting_payment(order),
        deliveries=deliveries,
        review=review,
        shown=_shown_text(order, latest) if review is None else None,
        sample=_sample_choices(order),
        report=report_for(order, latest) if latest is not None else None,
        export_labels=EXPORT_LABELS,
        may_revise=may_revise,
        may_approve=may_approve,
        events=events,
        timeline_labels=TIMELINE_LABELS,
        attachments=order.attachments,
        estimate=_estimate(order) if order.status is OrderStatus.DRAFT else None,
        submit_form=SubmitOrderForm(formdata=None, version=order.version),
        again_form=BackForm(formdata=None),
        template_form=SaveTemplateForm(formdata=None),
        cancel_form=CancelForm(formdata=None),
        revision_form=revision_form or RevisionForm(formdata=None),
        approve_form=approve_form or ApproveForm(formdata=None),
        upload_form=UploadForm(formdata=None, back="detail"),
        remove_form=BackForm(formdata=None, back="detail"),
        accepted=uploads.ACCEPTED_EXTENSIONS,
        conversation=conversations.conversation_for(order, current_user, last_visit=last_visit,
                                      form=message_form, events=events, before_id=before_id),
    ), status


def report_for(order: Order, delivery: Delivery) -> dict:
    """The compliance report of `delivery` as the current reader may see it, its originality
    included (sources named only to who may see them)."""
    stored = report_of(order, delivery)
    shown = for_display(stored)
    shown["originality"] = originality.for_display(stored.get("originality"), delivery.text,
                                                   order, current_user)
    return shown


def _shown_text(order: Order, latest: Delivery | None) -> dict | None:
    """The text shown on the page itself, when the review form does not show it: the approved
    text, or the delivery waiting for the client's review (to its writer and the managers).
    An approved text comes with its downloads and what the copy buttons copy."""
    if latest is None or order.status not in (OrderStatus.DELIVERED, OrderStatus.APPROVED):
        return None
    shown = {"delivery": latest, "html": text.render_markdown(latest.text),
             "approved": order.status is OrderStatus.APPROVED,
             "exports": policies.can_export(current_user, order)}
    if shown["exports"]:
        shown["plain"] = exports.to_text(latest.text, order.title).decode()
        shown["fragment"] = exports.html_fragment(latest.text)
    return shown


def _sample_choices(order: Order) -> dict | None:
    """The approved text as a sample on the landing page: the client's consent form, or the
    manager's show/remove button (portal/orders/showcase.py has the rules)."""
    if order.status is not OrderStatus.APPROVED:
        return None
    if showcase.can_consent(current_user, order):
        return {"consent_form": SampleConsentForm(formdata=None,
                                                  consent=order.sample_consent)}
    if current_user.role is Role.MANAGER:
        may_show = showcase.can_showcase(current_user, order)
        return {"showcase_form": ShowcaseForm(
            formdata=None, shown="0" if order.showcased_at else "1") if may_show else None}
    return None


def _awaiting_payment(order: Order) -> dict | None:
    """For an order waiting for payment, what its client must add (one statement, only
    then)."""
    if order.status is not OrderStatus.AWAITING_PAYMENT or current_user.is_writer:
        return None
    from portal.billing.models import Company
    from portal.billing.payments import amount_to_add

    company = db.session.get(Company, order.company_id)
    return {"company": company, "missing": amount_to_add(company, order.price_total or 0)}


@bp.get("/<int:order_id>")
@login_required
def detail(order_id: int):
    # One statement reads the order with the reader's read marker and whether a notification
    # about it is unread. The visit writes only what it changes, and commits that before the
    # page renders: a template never holds the database's write lock (SQLite's is the whole
    # database's), and a visit with nothing new writes nothing.
    order, (unread, last_read_at, bell) = queries.get_order_page(
        current_user, order_id, *conversations.marker_columns(current_user, order_id),
        notifications.unread_about_order(current_user, order_id))
    marker = conversations.Marker(unread=unread, last_read_at=last_read_at)
    # The visit before marks what is new in the conversation.
    last_visit = conversations.visit(current_user, order, marker)
    if bell:
        notifications.mark_order_read(current_user, order.id)
    # Someone outside the conversation (an editor, an offered writer) has no marker to move.
    if bell or (marker.must_move and conversation_policies.takes_part(current_user, order)):
        commit_keeping_loaded()
    return _detail_page(order, last_visit=last_visit,
                        before_id=db_int(request.args.get("before")))


@bp.post("/<int:order_id>/cancel")
@login_required
def cancel(order_id: int):
    order = queries.get_order_for(current_user, order_id)
    form = CancelForm()
    if not form.validate_on_submit():
        flash(" ".join(str(e) for e in [*form.reason.errors, *form.charge.errors])
              or _("The order could not be cancelled."), "danger")
        return redirect(url_for("orders.detail", order_id=order_id))
    with service_call() as call:
        service.cancel(order, current_user, form.reason.data or "", form.charge.data or 0)
    if call.ok:
        flash(_("The order %(ref)s is cancelled.", ref=order.reference), "info")
    return redirect(url_for("orders.detail", order_id=order_id))


@bp.post("/<int:order_id>/messages")
@login_required
def post_message(order_id: int):
    # A form of the order page, drawn again with its errors when refused.
    order = conversations.conversation_order(current_user, order_id)
    form = MessageForm()
    if form.validate_on_submit():
        try:
            message = message_service.post_message(
                order, current_user, form.body.data, internal=form.internal.data,
                files=form.uploads())
        except DomainError as error:
            db.session.rollback()
            if not conversation_policies.takes_part(current_user, order):  # taken off meanwhile
                flash(error.message, "danger")
                return redirect(url_for("main.home"))
            form_error(form, error)
        else:
            message_id, internal = message.id, message.internal
            stored = message_service.stored_names(message)
            try:
                db.session.commit()
            except Exception:
                db.session.rollback()
                for name in stored:
                    uploads.discard_file(name)
                raise
            flash(_("Your internal note is saved: only the agency's team sees it.") if internal
                  else _("Your message is sent."), "success")
            return redirect(url_for("orders.detail", order_id=order_id,
                                    _anchor=f"message-{message_id}"))
    return _detail_page(order, message_form=form, status=422)


@bp.post("/<int:order_id>/revision")
@login_required
def request_revision(order_id: int):
    order = queries.get_order_for(current_user, order_id)
    form = RevisionForm()
    if submitted(form, lambda: service.request_revision(order, current_user, form.reason.data)).ok:
        flash(_("Your request is sent to the writer."), "success")
        return redirect(url_for("orders.detail", order_id=order_id))
    return _detail_page(order, revision_form=form, status=422)


@bp.post("/<int:order_id>/approve")
@login_required
def approve(order_id: int):
    order = queries.get_order_for(current_user, order_id)
    form = ApproveForm()
    call = submitted(form, lambda: service.approve(order, current_user, form.rating.data,
                                                   form.comment.data or ""))
    if call.ok:
        flash(_("Thank you: the text is approved."), "success")
        return redirect(url_for("orders.detail", order_id=order_id))
    return _detail_page(order, approve_form=form, status=422)


@bp.post("/<int:order_id>/sample")
@role_required(Role.CLIENT)
def sample_consent(order_id: int):
    order = queries.get_order_for(current_user, order_id)
    if order.client_id != current_user.id:
        abort(404)
    form = SampleConsentForm()
    if not form.validate_on_submit():
        flash(_("Your choice could not be saved."), "danger")
        return redirect(url_for("orders.detail", order_id=order_id))
    with service_call() as call:
        showcase.set_sample_consent(order, current_user, bool(form.consent.data))
    if call.ok:
        flash(_("Thank you: the agency may show this text as a sample.") if form.consent.data
              else _("The agency will not show this text as a sample."), "success")
    return redirect(url_for("orders.detail", order_id=order_id))


@bp.get("/<int:order_id>/deliveries/<int:number>")
@login_required
def delivery(order_id: int, number: int):
    order = queries.get_order_for(current_user, order_id)
    # Those the person may read (a client: never one in review or returned); the one before
    # for the changes, the one after, if any, says this one is not the last.
    shown = queries.deliveries(order, current_user)
    place = next((i for i, d in enumerate(shown) if d.number == number), None)
    if place is None:
        abort(404)
    current = shown[place]
    previous = shown[place - 1] if place else None
    rows = compare.compare(previous.text, current.text) if previous else None
    exportable = place == len(shown) - 1 and policies.can_export(current_user, order)
    return render_template("orders/delivery.html", order=order, delivery=current,
                           previous=previous, html=text.render_markdown(current.text),
                           changes=compare.sections(rows) if rows is not None else None,
                           change_counts=compare.counts(rows) if rows is not None else None,
                           report=report_for(order, current),
                           export_labels=EXPORT_LABELS if exportable else None)


@bp.get("/<int:order_id>/deliveries/<int:number>/export.<fmt>")
@login_required
def export(order_id: int, number: int, fmt: str):
    if fmt not in exports.FORMATS:
        abort(404)
    order = queries.get_order_for(current_user, order_id)
    if not policies.can_export(current_user, order):
        abort(404)
    latest = queries.latest_delivery(order)
    if latest is None or latest.number != number:
        abort(404)
    body = exports.export(latest.text, order.title, fmt, order.language)
    response = current_app.response_class(body, content_type=exports.FORMATS[fmt].mimetype)
    response.headers["Content-Disposition"] = exports.content_disposition(
        order.title, fmt, fallback=order.reference)
    return uploads.inert(response)


# --- the editorial review ---------------------------------------------------------------


@bp.get("/review")
@role_required(Role.EDITOR, Role.MANAGER)
def review_queue():
    page = queries.review_queue(page_arg(request.args),
                                current_app.config["ORDERS_PER_PAGE"])
    return render_template("orders/review_queue.html", page=page)


@bp.post("/<int:order_id>/review/pass")
@role_required(Role.EDITOR, Role.MANAGER)
def pass_review(order_id: int):
    order = queries.get_order_for(current_user, order_id)
    form = PassReviewForm()
    if form.validate_on_submit():
        with service_call() as call:
            pass_to_client(order, current_user, form.note.data or "")
        if call.ok:
            flash(_("The text of %(ref)s is delivered to the client.", ref=order.reference),
                  "success")
        return redirect(url_for("orders.review_queue"))
    return _detail_page(order, pass_form=form, status=422)


@bp.post("/<int:order_id>/review/return")
@role_required(Role.EDITOR, Role.MANAGER)
def return_to_writer(order_id: int):
    order = queries.get_order_for(current_user, order_id)
    form = ReturnToWriterForm()
    if form.validate_on_submit():
        try:
            return_delivery(order, current_user, form.comments.data)
        except DomainError as error:
            db.session.rollback()
            if error.field:
                form_error(form, error)
                return _detail_page(order, return_form=form, status=422)
            flash(error.message, "danger")
            return redirect(url_for("orders.review_queue"))
        db.session.commit()
        flash(_("The text of %(ref)s is returned to its writer with your comments.",
                ref=order.reference), "success")
        return redirect(url_for("orders.review_queue"))
    return _detail_page(order, return_form=form, status=422)


# --- files --------------------------------------------------------------------------------


def _back(order: Order, form) -> str:
    if form.back.data == "edit" and policies.can_edit_brief(current_user, order):
        return url_for("orders.edit", order_id=order.id)
    return url_for("orders.detail", order_id=order.id)


@bp.post("/<int:order_id>/attachments")
@login_required
def upload(order_id: int):
    order = queries.get_order_for(current_user, order_id)
    form = UploadForm()
    if not form.validate_on_submit():
        flash(" ".join(str(e) for e in form.file.errors) or _("Choose a file."), "danger")
        return redirect(_back(order, form))
    try:
        attachment = uploads.add_attachment(order, current_user, form.file.data)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "danger")
        return redirect(_back(order, form))
    stored_name, name = attachment.stored_name, attachment.original_name
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        uploads.discard_file(stored_name)
        raise
    flash(_("“%(name)s” is attached to the order.", name=name), "success")
    return redirect(_back(order, form))


@bp.get("/<int:order_id>/attachments/<int:attachment_id>")
@login_required
def attachment(order_id: int, attachment_id: int):
    order = queries.get_order_for(current_user, order_id)
    found = db.session.get(Attachment, attachment_id)
    if found is None or found.order_id != order.id:
        abort(404)
    return uploads.download(found)


@bp.post("/<int:order_id>/attachments/<int:attachment_id>/delete")
@login_required
def delete_attachment(order_id: int, attachment_id: int):
    order = queries.get_order_for(current_user, order_id)
    found = db.session.get(Attachment, attachment_id)
    if found is None or found.order_id != order.id:
        abort(404)
    form = validated_or_400(BackForm())
    name = found.original_name
    with service_call() as call:
        stored_name = uploads.remove_attachment(order, current_user, found)
    if call.ok:
        uploads.discard_file(stored_name)
        flash(_("“%(name)s” is removed.", name=name), "info")
    return redirect(_back(order, form))
