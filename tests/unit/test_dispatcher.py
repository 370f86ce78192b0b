"""Only the dispatcher talks to SMTP: it sends what is due exactly once, retries with backoff when
the relay is away, gives up after MAIL_MAX_ATTEMPTS, takes over the claims of dead workers, and
several workers never send the same row.

Everything crosses real SMTP on loopback (aiosmtpd); time moves with time_machine."""

from __future__ import annotations

import email
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from email import policy
from email.errors import HeaderParseError
from types import SimpleNamespace

import hypothesis
import pytest
import sqlalchemy as sa
import time_machine
from hypothesis import strategies as st

from portal.extensions import db, utcnow
from portal.notifications.dispatcher import (
    _WIRE_POLICY,
    OutboxMessage,
    _header_address,
    build_message,
    send_pending,
)
from portal.notifications.models import OutboxEmail, OutboxStatus
from portal.notifications.outbox import queue_email
from tests.conftest import Mailbox, free_port, relay

START = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


def queue(ctx, *recipients: str) -> list[int]:
    """One committed outbox row per recipient; returns their ids."""
    ids = []
    with ctx() as session:
        for address in recipients:
            row = queue_email(
                kind="reset_password", key=f"test:{address}", to=address,
                subject="Reset your password", locale="en",
                user=SimpleNamespace(display_name=address),
                link="http://127.0.0.1:5000/password/reset/some-token", minutes=60,
            )
            ids.append(row.id)
        session.commit()
    return ids


def rows(ctx) -> list[OutboxEmail]:
    with ctx() as session:
        found = list(session.scalars(sa.select(OutboxEmail).order_by(OutboxEmail.id)))
        session.expunge_all()
    return found


def row_for(ctx, address: str) -> OutboxEmail:
    [found] = [r for r in rows(ctx) if r.recipient == address]
    return found


def message_ids(box: Mailbox) -> list[str]:
    return [str(m["Message-ID"]).strip() for m in box.messages]


@pytest.fixture
def relay_down(app, monkeypatch):
    """Point the app at a loopback port where nothing listens."""
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())


# --- sending ------------------------------------------------------------------------------


def test_pending_rows_are_sent_once_each_with_their_message_id(ctx, mailbox):
    addresses = [f"reader{i}@example.test" for i in range(3)]
    queue(ctx, *addresses)

    report = mailbox.deliver()

    assert (report.claimed, report.sent, report.retried, report.failed) == (3, 3, 0, 0)
    assert report.connections == 1  # one SMTP connection for the batch
    assert report.errors == []
    sent = rows(ctx)
    assert [r.status for r in sent] == [OutboxStatus.SENT] * 3
    assert sorted(report.sent_ids) == [r.id for r in sent]
    for row in sent:
        assert row.attempts == 1
        assert row.sent_at is not None and row.claim_token is None
        [message] = mailbox.to(row.recipient)
        # Exactly one header, ours (a long one is folded onto its own line).
        assert [h.strip() for h in message.get_all("Message-ID")] == [row.message_id]
        assert message["Subject"] == row.subject
        assert message["X-Portal-Kind"] == "reset_password"
        assert Mailbox.text(message).replace("\r\n", "\n").strip() == row.text_body.strip()
        assert "<html" in Mailbox.html(message)
    assert len(mailbox.messages) == 3
    assert len(set(message_ids(mailbox))) == 3

    again = mailbox.deliver()
    assert (again.claimed, again.sent) == (0, 0)
    assert len(mailbox.messages) == 3


