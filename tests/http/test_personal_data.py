"""A person's data (portal/privacy/): the zip a person downloads from their settings (or a
manager on their request), and the erasure of a former client or writer."""

from __future__ import annotations

import io
import json
import logging
import re
import zipfile
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from portal.accounts.models import User
from portal.extensions import db
from portal.messaging.models import Message, MessageAttachment
from portal.messaging.service import post_message
from portal.notifications.models import OutboxEmail
from portal.orders import uploads
from portal.orders.models import Attachment, Order, OrderStatus
from tests.conftest import counters_disagree
from tests.factories import Factory

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
BRIEF = b"Le ton de la maison : chaleureux.\n" * 20


@pytest.fixture
def security_events(caplog):
    caplog.set_level(logging.INFO, logger="portal.security")
    return lambda name: [json.loads(r.getMessage()) for r in caplog.records
                         if r.name == "portal.security"
                         and json.loads(r.getMessage())["event"] == name]


@pytest.fixture
def uploads_dir(app, tmp_path, monkeypatch):
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(folder))
    return folder


@pytest.fixture
def story(app, factory, uploads_dir):
    """Client Ama's approved order, written by Kofi Mensah-Writer: a delivery, a brief file
    from Ama, a message with a file from each, an internal note; a draft of Ama's; another
    client's order Kofi writes."""
    manager = factory.user("manager", name="Esi Manager")
    client = factory.user("client", name="Ama Cliente")
    tier = factory.tier()
    writer = factory.writer(name="Kofi Mensah-Writer", tiers=[tier])
    other_client = factory.user("client", name="Yawa Autre")
    order = factory.order(client=client, writer=writer, status=OrderStatus.APPROVED, tier=tier,
                          title="Dix idées de sorties à Lomé", text="Le texte livré de Kofi.")
    draft = factory.order(client=client, status=OrderStatus.DRAFT, title="Brouillon d'Ama",
                          tier=tier)
    finished = factory.order(client=other_client, writer=writer, status=OrderStatus.APPROVED,
                             title="Fiche produit de Yawa", tier=tier)
    with app.app_context():
        session = db.session
        row = session.get(Order, order.id)
        ama, kofi = session.get(User, client.id), session.get(User, writer.id)
        uploads.add_attachment(session.get(Order, draft.id), ama,
                               FileStorage(BytesIO(BRIEF), filename="brief.txt"))
        post_message(row, ama, "Merci Kofi, voici le logo.",
                     files=[FileStorage(BytesIO(PNG), filename="logo.png")])
        post_message(row, kofi, "Voici mes sources.",
                     files=[FileStorage(BytesIO(b"Sources : office du tourisme.\n"),
                                        filename="sources.txt")])
        post_message(row, session.get(User, manager.id), "Note : relire la conclusion.",
                     internal=True)
        session.commit()
    return {"manager": manager, "client": client, "writer": writer, "order": order, "tier": tier,
            "draft": draft, "finished": finished, "other_client": other_client}


def read_zip(response) -> tuple[dict, zipfile.ZipFile]:
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    return json.loads(archive.read("index.json")), archive


# --- the download -------------------------------------------------------------------------------


def test_a_client_downloads_their_profile_orders_deliveries_messages_and_files(
        story, login_as, security_events):
    client = login_as(story["client"])
    assert b"/settings/data" in client.get("/settings").data

    index, archive = read_zip(client.get("/settings/data"))

    sections = index["sections"]
    assert sections["profile"]["email"] == story["client"].email
    orders = {o["title"]: o for o in sections["orders"]["orders"]}
    assert set(orders) == {"Dix idées de sorties à Lomé", "Brouillon d'Ama"}
    delivered = orders["Dix idées de sorties à Lomé"]
    assert "Le texte livré de Kofi." in delivered["deliveries"][0]["text"]
    assert delivered["price_total"] > 0
    bodies = [m["body"] for m in sections["messages"]["messages"]]
    assert "Merci Kofi, voici le logo." in bodies and "Voici mes sources." in bodies
    assert "Note : relire la conclusion." not in json.dumps(index)  # never a note for a client
    files = {entry["name"]: entry for entry in index["files"]}
    assert set(files) == {"brief.txt", "logo.png", "sources.txt"}
    assert archive.read(files["logo.png"]["path"]) == PNG
    assert archive.read(files["brief.txt"]["path"]) == BRIEF
    assert "Fiche produit de Yawa" not in json.dumps(index)
    [event] = security_events("personal_data_exported")
    assert event["target_user_id"] == story["client"].id


