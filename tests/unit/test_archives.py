"""The type check of Word and OpenDocument files (zip archives) never unpacks an entry: it refuses
archives whose directory declares absurd sizes, ratios or entry counts before reading anything,
then reads at most a few bytes of one entry. Memory is measured with tracemalloc around the
check of a real 200 KB archive whose first entry unpacks to 200 MB."""

from __future__ import annotations

import io
import random
import tracemalloc
import zipfile

import pytest
from werkzeug.datastructures import FileStorage

from portal.errors import Conflict
from portal.orders import uploads
from tests.http.orders_helpers import (
    docx_bomb,
    docx_bytes,
    lying_odt_bomb,
    many_entries_docx,
    odt_bomb,
    odt_bytes,
)

BOMB = "is refused: its packed content would unpack to an absurd size or number of parts."
NOT_WHAT_IT_SAYS = "is not what its name says"
# The upload itself (about 200 KB, read once) and the archive's directory; the unpacked entry
# alone would be 200 MB.
PEAK_BOUND = 4 * 1024 * 1024


@pytest.fixture(autouse=True)
def _english(app, monkeypatch):
    monkeypatch.setitem(app.config, "BABEL_DEFAULT_LOCALE", "en")


def checked(app, name: str, data: bytes):
    """check_upload of `data` under `name`: (its result or the Conflict, the peak of memory
    allocated meanwhile)."""
    with app.app_context():
        tracemalloc.start()
        try:
            try:
                result = uploads.check_upload(FileStorage(io.BytesIO(data), filename=name))
            except Conflict as refused:
                result = refused
            _size, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return result, peak


@pytest.mark.parametrize(("name", "build", "message"), [
    ("charte.odt", odt_bomb, BOMB),
    ("charte.docx", docx_bomb, BOMB),
    ("charte.docx", many_entries_docx, BOMB),
    # Its directory declares a 39-byte mimetype: it passes the sizes, and only 64 bytes of
    # the entry are read (zeros follow the type line, so it is not an OpenDocument text).
    ("charte.odt", lying_odt_bomb, NOT_WHAT_IT_SAYS),
    # The same with bzip2 or LZMA, which zipfile unpacks a whole chunk of at once (a few KB of
    # bzip2 hold gigabytes): an OpenDocument's `mimetype` is stored, never packed, so a packed
    # one is not read at all.
    ("charte.odt", lambda: lying_odt_bomb(zipfile.ZIP_BZIP2), NOT_WHAT_IT_SAYS),
    ("charte.odt", lambda: lying_odt_bomb(zipfile.ZIP_LZMA), NOT_WHAT_IT_SAYS),
], ids=["odt: 200 MB mimetype", "docx: 200 MB document.xml", "docx: 5,000 entries",
        "odt: 200 MB mimetype declared as 39 bytes",
        "odt: 200 MB mimetype in bzip2 declared as 39 bytes",
        "odt: 200 MB mimetype in LZMA declared as 39 bytes"])
def test_a_zip_bomb_is_refused_clearly_without_being_unpacked(app, name, build, message):
    data = build()
    assert len(data) < 600 * 1024

    result, peak = checked(app, name, data)

    assert isinstance(result, Conflict), result
    assert message in result.message and name in result.message
    assert result.field == "file"
    assert peak < PEAK_BOUND, f"{peak / 1024 / 1024:.1f} MB allocated by the check"


def honest_docx(megabytes: int = 3) -> bytes:
    """A text-heavy Word file: a document.xml of several MB of words, compressed as Word
    does (a few times)."""
    words = ["baobab", "marché", "lagune", "pirogue", "saison", "pluie", "récolte", "pagne",
             "tissu", "atelier", "soleil", "village", "chemin", "rivière", "histoire"]
    rng = random.Random(7)
    text = " ".join(rng.choice(words) + str(rng.randint(0, 999))
                    for _ in range(megabytes * 1024 * 1024 // 10))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", f"<w:document><w:t>{text}</w:t></w:document>")
        for n in range(40):
            archive.writestr(f"word/media/image{n}.png", bytes(rng.randbytes(2048)))
    return buffer.getvalue()


@pytest.mark.parametrize(("name", "build", "media_type"), [
    ("charte.odt", odt_bytes, uploads.ODT.media_type),
    ("charte.docx", docx_bytes, uploads.DOCX.media_type),
    ("long.docx", honest_docx, uploads.DOCX.media_type),
], ids=["odt", "docx", "docx of 3 MB of text and 40 pictures"])
def test_ordinary_documents_are_still_accepted(app, name, build, media_type):
    result, _peak = checked(app, name, build())
    assert not isinstance(result, Conflict), result.message
    assert result.media_type == media_type


def test_the_limits_are_checked_on_the_directory_before_any_entry_is_read(app):
    """check_archive sees only what the directory declares: one entry above the ratio is
    enough, whatever the others."""
    archive = zipfile.ZipFile(io.BytesIO(docx_bomb()))
    with pytest.raises(uploads.UnsafeArchive):
        uploads.check_archive(archive, len(docx_bomb()))
    uploads.check_archive(zipfile.ZipFile(io.BytesIO(docx_bytes())), len(docx_bytes()))
