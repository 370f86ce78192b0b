from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.exceptions import NotFound
from wtforms import SelectChoice

from portal import security_log
from portal.access import json_call
from portal.accounts.models import Role
from portal.errors import Conflict, DomainError
from portal.extensions import db, utcnow
from portal.forms import db_int, form_error, page_arg
from portal.i18n import current_language, format_local
from portal.messaging.queries import unread_counts
from portal.orders import queries, service
from portal.orders.checks import delivery_checks
from portal.orders.models import (
    STATUS_LABELS,
    WRITING_STATUSES,
    ContentType,
    Draft,
    Order,
    OrderStatus,
    Tier,
    WriterLanguage,
    writer_tiers,
)
from portal.orders.review import returned_with
from portal.orders.text import keyword_presence, render_markdown, word_count
from portal.roles import role_required
from portal.view_helpers import service_call, validated_or_400
from portal.writing.forms import ClaimForm, DeliverForm, DraftForm, PoolFilterForm, ReleaseForm

bp = Blueprint("writing", __name__, url_prefix="/work")

SOON = timedelta(hours=24)

# "My assignments": tab -> (label, statuses, order of the rows)
TABS = {
    "writing": (_l("To write"), WRITING_STATUSES, (Order.deadline.asc(), Order.id.asc())),
    "in_review": (_l("With the editor"), (OrderStatus.IN_REVIEW,),
                  (Order.updated_at.desc(), Order.id.desc())),
    "delivered": (_l("Awaiting review"), (OrderStatus.DELIVERED,),
                  (Order.delivered_at.desc(), Order.id.desc())),
    "finished": (_l("Finished"), (OrderStatus.APPROVED, OrderStatus.CANCELLED),
                 (Order.updated_at.desc(), Order.id.desc())),
}


def _common() -> dict:
    """What every page of this blueprint shows: the clock for deadlines, labels, links."""
    now = utcnow()
    return {
        "now": now,
        "soon": now + SOON,
        "status_labels": STATUS_LABELS,
        "locale": current_language(),
        "language_names": current_app.config["ORDER_LANGUAGES"],
    }


def _my_order(order_id: int) -> Order:
    """An order the current writer is (or was last) writing; 404 for everyone else."""
    order = queries.get_order_for(current_user, order_id)
    if order.writer_id != current_user.id:
        security_log.access_refused("not_assigned", order_id=order.id)
        abort(404)
    return order


# --- available work -----------------------------------------------------------------------


@bp.get("/pool")
@role_required(Role.WRITER)
def pool():
    languages = list(db.session.scalars(
        sa.select(WriterLanguage.language).where(WriterLanguage.user_id == current_user.id)
        .order_by(WriterLanguage.language)
    ))
    tiers = list(db.session.scalars(
        sa.select(Tier).join(writer_tiers, writer_tiers.c.tier_id == Tier.id)
        .where(writer_tiers.c.user_id == current_user.id).order_by(Tier.position, Tier.name)
    ))
    content_types = list(db.session.scalars(
        sa.select(ContentType).where(ContentType.active.is_(True))
        .order_by(ContentType.position, ContentType.name_fr)
    ))
    names = current_app.config["ORDER_LANGUAGES"]
    locale = current_language()
    filters = PoolFilterForm(request.args)
    filters.content_type.choices = [SelectChoice("", _("All types"))] + [
        SelectChoice(str(c.id), c.name(locale)) for c in content_types]
    filters.language.choices = [SelectChoice("", _("All my languages"))] + [
        SelectChoice(code, names.get(code, code)) for code in languages]
    filters.tier.choices = [SelectChoice("", _("All my levels"))] + [
        SelectChoice(str(t.id), t.name) for t in tiers]
    if filters.sort.data not in ("deadline", "newest"):
        filters.sort.data = "deadline"

    page = None
    if languages and tiers:
        page = queries.pool_for(
            current_user,
            queries.ListFilters(
                sort=filters.sort.data,
                language=filters.language.data if filters.language.data in languages else "",
                tier_id=db_int(filters.tier.data),
                content_type_id=db_int(filters.content_type.data),
            ),
            page=page_arg(request.args),
            per_page=current_app.config["ORDERS_PER_PAGE"],
        )
    return render_template(
        "writing/pool.html", page=page, filters=filters, my_languages=languages, my_tiers=tiers,
        claim_form=ClaimForm(), **_common(),
    )


