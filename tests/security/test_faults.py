"""Faults the portal survives, each caused for real rather than imitated by a mock:

- PostgreSQL drops every connection of the app (what a server restart does to the pool): the
  next request works, thanks to the pool's pre-ping;
- the storage fails while an upload is written (the upload folder cannot be created, or the
  disk fills up halfway through a file): the person reads a clear error and nothing is half
  saved: no row, no stray file, no email;
- a mail worker is killed with SIGKILL in the middle of a batch sent to a slow SMTP relay: once
  it is restarted, every email goes out, and at most one group of them (MAIL_GROUP_SIZE, the
  emails sent but not yet recorded by one commit) twice.

The SMTP server down is covered in tests/unit/test_dispatcher.py
(test_a_page_answers_while_the_relay_is_down_and_the_email_arrives_once_it_is_back,
test_the_backoff_is_capped, test_after_max_attempts_an_email_is_failed_and_left_alone,
test_flask_mail_send_pending_with_the_relay_down).

Every wait is bounded and polls the database or the relay; nothing sleeps blindly.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import contextmanager, nullcontext
from io import BytesIO
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.messaging.models import Message, MessageAttachment
from portal.notifications.models import OutboxEmail, OutboxStatus
from portal.notifications.outbox import queue_email
from portal.orders.models import Attachment, OrderStatus
from tests.conftest import Mailbox, Processes

STORE_ERROR = "The file could not be stored. Please try again in a moment."


def table_counts(app) -> dict[str, int]:
    """Rows in every table: what "nothing was saved" compares."""
    with app.app_context():
        counts = {
            table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
            for table in db.metadata.sorted_tables
        }
        db.session.remove()
    return counts


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


# --- PostgreSQL drops every connection ----------------------------------------------------


def terminate_every_backend(app) -> int:
    """From an admin connection, end every server process of the app's database, as a restart
    would, and wait until they are gone; returns how many there were."""
    url = sa.engine.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT",
                             poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as conn:
            # The second argument waits (in ms) until each process has exited.
            ended = conn.execute(sa.text(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ), {"name": url.database}).scalars().all()
    finally:
        admin.dispose()
    assert all(ended), "a backend outlived pg_terminate_backend"
    return len(ended)


def test_the_next_request_works_after_postgresql_dropped_every_connection(
    app, factory, login_as, mailbox
):
    """A true restart (pg_ctl restart) would also cut this test run's own connections and those
    of every other run sharing the server; ending every backend of the test database is what a
    restart does to the app's pool, confined to this database."""
    if db_dialect(app) != "postgresql":
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL=postgresql://…): SQLite has no server "
                    "connection to drop")
    ama = login_as(factory.user(locale="en", name="Ama Koffi"))
    assert ama.get("/home").status_code == 200
    with app.app_context():
        # Several pooled connections, as a busy app holds: every one of them goes stale.
        held = [db.engine.connect() for _ in range(3)]
        for conn in held:
            conn.execute(sa.text("SELECT 1"))
        for conn in held:
            conn.close()
        db.session.remove()

    assert terminate_every_backend(app) >= 3

    for _ in range(4):  # each stale pooled connection is checked and replaced on checkout
        response = ama.get("/home")
        assert response.status_code == 200
        assert "Ama Koffi" in response.get_data(as_text=True)

    # Outside requests too: a command's commit and the mail worker's next pass.
    terminate_every_backend(app)
    queue_emails(app, "after-restart@example.test")
    terminate_every_backend(app)
    report = mailbox.deliver()
    assert (report.claimed, report.sent) == (1, 1)
    assert [str(m["To"]) for m in mailbox.messages] == ["after-restart@example.test"]


def db_dialect(app) -> str:
    return sa.engine.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_dialect().name


# --- the storage fails during an upload ---------------------------------------------------


