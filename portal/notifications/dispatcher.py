"""The only code that talks to SMTP: claims pending outbox rows and sends them.

Rows are claimed by a conditional UPDATE (with FOR UPDATE SKIP LOCKED on PostgreSQL) so several
workers never send the same row. Each row is marked sent in its own commit right after the relay
accepts it: a worker killed mid-batch re-sends at most the one email it was sending, once its
claim lease has run out. The claim is renewed just before each send, so a batch that outlasts the
lease never sends a row another worker has taken over meanwhile.
"""

from __future__ import annotations

import smtplib
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from email import policy

import sqlalchemy as sa
from flask import current_app
from flask_mail import Connection, Message

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


def _claim(limit: int) -> tuple[str, list[OutboxEmail]]:
    now = utcnow()
    lease = timedelta(seconds=current_app.config["MAIL_CLAIM_LEASE_SECONDS"])
    due = sa.or_(
        sa.and_(OutboxEmail.status == OutboxStatus.PENDING, OutboxEmail.next_attempt_at <= now),
        # A claim older than the lease belongs to a worker that died while sending.
        sa.and_(OutboxEmail.status == OutboxStatus.SENDING, OutboxEmail.claimed_at < now - lease),
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


def _renew_claim(row_id: int, token: str) -> bool:
    """Restart the lease of a claimed row just before sending it; False if it is no longer ours."""
    renewed = db.session.execute(
        sa.update(OutboxEmail)
        .where(
            OutboxEmail.id == row_id,
            OutboxEmail.claim_token == token,
            OutboxEmail.status == OutboxStatus.SENDING,
        )
        .values(claimed_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return renewed == 1


# Flask-Mail writes with the SMTP policy, whose header objects re-parse every header as the
# message is written (about twice the time of the whole send on a small machine); the same bytes
# come out of the compat32 generator, in which the headers were built anyway.
_WIRE_POLICY = policy.compat32.clone(linesep="\r\n")


class OutboxMessage(Message):
    def as_bytes(self) -> bytes:
        return self._message().as_bytes(policy=_WIRE_POLICY)


def _message(row: OutboxEmail) -> Message:
    msg = OutboxMessage(
        subject=row.subject,
        recipients=[row.recipient],
        body=row.text_body,
        html=row.html_body,
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
        extra_headers={"X-Portal-Kind": row.kind},
        reply_to=row.reply_to,
    )
    # Flask-Mail writes its own random Message-ID; a second one in extra_headers would be a
    # duplicate header. The row's id stays the same across retries.
    msg.msgId = row.message_id
    if row.document_id is not None:  # an invoice's PDF, as it was issued
        document = row.document
        msg.attach(document.filename, document.media_type, document.content)
    return msg


def _permanent(exc: smtplib.SMTPException) -> bool:
    """A 5xx answer will not change on a retry (RFC 5321, 4.2.1); a 4xx one may."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _text in exc.recipients.values()]
    else:
        codes = [getattr(exc, "smtp_code", 0)]
    return bool(codes) and all(500 <= code < 600 for code in codes)


def _retry_later(
    row: OutboxEmail, token: str, error: str, report: DispatchReport, *, permanent: bool = False
) -> None:
    config = current_app.config
    db.session.refresh(row)  # rows are not expired while sending (see send_pending)
    if row.claim_token != token:
        report.lost += 1
        return
    row.attempts += 1
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
    db.session.commit()


def send_pending(limit: int | None = None) -> DispatchReport:
    """Send the emails that are due, over one SMTP connection; returns what happened.

    A refused recipient or message counts as a failed try for that row alone (a permanent, 5xx,
    refusal fails it at once); a relay that cannot be reached or drops the connection sends the
    rest of the batch back to wait.
    """
    report = DispatchReport()
    token, rows = _claim(limit or current_app.config["MAIL_BATCH_SIZE"])
    report.claimed = len(rows)
    if not rows:
        return report
    # Each email is committed on its own; expiring the whole batch at every commit would reload
    # each row and cost time in proportion to the batch for every email sent.
    session = db.session()
    expire_on_commit, session.expire_on_commit = session.expire_on_commit, False
    try:
        _send_batch(list(rows), token, report)
    finally:
        session.expire_on_commit = expire_on_commit
    return report


def _send_batch(remaining: list[OutboxEmail], token: str, report: DispatchReport) -> None:
    try:
        with TimeoutConnection(current_app.extensions["mail"]) as connection:
            report.connections += 1
            while remaining:
                row, row_id = remaining[0], remaining[0].id
                if not _renew_claim(row_id, token):
                    remaining.pop(0)
                    report.lost += 1
                    continue
                try:
                    connection.send(_message(row))
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError,
                        smtplib.SMTPSenderRefused) as exc:
                    remaining.pop(0)
                    report.errors.append(f"{row_id}: {exc}")
                    _retry_later(row, token, repr(exc), report, permanent=_permanent(exc))
                    continue
                remaining.pop(0)
                row.status = OutboxStatus.SENT
                row.sent_at = utcnow()
                row.attempts += 1
                row.claim_token = None
                row.last_error = None
                db.session.commit()
                report.sent += 1
                report.sent_ids.append(row_id)
    except (OSError, smtplib.SMTPException) as exc:
        report.errors.append(repr(exc))
        for row in remaining:
            _retry_later(row, token, repr(exc), report)


def retry_failed(email_ids: list[int] | None = None) -> int:
    """Put failed emails back in the queue for an immediate try; returns how many.

    The caller commits.
    """
    query = (
        sa.update(OutboxEmail)
        .where(OutboxEmail.status == OutboxStatus.FAILED)
        .values(status=OutboxStatus.PENDING, next_attempt_at=utcnow(), attempts=0)
        .execution_options(synchronize_session=False)
    )
    if email_ids is not None:
        query = query.where(OutboxEmail.id.in_(email_ids))
    return db.session.execute(query).rowcount