def test_a_writer_downloads_the_orders_they_write_with_their_notes(story, login_as):
    index, _archive = read_zip(login_as(story["writer"]).get("/settings/data"))
    orders = {o["title"]: o for o in index["sections"]["orders"]["orders"]}
    assert set(orders) == {"Dix idées de sorties à Lomé", "Fiche produit de Yawa"}
    assert "price_total" not in orders["Fiche produit de Yawa"]
    assert "writer_pay_total" in orders["Fiche produit de Yawa"]
    bodies = [m["body"] for m in index["sections"]["messages"]["messages"]]
    assert "Note : relire la conclusion." in bodies  # staff on the order
    assert index["sections"]["orders"]["languages"] == ["fr"]


def test_a_manager_downloads_a_persons_data_on_request_and_nobody_else_can(
        story, login_as, security_events):
    manager = login_as(story["manager"])
    url = f"/people/{story['client'].id}/data"
    index, _archive = read_zip(manager.get(url))
    assert index["sections"]["profile"]["email"] == story["client"].email
    [event] = security_events("personal_data_exported")
    assert event["user_id"] == story["manager"].id
    assert event["target_user_id"] == story["client"].id
    assert login_as(story["writer"]).get(url).status_code == 404
    assert login_as(story["other_client"]).get(url).status_code == 404


@pytest.mark.parametrize("who", ["client", "writer"])
def test_the_download_runs_a_bounded_number_of_statements(app, story, login_as, factory, who):
    """More orders, deliveries, messages and files do not add statements."""
    from flask_sqlalchemy.record_queries import get_recorded_queries

    client = login_as(story[who])

    def statements() -> int:
        with app.test_request_context():
            before = len(get_recorded_queries())
        client.get("/settings/data")
        with app.test_request_context():
            return len(get_recorded_queries()) - before

    first = statements()
    for n in range(3):
        more = factory.order(client=story["client"], writer=story["writer"], revisions=1,
                             status=OrderStatus.DELIVERED, tier=story["tier"], title=f"Plus {n}")
        with app.app_context():
            row = db.session.get(Order, more.id)
            post_message(row, db.session.get(User, story["client"].id), f"Encore {n}",
                         files=[FileStorage(BytesIO(PNG), filename=f"image{n}.png")])
            uploads.add_attachment(row, db.session.get(User, story["manager"].id),
                                   FileStorage(BytesIO(BRIEF), filename=f"brief{n}.txt"))
            db.session.commit()
    assert statements() == first


# --- erasure --------------------------------------------------------------------------------------


def deactivate(app, user) -> None:
    with app.app_context():
        db.session.get(User, user.id).active = False
        db.session.commit()


def erase(manager_client, person, confirm: bool = True):
    data = {"confirm": "y"} if confirm else {}
    return manager_client.submit(f"/people/{person.id}/erase", data)


PAGES_TO_CRAWL = 120


def crawl(client, start: list[str]) -> dict[str, str]:
    """Every page of the site reachable by links from `start` (GET, same site, no downloads,
    no logout), at most PAGES_TO_CRAWL: {path: text}."""
    seen: dict[str, str] = {}
    queue = list(start)
    while queue and len(seen) < PAGES_TO_CRAWL:
        path = queue.pop(0)
        if path in seen:
            continue
        response = client.get(path)
        if response.status_code != 200 or response.mimetype != "text/html":
            seen[path] = ""
            continue
        text = response.get_data(as_text=True)
        seen[path] = text
        for link in re.findall(r'href="([^"#]+)"', text):
            parts = urlsplit(link.replace("&amp;", "&"))
            if parts.netloc or not parts.path.startswith("/") or parts.path.startswith(
                    ("/static", "/bootstrap", "/logout", "/dev/")) \
                    or parts.path.endswith(("/data", ".zip", "/export")):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if target not in seen:
                queue.append(target)
    return seen


