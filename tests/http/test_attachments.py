"""Files joined to a brief: the type is read from the content, sizes and counts are bounded,
names are cleaned, files live outside the web root under random names and are handed out only
to people who may see the order, as downloads."""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.orders.models import Attachment, OrderStatus
from tests.http.orders_helpers import (
    EXE_BYTES,
    JPEG_BYTES,
    PDF_BYTES,
    PNG_BYTES,
    OrderWorld,
    docx_bomb,
    docx_bytes,
    odt_bomb,
    odt_bytes,
    plain_zip,
)
from tests.http.pages import by_testid, flashes, location, page_text


@pytest.fixture
def world(app, factory) -> OrderWorld:
    return OrderWorld(app, factory)


@pytest.fixture
def uploads_dir(app, tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(folder))
    return folder


@pytest.fixture
def ama(signed_in):
    return signed_in("client")


def upload(client, order_id: int, name: str, content: bytes, back: str = "detail"):
    return client.submit(f"/orders/{order_id}/attachments",
                         {"file": (BytesIO(content), name), "back": back},
                         page=f"/orders/{order_id}", content_type="multipart/form-data")


def stored_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def attachments(ctx) -> list[Attachment]:
    with ctx() as session:
        rows = list(session.scalars(sa.select(Attachment).order_by(Attachment.id)))
        for row in rows:
            session.expunge(row)
        return rows


