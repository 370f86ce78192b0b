"""Files joined to a brief: what is accepted, how its type is told from its content, and where
it is kept.

A file is accepted when its content is one of the accepted kinds (read from its first bytes,
never from its name or the browser's word) and its extension names that same kind. Word and
OpenDocument files are zip archives: their check reads the archive's directory, refuses absurd
archives before reading any entry (`check_archive`), then reads at most a few bytes of one
stored (not packed) entry; no entry is ever unpacked. This check is the one of every file of
the portal: brief files, message files and files arriving by email (`check_upload`).

A file is put in the storage (`portal.storage`: UPLOAD_DIR, outside the web root, or an S3
bucket) under a random name; the person's file name is kept only as a label, cleaned. The file
is put before its row, and removed again if the row cannot be stored or its transaction rolls
back, so no row ever points to a missing file (an object whose removal fails too is left
unnamed by any row: unreachable, never served).
"""

from __future__ import annotations

import io
import logging
import re
import secrets
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

import sqlalchemy as sa
from flask import Response, abort, current_app
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from portal.accounts.models import User
from portal.errors import Conflict, NotAllowed
from portal.extensions import db
from portal.orders import policies
from portal.orders.models import Attachment, Order
from portal.storage import StorageError, storage

if TYPE_CHECKING:
    from portal.messaging.models import MessageAttachment

log = logging.getLogger("portal.orders.uploads")


@dataclass(frozen=True)
class Kind:
    name: str  # what the person reads: "PDF", "Word (docx)"…
    media_type: str
    extensions: tuple[str, ...]


PDF = Kind("PDF", "application/pdf", ("pdf",))
DOCX = Kind("Word (docx)",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ("docx",))
ODT = Kind("OpenDocument (odt)", "application/vnd.oasis.opendocument.text", ("odt",))
TEXT = Kind("text", "text/plain; charset=utf-8", ("txt", "md"))
PNG = Kind("PNG", "image/png", ("png",))
JPEG = Kind("JPEG", "image/jpeg", ("jpg", "jpeg"))
KINDS = (PDF, DOCX, ODT, TEXT, PNG, JPEG)
ACCEPTED_EXTENSIONS = tuple(ext for kind in KINDS for ext in kind.extensions)
MARKDOWN_MEDIA_TYPE = "text/markdown; charset=utf-8"

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"
_NAME_LIMIT = 180


# What a document's archive may declare (the check refuses the archive before reading any of
# its entries otherwise). A Word or OpenDocument file holds tens of entries, a few hundred with
# many pictures; its parts unpack to a few times its size (XML compresses about 5 to 20 times,
# pictures not at all). A zip bomb declares entries that unpack a thousand times bigger than
# they are stored (a 200 MB `mimetype` stored in 200 KB), or thousands of entries: the
# writer's word processor would unpack them on opening the file.
ZIP_MAX_ENTRIES = 1000
ZIP_MAX_TOTAL_BYTES = 250 * 1024 * 1024  # all entries, unpacked, as the archive declares them
ZIP_MAX_RATIO = 100  # unpacked / stored, for each entry declared above ZIP_RATIO_FROM
ZIP_RATIO_FROM = 1024 * 1024
_ODT_MIMETYPE_MAX = 64  # the `mimetype` entry holds one short line
_CENTRAL_HEADER = b"PK\x01\x02"


class UnsafeArchive(Exception):
    """An archive whose declared sizes, ratios or entry count are absurd (a zip bomb)."""