def test_a_manager_erases_a_former_writer_and_their_name_leaves_every_page(
        app, story, login_as, make_client, uploads_dir, security_events):
    writer = story["writer"]
    writer_session = login_as(writer)
    old_name = writer.display_name
    deactivate(app, writer)
    manager = login_as(story["manager"])
    client = login_as(story["client"])
    start = ["/home", "/orders", "/notifications", "/people", "/dashboard",
             f"/people/{writer.id}"]
    for who, session in (("manager", manager), ("client", client)):
        # The crawl reaches pages that name the writer before the erasure.
        assert any(old_name in text for text in crawl(session, start).values()), who

    page = manager.get(f"/people/{writer.id}/erase").get_data(as_text=True)
    assert 'data-testid="erase-kept"' in page
    response = erase(manager, writer)
    assert response.status_code == 302

    with app.app_context():
        erased = db.session.get(User, writer.id)
        assert erased.erased_at is not None and erased.email.endswith("@erased.invalid")
        assert erased.display_name == "Ancien membre"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(MessageAttachment)
                                 .join(Message).where(Message.author_id == writer.id)) == 0
        assert db.session.scalar(sa.select(Message.body).where(
            Message.author_id == writer.id)) == "Voici mes sources."  # the message stays
        assert counters_disagree() == []
        stored = {row.stored_name for row in db.session.scalars(sa.select(MessageAttachment))}
        stored |= {row.stored_name for row in db.session.scalars(sa.select(Attachment))}
    assert {p.name for p in uploads_dir.iterdir()} == stored  # the writer's file is gone
    assert len(stored) == 2

    for who, session in (("manager", manager), ("client", client)):
        pages = crawl(session, start)
        assert len([p for p in pages.values() if p]) > 5, who
        showing = [path for path, text in pages.items() if old_name in text]
        assert showing == [], f"{who} still reads {old_name!r} on {showing}"
    order_page = client.get(f"/orders/{story['order'].id}").get_data(as_text=True)
    assert "Ancien membre" in order_page and "Voici mes sources." in order_page

    person_page = manager.get(f"/people/{writer.id}").get_data(as_text=True)
    assert 'data-testid="person-erased"' in person_page
    assert writer_session.get("/home").status_code == 302  # the session ended
    for address in (writer.email, f"erased-{writer.id}@erased.invalid"):
        refused = make_client().login(address, Factory.PASSWORD)
        assert refused.status_code != 302
    [event] = security_events("person_erased")
    assert event["target_user_id"] == writer.id and event["user_id"] == story["manager"].id
    assert old_name not in json.dumps(event) and writer.email not in json.dumps(event)


def test_erasing_a_former_client_removes_drafts_files_and_emails_and_keeps_the_orders(
        app, story, login_as, uploads_dir, factory):
    client = story["client"]
    waiting = factory.order(client=client, status=OrderStatus.OPEN, title="En attente")
    deactivate(app, client)
    manager = login_as(story["manager"])
    with app.app_context():
        emails_to_client = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEmail)
                                             .where(OutboxEmail.recipient == client.email))
    assert emails_to_client > 0

    # An order waiting for a writer is not finished: it stands in the way.
    page = erase(manager, client).get_data(as_text=True)
    assert waiting.reference in page
    with app.app_context():
        assert db.session.get(User, client.id).erased_at is None
        from portal.orders import service
        service.cancel(db.session.get(Order, waiting.id), db.session.get(User,
                       story["manager"].id), "Le client est parti.")
        db.session.commit()

    assert erase(manager, client).status_code == 302
    with app.app_context():
        assert db.session.get(Order, story["draft"].id) is None
        assert db.session.get(Order, story["order"].id).client_id == client.id
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEmail)
                                 .where(OutboxEmail.recipient == client.email)) == 0
        assert counters_disagree() == []
    assert len(list(uploads_dir.iterdir())) == 1  # the writer's sources.txt only


@pytest.mark.parametrize("who", ["an active client", "a manager", "an erased writer"])
def test_who_cannot_be_erased_is_told_why_and_nothing_changes(app, story, login_as, who):
    manager = login_as(story["manager"])
    if who == "an active client":
        person = story["other_client"]
    elif who == "a manager":
        person = login_as("manager").user
        deactivate(app, person)
    else:
        person = story["writer"]
        deactivate(app, person)
        assert erase(manager, person).status_code == 302
    with app.app_context():
        before = db.session.get(User, person.id)
        before = (before.display_name, before.email, before.erased_at)

    response = erase(manager, person)

    assert response.status_code in (200, 422)
    assert 'data-testid="erase-blockers"' in response.get_data(as_text=True)
    with app.app_context():
        after = db.session.get(User, person.id)
        assert (after.display_name, after.email, after.erased_at) == before


def test_the_erasure_must_be_confirmed(app, story, login_as):
    deactivate(app, story["writer"])
    manager = login_as(story["manager"])
    response = erase(manager, story["writer"], confirm=False)
    assert response.status_code == 422
    with app.app_context():
        assert db.session.get(User, story["writer"].id).erased_at is None


def test_an_erased_account_cannot_be_reactivated(app, story, login_as):
    deactivate(app, story["writer"])
    manager = login_as(story["manager"])
    erase(manager, story["writer"])
    manager.submit(f"/people/{story['writer'].id}/reactivate",
                   page=f"/people/{story['writer'].id}")
    with app.app_context():
        assert db.session.get(User, story["writer"].id).active is False


def test_files_of_the_download_are_those_of_the_storage(story, login_as, uploads_dir):
    _index, archive = read_zip(login_as(story["client"]).get("/settings/data"))
    on_disk = sorted(p.read_bytes() for p in Path(uploads_dir).iterdir())
    in_zip = sorted(archive.read(n) for n in archive.namelist() if n.startswith("files/"))
    assert in_zip == on_disk
