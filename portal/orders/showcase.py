"""Samples on the landing page: approved texts a manager puts there, only while their client
allows it.

Two flags on the order, set by two different people:
- `sample_consent`, the client's: "the agency may show this text as a sample". The client sets
  it on the approved order's page and may withdraw it at any time; withdrawing also takes the
  text off the landing page (`showcased_at` cleared), so that consenting again never puts it
  back without a manager choosing it again.
- `showcased_at`, a manager's: the text is on the landing page since then.

A sample is public (`public_samples`, `get_sample`) only while the order is approved, its
client consents and a manager showcases it. No client's name goes with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from portal.accounts.models import Role, User
from portal.errors import Conflict, NotAllowed
from portal.extensions import db, utcnow
from portal.orders import exports
from portal.orders.models import Delivery, Order, OrderStatus
from portal.orders.queries import last_delivery_number

# The landing page shows the newest few; a sample's card shows the start of its text.
LANDING_SAMPLES = 3
EXCERPT_CHARS = 260


def can_consent(user: User, order: Order) -> bool:
    """Only the client who placed the order decides, once the text is approved."""
    return (user.role is Role.CLIENT and user.active and order.client_id == user.id
            and order.status is OrderStatus.APPROVED)


def can_showcase(user: User, order: Order) -> bool:
    """A manager may put on the landing page an approved text whose client consents (and take
    any showcased text off it)."""
    if user.role is not Role.MANAGER or not user.active:
        return False
    if order.showcased_at is not None:
        return True
    return order.status is OrderStatus.APPROVED and order.sample_consent


def set_sample_consent(order: Order, client: User, consent: bool) -> None:
    """The client allows (or no longer allows) the agency to show the approved text as a
    sample. Withdrawing takes it off the landing page at once. Raises NotAllowed for anyone but
    the order's client, Conflict before approval."""
    if client.role is not Role.CLIENT or order.client_id != client.id or not client.active:
        raise NotAllowed(_("Only the client of this order can decide this."))
    if order.status is not OrderStatus.APPROVED:
        raise Conflict(_("A text can be shown as a sample once it is approved."))
    order.sample_consent = consent
    if not consent:
        order.showcased_at = None
    db.session.flush()


def set_showcase(order: Order, manager: User, shown: bool) -> None:
    """A manager puts the approved text on the landing page, or takes it off. Raises NotAllowed
    for anyone but a manager, Conflict to show a text that is not approved or whose client has
    not consented."""
    if manager.role is not Role.MANAGER or not manager.active:
        raise NotAllowed(_("Only managers can do this."))
    if shown:
        if order.status is not OrderStatus.APPROVED:
            raise Conflict(_("Only an approved text can be shown on the landing page."))
        if not order.sample_consent:
            raise Conflict(_("The client has not allowed this text to be shown."))
        if order.showcased_at is None:
            order.showcased_at = utcnow()
    else:
        order.showcased_at = None
    db.session.flush()


def _public() -> sa.ColumnElement[bool]:
    return sa.and_(Order.showcased_at.is_not(None), Order.sample_consent.is_(True),
                   Order.status == OrderStatus.APPROVED)


@dataclass(frozen=True)
class Sample:
    order: Order  # with its content type loaded
    text: str  # the approved text (Markdown)
    word_count: int

    @property
    def excerpt(self) -> str:
        return excerpt(self.text)


def _samples() -> sa.Select:
    """The public orders with what a Sample shows of them (_public)."""
    return (sa.select(Order, Delivery.text, Delivery.word_count)
            .join(Delivery, sa.and_(Delivery.order_id == Order.id,
                                    Delivery.number == last_delivery_number()))
            .options(joinedload(Order.content_type)).where(_public()))


def public_samples(limit: int = LANDING_SAMPLES) -> list[Sample]:
    """The samples on the landing page, newest showcased first: one statement, whatever the
    number of orders."""
    rows = db.session.execute(
        _samples().order_by(Order.showcased_at.desc(), Order.id.desc()).limit(limit)).all()
    return [Sample(order, text, words) for order, text, words in rows]


def get_sample(order_id: int) -> Sample | None:
    """The public sample of that order, or None when it is not one (not approved, not
    consented, not showcased, or no such order): one statement."""
    row = db.session.execute(_samples().where(Order.id == order_id)).first()
    return Sample(*row) if row else None


def excerpt(markdown: str, limit: int = EXCERPT_CHARS) -> str:
    """The first paragraphs of the text as plain words, cut at a word before `limit`
    characters (headings left out: the card shows the title)."""
    words: list[str] = []
    length = 0
    for block in exports.blocks(markdown):
        if block.kind not in ("paragraph", "item"):
            continue
        for word in block.plain.split():
            if length + len(word) + 1 > limit:
                return " ".join(words).rstrip(",;:.") + "…"
            words.append(word)
            length += len(word) + 1
    return " ".join(words)
