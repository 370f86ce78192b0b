"""The conversation of an order: the client, the assigned writer and the managers write in one
stream with the order's events; staff keep internal notes no client ever reaches; files follow
the rules of brief files; what people write is shown as inert text; bad input is refused
clearly and stores nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from portal.extensions import db
from portal.messaging.models import Message, MessageAttachment
from portal.messaging.service import post_message
from portal.orders import service as order_service
from portal.orders.models import Order, OrderStatus
from portal.signals import message_posted
from tests.conftest import statements_of
from tests.factories import deliverable
from tests.http.messaging_helpers import (
    EXE_FILE,
    PDF_FILE,
    TEXT_FILE,
    make_cast,
    messages,
    post,
)
from tests.http.pages import by_testid, flashes, location, page_text, texts


@pytest.fixture
def cast(app, factory, signed_in):
    return make_cast(app, factory, signed_in)


@pytest.fixture
def uploads_dir(app, tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(folder))
    return folder


def stored_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def html_of(response) -> str:
    return response.get_data(as_text=True)


def stream_texts(response) -> list[str]:
    """The lines of the conversation as a person reads them, top to bottom."""
    return texts(response, lambda _tag, attrs: attrs.get("data-testid") in (
        "message", "note", "stream-event"))


# --- one stream ---------------------------------------------------------------------------


def test_client_writer_and_manager_talk_in_one_stream_with_the_orders_events(cast, clock, app):
    clock.advance(minutes=1)
    sent = post(cast.client, cast.order_id, "Pouvez-vous citer le **marché** ?")
    assert location(sent) == cast.url
    assert sent.headers["Location"].endswith(f"#message-{messages(app)[0].id}")
    clock.advance(minutes=1)
    post(cast.writer, cast.order_id, "Oui, bien sûr.")
    clock.advance(minutes=1)
    post(cast.manager, cast.order_id, "Je confirme pour l'agence.")
    clock.advance(minutes=1)
    with app.app_context():
        order = db.session.get(Order, cast.order_id)
        writer = db.session.get(type(cast.writer.user), cast.writer.user.id)
        order_service.save_draft(order, writer, deliverable(order, "Un texte."),
                                 base_version=0)
        order_service.deliver(order, writer, "")
        db.session.commit()

    for browser in (cast.client, cast.writer, cast.manager):
        lines = stream_texts(browser.get(cast.url))
        assert [line.split(" ")[0] for line in lines] == [
            "Brief", "Order", "Taken", "Ama", "Kofi", "Esi", "Text"], lines
        assert "Pouvez-vous citer le **marché** ?" in lines[3]  # plain text: as typed
        assert "Client" in lines[3] and "Writer" in lines[4] and "Manager" in lines[5]


def test_the_sender_returns_to_the_message_with_a_confirmation(cast):
    sent = post(cast.writer, cast.order_id, "Première version demain.")
    page = cast.writer.get(location(sent))
    assert "Your message is sent." in flashes(page)
    assert "Première version demain." in by_testid(page, "message")


def test_messages_are_plain_text_with_their_addresses_as_links(cast):
    """No Markdown: what was typed is what is read, line breaks kept, addresses clickable."""
    post(cast.client, cast.order_id,
         "# Pas un titre\n**gras** et *italique*, voir https://example.com/guide.\n\n"
         "- un\n- deux\n\n`code` ![image](https://example.com/a.png) et www.example.com")
    html = html_of(cast.client.get(cast.url))
    body = html[html.index('data-testid="message-body"'):]
    body = body[:body.index("</div>")]
    assert "**gras** et *italique*" in body and "<strong>" not in body and "<em>" not in body
    assert "# Pas un titre<br>" in body and "<h1" not in body and "<li>" not in body
    assert "`code`" in body and "<code>" not in body and "<img" not in body
    assert re.search(r'<a href="https://example.com/guide" rel="nofollow noopener noreferrer ugc"'
                     r' target="_blank">https://example.com/guide</a>\.', body)
    assert '<a href="https://www.example.com" ' in body
    assert body.count("<p>") == 3


def test_a_message_is_rendered_once_when_posted_and_pages_show_what_was_stored(cast, app):
    """The HTML is stored with the message (Message.html), as render_message made it; the page
    shows that stored HTML and does not render the body again."""
    from portal.messaging.service import render_message

    body = "Voir https://example.com/guide.\n<b>Merci</b>"
    message_id = cast.say(cast.writer, body)
    with app.app_context():
        message = db.session.get(Message, message_id)
        assert message.html == str(render_message(body))
        assert "&lt;b&gt;Merci&lt;/b&gt;" in message.html and "<b>" not in message.html
        # What the page shows comes from the column: changed behind the portal's back, the
        # page follows the column, not the body.
        message.html = "<p>Rendu enregistré</p>"
        db.session.commit()
    page = cast.client.get(cast.url).get_data(as_text=True)
    assert "<p>Rendu enregistré</p>" in page and "example.com/guide" not in page


def test_a_message_whose_author_is_gone_says_so_and_keeps_its_files(cast, app, uploads_dir):
    """The page reads its messages as plain rows joined to their authors and files: a message
    whose author's row is gone (author_id set to NULL by the database) is still shown."""
    kept = cast.say(cast.client, "Avant mon départ.", files=[("notes.txt", TEXT_FILE[1])])
    cast.say(cast.writer, "Bien reçu.")
    with app.app_context():
        db.session.get(Message, kept).author_id = None
        db.session.commit()
    page = cast.manager.get(cast.url)
    gone, answer = by_testid(page, "message"), stream_texts(page)[-1]
    assert "A former member" in gone and "Client" not in gone and "notes.txt" in gone
    assert "Avant mon départ." in gone and answer.startswith("Kofi") and "Writer" in answer


