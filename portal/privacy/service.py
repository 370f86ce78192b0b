"""A person's data, downloaded or erased, over the parts of every feature (parts.py)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import tempfile
import zipfile
from typing import IO

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from portal import security_log
from portal.accounts.models import User
from portal.errors import Conflict, NotAllowed
from portal.extensions import db, utcnow
from portal.privacy.parts import Erasure, ExportFile, parts
from portal.storage import storage

EXPORT_FORMAT = "agency-portal-personal-data/1"
# Kept in memory up to this size, then on disk: a person's files may be large.
SPOOL_BYTES = 8 * 1024 * 1024


def export_filename(person: User) -> str:
    return f"my-data-{person.id}-{utcnow():%Y%m%d}.zip"


def export_zip(person: User, *, asked_by: User) -> IO[bytes]:
    """Everything the portal holds about `person`, as a zip: `index.json` (every feature's
    section) and their files under files/. Logged in the security log. Raises NotAllowed when
    someone else than the person or a manager asks."""
    if asked_by.id != person.id and not asked_by.is_manager:
        raise NotAllowed(_("Only the person or a manager may download these data."))
    sections, files, stored = {}, [], []
    for part in parts():
        section = part.export(person)
        sections[part.name] = section.data
        files += section.files
        if section.stored is not None:
            stored.append(section.stored)
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - sent, then closed
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        listed = [_write(archive, exported) for exported in files]
        for read in stored:
            listed.extend(_write(archive, exported) for exported in read())
        index = {"format": EXPORT_FORMAT, "exported_at": utcnow().isoformat(),
                 "agency": current_app.config["AGENCY_NAME"], "person": person.id,
                 "sections": sections, "files": listed}
        archive.writestr("index.json", json.dumps(index, ensure_ascii=False, indent=2,
                                                  default=str))
    out.seek(0)
    security_log.record("personal_data_exported", user_id=asked_by.id,
                        target_user_id=person.id, files=len(listed))
    return out


def _write(archive: zipfile.ZipFile, exported: ExportFile) -> dict:
    """Write one file into the zip, in chunks; its entry of the index (a stored file gone
    from the disk is listed as missing)."""
    digest, size = hashlib.sha256(), 0
    try:
        with _opened(exported) as source, \
                archive.open(exported.path, "w", force_zip64=True) as target:
            while chunk := source.read(1024 * 1024):
                digest.update(chunk)
                size += len(chunk)
                target.write(chunk)
    except FileNotFoundError:
        return {"path": exported.path, "name": exported.name, "missing": True}
    return {"path": exported.path, "name": exported.name, "size": size,
            "sha256": digest.hexdigest()}


def _opened(exported: ExportFile) -> contextlib.AbstractContextManager[IO[bytes]]:
    if exported.content is not None:
        return io.BytesIO(exported.content)
    if exported.stored_name is None:
        raise FileNotFoundError(exported.path)
    return contextlib.closing(storage().open(exported.stored_name).stream)


def erasure_blockers(person: User) -> list[str]:
    """Why `person` cannot be erased now (translated); empty when they can."""
    if person.is_erased:
        return [_("This person's data have already been erased.")]
    return [reason for part in parts() for reason in part.blockers(person)]


def kept_after_erasure(person: User) -> list[str]:
    """What every feature keeps of `person` after an erasure, and why (for the confirmation
    page and the person's page)."""
    return [str(text) for part in parts() for text in part.kept_for(person)]


def former_member_name() -> str:
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        return _("Former member")


def erase_person(actor: User, person: User) -> Erasure:
    """Erase a former client or writer: personal fields replaced, their files and reading state
    removed, their name taken out of other people's notifications, every session ended; what
    the agency must keep stays (kept_after_erasure). Returns the erasure, whose
    `files_to_remove` the caller removes once the change is committed. Logged in the security
    log. Raises NotAllowed (not a manager) or Conflict (erasure_blockers)."""
    if not actor.is_manager or not actor.active:
        raise NotAllowed(_("Only managers can erase a person's data."))
    blockers = erasure_blockers(person)
    if blockers:
        raise Conflict(" ".join(blockers))
    erasure = Erasure(person=person, old_name=person.display_name, old_email=person.email)
    person.display_name = former_member_name()
    db.session.flush()
    for part in parts():
        part.erase(erasure)
    db.session.flush()
    security_log.record("person_erased", user_id=actor.id, target_user_id=person.id,
                        role=person.role, **erasure.done)
    return erasure
