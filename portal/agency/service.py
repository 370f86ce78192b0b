"""Changes managers make to the catalogue: quality tiers and their prices, content types, and
the languages and tiers each writer may take.

Functions add and flush; the request commits once. A refused value raises Conflict (a
DomainError) with a message already translated, naming the field it is about.

A tier's prices are read only when an order is submitted, which freezes them on the order: a
change here never touches an order already placed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from portal.accounts.models import Role, User
from portal.errors import Conflict, NotAllowed
from portal.extensions import db
from portal.orders.models import ContentType, Tier, WriterLanguage, writer_tiers
from portal.orders.service import require_manager

MAX_REVISIONS = 10
MIN_LEAD_HOURS = 1
MAX_LEAD_HOURS = 720
# In the currency's minor unit. Times the longest order (WORDS_MAX) and the rush surcharge, a
# total stays within the database's integer columns.
MAX_PRICE_PER_WORD = 50_000


@dataclass
class TierValues:
    """A tier as the form shapes it; prices are integers of the currency's minor unit."""

    name: str
    client_price_per_word: int
    writer_pay_per_word: int
    included_revisions: int
    min_lead_hours: int
    description: str = ""
    position: int = 0
    active: bool = True
    # Deliveries of the tier's orders go to an editor first (portal/orders/review.py); read
    # at each delivery, so a change applies to the next deliveries of orders already placed.
    requires_review: bool = False


@dataclass
class ContentTypeValues:
    name_fr: str
    name_en: str
    position: int = 0
    active: bool = True


def _write(row: Tier | ContentType, values: TierValues | ContentTypeValues) -> None:
    """Copy every value onto the tier or content type, its texts (names, description) trimmed."""
    for field in fields(values):
        value = getattr(values, field.name)
        setattr(row, field.name, value.strip() if isinstance(value, str) else value)


def _flush_unique(message: str, field: str) -> None:
    # The check before the flush gives the message; this catches two managers saving the same
    # name at the same moment (the request rolls back on the error).
    try:
        db.session.flush()
    except IntegrityError:
        raise Conflict(message, field=field) from None


# --- tiers --------------------------------------------------------------------------------


def _check_tier(values: TierValues, tier: Tier | None) -> None:
    name = values.name.strip()
    if not name:
        raise Conflict(_("Give the tier a name."), field="name")
    taken = db.session.scalar(
        sa.select(Tier.id).where(sa.func.lower(Tier.name) == name.lower(),
                                 Tier.id != (tier.id if tier else -1))
    )
    if taken is not None:
        raise Conflict(_("A tier named “%(name)s” already exists.", name=name), field="name")
    if values.client_price_per_word <= 0:
        raise Conflict(_("The client price per word must be more than zero."),
                       field="client_price")
    if values.client_price_per_word > MAX_PRICE_PER_WORD:
        raise Conflict(_("A price per word this high cannot be right: check the amount."),
                       field="client_price")
    if values.writer_pay_per_word < 0:
        raise Conflict(_("The writer pay cannot be negative."), field="writer_pay")
    if values.writer_pay_per_word > values.client_price_per_word:
        raise Conflict(_("The writer pay per word cannot be more than the client price per "
                         "word."), field="writer_pay")
    if not 0 <= values.included_revisions <= MAX_REVISIONS:
        raise Conflict(_("Included revisions go from 0 to %(max)d.", max=MAX_REVISIONS),
                       field="included_revisions")
    if not MIN_LEAD_HOURS <= values.min_lead_hours <= MAX_LEAD_HOURS:
        raise Conflict(_("The minimum lead time goes from %(low)d to %(high)d hours.",
                         low=MIN_LEAD_HOURS, high=MAX_LEAD_HOURS), field="min_lead_hours")


def create_tier(manager: User, values: TierValues) -> Tier:
    """Add a quality tier. Names are unique (whatever the case); the client price is above
    zero and the writer pay per word never exceeds it; revisions 0 to 10; lead time 1 to 720
    hours. Raises Conflict naming the field at fault, NotAllowed for anyone but an active
    manager."""
    require_manager(manager)
    _check_tier(values, None)
    tier = Tier()
    _write(tier, values)
    db.session.add(tier)
    _flush_unique(_("A tier named “%(name)s” already exists.", name=tier.name), "name")
    return tier


