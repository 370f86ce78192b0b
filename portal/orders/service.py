"""Business rules of orders: the brief, the quote frozen at submission, taking and giving work,
the writing, deliveries, revisions, approval and the scheduled moves.

Functions add and flush; the request or the CLI command commits once. Status changes all go
through `workflow.apply`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from portal.accounts.models import Role, User
from portal.errors import Conflict, NotAllowed
from portal.extensions import db, utcnow
from portal.i18n import to_local
from portal.orders import originality, policies, queries, status_counts
from portal.orders.checks import delivery_checks
from portal.orders.models import (
    REFERENCE_TEXTS_MAX,
    ContentType,
    Delivery,
    Draft,
    Order,
    OrderStatus,
    Tier,
)
from portal.orders.pricing import Quote, quote
from portal.orders.report import build_report
from portal.orders.review import needs_review
from portal.orders.text import word_count
from portal.orders.workflow import Action, apply, record


@dataclass(kw_only=True)
class BriefFields:
    """What a brief and a brief template share, shaped by their forms (lists one item per
    line); each adds its title and tier (a template may leave both empty) and its own fields."""

    content_type_id: int
    language: str
    words_min: int
    words_max: int
    tone: str = ""
    audience: str = ""
    primary_keyword: str = ""
    secondary_keywords: list[str] = field(default_factory=list)
    links_to_include: list[str] = field(default_factory=list)
    reference_urls: list[str] = field(default_factory=list)
    instructions: str = ""


# The fields of BriefFields that are lists (stored one item per line).
BRIEF_LISTS = ("secondary_keywords", "links_to_include", "reference_urls")


@dataclass(kw_only=True)
class Brief(BriefFields):
    """What a client writes in the brief form, already shaped by the form."""

    title: str
    tier_id: int
    deadline: datetime
    reference_texts: str = ""
    preferred_writer_id: int | None = None


# --- the brief ----------------------------------------------------------------------------


def _tier(tier_id: int) -> Tier:
    tier = db.session.get(Tier, tier_id)
    if tier is None or not tier.active:
        raise Conflict(_("Choose a quality level from the list."), field="tier_id")
    return tier


def check_language_and_words(brief) -> None:
    """The rules a brief and a brief template share: a language the agency offers, word counts
    within WORDS_MIN..WORDS_MAX, the minimum not above the maximum. Raises Conflict."""
    if brief.language not in current_app.config["ORDER_LANGUAGES"]:
        raise Conflict(_("Choose a language from the list."), field="language")
    low, high = current_app.config["WORDS_MIN"], current_app.config["WORDS_MAX"]
    if not (low <= brief.words_min <= high and low <= brief.words_max <= high):
        raise Conflict(_("A word count is between %(low)d and %(high)d.", low=low, high=high),
                       field="words_min")
    if brief.words_min > brief.words_max:
        raise Conflict(_("The minimum cannot be above the maximum."), field="words_min")


def _check_brief(client: User, brief: Brief) -> Tier:
    content_type = db.session.get(ContentType, brief.content_type_id)
    if content_type is None or not content_type.active:
        raise Conflict(_("Choose a type of content from the list."), field="content_type_id")
    check_language_and_words(brief)
    if brief.preferred_writer_id is not None and brief.preferred_writer_id not in {
        writer.id for writer in previous_writers(client)
    }:
        raise Conflict(_("Choose a writer who has worked for you before."),
                       field="preferred_writer_id")
    tier = _tier(brief.tier_id)
    # Checked again at submission: time passes between saving a draft and sending it.
    check_deadline(tier, brief.deadline)
    return tier


# The hour of the day a new brief's deadline starts at, in the client's time zone: the end of
# a working day, never a time in the night.
DEFAULT_DEADLINE_HOUR = 18


def default_deadline(tier: Tier | None, zone: str, now: datetime | None = None) -> datetime:
    """The deadline a new brief starts with, as wall-clock time in `zone` (naive, for the
    form): DEFAULT_DEADLINE_HOUR on the first day that leaves the tier its minimum lead time
    and stays out of the rush surcharge's window, so the first price shown is the plain one."""
    now = now or utcnow()
    hours = max(tier.min_lead_hours if tier is not None else 0,
                current_app.config["RUSH_WINDOW_HOURS"])
    earliest = to_local(now + timedelta(hours=hours), zone)
    deadline = earliest.replace(hour=DEFAULT_DEADLINE_HOUR, minute=0, second=0, microsecond=0)
    if deadline < earliest:
        deadline += timedelta(days=1)
    return deadline


