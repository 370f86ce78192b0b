"""The inbound SMTP server (`flask mail inbound`): replies to notification emails become
messages on their order.

Each recipient must be a reply address (`reply+<token>@REPLY_DOMAIN`) whose token is genuine
and not expired (checked at RCPT). Then, at DATA, in its own app context and transaction: the
person of the token must exist, the sender (the From header and the envelope sender) must be
that person's address, the email must not be an automatic reply, and the text of the reply
(the plain part, or the HTML part turned into text, without the quoted email and signature)
becomes a message through portal.messaging.service.post_message, which checks that the person
still takes part in the order's conversation and stores an email (Message-ID) only once.
Attachments are kept under the rules of message files; the others are left out with a note.

The email is read once, before any recipient is handled (`read_email`): an email nested or split
beyond MAX_NESTING containers or MAX_PARTS parts is refused from a scan of its raw bytes,
before the parser (which recurses once per level) sees it; the parser itself stops at
MAX_PARTS parts, however they were declared (`parse`); and any failure to read it is
answered with a fixed 554 text that names nothing of the portal's internals.

Every refusal is logged on "portal.inbound" in one line (reason, the start of the token, the
sender) and answered 5xx; a database that cannot be reached is answered 450 so the sender's
server tries again later; data above INBOUND_MAX_BYTES is answered 552 by aiosmtpd. The same
email (Message-ID) is stored once per order: sent to the reply addresses of two orders, it
becomes a message on each.
"""

from __future__ import annotations

import asyncio
import email
import hashlib
import io
import logging
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session
from flask import Flask
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import exc as sa_exc
from werkzeug.datastructures import FileStorage

from portal.accounts.models import User
from portal.errors import Conflict, DomainError, NotAllowed
from portal.extensions import commit_keeping_loaded, db
from portal.forms import control_characters, multi_line_text_of
from portal.notifications.replies import (
    ReplyTokenError,
    html_to_text,
    read_reply_token,
    strip_reply,
    token_of,
)
from portal.orders import uploads
from portal.orders.models import Order

log = logging.getLogger("portal.inbound")

MAX_RECIPIENTS = 20
# What an email may hold, counted on its raw bytes before it is parsed. Containers (multipart
# boundaries declared, and message/* parts) bound the depth of nesting: a reply with a quoted,
# forwarded email holds about ten. Parts: the boundary lines of all of them.
MAX_NESTING = 50
MAX_PARTS = 500

ACCEPTED = "250 2.0.0 Reply received, thank you"
DUPLICATE = "250 2.0.0 Reply already received"
NOT_A_REPLY_ADDRESS = "550 5.1.1 No such reply address"
BAD_ADDRESS = "550 5.7.1 This reply address is not valid"
EXPIRED_ADDRESS = "550 5.7.1 This reply address has expired: please answer on the portal"
WRONG_SENDER = "550 5.7.1 Send your reply from the address that received the email"
NOT_ALLOWED = "550 5.7.1 You can no longer write in the conversation of this order"
AUTOMATIC = "550 5.7.1 Automatic replies are not posted"
REFUSED = "550 5.6.0 This reply cannot be posted: please answer on the portal"
TRY_LATER = "450 4.3.0 Temporary problem, please try again later"
LOCAL_ERROR = "451 4.3.0 Local error, please try again later"
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients"
UNREADABLE = "554 5.6.0 This email could not be read: please answer on the portal"
TOO_COMPLEX = "554 5.6.0 This email has too many parts: please answer on the portal"


@dataclass
class Refusal(Exception):
    reason: str
    response: str


def _clean(value: str, limit: int = 200) -> str:
    """A value from the email, safe for a one-line log record."""
    return re.sub(r"[\x00-\x1f\x7f]", "?", value or "")[:limit]


def log_refusal(reason: str, token: str | None, sender: str, envelope_sender: str = "") -> None:
    """One line per refusal: why, the first characters of the token (the token itself is a
    credential and never logged whole), who sent it."""
    prefix = f"{token[:8]}…" if token else "-"
    who = _clean(sender) or "<>"
    if envelope_sender.lower() != sender.lower():
        who += f" (envelope {_clean(envelope_sender) or '<>'})"
    log.warning("reply refused: %s; token %s; sender %s", reason, _clean(prefix, 20), who)