def sniff(data: bytes) -> Kind | None:
    """The accepted kind this content is, or None. Decided from the bytes alone.

    Raises UnsafeArchive for a zip archive that `check_archive` refuses."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(_PNG_SIGNATURE):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"PK\x03\x04"):
        return _sniff_zip(data)
    if b"\x00" in data:
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return TEXT


def check_archive(archive: zipfile.ZipFile, size: int) -> None:
    """Refuse, from the archive's directory alone (nothing is unpacked), an archive of `size`
    bytes with more than ZIP_MAX_ENTRIES entries, whose entries declare more than
    ZIP_MAX_TOTAL_BYTES unpacked, or one of whose entries declared above ZIP_RATIO_FROM would
    unpack more than ZIP_MAX_RATIO times its stored size. Raises UnsafeArchive."""
    entries = archive.infolist()
    if len(entries) > ZIP_MAX_ENTRIES:
        raise UnsafeArchive(f"{len(entries)} entries")
    total = 0
    for entry in entries:
        total += entry.file_size
        if total > ZIP_MAX_TOTAL_BYTES:
            raise UnsafeArchive(f"more than {ZIP_MAX_TOTAL_BYTES} bytes unpacked")
        if entry.compress_size > size:
            raise UnsafeArchive(f"{entry.filename!r} larger than the archive")
        if (entry.file_size > ZIP_RATIO_FROM
                and entry.file_size > ZIP_MAX_RATIO * max(entry.compress_size, 1)):
            raise UnsafeArchive(f"{entry.filename!r} unpacks "
                                f"{entry.file_size // max(entry.compress_size, 1)} times")


def _sniff_zip(data: bytes) -> Kind | None:
    # Every entry of the directory starts with this signature: counting it bounds the entries
    # before zipfile builds one object per entry.
    if data.count(_CENTRAL_HEADER) > ZIP_MAX_ENTRIES:
        raise UnsafeArchive("too many entries")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            check_archive(archive, len(data))
            entries = archive.infolist()
            names = {entry.filename for entry in entries}
            if entries and entries[0].filename == "mimetype":
                # OpenDocument: the first entry, stored, names the document type. A few bytes
                # are read, never the whole entry (zipfile's read() would unpack all of it).
                # Only from a stored entry, as OpenDocument requires: zipfile unpacks a whole
                # chunk of a bzip2 or LZMA entry to return even one byte, and a few kilobytes
                # of bzip2 hold gigabytes.
                first = entries[0]
                if first.compress_type != zipfile.ZIP_STORED or \
                        first.file_size > _ODT_MIMETYPE_MAX:
                    return None
                with archive.open(first) as entry:
                    head = entry.read(_ODT_MIMETYPE_MAX)
                return ODT if head.strip() == _ODT_MIMETYPE else None
            if "[Content_Types].xml" in names and any(n.startswith("word/") for n in names):
                return DOCX
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, KeyError, EOFError,
            NotImplementedError, RuntimeError, zlib.error):
        return None
    return None


def clean_name(name: str | None, fallback_extension: str = "") -> str:
    """The person's file name as a harmless label: no folders, no control characters, a
    bounded length that keeps the extension."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = " ".join(name.split()).strip(" .")
    if len(name) > _NAME_LIMIT:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            name = stem[: _NAME_LIMIT - len(extension) - 1].rstrip() + "." + extension
        else:
            name = name[:_NAME_LIMIT]
    if not name or name.startswith("."):
        name = "file" + (f".{fallback_extension}" if fallback_extension else "")
    return name


def extension_of(name: str) -> str:
    _stem, dot, extension = name.rpartition(".")
    return extension.lower() if dot else ""


def download(attachment: Attachment | MessageAttachment) -> Response:
    """The stored file of a brief or message attachment as a download the browser saves and
    never sniffs or runs; 404 when its file is missing. The caller has checked access: the
    bytes are streamed from the storage through the app.

    The Content-Type is the stored media type exactly, with its charset."""
    return stored_download(attachment.stored_name, attachment.media_type,
                           attachment.original_name, f"{type(attachment).__name__} {attachment.id}")


def stored_download(stored_name: str, media_type: str, name: str, what: str) -> Response:
    """A stored file as a sandboxed, uncached download named `name`; 404 when it is missing
    (logged with `what`). A storage that fails otherwise raises StorageError."""
    try:
        opened = storage().open(stored_name)
    except (FileNotFoundError, ValueError):  # ValueError: a name the portal did not make
        log.error("%s has no stored file %r", what, stored_name)
        abort(404)
    # The chunks need no request context: none is kept alive while the download runs (a
    # stream_with_context left unread would keep this request's user for the next one).
    response = Response(opened.chunks(), direct_passthrough=True)
    response.content_length = opened.size
    response.headers["Content-Type"] = media_type
    response.headers.set("Content-Disposition", "attachment", **_download_names(name))
    return inert(response)