def check_deadline(tier: Tier, deadline: datetime, now: datetime | None = None) -> None:
    """Raises Conflict when the deadline is past, closer than the tier's minimum lead time, or
    further away than the agency takes orders for (ORDER_MAX_DAYS_AHEAD)."""
    now = now or utcnow()
    if deadline <= now:
        raise Conflict(_("The deadline is in the past."), field="deadline")
    _check_horizon(deadline, now)
    if deadline < now + timedelta(hours=tier.min_lead_hours):
        raise Conflict(
            _("The %(tier)s level needs at least %(hours)d hours: choose a later deadline.",
              tier=tier.name, hours=tier.min_lead_hours),
            field="deadline",
        )


def _check_horizon(deadline: datetime, now: datetime) -> None:
    days = current_app.config["ORDER_MAX_DAYS_AHEAD"]
    if deadline > now + timedelta(days=days):
        raise Conflict(_("Choose a deadline within %(days)d days.", days=days), field="deadline")


def write_brief_fields(target, values: BriefFields) -> None:
    """Copy the fields a brief and a brief template share from `values` onto `target` (an
    order, a template): texts trimmed, lists stored one item per line."""
    target.content_type_id = values.content_type_id
    target.language = values.language
    target.words_min, target.words_max = values.words_min, values.words_max
    target.tier_id = values.tier_id
    for name in ("title", "tone", "audience", "primary_keyword", "instructions"):
        setattr(target, name, getattr(values, name).strip())
    for name in BRIEF_LISTS:
        setattr(target, name, "\n".join(v.strip() for v in getattr(values, name) if v.strip()))


def _write_brief(order: Order, brief: Brief) -> None:
    write_brief_fields(order, brief)
    order.deadline = brief.deadline
    order.reference_texts = brief.reference_texts.strip()
    order.preferred_writer_id = brief.preferred_writer_id


def create_draft(client: User, brief: Brief) -> Order:
    """Save a new brief as a draft of `client`. Raises Conflict on a value the rules refuse."""
    if client.role is not Role.CLIENT or not client.active:
        raise NotAllowed(_("Only clients place orders."))
    from portal.billing.companies import company_of

    _check_brief(client, brief)
    company = company_of(client, create=True)
    order = Order(client_id=client.id, company_id=company.id, status=OrderStatus.DRAFT,
                  currency=current_app.config["AGENCY_CURRENCY"])
    _write_brief(order, brief)
    db.session.add(order)
    db.session.flush()
    status_counts.change({OrderStatus.DRAFT: 1})
    record(order, "created", client)
    return order


def update_draft(order: Order, client: User, brief: Brief, *, version: int) -> None:
    """Edit a draft. Raises Conflict when the form was made from an older version (someone
    saved in between: nothing is overwritten) or a value is refused; NotAllowed otherwise."""
    if not policies.can_edit_brief(client, order):
        raise NotAllowed(_("Only a draft can be edited, by the client who wrote it."))
    if version != order.version:
        raise Conflict(_("This brief was changed in another window since you opened it. "
                         "Reload the page to see the latest version."))
    _check_brief(client, brief)
    _write_brief(order, brief)
    order.version += 1
    db.session.flush()
    record(order, "edited", client)


def delete_draft(order: Order, client: User) -> None:
    """Delete a draft of `client` with everything hanging on it (the database cascades), and
    count one draft less. Raises NotAllowed for anyone else's order or an order that is no
    longer a draft, Conflict when it was submitted in the meantime (nothing is deleted)."""
    if not policies.can_edit_brief(client, order):
        raise NotAllowed(_("Only a draft can be deleted, by the client who wrote it."))
    # Conditional, like a move: a submission that lands first keeps its order.
    result = db.session.execute(
        sa.delete(Order).where(Order.id == order.id, Order.status == OrderStatus.DRAFT)
    )
    if result.rowcount != 1:
        raise Conflict(_("This order changed a moment ago. Reload the page to see where it "
                         "stands."))
    status_counts.change({OrderStatus.DRAFT: -1})