@bp.post("/orders/<int:order_id>/claim")
@role_required(Role.WRITER)
def claim(order_id: int):
    # An order the writer may not see (not theirs, not in their pool now: another writer's,
    # offered to someone else, finished, outside their skills) answers exactly like an id that
    # does not exist: the same 404 page, before the form is even read.
    order = queries.get_order_for(current_user, order_id)
    if order.writer_id == current_user.id:
        return redirect(url_for("writing.workspace", order_id=order.id))
    validated_or_400(ClaimForm())
    with service_call(category="warning") as call:
        service.claim(order, current_user)
    if not call.ok:
        return redirect(url_for("writing.pool"))
    flash(_("The order is yours. Happy writing!"), "success")
    return redirect(url_for("writing.workspace", order_id=order.id))


# --- my assignments -----------------------------------------------------------------------


@bp.get("/assignments")
@role_required(Role.WRITER)
def assignments():
    tab = request.args.get("tab", "writing")
    if tab not in TABS:
        tab = "writing"
    _label, statuses, ordering = TABS[tab]
    by_status = queries.status_counts(Order.writer_id == current_user.id)
    counts = {name: sum(by_status[s] for s in spec[1]) for name, spec in TABS.items()}
    page = queries.writer_assignments(current_user, statuses, ordering, page_arg(request.args),
                                      current_app.config["ORDERS_PER_PAGE"], total=counts[tab])
    return render_template(
        "writing/assignments.html", page=page, tab=tab, tabs=TABS, counts=counts,
        unread=unread_counts(current_user, [order.id for order in page.items]), **_common(),
    )


# --- the workspace ------------------------------------------------------------------------


def _workspace_page(order: Order, *, form: DeliverForm | None = None, status: int = 200):
    draft = db.session.get(Draft, order.id)
    text = draft.text if draft else ""
    version = draft.version if draft else 0
    if form is None:
        form = DeliverForm(formdata=None, text=text, base_version=version)
    events = queries.timeline(order)
    revision = next((e for e in reversed(events) if e.action == "request_revision"), None)
    shown = form.text.data if isinstance(form.text.data, str) else text
    return render_template(
        "writing/workspace.html",
        order=order,
        draft=draft,
        form=form,
        release_form=ReleaseForm(formdata=None),
        editable=order.writer_id == current_user.id and order.status in WRITING_STATUSES,
        can_release=order.status is OrderStatus.IN_PROGRESS,
        revision=revision,
        editor_return=returned_with(order, events),
        deliveries=queries.deliveries(order),
        unsaved=shown != text,
        words=word_count(shown),
        keywords=keyword_presence(shown, order.keyword_list()),
        checks=delivery_checks(order, shown),
        markdown=render_markdown,
        preview=render_markdown(shown),
        **_common(),
    ), status


@bp.get("/orders/<int:order_id>")
@role_required(Role.WRITER)
def workspace(order_id: int):
    return _workspace_page(_my_order(order_id))


def _json_error(status: int, reason: str, message: str, **extra):
    return jsonify(ok=False, reason=reason, error=message, **extra), status