def inert(response: Response) -> Response:
    """A download the browser saves and never runs (an .html file above all), kept by no
    cache."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _download_names(name: str) -> dict[str, str]:
    # As send_file names a download: an ASCII name as is, else an ASCII fallback and the
    # UTF-8 name (RFC 6266).
    try:
        name.encode("ascii")
    except UnicodeEncodeError:
        simple = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
        return {"filename": simple, "filename*": "UTF-8''" + quote(name, safe="!#$&+^`|~")}
    return {"filename": name}


@dataclass(frozen=True)
class CheckedFile:
    name: str  # the cleaned label
    data: bytes
    media_type: str


def check_upload(upload: FileStorage, field: str = "file") -> CheckedFile:
    """Read an uploaded file and check it against the rules of every file of the portal (brief
    and message attachments alike): at most ATTACHMENT_MAX_BYTES, not empty, an accepted
    extension, content of the kind its extension names, and for documents (zip archives) an
    archive `check_archive` accepts. Raises Conflict (on `field`) otherwise. Nothing is
    written."""
    extension = extension_of(clean_name(upload.filename))
    name = clean_name(upload.filename, extension)
    max_bytes = current_app.config["ATTACHMENT_MAX_BYTES"]
    data = upload.stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise Conflict(_("“%(name)s” is too large: a file has at most %(size)s.", name=name,
                         size=human_size(max_bytes)), field=field)
    if not data:
        raise Conflict(_("“%(name)s” is empty.", name=name), field=field)
    if extension not in ACCEPTED_EXTENSIONS:
        raise Conflict(_("“%(name)s” is not an accepted kind of file. Send PDF, Word (docx), "
                         "OpenDocument (odt), text (txt, md), PNG or JPEG files.", name=name),
                       field=field)
    try:
        kind = sniff(data)
    except UnsafeArchive as unsafe:
        log.warning("archive refused (%s): %s", unsafe, name)
        raise Conflict(_("“%(name)s” is refused: its packed content would unpack to an absurd "
                         "size or number of parts. Save it again from your word processor and "
                         "send it.", name=name), field=field) from None
    if kind is None or extension not in kind.extensions:
        raise Conflict(_("The content of “%(name)s” is not what its name says (.%(extension)s). "
                         "Send the file in its own format.", name=name, extension=extension),
                       field=field)
    media_type = MARKDOWN_MEDIA_TYPE if extension == "md" else kind.media_type
    return CheckedFile(name=name, data=data, media_type=media_type)


def store(data: bytes, media_type: str = "application/octet-stream") -> str:
    """Put checked content in the storage under a random name; returns that name."""
    return _write(data, media_type)


def add_attachment(order: Order, user: User, upload: FileStorage) -> Attachment:
    """Join the uploaded file to the order.

    Allowed to the client who owns the order while it is a draft or waiting for a writer, and
    to managers until it is finished, once their address is confirmed (NotAllowed otherwise).
    Raises Conflict when the order has its ATTACHMENTS_PER_ORDER files already, the file is
    empty or above ATTACHMENT_MAX_BYTES, or its content is not an accepted kind, not the kind
    its extension says, or an archive check_archive refuses. The file is written
    first; if its row cannot be stored, the file is removed."""
    if not user.is_confirmed:
        raise NotAllowed(_("Confirm your email address before adding files."))
    if not policies.can_attach(user, order):
        raise NotAllowed(_("Files can be added to an order only before a writer takes it."))
    limit = current_app.config["ATTACHMENTS_PER_ORDER"]
    # Two uploads at once must not pass the limit together: PostgreSQL waits on the order's
    # row lock; SQLite serialises writes, and the count is checked again after the insert.
    db.session.execute(sa.select(Order.id).where(Order.id == order.id).with_for_update())
    if _count(order) >= limit:
        raise _too_many(limit)

    checked = check_upload(upload)
    try:
        stored_name = _write(checked.data, checked.media_type)
    except OSError:
        log.exception("could not store an attachment of order %s", order.id)
        raise Conflict(_("The file could not be stored. Please try again in a moment."),
                       field="file") from None
    attachment = Attachment(order_id=order.id, uploaded_by_id=user.id, original_name=checked.name,
                            stored_name=stored_name, media_type=checked.media_type,
                            size=len(checked.data))
    try:
        db.session.add(attachment)
        db.session.flush()
        if _count(order) > limit:
            raise _too_many(limit)
    except Exception:
        discard_file(stored_name)
        raise
    return attachment


def _count(order: Order) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(Attachment.id)).where(Attachment.order_id == order.id)
    ) or 0


def _too_many(limit: int) -> Conflict:
    return Conflict(_("An order has at most %(count)d files. Remove one to add another.",
                      count=limit), field="file")


def remove_attachment(order: Order, user: User, attachment: Attachment) -> str:
    """Delete the attachment's row (the same people as for adding, at the same times); returns
    the stored name, whose file the caller removes once the change is committed."""
    if attachment.order_id != order.id:
        raise NotAllowed(_("This file belongs to another order."))
    if not policies.can_attach(user, order):
        raise NotAllowed(_("Files can be removed from an order only before a writer takes it."))
    stored_name = attachment.stored_name
    db.session.delete(attachment)
    db.session.flush()
    return stored_name


def _write(data: bytes, media_type: str = "application/octet-stream") -> str:
    for _attempt in range(5):
        stored_name = secrets.token_hex(16)
        try:
            storage().put(stored_name, data, media_type)
        except FileExistsError:  # the local folder refuses to overwrite
            continue
        return stored_name
    raise StorageError("could not find a free stored name")


def discard_file(stored_name: str) -> None:
    """Remove a stored file; a file already gone is not an error, nor is a storage that fails
    (logged: the file is then named by no row, never served)."""
    if not re.fullmatch(r"[0-9a-f]{32}", stored_name):
        return
    try:
        storage().delete(stored_name)
    except OSError:
        log.warning("could not remove the stored file %s", stored_name, exc_info=True)


def human_size(size: int) -> str:
    """A file size for people, in the current locale (kB below one megabyte, else MB)."""
    from portal.i18n import format_number

    if size < 1024 * 1024:
        return _("%(number)s kB", number=format_number(max(1, round(size / 1024))))
    return _("%(number)s MB", number=format_number(round(size / (1024 * 1024), 1)))


def probe_storage() -> None:
    """Write, read back and delete a small file in the storage (the readiness check). Raises
    OSError when any step fails or the content comes back different."""
    from portal.storage import probe

    probe()