def submit(order: Order, client: User, *, version: int | None = None) -> Quote:
    """Send a draft to the agency. The price is computed now and frozen on the order, and held
    on the company's balance: the order then goes to its preferred writer first (for
    PREFERRED_WRITER_HOURS), else to the pool. When the balance (with the company's credit
    limit) is short, the order waits for payment instead (its price still frozen) and goes on
    by itself once the company has paid. The order keeps a copy of the company's style guide
    as it is now (`style_guides.service.snapshot`): later edits of the guide do not reach it.

    Raises NotAllowed for an unconfirmed client, Conflict for a stale version or a deadline the
    tier refuses, InvalidTransition when the order is not a draft."""
    from portal.billing import ledger
    from portal.style_guides.service import snapshot_for

    if not client.is_confirmed:
        raise NotAllowed(_("Confirm your email address before placing an order."))
    if version is not None and version != order.version:
        raise Conflict(_("This brief was changed in another window since you opened it. "
                         "Reload the page to see the latest version."))
    tier = _tier(order.tier_id)
    check_deadline(tier, order.deadline)
    price = quote(tier, order.words_max, order.deadline)
    now = utcnow()
    changes = {
        "submitted_at": now,
        "price_per_word": price.price_per_word,
        "rush_surcharge": price.rush_surcharge,
        "price_total": price.total,
        "writer_pay_total": price.writer_pay,
        "currency": price.currency,
        "included_revisions": tier.included_revisions,
        # SQL NULL, not JSON's null, when the company has no guide.
        "style_guide": snapshot_for(order.company_id) or sa.null(),
    }
    condition = Order.version == order.version
    # The company's row is locked until the end of the transaction: what it can spend now is
    # what the hold will find (two orders submitted at once queue here).
    company = ledger.lock_company(order.company_id)
    if company.spendable >= price.total:
        # The move itself holds the price (portal.billing.settlement).
        apply(order, Action.SUBMIT, client, extra_condition=condition,
              changes=changes | {"offered_until": _offer_until(order, now)})
    else:
        apply(order, Action.AWAIT_PAYMENT, client, changes=changes, extra_condition=condition)
    return price


def _offer_until(order: Order, now: datetime) -> datetime | None:
    # Only a writer who can take the order gets it first; otherwise it would sit unclaimed.
    if order.preferred_writer is not None and policies.writer_qualifies(order.preferred_writer,
                                                                        order):
        return now + timedelta(hours=current_app.config["PREFERRED_WRITER_HOURS"])
    return None


def payment_received(order: Order) -> None:
    """The company's balance now covers an order waiting for payment: its price is held and it
    goes to the writers, as a submission would (the preferred writer first). Raises
    NotEnoughFunds (a Conflict) when the balance is still short, Conflict when the order moved
    meanwhile; nothing is then changed."""
    apply(order, Action.PAYMENT_RECEIVED, None,
          changes={"offered_until": _offer_until(order, utcnow())})


def previous_writers(client: User) -> list[User]:
    """Writers who delivered an order to this client before (for the preferred writer)."""
    approved_by = sa.select(Order.writer_id).where(
        Order.client_id == client.id, Order.status == OrderStatus.APPROVED,
        Order.writer_id.is_not(None))
    return list(db.session.scalars(
        sa.select(User)
        .where(User.id.in_(approved_by), User.active.is_(True), User.role == Role.WRITER)
        .order_by(User.display_name)))


# --- taking and giving work ---------------------------------------------------------------


def claim(order: Order, writer: User) -> None:
    """The writer takes an open order. Under concurrency exactly one writer wins: the others
    get Conflict. Raises NotAllowed when the writer may not take this order."""
    taken = _("Another writer took this order a moment ago.")
    if order.status is OrderStatus.IN_PROGRESS and order.writer_id not in (None, writer.id):
        # Loaded after the winner committed: the same answer as losing the race in the UPDATE.
        raise Conflict(taken)
    if order.status is OrderStatus.OPEN and not policies.can_claim(writer, order):
        if policies.offer_is_exclusive(order) and order.preferred_writer_id != writer.id:
            raise NotAllowed(_("This order is offered to another writer for now."))
        raise NotAllowed(_("This order is outside your languages or levels."))
    now = utcnow()
    exclusive = sa.or_(Order.offered_until.is_(None), Order.offered_until <= now,
                       Order.preferred_writer_id == writer.id)
    apply(
        order, Action.CLAIM, writer,
        changes={"writer_id": writer.id, "claimed_at": now, "offered_until": None},
        extra_condition=sa.and_(Order.writer_id.is_(None), exclusive),
        conflict_message=taken,
    )