def test_no_markdown_hint_where_a_message_is_written(cast):
    for browser in (cast.client, cast.writer):
        page = browser.get(cast.url)
        form = by_testid(page, "message-form")
        assert "**" not in form and "`" not in form and "Markdown" not in form
        assert "web addresses become links" in form


def test_a_script_in_the_text_a_link_or_a_file_name_is_shown_as_inert_text(cast, uploads_dir):
    post(cast.client, cast.order_id,
         "<script>alert(1)</script> et [x](javascript:alert(1)) et <img src=x onerror=alert(1)>",
         files=[("<script>alert(1)</script>.txt", b"bonjour\n"),
                ("<img src=x onerror=alert(2)>.txt", b"salut\n")])

    for browser in (cast.client, cast.writer, cast.manager):
        page = browser.get(cast.url)
        html = html_of(page)
        assert "<script>alert" not in html
        assert not re.search(r"<img[^>]*onerror", html, re.IGNORECASE)
        assert not re.search(r'href\s*=\s*["\']?\s*javascript:', html, re.IGNORECASE)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "[x](javascript:alert(1))" in by_testid(page, "message-body")
        files = by_testid(page, "message-files")
        assert "&lt;img src=x onerror=alert(2)&gt;.txt" in html
        assert "<img src=x onerror=alert(2)>.txt" in files

    # The download keeps the name as a label only: an attachment, never rendered.
    with cast.app.app_context():
        attachment = db.session.query(MessageAttachment).order_by(MessageAttachment.id).first()
        message_id, file_id = attachment.message_id, attachment.id
    download = cast.writer.get(f"{cast.url}/messages/{message_id}/files/{file_id}")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Security-Policy"] == "sandbox"


# --- files --------------------------------------------------------------------------------


def test_a_zip_bomb_sent_with_a_message_is_refused_and_nothing_is_posted(cast, uploads_dir,
                                                                         app):
    from tests.http.orders_helpers import odt_bomb

    sent = post(cast.client, cast.order_id, "Le brief.", files=[("brief.odt", odt_bomb())])

    assert sent.status_code == 422
    assert ("“brief.odt” is refused: its packed content would unpack to an absurd size"
            in page_text(sent))
    assert messages(app) == [] and stored_files(uploads_dir) == []


def test_an_unconfirmed_account_cannot_send_files(cast, uploads_dir, app):
    with app.app_context():
        db.session.get(type(cast.client.user), cast.client.user.id).email_confirmed_at = None
        db.session.commit()
    assert 'name="files"' not in html_of(cast.client.get(cast.url))

    sent = post(cast.client, cast.order_id, "Le brief.", files=[TEXT_FILE])

    assert sent.status_code == 422
    assert "Confirm your email address before sending files." in page_text(sent)
    assert messages(app) == [] and stored_files(uploads_dir) == []
    # Without files, the conversation goes on.
    assert post(cast.client, cast.order_id, "Le brief suit.").status_code == 302