def update_tier(manager: User, tier: Tier, values: TierValues) -> None:
    """Change a tier under the rules of `create_tier`. Orders already submitted keep the
    prices, revisions and lead time frozen on them."""
    require_manager(manager)
    _check_tier(values, tier)
    _write(tier, values)
    _flush_unique(_("A tier named “%(name)s” already exists.", name=tier.name), "name")


# --- content types ------------------------------------------------------------------------


def _check_content_type(values: ContentTypeValues, content_type: ContentType | None) -> None:
    name_fr, name_en = values.name_fr.strip(), values.name_en.strip()
    if not name_fr:
        raise Conflict(_("Give the French name."), field="name_fr")
    if not name_en:
        raise Conflict(_("Give the English name."), field="name_en")
    taken = db.session.scalar(
        sa.select(ContentType.id).where(
            sa.func.lower(ContentType.name_fr) == name_fr.lower(),
            ContentType.id != (content_type.id if content_type else -1),
        )
    )
    if taken is not None:
        raise Conflict(_("A content type named “%(name)s” already exists.", name=name_fr),
                       field="name_fr")


def create_content_type(manager: User, values: ContentTypeValues) -> ContentType:
    """Add a kind of content clients may order. The French name is unique (whatever the
    case). Raises Conflict naming the field at fault."""
    require_manager(manager)
    _check_content_type(values, None)
    content_type = ContentType()
    _write(content_type, values)
    db.session.add(content_type)
    _flush_unique(_("A content type named “%(name)s” already exists.",
                    name=content_type.name_fr), "name_fr")
    return content_type


def update_content_type(manager: User, content_type: ContentType,
                        values: ContentTypeValues) -> None:
    """Change a content type. A deactivated one leaves the brief form; orders that use it
    keep it."""
    require_manager(manager)
    _check_content_type(values, content_type)
    _write(content_type, values)
    _flush_unique(_("A content type named “%(name)s” already exists.",
                    name=content_type.name_fr), "name_fr")


# --- writers' skills ----------------------------------------------------------------------


@dataclass(frozen=True)
class Skills:
    languages: frozenset[str]
    tier_ids: frozenset[int]


def skills_of(writer: User) -> Skills:
    languages = db.session.scalars(
        sa.select(WriterLanguage.language).where(WriterLanguage.user_id == writer.id)
    )
    tier_ids = db.session.scalars(
        sa.select(writer_tiers.c.tier_id).where(writer_tiers.c.user_id == writer.id)
    )
    return Skills(frozenset(languages), frozenset(tier_ids))


def set_writer_skills(manager: User, writer: User, languages: Iterable[str],
                      tier_ids: Iterable[int]) -> Skills:
    """Replace the languages and tiers `writer` may take from the pool. Languages come from
    ORDER_LANGUAGES, tiers must exist. Orders the writer already holds are not affected.
    Raises NotAllowed when the person is not a writer, Conflict for an unknown value."""
    require_manager(manager)
    if writer.role is not Role.WRITER:
        raise NotAllowed(_("Only writers have languages and tiers."))
    wanted_languages = frozenset(languages)
    unknown = wanted_languages - set(current_app.config["ORDER_LANGUAGES"])
    if unknown:
        raise Conflict(_("Choose languages from the list."), field="languages")
    wanted_tiers = frozenset(tier_ids)
    known = set(db.session.scalars(sa.select(Tier.id).where(Tier.id.in_(wanted_tiers))))
    if known != wanted_tiers:
        raise Conflict(_("Choose tiers from the list."), field="tiers")

    current = skills_of(writer)
    removed_languages = current.languages - wanted_languages
    if removed_languages:
        db.session.execute(sa.delete(WriterLanguage).where(
            WriterLanguage.user_id == writer.id, WriterLanguage.language.in_(removed_languages)
        ))
    for language in sorted(wanted_languages - current.languages):
        db.session.add(WriterLanguage(user_id=writer.id, language=language))
    removed_tiers = current.tier_ids - wanted_tiers
    if removed_tiers:
        db.session.execute(sa.delete(writer_tiers).where(
            writer_tiers.c.user_id == writer.id, writer_tiers.c.tier_id.in_(removed_tiers)
        ))
    added_tiers = wanted_tiers - current.tier_ids
    if added_tiers:
        db.session.execute(sa.insert(writer_tiers), [
            {"user_id": writer.id, "tier_id": tier_id} for tier_id in sorted(added_tiers)
        ])
    db.session.flush()
    return Skills(wanted_languages, wanted_tiers)