def assign(order: Order, manager: User, writer: User, note: str = "", *,
           pass_draft: bool = False) -> None:
    """A manager gives the order to a writer (or moves it to another one). Raises Conflict when
    the person is not an active writer or is already on it.

    On a reassignment the previous writer's unfinished text goes to the new writer only when
    the manager chose `pass_draft`; otherwise it is set aside as on a release
    (`set_aside_draft`). The writer taken off is told which of the two happened."""
    if writer.role is not Role.WRITER or not writer.active:
        raise Conflict(_("Choose an active writer."), field="writer_id")
    if order.writer_id == writer.id:
        raise Conflict(_("%(name)s is already writing this order.", name=writer.display_name),
                       field="writer_id")
    action = Action.ASSIGN if order.status is OrderStatus.OPEN else Action.REASSIGN
    previous = order.writer
    event = apply(order, action, manager, note=note,
                  changes={"writer_id": writer.id, "claimed_at": utcnow(), "offered_until": None},
                  extra_condition=Order.writer_id.is_(None) if action is Action.ASSIGN
                  else Order.writer_id == order.writer_id)
    if previous is not None:
        from portal.orders.emails import notify_unassigned

        unfinished = unfinished_text(order)
        if unfinished and not pass_draft:
            set_aside_draft(order)
        notify_unassigned(order, event, previous,
                          draft=("passed" if pass_draft else "set_aside") if unfinished else None)


def release(order: Order, actor: User, reason: str) -> None:
    """The writer gives the order back to the pool before delivering, saying why; their
    unfinished text is set aside (`set_aside_draft`). Refused (Conflict) once the order has a
    delivery, even one an editor returned: a manager reassigns it instead."""
    if not reason.strip():
        raise Conflict(_("Say why you give this order back."), field="reason")
    if policies.has_deliveries(order):
        raise Conflict(_("This order has been delivered: it can no longer go back to the "
                         "pool. Ask the agency to give it to another writer."))
    apply(order, Action.RELEASE, actor, note=reason.strip(),
          changes={"writer_id": None, "claimed_at": None})
    set_aside_draft(order)


def unfinished_text(order: Order) -> bool:
    """Does the order's draft hold work the client has not received: text beyond the latest
    delivery (or any text when nothing was delivered yet)?"""
    draft = db.session.get(Draft, order.id)
    if draft is None:
        return False
    latest = queries.latest_delivery(order)
    return draft.text != latest.text if latest is not None else bool(draft.text.strip())


def set_aside_draft(order: Order) -> None:
    """The one rule for unfinished work when a writer leaves an order (a release, or a
    reassignment the manager does not pass it on with): it is not handed to the next writer,
    who starts from the latest delivery (the client's version) or, before any, from the brief.
    The draft's version moves on, so a page the previous writer left open cannot save over."""
    draft = db.session.get(Draft, order.id)
    if draft is None:
        return
    latest = queries.latest_delivery(order)
    if latest is None:
        db.session.delete(draft)
    elif draft.text != latest.text:
        draft.text = latest.text
        draft.version += 1
        draft.updated_at = utcnow()
        draft.updated_by_id = None
    db.session.flush()


# --- writing and delivering ---------------------------------------------------------------


def draft_for(order: Order) -> Draft:
    draft = db.session.get(Draft, order.id)
    if draft is None:
        draft = Draft(order_id=order.id, text="", version=0)
        db.session.add(draft)
        db.session.flush()
    return draft


def save_draft(order: Order, writer: User, text: str, *, base_version: int) -> Draft:
    """Keep the writer's working text. `base_version` is the version the writer's page started
    from: if the draft moved on since (another tab), Conflict, and nothing is overwritten."""
    if not policies.can_write(writer, order):
        raise NotAllowed(_("Only the writer of this order can write it now."))
    draft = draft_for(order)
    if base_version != draft.version:
        raise Conflict(_("This draft was saved from another window. Copy your text, reload "
                         "the page and paste what you need."))
    if text != draft.text:
        draft.text = text
        draft.version += 1
        draft.updated_at = utcnow()
        draft.updated_by_id = writer.id
        db.session.flush()
    return draft


