"""Briefs kept to start new ones from, and "order again".

A client keeps their own templates (saved from one of their orders, seen by them only); managers
write the agency's, one content type each, and publish them to every client. A template holds
the brief without its deadline, files, price or writer. "Order again" copies an order's brief
into a new draft of the same client through `service.create_draft`, so the draft counts and the
rules of a brief are the usual ones.

A content type or a tier withdrawn since the brief was written is not carried over: the first
one still offered takes its place, and the caller is told (`Start.replaced`).

Functions add and flush; the request commits once. Refusals raise Conflict (naming the field)
or NotAllowed with a translated message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import NotFound

from portal.accounts.models import Role, User
from portal.errors import Conflict, NotAllowed
from portal.extensions import db, utcnow
from portal.i18n import current_language
from portal.orders import service
from portal.orders.models import BriefTemplate, ContentType, Order, OrderStatus, Tier

NAME_MAX = 120
MAX_PER_CLIENT = 50
# The deadline of a brief started from a template or an older order, unless its tier needs more.
DEFAULT_LEAD = timedelta(days=7)

BRIEF_FIELDS = ("title", "content_type_id", "language", "words_min", "words_max", "tier_id",
                "tone", "audience", "primary_keyword", "secondary_keywords",
                "links_to_include", "reference_urls", "instructions")


@dataclass(kw_only=True)
class TemplateValues(service.BriefFields):
    """An agency template as the manager's form shapes it."""

    name: str
    title: str = ""
    tier_id: int | None = None
    published: bool = False


@dataclass
class Start:
    """What a new brief starts with: the brief's values (stored form: lists as lines) and
    what had to be replaced because it is no longer offered (translated sentences)."""

    values: dict
    replaced: list[str] = field(default_factory=list)


# --- reading --------------------------------------------------------------------------------


def get_template_for(user: User, template_id: int) -> BriefTemplate:
    """The template `user` may use: a client's own, or a published agency template of a
    content type still offered; for a manager, an agency template. Anything else is a 404,
    as if it did not exist."""
    template = db.session.get(BriefTemplate, template_id)
    if template is None:
        raise NotFound()
    if user.role is Role.MANAGER:
        if template.owner_id is None:
            return template
    elif user.role is Role.CLIENT:
        if template.owner_id == user.id:
            return template
        if template.owner_id is None and template.published and template.content_type.active:
            return template
    raise NotFound()


def client_templates(client: User) -> list[BriefTemplate]:
    """A client's own templates by name, with their content types (two statements)."""
    return list(db.session.scalars(
        sa.select(BriefTemplate).where(BriefTemplate.owner_id == client.id)
        .order_by(BriefTemplate.name, BriefTemplate.id)
        .options(selectinload(BriefTemplate.content_type))))


def offered_templates(client: User) -> tuple[list[BriefTemplate], list[BriefTemplate]]:
    """What the new-brief page offers: the client's own templates, and the published agency
    templates of the content types still offered (by content type, then name). Two
    statements, however many there are."""
    rows = db.session.scalars(
        sa.select(BriefTemplate)
        .join(ContentType, ContentType.id == BriefTemplate.content_type_id)
        .where(sa.or_(BriefTemplate.owner_id == client.id,
                      sa.and_(BriefTemplate.owner_id.is_(None),
                              BriefTemplate.published.is_(True),
                              ContentType.active.is_(True))))
        .order_by(ContentType.position, ContentType.id, BriefTemplate.name, BriefTemplate.id)
        .options(selectinload(BriefTemplate.content_type))).all()
    own = sorted((t for t in rows if t.owner_id == client.id), key=lambda t: (t.name, t.id))
    return own, [t for t in rows if t.owner_id is None]


def agency_templates() -> list[BriefTemplate]:
    """Every agency template, by content type then name, with its content type and tier."""
    return list(db.session.scalars(
        sa.select(BriefTemplate)
        .join(ContentType, ContentType.id == BriefTemplate.content_type_id)
        .where(BriefTemplate.owner_id.is_(None))
        .order_by(ContentType.position, ContentType.id, BriefTemplate.name, BriefTemplate.id)
        .options(selectinload(BriefTemplate.content_type), selectinload(BriefTemplate.tier))))