def test_files_follow_the_rules_of_brief_files_and_go_only_to_people_of_the_order(
    cast, uploads_dir, app
):
    sent = post(cast.client, cast.order_id, "Voici le brief complet.",
                files=[PDF_FILE, TEXT_FILE])
    assert sent.status_code == 302
    message = messages(app)[0]
    assert [(a.original_name, a.media_type) for a in message.attachments] == [
        ("brief.pdf", "application/pdf"), ("notes.txt", "text/plain; charset=utf-8")]
    on_disk = stored_files(uploads_dir)
    assert len(on_disk) == 2
    assert {p.name for p in on_disk} == {a.stored_name for a in message.attachments}
    assert all(re.fullmatch(r"[0-9a-f]{32}", p.name) for p in on_disk)
    assert not str(uploads_dir).startswith(str(Path(app.static_folder)))

    pdf = message.attachments[0]
    url = f"{cast.url}/messages/{message.id}/files/{pdf.id}"
    for browser in (cast.client, cast.writer, cast.manager):
        download = browser.get(url)
        assert download.status_code == 200
        assert download.data == PDF_FILE[1]
        assert download.headers["Content-Type"] == "application/pdf"
        assert download.headers["Content-Disposition"] == 'attachment; filename=brief.pdf'
        assert download.headers["X-Content-Type-Options"] == "nosniff"
        assert download.headers["Content-Security-Policy"] == "sandbox"
    assert by_testid(cast.client.get(cast.url), "message-files").count("brief.pdf") == 1

    text = message.attachments[1]
    download = cast.writer.get(f"{cast.url}/messages/{message.id}/files/{text.id}")
    assert download.headers.getlist("Content-Type") == ["text/plain; charset=utf-8"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"

    for outsider in (cast.other_client, cast.other_writer):
        assert outsider.get(url).status_code == 404
    # The same file asked through another order, or another message, does not exist.
    other = cast.new_order()
    assert cast.client.get(f"/orders/{other}/messages/{message.id}/files/{pdf.id}"
                           ).status_code == 404
    assert cast.client.get(f"{cast.url}/messages/{message.id + 1}/files/{pdf.id}"
                           ).status_code == 404


# --- internal notes -----------------------------------------------------------------------


def test_staff_write_internal_notes_shown_with_a_clear_mark(cast, app):
    post(cast.writer, cast.order_id, "Le client semble pressé.", internal=True)
    sent = post(cast.manager, cast.order_id, "Oui, soigne l'introduction.", internal=True)
    assert "Your internal note is saved: only the agency's team sees it." in flashes(
        cast.manager.get(location(sent)))

    stored = messages(app)
    assert [m.internal for m in stored] == [True, True]
    for browser in (cast.writer, cast.manager):
        page = browser.get(cast.url)
        notes = texts(page, lambda _tag, attrs: attrs.get("data-testid") == "note")
        assert len(notes) == 2
        assert all("Internal note · staff only" in note for note in notes)
        assert "Le client semble pressé." in notes[0]


@pytest.mark.parametrize("way", ["order page", "export", "file", "list badge", "nav count"])
def test_an_internal_note_never_reaches_the_client(cast, uploads_dir, clock, way):
    cast.client.get(cast.url)  # the client has read everything so far
    clock.advance(minutes=1)
    note_id = cast.say(cast.writer, "SECRET: le client paie en retard.", internal=True,
                       files=[("secret.txt", b"entre nous\n")])
    with cast.app.app_context():
        file_id = db.session.get(Message, note_id).attachments[0].id

    if way == "order page":
        page = cast.client.get(cast.url)
        assert "SECRET" not in html_of(page) and "secret.txt" not in html_of(page)
        assert "Internal note" not in page_text(page)
        assert f"message-{note_id}" not in html_of(page)
    elif way == "export":
        export = cast.client.get(f"{cast.url}/conversation.txt")
        assert export.status_code == 200
        assert "SECRET" not in export.get_data(as_text=True)
        assert "INTERNAL" not in export.get_data(as_text=True)
    elif way == "file":
        assert cast.client.get(f"{cast.url}/messages/{note_id}/files/{file_id}"
                               ).status_code == 404
    elif way == "list badge":
        assert 'data-testid="unread-badge"' not in html_of(cast.client.get("/orders"))
        assert 'data-testid="unread-badge"' in html_of(cast.manager.get("/agency/orders"))
    else:
        assert by_testid(cast.client.get("/orders"), "nav-unread-count") == ""
        assert by_testid(cast.manager.get("/agency/orders"), "nav-unread-count") == "1"


@pytest.mark.parametrize("way", ["order page", "export", "file", "post"])
def test_a_writer_not_on_the_order_sees_nothing_of_its_conversation(cast, uploads_dir, way):
    message_id = cast.say(cast.client, "Bonjour à l'équipe.", files=[TEXT_FILE])
    note_id = cast.say(cast.manager, "Note interne.", internal=True)
    with cast.app.app_context():
        file_id = db.session.get(Message, message_id).attachments[0].id

    for outsider in (cast.other_writer, cast.other_client):
        if way == "order page":
            assert outsider.get(cast.url).status_code == 404
        elif way == "export":
            assert outsider.get(f"{cast.url}/conversation.txt").status_code == 404
        elif way == "file":
            assert outsider.get(f"{cast.url}/messages/{message_id}/files/{file_id}"
                                ).status_code == 404
        else:
            assert post(outsider, cast.order_id, "Je m'invite.").status_code == 404
    assert [m.id for m in messages(cast.app)] == [message_id, note_id]


def test_a_writer_who_could_take_an_open_order_reads_its_brief_but_not_its_conversation(cast):
    open_id = cast.new_order(OrderStatus.OPEN)
    cast.say(cast.client, "Question sur le brief.", order_id=open_id)
    page = cast.other_writer.get(f"/orders/{open_id}")
    assert page.status_code == 200
    assert "Question sur le brief." not in html_of(page)
    assert 'data-testid="conversation"' not in html_of(page)
    assert post(cast.other_writer, open_id, "Je peux ?").status_code == 404
    assert cast.other_writer.get(f"/orders/{open_id}/conversation.txt").status_code == 404
    # A manager reads it.
    assert "Question sur le brief." in html_of(cast.manager.get(f"/orders/{open_id}"))


def test_a_draft_has_no_conversation_yet(cast):
    draft_id = cast.new_order(OrderStatus.DRAFT)
    assert 'data-testid="conversation"' not in html_of(cast.client.get(f"/orders/{draft_id}"))
    assert post(cast.client, draft_id, "Une question.").status_code == 404
    assert messages(cast.app) == []


# --- the export ---------------------------------------------------------------------------


def test_the_export_is_a_plain_text_download_of_what_the_person_may_see(cast, uploads_dir):
    cast.say(cast.client, "Pouvez-vous citer le **marché** ?", files=[TEXT_FILE])
    cast.say(cast.writer, "Oui.")
    cast.say(cast.manager, "Prévoir deux jours de plus.", internal=True)

    export = cast.manager.get(f"{cast.url}/conversation.txt")
    assert export.status_code == 200
    assert export.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert export.headers["Content-Disposition"] == \
        f"attachment; filename=CMD-{cast.order_id:05d}-conversation.txt"
    assert export.headers["X-Content-Type-Options"] == "nosniff"
    assert export.headers["Content-Security-Policy"] == "sandbox"
    text = export.get_data(as_text=True)
    assert "Conversation of order" in text and "Dix idées de sorties" in text
    assert text.index("Taken by a writer") < text.index("Pouvez-vous citer le **marché** ?") \
        < text.index("Oui.") < text.index("Prévoir deux jours de plus.")
    assert "Files: notes.txt" in text
    assert "Esi Manager — INTERNAL NOTE (staff only)" in text

    client_text = cast.client.get(f"{cast.url}/conversation.txt").get_data(as_text=True)
    assert "Pouvez-vous citer" in client_text and "Prévoir deux jours" not in client_text


# --- bad input ----------------------------------------------------------------------------


BAD_INPUT = [
    ("empty body", "client", {"body": ""}, (), "Write your message before sending it."),
    ("blank body", "client", {"body": "  \r\n  "}, (), "Write your message before sending it."),
    ("no body field", "client", {"body": None}, (), "Write your message before sending it."),
    ("10,001 characters", "client", {"body": "a" * 10_001}, (),
     "A message has at most 10,000 characters."),
    ("forbidden type", "client", {}, [EXE_FILE], "is not an accepted kind of file"),
    ("content not what the name says", "writer", {}, [("photo.png", b"pas une image\n")],
     "is not what its name says"),
    ("empty file", "manager", {}, [("vide.txt", b"")], "is empty"),
    ("too many files", "client", {}, [TEXT_FILE] * 6, "A message carries at most 5 files."),
    ("client asks for an internal note", "client", {"internal": True}, (),
     "Only the agency's team can write internal notes."),
    ("a field the form does not have", "client", {"extra": {"author_id": "1"}}, (),
     "This form does not accept these fields: author_id."),
]


@pytest.mark.parametrize(("who", "data", "files", "message"),
                         [case[1:] for case in BAD_INPUT], ids=[case[0] for case in BAD_INPUT])
def test_bad_input_is_refused_clearly_and_stores_nothing(cast, uploads_dir, who, data, files,
                                                         message):
    browser = getattr(cast, who)
    body = data.get("body", "Un message correct.")
    sent = post(browser, cast.order_id, body, internal=data.get("internal", False),
                files=files, extra=data.get("extra"))

    assert sent.status_code == 422
    said = page_text(sent)
    assert message in said, said[:3000]
    assert messages(cast.app) == []
    assert stored_files(uploads_dir) == []
    # The page keeps what was typed.
    if body and body.strip() and len(body) <= 10_001:
        assert body.strip()[:50] in html_of(sent)


def test_ten_thousand_characters_is_the_most_a_message_holds(cast):
    assert post(cast.client, cast.order_id, "é" * 10_000).status_code == 302
    assert len(messages(cast.app)[0].body) == 10_000


def test_an_order_the_person_may_not_see_answers_not_found_and_stores_nothing(cast):
    for browser in (cast.other_client, cast.other_writer):
        assert post(browser, cast.order_id, "Coucou").status_code == 404
    assert post(cast.client, 999_999, "Coucou").status_code == 404
    assert messages(cast.app) == []


def test_a_message_without_csrf_token_is_refused(cast):
    sent = cast.client.post(f"{cast.url}/messages", data={"body": "Sans jeton"})
    assert sent.status_code == 400
    assert messages(cast.app) == []


# --- the service --------------------------------------------------------------------------


def test_an_email_received_twice_is_stored_once(cast, app):
    with app.app_context():
        order = db.session.get(Order, cast.order_id)
        author = db.session.get(type(cast.client.user), cast.client.user.id)
        first = post_message(order, author, "Réponse par email.", email_message_id="<a@b>")
        db.session.commit()
        again = post_message(order, author, "Réponse par email.", email_message_id="<a@b>")
        db.session.commit()
        assert again.id == first.id
    assert len(messages(app)) == 1


def test_each_message_is_announced_once_to_its_receivers(cast):
    """Every message kept is sent once as `message_posted` (the unread counters and the
    notifications receive it, tests/unit/test_signals.py); a refused one is not."""
    told: list[tuple[int, bool]] = []

    def receiver(message, **_):
        told.append((message.order_id, message.internal))

    message_posted.connect(receiver)
    try:
        post(cast.client, cast.order_id, "Bonjour.")
        post(cast.writer, cast.order_id, "Note.", internal=True)
        post(cast.client, cast.order_id, "")  # refused: nobody is told
    finally:
        message_posted.disconnect(receiver)

    assert told == [(cast.order_id, False), (cast.order_id, True)]


# --- long conversations -------------------------------------------------------------------


def _bodies(response) -> list[str]:
    return [line.strip() for line in texts(response, lambda _tag, attrs:
                                           attrs.get("data-testid") == "message-body")]


def _earlier_link(response) -> str:
    found = re.search(r'href="([^"]+)" data-testid="earlier-messages"',
                      response.get_data(as_text=True))
    assert found, "no link to earlier messages"
    return found.group(1).replace("&amp;", "&")


def test_a_long_conversation_shows_its_latest_messages_and_earlier_ones_page_by_page(
        cast, clock):
    """Sixty messages written within the same instant (ties broken by their order), and a note
    the client never sees: the page shows the latest fifty, then the ten before, then nothing
    earlier; the events fall in the part of the conversation where they happened."""
    from portal.messaging.queries import CONVERSATION_WINDOW

    clock.advance(minutes=1)  # after the order's events
    for n in range(1, 61):
        cast.say(cast.writer if n % 2 else cast.client, f"Message {n}")
        if n == 5:
            cast.say(cast.manager, "Note 5", internal=True)
    cast.client.get(cast.url)  # read: nothing new reaches back

    latest = cast.client.get(cast.url)
    assert _bodies(latest) == [f"Message {n}" for n in range(11, 61)]
    assert len(_bodies(latest)) == CONVERSATION_WINDOW
    assert 'data-testid="latest-messages"' not in latest.get_data(as_text=True)
    # The order's events (brief, order placed, taken) came before the first message: not here.
    assert by_testid(latest, "stream-event") == ""

    earlier = cast.client.get(_earlier_link(latest))
    assert earlier.status_code == 200
    assert _bodies(earlier) == [f"Message {n}" for n in range(1, 11)]
    assert "Note 5" not in page_text(earlier)
    assert 'data-testid="earlier-messages"' not in earlier.get_data(as_text=True)
    assert 'data-testid="latest-messages"' in earlier.get_data(as_text=True)
    assert len(stream_texts(earlier)) > len(_bodies(earlier))  # the events are on this part

    # Staff see the note in its place; a cursor someone may not see or that does not exist
    # shows the latest messages.
    assert "Note 5" in page_text(cast.manager.get(_earlier_link(cast.manager.get(cast.url))))
    note_id = messages(cast.app)[5].id
    assert messages(cast.app)[5].body == "Note 5"
    assert _bodies(cast.client.get(f"{cast.url}?before={note_id}")) == _bodies(latest)
    for bad in ("999999999", "x", "-1", "99999999999999999999"):
        assert _bodies(cast.client.get(f"{cast.url}?before={bad}")) == _bodies(latest)


def test_unread_messages_further_back_than_the_latest_fifty_are_all_shown(cast, clock):
    cast.say(cast.client, "Lu 1")
    clock.advance(minutes=1)
    cast.client.get(cast.url)  # the client's visit
    clock.advance(minutes=1)
    for n in range(1, 71):
        cast.say(cast.writer, f"Nouveau {n}")

    page = cast.client.get(cast.url)

    assert _bodies(page) == [f"Nouveau {n}" for n in range(1, 71)]
    html = page.get_data(as_text=True)
    assert html.index('data-testid="new-marker"') < html.index("Nouveau 1<")
    assert 'data-testid="earlier-messages"' in html  # "Lu 1" is a page away
    # Once read, the page is back to the latest fifty.
    assert _bodies(cast.client.get(cast.url)) == [f"Nouveau {n}" for n in range(21, 71)]


def test_the_order_page_costs_the_same_statements_for_a_long_conversation(cast, app):

    cast.say(cast.writer, "Un")
    cast.client.get(cast.url)
    short = len(statements_of(app, cast.client, cast.url))
    for n in range(80):
        cast.say(cast.writer, f"Encore {n}")
    cast.client.get(cast.url)
    assert len(statements_of(app, cast.client, cast.url)) == short


def _postgresql_only(app) -> None:
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite reads outside its one write transaction: nothing to wait for")


def test_a_writer_taken_off_the_order_as_they_post_is_told_and_sent_home(
        app, cast, monkeypatch):
    """The manager gives the order to another writer after the writer's page of the order was
    read and before their message is stored: the message is refused on the order as held, and
    the writer, who no longer sees the order, is sent home with the reason instead of an order
    page of an order that is no longer theirs (422, without the form or its error)."""
    from portal.accounts.models import User
    from portal.messaging import queries as conversations

    _postgresql_only(app)
    loaded = conversations.conversation_order

    def reassigned_meanwhile(user, order_id):
        order = loaded(user, order_id)
        with app.app_context():  # the manager's request, committed first
            order_service.assign(db.session.get(Order, order_id),
                                 db.session.get(User, cast.manager.user.id),
                                 db.session.get(User, cast.other_writer.user.id))
            db.session.commit()
        return order

    monkeypatch.setattr(conversations, "conversation_order", reassigned_meanwhile)
    response = post(cast.writer, cast.order_id, "Écrit pendant la réattribution.")
    assert location(response) == "/home"
    assert flashes(cast.writer.get("/home")) == [
        "You cannot write in the conversation of this order."]
    assert messages(app, cast.order_id) == []
    assert cast.writer.get(cast.url).status_code == 404


def test_a_message_stores_its_files_before_it_holds_the_order(app, cast, uploads_dir,
                                                              monkeypatch):
    """Storing a message's files (seconds on object storage) does not hold the order's row:
    a move of the order meanwhile is not kept waiting; the row is held only for the rows."""
    import sqlalchemy as sa

    from portal.orders import uploads

    _postgresql_only(app)
    store, free = uploads.store, []

    def store_and_try_the_order(data, media_type):
        with app.app_context(), db.engine.connect() as other:
            free.append(other.execute(sa.text(
                "SELECT id FROM orders WHERE id = :id FOR UPDATE NOWAIT"),
                {"id": cast.order_id}).scalar() == cast.order_id)
            other.rollback()
        return store(data, media_type)

    monkeypatch.setattr(uploads, "store", store_and_try_the_order)
    response = post(cast.writer, cast.order_id, "Le plan.", files=[TEXT_FILE])
    assert response.status_code == 302
    assert free == [True]
    [message] = messages(app, cast.order_id)
    assert [a.original_name for a in message.attachments] == ["notes.txt"]