def test_a_pass_claims_at_most_a_batch(app, ctx, mailbox, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_BATCH_SIZE", 3)
    ids = queue(ctx, *(f"many{i}@example.test" for i in range(7)))
    reports = [mailbox.deliver() for _ in range(4)]
    assert [r.claimed for r in reports] == [3, 3, 1, 0]
    assert [r.sent_ids for r in reports] == [ids[:3], ids[3:6], ids[6:], []]


def test_an_explicit_limit_wins_over_the_batch_size(app, ctx, mailbox):
    ids = queue(ctx, *(f"few{i}@example.test" for i in range(3)))
    with app.app_context():
        report = send_pending(limit=2)
    assert report.sent_ids == ids[:2]


def test_an_empty_outbox_opens_no_connection(mailbox, relay_down):
    report = mailbox.deliver()
    assert (report.claimed, report.connections, report.errors) == (0, 0, [])


# --- the relay is away --------------------------------------------------------------------


def test_a_page_answers_while_the_relay_is_down_and_the_email_arrives_once_it_is_back(
    app, client, ctx, factory, mailbox, relay_down
):
    ama, kofi = factory.user(locale="en"), factory.user(locale="fr")
    base = app.config["MAIL_RETRY_BASE_SECONDS"]
    with time_machine.travel(START, tick=False) as traveller:
        for user in (ama, kofi):
            response = client.submit("/password/forgot", {"email": user.email})
            assert response.status_code == 302  # queued, not sent: the page does not wait
            assert response.location.endswith("/login")
        assert [(r.status, r.attempts) for r in rows(ctx)] == [(OutboxStatus.PENDING, 0)] * 2

        # Each failed pass pushes the next try back: base, 2 x base, 4 x base...
        for attempt in (1, 2, 3):
            report = mailbox.deliver()
            assert (report.claimed, report.sent, report.retried) == (2, 0, 2)
            assert report.connections == 0 and report.errors
            delay = timedelta(seconds=base * 2 ** (attempt - 1))
            for row in rows(ctx):
                assert row.status is OutboxStatus.PENDING
                assert row.attempts == attempt
                assert row.next_attempt_at == utcnow() + delay
                assert row.claim_token is None
                assert "refused" in row.last_error.lower()
            # Not due before the backoff has run out.
            traveller.shift(delay - timedelta(seconds=1))
            assert mailbox.deliver().claimed == 0
            traveller.shift(timedelta(seconds=1))

        app.config["MAIL_PORT"] = mailbox.port  # the relay is back
        report = mailbox.deliver()
        assert (report.claimed, report.sent, report.retried) == (2, 2, 0)
        traveller.shift(timedelta(hours=12))
        assert mailbox.deliver().claimed == 0

    assert len(mailbox.to(ama.email)) == 1
    assert len(mailbox.to(kofi.email)) == 1
    assert len(mailbox.messages) == 2
    for row in rows(ctx):
        assert (row.status, row.attempts, row.last_error) == (OutboxStatus.SENT, 4, None)


def test_the_backoff_is_capped(app, ctx, mailbox, relay_down, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_RETRY_MAX_SECONDS", 100)
    queue(ctx, "capped@example.test")
    with time_machine.travel(START, tick=False) as traveller:
        delays = []
        for _ in range(4):
            mailbox.deliver()
            row = row_for(ctx, "capped@example.test")
            delays.append((row.next_attempt_at - utcnow()).total_seconds())
            traveller.move_to(row.next_attempt_at)
    assert delays == [30, 60, 100, 100]


def test_after_max_attempts_an_email_is_failed_and_left_alone(app, ctx, mailbox, relay_down,
                                                              monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_MAX_ATTEMPTS", 3)
    queue(ctx, "unlucky@example.test")
    with time_machine.travel(START, tick=False) as traveller:
        reports = []
        for _ in range(3):
            reports.append(mailbox.deliver())
            traveller.shift(timedelta(days=1))
        assert [(r.retried, r.failed) for r in reports] == [(1, 0), (1, 0), (0, 1)]
        row = row_for(ctx, "unlucky@example.test")
        assert (row.status, row.attempts) == (OutboxStatus.FAILED, 3)
        assert row.last_error

        app.config["MAIL_PORT"] = mailbox.port
        traveller.shift(timedelta(days=30))
        assert mailbox.deliver().claimed == 0
    assert mailbox.messages == []


# --- dead and slow workers ----------------------------------------------------------------


def test_a_stale_claim_of_a_dead_worker_is_taken_over_and_sent_once(app, ctx, mailbox):
    lease = timedelta(seconds=app.config["MAIL_CLAIM_LEASE_SECONDS"])
    with time_machine.travel(START, tick=False):
        stale, fresh, done = queue(ctx, "stale@example.test", "fresh@example.test",
                                   "done@example.test")
        with ctx() as session:
            # A worker died while sending `stale`, long ago; another one is sending `fresh` now;
            # `done` was sent before the first one died.
            for row_id, claimed_at in ((stale, utcnow() - lease - timedelta(seconds=1)),
                                       (fresh, utcnow() - lease + timedelta(seconds=1))):
                row = session.get(OutboxEmail, row_id)
                row.status, row.claimed_at, row.claim_token = (
                    OutboxStatus.SENDING, claimed_at, "dead-worker-claim")
            row = session.get(OutboxEmail, done)
            row.status, row.sent_at, row.attempts = OutboxStatus.SENT, utcnow(), 1
            session.commit()

        report = mailbox.deliver()
        assert (report.claimed, report.sent, report.sent_ids) == (1, 1, [stale])
        assert mailbox.deliver().claimed == 0

    assert [str(m["To"]) for m in mailbox.messages] == ["stale@example.test"]
    by_id = {r.id: r for r in rows(ctx)}
    assert by_id[stale].status is OutboxStatus.SENT
    assert by_id[fresh].status is OutboxStatus.SENDING
    assert by_id[fresh].claim_token == "dead-worker-claim"


def test_a_slow_batch_renews_its_lease_group_by_group(app, ctx, mailbox):
    """A slow relay: each email takes 60% of the lease. A group closes once half the lease has
    gone, and the next one renews the claim of the rows left: a second worker that starts
    meanwhile finds nothing to take over, and every email goes once."""
    lease = app.config["MAIL_CLAIM_LEASE_SECONDS"]
    second_worker: list = []

    class SlowRelay(Mailbox):
        async def handle_DATA(self, server, session, envelope):
            answer = await super().handle_DATA(server, session, envelope)
            traveller.shift(lease * 0.6)
            if len(self.messages) == 2:
                with app.app_context():
                    second_worker.append(send_pending())
                    db.session.remove()
            return answer

    ids = queue(ctx, *(f"batch{i}@example.test" for i in range(4)))
    with time_machine.travel(START, tick=False) as traveller, relay(app, SlowRelay) as slow:
        first = slow.deliver()

    [second] = second_worker
    assert (first.claimed, first.sent, first.lost, first.sent_ids) == (4, 4, 0, ids)
    assert second.claimed == 0
    assert Counter(message_ids(slow)) == Counter(r.message_id for r in rows(ctx))
    # Each row's try counted once: a try given back by a closed group is not counted twice.
    assert all(r.status is OutboxStatus.SENT and r.attempts == 1 for r in rows(ctx))


def test_a_batch_that_outlasts_its_lease_never_sends_what_another_worker_took_over(app, ctx,
                                                                                      mailbox):
    """One send outlasts the whole lease (a relay that hangs): a second worker takes over the
    claims meanwhile; the first worker must then leave the rest of its batch alone."""
    lease = app.config["MAIL_CLAIM_LEASE_SECONDS"]
    second_worker: list = []

    class HangingRelay(Mailbox):
        async def handle_DATA(self, server, session, envelope):
            answer = await super().handle_DATA(server, session, envelope)
            if len(self.messages) == 1:
                traveller.shift(lease * 1.1)
                # The second worker sends through another relay: this one is busy answering.
                with relay(app) as other_relay, app.app_context():
                    second_worker.append((send_pending(), other_relay.messages))
                    db.session.remove()
            return answer

    ids = queue(ctx, *(f"batch{i}@example.test" for i in range(4)))
    with time_machine.travel(START, tick=False) as traveller, relay(app, HangingRelay) as slow:
        first = slow.deliver()

    [(second, second_messages)] = second_worker
    assert (first.claimed, first.lost, first.sent_ids) == (4, 3, ids[:1])
    # The email whose send outlasted the lease is the one that can go twice.
    assert (second.claimed, second.sent_ids) == (4, ids)
    assert [str(m["To"]) for m in slow.messages] == ["batch0@example.test"]
    assert sorted(str(m["To"]) for m in second_messages) == sorted(r.recipient for r in rows(ctx))
    assert all(r.status is OutboxStatus.SENT for r in rows(ctx))


# --- refused recipients -------------------------------------------------------------------


class PickyRelay(Mailbox):
    """Refuses one mailbox for good (550) and asks to try another one later (451)."""

    REFUSED = "nobody@example.test"
    BUSY = "busy@example.test"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.REFUSED:
            return "550 5.1.1 No such mailbox here"
        if address == self.BUSY:
            return "451 4.2.1 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_refused_recipient_fails_that_email_alone(app, ctx):
    addresses = ["first@example.test", PickyRelay.REFUSED, PickyRelay.BUSY, "last@example.test"]
    queue(ctx, *addresses)
    with time_machine.travel(START, tick=False), relay(app, PickyRelay) as picky:
        report = picky.deliver()

    assert (report.claimed, report.sent, report.retried, report.failed) == (4, 2, 1, 1)
    assert report.connections == 1
    assert sorted(str(m["To"]) for m in picky.messages) == ["first@example.test",
                                                            "last@example.test"]
    refused, busy = row_for(ctx, PickyRelay.REFUSED), row_for(ctx, PickyRelay.BUSY)
    assert (refused.status, refused.attempts) == (OutboxStatus.FAILED, 1)
    assert "550" in refused.last_error
    assert (busy.status, busy.attempts) == (OutboxStatus.PENDING, 1)
    assert busy.next_attempt_at == START + timedelta(seconds=app.config["MAIL_RETRY_BASE_SECONDS"])
    assert "451" in busy.last_error
    for address in ("first@example.test", "last@example.test"):
        assert row_for(ctx, address).status is OutboxStatus.SENT


# --- one email never stops the others -------------------------------------------------------


def queue_raw(ctx, address: str, subject: str = "Hello", key: str | None = None) -> int:
    """A committed row as an older version of the portal could have stored it (nothing
    checked): a line break in the address or the subject, an address SMTP cannot carry."""
    with ctx() as session:
        row = queue_email(
            kind="reset_password", key=key or f"raw:{address}:{subject}", to=address,
            subject=subject, locale="en", user=SimpleNamespace(display_name="Someone"),
            link="http://127.0.0.1:5000/password/reset/some-token", minutes=60,
        )
        session.commit()
        return row.id


INJECTED = "victim@example.test\r\nBcc: x@example.test"
UNENCODABLE = "é@exemple.test"


def test_poisoned_rows_fail_alone_and_every_ordinary_email_goes_in_one_pass(app, ctx):
    """A line break in an address (BadHeaderError), an address SMTP cannot carry
    (UnicodeEncodeError) and a subject with a line break in it, among ordinary emails: one
    pass over one connection sends every ordinary email and the subject made safe; the two
    others fail at once, their error kept, their try counted."""
    first = queue(ctx, "first@example.test")
    injected = queue_raw(ctx, INJECTED)
    unencodable = queue_raw(ctx, UNENCODABLE)
    subject = queue_raw(ctx, "subject@example.test", subject="A\r\nBcc: x@example.test")
    last = queue(ctx, "second@example.test", "third@example.test")
    with time_machine.travel(START, tick=False), relay(app, RecordingRelay) as box:
        report = box.deliver()
        again = box.deliver()

    assert (report.claimed, report.sent, report.failed, report.retried) == (6, 4, 2, 0)
    assert report.connections == 1
    assert sorted(report.sent_ids) == sorted([*first, subject, *last])
    assert again.claimed == 0  # nothing left claimed, nothing stuck in "sending"
    by_id = {r.id: r for r in rows(ctx)}
    assert (by_id[injected].status, by_id[injected].attempts) == (OutboxStatus.FAILED, 1)
    assert "BadHeaderError" in by_id[injected].last_error
    assert (by_id[unencodable].status, by_id[unencodable].attempts) == (OutboxStatus.FAILED, 1)
    assert "UnicodeEncodeError" in by_id[unencodable].last_error
    for row_id in (*first, subject, *last):
        assert (by_id[row_id].status, by_id[row_id].attempts) == (OutboxStatus.SENT, 1)
        assert by_id[row_id].claim_token is None

    # Each ordinary email arrived once; the subject's line break is a space, no Bcc slipped in.
    assert sorted(box.recipients) == sorted([["first@example.test"], ["subject@example.test"],
                                             ["second@example.test"], ["third@example.test"]])
    message = box.last_to("subject@example.test")
    assert message["Subject"] == "A Bcc: x@example.test"
    assert message["Bcc"] is None


class RecordingRelay(Mailbox):
    """Keeps the envelope's recipients of each message too."""

    def __init__(self, app) -> None:
        super().__init__(app)
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server, session, envelope):
        self.recipients.append(list(envelope.rcpt_tos))
        return await super().handle_DATA(server, session, envelope)


@pytest.mark.parametrize("sender", [
    'Agence "Plume"\r\nBcc: x@example.test <no-reply@portal.test>',
    ('Agence "Plume"\nBcc: x@example.test', "no-reply@portal.test"),
])
def test_a_display_name_with_a_line_break_is_sent_safely(app, ctx, monkeypatch, sender):
    """Names in From and Reply-To are made safe like subjects: the line break is a space, the
    name quoted as it needs, nobody else receives the email."""
    monkeypatch.setitem(app.config, "MAIL_DEFAULT_SENDER", sender)
    queue(ctx, "reader@example.test")
    with relay(app, RecordingRelay) as box:
        assert box.deliver().sent == 1
    [message] = box.messages
    [author] = message["From"].addresses
    assert (author.display_name, author.addr_spec) == (
        'Agence "Plume" Bcc: x@example.test', "no-reply@portal.test")
    assert message["Bcc"] is None and box.recipients == [["reader@example.test"]]


def test_a_poisoned_row_is_not_taken_first_at_every_pass(app, ctx, mailbox, monkeypatch):
    """The old failure: a batch died on its first row, which stayed "sending" and was claimed
    first again once the lease ran out. Now it fails and the next passes send the others."""
    monkeypatch.setitem(app.config, "MAIL_BATCH_SIZE", 2)
    poisoned = queue_raw(ctx, INJECTED)
    ordinary = queue(ctx, *(f"reader{i}@example.test" for i in range(3)))
    reports = [mailbox.deliver() for _ in range(3)]
    assert [r.sent_ids for r in reports] == [ordinary[:1], ordinary[1:], []]
    assert [r.failed for r in reports] == [1, 0, 0]
    assert row_for(ctx, INJECTED).id == poisoned
    assert row_for(ctx, INJECTED).status is OutboxStatus.FAILED


def test_a_try_is_counted_as_it_starts(app, ctx):
    """A worker that dies while sending leaves its try counted: the relay sees the row at
    attempts 1 while it is being sent."""
    seen: list = []

    class Watching(Mailbox):
        async def handle_DATA(self, server, session, envelope):
            with app.app_context():
                seen.extend((r.status, r.attempts) for r in
                            db.session.scalars(sa.select(OutboxEmail)))
                db.session.remove()
            return await super().handle_DATA(server, session, envelope)

    queue(ctx, "watched@example.test")
    with relay(app, Watching) as box:
        assert box.deliver().sent == 1
    assert seen == [(OutboxStatus.SENDING, 1)]
    assert row_for(ctx, "watched@example.test").attempts == 1


def test_a_row_that_kills_its_worker_at_every_try_ends_failed(app, ctx, mailbox, monkeypatch):
    """Each try of a row a worker dies on was counted when it started: once they are used up,
    the stale claim is failed instead of being taken over again, and the others go."""
    monkeypatch.setitem(app.config, "MAIL_MAX_ATTEMPTS", 3)
    lease = timedelta(seconds=app.config["MAIL_CLAIM_LEASE_SECONDS"])
    with time_machine.travel(START, tick=False):
        killer, survivor = queue(ctx, "killer@example.test", "survivor@example.test")
        ordinary = queue(ctx, "ordinary@example.test")
        with ctx() as session:
            for row_id, attempts in ((killer, 3), (survivor, 2)):
                row = session.get(OutboxEmail, row_id)
                row.status, row.attempts, row.claim_token = (
                    OutboxStatus.SENDING, attempts, "dead-worker-claim")
                row.claimed_at = utcnow() - lease - timedelta(seconds=1)
            session.commit()
        report = mailbox.deliver()

    assert sorted(report.sent_ids) == sorted([survivor, *ordinary])
    row = row_for(ctx, "killer@example.test")
    assert (row.status, row.attempts, row.claim_token) == (OutboxStatus.FAILED, 3, None)
    assert "worker stopped" in row.last_error
    assert mailbox.to("killer@example.test") == []


class LongReplyRelay(Mailbox):
    """Answers the message to one mailbox with a reply line longer than SMTP allows: smtplib
    raises an error of no usual kind and closes the connection."""

    ODD = "odd@example.test"

    async def handle_DATA(self, server, session, envelope):
        if self.ODD in envelope.rcpt_tos:
            return "250 " + "x" * 9000
        return await super().handle_DATA(server, session, envelope)


def test_an_odd_failure_retries_that_email_and_a_dead_connection_sends_the_rest_back(app, ctx):
    first = queue(ctx, "before@example.test")
    odd = queue(ctx, LongReplyRelay.ODD)
    rest = queue(ctx, "after1@example.test", "after2@example.test")
    with time_machine.travel(START, tick=False), relay(app, LongReplyRelay) as box:
        report = box.deliver()
        assert (report.sent_ids, report.retried, report.failed) == (first, 3, 0)
        by_id = {r.id: r for r in rows(ctx)}
        assert (by_id[odd[0]].status, by_id[odd[0]].attempts) == (OutboxStatus.PENDING, 1)
        assert "Line too long" in by_id[odd[0]].last_error
        for row_id in rest:  # back to wait: the connection was gone
            assert by_id[row_id].status is OutboxStatus.PENDING
            assert "stopped answering" in by_id[row_id].last_error
        assert box.deliver().claimed == 0  # each waits for its backoff
    assert [str(m["To"]) for m in box.messages] == ["before@example.test"]


# --- the managers' page -------------------------------------------------------------------


def fail(ctx, *addresses: str) -> list[int]:
    ids = queue(ctx, *addresses)
    with ctx() as session:
        for row_id in ids:
            row = session.get(OutboxEmail, row_id)
            row.status, row.attempts, row.last_error = OutboxStatus.FAILED, 8, "550 no thanks"
        session.commit()
    return ids


def test_a_manager_sees_failed_emails_and_puts_them_back_in_the_queue(ctx, login_as, mailbox):
    fail(ctx, "lost-one@example.test", "lost-two@example.test")
    queue(ctx, "waiting@example.test")
    manager = login_as("manager")

    page = manager.get("/admin/emails")
    assert page.status_code == 200
    assert "lost-one@example.test" in page.text and "lost-two@example.test" in page.text
    assert "waiting@example.test" not in page.text  # the failed tab is the default
    assert "waiting@example.test" in manager.get("/admin/emails?status=pending").text

    assert manager.post("/admin/emails/retry").status_code == 400  # no CSRF token
    assert row_for(ctx, "lost-one@example.test").status is OutboxStatus.FAILED

    response = manager.submit("/admin/emails/retry", page="/admin/emails")
    assert response.status_code == 302
    assert response.location.endswith("/admin/emails")
    for address in ("lost-one@example.test", "lost-two@example.test"):
        row = row_for(ctx, address)
        assert (row.status, row.attempts) == (OutboxStatus.PENDING, 0)
        assert row.next_attempt_at <= utcnow()
    assert "lost-one@example.test" not in manager.get("/admin/emails").text

    report = mailbox.deliver()
    assert report.sent == 3
    assert len(mailbox.to("lost-one@example.test")) == 1


def test_a_manager_retries_one_failed_email(ctx, login_as):
    one, _other = fail(ctx, "one@example.test", "other@example.test")
    manager = login_as("manager")
    response = manager.submit(f"/admin/emails/{one}/retry", page="/admin/emails")
    assert response.status_code == 302
    assert row_for(ctx, "one@example.test").status is OutboxStatus.PENDING
    assert row_for(ctx, "other@example.test").status is OutboxStatus.FAILED
    # A row that is not failed cannot be "retried".
    assert manager.submit(f"/admin/emails/{one}/retry", page="/admin/emails").status_code == 404


def claimed(ctx, row_id: int, ago: timedelta) -> None:
    """The row is "sending", claimed `ago` by a worker."""
    with ctx() as session:
        row = session.get(OutboxEmail, row_id)
        row.status, row.claim_token, row.claimed_at = (
            OutboxStatus.SENDING, "some-worker-claim", utcnow() - ago)
        row.attempts = 1
        session.commit()


def test_a_manager_sees_emails_stuck_in_sending_and_puts_them_back(app, ctx, login_as,
                                                                   mailbox):
    lease = timedelta(seconds=app.config["MAIL_CLAIM_LEASE_SECONDS"])
    stuck, busy = queue(ctx, "stuck@example.test", "busy@example.test")
    claimed(ctx, stuck, lease + timedelta(minutes=1))  # its worker stopped
    claimed(ctx, busy, timedelta(seconds=5))  # a worker is sending it now
    manager = login_as("manager")

    page = manager.get("/admin/emails")  # the failed tab, where managers look
    assert page.status_code == 200
    assert 'data-testid="stuck-emails"' in page.text
    assert "/admin/emails?status=stuck" in page.text
    assert "/admin/emails/retry" in page.text

    listed = manager.get("/admin/emails?status=stuck").text
    assert "stuck@example.test" in listed and "busy@example.test" not in listed
    assert f"/admin/emails/{stuck}/retry" in listed
    sending = manager.get("/admin/emails?status=sending").text
    assert "busy@example.test" in sending and f"/admin/emails/{busy}/retry" not in sending

    assert manager.post(f"/admin/emails/{stuck}/retry").status_code == 400  # no CSRF token
    assert row_for(ctx, "stuck@example.test").status is OutboxStatus.SENDING
    response = manager.submit(f"/admin/emails/{stuck}/retry", page="/admin/emails?status=stuck")
    assert response.status_code == 302
    row = row_for(ctx, "stuck@example.test")
    assert (row.status, row.attempts, row.claim_token, row.claimed_at) == (
        OutboxStatus.PENDING, 0, None, None)
    # An email a worker is sending right now is not put back.
    assert manager.submit(f"/admin/emails/{busy}/retry", page="/admin/emails").status_code == 404
    assert 'data-testid="stuck-emails"' not in manager.get("/admin/emails").text

    report = mailbox.deliver()
    assert report.sent_ids == [stuck]
    assert row_for(ctx, "busy@example.test").claim_token == "some-worker-claim"


def test_retrying_every_failed_email_takes_the_stuck_ones_too(app, ctx, login_as):
    lease = timedelta(seconds=app.config["MAIL_CLAIM_LEASE_SECONDS"])
    fail(ctx, "failed@example.test")
    stuck, busy = queue(ctx, "stuck@example.test", "busy@example.test")
    claimed(ctx, stuck, lease + timedelta(minutes=1))
    claimed(ctx, busy, timedelta(seconds=5))
    manager = login_as("manager")
    assert manager.submit("/admin/emails/retry", page="/admin/emails").status_code == 302
    assert row_for(ctx, "failed@example.test").status is OutboxStatus.PENDING
    assert row_for(ctx, "stuck@example.test").status is OutboxStatus.PENDING
    assert row_for(ctx, "busy@example.test").status is OutboxStatus.SENDING


@pytest.mark.parametrize("role", ["writer", "client"])
@pytest.mark.parametrize(("method", "url"), [
    ("get", "/admin/emails"),
    ("get", "/admin/emails?status=sent"),
    ("post", "/admin/emails/retry"),
    ("post", "/admin/emails/{id}/retry"),
])
def test_writers_and_clients_do_not_see_the_emails_page(ctx, login_as, role, method, url):
    [row_id] = fail(ctx, "secret@example.test")
    user = login_as(role)
    url = url.format(id=row_id)
    response = user.get(url) if method == "get" else user.submit(url, page="/")
    assert response.status_code == 404
    assert "secret@example.test" not in response.text
    assert row_for(ctx, "secret@example.test").status is OutboxStatus.FAILED


def test_visitors_are_sent_to_login(client):
    response = client.get("/admin/emails")
    assert response.status_code == 302
    assert "/login" in response.location


# --- several workers at once --------------------------------------------------------------


def test_concurrent_workers_send_every_email_exactly_once(app, ctx, mailbox, monkeypatch):
    """Several workers (threads, each in its own app context, so their own connection) race
    over the same rows in small batches; the claim gives each row to exactly one of them."""
    assert not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///:memory:")
    monkeypatch.setitem(app.config, "MAIL_BATCH_SIZE", 3)
    ids = queue(ctx, *(f"crowd{i}@example.test" for i in range(40)))
    workers = 6
    start = threading.Barrier(workers)
    reports: list = []
    errors: list = []

    def worker():
        try:
            start.wait(timeout=30)
            while True:
                with app.app_context():
                    try:
                        report = send_pending()
                    finally:
                        db.session.remove()
                reports.append(report)
                if not report.claimed:
                    return
        except Exception as exc:  # reported below, with the thread's traceback lost otherwise
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert errors == []

    sent_ids = [row_id for r in reports for row_id in r.sent_ids]
    assert sorted(sent_ids) == ids  # every row sent, by exactly one worker
    assert sum(r.retried + r.failed + r.lost for r in reports) == 0
    assert len([r for r in reports if r.sent]) > 1  # the work really was shared
    counts = Counter(message_ids(mailbox))
    assert len(counts) == 40 and set(counts.values()) == {1}
    assert all(r.status is OutboxStatus.SENT and r.attempts == 1 for r in rows(ctx))


# --- the command line ---------------------------------------------------------------------


def test_flask_mail_send_pending(app, ctx, mailbox):
    queue(ctx, "cli@example.test")
    runner = app.test_cli_runner()

    result = runner.invoke(args=["mail", "send-pending"])
    assert result.exit_code == 0, result.output
    assert "claimed 1, sent 1, retry later 0, failed 0" in result.output
    assert len(mailbox.to("cli@example.test")) == 1

    result = runner.invoke(args=["mail", "send-pending"])
    assert result.exit_code == 0
    assert "claimed 0, sent 0" in result.output
    assert len(mailbox.messages) == 1


def test_flask_mail_send_pending_with_the_relay_down(app, ctx, relay_down):
    queue(ctx, "later@example.test")
    result = app.test_cli_runner().invoke(args=["mail", "send-pending"])
    assert result.exit_code == 0
    assert "claimed 1, sent 0, retry later 1, failed 0" in result.stdout
    assert "error:" in result.stderr
    assert row_for(ctx, "later@example.test").status is OutboxStatus.PENDING


# --- the bytes written -------------------------------------------------------------------

HEADER_NAMES = ("Subject", "From", "To", "Reply-To", "Content-Type", "X-Portal-Kind", "Date")


@hypothesis.settings(max_examples=500, deadline=None)
@hypothesis.given(name=st.sampled_from(HEADER_NAMES),
                  value=st.one_of(st.text(max_size=120),
                                  st.text(st.characters(max_codepoint=127), max_size=90)))
def test_the_wire_policy_folds_every_header_as_compat32_does(name, value):
    """The short cut for one short line of ASCII changes no byte of what compat32 writes, and
    what compat32 refuses (a value that embeds another header) is refused still."""
    compat32 = policy.compat32.clone(linesep="\r\n")
    try:
        expected = compat32.fold_binary(name, value)
    except HeaderParseError:
        with pytest.raises(HeaderParseError):
            _WIRE_POLICY.fold_binary(name, value)
        return
    assert _WIRE_POLICY.fold_binary(name, value) == expected


def test_a_built_email_is_the_same_bytes_as_compat32_writes(app, ctx):
    [row_id] = queue(ctx, "Ama Mensah <ama@example.test>")
    with ctx() as session:
        message = build_message(session.get(OutboxEmail, row_id))
        mime = message._message()
        for part in mime.walk():
            if part.is_multipart():
                part.set_boundary("==fixed-boundary==")
        written = mime.as_bytes(policy=_WIRE_POLICY)
        assert written == mime.as_bytes(policy=policy.compat32.clone(linesep="\r\n"))
        assert b"\r\nX-Portal-Kind: reset_password\r\n" in written


def written_by_the_generator(message: OutboxMessage, mixed: str, alternative: str) -> bytes:
    """What email's generator writes for the tree Flask-Mail builds, with these boundaries."""
    tree = message._message()
    multiparts = [part for part in tree.walk() if part.is_multipart()]
    for part, boundary in zip(multiparts, (mixed, alternative), strict=True):
        part.set_boundary(boundary)
    return tree.as_bytes(policy=_WIRE_POLICY)


# Lines about the 998 octets RFC 5322 allows (2.1.1), in characters of one to four octets and
# in what quoted-printable escapes, beside text of any kind, with line breaks of every kind.
_RUNS = st.builds(str.__mul__, st.sampled_from(["a", "é", "€", "😀", "x=", " ", "\t"]),
                  st.integers(200, 1100))
LONG_LINES = st.lists(st.tuples(st.one_of(st.text(max_size=40), _RUNS),
                                st.sampled_from(["", "\n", "\r\n", "\r"])),
                      min_size=1, max_size=4).map(lambda parts: "".join(map("".join, parts)))
BODIES = st.one_of(st.text(max_size=400), LONG_LINES)


@hypothesis.settings(max_examples=400, deadline=None)
@hypothesis.given(subject=st.text(max_size=120), body=BODIES, html=BODIES,
                  name=st.text(max_size=40),
                  reply_name=st.one_of(st.none(), st.text(max_size=40)),
                  recipient=st.sampled_from(["ama@example.test", "Ama Mensah <ama@example.test>",
                                             "Élodie Kéré <elodie@example.test>"]))
def test_an_email_is_written_directly_as_the_generator_writes_its_tree(
        app, subject, body, html, name, reply_name, recipient):
    """OutboxMessage.wire writes what Flask-Mail's tree of MIME parts gives through the
    generator, byte for byte (line breaks of every kind in the bodies, text in any script,
    empty parts, lines too long for 8bit, subjects that need encoding or folding), and fails
    where that fails. No line of either is longer than RFC 5322 allows."""
    message = OutboxMessage(
        message_id="<42.a1b2c3@portal.test>", subject=subject, recipient=recipient, body=body,
        html=html, sender=_header_address((name, "no-reply@portal.test")),
        reply_to=None if reply_name is None else _header_address(
            (reply_name, "reply+a1b2c3@portal.test")),
        kind="reset_password")
    message.date = 1767225600.0
    with app.app_context():
        try:
            expected = written_by_the_generator(message, "==outer==", "==inner==")
        except Exception as exc:
            with pytest.raises(type(exc)):
                message.wire("==outer==", "==inner==")
            return
        assert message.wire("==outer==", "==inner==") == expected
    assert max(map(len, expected.split(b"\r\n"))) <= 998


def test_an_email_with_an_attachment_is_written_by_the_generator(app):
    """The shape wire does not write (an invoice's PDF attached) goes through the tree, whose
    text parts keep to RFC 5322's 998 octets a line as wire's do."""
    note = "Échéance à régler avant le 31 janvier, référence à rappeler. " * 40
    message = OutboxMessage(
        message_id="<43.a1b2c3@portal.test>", subject="Facture", recipient="ama@example.test",
        body=f"Bonjour\n{note}", html=f"<p>Bonjour</p><p>{note}</p>",
        sender="no-reply@portal.test", reply_to=None, kind="invoice_issued")
    message.date = 1767225600.0
    with app.app_context():
        message.attach("facture.pdf", "application/pdf", b"%PDF-1.4 fake")
        assert message.wire("==outer==", "==inner==") is None
        written = message.as_bytes()
    assert b'Content-Disposition: attachment; filename="facture.pdf"' in written
    assert max(map(len, written.split(b"\r\n"))) <= 998
    parsed = email.message_from_bytes(written, policy=policy.default)
    assert parsed.get_body(("plain",)).get_content() == f"Bonjour\r\n{note}"
    assert note in parsed.get_body(("html",)).get_content()
