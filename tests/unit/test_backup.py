"""Backups that restore (portal/ops/backup.py): an agency backed up while it serves comes back
whole into an empty database; damaged, altered or foreign archives are refused and change
nothing; a full disk leaves no archive; the mail worker keeps the daily and monthly archives.

Each test runs on the database of the run (SQLite, or PostgreSQL with TEST_DATABASE_URL); the
restores go into a second, empty database of the same kind.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import threading
import urllib.request
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine
from flask_migrate import upgrade
from werkzeug.datastructures import FileStorage

from config import TestingConfig
from portal import create_app
from portal.accounts.models import Role, User
from portal.billing import earnings, invoices, payments
from portal.billing.companies import company_of
from portal.billing.models import PaymentMethod
from portal.extensions import db, utcnow
from portal.messaging.service import post_message
from portal.ops import backup
from portal.ops.backup import ArchiveRefused, BackupError
from portal.orders import uploads
from portal.orders.models import Order, OrderStatus
from tests.conftest import counters_disagree, every_row, head_revision, new_database_url
from tests.security.test_faults import files_stop_growing_at

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
PROOF = b"\x89PNG\r\n\x1a\n" + b"Flooz: 25 000 F vers l'agence" * 20
MONEY_TABLES = ("companies", "company_members", "ledger_entries", "proformas", "payments",
                "invoices", "invoice_lines", "credit_notes", "documents", "document_counters",
                "writer_earnings", "payout_batches", "payouts")


@pytest.fixture
def folders(app, tmp_path, monkeypatch):
    uploads_dir, backups = tmp_path / "uploads", tmp_path / "backups"
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(uploads_dir))
    monkeypatch.setitem(app.config, "BACKUP_DIR", str(backups))
    return uploads_dir, backups


@pytest.fixture
def empty_portal(tmp_path_factory, folders):
    """A second portal on a new database at the current revision, with no row and no file:
    where archives are restored."""
    url, drop = new_database_url(tmp_path_factory)
    target_uploads = tmp_path_factory.mktemp("restored-uploads")
    other = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url,
                       UPLOAD_DIR=str(target_uploads), BACKUP_DIR=str(folders[1]))
    with other.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()
    drop()


def fill_agency(factory, app) -> dict:
    """Orders in every status, messages (a note among them), brief and message files; the
    client's company with its money: holds, captures and releases in its ledger, its month's
    invoice, a top-up paid with a proof file (its deposit invoice), a credit note (each
    document with its PDF), and the writers paid in a batch."""
    manager = factory.user("manager", name="Esi Manager")
    client = factory.user("client", name="Ama Cliente", company="Hôtel du Golfe SARL")
    orders = {status: factory.order(client=client, status=status, manager=manager)
              for status in OrderStatus}
    with app.app_context():
        delivered = db.session.get(Order, orders[OrderStatus.DELIVERED].id)
        author = db.session.get(User, client.id)
        post_message(delivered, author, "Merci pour le texte, voici le logo.",
                     files=[FileStorage(BytesIO(PNG), filename="logo.png")])
        post_message(delivered, db.session.get(User, manager.id), "Note : client fidèle.",
                     internal=True)
        open_order = db.session.get(Order, orders[OrderStatus.OPEN].id)
        uploads.add_attachment(open_order, author,
                               FileStorage(BytesIO(b"Notes du brief.\n" * 50),
                                           filename="brief.txt"))
        db.session.commit()
        fill_money(author, db.session.get(User, manager.id))
    return {"client": client, "manager": manager, "orders": orders}


def fill_money(client: User, manager: User) -> None:
    company = company_of(client)
    month = invoices.invoice_month(company, manager, now=utcnow() + timedelta(days=32))
    assert month is not None and month.document_id
    proforma = payments.request_topup(client, 25_000)
    payments.confirm(payments.declare_for_proforma(client, proforma, payments.Declaration(
        PaymentMethod.FLOOZ, "FL-2210-884", 25_000,
        FileStorage(BytesIO(PROOF), filename="recu-flooz.png"))), manager)
    invoices.issue_credit_note(month, manager, 1_500, "Geste commercial.")
    db.session.commit()
    earnings.pay_out(manager, [earnings.PayoutLine(w.writer_id, PaymentMethod.MIXX, f"MX-{n}")
                               for n, w in enumerate(earnings.payable_writers(0))])
    db.session.commit()


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()} if folder.exists() else {}


@contextmanager
def requests_served(live_server, cookie: str):
    """Pages asked of the live server in a loop, in another thread, for as long as the block
    runs (the block starts once the first page was served)."""
    stop, served, errors = threading.Event(), threading.Event(), []
    count = [0]

    def ask():
        while not stop.is_set():
            for path in ("/orders", "/home", "/billing", "/healthz"):
                request = urllib.request.Request(live_server.url + path,
                                                 headers={"Cookie": f"portal_session={cookie}"})
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:
                        if response.status != 200:
                            errors.append(f"{path}: {response.status}")
                except Exception as error:
                    errors.append(f"{path}: {error}")
                count[0] += 1
                served.set()

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    assert served.wait(10), "the live server served nothing"
    try:
        yield count
    finally:
        stop.set()
        thread.join(10)
    assert errors == []


# --- the whole story ------------------------------------------------------------------------


def test_an_agency_backed_up_while_it_serves_comes_back_whole_in_an_empty_database(
        app, factory, login_as, live_server, folders, empty_portal):
    uploads_dir, _backups = folders
    people = fill_agency(factory, app)
    client = login_as(people["client"])
    with app.app_context():
        before = every_row(db.engine)
        assert not counters_disagree()
        assert all(before[table] for table in MONEY_TABLES), [
            table for table in MONEY_TABLES if not before[table]]
    files_before = files_of(uploads_dir)
    assert len(files_before) == 3  # the brief, the logo, the proof of payment

    with requests_served(live_server, client.get_cookie("portal_session").value) as served, \
            app.app_context():
        served_before = served[0]
        report = backup.create_backup()
    assert served[0] > served_before or served_before > 0

    manifest = report.manifest
    assert manifest.tables == {name: len(rows) for name, rows in before.items()}
    assert set(manifest.files) == set(files_before)

    with empty_portal.app_context():
        restored = backup.restore_backup(report.path)
        assert restored.revision_after == head_revision()
        db.session.remove()
        assert every_row(db.engine) == before
        assert counters_disagree() == []
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == len(OrderStatus)
    assert files_of(Path(empty_portal.config["UPLOAD_DIR"])) == files_before  # byte-identical


def test_the_archive_counts_every_table_of_the_models_and_no_list_is_kept_by_hand(app, folders):
    with app.app_context():
        report = backup.create_backup()
    models = {table.name for table in db.metadata.sorted_tables}
    assert set(report.manifest.tables) == models | {"alembic_version"}


def test_a_table_added_by_another_feature_is_backed_up_and_restored(app, folders,
                                                                      empty_portal):
    """A table nobody told the backup about (as another branch will add): in the archive,
    counted, and back after the restore."""
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE ledger_probe (id INTEGER PRIMARY KEY, amount INTEGER)"))
        conn.execute(sa.text("INSERT INTO ledger_probe VALUES (1, 150000), (2, -2500)"))
    try:
        with app.app_context():
            report = backup.create_backup()
        assert report.manifest.tables["ledger_probe"] == 2
        with empty_portal.app_context():
            backup.restore_backup(report.path)
            with db.engine.connect() as conn:
                assert conn.execute(sa.text(
                    "SELECT id, amount FROM ledger_probe ORDER BY id")).all() == [
                    (1, 150000), (2, -2500)]
    finally:
        with app.app_context(), db.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE ledger_probe"))


def test_writes_during_the_backup_leave_an_archive_that_agrees_with_itself(
        app, factory, login_as, folders, empty_portal):
    """Messages posted while the archive is made: the counts are those of the dump's
    snapshot, and the restored counters agree with the restored messages."""
    people = fill_agency(factory, app)
    order_id = people["orders"][OrderStatus.IN_PROGRESS].id
    stop, errors = threading.Event(), []

    def post_messages():
        n = 0
        while not stop.is_set():
            n += 1
            with app.app_context():
                try:
                    post_message(db.session.get(Order, order_id),
                                 db.session.get(User, people["client"].id), f"Message {n}")
                    db.session.commit()
                except Exception as error:
                    errors.append(repr(error))
                finally:
                    db.session.remove()

    writer = threading.Thread(target=post_messages, daemon=True)
    writer.start()
    try:
        with app.app_context():
            report = backup.create_backup()
    finally:
        stop.set()
        writer.join(20)
    assert errors == []
    with empty_portal.app_context():
        backup.restore_backup(report.path)
        with db.engine.connect() as conn:
            assert backup.count_rows(conn) == report.manifest.tables
        assert counters_disagree() == []


# --- refused archives change nothing ------------------------------------------------------------


def rewrite(archive: Path, target: Path, change) -> Path:
    """A copy of `archive` with its members passed through `change(name, data) -> data | None`
    (None drops the member)."""
    members = []
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            data = tar.extractfile(member).read()
            members.append((member.name, data))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members:
            data = change(name, data)
            if data is None:
                continue
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    target.write_bytes(buffer.getvalue())
    return target


def flip_a_byte(data: bytes) -> bytes:
    return data[:10] + bytes([data[10] ^ 0xFF]) + data[11:]


def bad_archives(good: Path, folder: Path) -> dict[str, Path]:
    raw = good.read_bytes()
    truncated = folder / "truncated.tar.gz"
    truncated.write_bytes(raw[: len(raw) * 2 // 3])
    not_gzip = folder / "notes.tar.gz"
    not_gzip.write_bytes(b"Ceci n'est pas une sauvegarde.\n" * 20)
    foreign = folder / "foreign.tar.gz"
    with tarfile.open(foreign, "w:gz") as tar:
        data = b"#!/bin/sh\necho hello\n"
        info = tarfile.TarInfo("install.sh")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    escaping = folder / "escaping.tar.gz"
    with tarfile.open(escaping, "w:gz") as tar:
        info = tarfile.TarInfo("../../etc/cron.d/evil")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))

    def manifest_says(change):
        return lambda name, data: (json.dumps(change(json.loads(data))).encode()
                                   if name == "manifest.json" else data)

    return {
        "truncated": truncated,
        "not an archive": not_gzip,
        "foreign archive": foreign,
        "a path out of the folder": escaping,
        "a file altered": rewrite(good, folder / "altered-file.tar.gz",
                                  lambda n, d: flip_a_byte(d) if n.startswith("uploads/") else d),
        "the database altered": rewrite(good, folder / "altered-db.tar.gz",
                                        lambda n, d: flip_a_byte(d) if n.startswith("database")
                                        else d),
        "a file missing": rewrite(good, folder / "missing.tar.gz",
                                  lambda n, d: None if n.startswith("uploads/") else d),
        "no manifest": rewrite(good, folder / "no-manifest.tar.gz",
                               lambda n, d: None if n == "manifest.json" else d),
        "another format": rewrite(good, folder / "format.tar.gz",
                                  manifest_says(lambda m: {**m, "format": "other/9"})),
        "a newer schema": rewrite(good, folder / "newer.tar.gz",
                                  manifest_says(lambda m: {**m, "revision": "9999_future"})),
        "counts that the dump does not hold": rewrite(
            good, folder / "counts.tar.gz",
            manifest_says(lambda m: {**m, "tables": {**m["tables"], "users": 999}})),
    }


@pytest.fixture
def archive_and_bad_ones(app, factory, folders, tmp_path):
    fill_agency(factory, app)
    with app.app_context():
        good = backup.create_backup().path
    return good, bad_archives(good, tmp_path)


BAD = ["truncated", "not an archive", "foreign archive", "a path out of the folder",
       "a file altered", "the database altered", "a file missing", "no manifest",
       "another format", "a newer schema", "counts that the dump does not hold"]


@pytest.mark.parametrize("kind", BAD)
def test_a_bad_archive_is_refused_with_a_clear_message_and_changes_nothing(
        archive_and_bad_ones, empty_portal, kind):
    _good, bad = archive_and_bad_ones
    target_uploads = Path(empty_portal.config["UPLOAD_DIR"])
    with empty_portal.app_context():
        before = every_row(db.engine)
        with pytest.raises(ArchiveRefused) as refused:
            backup.restore_backup(bad[kind])
        db.session.remove()
        assert every_row(db.engine) == before
    assert str(refused.value)
    if kind != "counts that the dump does not hold":  # refused before any file is written
        assert files_of(target_uploads) == {}
    assert not list(Path(empty_portal.config["BACKUP_DIR"]).glob(".restore-*"))


def test_an_interrupted_restore_leaves_a_database_that_held_data_as_it_was(
        archive_and_bad_ones, empty_portal, factory):
    """The restore got as far as loading the archive into the new database, then failed (its
    counts disagree): the database it was to replace keeps its rows."""
    _good, bad = archive_and_bad_ones
    with empty_portal.app_context():
        db.session.add(User(email="keep@example.test", password_hash="x", display_name="Keep",
                            role=Role.CLIENT))
        db.session.commit()
        before = every_row(db.engine)
        with pytest.raises(ArchiveRefused, match="does not hold what the manifest counts"):
            backup.restore_backup(bad["counts that the dump does not hold"], force=True)
        db.session.remove()
        assert every_row(db.engine) == before


def test_a_database_with_rows_is_replaced_only_when_told(archive_and_bad_ones, empty_portal):
    good, _bad = archive_and_bad_ones
    with empty_portal.app_context():
        db.session.add(User(email="someone@example.test", password_hash="x",
                            display_name="Someone", role=Role.CLIENT))
        db.session.commit()
        before = every_row(db.engine)
        with pytest.raises(BackupError, match="not empty"):
            backup.restore_backup(good)
        db.session.remove()
        assert every_row(db.engine) == before

        report = backup.restore_backup(good, force=True)
        db.session.remove()
        assert report.tables == {**report.manifest.tables}
        assert db.session.scalar(sa.select(User.id).where(
            User.email == "someone@example.test")) is None


def test_an_archive_of_an_older_schema_is_migrated_to_the_current_one(app, folders,
                                                                        tmp_path_factory,
                                                                        empty_portal):
    """Made by the previous version (schema 0006, before users.erased_at), restored by this
    one: the rows are there and the schema is the current one."""
    url, drop = new_database_url(tmp_path_factory)
    old = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url,
                     UPLOAD_DIR=app.config["UPLOAD_DIR"], BACKUP_DIR=app.config["BACKUP_DIR"])
    try:
        with old.app_context():
            upgrade(revision="0006_status_counts")
            with db.engine.begin() as conn:
                conn.execute(sa.text(
                    "INSERT INTO users (email, password_hash, display_name, role, active, "
                    "locale, timezone, session_token, created_at, password_changed_at, "
                    "digest_hour) VALUES ('ancien@example.test', 'x', 'Ancien', 'client', "
                    ":yes, 'fr', 'Africa/Lome', 'tok', :now, :now, 18)"),
                    {"yes": True, "now": datetime(2026, 1, 5, tzinfo=UTC)})
            report = backup.create_backup()
            db.engine.dispose()
    finally:
        drop()
    assert report.manifest.revision == "0006_status_counts"

    with empty_portal.app_context():
        restored = backup.restore_backup(report.path)
        assert (restored.revision_before, restored.revision_after) == (
            "0006_status_counts", head_revision())
        person = db.session.scalar(sa.select(User).where(User.email == "ancien@example.test"))
        assert person.display_name == "Ancien" and person.erased_at is None


# --- the storage fails while an archive is written ----------------------------------------------


def test_a_full_disk_during_a_backup_leaves_no_archive_and_the_next_one_works(
        app, factory, folders):
    _uploads, backups = folders
    fill_agency(factory, app)
    with app.app_context():
        with files_stop_growing_at(4 * 1024), pytest.raises((OSError, BackupError)):
            backup.create_backup()
        assert list(backups.iterdir()) == []  # no archive, no partial file, no work folder

        report = backup.create_backup()
    assert [p.name for p in backups.iterdir()] == [report.path.name]
    assert backup.verify(report.path).tables == report.manifest.tables


def test_an_archive_is_renamed_only_once_written_and_synced(app, folders, monkeypatch):
    """The storage fails as the archive's last member is written: the name stays free."""
    _uploads, backups = folders

    def fail(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(backup.Manifest, "to_json", fail)
    with app.app_context(), pytest.raises(OSError, match="No space left"):
        backup.create_backup()
    assert list(backups.iterdir()) == []


def test_while_an_archive_is_written_nothing_is_under_its_final_name(app, folders, monkeypatch):
    """A process killed in the middle of a backup leaves no archive under a name that the
    retention, a restore or an off-site copy would take for a whole one."""
    _uploads, backups = folders
    seen: list[list[str]] = []
    to_json = backup.Manifest.to_json

    def look_then_write(manifest):
        seen.append(sorted(p.name for p in backups.glob("portal-*.tar.gz")))
        return to_json(manifest)

    monkeypatch.setattr(backup.Manifest, "to_json", look_then_write)
    with app.app_context():
        report = backup.create_backup()
    assert seen == [[]]
    assert [p.name for p in backups.glob("portal-*.tar.gz")] == [report.path.name]


# --- retention and the daily archive -------------------------------------------------------------


def test_retention_keeps_the_newest_archive_of_each_day_and_each_month():
    zone = ZoneInfo("Africa/Lome")
    start = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)
    found = [backup.Archive(Path(f"a{i}"), start + timedelta(days=i)) for i in range(0, 120)]
    found.append(backup.Archive(Path("same-day"), start + timedelta(days=119, hours=2)))
    keep = backup.to_keep(found, daily=7, monthly=3, zone=zone)
    days = {found_.path.name for found_ in found if found_.path in keep}
    # The last seven days (the later archive of April 30, then April 29…24), and the newest of
    # March (the 31st) and of February (the 28th): three months with April. January is gone.
    assert days == {"same-day", "a118", "a117", "a116", "a115", "a114", "a113", "a89", "a58"}