# --- reading the email --------------------------------------------------------------------

_BOUNDARY = re.compile(rb'boundary\*?\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))', re.I)
_MESSAGE_PART = re.compile(rb"^content-type:\s*message/", re.I | re.M)
_DELIMITER = re.compile(rb"^--([^\r\n]{1,202})", re.M)


def structure_problem(content: bytes) -> str | None:
    """Why the raw email is too deeply nested or split to be parsed, or None.

    Counted on the bytes, without recursion: the boundaries declared anywhere and the message/*
    parts are the containers (each level of nesting needs one of them), and the lines that
    open or close a part with one of those boundaries are the parts."""
    boundaries = set()
    for match in _BOUNDARY.finditer(content):
        boundaries.add(match.group(1) or match.group(2))
        if len(boundaries) > MAX_NESTING:
            return f"more than {MAX_NESTING} multipart boundaries"
    containers = len(boundaries) + len(_MESSAGE_PART.findall(content))
    if containers > MAX_NESTING:
        return f"{containers} nested containers"
    if not boundaries:
        return None
    parts = 0
    for match in _DELIMITER.finditer(content):
        line = match.group(1).rstrip()
        if line in boundaries or (line.endswith(b"--") and line[:-2] in boundaries):
            parts += 1
            if parts > MAX_PARTS:
                return f"more than {MAX_PARTS} parts"
    return None


class TooManyParts(Exception):
    """The parser was about to make more than MAX_PARTS parts."""


def parse(content: bytes) -> EmailMessage:
    """The email as the parser reads it, which makes at most MAX_PARTS parts (raises
    TooManyParts). structure_problem scans the usual forms only, while the parser also takes a
    lone CR for a line break and a boundary declared in RFC 2231's form (`boundary*0=`): parts
    declared so would cost the server minutes and hundreds of megabytes for a few megabytes of
    email. The parser makes each part through its policy's message factory, which counts."""
    made = 0

    def part(*, policy) -> EmailMessage:  # the parser passes its policy by this name
        nonlocal made
        made += 1
        if made > MAX_PARTS:
            raise TooManyParts(f"more than {MAX_PARTS} parts")
        return EmailMessage(policy=policy)

    return email.message_from_bytes(content, policy=policy.default.clone(message_factory=part))


@dataclass(frozen=True)
class ReadEmail:
    """What the portal takes from an email, read once for all its recipients."""

    sender: str  # the one address of the From header ("" when there is none or several)
    automatic: bool
    message_id: str
    text: str
    files: list[tuple[str, bytes]]


def read_email(content: bytes) -> ReadEmail:
    """Parse the raw email and take what a reply needs from it.

    Raises Refusal (TOO_COMPLEX) for an email `structure_problem` refuses, before parsing it,
    or whose parts the parser counts beyond MAX_PARTS (`parse`), and Refusal (UNREADABLE) for
    any failure of the parser or of reading its parts."""
    problem = structure_problem(content)
    if problem:
        raise Refusal(f"email too complex ({problem})", TOO_COMPLEX)
    try:
        message = parse(content)
        text = reply_text(message)
        return ReadEmail(sender=sender_address(message) or "", automatic=is_automatic(message),
                         message_id=message_id(message, text), text=text,
                         files=attachments(message))
    except TooManyParts as error:
        raise Refusal(f"email too complex ({error})", TOO_COMPLEX) from None
    except Exception as error:
        raise Refusal(f"unreadable email ({type(error).__name__})", UNREADABLE) from error


def sender_address(message: EmailMessage) -> str | None:
    """The one address of the From header, or None when there is none or several."""
    try:
        addresses = message["From"].addresses if message["From"] is not None else ()
    except (AttributeError, IndexError, ValueError):
        return None
    if len(addresses) != 1 or not addresses[0].addr_spec:
        return None
    return addresses[0].addr_spec


def is_automatic(message: EmailMessage) -> bool:
    """Out-of-office answers and other robots (RFC 3834 and the usual vendor headers)."""
    auto = str(message.get("Auto-Submitted", "no")).strip().lower()
    precedence = str(message.get("Precedence", "")).strip().lower()
    return (auto != "no" or precedence in {"bulk", "junk", "list", "auto_reply"}
            or message.get("X-Autoreply") is not None or message.get("X-Autorespond") is not None)


