"""`flask backup …` and `flask upgrade`: thin commands over portal.ops.backup and .upgrade."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click
from flask.cli import AppGroup, with_appcontext

backup_cli = AppGroup("backup", help="Back up the database and files, restore, prune.")


@contextlib.contextmanager
def _said_as_failure():
    """A backup or storage error ends the command with its message (exit status 1)."""
    from portal.ops.backup import BackupError

    try:
        yield
    except (BackupError, OSError) as error:
        raise click.ClickException(str(error)) from error


@backup_cli.command("create")
@click.option("--prune/--no-prune", default=True, show_default=True,
              help="Then delete the archives the retention settings do not keep.")
def create_command(prune: bool) -> None:
    """Write one archive (database, uploaded files, manifest) into BACKUP_DIR."""
    from portal.ops.backup import create_backup
    from portal.ops.backup import prune as prune_archives

    with _said_as_failure():
        report = create_backup()
    manifest = report.manifest
    click.echo(f"{report.path} ({report.size} bytes): schema {manifest.revision}, "
               f"{len(manifest.tables)} tables, {sum(manifest.tables.values())} rows, "
               f"{len(manifest.files)} files")
    if prune:
        for path in prune_archives():
            click.echo(f"removed {path.name}")


@backup_cli.command("restore")
@click.argument("archive", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that is not empty.")
def restore_command(archive: Path, force: bool) -> None:
    """Check ARCHIVE, restore it into the database and upload storage, and migrate it to this
    version. Stop the web processes and workers first."""
    from portal.ops.backup import restore_backup

    with _said_as_failure():
        report = restore_backup(archive, force=force, echo=click.echo)
    click.echo(f"restored {archive.name}: schema {report.revision_before} -> "
               f"{report.revision_after}")
    for name, count in sorted(report.tables.items()):
        click.echo(f"  {name}: {count}")
    click.echo(f"  files: {len(report.manifest.files)}")


@backup_cli.command("verify")
@click.argument("archive", type=click.Path(path_type=Path))
def verify_command(archive: Path) -> None:
    """Read ARCHIVE to its end and check it against its manifest; changes nothing."""
    from portal.ops.backup import verify

    with _said_as_failure():
        manifest = verify(archive)
    click.echo(f"{archive.name}: sound; schema {manifest.revision}, "
               f"{sum(manifest.tables.values())} rows, {len(manifest.files)} files")


@backup_cli.command("prune")
def prune_command() -> None:
    """Delete the archives BACKUP_KEEP_DAILY and BACKUP_KEEP_MONTHLY do not keep."""
    from portal.ops.backup import prune

    removed = prune()
    click.echo(f"removed {len(removed)} archive(s)")
    for path in removed:
        click.echo(f"  {path.name}")


@click.command("upgrade")
@with_appcontext
@click.option("--backup/--no-backup", default=True, show_default=True,
              help="Back up the database and files first.")
def upgrade_command(backup: bool) -> None:
    """Back up, migrate the database to this version, recount the counters and check the
    ledger sums. Then restart the web processes and the workers."""
    from portal.ops.upgrade import upgrade_portal

    with _said_as_failure():
        report = upgrade_portal(backup=backup, echo=click.echo)
    if report.ledger_disagreements:
        raise click.ClickException(
            f"upgraded, but {len(report.ledger_disagreements)} company(ies) store a balance that "
            "differs from their ledger (listed above; `flask billing check` lists them again): "
            "the entries are the record, the stored sums are what orders spend from. Find out "
            "why before the portal takes orders again.")
    click.echo("done: now restart the web processes and the workers")