def deliver(order: Order, writer: User, note: str = "") -> Delivery:
    """Hand the current draft to the client as the next numbered, immutable delivery.

    The draft must pass the blocking rules of `checks.delivery_checks` (length, main keyword,
    required links), the same the workspace shows live. Raises NotAllowed for anyone but the
    order's writer while it can be written, Conflict for an empty text or one the rules block
    (every reason in the message); nothing changes then. The delivery keeps its compliance
    report (`report.build_report`), computed against the brief as it is now, with its
    originality (`originality.check`: against every earlier delivery of other orders and the
    brief's reference texts); its phrases join the index in the same transaction, so later
    deliveries are compared with it. When `review.needs_review` says so, it goes to an editor
    ("in review") instead of the client."""
    if not policies.can_write(writer, order):
        raise NotAllowed(_("Only the writer of this order can deliver it now."))
    draft = draft_for(order)
    if not draft.text.strip():
        raise Conflict(_("The text is empty: write it before delivering."))
    found = delivery_checks(order, draft.text)
    if not found.ok:
        raise Conflict(_("This text cannot be delivered yet: %(reasons)s",
                         reasons=" ".join(f.message for f in found.blocking)))
    number = (db.session.scalar(
        sa.select(sa.func.max(Delivery.number)).where(Delivery.order_id == order.id)
    ) or 0) + 1
    report = build_report(order, draft.text)
    report["originality"] = originality.check(order, draft.text)
    delivery = Delivery(order_id=order.id, number=number, writer_id=writer.id, text=draft.text,
                        word_count=word_count(draft.text), note=note.strip(), report=report)
    db.session.add(delivery)
    db.session.flush()
    originality.index_delivery(delivery)
    if needs_review(order, delivery):
        # The client sees nothing yet: no email, no auto-approval clock until an editor
        # passes it (review.pass_to_client).
        apply(order, Action.SEND_TO_REVIEW, writer, note=note.strip())
    else:
        apply(order, Action.DELIVER, writer, note=note.strip(),
              changes={"delivered_at": delivery.created_at})
        delivery.released_at = delivery.created_at
        db.session.flush()
    return delivery


# --- review -------------------------------------------------------------------------------


def request_revision(order: Order, actor: User, reason: str) -> None:
    """Send the delivery back with a written reason, within the revision rounds allowed."""
    if not reason.strip():
        raise Conflict(_("Say what should change."), field="reason")
    if order.status is OrderStatus.DELIVERED and order.revisions_left <= 0:
        raise NotAllowed(_("All %(count)d revisions of this order are used. The agency can "
                           "grant another one.", count=order.revisions_allowed))
    apply(order, Action.REQUEST_REVISION, actor, note=reason.strip(),
          changes={"revisions_used": Order.revisions_used + 1},
          extra_condition=Order.revisions_used < Order.included_revisions
          + Order.extra_revisions)


def approve(order: Order, actor: User, rating: int, comment: str = "") -> None:
    """Accept the delivery with a rating from 1 to 5; a rating of 1 or 2 needs a comment."""
    if not 1 <= rating <= 5:
        raise Conflict(_("Give a rating from 1 to 5."), field="rating")
    if rating <= 2 and not comment.strip():
        raise Conflict(_("Tell the writer what went wrong: a low rating needs a comment."),
                       field="comment")
    apply(order, Action.APPROVE, actor, note=comment.strip(),
          changes={"rating": rating, "rating_comment": comment.strip() or None,
                   "closed_at": utcnow()})


def cancel(order: Order, actor: User, reason: str = "", charge: int = 0) -> None:
    """Cancel the order; what was held for it goes back to the company's balance. A manager
    cancelling work already begun may charge a part of the price (`charge`, with a reason):
    that part is captured and invoiced, the rest released. Raises Conflict for a charge below
    0 or above the price, or without a reason; NotAllowed for a charge by anyone but a manager
    or on an order nobody worked on."""
    if charge:
        if actor.role is not Role.MANAGER:
            raise NotAllowed(_("Only managers can charge for a cancelled order."))
        if order.status not in (OrderStatus.IN_PROGRESS, OrderStatus.IN_REVIEW,
                                OrderStatus.DELIVERED, OrderStatus.REVISION_REQUESTED):
            raise Conflict(_("Only work already begun can be charged."), field="charge")
        if not 0 < charge <= (order.price_total or 0):
            raise Conflict(_("Charge between 0 and the price of the order."), field="charge")
        if not reason.strip():
            raise Conflict(_("Say why part of the price is charged."), field="reason")
    apply(order, Action.CANCEL, actor, note=reason.strip(), changes={"closed_at": utcnow()},
          context={"charge": charge, "reason": reason.strip()})


