"""Files on shared storage: the same story on the local folder and on an S3-compatible bucket
(moto's server on loopback, spoken to over HTTP by boto3 as a real bucket would be). A file
uploaded on one web node is served by another on the same bucket; downloads pass the access
check first; a put that fails or a transaction that rolls back leaves neither a row nor an
object; readiness probes the configured storage."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import pytest
import sqlalchemy as sa

from config import TestingConfig
from portal import create_app
from portal.extensions import db
from portal.orders.models import Attachment, OrderStatus
from portal.storage import LocalStorage, S3Storage
from tests.conftest import PortalClient, free_port
from tests.factories import Factory
from tests.http.orders_helpers import PDF_BYTES, OrderWorld
from tests.http.pages import flashes, location

REGION = "us-east-1"


def s3_client(endpoint: str):
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION)


@dataclass
class Backend:
    name: str
    settings: dict  # what a second node needs to reach the same storage
    keys: Callable[[], set[str]]  # every object stored, read behind the portal's back
    read: Callable[[str], bytes]
    break_it: Callable[[], None]  # from now on, every put fails for real


@pytest.fixture(params=["local", "s3"])
def backend(request, app, tmp_path, monkeypatch) -> Backend:
    # A local folder of the test's own in both cases: on S3, nothing may land in it.
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(folder))
    if request.param == "local":
        monkeypatch.setitem(app.config, "STORAGE", "local")

        def break_local() -> None:
            blocker = tmp_path / "blocker"
            blocker.write_text("a file where the storage folder should be")
            monkeypatch.setitem(app.config, "UPLOAD_DIR", str(blocker / "uploads"))

        return Backend("local", {"STORAGE": "local", "UPLOAD_DIR": str(folder)},
                       lambda: {p.name for p in folder.iterdir()} if folder.exists() else set(),
                       lambda key: (folder / key).read_bytes(), break_local)

    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = f"portal-{uuid.uuid4().hex[:12]}"
    client = s3_client(endpoint)
    client.create_bucket(Bucket=bucket)
    settings = {"STORAGE": "s3", "S3_BUCKET": bucket, "S3_ENDPOINT_URL": endpoint,
                "S3_REGION": REGION}
    for name, value in settings.items():
        monkeypatch.setitem(app.config, name, value)

    def keys() -> set[str]:
        assert not folder.exists(), "STORAGE=s3 wrote to the local folder"
        listed = client.list_objects_v2(Bucket=bucket).get("Contents", [])
        return {item["Key"] for item in listed}

    return Backend(
        "s3", settings, keys,
        lambda key: client.get_object(Bucket=bucket, Key=key)["Body"].read(),
        lambda: monkeypatch.setitem(app.config, "S3_BUCKET", f"gone-{uuid.uuid4().hex[:8]}"))


@pytest.fixture
def world(app, factory) -> OrderWorld:
    return OrderWorld(app, factory)


@pytest.fixture
def ama(signed_in):
    return signed_in("client")


def upload(client, order_id: int, name: str, content: bytes):
    return client.submit(f"/orders/{order_id}/attachments",
                         {"file": (BytesIO(content), name), "back": "detail"},
                         page=f"/orders/{order_id}", content_type="multipart/form-data")


def attachments(ctx) -> list[Attachment]:
    with ctx() as session:
        rows = list(session.scalars(sa.select(Attachment).order_by(Attachment.id)))
        for row in rows:
            session.expunge(row)
        return rows


def test_an_upload_is_stored_and_served_only_to_people_who_see_the_order(
    backend, ama, world, ctx, signed_in
):
    order_id = world.order(ama.user, OrderStatus.DRAFT)

    response = upload(ama, order_id, "Cahier des charges été.pdf", PDF_BYTES)

    assert "“Cahier des charges été.pdf” is attached to the order." in flashes(
        ama.get(location(response)))
    [row] = attachments(ctx)
    assert backend.keys() == {row.stored_name}
    assert backend.read(row.stored_name) == PDF_BYTES
    url = f"/orders/{order_id}/attachments/{row.id}"
    download = ama.get(url)
    assert download.status_code == 200 and download.data == PDF_BYTES
    assert download.headers["Content-Length"] == str(len(PDF_BYTES))
    assert download.headers.getlist("Content-Type") == ["application/pdf"]
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Security-Policy"] == "sandbox"
    assert "no-store" in download.headers["Cache-Control"]
    # The access check runs before the storage is asked: others get 404, not the file.
    assert signed_in("client").get(url).status_code == 404
    assert signed_in(world.writer()).get(url).status_code == 404
    other_id = world.order(ama.user, OrderStatus.DRAFT)
    assert ama.get(f"/orders/{other_id}/attachments/{row.id}").status_code == 404


def test_removing_a_file_deletes_its_stored_object(backend, ama, world, ctx):
    order_id = world.order(ama.user, OrderStatus.DRAFT)
    upload(ama, order_id, "notes.txt", b"notes")
    upload(ama, order_id, "garder.txt", b"kept")
    first, kept = attachments(ctx)

    response = ama.submit(f"/orders/{order_id}/attachments/{first.id}/delete",
                          {"back": "detail"}, page=f"/orders/{order_id}")

    assert "“notes.txt” is removed." in flashes(ama.get(location(response)))
    assert [row.id for row in attachments(ctx)] == [kept.id]
    assert backend.keys() == {kept.stored_name}


def test_a_file_whose_object_is_gone_answers_404(backend, ama, world, ctx, app):
    order_id = world.order(ama.user, OrderStatus.DRAFT)
    upload(ama, order_id, "notes.txt", b"notes")
    [row] = attachments(ctx)
    with app.app_context():
        from portal.storage import storage

        storage().delete(row.stored_name)

    assert ama.get(f"/orders/{order_id}/attachments/{row.id}").status_code == 404


def test_a_put_that_fails_stores_no_row(backend, ama, world, ctx):
    """The object is put before the row is written: a storage that refuses it (a folder that
    cannot be made, a bucket that is gone) ends the upload with a message and no row."""
    order_id = world.order(ama.user, OrderStatus.DRAFT)
    backend.break_it()

    response = upload(ama, order_id, "notes.txt", b"notes")

    assert response.status_code == 302
    assert "The file could not be stored. Please try again in a moment." in flashes(
        ama.get(location(response)))
    assert attachments(ctx) == []
    assert backend.keys() == set()


def test_a_transaction_that_rolls_back_after_the_put_removes_the_object(
    backend, ama, world, ctx, monkeypatch
):
    """The commit fails after the object was put: the request rolls back and deletes the
    object, so no object outlives its row (the rule is "removed", not "ignored")."""
    order_id = world.order(ama.user, OrderStatus.DRAFT)
    token = ama.csrf_token(f"/orders/{order_id}")

    def failing_commit():
        raise sa.exc.OperationalError("COMMIT", {}, Exception("database is gone"))

    with monkeypatch.context() as patch:
        patch.setattr(db.session, "commit", failing_commit)
        response = ama.post(f"/orders/{order_id}/attachments",
                            data={"file": (BytesIO(b"notes"), "notes.txt"),
                                  "csrf_token": token},
                            content_type="multipart/form-data")

    assert response.status_code == 500
    assert attachments(ctx) == []
    assert backend.keys() == set()


def test_readiness_probes_the_configured_storage(backend, client):
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json["failed"] == []
    assert backend.keys() == set()  # the probe object is gone

    backend.break_it()

    response = client.get("/readyz")
    assert response.status_code == 503 and response.json["failed"] == ["storage"]


def second_node(app, tmp_path: Path, settings: dict) -> PortalClient:
    """Another app on the same database, with its own local folder and `settings`."""
    node = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                      MAILBOX_DIR=str(tmp_path / "node2-mail"),
                      **{"UPLOAD_DIR": str(tmp_path / "node2-uploads"), **settings})
    node.test_client_class = PortalClient
    return node.test_client()


@pytest.mark.parametrize("backend", ["s3"], indirect=True)
def test_a_file_uploaded_on_one_node_is_served_and_removed_by_another(
    backend, app, ama, world, ctx, tmp_path
):
    order_id = world.order(ama.user, OrderStatus.DRAFT)
    upload(ama, order_id, "brief.pdf", PDF_BYTES)
    [row] = attachments(ctx)
    other = second_node(app, tmp_path, backend.settings)
    assert other.login(ama.user.email, Factory.PASSWORD).status_code == 302

    download = other.get(f"/orders/{order_id}/attachments/{row.id}")

    assert download.status_code == 200 and download.data == PDF_BYTES
    other.submit(f"/orders/{order_id}/attachments/{row.id}/delete", {"back": "detail"},
                 page=f"/orders/{order_id}")
    assert backend.keys() == set()
    assert ama.get(f"/orders/{order_id}/attachments/{row.id}").status_code == 404
    with other.application.app_context():
        db.engine.dispose()


def test_two_nodes_on_their_own_folders_do_not_share_files(app, ama, world, ctx, tmp_path,
                                                           monkeypatch):
    """Why STORAGE=s3 exists: with local folders, the second node does not have the file."""
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "node1-uploads"))
    order_id = world.order(ama.user, OrderStatus.DRAFT)
    upload(ama, order_id, "brief.pdf", PDF_BYTES)
    [row] = attachments(ctx)
    other = second_node(app, tmp_path, {"STORAGE": "local"})
    other.login(ama.user.email, Factory.PASSWORD)

    assert other.get(f"/orders/{order_id}/attachments/{row.id}").status_code == 404
    with other.application.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("key", ["../config.py", "..", "a/b", "/etc/passwd", "", "ABCDEF0123456789",
                                 "0123456789abcdef/../x", "0123456789abcdef\x00"])
def test_a_key_the_portal_did_not_make_is_refused_before_any_path_or_request(key, tmp_path):
    local = LocalStorage(tmp_path)
    # No endpoint is reached: the key is refused first (the address is a closed port).
    bucket = S3Storage("any", endpoint_url=f"http://127.0.0.1:{free_port()}", region=REGION)
    for store in (local, bucket):
        for method, args in (("put", (key, b"x", "text/plain")), ("open", (key,)),
                             ("delete", (key,)), ("exists", (key,)), ("size", (key,))):
            with pytest.raises(ValueError, match="not a stored key"):
                getattr(store, method)(*args)


def test_a_row_naming_a_path_is_never_followed(backend, ama, world, ctx, app):
    order_id = world.order(ama.user, OrderStatus.DRAFT)
    upload(ama, order_id, "notes.txt", b"notes")
    [row] = attachments(ctx)
    with ctx() as session:
        session.get(Attachment, row.id).stored_name = "../../config.py"
        session.commit()

    assert ama.get(f"/orders/{order_id}/attachments/{row.id}").status_code == 404
