"""Who may see and do what on an order. Views, services and templates all ask here."""

from __future__ import annotations

import sqlalchemy as sa

from portal.accounts.models import Role, User
from portal.extensions import db, utcnow
from portal.orders.models import (
    WRITING_STATUSES,
    Delivery,
    Order,
    OrderStatus,
    WriterLanguage,
    writer_tiers,
)
from portal.orders.workflow import Action, allowed


def can_see(user: User, order: Order) -> bool:
    if not user.active:
        return False
    if user.role is Role.MANAGER:
        return True
    if user.role is Role.CLIENT:
        return order.client_id == user.id
    if user.role is Role.EDITOR:
        # Editors read what is in review, nothing else (managers see every order anyway).
        return order.status is OrderStatus.IN_REVIEW
    # Writers see their own orders and what they could take from the pool.
    return order.writer_id == user.id or can_claim(user, order)


def has_deliveries(order: Order) -> bool:
    """Has the order been delivered at least once (a delivery in review or returned by an
    editor included)? Such an order stays with its writer: given back to the pool, its texts
    and the editor's comments would be open to every writer who may claim it."""
    return order.delivered_at is not None or db.session.scalar(
        sa.select(Delivery.id).where(Delivery.order_id == order.id).limit(1)) is not None


def can_name_source(user: User, *, client_id: int, writer_id: int | None) -> bool:
    """May `user` be told which text a delivery copies (portal/orders/originality.py)? A
    manager always; a writer when they wrote it; a client never.
    Anyone else reads "a text for another client" and nothing of it."""
    if not user.active:
        return False
    if user.role is Role.MANAGER:
        return True
    if user.role is Role.CLIENT:
        # Never named to a client, even their own: the source may be a delivery still in review
        # or one an editor returned, which they must not learn of. It reads "another text for
        # this client".
        return False
    return writer_id is not None and writer_id == user.id


def writer_qualifies(writer: User, order: Order) -> bool:
    """The writer works in the order's language and may take its tier."""
    if writer.role is not Role.WRITER or not writer.active:
        return False
    speaks = db.session.scalar(
        sa.select(WriterLanguage.user_id).where(
            WriterLanguage.user_id == writer.id, WriterLanguage.language == order.language
        )
    )
    takes = db.session.scalar(
        sa.select(writer_tiers.c.user_id).where(
            writer_tiers.c.user_id == writer.id, writer_tiers.c.tier_id == order.tier_id
        )
    )
    return speaks is not None and takes is not None


def offer_is_exclusive(order: Order) -> bool:
    """The order is still offered to its preferred writer alone."""
    return (
        order.preferred_writer_id is not None
        and order.offered_until is not None
        and order.offered_until > utcnow()
    )


def can_claim(writer: User, order: Order) -> bool:
    if order.status is not OrderStatus.OPEN or not allowed(writer, order, Action.CLAIM):
        return False
    if offer_is_exclusive(order) and order.preferred_writer_id != writer.id:
        return False
    return writer_qualifies(writer, order)


def can_edit_brief(user: User, order: Order) -> bool:
    return order.status is OrderStatus.DRAFT and user.id == order.client_id and user.active


def can_write(user: User, order: Order) -> bool:
    return (
        user.role is Role.WRITER
        and order.writer_id == user.id
        and order.status in WRITING_STATUSES
    )


def can_attach(user: User, order: Order) -> bool:
    """Add or remove the brief's files: its client while nobody writes it yet, managers until
    the order is finished. Never an account whose address is not confirmed: until it is, the
    portal stores no file of theirs (a draft keeps its text only)."""
    if not user.active or not user.is_confirmed:
        return False
    if user.role is Role.MANAGER:
        return not order.is_final
    return (user.role is Role.CLIENT and order.client_id == user.id
            and order.status in (OrderStatus.DRAFT, OrderStatus.AWAITING_PAYMENT,
                                 OrderStatus.OPEN))


def can_export(user: User, order: Order) -> bool:
    """Download or copy the text: once the client has approved it (or it was approved for
    them), for whoever sees the order: its client, its writer, the managers."""
    return order.status is OrderStatus.APPROVED and can_see(user, order)


def can_review(user: User, order: Order) -> bool:
    """Pass the delivery in review to the client, or return it to the writer: editors and
    managers, while the order is in review."""
    return user.can_review and allowed(user, order, Action.PASS_REVIEW)


def can_request_revision(user: User, order: Order) -> bool:
    return allowed(user, order, Action.REQUEST_REVISION) and order.revisions_left > 0


_CHECKS = {"claim": can_claim, "request_revision": can_request_revision, "edit": can_edit_brief,
           "write": can_write, "attach": can_attach, "export": can_export,
           "pass_review": can_review, "return_to_writer": can_review, "review": can_review}


def can(user: User, order: Order, action: str) -> bool:
    """For templates: may `user` make `action` (an Action value) on `order` now?"""
    check = _CHECKS.get(action)
    if check is not None:
        return check(user, order)
    if action == "release":
        return allowed(user, order, Action.RELEASE) and not has_deliveries(order)
    if action in ("extend_deadline", "grant_revision", "reference_texts"):
        return user.role is Role.MANAGER and not order.is_final and order.status is not \
            OrderStatus.DRAFT
    return allowed(user, order, Action(action))
