"""The dispatcher marks rows sent in groups of MAIL_GROUP_SIZE committed together: a group's
rows are recorded by one commit, a failure inside a group touches that email alone, several
workers still never send the same row, and a worker that dies between the relay's answer and
its group's commit makes at most one group's worth of emails go twice.

Everything crosses real SMTP on loopback (aiosmtpd); time moves with time_machine. The crash is
a BaseException raised as the dispatcher commits, which nothing in the dispatcher catches, so
the database is left as a killed worker leaves it."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine

from portal.extensions import db
from portal.notifications.dispatcher import send_pending
from portal.notifications.models import OutboxEmail, OutboxStatus
from tests.conftest import Mailbox, relay
from tests.unit.test_dispatcher import START, message_ids, queue, rows


def statuses(app) -> dict[int, OutboxStatus]:
    with app.app_context():
        found = dict(db.session.execute(sa.select(OutboxEmail.id, OutboxEmail.status)).all())
        db.session.remove()
    return found


def test_a_group_is_committed_together(app, ctx, monkeypatch):
    """While a group is being sent, its rows sent so far are still "sending" in the database;
    the rows of the groups before it are all "sent": one commit per group."""
    monkeypatch.setitem(app.config, "MAIL_GROUP_SIZE", 3)
    seen: list[dict[int, OutboxStatus]] = []

    class Watching(Mailbox):
        async def handle_DATA(self, server, session, envelope):
            seen.append(statuses(app))
            return await super().handle_DATA(server, session, envelope)

    ids = queue(ctx, *(f"group{i}@example.test" for i in range(7)))
    commits: list[int] = []

    def count(_session) -> None:
        commits.append(1)

    with relay(app, Watching) as box:
        sa.event.listen(sa.orm.Session, "after_commit", count)
        try:
            report = box.deliver()
        finally:
            sa.event.remove(sa.orm.Session, "after_commit", count)

    assert (report.claimed, report.sent, report.connections) == (7, 7, 1)
    # The claim, the first group's start, then one per group: its end and the next one's start.
    assert len(commits) == 2 + 3
    assert report.sent_ids == ids
    for n, snapshot in enumerate(seen):
        group_start = n - n % 3
        expected = {row_id: (OutboxStatus.SENT if i < group_start else OutboxStatus.SENDING)
                    for i, row_id in enumerate(ids)}
        assert snapshot == expected, f"while sending email {n}"
    assert all(r.status is OutboxStatus.SENT and r.attempts == 1 for r in rows(ctx))
    assert sorted(Counter(message_ids(box)).values()) == [1] * 7


def test_a_row_tried_before_is_a_group_of_its_own(app, ctx, monkeypatch):
    """A retry, or a row taken over from a worker that died (perhaps because of it), goes
    alone: if it kills the worker again, the try counted against it is not counted against
    the first tries that would have shared its group."""
    monkeypatch.setitem(app.config, "MAIL_GROUP_SIZE", 4)
    seen: list[dict[int, OutboxStatus]] = []

    class Watching(Mailbox):
        async def handle_DATA(self, server, session, envelope):
            seen.append(statuses(app))
            return await super().handle_DATA(server, session, envelope)

    ids = queue(ctx, *(f"retry{i}@example.test" for i in range(6)))
    with ctx() as session:
        for row_id in ids[2:4]:  # tried once already, due again now
            session.get(OutboxEmail, row_id).attempts = 1
        session.commit()
    with relay(app, Watching) as box:
        report = box.deliver()

    assert report.sent_ids == ids
    groups = [ids[0:2], ids[2:3], ids[3:4], ids[4:6]]
    for n, snapshot in enumerate(seen):
        [current] = [g for g in groups if ids[n] in g]
        done = ids[:ids.index(current[0])]
        expected = {row_id: (OutboxStatus.SENT if row_id in done else OutboxStatus.SENDING)
                    for row_id in ids}
        assert snapshot == expected, f"while sending email {n}"
    assert [r.attempts for r in rows(ctx)] == [1, 1, 2, 2, 1, 1]


class PickyOnce(Mailbox):
    """Refuses one mailbox for good (550) and asks to try another later (451), once."""

    REFUSED = "nobody@example.test"
    BUSY = "busy@example.test"

    def __init__(self, app) -> None:
        super().__init__(app)
        self.busy_refused = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.REFUSED:
            return "550 5.1.1 No such mailbox here"
        if address == self.BUSY and not self.busy_refused:
            self.busy_refused += 1
            return "451 4.2.1 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_failure_inside_a_group_retries_only_the_failed_email(app, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_GROUP_SIZE", 5)
    addresses = ["a@example.test", PickyOnce.REFUSED, "b@example.test", PickyOnce.BUSY,
                 "c@example.test"]
    ids = dict(zip(addresses, queue(ctx, *addresses), strict=True))
    base = timedelta(seconds=app.config["MAIL_RETRY_BASE_SECONDS"])
    with time_machine.travel(START, tick=False) as traveller, relay(app, PickyOnce) as box:
        first = box.deliver()
        assert (first.claimed, first.sent, first.retried, first.failed) == (5, 3, 1, 1)
        assert first.sent_ids == [ids[a] for a in ("a@example.test", "b@example.test",
                                                   "c@example.test")]
        by_id = {r.id: r for r in rows(ctx)}
        for address in ("a@example.test", "b@example.test", "c@example.test"):
            assert by_id[ids[address]].status is OutboxStatus.SENT
        refused, busy = by_id[ids[PickyOnce.REFUSED]], by_id[ids[PickyOnce.BUSY]]
        assert (refused.status, refused.attempts, refused.claim_token) == (
            OutboxStatus.FAILED, 1, None)
        assert "550" in refused.last_error
        assert (busy.status, busy.attempts, busy.claim_token) == (OutboxStatus.PENDING, 1, None)
        assert busy.next_attempt_at == START + base

        traveller.shift(base)
        second = box.deliver()
        assert (second.claimed, second.sent_ids) == (1, [ids[PickyOnce.BUSY]])
        assert box.deliver().claimed == 0

    assert Counter(str(m["To"]) for m in box.messages) == {
        "a@example.test": 1, "b@example.test": 1, "c@example.test": 1, PickyOnce.BUSY: 1}
    busy = {r.id: r for r in rows(ctx)}[ids[PickyOnce.BUSY]]
    assert (busy.status, busy.attempts, busy.last_error) == (OutboxStatus.SENT, 2, None)


@pytest.mark.parametrize("group_size", [1, 4])
def test_workers_sending_in_groups_never_send_the_same_row(app, ctx, mailbox, monkeypatch,
                                                           group_size):
    """Workers (threads with their own app context and connection, on the file database or
    PostgreSQL) race over the same rows in small batches, sent in groups."""
    assert not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///:memory:")
    monkeypatch.setitem(app.config, "MAIL_BATCH_SIZE", 6)
    monkeypatch.setitem(app.config, "MAIL_GROUP_SIZE", group_size)
    ids = queue(ctx, *(f"crowd{i}@example.test" for i in range(48)))
    workers = 5
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
    assert sorted(row_id for r in reports for row_id in r.sent_ids) == ids
    assert sum(r.retried + r.failed + r.lost for r in reports) == 0
    assert len([r for r in reports if r.sent]) > 1  # the work really was shared
    counts = Counter(message_ids(mailbox))
    assert len(counts) == 48 and set(counts.values()) == {1}
    assert all(r.status is OutboxStatus.SENT and r.attempts == 1 for r in rows(ctx))


class Crash(BaseException):
    """The worker dies: nothing in the dispatcher catches it, nothing after it is committed."""


@pytest.mark.parametrize("group_size", [1, 4])
@pytest.mark.parametrize("crash_after", [1, 4, 5, 8, 9, 10])
def test_a_crash_between_smtp_and_commit_resends_at_most_one_group(app, ctx, mailbox,
                                                                     monkeypatch, group_size,
                                                                     crash_after):
    """The worker dies at its first commit once the relay has accepted `crash_after` of ten
    emails: the emails of the group it was closing were sent and not recorded. Once the lease
    has run out, another pass takes them over: every email arrives, and the ones that arrive
    twice are exactly that group's, never more than MAIL_GROUP_SIZE."""
    monkeypatch.setitem(app.config, "MAIL_GROUP_SIZE", group_size)
    lease = timedelta(seconds=app.config["MAIL_CLAIM_LEASE_SECONDS"])

    def die(_session):
        if len(mailbox.messages) >= crash_after:
            raise Crash

    with time_machine.travel(START, tick=False) as traveller:
        ids = queue(ctx, *(f"crash{i}@example.test" for i in range(10)))
        sa.event.listen(sa.orm.Session, "before_commit", die)
        try:
            with pytest.raises(Crash):
                mailbox.deliver()
        finally:
            sa.event.remove(sa.orm.Session, "before_commit", die)
        assert len(mailbox.messages) >= crash_after

        assert mailbox.deliver().claimed == 0  # the dead worker's claims hold until the lease
        traveller.shift(lease + timedelta(seconds=1))
        while mailbox.deliver().claimed:
            pass

    by_message_id = {r.message_id: r.id for r in rows(ctx)}
    counts = Counter(by_message_id[m] for m in message_ids(mailbox))
    assert set(counts) == set(ids)  # every email arrived
    twice = sorted(row_id for row_id, n in counts.items() if n > 1)
    assert set(counts.values()) <= {1, 2}
    # The group being closed: the one holding the crash_after-th email.
    first = (crash_after - 1) // group_size * group_size
    assert twice == ids[first:first + group_size]
    assert len(twice) <= group_size
    assert all(r.status is OutboxStatus.SENT for r in rows(ctx))
