"""The only code that talks to SMTP: claims pending outbox rows and sends them.

Rows are claimed by a conditional UPDATE (with FOR UPDATE SKIP LOCKED on PostgreSQL) that stamps
them with this pass's claim token, so several workers never send the same row. A claimed batch
is then sent in groups of MAIL_GROUP_SIZE rows over one SMTP connection, with one commit per
group rather than two per email:

- a group starts with one conditional UPDATE (still ours: our token, still "sending") that
  renews the lease of its rows and counts a try for each, committed before anything is sent,
  so even a worker that dies on an email has that try counted;
- a group ends with an UPDATE that marks its sent rows sent, its failed rows failed or back to
  wait with backoff, each row on its own (one refused email never holds back the others), and
  the next group's start, all in one commit.

A row tried before (a retry, or taken over from a worker that died, perhaps because of it) is a
group of its own. A group is closed early once half the lease has gone since it started, its
untried rows given back their try and sent in the next group: no row is ever sent on a lease
that may have run out.

**The bound on resends after a crash**: a worker that dies between the relay's acceptance of an
email and the commit of its group leaves that group's rows in "sending"; once their lease has run
out another worker takes them over and sends them again. So at most one group's worth of emails
(MAIL_GROUP_SIZE, 25 by default) can be sent twice per worker that dies; every other email goes
exactly once. A group of 1 is the old one-commit-per-email behaviour (at most one resend).

One email never stops the others: whatever goes wrong while building or sending it is that
email's failed attempt, and the batch goes on over the same connection. Only a connection that
is gone sends the rest of the batch back to wait.

**What an email costs**: an email without attachment is written straight to the bytes email's
generator gives for Flask-Mail's tree of MIME parts (OutboxMessage.wire, compared byte for byte
by a property test), which halves the worker's CPU per email; the figures are in bench/README.md.
"""

from __future__ import annotations

import functools
import re
import smtplib
import time
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import policy
from email.charset import QP, Charset
from email.mime.text import MIMEText
from email.utils import formatdate, quote

import sqlalchemy as sa
from flask import current_app
from flask_mail import (
    BadHeaderError,
    Connection,
    Message,
    email_dispatched,
    force_text,
    sanitize_address,
    sanitize_subject,
)
from sqlalchemy.orm.attributes import set_committed_value

from portal.extensions import db, utcnow
from portal.notifications.models import OutboxEmail, OutboxStatus


class TimeoutConnection(Connection):
    """Flask-Mail's connection with a socket timeout, so a hung relay cannot hang the worker."""

    def configure_host(self) -> smtplib.SMTP | smtplib.SMTP_SSL:
        # Settings are read from the app's config at each connection, not frozen at start-up.
        config = current_app.config
        server, port, timeout = config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_TIMEOUT"]
        host: smtplib.SMTP | smtplib.SMTP_SSL
        if config["MAIL_USE_SSL"]:
            host = smtplib.SMTP_SSL(server, port, timeout=timeout)
        else:
            host = smtplib.SMTP(server, port, timeout=timeout)
        if config["MAIL_USE_TLS"]:
            host.starttls()
        if config["MAIL_USERNAME"] and config["MAIL_PASSWORD"]:
            host.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        return host

    def send(self, message: Message, envelope_from: str | None = None) -> None:
        """An OutboxMessage goes out as build_message wrote it: its headers checked, its
        bytes and its envelope made once (Flask-Mail would check and encode them again)."""
        envelope = getattr(message, "envelope", None)
        if envelope is None or envelope_from is not None:
            super().send(message, envelope_from)
            return
        sender, recipients = envelope
        self.host.sendmail(sender, recipients, message.as_bytes(), message.mail_options,
                           message.rcpt_options)
        email_dispatched.send(current_app._get_current_object(), message=message)
        self.num_emails += 1
        if self.num_emails == self.mail.max_emails:
            self.num_emails = 0
            self.host.quit()
            self.host = self.configure_host()

    def __exit__(self, exc_type, exc_value, tb) -> None:
        try:
            super().__exit__(exc_type, exc_value, tb)
        except (OSError, smtplib.SMTPException):
            if exc_type is None:
                raise
            # QUIT on a connection that already failed: that failure is the one to report.
            if self.host is not None:
                self.host.close()


