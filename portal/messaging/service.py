"""Posting in an order's conversation: who may write, what a message may hold, its files; the
`message_posted` signal (portal/signals.py) brings the unread counters and the notifications.

Functions add and flush; the request (or the inbound mail server) commits once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import sqlalchemy as sa
from flask_babel import gettext as _
from markupsafe import Markup
from werkzeug.datastructures import FileStorage

from portal.accounts.models import User
from portal.errors import Conflict, NotAllowed
from portal.extensions import db
from portal.i18n import format_number
from portal.messaging import policies
from portal.messaging.models import Message, MessageAttachment, MessageSource
from portal.orders import uploads
from portal.orders.models import Order
from portal.plaintext import render_plain
from portal.signals import message_posted

log = logging.getLogger("portal.messaging")

BODY_MAX_CHARS = 10_000
FILES_PER_MESSAGE = 5

# The version of render_message's output stored with each message (`messages.html_version`).
# Raise it whenever that output changes; `flask messaging rerender` then renders older ones again.
MESSAGE_HTML_VERSION = 1


def render_message(body: str) -> Markup:
    """A message as HTML that is safe to show: plain text, escaped, its paragraphs and line
    breaks kept and its web addresses made links (portal.plaintext). Messages stored when they
    were Markdown read the same way: their asterisks show, nothing is interpreted.

    Run once per message, when it is posted: the result is stored (`Message.html`, with
    MESSAGE_HTML_VERSION) and the pages and emails show the stored HTML (`Message.body_html`)."""
    return render_plain(body)


def rerender_batch(after: int, *, size: int, everything: bool = False) -> tuple[int, int, int]:
    """Render again the next `size` messages by id after `after` whose stored HTML is older
    than MESSAGE_HTML_VERSION (every one, with `everything`): the HTML is written only where
    it differs, the version where it is not the current one. Reads ids and bodies only.
    Returns (the last id read, messages read, HTML changed); none read means none are left."""
    query = sa.select(Message.id, Message.body).where(Message.id > after)
    if not everything:
        query = query.where(Message.html_version < MESSAGE_HTML_VERSION)
    rows = db.session.execute(query.order_by(Message.id).limit(size)).all()
    if not rows:
        return after, 0, 0
    table = Message.__table__
    changed = db.session.execute(
        table.update().where(table.c.id == sa.bindparam("row_id"),
                             table.c.html != sa.bindparam("row_html"))
        .values(html=sa.bindparam("row_html")),
        [{"row_id": row.id, "row_html": str(render_message(row.body))} for row in rows],
    ).rowcount
    db.session.execute(table.update().where(
        table.c.id.in_([row.id for row in rows]), table.c.html_version != MESSAGE_HTML_VERSION,
    ).values(html_version=MESSAGE_HTML_VERSION))
    return rows[-1].id, len(rows), changed


def rerender(*, everything: bool = False, size: int = 1000) -> tuple[int, int]:
    """rerender_batch until none is left, committing each batch (a long run keeps no lock
    and loses nothing done when stopped); returns (messages read, HTML changed)."""
    last, read, changed = 0, 0, 0
    while True:
        last, batch_read, batch_changed = rerender_batch(last, size=size, everything=everything)
        db.session.commit()
        if not batch_read:
            return read, changed
        read, changed = read + batch_read, changed + batch_changed


def normalize_body(body: str | None) -> str:
    """Line breaks as LF (browsers send CRLF), no blank space around the message."""
    return (body or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def post_message(
    order: Order,
    author: User,
    body: str,
    *,
    internal: bool = False,
    files: Iterable[FileStorage] = (),
    source: MessageSource = MessageSource.WEB,
    email_message_id: str | None = None,
    held: bool = False,
) -> Message:
    """Add a message (or, with `internal`, a staff-only note) to the order's conversation.

    The order's client, its assigned writer and managers may write, once the order is submitted;
    internal notes only managers and the assigned writer, files only a confirmed account
    (NotAllowed otherwise), judged as loaded, then again on the order as held once the files
    are stored (hold_order; PostgreSQL): a move or a writer change being committed is waited
    for. The body has 1 to BODY_MAX_CHARS characters once trimmed; at most FILES_PER_MESSAGE
    files, each under the rules of brief attachments (Conflict otherwise). A message whose
    `email_message_id` is already stored on this order is not stored again: the stored one is
    returned (the same email sent to two orders is a message on each). Files are written
    before the rows and removed again if the rows cannot be stored. `message_posted` is sent:
    the message is unread for the others it concerns and they are notified, in this
    transaction. `held`: the caller holds the order already (hold_order's lock, taken as it
    read it in this transaction): it is not read again."""
    files = [upload for upload in files if upload is not None and upload.filename]
    _may_post(author, order, internal, bool(files))  # as loaded: before any file is read
    text = normalize_body(body)
    if not text:
        raise Conflict(_("Write your message before sending it."), field="body")
    if len(text) > BODY_MAX_CHARS:
        raise Conflict(_("A message has at most %(max)s characters; this one has %(count)s. "
                         "Split it in two, or attach a file.",
                         max=format_number(BODY_MAX_CHARS), count=format_number(len(text))),
                       field="body")
    if len(files) > FILES_PER_MESSAGE:
        raise Conflict(_("A message carries at most %(count)d files.", count=FILES_PER_MESSAGE),
                       field="files")
    checked = [uploads.check_upload(upload, field="files") for upload in files]

    stored: list[str] = []
    try:
        for item in checked:
            stored.append(uploads.store(item.data, item.media_type))
    except OSError:
        log.exception("could not store a message file on order %s", order.id)
        _discard(stored)
        raise Conflict(_("The file could not be stored. Please try again in a moment."),
                       field="files") from None

    try:
        # Held only now, once the files are stored (seconds on object storage), and judged again
        # as held: a move or a writer change committed meanwhile decides.
        order = order if held else hold_order(order)
        _may_post(author, order, internal, bool(files))
        if email_message_id and (existing := message_from_email(order.id, email_message_id)):
            _discard(stored)
            return existing
        message = Message(
            order_id=order.id, author_id=author.id, body=text, html=str(render_message(text)),
            html_version=MESSAGE_HTML_VERSION, internal=internal, source=source,
            email_message_id=email_message_id or None,
            attachments=[MessageAttachment(original_name=item.name, stored_name=name,
                                           media_type=item.media_type, size=len(item.data))
                         for item, name in zip(checked, stored, strict=True)])
        db.session.add(message)
        db.session.flush()
        message_posted.send(message)
    except Exception:
        _discard(stored)
        raise
    return message


def message_from_email(order_id: int, email_message_id: str) -> Message | None:
    """The message stored on the order from the email of this Message-ID, if any."""
    return db.session.scalar(sa.select(Message).where(
        Message.order_id == order_id, Message.email_message_id == email_message_id))


def hold_order(order: Order) -> Order:
    """The order's row locked until commit and read again (flushed first), in one SELECT … FOR
    NO KEY UPDATE (PostgreSQL): a move or a writer change being committed is waited for and
    `order` (returned as held) shows its outcome; until commit they wait for the message, as
    does a visit moving a read marker (queries._mark_read). SQLite (one writer at a time, reads
    outside its write transaction): nothing is sent, a change committed since the load unseen."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.flush()
        order = db.session.scalars(sa.select(Order).where(Order.id == order.id).with_for_update(
            key_share=True, of=Order).execution_options(populate_existing=True)).one()
    return order


def _may_post(author: User, order: Order, internal: bool, files: bool) -> None:
    if not policies.takes_part(author, order):
        raise NotAllowed(_("You cannot write in the conversation of this order."))
    if internal and not policies.sees_internal(author, order):
        raise NotAllowed(_("Only the agency's team can write internal notes."), field="internal")
    if files and not policies.can_attach_files(author, order):
        raise NotAllowed(_("Confirm your email address before sending files."))


def stored_names(message: Message) -> list[str]:
    """The stored files of a message: what to remove if its transaction is rolled back."""
    return [attachment.stored_name for attachment in message.attachments]


def _discard(names: Iterable[str]) -> None:
    for name in names:
        uploads.discard_file(name)