def test_the_mail_worker_makes_the_daily_archive_at_its_hour_once_and_prunes(
        app, factory, folders, monkeypatch):
    from portal.notifications.worker import run_worker

    _uploads, backups = folders
    monkeypatch.setitem(app.config, "BACKUP_DAILY", True)
    monkeypatch.setitem(app.config, "BACKUP_HOUR", 3)
    monkeypatch.setitem(app.config, "BACKUP_KEEP_DAILY", 2)
    monkeypatch.setitem(app.config, "BACKUP_KEEP_MONTHLY", 0)
    factory.user("client")

    def pass_at(moment: datetime) -> list[str]:
        with time_machine.travel(moment, tick=False):
            run_worker(app, interval=0, once=True, echo=lambda _line: None)
        return sorted(p.name for p in backups.glob("portal-*.tar.gz"))

    lome = ZoneInfo("Africa/Lome")
    assert pass_at(datetime(2026, 3, 2, 2, 59, tzinfo=lome)) == []  # before the hour
    assert pass_at(datetime(2026, 3, 2, 3, 0, tzinfo=lome)) == ["portal-20260302T030000Z.tar.gz"]
    assert pass_at(datetime(2026, 3, 2, 9, 0, tzinfo=lome)) == [  # once a day
        "portal-20260302T030000Z.tar.gz"]
    pass_at(datetime(2026, 3, 3, 3, 5, tzinfo=lome))
    assert pass_at(datetime(2026, 3, 4, 3, 5, tzinfo=lome)) == [
        "portal-20260303T030500Z.tar.gz", "portal-20260304T030500Z.tar.gz"]