@dataclass
class DispatchReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    # Rows whose claim another worker took over (our lease ran out) and that we left alone.
    lost: int = 0
    connections: int = 0
    sent_ids: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def stuck_before(now: datetime | None = None) -> datetime:
    """A row still "sending" that was claimed before this moment is stuck: its lease has run
    out, so the worker that took it stopped (or hangs) while sending."""
    lease = timedelta(seconds=current_app.config["MAIL_CLAIM_LEASE_SECONDS"])
    return (now or utcnow()) - lease


def stuck_condition(now: datetime | None = None) -> sa.ColumnElement[bool]:
    """The rows stuck in "sending" (stuck_before)."""
    return sa.and_(OutboxEmail.status == OutboxStatus.SENDING,
                   OutboxEmail.claimed_at < stuck_before(now))


def _fail_exhausted_claims(now) -> None:
    """A stale claim whose tries are used up is failed rather than taken over again: a row
    that kills the worker sending it (each try counted when it starts) must not be claimed
    ahead of the others forever."""
    db.session.execute(
        sa.update(OutboxEmail)
        .where(stuck_condition(now),
               OutboxEmail.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"])
        .values(status=OutboxStatus.FAILED, claim_token=None, claimed_at=None,
                last_error="the worker stopped while sending it, at every try")
        .execution_options(synchronize_session=False)
    )


def _claim(limit: int) -> tuple[str, list[OutboxEmail]]:
    now = utcnow()
    _fail_exhausted_claims(now)
    due = sa.or_(
        sa.and_(OutboxEmail.status == OutboxStatus.PENDING, OutboxEmail.next_attempt_at <= now),
        # A claim older than the lease belongs to a worker that died while sending.
        stuck_condition(now),
    )
    token = uuid.uuid4().hex
    candidates = (
        sa.select(OutboxEmail.id)
        .where(due)
        .order_by(OutboxEmail.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        # `id IN (subquery)` may be planned as a join that runs the subquery again for each row,
        # each run skipping the rows this statement already locked: LIMIT would not hold and one
        # worker would claim the whole outbox. ARRAY(subquery) runs it exactly once.
        claimable = OutboxEmail.id == sa.any_(sa.func.array(candidates.scalar_subquery()))
    else:
        claimable = OutboxEmail.id.in_(candidates.scalar_subquery())
    db.session.execute(
        sa.update(OutboxEmail)
        .where(claimable, due)
        .values(status=OutboxStatus.SENDING, claimed_at=now, claim_token=token)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return token, list(
        db.session.scalars(
            sa.select(OutboxEmail).where(OutboxEmail.claim_token == token).order_by(OutboxEmail.id)
        )
    )


def _renew(rows: list[OutboxEmail], token: str) -> dict[int, int]:
    """Renew the lease of claimed rows and count a try for each (not committed); returns the
    rows still ours with their tries. Counted before they are sent, a try that never ends (the
    worker dies) counts too."""
    return dict(db.session.execute(
        sa.update(OutboxEmail)
        .where(
            OutboxEmail.id.in_([row.id for row in rows]),
            OutboxEmail.claim_token == token,
            OutboxEmail.status == OutboxStatus.SENDING,
        )
        .values(claimed_at=utcnow(), attempts=OutboxEmail.attempts + 1)
        .returning(OutboxEmail.id, OutboxEmail.attempts)
        .execution_options(synchronize_session=False)
    ).all())


def _ours(rows: list[OutboxEmail], renewed: dict[int, int]) -> list[OutboxEmail]:
    """The rows of a group that _renew kept, in order, with their tries (once committed)."""
    ours = [row for row in rows if row.id in renewed]
    for row in ours:
        set_committed_value(row, "attempts", renewed[row.id])
    return ours


# Flask-Mail writes with the SMTP policy, whose header objects re-parse every header as the
# message is written (about twice the time of the whole send on a small machine); the same bytes
# come out of the compat32 generator, in which the headers were built anyway.
class _WirePolicy(policy.Compat32):
    """compat32, with a short cut for what most headers are: one line of printable ASCII short
    enough not to fold, which compat32 returns unchanged after building a Header object to fold it
    (a third of the time of writing an email). Checked byte for byte against compat32 in
    tests/unit/test_dispatcher.py."""

    def fold_binary(self, name: str, value) -> bytes:
        # Printable: no line break of any kind (compat32 splits on \x0c and friends too).
        if (isinstance(value, str) and value.isascii() and value.isprintable()
                and len(name) + len(value) + 2 <= self.max_line_length):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


_WIRE_POLICY = _WirePolicy(linesep="\r\n")


class OutboxMessage(Message):
    """A message written once (build_message) and sent as those bytes, to its envelope."""

    written: bytes | None = None
    envelope: tuple[str, list[str]] | None = None  # MAIL FROM, RCPT TO

    def __init__(self, *, message_id: str, subject: str, recipient: str, body: str | None,
                 html: str | None, sender: str, reply_to: str | None, kind: str) -> None:
        # Message.__init__ would draw a Message-ID of its own through socket.getfqdn(), a
        # lookup of this host's name (DNS, when the resolver is asked) for every email; the
        # row has its id, the same across retries. These are the attributes Message's own
        # __init__ sets, which its _message() reads.
        self.recipients, self.subject, self.sender = [recipient], subject, sender
        self.reply_to, self.cc, self.bcc = reply_to, [], []
        self.body, self.alts, self.html = body, {}, html
        self.date, self.msgId, self.charset = None, message_id, None
        self.extra_headers = {"X-Portal-Kind": kind}
        self.mail_options, self.rcpt_options, self.attachments = [], [], []

    def _mimetext(self, text: str | None, subtype: str = "plain") -> MIMEText:
        """Flask-Mail's text part, quoted-printable when a line is too long for 8bit."""
        if isinstance(text, str) and _text_body(text)[0] == "quoted-printable":
            return MIMEText(text, subtype, _QUOTED_PRINTABLE)
        return super()._mimetext(text, subtype)

    def as_bytes(self) -> bytes:
        if self.written is None:
            # The generator would draw a random boundary and compile a regular expression for
            # it to check the text does not hold it (a sixth of the time of writing an email).
            # 128 random bits, which the text cannot guess, need no check.
            self.written = self.wire(f"=={uuid.uuid4().hex}==", f"=={uuid.uuid4().hex}==")
            if self.written is None:
                message = self._message()
                for part in message.walk():
                    if part.is_multipart() and part.get_boundary() is None:
                        part.set_boundary(f"=={uuid.uuid4().hex}==")
                self.written = message.as_bytes(policy=_WIRE_POLICY)
        return self.written

    def wire(self, mixed: str, alternative: str) -> bytes | None:
        """The bytes that writing _message() gives (email's BytesGenerator, _WIRE_POLICY), with
        these boundaries, written directly for the shape of every email without an attachment:
        multipart/mixed around multipart/alternative, the text then the HTML, both utf-8
        (_text_part).
        The same header values (Flask-Mail's functions, folded by the same policy) and the
        same parts; only the tree of Message objects and the generator's walk over it are
        left out (most of the time of building an email). Compared byte for byte with the
        generator's output in tests/unit/test_dispatcher.py. None for any other shape."""
        html = self.alts.get("html")
        if (self.attachments or self.cc or self.charset is not None or len(self.alts) != 1
                or not isinstance(self.body, str) or not isinstance(html, str)):
            return None
        fold = _WIRE_POLICY.fold_binary
        # MIMEMultipart's own headers, the boundary as set_boundary writes it; then
        # Message._message()'s, in its order and with its values.
        headers = [fold("Content-Type", f'multipart/mixed; boundary="{mixed}"'),
                   fold("MIME-Version", "1.0")]
        if self.subject:
            headers.append(fold("Subject", sanitize_subject(force_text(self.subject), "utf-8")))
        headers.append(fold("From", _envelope_address(self.sender)))
        headers.append(fold("To", ", ".join(list({_envelope_address(address)
                                                  for address in self.recipients}))))
        headers.append(fold("Date", formatdate(self.date, localtime=True)))
        headers.append(fold("Message-ID", self.msgId))
        if self.reply_to:
            headers.append(fold("Reply-To", sanitize_address(self.reply_to, "utf-8")))
        for name, value in self.extra_headers.items():
            headers.append(fold(name, value))
        inner = alternative.encode("ascii")
        outer = mixed.encode("ascii")
        return b"".join((
            *headers, b"\r\n",
            b"--", outer, b"\r\n",
            fold("Content-Type", f'multipart/alternative; boundary="{alternative}"'),
            fold("MIME-Version", "1.0"), b"\r\n",
            b"--", inner, b"\r\n", _text_part("plain", self.body),
            b"\r\n--", inner, b"\r\n", _text_part("html", html),
            b"\r\n--", inner, b"--\r\n",
            b"\r\n--", outer, b"--\r\n",
        ))


# What the generator turns into the policy's line separator in a body (email.generator.NLCRE).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# RFC 5322, 2.1.1: a line is at most 998 octets, its CRLF left out. A message may hold 10,000
# characters in one paragraph, and relays refuse or break a longer line.
_LONGEST_LINE = 998
# utf-8, quoted-printable: lines of at most 76 octets (soft line breaks), any text kept whole.
_QUOTED_PRINTABLE = Charset("utf-8")
_QUOTED_PRINTABLE.body_encoding = QP


def _text_body(text: str) -> tuple[str, bytes]:
    """A text part's Content-Transfer-Encoding and body as the generator writes them. Flask-Mail's
    utf-8 has no body encoding: 7bit when the text is ASCII, else 8bit, each line break made CRLF.
    A text with a line longer than RFC 5322 allows goes quoted-printable instead
    (OutboxMessage._mimetext), so that ordinary emails keep their bytes."""
    written = _LINE_BREAK.sub("\r\n", text).encode("utf-8")
    if len(written) <= _LONGEST_LINE or max(map(len, written.split(b"\r\n"))) <= _LONGEST_LINE:
        return ("7bit" if text.isascii() else "8bit"), written
    return "quoted-printable", _QUOTED_PRINTABLE.body_encode(text).replace("\n", "\r\n").encode()


def _text_part(subtype: str, text: str) -> bytes:
    """What email's generator writes for OutboxMessage._mimetext(text, subtype): its headers,
    then the text (_text_body)."""
    fold = _WIRE_POLICY.fold_binary
    encoding, written = _text_body(text)
    return b"".join((
        fold("Content-Type", f'text/{subtype}; charset="utf-8"'), fold("MIME-Version", "1.0"),
        fold("Content-Transfer-Encoding", encoding), b"\r\n", written,
    ))


_SPACES = re.compile(" {2,}")


def header_text(value: str | None) -> str:
    """Text that is safe in a header: every control character (C0, C1: line breaks and tabs
    included) and line or paragraph separator becomes a space, and runs of spaces one. Titles
    and names people typed reach subjects; rows stored before the forms refused line breaks
    may still hold some."""
    if not value:
        return ""
    cleaned = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch
                      for ch in value)
    # Only ASCII spaces: the no-break spaces of French typography stay.
    return _SPACES.sub(" ", cleaned).strip(" ")


_NAMED_ADDRESS = re.compile(r"(.*)<([^<>]*)>\s*", re.DOTALL)


def _header_address(value: str | tuple[str, str]) -> str:
    """An address for From or Reply-To with its display name made safe (header_text) and
    quoted, so that a colon or a comma in it stays part of the name. The address itself is
    left as it is: a line break there is an error of the row (BadHeaderError), not something
    to guess a fix for."""
    if isinstance(value, tuple):
        name, address = value
    else:
        found = _NAMED_ADDRESS.fullmatch(value)
        if found is None:
            return value
        name, address = found.groups()
    name = header_text(name)
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = name[1:-1]
    # Flask-Mail reads the pair back with parseaddr, which undoes this quoting.
    return f'"{quote(name)}" <{address.strip()}>' if name else address.strip()


# An address as SMTP's envelope carries it (its name encoded): the same sender is in every email
# and people get many, so each is encoded once per worker. Bounded; lru_cache is thread-safe.
_envelope_address = functools.lru_cache(maxsize=1024)(sanitize_address)


# What building a message raises for what a row holds: a header that cannot be written, an
# address that cannot be encoded, no recipient. The same row fails the same way at every try.
PERMANENT_BUILD_ERRORS = (BadHeaderError, ValueError, TypeError, AssertionError)


def build_message(row: OutboxEmail) -> OutboxMessage:
    """The message of an outbox row, written to bytes, as the relay will receive it.

    Headers built from text (the subject, the names in From and Reply-To) go through
    header_text. Raises BadHeaderError for a line break left in a header (an address),
    UnicodeEncodeError for an address SMTP cannot carry (our relay speaks ASCII), and whatever
    else writing the message raises: nothing of it has reached the relay yet."""
    config = current_app.config
    msg = OutboxMessage(
        message_id=row.message_id,
        subject=header_text(row.subject),
        recipient=row.recipient,
        body=row.text_body,
        html=row.html_body,
        sender=_header_address(config["MAIL_DEFAULT_SENDER"]),
        reply_to=_header_address(row.reply_to) if row.reply_to else None,
        kind=row.kind,
    )
    if row.document_id is not None:  # an invoice's PDF, as it was issued
        document = row.document
        msg.attach(document.filename, document.media_type, document.content)
    msg.date = time.time()
    if msg.has_bad_headers():
        raise BadHeaderError("a line break in a header")
    # What TimeoutConnection.send gives the relay: the envelope must be ASCII.
    envelope = (_envelope_address(msg.sender), [_envelope_address(a) for a in msg.send_to])
    for address in (envelope[0], *envelope[1]):
        address.encode("ascii")
    msg.as_bytes()
    msg.envelope = envelope
    return msg


def _permanent(exc: smtplib.SMTPException) -> bool:
    """A 5xx answer will not change on a retry (RFC 5321, 4.2.1); a 4xx one may."""
    codes = ([code for code, _text in exc.recipients.values()]
             if isinstance(exc, smtplib.SMTPRecipientsRefused) else [getattr(exc, "smtp_code", 0)])
    return bool(codes) and all(500 <= code < 600 for code in codes)


def _record_failure(row: OutboxEmail, error: str, report: DispatchReport, *,
                    permanent: bool = False) -> None:
    """The row's counted try failed: it fails for good (a permanent error, or its tries are
    used up) or waits for its next try, later each time. Committed with its group."""
    config = current_app.config
    row.last_error = error[:2000]
    row.claim_token = None
    row.claimed_at = None
    if permanent or row.attempts >= config["MAIL_MAX_ATTEMPTS"]:
        row.status = OutboxStatus.FAILED
        report.failed += 1
    else:
        delay = min(
            config["MAIL_RETRY_BASE_SECONDS"] * 2 ** (row.attempts - 1),
            config["MAIL_RETRY_MAX_SECONDS"],
        )
        row.status = OutboxStatus.PENDING
        row.next_attempt_at = utcnow() + timedelta(seconds=delay)
        report.retried += 1


def _retry_later(row: OutboxEmail, token: str, error: str, report: DispatchReport) -> None:
    """A claimed row no group has started (the connection is gone): a failed try, if the row
    is still ours (its claim may be older than the lease by now)."""
    db.session.refresh(row)
    if row.claim_token != token:
        report.lost += 1
        return
    row.attempts += 1
    _record_failure(row, error, report)
    db.session.commit()


def send_pending(limit: int | None = None) -> DispatchReport:
    """Send the emails that are due, over one SMTP connection; returns what happened.

    Rows are marked in groups of MAIL_GROUP_SIZE committed together (see the module's
    docstring for the bound on resends after a crash). Whatever goes wrong with one email is a
    failed try for that email alone, its error kept: a message that cannot be built (a line
    break in a header, an address SMTP cannot carry) and a permanent (5xx) refusal fail it at
    once; anything else retries later with backoff, until MAIL_MAX_ATTEMPTS. The batch goes on
    over the same connection while the relay still answers; a relay that cannot be reached or
    drops the connection sends the rest of the batch back to wait.
    """
    report = DispatchReport()
    token, rows = _claim(limit or current_app.config["MAIL_BATCH_SIZE"])
    report.claimed = len(rows)
    if not rows:
        return report
    # Expiring the whole batch at every commit would reload each row and cost time in
    # proportion to the batch for every group.
    session = db.session()
    expire_on_commit, session.expire_on_commit = session.expire_on_commit, False
    try:
        _send_batch(list(rows), token, report)
    finally:
        session.expire_on_commit = expire_on_commit
    return report


class _ConnectionLost(Exception):
    """The relay stopped answering after an email's failure: the rest of the batch waits."""


def _connection_gone(exc: Exception) -> bool:
    """A socket error or a dropped connection (SMTPException is an OSError too)."""
    if isinstance(exc, smtplib.SMTPServerDisconnected | smtplib.SMTPHeloError):
        return True
    return isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException)


def _usable(connection: Connection) -> bool:
    """The relay still answers and holds no half-sent message (RSET)."""
    try:
        code, _text = connection.host.rset()
    except (OSError, smtplib.SMTPException):
        return False
    return code == 250


@dataclass
class _Group:
    """The rows of a started group: their try is counted and their lease renewed."""

    untried: list[OutboxEmail]
    started: datetime
    sent: list[int] = field(default_factory=list)
    # The row being sent, whose outcome is not known yet.
    trying: OutboxEmail | None = None


def _close_group(group: _Group, token: str, report: DispatchReport,
                 give_back: list[OutboxEmail] = (),
                 start_next: list[OutboxEmail] = ()) -> list[OutboxEmail]:
    """One commit for the group: its sent rows are sent, its failed rows (changed on the
    session by _record_failure) failed or waiting; `give_back`, rows the group did not try,
    lose the try counted for them (the caller has taken it off the objects). The same
    commit starts the next group, `start_next` (its lease renewed, a try counted for each:
    _renew); returns its rows still ours. So one commit per group: the next group's start
    is committed before any of it is sent, as the end of this one is."""
    if group.sent:
        db.session.execute(
            sa.update(OutboxEmail)
            .where(OutboxEmail.id.in_(group.sent), OutboxEmail.claim_token == token)
            .values(status=OutboxStatus.SENT, sent_at=utcnow(), claim_token=None,
                    last_error=None)
            .execution_options(synchronize_session=False)
        )
    if give_back:
        db.session.execute(
            sa.update(OutboxEmail)
            .where(OutboxEmail.id.in_([row.id for row in give_back]),
                   OutboxEmail.claim_token == token)
            .values(attempts=OutboxEmail.attempts - 1)
            .execution_options(synchronize_session=False)
        )
    renewed = _renew(start_next, token) if start_next else {}
    db.session.commit()
    report.sent += len(group.sent)
    report.sent_ids.extend(group.sent)
    return _ours(start_next, renewed)


def _next_group(remaining: list[OutboxEmail], size: int) -> list[OutboxEmail]:
    """Takes the next group off `remaining`: up to `size` first tries, or one row tried before
    alone. A row taken over from a worker that died may be what killed it: alone, its tries
    (counted as they start) never count against the rows that happened to share its group."""
    if remaining[0].attempts:
        return [remaining.pop(0)]
    count = 1
    while count < min(size, len(remaining)) and not remaining[count].attempts:
        count += 1
    group, remaining[:count] = remaining[:count], []
    return group


def _send_batch(remaining: list[OutboxEmail], token: str, report: DispatchReport) -> None:
    config = current_app.config
    size = max(1, config["MAIL_GROUP_SIZE"])
    # A group never runs on a lease older than half its length, so another worker cannot have
    # taken its rows over while it sends them (the other half is for one slow send).
    lease_half = timedelta(seconds=config["MAIL_CLAIM_LEASE_SECONDS"] / 2)
    group: _Group | None = None
    try:
        with TimeoutConnection(current_app.extensions["mail"]) as connection:
            report.connections += 1
            candidates = _next_group(remaining, size)
            started = utcnow()
            renewed = _renew(candidates, token)
            db.session.commit()
            ours = _ours(candidates, renewed)
            while True:
                report.lost += len(candidates) - len(ours)
                group = _Group(untried=ours, started=started)
                while group.untried and utcnow() - group.started < lease_half:
                    group.trying = group.untried.pop(0)
                    usable = _send_one(connection, group.trying, report, group)
                    group.trying = None
                    if not usable:
                        raise _ConnectionLost("the relay stopped answering after a failed email")
                give_back, group.untried = group.untried, []
                for row in give_back:  # _close_group gives their try back in the database
                    set_committed_value(row, "attempts", row.attempts - 1)
                remaining[:0] = give_back
                candidates = _next_group(remaining, size) if remaining else []
                started = utcnow()
                ours = _close_group(group, token, report, give_back, start_next=candidates)
                group = None
                if not candidates:
                    break
    except (OSError, smtplib.SMTPException, _ConnectionLost) as exc:
        report.errors.append(repr(exc))
        if group is not None:
            # Their try was counted when the group started: this is it.
            for row in filter(None, (group.trying, *group.untried)):
                _record_failure(row, repr(exc), report)
            _close_group(group, token, report)
        for row in remaining:
            _retry_later(row, token, repr(exc), report)


def _send_one(connection: Connection, row: OutboxEmail, report: DispatchReport,
              group: _Group) -> bool:
    """Build and send one row of a started group and record how it went (committed with the
    group); False when the connection is no longer usable after its failure. What means the
    connection is gone while sending (OSError, SMTPServerDisconnected…) is raised, the row
    left to the caller."""
    row_id = row.id
    try:
        message = build_message(row)
    except Exception as exc:  # the row's own content: nothing reached the relay
        report.errors.append(f"{row_id}: {exc!r}")
        _record_failure(row, repr(exc), report, permanent=isinstance(exc, PERMANENT_BUILD_ERRORS))
        return True
    try:
        connection.send(message)
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError,
            smtplib.SMTPSenderRefused, smtplib.SMTPNotSupportedError) as exc:
        # smtplib has reset the transaction; the connection goes on.
        report.errors.append(f"{row_id}: {exc}")
        _record_failure(row, repr(exc), report,
                        permanent=isinstance(exc, smtplib.SMTPNotSupportedError) or _permanent(exc))
        return True
    except Exception as exc:
        if _connection_gone(exc):
            raise
        # Anything else (an answer smtplib cannot read…): this email's try, and the batch
        # goes on if the relay still answers.
        report.errors.append(f"{row_id}: {exc!r}")
        usable = _usable(connection)
        _record_failure(row, repr(exc), report)
        return usable
    group.sent.append(row_id)
    return True


def retry_failed(email_ids: list[int] | None = None) -> int:
    """Put failed emails, and emails stuck in "sending" past their lease (stuck_condition),
    back in the queue for an immediate try with their tries counted from zero; returns how
    many.

    The caller commits.
    """
    query = (
        sa.update(OutboxEmail)
        .where(sa.or_(OutboxEmail.status == OutboxStatus.FAILED, stuck_condition()))
        .values(status=OutboxStatus.PENDING, next_attempt_at=utcnow(), attempts=0,
                claim_token=None, claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    if email_ids is not None:
        query = query.where(OutboxEmail.id.in_(email_ids))
    return db.session.execute(query).rowcount