# --- starting a brief -------------------------------------------------------------------------


def _first_active(model, order_by) -> int | None:
    return db.session.scalar(sa.select(model.id).where(model.active.is_(True))
                             .order_by(*order_by).limit(1))


def start_from(source: Order | BriefTemplate) -> Start:
    """The brief values to start from `source`, what is no longer offered replaced by the
    first choice still offered (content type, tier, language) and the word range brought
    within the configured limits."""
    values = {name: getattr(source, name) for name in BRIEF_FIELDS}
    replaced: list[str] = []
    content_type = source.content_type
    if content_type is None or not content_type.active:
        values["content_type_id"] = _first_active(ContentType, (ContentType.position,
                                                                ContentType.id))
        replaced.append(_("The type of content “%(name)s” is no longer offered: choose "
                          "another one.", name=content_type.name(current_language()) if content_type
                          else ""))
    tier = source.tier
    if tier is None or not tier.active:
        values["tier_id"] = _first_active(Tier, (Tier.position, Tier.id))
        if tier is not None:
            replaced.append(_("The quality level “%(name)s” is no longer offered: choose "
                              "another one.", name=tier.name))
    languages = current_app.config["ORDER_LANGUAGES"]
    if values["language"] not in languages:
        values["language"] = next(iter(languages))
        replaced.append(_("The language of the text is no longer offered: choose another one."))
    low, high = current_app.config["WORDS_MIN"], current_app.config["WORDS_MAX"]
    values["words_min"] = min(max(values["words_min"], low), high)
    values["words_max"] = min(max(values["words_max"], values["words_min"]), high)
    return Start(values, replaced)


def default_deadline(tier_id: int | None, now=None):
    """A week from now on the hour, or later when the tier needs more lead time."""
    now = (now or utcnow()).replace(minute=0, second=0, microsecond=0)
    tier = db.session.get(Tier, tier_id) if tier_id is not None else None
    if tier is None:
        return now + DEFAULT_LEAD
    return now + max(DEFAULT_LEAD, timedelta(hours=tier.min_lead_hours + 1))


def order_again(client: User, order: Order) -> tuple[Order, list[str]]:
    """Copy the brief of `order` (one of `client`'s, past the draft) into a new draft of the
    same client, with a new deadline (a week away, or the tier's lead time) and none of the
    files, price, status or writer. Returns the draft and what had to be replaced. Raises
    NotAllowed for anyone else's order, Conflict for a draft (edit it instead) or when nothing
    is offered to replace a withdrawn choice."""
    if order.client_id != client.id:
        raise NotAllowed(_("Only the client of an order can order it again."))
    if order.status is OrderStatus.DRAFT:
        raise Conflict(_("This order is still a draft: edit it instead."))
    start = start_from(order)
    draft = service.create_draft(client, _brief(start))
    return draft, start.replaced


def _brief(start: Start) -> service.Brief:
    values = start.values
    if values["content_type_id"] is None:
        raise Conflict(_("No type of content is offered at the moment: the agency will "
                         "add one soon."), field="content_type_id")
    if values["tier_id"] is None:
        raise Conflict(_("No quality level is offered at the moment: the agency will add one "
                         "soon."), field="tier_id")
    lists = {name: values[name].splitlines() for name in service.BRIEF_LISTS}
    return service.Brief(**(values | lists), deadline=default_deadline(values["tier_id"]))


# --- a client's templates ---------------------------------------------------------------------


def _check_name(name: str, owner_id: int | None, template: BriefTemplate | None) -> str:
    name = " ".join(name.split())
    if not name:
        raise Conflict(_("Give the template a name."), field="name")
    if len(name) > NAME_MAX:
        raise Conflict(_("A name has at most %(max)d characters.", max=NAME_MAX), field="name")
    owner = BriefTemplate.owner_id.is_(None) if owner_id is None \
        else BriefTemplate.owner_id == owner_id
    taken = db.session.scalar(sa.select(BriefTemplate.id).where(
        owner, sa.func.lower(BriefTemplate.name) == name.lower(),
        BriefTemplate.id != (template.id if template else -1)))
    if taken is not None:
        raise Conflict(_("A template named “%(name)s” already exists: choose another name.",
                         name=name), field="name")
    return name