# --- the commands ------------------------------------------------------------------------------


def test_the_commands_back_up_verify_and_restore(app, factory, folders, empty_portal):
    fill_agency(factory, app)
    result = app.test_cli_runner().invoke(args=["backup", "create"])
    assert result.exit_code == 0, result.output
    archive = next(Path(app.config["BACKUP_DIR"]).glob("portal-*.tar.gz"))
    assert "orders" not in result.output and "rows" in result.output

    result = app.test_cli_runner().invoke(args=["backup", "verify", str(archive)])
    assert result.exit_code == 0 and "sound" in result.output

    result = empty_portal.test_cli_runner().invoke(args=["backup", "restore", str(archive)])
    assert result.exit_code == 0, result.output
    assert f"orders: {len(OrderStatus)}\n" in result.output and "schema" in result.output
    assert "invoices: 2\n" in result.output and "documents: 3\n" in result.output

    again = empty_portal.test_cli_runner().invoke(args=["backup", "restore", str(archive)])
    assert again.exit_code == 1 and "not empty" in again.output


def test_a_damaged_archive_fails_the_command_with_its_reason(app, tmp_path, folders):
    broken = tmp_path / "portal-20260101T000000Z.tar.gz"
    broken.write_bytes(gzip.compress(b"not a tar at all"))
    result = app.test_cli_runner().invoke(args=["backup", "verify", str(broken)])
    assert result.exit_code == 1 and "damaged or incomplete" in result.output