@contextmanager
def files_stop_growing_at(limit: int):
    """Files this process writes cannot grow past `limit` bytes: the kernel writes up to the
    limit and refuses the rest with EFBIG, as a full disk refuses it with ENOSPC. (Python
    ignores SIGXFSZ, so the refusal is an OSError, not a dead process.) Only the upload request
    runs meanwhile; it writes no other file (its page reads the database, writes nothing)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def folder_cannot_be_created(tmp_path: Path):
    """UPLOAD_DIR below a plain file: it cannot be created (NotADirectoryError), even by root."""
    blocker = tmp_path / "storage"
    blocker.write_text("a file where the storage folder should be")
    return blocker / "uploads", nullcontext


def disk_fills_up_halfway(tmp_path: Path):
    if sys.platform != "linux" or signal.getsignal(signal.SIGXFSZ) != signal.SIG_IGN:
        pytest.skip("needs Linux with SIGXFSZ ignored (CPython does) to make a write fail")
    folder = tmp_path / "uploads"
    folder.mkdir()
    return folder, lambda: files_stop_growing_at(64 * 1024)


STORAGE_FAULTS = {
    "the upload folder cannot be created": folder_cannot_be_created,
    "the disk fills up halfway through a file": disk_fills_up_halfway,
}

SMALL_TEXT = b"Notes pour la redaction.\n" * 300  # 7.5 kB: fits before the disk is full
BIG_TEXT = b"Une ligne de contexte pour le texte a ecrire.\n" * 5000  # 235 kB: does not


@pytest.fixture(params=list(STORAGE_FAULTS), ids=list(STORAGE_FAULTS))
def broken_storage(request, app, tmp_path, monkeypatch):
    """(the upload folder, a context during which writing there fails)."""
    folder, fault = STORAGE_FAULTS[request.param](tmp_path)
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(folder))
    return SimpleNamespace(folder=folder, failing=fault, tmp_path=tmp_path)


def test_a_brief_file_that_cannot_be_stored_leaves_a_clear_error_and_nothing_saved(
    app, factory, login_as, broken_storage
):
    ama = login_as(factory.user(locale="en"))
    order = factory.order(client=ama.user, status=OrderStatus.DRAFT)
    token = ama.csrf_token(f"/orders/{order.id}")  # opening the page marks it read: before
    before = table_counts(app)
    before_files = files_under(broken_storage.tmp_path)

    with broken_storage.failing():
        response = ama.post(f"/orders/{order.id}/attachments", data={
            "csrf_token": token, "back": "detail", "file": (BytesIO(BIG_TEXT), "contexte.txt"),
        }, content_type="multipart/form-data")

    assert response.status_code == 302
    page = ama.get(response.location)
    assert STORE_ERROR in page.get_data(as_text=True)
    assert table_counts(app) == before
    assert files_under(broken_storage.tmp_path) == before_files  # no partial file left behind
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Attachment.id))) == 0

    # Once the storage is back, the same file is accepted.
    app.config["UPLOAD_DIR"] = str(broken_storage.tmp_path / "repaired")
    response = ama.submit(f"/orders/{order.id}/attachments", {
        "back": "detail", "file": (BytesIO(BIG_TEXT), "contexte.txt"),
    }, page=f"/orders/{order.id}", content_type="multipart/form-data")
    assert response.status_code == 302
    [stored] = files_under(broken_storage.tmp_path / "repaired")
    assert stored.read_bytes() == BIG_TEXT


def test_a_message_whose_files_cannot_be_stored_is_not_posted(
    app, factory, login_as, broken_storage
):
    """The first file fits, the second does not: the first is removed again, and there is no
    message, no attachment row and no notification email."""
    ama = login_as(factory.user(locale="en"))
    order = factory.order(client=ama.user, status=OrderStatus.IN_PROGRESS)
    token = ama.csrf_token(f"/orders/{order.id}")
    before = table_counts(app)
    before_files = files_under(broken_storage.tmp_path)

    with broken_storage.failing():
        response = ama.post(f"/orders/{order.id}/messages", data={
            "csrf_token": token, "body": "Voici deux fichiers pour la suite.",
            "files": [(BytesIO(SMALL_TEXT), "notes.txt"), (BytesIO(BIG_TEXT), "contexte.txt")],
        }, content_type="multipart/form-data")

    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert STORE_ERROR in text
    assert "Voici deux fichiers pour la suite." in text  # what was typed is kept in the form
    assert table_counts(app) == before  # no message, file row or email (outbox) added
    assert files_under(broken_storage.tmp_path) == before_files
    with app.app_context():
        for model in (Message, MessageAttachment):
            assert db.session.scalar(sa.select(sa.func.count()).select_from(model)) == 0, model


# --- a mail worker killed in the middle of a batch ----------------------------------------

WAIT_SECONDS = 45  # the bound of every wait on the worker (it starts in about two seconds)
GROUP_SIZE = 2  # emails recorded by one commit: five emails make the groups 1-2, 3-4 and 5


def queue_emails(app, *recipients: str) -> list[int]:
    """One committed outbox row per recipient; returns their ids in order."""
    with app.app_context():
        ids = [
            queue_email(
                kind="reset_password", key=f"fault:{address}", to=address,
                subject="Reset your password", locale="en",
                user=SimpleNamespace(display_name=address),
                link="http://127.0.0.1:5000/password/reset/some-token", minutes=60,
            ).id
            for address in recipients
        ]
        db.session.commit()
        db.session.remove()
    return ids


def outbox(app) -> dict[int, OutboxEmail]:
    with app.app_context():
        rows = {row.id: row for row in db.session.scalars(sa.select(OutboxEmail))}
        db.session.expunge_all()
        db.session.remove()
    return rows


class SlowRelay(Mailbox):
    """A slow SMTP server on loopback: each email takes a moment, and the `hold_at`-th one is
    received but not answered until `release` is set (bounded), so a worker can be killed while
    it waits for the answer."""

    DELAY = 0.1

    def __init__(self, app, hold_at: int) -> None:
        super().__init__(app)
        self.hold_at = hold_at
        self.held = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        answer = await super().handle_DATA(server, session, envelope)
        with self.lock:
            count = len(self.messages)
        if count == self.hold_at and not self.release.is_set():
            self.held.set()
            deadline = time.monotonic() + WAIT_SECONDS
            while not self.release.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
        else:
            await asyncio.sleep(self.DELAY)
        return answer

    def message_ids(self) -> Counter:
        with self.lock:
            return Counter(str(m["Message-ID"]).strip() for m in self.messages)


class Workers:
    """`flask --app portal mail worker` processes on the test's database, as `make worker` runs
    it (development settings from the environment; MAIL_PORT points at the relay)."""

    def __init__(self, database_url: str, processes: Processes) -> None:
        self.database_url = database_url
        self.processes = processes
        self.processes.wait_seconds = WAIT_SECONDS

    def start(self, relay_port: int, *, lease_seconds: int,
              group_size: int = GROUP_SIZE) -> subprocess.Popen:
        env = {
            **os.environ,
            "PORTAL_ENV": "development",
            "PORTAL_INSTANCE_DIR": str(self.processes.folder / "instance"),
            "SECRET_KEY": "fault-test-worker-key",
            "DATABASE_URL": self.database_url,
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(relay_port),
            "MAIL_TIMEOUT": str(WAIT_SECONDS),
            "MAIL_CLAIM_LEASE_SECONDS": str(lease_seconds),
            "MAIL_GROUP_SIZE": str(group_size),
            "MAIL_WORKER_INTERVAL": "0.2",
        }
        name = f"worker-{len(self.processes.started) + 1}"
        return self.processes.flask(name, "mail", "worker", env=env)

    def wait_for(self, condition, what: str, process: subprocess.Popen) -> None:
        self.processes.wait_for(condition, what, watch=[process])

    def stop_all(self) -> None:
        self.processes.stop_all()


@pytest.fixture
def workers(database_url, processes):
    return Workers(database_url, processes)


def test_a_worker_killed_mid_batch_loses_no_email_and_repeats_at_most_one_group(app,
                                                                                 workers):
    ids = queue_emails(app, *(f"reader{i}@example.test" for i in range(1, 6)))
    message_ids = {row_id: row.message_id for row_id, row in outbox(app).items()}
    relay = SlowRelay(app, hold_at=4)
    relay.start()
    try:
        first = workers.start(relay.port, lease_seconds=300)
        workers.wait_for(relay.held.is_set, "the fourth email to reach the relay", first)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        relay.release.set()

        # Killed in the middle of the second group: the first group sent and recorded, the
        # third email sent and the fourth in flight but neither recorded, all three left still
        # claimed by the dead worker.
        rows = outbox(app)
        assert [rows[i].status for i in ids] == [OutboxStatus.SENT] * 2 + \
            [OutboxStatus.SENDING] * 3
        assert len({rows[i].claim_token for i in ids[2:]}) == 1
        assert sum(relay.message_ids().values()) == 4

        # Restarted (here with a one-second lease, so the dead worker's claims run out at
        # once), the worker takes the claims over and sends the rest.
        second = workers.start(relay.port, lease_seconds=1)
        workers.wait_for(
            lambda: all(row.status is OutboxStatus.SENT for row in outbox(app).values()),
            "every email to be sent after the restart", second,
        )
    finally:
        workers.stop_all()
        relay.release.set()
        relay.stop()

    received = relay.message_ids()
    assert set(received) == set(message_ids.values()), "an email was lost"
    # At most one group more: only the emails of the group the killed worker had not recorded
    # yet went out twice.
    assert sum(received.values()) - len(received) <= GROUP_SIZE, received
    assert [received[message_ids[i]] for i in ids] == [1, 1, 2, 2, 1], received
    # A try is counted as its group starts: the group in flight when the worker was killed
    # counts that try and the one that sent it (so a row that kills its worker every time runs
    # out of tries instead of being taken first forever).
    final = outbox(app)
    assert [final[i].attempts for i in ids] == [1, 1, 2, 2, 1]
