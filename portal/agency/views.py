from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from babel.numbers import get_currency_symbol
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
from wtforms import SelectChoice

from portal.accounts.models import Role, User
from portal.agency import service
from portal.agency.forms import (
    WRITER_SUGGESTIONS,
    AssignForm,
    ContentTypeForm,
    DashboardFilterForm,
    ExtendDeadlineForm,
    GrantRevisionForm,
    ReferenceTextsForm,
    TierForm,
    WriterSkillsForm,
)
from portal.extensions import db
from portal.forms import ActionForm, page_arg
from portal.i18n import current_language, format_local, to_local, to_utc
from portal.messaging.queries import unread_counts
from portal.orders import brief_templates as templates_service
from portal.orders import policies, queries
from portal.orders import service as orders_service
from portal.orders import showcase as showcase_service
from portal.orders.forms import BriefTemplateForm, PublishTemplateForm, ShowcaseForm
from portal.orders.models import (
    STATUS_LABELS,
    ContentType,
    Order,
    OrderStatus,
    Tier,
)
from portal.roles import role_required
from portal.view_helpers import (
    render_form,
    service_call,
    submitted,
    validate_or_flash,
    validated_or_400,
)

bp = Blueprint("agency", __name__, url_prefix="/agency")

# The dashboard's side table: the busiest writers; the rest are a link away.
LOAD_SHOWN = 15


def order_url(order_id: int) -> str:
    return url_for("orders.detail", order_id=order_id)


def _currency() -> dict:
    currency = current_app.config["AGENCY_CURRENCY"]
    return {"currency": currency,
            "currency_symbol": get_currency_symbol(currency, locale=current_language())}


def _tiers() -> list[Tier]:
    return list(db.session.scalars(sa.select(Tier).order_by(Tier.position, Tier.name)))