ACCEPTED = [
    ("brief.pdf", PDF_BYTES, "application/pdf"),
    ("logo.png", PNG_BYTES, "image/png"),
    ("photo.jpg", JPEG_BYTES, "image/jpeg"),
    ("photo.JPEG", JPEG_BYTES, "image/jpeg"),
    ("charte.docx", docx_bytes(),
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("charte.odt", odt_bytes(), "application/vnd.oasis.opendocument.text"),
    ("notes.txt", "Idées : café, plage.\n".encode(), "text/plain; charset=utf-8"),
    ("plan.md", b"# Plan\n\n- intro\n", "text/markdown; charset=utf-8"),
]


@pytest.mark.parametrize(("name", "content", "media_type"), ACCEPTED,
                         ids=[case[0] for case in ACCEPTED])
def test_accepted_files_are_stored_under_a_random_name_outside_the_web_root(
    ama, world, ctx, uploads_dir, app, name, content, media_type
):
    order_id = world.order(ama.user, OrderStatus.DRAFT)

    response = upload(ama, order_id, name, content)

    assert location(response) == f"/orders/{order_id}"
    assert f"“{name}” is attached to the order." in flashes(ama.get(location(response)))
    [row] = attachments(ctx)
    assert (row.order_id, row.original_name, row.media_type, row.size) == (
        order_id, name, media_type, len(content))
    assert re.fullmatch(r"[0-9a-f]{32}", row.stored_name)
    [path] = stored_files(uploads_dir)
    assert path.name == row.stored_name and path.read_bytes() == content
    static = Path(app.static_folder).resolve()
    assert static not in path.resolve().parents


REFUSED = [
    ("a PNG named .pdf", "scan.pdf", PNG_BYTES, "The content of “scan.pdf” is not what its "
                                                "name says (.pdf)."),
    ("a program named .pdf", "facture.pdf", EXE_BYTES, "The content of “facture.pdf” is not "
                                                       "what its name says"),
    ("a program", "setup.exe", EXE_BYTES, "“setup.exe” is not an accepted kind of file."),
    ("a PDF named .txt", "notes.txt", PDF_BYTES, "is not what its name says (.txt)"),
    ("text with NUL bytes", "notes.txt", b"abc\x00def", "is not what its name says"),
    ("text that is not UTF-8", "notes.md", "café".encode("latin-1"), "not what its name says"),
    ("a plain zip named .docx", "charte.docx", plain_zip(), "not what its name says"),
    ("a docx named .odt", "charte.odt", docx_bytes(), "not what its name says"),
    ("another OpenDocument kind named .odt", "calc.odt",
     odt_bytes("application/vnd.oasis.opendocument.spreadsheet"), "not what its name says"),
    ("a broken zip named .docx", "cassé.docx", b"PK\x03\x04" + b"\x00" * 30,
     "not what its name says"),
    ("an HTML page named .png", "image.png", b"<html><script>alert(1)</script></html>",
     "not what its name says"),
    ("no extension", "README", b"Bonjour", "is not an accepted kind of file."),
    ("an empty file", "vide.txt", b"", "“vide.txt” is empty."),
]


@pytest.mark.parametrize(("name", "content", "message"), [case[1:] for case in REFUSED],
                         ids=[case[0] for case in REFUSED])
def test_a_file_disguised_or_of_another_kind_is_refused(
    ama, world, ctx, uploads_dir, name, content, message
):
    order_id = world.order(ama.user, OrderStatus.DRAFT)

    response = upload(ama, order_id, name, content)

    assert message in " ".join(flashes(ama.get(location(response))))
    assert attachments(ctx) == []
    assert stored_files(uploads_dir) == []


def test_a_file_above_10_mb_is_refused(ama, world, ctx, uploads_dir, app):
    order_id = world.order(ama.user, OrderStatus.DRAFT)
    eleven_mb = b"%PDF-1.7\n" + b"0" * (11 * 1024 * 1024)

    response = upload(ama, order_id, "gros.pdf", eleven_mb)

    assert response.status_code == 302
    assert "“gros.pdf” is too large: a file has at most 10 MB." in flashes(
        ama.get(location(response)))
    assert attachments(ctx) == [] and stored_files(uploads_dir) == []


def test_a_request_above_the_portal_limit_is_answered_413(ama, world, ctx, uploads_dir):
    order_id = world.order(ama.user, OrderStatus.DRAFT)
    response = upload(ama, order_id, "enorme.pdf", b"%PDF-" + b"0" * (13 * 1024 * 1024))
    assert response.status_code == 413
    assert "larger than the portal accepts" in page_text(response)
    assert attachments(ctx) == []


def test_the_sixth_file_is_refused(ama, world, ctx, uploads_dir):
    order_id = world.order(ama.user, OrderStatus.DRAFT)
    for n in range(5):
        upload(ama, order_id, f"note{n}.txt", f"note {n}".encode())

    response = upload(ama, order_id, "note5.txt", b"une de trop")

    assert "An order has at most 5 files." in " ".join(flashes(ama.get(location(response))))
    assert len(attachments(ctx)) == 5 and len(stored_files(uploads_dir)) == 5


def test_a_path_in_the_file_name_is_dropped(ama, world, ctx, uploads_dir, tmp_path):
    order_id = world.order(ama.user, OrderStatus.DRAFT)

    upload(ama, order_id, "../../etc/passwd.txt", b"root:x:0:0")
    upload(ama, order_id, "..\\..\\win\\boot.txt", b"boot")
    upload(ama, order_id, "rapport\x1b[31m\x07 final\t.txt", b"rapport")

    names = [row.original_name for row in attachments(ctx)]
    assert names[0] == "passwd.txt"
    assert names[1].endswith("boot.txt") and "\\" not in names[1] and "/" not in names[1]
    assert names[2] == "rapport[31m final.txt"
    assert len(stored_files(uploads_dir)) == 3
    assert all(p.parent == uploads_dir for p in stored_files(uploads_dir))
    assert not (tmp_path / "etc").exists()


@pytest.mark.parametrize(("name", "build"), [("charte.odt", odt_bomb),
                                           ("charte.docx", docx_bomb)])
def test_a_zip_bomb_is_refused_with_a_clear_message(ama, world, ctx, uploads_dir, name, build):
    order_id = world.order(ama.user, OrderStatus.DRAFT)

    response = upload(ama, order_id, name, build())

    assert (f"“{name}” is refused: its packed content would unpack to an absurd size or number "
            "of parts.") in " ".join(flashes(ama.get(location(response))))
    assert attachments(ctx) == [] and stored_files(uploads_dir) == []


def test_an_unconfirmed_client_cannot_join_files_to_a_draft(world, signed_in, ctx, uploads_dir):
    newcomer = signed_in("client", confirmed=False)
    order_id = world.order(newcomer.user, OrderStatus.DRAFT)
    page = newcomer.get(f"/orders/{order_id}/edit")
    assert f'action="/orders/{order_id}/attachments"' not in page.get_data(as_text=True)
    assert "attach files" in by_testid(page, "unconfirmed-note")

    response = newcomer.submit(f"/orders/{order_id}/attachments",
                               {"file": (BytesIO(b"notes"), "notes.txt"), "back": "edit"},
                               page=f"/orders/{order_id}/edit",
                               content_type="multipart/form-data")

    assert "Confirm your email address before adding files." in flashes(
        newcomer.get(location(response)))
    assert attachments(ctx) == [] and stored_files(uploads_dir) == []


def test_a_very_long_name_is_shortened_keeping_its_extension(ama, world, ctx, uploads_dir):
    order_id = world.order(ama.user, OrderStatus.DRAFT)
    upload(ama, order_id, "é" * 400 + ".txt", b"texte")
    [row] = attachments(ctx)
    assert row.original_name.endswith(".txt") and len(row.original_name) <= 180


def test_a_download_is_an_attachment_the_browser_may_not_sniff_or_run(
    ama, world, ctx, uploads_dir
):
    order_id = world.order(ama.user, OrderStatus.DRAFT)
    upload(ama, order_id, "Cahier des charges été.pdf", PDF_BYTES)
    [row] = attachments(ctx)

    response = ama.get(f"/orders/{order_id}/attachments/{row.id}")

    assert response.status_code == 200
    assert response.data == PDF_BYTES
    assert response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''Cahier%20des%20charges%20%C3%A9t%C3%A9.pdf" in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "sandbox"
    assert "no-store" in response.headers["Cache-Control"]
    # The order page links to it.
    assert f"/orders/{order_id}/attachments/{row.id}" in ama.get(
        f"/orders/{order_id}").get_data(as_text=True)


@pytest.mark.parametrize(("name", "content_type"), [
    ("notes.txt", "text/plain; charset=utf-8"),
    ("plan.md", "text/markdown; charset=utf-8"),
    ("brief.pdf", "application/pdf"),
])
def test_a_download_names_its_type_and_charset_exactly_once(ama, world, ctx, uploads_dir, name,
                                                            content_type):
    order_id = world.order(ama.user, OrderStatus.DRAFT)
    upload(ama, order_id, name, PDF_BYTES if name.endswith(".pdf") else b"# Plan\n")
    [row] = attachments(ctx)

    response = ama.get(f"/orders/{order_id}/attachments/{row.id}")

    assert response.status_code == 200
    assert response.headers.getlist("Content-Type") == [content_type]


def test_the_writer_of_the_order_downloads_its_files_other_people_get_404(
    world, signed_in, ctx, uploads_dir
):
    owner = signed_in("client")
    order_id = world.order(owner.user, OrderStatus.OPEN)
    upload(owner, order_id, "brief.pdf", PDF_BYTES)
    [row] = attachments(ctx)
    url = f"/orders/{order_id}/attachments/{row.id}"

    writer_user = world.writer()
    # Taken by that writer now.
    from portal.orders import service as order_service

    with ctx() as session:
        from portal.accounts.models import User
        from portal.orders.models import Order

        order_service.claim(session.get(Order, order_id), session.get(User, writer_user.id))
        session.commit()

    assert signed_in(writer_user).get(url).status_code == 200
    assert signed_in("manager").get(url).status_code == 200
    assert signed_in("client").get(url).status_code == 404
    assert signed_in(world.writer()).get(url).status_code == 404
    # The right id under another order is no way in either.
    other_id = world.order(owner.user, OrderStatus.DRAFT)
    assert owner.get(f"/orders/{other_id}/attachments/{row.id}").status_code == 404
    assert owner.get(f"/orders/{order_id}/attachments/{row.id + 100}").status_code == 404


def test_files_can_change_while_nobody_writes_the_order(world, signed_in, ctx, uploads_dir):
    owner = signed_in("client")
    order_id = world.order(owner.user, OrderStatus.IN_PROGRESS)

    response = upload(owner, order_id, "tard.txt", b"trop tard")
    assert "Files can be added to an order only before a writer takes it." in flashes(
        owner.get(location(response)))
    assert attachments(ctx) == []
    assert "Upload" not in page_text(owner.get(f"/orders/{order_id}"))

    manager = signed_in("manager")
    upload(manager, order_id, "precisions.txt", b"precisions du client")
    assert [a.original_name for a in attachments(ctx)] == ["precisions.txt"]


def test_a_file_is_removed_with_its_stored_copy(ama, world, ctx, uploads_dir):
    order_id = world.order(ama.user, OrderStatus.DRAFT)
    upload(ama, order_id, "notes.txt", b"notes", back="edit")
    [row] = attachments(ctx)

    response = ama.submit(f"/orders/{order_id}/attachments/{row.id}/delete", {"back": "edit"},
                          page=f"/orders/{order_id}/edit")

    assert location(response) == f"/orders/{order_id}/edit"
    assert "“notes.txt” is removed." in flashes(ama.get(location(response)))
    assert attachments(ctx) == [] and stored_files(uploads_dir) == []


def test_deleting_a_draft_removes_its_files(ama, world, ctx, uploads_dir):
    order_id = world.order(ama.user, OrderStatus.DRAFT)
    upload(ama, order_id, "notes.txt", b"notes")
    ama.submit(f"/orders/{order_id}/delete", {}, page=f"/orders/{order_id}")
    assert attachments(ctx) == [] and stored_files(uploads_dir) == []


def test_a_storage_failure_leaves_no_row(ama, world, ctx, uploads_dir, monkeypatch):
    from portal.orders import uploads

    order_id = world.order(ama.user, OrderStatus.DRAFT)

    def full_disk(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(uploads, "_write", full_disk)
    response = upload(ama, order_id, "notes.txt", b"notes")

    assert "The file could not be stored." in " ".join(flashes(ama.get(location(response))))
    assert attachments(ctx) == []


def test_a_database_failure_after_writing_removes_the_file(
    ama, world, ctx, uploads_dir, monkeypatch, app
):
    order_id = world.order(ama.user, OrderStatus.DRAFT)
    token = ama.csrf_token(f"/orders/{order_id}")
    real_commit = db.session.commit

    def failing_commit():
        raise sa.exc.OperationalError("COMMIT", {}, Exception("database is gone"))

    monkeypatch.setattr(db.session, "commit", failing_commit)
    response = ama.post(f"/orders/{order_id}/attachments",
                        data={"file": (BytesIO(b"notes"), "notes.txt"), "csrf_token": token},
                        content_type="multipart/form-data")
    monkeypatch.setattr(db.session, "commit", real_commit)

    assert response.status_code == 500
    assert attachments(ctx) == []
    assert stored_files(uploads_dir) == []


@pytest.mark.parametrize(("given", "kept"), [
    ("../../etc/passwd.txt", "passwd.txt"),
    ("..\\..\\Windows\\boot.txt", "boot.txt"),
    ("C:\\Users\\ama\\brief.pdf", "brief.pdf"),
    ("  notes\u202e\u0000.txt  ", "notes.txt"),
    ("..", "file"),
    (".htaccess", "htaccess"),
    ("", "file"),
])
def test_names_are_cleaned_to_a_harmless_label(given, kept):
    from portal.orders.uploads import clean_name

    assert clean_name(given) == kept