# --- manager tools ------------------------------------------------------------------------


def require_manager(actor: User) -> None:
    """Raises NotAllowed unless `actor` is an active manager."""
    if actor.role is not Role.MANAGER or not actor.active:
        raise NotAllowed(_("Only managers can do this."))


def extend_deadline(order: Order, manager: User, deadline: datetime, note: str = "") -> datetime:
    """Move the deadline later (never earlier) on an order that is not finished; returns the
    previous deadline."""
    require_manager(manager)
    if order.is_final or order.status is OrderStatus.DRAFT:
        raise Conflict(_("The deadline of this order can no longer change."))
    if deadline <= order.deadline or deadline <= utcnow():
        raise Conflict(_("The new deadline must be later than the current one and than now."),
                       field="deadline")
    _check_horizon(deadline, utcnow())
    previous = order.deadline
    order.deadline = deadline
    order.version += 1
    db.session.flush()
    event = record(order, "deadline_extended", manager, note)
    from portal.orders.emails import notify_deadline_extended

    notify_deadline_extended(order, event)
    return previous


def set_reference_texts(order: Order, manager: User, texts: str) -> bool:
    """A manager pastes (or corrects) the texts the brief supplies, such as the pages the
    client named but could not copy: the deliveries made from now on are compared with them
    (portal/orders/originality.py); those already made keep their score. Not on a draft (its
    client edits it) nor on a finished order. Returns False when nothing changed."""
    require_manager(manager)
    if order.is_final or order.status is OrderStatus.DRAFT:
        raise Conflict(_("The reference texts of this order can no longer change."))
    texts = texts.strip()
    if len(texts) > REFERENCE_TEXTS_MAX:
        raise Conflict(_("The reference texts hold at most 20,000 characters: keep the "
                         "passages that matter."), field="reference_texts")
    if texts == order.reference_texts:
        return False
    order.reference_texts = texts
    order.version += 1
    db.session.flush()
    record(order, "reference_texts_changed", manager)
    return True


def grant_revision(order: Order, manager: User, note: str = "") -> None:
    """Give the client one more revision round than the tier includes."""
    require_manager(manager)
    if order.is_final or order.status is OrderStatus.DRAFT:
        raise Conflict(_("This order is finished: no more revisions."))
    order.extra_revisions += 1
    order.version += 1
    db.session.flush()
    record(order, "revision_granted", manager, note)


# --- scheduled moves ----------------------------------------------------------------------


def auto_approve_due(now: datetime | None = None) -> int:
    """Approve deliveries left unreviewed for AUTO_APPROVE_DAYS; returns how many.

    The review clock starts at each delivery: it does not run while a revision is requested,
    and a new version gets the whole window. Each order is approved in its own savepoint, so
    one that fails is skipped and the others still go through."""
    now = now or utcnow()
    window = timedelta(days=current_app.config["AUTO_APPROVE_DAYS"])
    # Locked up front (PostgreSQL), skipping those someone is changing now: each approval also
    # updates the counts per status, and a person approving one of these orders in the
    # meantime must wait on the order, never hold it while waiting on the counts we hold.
    due = list(db.session.scalars(
        sa.select(Order).where(Order.status == OrderStatus.DELIVERED,
                               Order.delivered_at <= now - window)
        .order_by(Order.delivered_at).limit(500).with_for_update(skip_locked=True)
    ))
    count = 0
    # By writer: each approval locks its writer's writer_loads row until the commit, and every
    # move locks writers in id order; in delivery order two writers could close a deadlock.
    for order in sorted(due, key=lambda order: (order.writer_id or 0, order.delivered_at)):
        savepoint = db.session.begin_nested()
        try:
            apply(order, Action.AUTO_APPROVE, None, changes={"closed_at": now})
        except Exception:
            savepoint.rollback()
            current_app.logger.exception("auto-approval of order %s failed", order.id)
            continue
        savepoint.commit()
        count += 1
    return count
