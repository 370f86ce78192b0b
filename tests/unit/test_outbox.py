"""Email is data first: building an email adds an outbox row in the caller's transaction, rendered
in the recipient's language, with links built from BASE_URL."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask_babel import force_locale, gettext

from portal.auth.service import request_password_reset
from portal.notifications.models import OutboxEmail, OutboxStatus
from portal.notifications.outbox import queue_email

LINK = re.compile(r"https?://[^\s\"'<>]+")


def outbox_rows(session) -> list[OutboxEmail]:
    return list(session.scalars(sa.select(OutboxEmail).order_by(OutboxEmail.id)))


def test_a_rolled_back_change_leaves_no_email(ctx, factory):
    user = factory.user(locale="en")
    with ctx() as session:
        row = queue_email(kind="reset_password", key="rolled-back", to=user.email,
                          subject="Reset your password", locale="en", user=user,
                          link="http://127.0.0.1:5000/x", minutes=60)
        assert row is not None and row.id is not None  # flushed into the open transaction
        request_password_reset(user.email)
        assert len(outbox_rows(session)) == 2
        session.rollback()
        assert outbox_rows(session) == []
    with ctx() as session:
        assert outbox_rows(session) == []


def test_the_same_idempotency_key_twice_gives_one_row(ctx, factory):
    user = factory.user(locale="en")
    email = {"kind": "reset_password", "key": f"reset:{user.id}:same-event", "to": user.email,
             "subject": "Reset your password", "locale": "en", "user": user,
             "link": "http://127.0.0.1:5000/x", "minutes": 60}
    with ctx() as session:
        first = queue_email(**email)
        second = queue_email(**email)
        session.commit()
        assert first is not None
        assert second is None
    # Also across transactions: the event was already queued and committed.
    with ctx() as session:
        assert queue_email(**email) is None
        session.commit()
        rows = outbox_rows(session)
        assert [r.idempotency_key for r in rows] == [f"reset:{user.id}:same-event"]
        assert rows[0].status is OutboxStatus.PENDING


def test_both_parts_are_rendered_in_the_recipients_language(ctx, factory):
    english = factory.user(locale="en", name="Grace Hopper")
    french = factory.user(locale="fr", name="Amélie Koffi")
    with ctx() as session:
        request_password_reset(english.email)
        request_password_reset(french.email)
        session.commit()
        rows = {row.recipient: row for row in outbox_rows(session)}
        with force_locale("fr"):
            french_subject = gettext("Reset your password")
            french_hello = gettext("Hello %(name)s,", name="Amélie Koffi")
    assert french_subject != "Reset your password", "the French catalog lacks this subject"

    en, fr = rows[english.email], rows[french.email]
    assert en.kind == fr.kind == "reset_password"
    assert en.subject == "Reset your password"
    assert fr.subject == french_subject
    assert "Hello Grace Hopper," in en.text_body
    assert "Hello Grace Hopper," in en.html_body
    assert french_hello in fr.text_body
    assert french_hello in fr.html_body
    assert "Hello" not in fr.text_body and "Hello" not in fr.html_body
    assert '<html lang="en">' in en.html_body
    assert '<html lang="fr">' in fr.html_body
    for row in (en, fr):
        assert f"<title>{row.subject}</title>" in row.html_body
        # The same link in both parts (the HTML one may be entity-escaped).
        text_links = LINK.findall(row.text_body)
        assert len(text_links) == 1 and "/password/reset/" in text_links[0]
        assert text_links[0] in row.html_body.replace("&amp;", "&")
    assert en.text_body != fr.text_body


def test_links_use_base_url_never_the_request_host(app, client, ctx, factory):
    user = factory.user(locale="en")
    forged = {"Host": "evil.example"}
    page = client.get("/password/forgot", headers=forged)
    assert page.status_code == 200
    assert page.request.host == "evil.example"  # the request really carried the forged Host
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    response = client.post("/password/forgot", headers=forged,
                           data={"csrf_token": token, "email": user.email})
    assert response.status_code == 302
    with ctx() as session:
        [row] = outbox_rows(session)
    base = app.config["BASE_URL"]
    for body in (row.text_body, row.html_body):
        links = LINK.findall(body)
        assert links
        assert all(link.startswith(f"{base}/") for link in links), links
        assert "evil.example" not in body


def test_the_html_part_escapes_what_people_typed_and_the_text_part_does_not(ctx, factory):
    user = factory.user(locale="en", name='Ama <b>"Bold"</b>')
    with ctx() as session:
        request_password_reset(user.email)
        session.commit()
        [row] = outbox_rows(session)
    assert 'Hello Ama <b>"Bold"</b>,' in row.text_body
    assert "<b>" not in row.html_body
    assert "Ama &lt;b&gt;&#34;Bold&#34;&lt;/b&gt;" in row.html_body


def test_emails_can_be_queued_outside_any_request(app, ctx, factory):
    """The CLI and the mail worker's periodic jobs have an app context but no request."""
    from flask import has_request_context

    user = factory.user(locale="fr")
    with ctx() as session:
        assert not has_request_context()
        request_password_reset(user.email)
        session.commit()
        assert len(outbox_rows(session)) == 1