def _flush_unique(name: str) -> None:
    # The check above gives the message; this catches the same name saved at the same moment.
    # (the request rolls back on the error).
    try:
        db.session.flush()
    except IntegrityError:
        raise Conflict(_("A template named “%(name)s” already exists: choose another name.",
                         name=name), field="name") from None


def save_from_order(client: User, order: Order, name: str) -> BriefTemplate:
    """Keep the brief of one of `client`'s orders as a template of theirs named `name`.
    Names are unique per client (whatever the case), at most NAME_MAX characters; a client
    keeps at most MAX_PER_CLIENT templates. Raises NotAllowed for anyone else's order,
    Conflict naming the field otherwise."""
    if client.role is not Role.CLIENT or order.client_id != client.id:
        raise NotAllowed(_("Only the client of an order can keep its brief as a template."))
    name = _check_name(name, client.id, None)
    count = db.session.scalar(sa.select(sa.func.count()).select_from(BriefTemplate)
                              .where(BriefTemplate.owner_id == client.id))
    if count >= MAX_PER_CLIENT:
        raise Conflict(_("You keep %(max)d templates at most: delete one you no longer use "
                         "first.", max=MAX_PER_CLIENT), field="name")
    template = BriefTemplate(owner_id=client.id, name=name, published=False,
                             **{f: getattr(order, f) for f in BRIEF_FIELDS})
    db.session.add(template)
    _flush_unique(name)
    return template


def delete_template(actor: User, template: BriefTemplate) -> None:
    """Delete a template: a client their own, a manager the agency's. Orders started from it
    keep their brief. Raises NotAllowed for anyone else."""
    own = actor.role is Role.CLIENT and template.owner_id == actor.id
    agency = actor.role is Role.MANAGER and template.owner_id is None
    if not (own or agency) or not actor.active:
        raise NotAllowed(_("This template is not yours to delete."))
    db.session.delete(template)
    db.session.flush()


# --- the agency's templates -------------------------------------------------------------------


def _check_values(values: TemplateValues, template: BriefTemplate | None) -> str:
    name = _check_name(values.name, None, template)
    if db.session.get(ContentType, values.content_type_id) is None:
        raise Conflict(_("Choose a type of content from the list."), field="content_type_id")
    if values.tier_id is not None and db.session.get(Tier, values.tier_id) is None:
        raise Conflict(_("Choose a quality level from the list."), field="tier_id")
    service.check_language_and_words(values)
    return name


def _write(template: BriefTemplate, values: TemplateValues, name: str) -> None:
    template.name = name
    service.write_brief_fields(template, values)
    template.published = values.published


def create_agency_template(manager: User, values: TemplateValues) -> BriefTemplate:
    """Add an agency template (published or not). Names are unique among the agency's
    templates (whatever the case). Raises Conflict naming the field at fault, NotAllowed for
    anyone but an active manager."""
    service.require_manager(manager)
    name = _check_values(values, None)
    template = BriefTemplate(owner_id=None)
    _write(template, values, name)
    db.session.add(template)
    _flush_unique(name)
    return template


def set_published(manager: User, template: BriefTemplate, published: bool) -> None:
    """Publish an agency template to every client, or withdraw it (orders started from it keep
    their brief). Raises NotAllowed for anyone but an active manager, or a client's template."""
    service.require_manager(manager)
    if template.owner_id is not None:
        raise NotAllowed(_("A client's template is theirs alone."))
    template.published = published
    db.session.flush()


def update_agency_template(manager: User, template: BriefTemplate,
                           values: TemplateValues) -> None:
    """Change an agency template (publishing or withdrawing it too); the rules of
    create_agency_template."""
    service.require_manager(manager)
    if template.owner_id is not None:
        raise NotAllowed(_("A client's template is theirs alone."))
    name = _check_values(values, template)
    _write(template, values, name)
    _flush_unique(name)