@bp.post("/orders/<int:order_id>/draft")
def save_draft(order_id: int):
    """The editor's autosave (JSON); also the "Save" button of the page without JavaScript.
    It never answers a JSON call with a redirect to the login page: the page keeps the text."""
    wants_json = json_call()
    if not current_user.is_authenticated:
        if wants_json:
            return _json_error(401, "session_expired", _(
                "Your session has expired: log in again in another tab; your text is kept here."))
        return current_app.login_manager.unauthorized()
    if wants_json and not isinstance(request.get_json(silent=True), dict):
        return _json_error(400, "bad_request", _("The text could not be read. Try again."))
    try:
        if current_user.role is not Role.WRITER:
            abort(404)
        order = _my_order(order_id)
    except NotFound:
        if wants_json:
            return _json_error(404, "not_found", _("This order is not yours to write."))
        raise
    form = DraftForm()
    if not form.validate() or not form.has_text():
        message = next(iter(form.text.errors + form.base_version.errors), None) or _(
            "The text could not be read. Try again.")
        if wants_json:
            return _json_error(400, "bad_request", message)
        form_error(form, Conflict(message))
        return _workspace_page(order, form=_as_deliver_form(form), status=422)
    try:
        draft = service.save_draft(order, current_user, form.text.data,
                                   base_version=form.base_version.data)
    except DomainError as error:
        db.session.rollback()
        if wants_json:
            current = db.session.get(Draft, order_id)
            return _json_error(409, "conflict", error.message,
                               version=current.version if current else 0)
        form_error(form, error)
        return _workspace_page(order, form=_as_deliver_form(form), status=409)
    db.session.commit()
    saved = _("Saved at %(time)s", time=format_local(utcnow(), "time"))
    if wants_json:
        return jsonify(ok=True, version=draft.version, message=saved,
                       word_count=word_count(draft.text),
                       checks=delivery_checks(order, draft.text).as_dict(),
                       # What the client will read, through the same pipeline as their page.
                       preview_html=str(render_markdown(draft.text)))
    flash(saved, "success")
    return redirect(url_for("writing.workspace", order_id=order.id))


def _as_deliver_form(form: DraftForm) -> DeliverForm:
    """The page's form holding what the writer sent (so a refused save loses nothing)."""
    page_form = DeliverForm(formdata=None, text=form.text.data, base_version=form.base_version.data)
    page_form.form_errors = form.form_errors
    return page_form


@bp.post("/orders/<int:order_id>/deliver")
@role_required(Role.WRITER)
def deliver(order_id: int):
    order = _my_order(order_id)
    form = DeliverForm()
    if form.validate_on_submit() and form.has_text():
        with service_call(form) as call:
            service.save_draft(order, current_user, form.text.data,
                               base_version=form.base_version.data)
            delivery = service.deliver(order, current_user, form.note.data or "")
        if call.ok:
            if order.status is OrderStatus.IN_REVIEW:
                flash(_("Version %(number)d is sent to the agency's editor, who reads it "
                        "before the client.", number=delivery.number), "success")
            else:
                flash(_("Version %(number)d is delivered to the client.",
                        number=delivery.number), "success")
            return redirect(url_for("writing.workspace", order_id=order.id))
    elif not form.errors:
        form.form_errors.append(_("The text could not be read. Try again."))
    return _workspace_page(order, form=form, status=422)


@bp.post("/orders/<int:order_id>/release")
@role_required(Role.WRITER, Role.MANAGER)
def release(order_id: int):
    order = (_my_order(order_id) if current_user.role is Role.WRITER
             else queries.get_order_for(current_user, order_id))
    form = ReleaseForm()
    back = (url_for("writing.workspace", order_id=order.id)
            if order.writer_id == current_user.id else url_for("orders.detail", order_id=order.id))
    if not form.validate_on_submit():
        for message in form.reason.errors:
            flash(message, "danger")
        return redirect(back)
    with service_call() as call:
        service.release(order, current_user, form.reason.data)
    if not call.ok:
        return redirect(back)
    flash(_("The order is back in the pool."), "success")
    if current_user.role is Role.WRITER:
        return redirect(url_for("writing.assignments"))
    return redirect(url_for("orders.detail", order_id=order.id))
