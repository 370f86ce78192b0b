"""The orders' part of a person's data (portal/privacy/parts.py): a client's orders with their
briefs, deliveries, timeline and files, and their brief templates; a writer's orders as they
wrote them, with their skills. On erasure the drafts, the brief templates and the files the
person joined go; submitted orders stay with the agency.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from portal.accounts.models import Role, User
from portal.extensions import db
from portal.orders import status_counts
from portal.orders.models import (
    FINAL_STATUSES,
    Attachment,
    BriefTemplate,
    Delivery,
    Draft,
    Order,
    OrderEvent,
    OrderStatus,
    WriterLanguage,
    writer_tiers,
)
from portal.orders.review import PRIVATE_NOTES
from portal.privacy.parts import Erasure, ExportFile, Part, Section, when


def _file(order: Order, attachment: Attachment) -> ExportFile:
    return ExportFile(path=f"files/orders/{order.reference}/{attachment.id}-"
                           f"{attachment.original_name}",
                      stored_name=attachment.stored_name, name=attachment.original_name)


def _by_order(rows) -> dict[int, list]:
    grouped: dict[int, list] = {}
    for row in rows:
        grouped.setdefault(row.order_id, []).append(row)
    return grouped


def _orders_of(person: User) -> list[Order]:
    if person.role is Role.CLIENT:
        condition = Order.client_id == person.id
    elif person.role is Role.WRITER:
        wrote = sa.select(Delivery.order_id).where(Delivery.writer_id == person.id)
        condition = sa.or_(Order.writer_id == person.id, Order.id.in_(wrote))
    else:
        acted = sa.select(OrderEvent.order_id).where(OrderEvent.actor_id == person.id)
        condition = Order.id.in_(acted)
    return list(db.session.scalars(
        sa.select(Order).where(condition).order_by(Order.id)
        .options(selectinload(Order.content_type), selectinload(Order.tier),
                 selectinload(Order.attachments))))


def export(person: User) -> Section:
    orders, files = [], []
    as_client = person.role is Role.CLIENT
    found = _orders_of(person)
    ids = [order.id for order in found]
    # A fixed number of statements whatever the number of orders.
    all_deliveries = _by_order(db.session.scalars(
        sa.select(Delivery).where(Delivery.order_id.in_(ids)).order_by(Delivery.number)))
    all_events = _by_order(db.session.scalars(
        sa.select(OrderEvent).where(OrderEvent.order_id.in_(ids))
        .order_by(OrderEvent.created_at, OrderEvent.id)))
    drafts = {draft.order_id: draft for draft in db.session.scalars(
        sa.select(Draft).where(Draft.order_id.in_(ids)))}
    for order in found:
        mine = as_client or order.writer_id == person.id
        entry = {
            "reference": order.reference, "title": order.title, "status": order.status.value,
            "created_at": when(order.created_at), "submitted_at": when(order.submitted_at),
            "deadline": when(order.deadline), "closed_at": when(order.closed_at),
            "brief": {
                "content_type": order.content_type.name_en, "language": order.language,
                "words_min": order.words_min, "words_max": order.words_max,
                "tier": order.tier.name, "tone": order.tone, "audience": order.audience,
                "primary_keyword": order.primary_keyword,
                "secondary_keywords": order.secondary_keywords,
                "links_to_include": order.links_to_include,
                "reference_urls": order.reference_urls,
                "reference_texts": order.reference_texts, "instructions": order.instructions,
                # The company's style guide as the order kept it at submission.
                "style_guide": order.style_guide,
            },
        }
        if as_client:
            entry |= {"currency": order.currency, "price_total": order.price_total,
                      "rating": order.rating, "rating_comment": order.rating_comment,
                      # The client's consent to show the text as a sample on the landing page.
                      "sample_consent": order.sample_consent,
                      "shown_as_sample_since": when(order.showcased_at)}
        elif person.role is Role.WRITER and mine:
            entry |= {"currency": order.currency, "writer_pay_total": order.writer_pay_total}
        deliveries = all_deliveries.get(order.id, [])
        entry["deliveries"] = [
            {"number": d.number, "created_at": when(d.created_at), "word_count": d.word_count,
             "note": d.note, "text": d.text}
            # A client's: what reached them (never a delivery in review or returned).
            for d in deliveries if (as_client and d.is_released) or d.writer_id == person.id]
        events = all_events.get(order.id, [])
        entry["timeline"] = [
            {"at": when(e.created_at), "action": e.action,
             "from": e.from_status.value if e.from_status else None,
             "to": e.to_status.value if e.to_status else None,
             "note": "" if as_client and e.action in PRIVATE_NOTES else e.note}
            for e in events if as_client or mine or e.actor_id == person.id]
        if person.role is Role.WRITER and order.writer_id == person.id:
            draft = drafts.get(order.id)
            entry["working_draft"] = draft.text if draft else ""
        entry["files"] = []
        if as_client or mine:
            for attachment in order.attachments:
                exported = _file(order, attachment)
                files.append(exported)
                entry["files"].append({"name": attachment.original_name,
                                       "path": exported.path, "size": attachment.size})
        orders.append(entry)
    data: dict = {"orders": orders}
    if as_client:
        data["brief_templates"] = [
            {"name": t.name, "created_at": when(t.created_at), "title": t.title,
             "content_type": t.content_type.name_en, "language": t.language,
             "words_min": t.words_min, "words_max": t.words_max,
             "tier": t.tier.name if t.tier else None, "tone": t.tone, "audience": t.audience,
             "primary_keyword": t.primary_keyword, "secondary_keywords": t.secondary_keywords,
             "links_to_include": t.links_to_include, "reference_urls": t.reference_urls,
             "instructions": t.instructions}
            for t in db.session.scalars(
                sa.select(BriefTemplate).where(BriefTemplate.owner_id == person.id)
                .order_by(BriefTemplate.id)
                .options(selectinload(BriefTemplate.content_type),
                         selectinload(BriefTemplate.tier)))]
    if person.role is Role.WRITER:
        data["languages"] = sorted(db.session.scalars(
            sa.select(WriterLanguage.language).where(WriterLanguage.user_id == person.id)))
    return Section(data, files)


def blockers(person: User) -> list[str]:
    if person.role is Role.CLIENT:
        condition = Order.client_id == person.id
    else:
        condition = Order.writer_id == person.id
    open_ones = db.session.scalars(
        sa.select(Order).where(condition, Order.status.not_in(
            [*FINAL_STATUSES, OrderStatus.DRAFT])).order_by(Order.id).limit(10)).all()
    if not open_ones:
        return []
    return [_("These orders are not finished: %(refs)s. Finish, reassign or cancel them first.",
              refs=", ".join(order.reference for order in open_ones))]


def erase(erasure: Erasure) -> None:
    person = erasure.person
    # Files the person joined to briefs (their drafts' go with the drafts).
    drafts = sa.select(Order.id).where(Order.client_id == person.id,
                                       Order.status == OrderStatus.DRAFT)
    attachments = db.session.scalars(sa.select(Attachment).where(sa.or_(
        Attachment.uploaded_by_id == person.id, Attachment.order_id.in_(drafts)))).all()
    for attachment in attachments:
        erasure.files_to_remove.append(attachment.stored_name)
        db.session.delete(attachment)
    erasure.count("files", len(attachments))
    db.session.flush()
    removed = db.session.execute(
        sa.delete(Order).where(Order.client_id == person.id, Order.status == OrderStatus.DRAFT)
    ).rowcount
    status_counts.change({OrderStatus.DRAFT: -removed})
    erasure.count("drafts", removed)
    # A consent to show a text as a sample goes with the person: their texts leave the
    # landing page (the orders themselves stay, as business records).
    db.session.execute(sa.update(Order).where(Order.client_id == person.id).values(
        sample_consent=False, showcased_at=None))
    templates = db.session.execute(
        sa.delete(BriefTemplate).where(BriefTemplate.owner_id == person.id)).rowcount
    erasure.count("brief_templates", templates)
    db.session.execute(sa.delete(WriterLanguage).where(WriterLanguage.user_id == person.id))
    db.session.execute(sa.delete(writer_tiers).where(writer_tiers.c.user_id == person.id))


PART = Part(
    name="orders", export=export, blockers=blockers, erase=erase,
    kept=(_l("Submitted orders, their briefs, deliveries and timeline stay with the agency: "
             "they are its business records and the other party's work. The person's name on "
             "them becomes “Former member”."),),
)