def _filter_choices(locale: str) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The tiers and the content types as (id, name) pairs for the dashboard's filters, each in
    the order of its own page: one statement for both small tables."""
    kind = sa.literal_column("0").label("kind")
    tiers = sa.select(kind, Tier.id, Tier.name.label("name"), Tier.position,
                      Tier.name.label("sort_name"))
    name = ContentType.name_fr if locale == "fr" else ContentType.name_en
    content_types = sa.select(sa.literal_column("1"), ContentType.id, name,
                              ContentType.position, ContentType.name_fr)
    rows = db.session.execute(sa.union_all(tiers, content_types).order_by(
        sa.literal_column("kind"), sa.literal_column("position"), sa.literal_column("sort_name"),
    )).all()
    return ([(row.id, row.name) for row in rows if row.kind == 0],
            [(row.id, row.name) for row in rows if row.kind == 1])


# --- all orders ---------------------------------------------------------------------------


@bp.get("/orders")
@role_required(Role.MANAGER)
def dashboard():
    form = DashboardFilterForm(request.args)
    load = queries.writer_load(max(LOAD_SHOWN, WRITER_SUGGESTIONS), form.linked, form.search)
    form.set_choices(load, *_filter_choices(current_language()))
    filters = form.filters()
    counts, overdue = queries.agency_counts()
    counts[OrderStatus.DRAFT] = 0  # clients' drafts are not the agency's orders
    page = queries.all_orders(filters, page_arg(request.args),
                              current_app.config["ORDERS_PER_PAGE"],
                              total=queries.known_total(filters, counts))
    kept = {name: value for name, value in (
        ("q", filters.q), ("status", filters.status), ("writer_id", filters.writer_id),
        ("tier_id", filters.tier_id), ("content_type_id", filters.content_type_id),
        ("language", filters.language), ("sort", filters.sort),
        ("overdue", 1 if filters.overdue else None),
    ) if value}
    return render_template(
        "agency/dashboard.html",
        form=form,
        filters=filters,
        kept=kept,
        page=page,
        counts=[(status, STATUS_LABELS[status], counts[status]) for status in OrderStatus
                if status is not OrderStatus.DRAFT],
        total=sum(count for status, count in counts.items() if status is not OrderStatus.DRAFT),
        overdue=overdue,
        load=load.busiest[:LOAD_SHOWN],
        more_busy=max(0, load.busy - LOAD_SHOWN),
        idle=load.writers - load.busy,
        status_labels=STATUS_LABELS,
        unread=unread_counts(current_user, [order.id for order in page.items]),
    )


# --- tiers --------------------------------------------------------------------------------


@bp.get("/tiers")
@role_required(Role.MANAGER)
def tiers():
    return render_template("agency/tiers.html", tiers=_tiers(), **_currency())


@bp.route("/tiers/new", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def new_tier():
    form = TierForm()
    call = submitted(form, lambda: service.create_tier(current_user, form.values()))
    if call.ok:
        flash(_("The tier “%(name)s” is created.", name=call.result.name), "success")
        return redirect(url_for("agency.tiers"))
    return render_form("agency/tier_form.html", form=form, tier=None, **_currency())


@bp.route("/tiers/<int:tier_id>/edit", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def edit_tier(tier_id: int):
    tier = db.get_or_404(Tier, tier_id)
    form = TierForm()
    if request.method == "GET":
        form.fill_from(tier)
    if submitted(form, lambda: service.update_tier(current_user, tier, form.values())).ok:
        flash(_("The tier “%(name)s” is saved. Orders already placed keep their price.",
                name=tier.name), "success")
        return redirect(url_for("agency.tiers"))
    return render_form("agency/tier_form.html", form=form, tier=tier, **_currency())


# --- content types ------------------------------------------------------------------------


@bp.get("/content-types")
@role_required(Role.MANAGER)
def content_types():
    found = db.session.scalars(
        sa.select(ContentType).order_by(ContentType.position, ContentType.name_fr)).all()
    return render_template("agency/content_types.html", content_types=found)


@bp.route("/content-types/new", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def new_content_type():
    form = ContentTypeForm()
    call = submitted(form, lambda: service.create_content_type(current_user, form.values()))
    if call.ok:
        flash(_("The content type “%(name)s” is created.",
                name=call.result.name(current_language())), "success")
        return redirect(url_for("agency.content_types"))
    return render_form("agency/content_type_form.html", form=form, content_type=None)


@bp.route("/content-types/<int:content_type_id>/edit", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def edit_content_type(content_type_id: int):
    kind = db.get_or_404(ContentType, content_type_id)
    form = ContentTypeForm(obj=kind) if request.method == "GET" else ContentTypeForm()
    if submitted(form, lambda: service.update_content_type(current_user, kind, form.values())).ok:
        flash(_("The content type “%(name)s” is saved.", name=kind.name(current_language())),
              "success")
        return redirect(url_for("agency.content_types"))
    return render_form("agency/content_type_form.html", form=form, content_type=kind)


# --- the agency's brief templates ---------------------------------------------------------


@bp.get("/templates")
@role_required(Role.MANAGER)
def brief_templates():
    return render_template("agency/brief_templates.html",
                           templates=templates_service.agency_templates(),
                           delete_form=ActionForm(formdata=None),
                           publish_form=PublishTemplateForm(formdata=None))


@bp.route("/templates/new", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def new_brief_template():
    form = BriefTemplateForm()
    if request.method == "GET":
        form.language.data = next(iter(current_app.config["ORDER_LANGUAGES"]))
        form.words_min.data, form.words_max.data = 600, 800
    call = submitted(form, lambda: templates_service.create_agency_template(current_user,
                                                                            form.values()))
    if call.ok:
        flash(_("The template “%(name)s” is created.", name=call.result.name), "success")
        return redirect(url_for("agency.brief_templates"))
    return render_form("agency/brief_template_form.html", form=form, template=None)


@bp.route("/templates/<int:agency_template_id>/edit", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def edit_brief_template(agency_template_id: int):
    template = templates_service.get_template_for(current_user, agency_template_id)
    form = BriefTemplateForm()
    if request.method == "GET":
        form.fill_from(template)
    call = submitted(form, lambda: templates_service.update_agency_template(
        current_user, template, form.values()))
    if call.ok:
        flash(_("The template “%(name)s” is saved.", name=template.name), "success")
        return redirect(url_for("agency.brief_templates"))
    return render_form("agency/brief_template_form.html", form=form, template=template)


@bp.post("/templates/<int:agency_template_id>/publish")
@role_required(Role.MANAGER)
def publish_brief_template(agency_template_id: int):
    template = templates_service.get_template_for(current_user, agency_template_id)
    form = validated_or_400(PublishTemplateForm())
    with service_call() as call:
        templates_service.set_published(current_user, template, form.wants_published())
    if call.ok:
        if template.published:
            flash(_("The template “%(name)s” is published: clients see it.",
                    name=template.name), "success")
        else:
            flash(_("The template “%(name)s” is withdrawn: clients no longer see it.",
                    name=template.name), "info")
    return redirect(url_for("agency.brief_templates"))


@bp.post("/templates/<int:agency_template_id>/delete")
@role_required(Role.MANAGER)
def delete_brief_template(agency_template_id: int):
    template = templates_service.get_template_for(current_user, agency_template_id)
    validated_or_400(ActionForm())
    name = template.name
    with service_call() as call:
        templates_service.delete_template(current_user, template)
    if call.ok:
        flash(_("The template “%(name)s” is deleted.", name=name), "info")
    return redirect(url_for("agency.brief_templates"))


# --- writers' skills ----------------------------------------------------------------------


@bp.route("/writers/<int:user_id>", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def writer_skills(user_id: int):
    writer = db.session.get(User, user_id)
    if writer is None or writer.role is not Role.WRITER:
        abort(404)
    tiers = _tiers()
    form = WriterSkillsForm()
    form.languages.choices = [SelectChoice(code, name) for code, name
                             in current_app.config["ORDER_LANGUAGES"].items()]
    form.tiers.choices = [SelectChoice(tier.id, tier.name) for tier in tiers]
    if request.method == "GET":
        skills = service.skills_of(writer)
        form.languages.data = sorted(skills.languages)
        form.tiers.data = sorted(skills.tier_ids)
    call = submitted(form, lambda: service.set_writer_skills(
        current_user, writer, form.languages.data or [], form.tiers.data or []))
    if call.ok:
        flash(_("%(name)s's languages and tiers are saved.", name=writer.display_name), "success")
        return redirect(url_for("agency.writer_skills", user_id=writer.id))
    return render_form("agency/writer_skills.html", form=form, writer=writer,
                       tiers={tier.id: tier for tier in tiers})


# --- manager tools on an order ------------------------------------------------------------


def order_tools(order: Order) -> dict:
    """What templates/agency/_order_tools.html shows for `order` to the current manager."""
    if not current_user.is_authenticated or current_user.role is not Role.MANAGER:
        return {"visible": False}
    zone = current_user.timezone
    assign_action = next((action for action in ("assign", "reassign")
                          if policies.can(current_user, order, action)), None)
    assign_form = None
    if assign_action:
        assign_form = AssignForm(formdata=None, prefix=AssignForm.PREFIX)
        assign_form.writer.suggestions = queries.least_busy_writers(order, WRITER_SUGGESTIONS)
    can = {action: policies.can(current_user, order, action)
           for action in ("extend_deadline", "grant_revision", "reference_texts", "cancel")}
    return {
        "visible": bool(assign_action or any(can.values())),
        "assign_action": assign_action,
        "assign_form": assign_form,
        "deadline_form": ExtendDeadlineForm(
            formdata=None, prefix=ExtendDeadlineForm.PREFIX,
            deadline=to_local(order.deadline + timedelta(days=1), zone).replace(second=0,
                                                                               microsecond=0),
        ) if can["extend_deadline"] else None,
        "revision_form": GrantRevisionForm(formdata=None, prefix=GrantRevisionForm.PREFIX)
        if can["grant_revision"] else None,
        "references_form": ReferenceTextsForm(
            formdata=None, prefix=ReferenceTextsForm.PREFIX,
            reference_texts=order.reference_texts) if can["reference_texts"] else None,
        "cancel_url": url_for("orders.cancel", order_id=order.id) if can["cancel"] else None,
        "cancel_form": ActionForm(formdata=None) if can["cancel"] else None,
        "zone": zone,
    }


@bp.app_context_processor
def order_tools_context() -> dict:
    return {"agency_order_tools": order_tools}


@bp.post("/orders/<int:order_id>/assign")
@role_required(Role.MANAGER)
def assign(order_id: int):
    order = queries.get_order_for(current_user, order_id)
    form = AssignForm(prefix=AssignForm.PREFIX)
    if validate_or_flash(form):
        writer = db.session.get(User, form.writer.writer.id)
        with service_call() as call:
            orders_service.assign(order, current_user, writer, (form.note.data or "").strip(),
                                  pass_draft=bool(form.pass_draft.data))
            # A manager may give an order to a writer outside its language or tier (the
            # suggestions offer only those within), but is told so, as the old list of writers
            # marked them.
            qualified = policies.writer_qualifies(writer, order)
        if call.ok:
            flash(_("%(ref)s is now assigned to %(name)s.", ref=order.reference,
                    name=writer.display_name), "success")
            if not qualified:
                flash(_("%(name)s does not write in this order's language or at its tier: "
                        "make sure they can write it.", name=writer.display_name), "warning")
    return redirect(order_url(order.id))


@bp.post("/orders/<int:order_id>/deadline")
@role_required(Role.MANAGER)
def extend_deadline(order_id: int):
    order = queries.get_order_for(current_user, order_id)
    form = ExtendDeadlineForm(prefix=ExtendDeadlineForm.PREFIX)
    if validate_or_flash(form):
        deadline = to_utc(form.deadline.data, current_user.timezone)
        with service_call() as call:
            orders_service.extend_deadline(order, current_user, deadline,
                                           (form.note.data or "").strip())
        if call.ok:
            flash(_("The deadline is now %(when)s.", when=format_local(deadline, "long")),
                  "success")
    return redirect(order_url(order.id))


@bp.post("/orders/<int:order_id>/showcase")
@role_required(Role.MANAGER)
def showcase(order_id: int):
    order = queries.get_order_for(current_user, order_id)
    form = ShowcaseForm()
    if validate_or_flash(form):
        shown = form.shown.data == "1"
        with service_call() as call:
            showcase_service.set_showcase(order, current_user, shown)
        if call.ok:
            flash(_("The text is on the landing page.") if shown
                  else _("The text is no longer on the landing page."), "success")
    return redirect(order_url(order.id))


@bp.post("/orders/<int:order_id>/references")
@role_required(Role.MANAGER)
def reference_texts(order_id: int):
    order = queries.get_order_for(current_user, order_id)
    form = ReferenceTextsForm(prefix=ReferenceTextsForm.PREFIX)
    if validate_or_flash(form):
        with service_call() as call:
            changed = orders_service.set_reference_texts(order, current_user,
                                                         form.reference_texts.data or "")
        if call.ok:
            flash(_("The next deliveries will be compared with these reference texts.")
                  if changed else _("The reference texts are unchanged."), "success")
    return redirect(order_url(order.id))


@bp.post("/orders/<int:order_id>/revisions")
@role_required(Role.MANAGER)
def grant_revision(order_id: int):
    order = queries.get_order_for(current_user, order_id)
    form = GrantRevisionForm(prefix=GrantRevisionForm.PREFIX)
    if validate_or_flash(form):
        with service_call() as call:
            orders_service.grant_revision(order, current_user, (form.note.data or "").strip())
        if call.ok:
            flash(_("One more revision round is granted: %(count)d in all.",
                    count=order.revisions_allowed), "success")
    return redirect(order_url(order.id))