def message_id(message: EmailMessage, text: str | None = None) -> str:
    """The Message-ID that makes a second delivery of the same email a duplicate; emails
    without one are told apart by a digest of their sender, date, subject and text (`text`:
    the reply's text when already read). One too long to store, or holding a control
    character (a NUL cannot be stored in PostgreSQL), is stored as its digest."""
    found = str(message.get("Message-ID", "") or "").strip()
    if found and len(found) <= 255 and not control_characters(found):
        return found
    digest = hashlib.sha256()
    if found:
        digest.update(found.encode("utf-8", "replace"))
    else:
        for header in ("From", "Date", "Subject"):
            digest.update(str(message.get(header, "")).encode("utf-8", "replace") + b"\0")
        digest.update((reply_text(message) if text is None else text).encode())
    return f"sha256:{digest.hexdigest()}"


def reply_text(message: EmailMessage) -> str:
    """The new text of the reply: the plain part (else the HTML part as text), stripped of
    the quoted email and signature, with the rule of multi-line text: lines and tabs, no other
    control character (multi_line_text_of)."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, ValueError):
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", "replace")
    if part.get_content_subtype() == "html":
        content = html_to_text(content)
    return strip_reply(multi_line_text_of(content))


def attachments(message: EmailMessage) -> list[tuple[str, bytes]]:
    """The files of the email: its attachments, without the pictures shown inside the HTML
    body (signature logos), which carry a Content-ID and are not marked as attachments."""
    files = []
    for part in message.walk():
        name = part.get_filename()
        if not name or part.is_multipart() or part.get_content_maintype() == "message":
            continue
        if part.get("Content-ID") and part.get_content_disposition() != "attachment":
            continue
        files.append((name, part.get_payload(decode=True) or b""))
    return files


def _file(name: str, data: bytes) -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=name)


def kept_files(files: list[tuple[str, bytes]], limit: int) -> tuple[list[FileStorage], list[str]]:
    """The attachments that follow the rules of message files, and a note for each left out."""
    kept, notes = [], []
    for name, data in files:
        label = uploads.clean_name(name)
        if len(kept) >= limit:
            notes.append(_("“%(name)s” was left out: a message carries at most %(count)d files.",
                           name=label, count=limit))
            continue
        try:
            uploads.check_upload(_file(name, data), field="files")
        except Conflict as refused:
            notes.append(refused.message)
            continue
        kept.append(_file(name, data))
    return kept, notes


# --- handling one reply -------------------------------------------------------------------


def deliver_reply(token: str, envelope_sender: str, email_read: ReadEmail) -> str:
    """Post the reply sent to the reply address of `token`; returns the SMTP answer.

    Runs inside an app context and is the "request": it commits what it posted, or rolls
    back and refuses."""
    from portal.messaging import service as conversation
    from portal.messaging.models import MessageSource

    header_sender = email_read.sender
    email_id = None
    order_id = None
    already = None
    written: list[str] = []  # files of a new message, removed if it is not committed
    try:
        reply = read_reply_token(token)
        author = db.session.get(User, reply.user_id)
        # Held first (as service.hold_order holds it; post_message is told so): the same
        # email being stored meanwhile is `already`.
        order = db.session.get(Order, reply.order_id, with_for_update={"key_share": True})
        if author is None or order is None:
            raise Refusal("unknown person or order", BAD_ADDRESS)
        if header_sender.lower() != author.email.lower():
            raise Refusal("From header is not the person of the token", WRONG_SENDER)
        if (envelope_sender or "").lower() != author.email.lower():
            raise Refusal("envelope sender is not the person of the token", WRONG_SENDER)
        if email_read.automatic:
            raise Refusal("automatic reply", AUTOMATIC)
        email_id, order_id = email_read.message_id, order.id
        already = conversation.message_from_email(order_id, email_id)
        with force_locale(author.locale):
            body = email_read.text
            files, notes = kept_files(email_read.files, conversation.FILES_PER_MESSAGE)
            if body or files:
                body = "\n\n".join([body or _("(Files sent by email.)"),
                                      *(f"({note})" for note in notes)])
            posted = conversation.post_message(order, author, body, files=files,
                                               source=MessageSource.EMAIL,
                                               email_message_id=email_id, held=True)
        if already is None:
            written = conversation.stored_names(posted)
        commit_keeping_loaded()  # the ids logged below need no statement
    except ReplyTokenError as refused:
        db.session.rollback()
        log_refusal(f"{refused.reason} token", token, header_sender, envelope_sender)
        return EXPIRED_ADDRESS if refused.reason == "expired" else BAD_ADDRESS
    except Refusal as refused:
        db.session.rollback()
        log_refusal(refused.reason, token, header_sender, envelope_sender)
        return refused.response
    except NotAllowed as refused:
        db.session.rollback()
        log_refusal(f"not allowed on the order ({refused.message})", token, header_sender,
                    envelope_sender)
        return NOT_ALLOWED
    except DomainError as refused:
        db.session.rollback()
        log_refusal(f"refused by the conversation ({refused.message})", token, header_sender,
                    envelope_sender)
        return REFUSED
    except sa_exc.IntegrityError:
        _undo(written)
        # The same email delivered twice at the same moment: the other delivery stored it.
        if email_id and conversation.message_from_email(order_id, email_id):
            log.info("reply already received: %s", _clean(email_id))
            return DUPLICATE
        log.exception("reply could not be stored (token %s…)", token[:8])
        return LOCAL_ERROR
    except sa_exc.SQLAlchemyError:
        _undo(written)
        log.exception("reply could not be stored: database unavailable (token %s…)", token[:8])
        return TRY_LATER
    except Exception:
        _undo(written)
        log.exception("reply could not be handled (token %s…)", token[:8])
        return LOCAL_ERROR
    if already is not None:
        log.info("reply already received: message %s, %s", already.id, _clean(email_id))
        return DUPLICATE
    log.info("reply posted: message %s on order %s by user %s", posted.id, posted.order_id,
             posted.author_id)
    return ACCEPTED


def _undo(written: list[str]) -> None:
    db.session.rollback()
    for name in written:
        uploads.discard_file(name)


# --- the SMTP server ----------------------------------------------------------------------


class InboundHandler:
    """aiosmtpd handler: reply addresses are checked at RCPT, replies stored at DATA in a
    worker thread (the database is not asynchronous)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    async def handle_RCPT(
        self, server, session: Session, envelope: Envelope, address: str, rcpt_options
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return TOO_MANY_RECIPIENTS
        with self.app.app_context():
            token = token_of(address)
            if token is None:
                log_refusal("not a reply address", None, envelope.mail_from or "",
                            envelope.mail_from or "")
                return NOT_A_REPLY_ADDRESS
            try:
                read_reply_token(token)
            except ReplyTokenError as refused:
                log_refusal(f"{refused.reason} token", token, envelope.mail_from or "",
                            envelope.mail_from or "")
                return EXPIRED_ADDRESS if refused.reason == "expired" else BAD_ADDRESS
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session: Session, envelope: Envelope) -> str:
        # Whatever fails below, the answer is one of ours: aiosmtpd would otherwise name the
        # exception to the sender.
        try:
            return await asyncio.get_running_loop().run_in_executor(
                None, self.receive, envelope.mail_from or "", list(envelope.rcpt_tos),
                bytes(envelope.content or b""),
            )
        except Exception:
            log.exception("reply could not be handled")
            return LOCAL_ERROR

    def receive(self, envelope_sender: str, recipients: list[str], content: bytes) -> str:
        """Read the email once, then post it once per reply address it was sent to; one answer
        for all: accepted when any was posted, else the first refusal."""
        try:
            email_read = read_email(content)
        except Refusal as refused:
            log_refusal(refused.reason, None, "", envelope_sender)
            if refused.__cause__ is not None:
                log.info("why the email could not be read", exc_info=refused.__cause__)
            return refused.response
        answers = []
        for recipient in recipients:
            with self.app.app_context():
                token = token_of(recipient) or ""
                answers.append(deliver_reply(token, envelope_sender, email_read))
        accepted = [answer for answer in answers if answer.startswith("250")]
        return accepted[0] if accepted else answers[0]


def start_inbound(app: Flask, host: str, port: int) -> Controller:
    """Start the inbound server in a thread; stop it with `.stop()`."""
    controller = Controller(
        InboundHandler(app), hostname=host, port=port,
        data_size_limit=app.config["INBOUND_MAX_BYTES"], enable_SMTPUTF8=True,
        ident="portal inbound",
    )
    controller.start()
    return controller
