"""Replies by email over real SMTP: the inbound server (started on a free loopback port, as
`flask mail inbound` starts it) posts a reply on the right order from the right person, without
the quoted email and signature; it refuses forged, expired and foreign reply addresses, wrong
senders, people no longer on the order and robots (550, logged, nothing stored); the same email
twice is stored once per order; emails nested or split beyond the limits, or that the parser
cannot read, get a fixed 554 answer that names nothing of the portal's internals."""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine

from portal.accounts.models import Role, User
from portal.extensions import db, utcnow
from portal.forms import control_characters
from portal.messaging.models import Message, MessageSource
from portal.notifications.inbound import start_inbound
from portal.notifications.replies import reply_address
from portal.orders import service
from portal.orders.models import Order, OrderStatus
from tests.conftest import counted_statements, free_port

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def uploads_dir(app, tmp_path, monkeypatch) -> Path:
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))
    return tmp_path / "uploads"


@pytest.fixture
def inbound(app):
    controller = start_inbound(app, "127.0.0.1", free_port())
    yield controller
    controller.stop()


def address_for(app, order, user) -> str:
    with app.app_context():
        return reply_address(order.id, user.id)


def send(inbound, *, sender: str, to: str, text: str | None = "Merci !", html: str | None = None,
         envelope_from: str | None = None, message_id: str | None = None,
         headers: dict | None = None, files=()) -> tuple[int, str]:
    """Send a reply over SMTP; returns the server's answer (code, text)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = "Re: Nouveau message"
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id or make_msgid(domain="mail.example.test")
    for name, value in (headers or {}).items():
        msg[name] = value
    if text is not None:
        msg.set_content(text)
        if html is not None:
            msg.add_alternative(html, subtype="html")
    elif html is not None:
        msg.set_content(html, subtype="html")
    for name, data, maintype, subtype in files:
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    from_address = envelope_from if envelope_from is not None else sender.split("<")[-1].strip(">")
    with smtplib.SMTP(inbound.hostname, inbound.port, timeout=10) as smtp:
        smtp.ehlo("mail.example.test")
        for code, answer in (smtp.mail(from_address), smtp.rcpt(to)):
            if code >= 400:
                return code, answer.decode()
        code, answer = smtp.data(msg.as_bytes(policy=policy.SMTP))  # CRLF, as mailers send
    return code, answer.decode()


def send_raw(inbound, *, envelope_from: str, to: list[str] | str, content: bytes
             ) -> tuple[int, str]:
    """Send raw bytes as an email (to one or several reply addresses); the answer to DATA."""
    recipients = [to] if isinstance(to, str) else to
    with smtplib.SMTP(inbound.hostname, inbound.port, timeout=30) as smtp:
        smtp.ehlo("mail.example.test")
        smtp.mail(envelope_from)
        for recipient in recipients:
            code, answer = smtp.rcpt(recipient)
            assert code == 250, answer
        code, answer = smtp.data(content)
    return code, answer.decode()


def raw_reply(sender: str, to: str, body: bytes, *, headers: bytes = b"",
              content_type: bytes = b"text/plain; charset=utf-8") -> bytes:
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: Re: Nouveau message\r\n"
            f"Date: {formatdate()}\r\nMIME-Version: 1.0\r\n").encode() + headers + \
        b"Content-Type: " + content_type + b"\r\n\r\n" + body


def nested(depth: int, text: bytes = b"Merci, c'est parfait.") -> tuple[bytes, bytes]:
    """The Content-Type and body of `depth` multiparts each inside the one before, with the
    text at the bottom."""
    lines = []
    for level in range(1, depth):
        lines += [b"--b%d" % (level - 1), b'Content-Type: multipart/mixed; boundary="b%d"' % level,
                  b""]
    lines += [b"--b%d" % (depth - 1), b"Content-Type: text/plain; charset=utf-8", b"", text,
              b"--b%d--" % (depth - 1)]
    lines += [b"--b%d--" % level for level in range(depth - 2, -1, -1)]
    return b'multipart/mixed; boundary="b0"', b"\r\n".join(lines)


def side_by_side(parts: int) -> tuple[bytes, bytes]:
    """One multipart of `parts` small text parts."""
    lines = []
    for n in range(parts):
        lines += [b"--flat", b"Content-Type: text/plain", b"", b"part %d" % n]
    return b'multipart/mixed; boundary="flat"', b"\r\n".join([*lines, b"--flat--"])


def messages(ctx) -> list[Message]:
    with ctx() as session:
        found = list(session.scalars(sa.select(Message).order_by(Message.id)))
        for message in found:
            _ = message.attachments
        session.expunge_all()
    return found


def refusals(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "portal.inbound" and r.levelno == logging.WARNING]


# --- replies that are posted --------------------------------------------------------------


def test_a_french_clients_reply_lands_on_the_order_without_quote_or_signature(
    app, ctx, factory, inbound, caplog
):
    client = factory.user("client", locale="fr", email="awa@client.example.test")
    order = factory.order(client=client, status=OrderStatus.IN_PROGRESS)
    other_order = factory.order(client=client, status=OrderStatus.IN_PROGRESS)
    to = address_for(app, order, client)
    text = (
        "Merci, le plan me convient.\n\nEnvoyé de mon iPhone\n\n"
        "Le lun. 3 mars 2026 à 10:00, Agence Plume <no-reply@portal.test> a écrit :\n\n"
        "> Bonjour Awa,\n> La rédactrice a écrit sur votre commande.\n"
    )
    message_id = make_msgid(domain="mail.example.test")

    code, answer = send(inbound, sender="Awa <awa@client.example.test>", to=to, text=text,
                        message_id=message_id)

    assert code == 250, answer
    [message] = messages(ctx)
    assert message.order_id == order.id != other_order.id
    assert message.author_id == client.id
    assert message.body == "Merci, le plan me convient."
    assert message.source is MessageSource.EMAIL
    assert message.email_message_id == message_id
    assert not message.internal
    assert refusals(caplog) == []


def test_an_english_writers_reply_loses_the_gmail_quote_and_signature(app, ctx, factory, inbound):
    tier = factory.tier()
    writer = factory.writer(locale="en", email="john@writer.example.test", tiers=[tier])
    order = factory.order(status=OrderStatus.IN_PROGRESS, writer=writer, tier=tier)
    text = (
        "I will send the outline tomorrow.\n\n> What about the outline?\n\n"
        "Best,\n\n-- \nJohn Writer\nhttps://john.example.test\n\n"
        "On Mon, Mar 3, 2026 at 10:00 AM Agence Plume <no-reply@portal.test> wrote:\n"
        "> Hello John,\n> the client asked a question.\n"
    )
    code, answer = send(inbound, sender="john@writer.example.test",
                        to=address_for(app, order, writer), text=text)
    assert code == 250, answer
    [message] = messages(ctx)
    assert (message.order_id, message.author_id) == (order.id, writer.id)
    assert message.body == "I will send the outline tomorrow.\n\nBest,"


def test_a_manager_may_reply_and_case_does_not_matter(app, ctx, factory, inbound):
    manager = factory.user("manager", email="Lead@Agence.example.test")
    order = factory.order(status=OrderStatus.OPEN)
    to = address_for(app, order, manager).upper()
    code, answer = send(inbound, sender="lead@agence.example.test", to=to, text="Je regarde.")
    assert code == 250, answer
    assert [(m.order_id, m.author_id) for m in messages(ctx)] == [(order.id, manager.id)]


def test_an_html_only_reply_becomes_text(app, ctx, factory, inbound):
    client = factory.user("client")
    order = factory.order(client=client)
    html = (
        "<html><body><div>Bonjour,<br>C'est <b>parfait</b> &amp; merci.</div>"
        "<div class='gmail_quote'><div class='gmail_attr'>Le lun. 3 mars 2026 à 10:00, "
        "Agence Plume a écrit :</div><blockquote>Le message cité</blockquote></div>"
        "</body></html>"
    )
    code, answer = send(inbound, sender=client.email, to=address_for(app, order, client),
                        text=None, html=html)
    assert code == 250, answer
    [message] = messages(ctx)
    assert message.body == "Bonjour,\nC'est parfait & merci."


def test_an_html_reply_reads_like_a_typed_message_its_links_clickable(app, ctx, factory,
                                                                       inbound):
    """The reply's text goes through the same plain-text rendering as a typed message: its
    link written out after the label becomes a link, its markup and asterisks stay text."""
    from portal.messaging.service import render_message

    client = factory.user("client")
    order = factory.order(client=client)
    html = ("<html><body><p>Voici <a href='https://boutique.tg/pagnes'>la page</a> et "
            "**pas de gras**.</p><p><a href='javascript:alert(1)'>piège</a></p></body></html>")
    code, answer = send(inbound, sender=client.email, to=address_for(app, order, client),
                        text=None, html=html)
    assert code == 250, answer
    [message] = messages(ctx)
    assert message.body == ("Voici la page (https://boutique.tg/pagnes) et **pas de gras**.\n\n"
                            "piège")
    shown = str(render_message(message.body))
    assert message.html == shown  # stored with the message, as a typed one is
    assert '<a href="https://boutique.tg/pagnes" ' in shown and "**pas de gras**" in shown
    assert "javascript" not in shown


def test_control_characters_of_a_reply_are_dropped_like_the_forms_refuse_them(
    app, ctx, factory, inbound
):
    """A reply is multi-line text that comes by no form: it keeps its lines (as LF, whatever
    marked them: CRLF, U+2028, vertical tab, form feed, NEL, as the forms do) and tabs, and
    loses every other control character, NUL included (PostgreSQL cannot store it: the reply
    was answered 450, and tried again for days), in its text and in its Message-ID. Blank
    lines in a row fold into one, as in any reply."""
    client = factory.user("client")
    order = factory.order(client=client)
    text = "Merci\x00 pour\tle plan.\x1b[31m\r\nDeuxième\u2028ligne\x0b\x0c\x85 fin."

    code, answer = send(inbound, sender=client.email, to=address_for(app, order, client),
                        text=text, message_id="<merci\x00\x07@mail.example.test>")

    assert code == 250, answer
    [message] = messages(ctx)
    assert message.body == "Merci pour\tle plan.[31m\nDeuxième\nligne\n\n fin."
    assert control_characters(message.email_message_id) == set()


def test_the_same_email_twice_is_stored_once(app, ctx, factory, inbound, caplog):
    client = factory.user("client")
    order = factory.order(client=client)
    to = address_for(app, order, client)
    message_id = make_msgid(domain="mail.example.test")
    first = send(inbound, sender=client.email, to=to, text="Une fois.", message_id=message_id)
    second = send(inbound, sender=client.email, to=to, text="Une fois.", message_id=message_id)
    assert first[0] == second[0] == 250
    assert "already" in second[1]
    assert [m.body for m in messages(ctx)] == ["Une fois."]
    assert refusals(caplog) == []


def test_the_same_email_delivered_while_a_copy_is_being_stored_is_already_received(
        app, ctx, factory, inbound, caplog):
    """A copy of the email is stored (not committed yet) when the same email arrives again: the
    second delivery waits for the order (PostgreSQL), then answers that it is already received
    and stores nothing. Had it read `already` before the order was held, it would have been
    told the copy by post_message and answered as if it had stored it."""
    import threading
    import time

    from portal.messaging.service import post_message

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite writes one transaction at a time: there is no lock to watch")
    client = factory.user("client")
    order = factory.order(client=client)
    to = address_for(app, order, client)
    message_id = make_msgid(domain="mail.example.test")
    answers: list[tuple[int, str]] = []
    second = threading.Thread(target=lambda: answers.append(
        send(inbound, sender=client.email, to=to, text="Une fois.", message_id=message_id)))
    with ctx() as session:
        post_message(session.get(Order, order.id), session.get(User, client.id), "Une fois.",
                     source=MessageSource.EMAIL, email_message_id=message_id)
        second.start()
        waited, deadline = False, time.monotonic() + 10
        while not waited and second.is_alive() and time.monotonic() < deadline:
            with db.engine.connect() as conn:
                waited = bool(conn.scalar(sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()")))
            second.join(0.01)
        session.commit()
    second.join(30)
    assert waited
    [(code, answer)] = answers
    assert code == 250 and "already" in answer, answer
    assert [m.body for m in messages(ctx)] == ["Une fois."]


def test_a_reply_reads_its_order_once(app, factory, inbound):
    """The order is held as it is read, before `already` is looked for: post_message is told
    so and does not read it again (it did on PostgreSQL, where hold_order reads as it locks)."""
    client = factory.user("client")
    order = factory.order(client=client)
    to = address_for(app, order, client)

    with counted_statements(app) as found:
        assert send(inbound, sender=client.email, to=to, text="Une fois.")[0] == 250

    assert len([s for s in found if s.startswith("SELECT orders.id,")]) == 1, found


def test_attachments_are_kept_under_the_file_rules_and_others_left_out_with_a_note(
    app, ctx, factory, inbound, uploads_dir
):
    client = factory.user("client", locale="en")
    order = factory.order(client=client)
    code, answer = send(
        inbound, sender=client.email, to=address_for(app, order, client), text="The logo.",
        files=[("logo.png", PNG, "image", "png"),
               ("setup.exe", b"MZ\x90\x00" + b"\x00" * 32, "application", "octet-stream")],
    )
    assert code == 250, answer
    [message] = messages(ctx)
    assert [a.original_name for a in message.attachments] == ["logo.png"]
    assert (uploads_dir / message.attachments[0].stored_name).read_bytes() == PNG
    assert message.body.startswith("The logo.\n\n(")
    assert "setup.exe" in message.body


def test_the_same_email_to_two_orders_is_a_message_on_each(app, ctx, factory, inbound):
    """One answer to two notification emails (or two copies delivered one by one): the
    Message-ID is stored once per order, not once for the portal."""
    client = factory.user("client")
    first, second = factory.order(client=client), factory.order(client=client)
    message_id = make_msgid(domain="mail.example.test")
    to = [address_for(app, first, client), address_for(app, second, client)]
    content = raw_reply(client.email, ", ".join(to), b"Oui pour les deux.",
                        headers=f"Message-ID: {message_id}\r\n".encode())

    code, answer = send_raw(inbound, envelope_from=client.email, to=to, content=content)

    assert code == 250, answer
    assert sorted((m.order_id, m.email_message_id) for m in messages(ctx)) == [
        (first.id, message_id), (second.id, message_id)]
    # Each copy again, one by one: already there, on each order.
    for address in to:
        code, answer = send_raw(inbound, envelope_from=client.email, to=address, content=content)
        assert (code, answer) == (250, "2.0.0 Reply already received")
    assert len(messages(ctx)) == 2


def test_a_zip_bomb_attached_to_a_reply_is_left_out_with_a_note(app, ctx, factory, inbound,
                                                                uploads_dir):
    from tests.http.orders_helpers import odt_bomb

    client = factory.user("client", locale="en")
    order = factory.order(client=client)
    code, answer = send(
        inbound, sender=client.email, to=address_for(app, order, client), text="The brief.",
        files=[("brief.odt", odt_bomb(), "application", "vnd.oasis.opendocument.text")],
    )
    assert code == 250, answer
    [message] = messages(ctx)
    assert message.attachments == []
    assert ("“brief.odt” is refused: its packed content would unpack to an absurd size"
            in message.body)
    assert list(uploads_dir.glob("*")) == []


def test_pictures_inside_the_html_body_are_not_attachments():
    from portal.notifications.inbound import attachments

    msg = EmailMessage()
    msg["From"] = "awa@client.example.test"
    msg.set_content("Voici le brief.")
    msg.add_alternative("<p>Voici le brief.</p><img src='cid:logo@client'>", subtype="html")
    msg.get_payload()[1].add_related(PNG, maintype="image", subtype="png", cid="<logo@client>",
                                     filename="image001.png", disposition="inline")
    msg.add_attachment(b"%PDF-1.4 brief", maintype="application", subtype="pdf",
                       filename="brief.pdf")
    assert [name for name, _data in attachments(msg)] == ["brief.pdf"]


# --- replies that are refused -------------------------------------------------------------


@pytest.fixture
def scene(app, factory):
    """An order in progress with its client and writer, a stranger, and a reply address."""
    client = factory.user("client", email="awa@client.example.test")
    tier = factory.tier()
    writer = factory.writer(email="kofi@writer.example.test", tiers=[tier])
    order = factory.order(client=client, writer=writer, tier=tier,
                          status=OrderStatus.IN_PROGRESS)
    stranger = factory.user("client", email="mallory@evil.example.test")
    return {"order": order, "client": client, "writer": writer, "stranger": stranger}


def _forged(app, scene):
    good = address_for(app, scene["order"], scene["client"])
    local, domain = good.split("@")
    forged = local[:-1] + ("a" if local[-1] != "a" else "b")  # signature changed
    return {"to": f"{forged}@{domain}", "sender": scene["client"].email}


def _other_order(app, scene):
    # The order of the address changed by hand: the signature no longer matches.
    good = address_for(app, scene["order"], scene["client"])
    order_part = good.split("+", 1)[1].split(".", 1)[0]
    other = "1" + order_part
    return {"to": good.replace(f"+{order_part}.", f"+{other}.", 1),
            "sender": scene["client"].email}


def _stranger_with_clients_address(app, scene):
    return {"to": address_for(app, scene["order"], scene["client"]),
            "sender": scene["stranger"].email}


def _client_with_writers_address(app, scene):
    return {"to": address_for(app, scene["order"], scene["writer"]),
            "sender": scene["client"].email}


def _forged_envelope_only(app, scene):
    # The From header says the client; the envelope says someone else.
    return {"to": address_for(app, scene["order"], scene["client"]),
            "sender": scene["client"].email, "envelope_from": scene["stranger"].email}


def _strangers_own_address(app, scene):
    # A genuine address for a person who has no part in the order.
    return {"to": address_for(app, scene["order"], scene["stranger"]),
            "sender": scene["stranger"].email}


def _robot(app, scene):
    return {"to": address_for(app, scene["order"], scene["client"]),
            "sender": scene["client"].email, "text": "Je suis absente jusqu'au 10 mars.",
            "headers": {"Auto-Submitted": "auto-replied"}}


def _bounce(app, scene):
    return {"to": address_for(app, scene["order"], scene["client"]),
            "sender": scene["client"].email, "envelope_from": ""}


def _not_a_reply_address(app, scene):
    return {"to": "postmaster@portal.localhost", "sender": scene["client"].email}


def _only_a_quote(app, scene):
    return {"to": address_for(app, scene["order"], scene["client"]),
            "sender": scene["client"].email,
            "text": "On Mon, Mar 3, 2026 at 10:00 AM X wrote:\n> the whole email\n"}


REFUSED = {
    "forged token": (_forged, "forged token"),
    "another order in the address": (_other_order, "forged token"),
    "stranger sends to the client's address": (_stranger_with_clients_address, "From header"),
    "client sends to the writer's address": (_client_with_writers_address, "From header"),
    "envelope sender is someone else": (_forged_envelope_only, "envelope sender"),
    "person not on the order": (_strangers_own_address, "not allowed"),
    "automatic reply": (_robot, "automatic reply"),
    "bounce": (_bounce, "envelope sender"),
    "not a reply address": (_not_a_reply_address, "not a reply address"),
    "nothing new in the reply": (_only_a_quote, "refused by the conversation"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_refused_reply_stores_nothing_and_is_logged(app, ctx, scene, inbound, caplog, case):
    build, reason = REFUSED[case]
    email = build(app, scene)
    code, answer = send(inbound, **email)
    assert code == 550, answer
    assert messages(ctx) == []
    [line] = refusals(caplog)
    assert reason in line
    assert email["sender"] in line
    token = email["to"].split("+", 1)[1].split("@")[0] if "+" in email["to"] else ""
    if len(token) > 8:
        assert token not in line and token[:8] in line


UNREADABLE_EMAILS = {
    "3,000 nested multiparts": (lambda: nested(3000), "too complex",
                                "5.6.0 This email has too many parts: please answer on the "
                                "portal"),
    "2,000 parts side by side": (lambda: side_by_side(2000), "too complex",
                                 "5.6.0 This email has too many parts: please answer on the "
                                 "portal"),
    # Python's header parser raises IndexError on this Message-ID.
    "a Message-ID the parser cannot read": (
        lambda: (b"text/plain; charset=utf-8", b"Merci."), "unreadable email",
        "5.6.0 This email could not be read: please answer on the portal"),
}


@pytest.mark.parametrize("case", list(UNREADABLE_EMAILS))
def test_an_email_that_cannot_be_read_gets_a_fixed_answer_and_is_logged(app, ctx, scene, inbound,
                                                                       caplog, case):
    build, reason, fixed = UNREADABLE_EMAILS[case]
    content_type, body = build()
    client = scene["client"]
    headers = b"Message-ID: <\r\n" if "Message-ID" in case else b""
    content = raw_reply(client.email, address_for(app, scene["order"], client), body,
                        headers=headers, content_type=content_type)

    code, answer = send_raw(inbound, envelope_from=client.email,
                            to=address_for(app, scene["order"], client), content=content)

    assert (code, answer) == (554, fixed)
    assert messages(ctx) == []
    [line] = refusals(caplog)
    assert reason in line and client.email in line


def test_a_reply_nested_a_few_levels_is_read(app, ctx, scene, inbound):
    client = scene["client"]
    to = address_for(app, scene["order"], client)
    content_type, body = nested(12)
    code, answer = send_raw(inbound, envelope_from=client.email, to=to,
                            content=raw_reply(client.email, to, body, content_type=content_type))
    assert code == 250, answer
    assert [m.body for m in messages(ctx)] == ["Merci, c'est parfait."]


def split_by_bare_cr(parts: int) -> tuple[bytes, bytes]:
    """side_by_side(parts) with its lines ended by a lone CR, which the parser reads as a line
    break: fifty parts on each line of the SMTP conversation (at most 1,000 bytes), which
    starts with a line of text rather than a boundary."""
    line = b"\r".join([b"--flat", b"", b"part"] * 50)
    rows = [b"x\r" + line for _ in range(parts // 50)]
    return b'multipart/mixed; boundary="flat"', b"\r\n".join([*rows, b"--flat--"])


def rfc2231_boundary(parts: int) -> tuple[bytes, bytes]:
    """side_by_side(parts) whose boundary is declared in RFC 2231's form (`boundary*0=`),
    which the parser reads as the boundary."""
    _content_type, body = side_by_side(parts)
    return b'multipart/mixed; boundary*0="flat"', body


def send_unchanged(inbound, *, envelope_from: str, to: str, content: bytes) -> tuple[int, str]:
    """send_raw without smtplib's rewriting of lone CR and LF as CRLF, as a hostile client
    sends it; the answer to DATA."""
    with smtplib.SMTP(inbound.hostname, inbound.port, timeout=30) as smtp:
        smtp.ehlo("mail.example.test")
        smtp.mail(envelope_from)
        assert smtp.rcpt(to)[0] == 250
        smtp.putcmd("data")
        assert smtp.getreply()[0] == 354
        smtp.send(content + b"\r\n.\r\n")
        code, answer = smtp.getreply()
    return code, answer.decode()


@pytest.mark.parametrize("build", [split_by_bare_cr, rfc2231_boundary],
                         ids=["lines ended by a lone CR", "boundary declared as boundary*0"])
def test_parts_the_scan_of_the_bytes_misses_are_counted_by_the_parser(app, ctx, scene, inbound,
                                                                      caplog, build):
    """The parts the parser would make, whatever the line breaks or the parameter syntax that
    declared them, are bounded too: a few megabytes of such parts took the server minutes of
    work and hundreds of megabytes."""
    client = scene["client"]
    to = address_for(app, scene["order"], client)
    content_type, body = build(2000)
    content = raw_reply(client.email, to, body, content_type=content_type)

    code, answer = send_unchanged(inbound, envelope_from=client.email, to=to, content=content)

    assert (code, answer) == (554, "5.6.0 This email has too many parts: please answer on the "
                                   "portal")
    assert messages(ctx) == []
    [line] = refusals(caplog)
    assert "too complex" in line


def test_an_expired_reply_address_is_refused(app, ctx, scene, inbound, caplog):
    to = address_for(app, scene["order"], scene["client"])
    days = app.config["REPLY_TOKEN_DAYS"]
    with time_machine.travel(utcnow() + timedelta(days=days, hours=1)):
        code, answer = send(inbound, sender=scene["client"].email, to=to)
    assert code == 550
    assert "expired" in answer
    assert messages(ctx) == []
    [line] = refusals(caplog)
    assert "expired token" in line and scene["client"].email in line


def test_a_writer_taken_off_the_order_can_no_longer_reply(app, ctx, factory, scene, inbound,
                                                          caplog):
    to = address_for(app, scene["order"], scene["writer"])
    assert send(inbound, sender=scene["writer"].email, to=to, text="Avant.")[0] == 250
    manager = factory.user("manager")
    replacement = factory.writer()
    with ctx() as session:
        order = session.get(Order, scene["order"].id)
        service.assign(order, session.get(User, manager.id), session.get(User, replacement.id))
        session.commit()

    code, answer = send(inbound, sender=scene["writer"].email, to=to, text="Après.")

    assert code == 550, answer
    assert [m.body for m in messages(ctx)] == ["Avant."]
    [line] = refusals(caplog)
    assert "not allowed" in line and scene["writer"].email in line


def test_a_deactivated_person_can_no_longer_reply(app, ctx, scene, inbound, caplog):
    to = address_for(app, scene["order"], scene["client"])
    with ctx() as session:
        session.get(User, scene["client"].id).active = False
        session.commit()
    assert send(inbound, sender=scene["client"].email, to=to)[0] == 550
    assert messages(ctx) == []
    assert "not allowed" in refusals(caplog)[0]


def test_data_above_the_size_limit_is_refused(app, ctx, scene, monkeypatch):
    monkeypatch.setitem(app.config, "INBOUND_MAX_BYTES", 20_000)
    controller = start_inbound(app, "127.0.0.1", free_port())
    try:
        code, answer = send(controller, sender=scene["client"].email,
                            to=address_for(app, scene["order"], scene["client"]),
                            text=("Une longue ligne de texte.\n") * 2000)
    finally:
        controller.stop()
    assert code == 552, answer
    assert messages(ctx) == []


def test_a_database_problem_asks_the_sender_to_try_again(app, ctx, scene, inbound, caplog,
                                                        uploads_dir):
    """The database fails while the message is stored: 450 (the sender's server tries again
    later), nothing stored, and the file already written is removed."""

    def database_away(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("INSERT INTO MESSAGES"):
            raise sa.exc.OperationalError(statement, {}, Exception("server closed the connection"))

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", database_away)
    try:
        code, answer = send(inbound, sender=scene["client"].email,
                            to=address_for(app, scene["order"], scene["client"]),
                            text="Le logo.", files=[("logo.png", PNG, "image", "png")])
    finally:
        sa.event.remove(engine, "before_cursor_execute", database_away)
    assert code == 450, answer
    assert messages(ctx) == []
    assert list(uploads_dir.glob("*")) == []
    assert any("database unavailable" in r.getMessage() for r in caplog.records)


def test_the_people_concerned_are_notified_of_a_reply(app, ctx, scene, inbound):
    """The reply goes through the same service as a message typed in the portal."""
    send(inbound, sender=scene["client"].email,
         to=address_for(app, scene["order"], scene["client"]), text="Une question.")
    from portal.notifications.inbox import Notification, NotificationKind

    with ctx() as session:
        concerned = set(session.scalars(
            sa.select(Notification.user_id).where(Notification.kind == NotificationKind.MESSAGE)
        ))
        roles = {session.get(User, user_id).role for user_id in concerned}
    assert scene["writer"].id in concerned
    assert scene["client"].id not in concerned
    assert roles <= {Role.WRITER, Role.MANAGER}


def test_a_reply_to_a_message_email_lands_in_the_thread(app, ctx, scene, inbound, mailbox):
    """The whole way: the client writes in the portal, the writer's email carries a Reply-To,
    the writer answers from their mailbox above the quoted email, the answer is on the order."""
    from portal.messaging.service import post_message
    from portal.notifications.service import send_message_bursts

    with ctx() as session:
        order = session.get(Order, scene["order"].id)
        post_message(order, session.get(User, scene["client"].id), "Où en est le plan ?")
        session.commit()
    with ctx() as session:
        send_message_bursts(utcnow() + timedelta(hours=1))
        session.commit()
    mailbox.deliver()
    email = mailbox.last_to(scene["writer"].email)
    reply_to = str(email["Reply-To"])
    assert reply_to.startswith("reply+")
    quoted = "\n".join(f"> {line}" for line in mailbox.text(email).splitlines())

    code, answer = send(
        inbound, sender=scene["writer"].email, to=reply_to,
        text=f"Le plan arrive demain.\n\nLe lun. 3 mars 2026 à 10:00, Agence Plume "
             f"<no-reply@portal.test> a écrit :\n{quoted}\n",
        headers={"In-Reply-To": str(email["Message-ID"])},
    )

    assert code == 250, answer
    latest = messages(ctx)[-1]
    assert (latest.order_id, latest.author_id, latest.body) == (
        scene["order"].id, scene["writer"].id, "Le plan arrive demain.")
    assert latest.source is MessageSource.EMAIL
