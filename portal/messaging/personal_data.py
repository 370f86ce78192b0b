"""The conversations' part of a person's data (portal/privacy/parts.py): the messages they
wrote or could read (never an internal note for a client), with their files. On erasure the
files of their messages go and the messages stay, signed “Former member”."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from portal.accounts.models import Role, User
from portal.extensions import db
from portal.messaging.models import Message, MessageAttachment, ReadMarker
from portal.orders.models import Order
from portal.privacy.parts import Erasure, ExportFile, Part, Section


def readable(person: User) -> sa.Select:
    """The messages `person` wrote or could read in their conversations: a client's orders
    without the notes, the orders a writer writes with them; a manager's own messages."""
    stmt = sa.select(Message).join(Order, Order.id == Message.order_id)
    wrote = Message.author_id == person.id
    if person.role is Role.CLIENT:
        return stmt.where(sa.or_(wrote, sa.and_(Order.client_id == person.id,
                                                Message.internal.is_(False))))
    if person.role is Role.WRITER:
        return stmt.where(sa.or_(wrote, Order.writer_id == person.id))
    return stmt.where(wrote)


def export(person: User) -> Section:
    messages, files = [], []
    found = db.session.scalars(
        readable(person).options(joinedload(Message.author), joinedload(Message.attachments))
        .order_by(Message.order_id, Message.created_at, Message.id)).unique()
    for message in found:
        reference = f"CMD-{message.order_id:05d}"
        entry = {
            "order": reference, "at": message.created_at.isoformat(),
            "author": message.author.display_name if message.author else _("Former member"),
            "written_by_me": message.author_id == person.id, "internal": message.internal,
            "body": message.body, "files": [],
        }
        for attachment in message.attachments:
            exported = ExportFile(path=f"files/messages/{reference}/{attachment.id}-"
                                       f"{attachment.original_name}",
                                  stored_name=attachment.stored_name, name=attachment.original_name)
            files.append(exported)
            entry["files"].append({"name": attachment.original_name, "path": exported.path,
                                   "size": attachment.size})
        messages.append(entry)
    return Section({"messages": messages}, files)


def erase(erasure: Erasure) -> None:
    person = erasure.person
    attachments = db.session.scalars(
        sa.select(MessageAttachment).join(Message)
        .where(Message.author_id == person.id)).all()
    for attachment in attachments:
        erasure.files_to_remove.append(attachment.stored_name)
        db.session.delete(attachment)
    erasure.count("files", len(attachments))
    # Their reading state goes with them; nobody else's counter changes (no message goes).
    db.session.execute(sa.delete(ReadMarker).where(ReadMarker.user_id == person.id))
    db.session.flush()


PART = Part(
    name="messages", export=export, erase=erase,
    kept=(_l("Messages they wrote stay in the conversations, for the people they were written "
             "to, signed “Former member”; the files joined to them are removed."),),
)
