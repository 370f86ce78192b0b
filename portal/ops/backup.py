"""Backups that restore: one archive holds the database, the uploaded files and a manifest.

An archive is a gzip'd tar named `portal-YYYYmmddTHHMMSSZ.tar.gz` in BACKUP_DIR, with:

- `database.sqlite` (SQLite, copied through its online backup API while the portal runs) or
  `database.pgdump` (PostgreSQL, `pg_dump --format=custom`);
- `uploads/<stored name>` for every file of the upload storage;
- `manifest.json`, written last: the format, the schema revision, the row count of every table
  and a SHA-256 of every other member.

Nothing here keeps a list of tables: they are read from the database itself, so a table a new
feature adds is backed up, counted and checked without a change here. The counts are taken in
the same snapshot as the dump (the copy itself on SQLite, `pg_export_snapshot()` shared with
pg_dump on PostgreSQL), so they agree with it whatever the portal writes meanwhile.

Writing is atomic: the archive is written under a temporary name in BACKUP_DIR and renamed
once complete and synced, so a full disk or a storage failure leaves no archive (and no
half-written one) under the final name.

Restoring checks the whole archive first (every member's hash, nothing unexpected, a schema
revision this code knows), refuses a database that holds rows unless `force`, writes the files,
then loads the database into a new one (a temporary SQLite file, or a new PostgreSQL database)
where the row counts are checked against the manifest and the schema is migrated to the
current revision; only then is it swapped in (SQLite: one backup-API step, a single transaction
on the target; PostgreSQL: two renames). An interruption before the swap leaves the database as
it was.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import hashlib
import io
import json
import logging
import os
import re
import secrets
import shutil
import sqlite3

# pg_dump and pg_restore, with argument lists (never a shell).
import subprocess  # nosec B404
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from portal.extensions import db, utcnow

log = logging.getLogger("portal.ops.backup")

FORMAT = "agency-portal-backup/1"
MANIFEST = "manifest.json"
DATABASE_MEMBERS = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}
UPLOADS = "uploads/"
STORED_NAME = re.compile(r"[0-9a-f]{32}")
ARCHIVE_NAME = re.compile(r"portal-(\d{8}T\d{6}Z)\.tar\.gz")
CHUNK = 1024 * 1024
# The manifest is small; a larger one is not ours.
MANIFEST_MAX_BYTES = 16 * 1024 * 1024


class BackupError(Exception):
    """A backup or restore could not be made; the message says why, for the operator."""


class ArchiveRefused(BackupError):
    """The archive is damaged, altered, incomplete, foreign or newer than this code: nothing
    was changed."""


@dataclass
class Manifest:
    dialect: str
    revision: str | None
    tables: dict[str, int]
    database: dict[str, object]
    files: dict[str, dict[str, object]]
    created_at: str = ""
    format: str = FORMAT

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        try:
            data = json.loads(raw)
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                raise ValueError("format")
            manifest = cls(dialect=str(data["dialect"]), revision=data["revision"],
                           tables={str(k): int(v) for k, v in data["tables"].items()},
                           database=dict(data["database"]),
                           files={str(k): dict(v) for k, v in data["files"].items()},
                           created_at=str(data.get("created_at", "")))
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ArchiveRefused("This is not a backup of the portal (its manifest is missing "
                                 "or not in the format this version reads).") from None
        if manifest.dialect not in DATABASE_MEMBERS:
            raise ArchiveRefused(f"The archive holds a {manifest.dialect!r} database, which the "
                                 "portal does not use.")
        return manifest


@dataclass
class BackupReport:
    path: Path
    manifest: Manifest
    size: int


@dataclass
class RestoreReport:
    archive: Path
    manifest: Manifest
    revision_before: str | None  # the archive's
    revision_after: str | None  # the database's now (head)
    tables: dict[str, int] = field(default_factory=dict)
    files_written: int = 0
    files_present: int = 0


# --- what the database is made of -----------------------------------------------------------


def table_names(connection: sa.Connection) -> list[str]:
    """Every table of the database, read from the database itself (not from the models)."""
    return sorted(sa.inspect(connection).get_table_names())


def count_rows(connection: sa.Connection) -> dict[str, int]:
    """The number of rows of every table of the database."""
    return {name: connection.scalar(sa.select(sa.func.count()).select_from(sa.table(name)))
            for name in table_names(connection)}


def revision_of(connection: sa.Connection) -> str | None:
    if "alembic_version" not in sa.inspect(connection).get_table_names():
        return None
    return connection.scalar(sa.text("SELECT version_num FROM alembic_version"))


def holds_rows(connection: sa.Connection) -> list[str]:
    """The tables (other than Alembic's) that hold at least one row."""
    return [name for name in table_names(connection) if name != "alembic_version"
            and connection.scalar(
                sa.select(sa.literal(1)).select_from(sa.table(name)).limit(1)) is not None]


def known_revisions() -> set[str]:
    """Every revision of this code's migrations."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
    return {script.revision for script in scripts.walk_revisions()}


# --- the upload storage ---------------------------------------------------------------------


def stored_files() -> list[Path]:
    """The files of the upload storage (the names the portal gives them), sorted."""
    if current_app.config.get("STORAGE") == "s3":
        # The bucket keeps its own copies (versioning, replication): the archive holds the
        # database alone, and says so at each backup.
        log.warning("STORAGE=s3: the backup holds the database, not the bucket's files")
        return []
    folder = Path(current_app.config["UPLOAD_DIR"])
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir()
                  if STORED_NAME.fullmatch(path.name) and path.is_file())


def sha256_of(path: Path) -> str:
    with path.open("rb") as source:
        return hashlib.file_digest(source, "sha256").hexdigest()


# --- creating an archive --------------------------------------------------------------------


def backup_dir() -> Path:
    folder = Path(current_app.config["BACKUP_DIR"])
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def create_backup(directory: Path | None = None) -> BackupReport:
    """Write one archive of the database and the uploaded files into `directory` (default
    BACKUP_DIR) while the portal runs. Raises BackupError when the database cannot be dumped;
    OSError when the storage fails. Either way no archive is left under the final name."""
    directory = Path(directory) if directory else backup_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    moment = utcnow()
    final = directory / f"portal-{moment.astimezone(UTC):%Y%m%dT%H%M%SZ}.tar.gz"
    if final.exists():  # two backups in the same second
        raise BackupError(f"{final.name} exists already; try again in a second.")
    dialect = db.engine.dialect.name
    with tempfile.TemporaryDirectory(dir=directory, prefix=".work-") as work:
        dump = Path(work) / DATABASE_MEMBERS[dialect]
        if dialect == "sqlite":
            revision, tables = _dump_sqlite(dump)
        elif dialect == "postgresql":
            revision, tables = _dump_postgresql(dump)
        else:  # pragma: no cover - the portal runs on these two
            raise BackupError(f"Backups of a {dialect} database are not supported.")
        manifest = Manifest(
            dialect=dialect, revision=revision, tables=tables,
            database={"member": dump.name, "sha256": sha256_of(dump), "size": dump.stat().st_size},
            files={}, created_at=moment.isoformat(),
        )
        _write_atomically(final, lambda tar: _fill(tar, dump, manifest))
    return BackupReport(path=final, manifest=manifest, size=final.stat().st_size)


def _fill(tar: tarfile.TarFile, dump: Path, manifest: Manifest) -> None:
    tar.add(str(dump), arcname=dump.name, recursive=False)
    for path in stored_files():
        try:
            with path.open("rb") as source:
                size = os.fstat(source.fileno()).st_size
                info = tarfile.TarInfo(UPLOADS + path.name)
                info.size, info.mtime, info.mode = size, int(path.stat().st_mtime), 0o600
                reader = _HashingReader(source, size)
                tar.addfile(info, reader)
        except FileNotFoundError:
            continue  # removed since the listing (an attachment deleted meanwhile)
        manifest.files[path.name] = {"sha256": reader.digest.hexdigest(), "size": size}
    raw = manifest.to_json()
    info = tarfile.TarInfo(MANIFEST)
    info.size, info.mtime, info.mode = len(raw), int(utcnow().timestamp()), 0o600
    tar.addfile(info, io.BytesIO(raw))


class _HashingReader:
    """Reads at most `size` bytes of a file for tarfile, hashing what it hands over."""

    def __init__(self, source, size: int) -> None:
        self.source, self.left, self.digest = source, size, hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        n = self.left if n is None or n < 0 else min(n, self.left)
        data = self.source.read(n)
        self.left -= len(data)
        self.digest.update(data)
        return data


def _write_atomically(final: Path, fill: Callable[[tarfile.TarFile], None]) -> None:
    """Write the archive under a temporary name beside `final`, sync it, then rename it."""
    partial = final.with_name(f".{final.name}.{secrets.token_hex(4)}.partial")
    try:
        with partial.open("xb") as raw:
            with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6) as gz, \
                    tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
                fill(tar)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, final)
        _sync_folder(final.parent)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sqlite_path(url: sa.URL | None = None) -> Path:
    url = url or db.engine.url
    if not url.database or url.database == ":memory:":
        raise BackupError("An in-memory SQLite database has nothing to back up.")
    return Path(url.database)


def _dump_sqlite(dump: Path) -> tuple[str | None, dict[str, int]]:
    with contextlib.closing(sqlite3.connect(_sqlite_path(), timeout=30)) as source, \
            contextlib.closing(sqlite3.connect(dump)) as target:
        try:
            # One step: a read transaction over a single snapshot; in WAL mode writers go on.
            source.backup(target)
        except sqlite3.Error as error:  # the disk is full, the file unreadable…
            raise BackupError(f"The database could not be copied: {error}") from error
    with _connected(f"sqlite:///{dump}") as connection:
        return revision_of(connection), count_rows(connection)


@contextlib.contextmanager
def _connected(url: str | sa.URL) -> Iterator[sa.Connection]:
    """A connection to another database than the portal's (a copy, a restore), closed after."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def _pg_tool(name: str) -> str:
    folder = current_app.config.get("PG_BIN_DIR") or ""
    found = str(Path(folder) / name) if folder else shutil.which(name)
    if not found or not Path(found).exists():
        raise BackupError(f"{name} is not installed: install PostgreSQL's client programs "
                          "(Debian: apt-get install postgresql-client) or set PG_BIN_DIR.")
    return found


def _pg_environment(url: sa.URL) -> tuple[list[str], dict[str, str]]:
    """libpq arguments for `url`, the password in the environment (not in `ps`)."""
    environment = dict(os.environ)
    if url.password:
        environment["PGPASSWORD"] = str(url.password)
    arguments = [f"--dbname={url.database}"]
    arguments += [f"--{name}={value}" for name, value in
                  (("host", url.host), ("port", url.port), ("username", url.username)) if value]
    return arguments, environment


def _run(command: list[str], environment: dict[str, str], what: str) -> None:
    # An argument list (no shell); the program is pg_dump or pg_restore, found by _pg_tool.
    result = subprocess.run(command, env=environment, capture_output=True,  # noqa: S603  # nosec B603
                            text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{what} failed: {result.stderr.strip()[-2000:]}")


def _dump_postgresql(dump: Path) -> tuple[str | None, dict[str, int]]:
    pg_dump = _pg_tool("pg_dump")
    arguments, environment = _pg_environment(db.engine.url)
    with db.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            # pg_dump reads the snapshot of this transaction: the counts are of the dump.
            snapshot = connection.scalar(sa.text("SELECT pg_export_snapshot()"))
            tables = count_rows(connection)
            revision = revision_of(connection)
            _run([pg_dump, "--format=custom", f"--snapshot={snapshot}", "--no-owner",
                  "--no-privileges", f"--file={dump}", *arguments], environment, "pg_dump")
    return revision, tables


# --- reading an archive -------------------------------------------------------------------------


@contextlib.contextmanager
def unpacked(archive: Path, work: Path) -> Iterator[Manifest]:
    """Read the whole archive into `work` and check it against its manifest: every member
    expected and present, nothing else, every hash right. Raises ArchiveRefused."""
    hashes: dict[str, str] = {}
    sizes: dict[str, int] = {}
    manifest_raw: bytes | None = None
    (work / "uploads").mkdir(exist_ok=True)
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            for member in tar:
                name = member.name
                if not member.isreg():
                    raise ArchiveRefused(f"The archive holds {name!r}, which is not a file of "
                                         "a backup.")
                if name == MANIFEST:
                    if member.size > MANIFEST_MAX_BYTES:
                        raise ArchiveRefused("The archive's manifest is not one of ours.")
                    manifest_raw = tar.extractfile(member).read()
                    continue
                if name in DATABASE_MEMBERS.values():
                    target = work / name
                elif name.startswith(UPLOADS) and STORED_NAME.fullmatch(name[len(UPLOADS):]):
                    target = work / "uploads" / name[len(UPLOADS):]
                else:
                    raise ArchiveRefused(f"The archive holds {name!r}, which is not part of a "
                                         "backup of the portal.")
                if name in hashes:
                    raise ArchiveRefused(f"The archive holds {name!r} twice.")
                hashes[name], sizes[name] = _copy_hashing(tar.extractfile(member), target)
    except ArchiveRefused:
        raise
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, UnicodeDecodeError):
        raise ArchiveRefused("The archive is damaged or incomplete (it could not be read to "
                             "its end).") from None
    if manifest_raw is None:
        raise ArchiveRefused("The archive has no manifest: it is incomplete or not a backup of "
                             "the portal.")
    manifest = Manifest.from_json(manifest_raw)
    expected = {str(manifest.database.get("member")): manifest.database} | {
        UPLOADS + name: facts for name, facts in manifest.files.items()}
    if str(manifest.database.get("member")) != DATABASE_MEMBERS[manifest.dialect]:
        raise ArchiveRefused("The archive's manifest names a database this format does not "
                             "have.")
    missing = sorted(set(expected) - set(hashes))
    unexpected = sorted(set(hashes) - set(expected))
    if missing or unexpected:
        raise ArchiveRefused("The archive does not match its manifest: "
                             + ", ".join([f"missing {n}" for n in missing[:5]]
                                         + [f"not listed {n}" for n in unexpected[:5]]))
    altered = sorted(name for name, facts in expected.items()
                     if facts.get("sha256") != hashes[name] or facts.get("size") != sizes[name])
    if altered:
        raise ArchiveRefused("The archive was altered: the content of "
                             + ", ".join(altered[:5]) + " is not what its manifest says.")
    yield manifest


def _copy_hashing(source, target: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with target.open("wb") as out:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return digest.hexdigest(), size


def verify(archive: Path) -> Manifest:
    """Read the archive and check it against its manifest without restoring anything."""
    with tempfile.TemporaryDirectory(prefix="portal-verify-") as work, \
            unpacked(Path(archive), Path(work)) as manifest:
        return manifest


# --- restoring ----------------------------------------------------------------------------------


def restore_backup(archive: Path, *, force: bool = False,
                   echo: Callable[[str], object] = lambda _line: None) -> RestoreReport:
    """Restore `archive` into the portal's database and upload storage, then migrate the
    database to this code's revision.

    Refuses (ArchiveRefused, nothing changed) an archive that is damaged, altered, incomplete,
    foreign, of another kind of database or of a newer portal; refuses (BackupError) a
    database that holds rows unless `force`. The portal's processes should be stopped: a
    PostgreSQL restore ends their connections, a SQLite one replaces the file under them."""
    archive = Path(archive)
    if not archive.is_file():
        raise ArchiveRefused(f"{archive} is not a file.")
    dialect = db.engine.dialect.name
    with tempfile.TemporaryDirectory(dir=backup_dir(), prefix=".restore-") as work_dir:
        work = Path(work_dir)
        with unpacked(archive, work) as manifest:
            if manifest.dialect != dialect:
                raise ArchiveRefused(f"The archive holds a {manifest.dialect} database; the "
                                     f"portal runs on {dialect}.")
            if manifest.revision is not None and manifest.revision not in known_revisions():
                raise ArchiveRefused(f"The archive's schema ({manifest.revision}) is newer than "
                                     "this version of the portal: upgrade the portal first.")
            with db.engine.connect() as connection:
                full = holds_rows(connection)
            if full and not force:
                raise BackupError("The database is not empty (" + ", ".join(full[:5])
                                  + "…): restore into an empty database, or pass --force to "
                                  "replace what it holds.")
            report = RestoreReport(archive=archive, manifest=manifest,
                                   revision_before=manifest.revision, revision_after=None)
            echo(f"archive of {manifest.created_at}: schema {manifest.revision}, "
                 f"{sum(manifest.tables.values())} rows, {len(manifest.files)} files; checked")
            _restore_files(work / "uploads", manifest, report)
            echo(f"files: {report.files_written} written, {report.files_present} already there")
            dump = work / DATABASE_MEMBERS[dialect]
            if dialect == "sqlite":
                _restore_sqlite(dump, manifest)
            else:
                _restore_postgresql(dump, manifest)
        with db.engine.connect() as connection:
            report.revision_after = revision_of(connection)
            report.tables = count_rows(connection)
    return report


def _restore_files(folder: Path, manifest: Manifest, report: RestoreReport) -> None:
    """Each file of the archive into the upload storage (temporary name, then rename); one with
    the same name and content already there is left alone."""
    target = Path(current_app.config["UPLOAD_DIR"])
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    for name, facts in sorted(manifest.files.items()):
        final = target / name
        if final.is_file() and final.stat().st_size == facts["size"] \
                and sha256_of(final) == facts["sha256"]:
            report.files_present += 1
            continue
        partial = target / f".{name}.{secrets.token_hex(4)}.partial"
        try:
            shutil.copyfile(folder / name, partial)
            os.chmod(partial, 0o600)
            os.replace(partial, final)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        report.files_written += 1
    _sync_folder(target)


def _check_counts(connection: sa.Connection, manifest: Manifest) -> None:
    found = count_rows(connection)
    if found != manifest.tables:
        differ = sorted(name for name in set(found) | set(manifest.tables)
                        if found.get(name) != manifest.tables.get(name))
        raise ArchiveRefused("The restored database does not hold what the manifest counts ("
                             + ", ".join(differ[:5]) + "); the database was left as it was.")


def _migrate(url: str) -> None:
    """Bring the database at `url` to this code's revision, with an app of its own."""
    from flask_migrate import upgrade

    from config import select_config
    from portal import create_app

    settings = {key: value for key, value in current_app.config.items()
                if key.isupper() and key not in ("SQLALCHEMY_ENGINES",)}
    settings["SQLALCHEMY_DATABASE_URI"] = url
    app = create_app(select_config(current_app.config["ENV_NAME"]), **settings)
    with app.app_context():
        try:
            upgrade()
        finally:
            db.session.remove()
            db.engine.dispose()


def _restore_sqlite(dump: Path, manifest: Manifest) -> None:
    with _connected(f"sqlite:///{dump}") as connection:
        _check_counts(connection, manifest)
    _migrate(f"sqlite:///{dump}")
    target = _sqlite_path()
    db.session.remove()
    db.engine.dispose()
    with contextlib.closing(sqlite3.connect(dump)) as source, \
            contextlib.closing(sqlite3.connect(target, timeout=30)) as destination:
        # One step: the whole copy is one transaction on the target; interrupted, the target's
        # journal rolls it back and the database is as it was.
        source.backup(destination)


def _restore_postgresql(dump: Path, manifest: Manifest) -> None:
    pg_restore = _pg_tool("pg_restore")
    url = db.engine.url
    target = url.database
    fresh = f"{target[:40]}_restore_{secrets.token_hex(4)}"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT",
                             poolclass=sa.pool.NullPool)
    preparer = admin.dialect.identifier_preparer
    with admin.connect() as connection:
        connection.execute(sa.text(f"CREATE DATABASE {preparer.quote(fresh)} TEMPLATE template0 "
                                   "ENCODING 'UTF8'"))
    swapped = False
    try:
        arguments, environment = _pg_environment(url.set(database=fresh))
        _run([pg_restore, "--no-owner", "--no-privileges", "--exit-on-error",
              "--single-transaction", *arguments, str(dump)], environment, "pg_restore")
        with _connected(url.set(database=fresh)) as connection:
            _check_counts(connection, manifest)
        _migrate(url.set(database=fresh).render_as_string(hide_password=False))
        db.session.remove()
        db.engine.dispose()
        replaced = f"{target[:40]}_replaced_{secrets.token_hex(4)}"
        with admin.connect() as connection:
            connection.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": target})
            connection.execute(sa.text(f"ALTER DATABASE {preparer.quote(target)} RENAME TO "
                                       f"{preparer.quote(replaced)}"))
            try:
                connection.execute(sa.text(f"ALTER DATABASE {preparer.quote(fresh)} RENAME TO "
                                           f"{preparer.quote(target)}"))
            except Exception:
                connection.execute(sa.text(f"ALTER DATABASE {preparer.quote(replaced)} RENAME "
                                           f"TO {preparer.quote(target)}"))
                raise
            swapped = True
            connection.execute(sa.text(f"DROP DATABASE {preparer.quote(replaced)} "
                                       "WITH (FORCE)"))
    finally:
        if not swapped:
            with admin.connect() as connection:
                connection.execute(sa.text(f"DROP DATABASE IF EXISTS {preparer.quote(fresh)} "
                                           "WITH (FORCE)"))
        admin.dispose()


# --- keeping N daily and M monthly archives ----------------------------------------------------


@dataclass(frozen=True)
class Archive:
    path: Path
    taken_at: datetime


def archives(directory: Path | None = None) -> list[Archive]:
    """The archives of BACKUP_DIR, newest first (other files are not ours and stay)."""
    directory = Path(directory) if directory else backup_dir()
    found = []
    for path in directory.iterdir() if directory.is_dir() else ():
        match = ARCHIVE_NAME.fullmatch(path.name)
        if match and path.is_file():
            taken = datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            found.append(Archive(path, taken))
    return sorted(found, key=lambda a: a.taken_at, reverse=True)


def to_keep(found: list[Archive], *, daily: int, monthly: int, zone: ZoneInfo) -> set[Path]:
    """The newest archive of each of the `daily` latest days that have one, and of each of
    the `monthly` latest months (days and months in `zone`)."""
    keep: set[Path] = set()
    days: set = set()
    months: set = set()
    for archive in sorted(found, key=lambda a: a.taken_at, reverse=True):
        local = archive.taken_at.astimezone(zone)
        if local.date() not in days and len(days) < daily:
            days.add(local.date())
            keep.add(archive.path)
        if (local.year, local.month) not in months and len(months) < monthly:
            months.add((local.year, local.month))
            keep.add(archive.path)
    return keep


def prune(directory: Path | None = None) -> list[Path]:
    """Delete the archives that BACKUP_KEEP_DAILY and BACKUP_KEEP_MONTHLY do not keep; returns
    them. The newest archive is always kept."""
    config = current_app.config
    found = archives(directory)
    keep = to_keep(found, daily=max(1, config["BACKUP_KEEP_DAILY"]),
                   monthly=max(0, config["BACKUP_KEEP_MONTHLY"]),
                   zone=ZoneInfo(config["AGENCY_TIMEZONE"]))
    removed = []
    for archive in found:
        if archive.path not in keep:
            archive.path.unlink(missing_ok=True)
            removed.append(archive.path)
    return removed


def daily_backup_due(now: datetime | None = None) -> bool:
    """Past BACKUP_HOUR (agency time) and no archive taken yet this local day."""
    config = current_app.config
    zone = ZoneInfo(config["AGENCY_TIMEZONE"])
    local = (now or utcnow()).astimezone(zone)
    if local.hour < config["BACKUP_HOUR"]:
        return False
    return not any(a.taken_at.astimezone(zone).date() == local.date() for a in archives())


def run_daily_backup() -> BackupReport | None:
    """The mail worker's job: when due, one archive and the pruning; one worker at a time (a
    lock file in BACKUP_DIR). Returns the archive made, if any."""
    if not current_app.config["BACKUP_DAILY"] or not daily_backup_due():
        return None
    with open(backup_dir() / ".lock", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None  # another worker is making it
        if not daily_backup_due():
            return None
        report = create_backup()
        removed = prune()
        log.info("daily backup %s (%d bytes); %d old archive(s) removed", report.path.name,
                 report.size, len(removed))
        return report
