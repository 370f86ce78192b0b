"""Reply addresses are signed for one order and one person, expire, survive a relay that changes
their case; the text of a reply loses the quoted email and the signature, in French and English;
HTML-only replies become text; a notification email carries its reply address as Reply-To."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
import time_machine

from portal.extensions import utcnow
from portal.notifications.replies import (
    ReplyTokenError,
    html_to_text,
    read_reply_token,
    reply_address,
    reply_domain,
    strip_reply,
    token_of,
)

# --- the address --------------------------------------------------------------------------


def test_a_reply_address_names_its_order_and_person(app):
    with app.app_context():
        address = reply_address(4821, 97)
        local, _at, domain = address.partition("@")
        assert local.startswith("reply+")
        assert domain == reply_domain() == "portal.localhost"
        assert len(local) <= 64  # RFC 5321's limit for a local part
        token = token_of(address)
        found = read_reply_token(token)
        assert (found.order_id, found.user_id) == (4821, 97)
        # A relay that upper-cases the address does not break it.
        assert read_reply_token(token_of(address.upper())).order_id == 4821


def test_large_ids_stay_within_the_local_part_limit(app):
    with app.app_context():
        local = reply_address(2**31 - 1, 2**31 - 1).partition("@")[0]
        assert len(local) <= 64


def test_the_reply_domain_comes_from_config_or_base_url(app, monkeypatch):
    with app.app_context():
        monkeypatch.setitem(app.config, "BASE_URL", "https://portail.agence.example")
        assert reply_domain() == "portail.agence.example"
        monkeypatch.setitem(app.config, "REPLY_DOMAIN", "Reply.Agence.Example")
        assert reply_address(1, 2).endswith("@reply.agence.example")
        # Another domain is not ours.
        token = token_of(reply_address(1, 2))
        assert token_of(f"reply+{token}@elsewhere.example") is None
        assert token_of("postmaster@reply.agence.example") is None


@pytest.mark.parametrize("tamper", [
    lambda token: token[:-1] + ("a" if token[-1] != "a" else "b"),  # signature changed
    lambda token: "9" + token,  # another order
    lambda token: token.split(".", 1)[0] + ".zz." + token.split(".", 2)[2],  # another person
    lambda token: "",
    lambda token: "not-a-token",
])
def test_a_forged_token_is_refused(app, tamper):
    with app.app_context():
        token = token_of(reply_address(12, 34))
        with pytest.raises(ReplyTokenError) as refused:
            read_reply_token(tamper(token))
        assert refused.value.reason == "forged"


def test_a_token_signed_with_another_key_is_refused(app, monkeypatch):
    with app.app_context():
        monkeypatch.setitem(app.config, "SECRET_KEY", "another key")
        token = token_of(reply_address(12, 34))
        monkeypatch.undo()
        with pytest.raises(ReplyTokenError):
            read_reply_token(token)


def test_a_token_expires_after_reply_token_days(app):
    with app.app_context():
        token = token_of(reply_address(12, 34))
        days = app.config["REPLY_TOKEN_DAYS"]
        assert days == 90
        with time_machine.travel(utcnow() + timedelta(days=days - 1)):
            assert read_reply_token(token).user_id == 34
        with time_machine.travel(utcnow() + timedelta(days=days, minutes=1)):
            with pytest.raises(ReplyTokenError) as refused:
                read_reply_token(token)
            assert refused.value.reason == "expired"


# --- the new text of a reply --------------------------------------------------------------

FRENCH_IPHONE = (
    "Merci, le plan me convient.\n"
    "Pouvez-vous ajouter une partie sur les prix ?\n"
    "\n"
    "Envoyé de mon iPhone\n"
    "\n"
    "Le lun. 3 mars 2026 à 10:00, Agence Plume <no-reply@portal.test> a\u00a0écrit\u202f:\n"
    "\n"
    "> Bonjour Awa,\n"
    "> La rédactrice a écrit sur votre commande.\n"
)

ENGLISH_GMAIL = (
    "Thanks, that works for me.\n"
    "\n"
    "-- \n"
    "John Mensah\n"
    "Head of marketing, Café Atakpamé\n"
    "\n"
    "On Mon, Mar 3, 2026 at 10:00 AM Agence Plume <\n"
    "no-reply@portal.test> wrote:\n"
    "\n"
    "> Hello John,\n"
    "> > an older quote\n"
)

OUTLOOK = (
    "Voici ma réponse.\n"
    "\n"
    "________________________________\n"
    "De : Agence Plume <no-reply@portal.test>\n"
    "Envoyé : lundi 3 mars 2026 10:00\n"
    "À : Awa\n"
    "Objet : Nouveau message\n"
    "\n"
    "Bonjour Awa, le texte cité sans chevrons.\n"
)

ORIGINAL_MESSAGE = (
    "See my answer above.\n"
    "\n"
    "-----Original Message-----\n"
    "From: Agence Plume\n"
    "Sent: Monday, March 3, 2026 10:00 AM\n"
    "The quoted email.\n"
)

OUTLOOK_HEADER_ONLY = (
    "Answer in Outlook.\n"
    "\n"
    "From: Agence Plume <no-reply@portal.test>\n"
    "Sent: Monday, March 3, 2026 10:00 AM\n"
    "To: John\n"
    "Subject: New message\n"
    "\n"
    "The quoted email.\n"
)

BOTTOM_POSTED = (
    "On Mon, Mar 3, 2026 at 10:00 AM Agence Plume wrote:\n"
    "> Is Tuesday fine for the delivery?\n"
    "\n"
    "Yes, Tuesday is fine.\n"
    "\n"
    "Sent from my Android phone\n"
)


@pytest.mark.parametrize(("text", "expected"), [
    (FRENCH_IPHONE, "Merci, le plan me convient.\nPouvez-vous ajouter une partie sur les prix ?"),
    (ENGLISH_GMAIL, "Thanks, that works for me."),
    (OUTLOOK, "Voici ma réponse."),
    (ORIGINAL_MESSAGE, "See my answer above."),
    (OUTLOOK_HEADER_ONLY, "Answer in Outlook."),
    (BOTTOM_POSTED, "Yes, Tuesday is fine."),
    ("Le texte seul.\r\n\r\n\r\n\r\nSur deux paragraphes.\r\n",
     "Le texte seul.\n\nSur deux paragraphes."),
    ("> only a quote\n> nothing new\n", ""),
], ids=["french-iphone", "english-gmail-signature", "outlook-fr", "original-message",
        "outlook-header", "bottom-posted", "plain", "quote-only"])
def test_strip_reply_keeps_only_what_the_person_wrote(text, expected):
    assert strip_reply(text) == expected


@pytest.mark.parametrize("first", ["Le plan arrive demain.", "On Tuesday, then."])
@pytest.mark.parametrize("gap", ["\n", "\n\n"])
def test_a_first_line_like_an_attribution_is_kept(first, gap):
    text = (f"{first}{gap}Le lun. 3 mars 2026 à 10:00, Agence Plume <\nno-reply@portal.test> "
            "a écrit :\n> Bonjour\n")
    assert strip_reply(text) == first


def test_strip_reply_keeps_ordinary_sentences_that_look_like_headers():
    text = ("On Monday I send the photos.\nLe prix a changé.\nSent to the printer today.\n"
            "-- not a signature, a dash in the text")
    assert strip_reply(text) == text


# --- HTML-only replies --------------------------------------------------------------------


def test_html_becomes_text_with_quotes_marked():
    html = (
        "<html><head><style>p { color: red }</style><script>alert(1)</script></head><body>"
        "<div dir='ltr'>Bonjour,<br>voici <b>mon</b> avis &amp; "
        "<a href='https://example.com/plan'>le plan</a>.</div>"
        "<ul><li>un</li><li>deux</li></ul>"
        "<div class='gmail_quote'><div class='gmail_attr'>Le lun. 3 mars 2026, X a écrit :</div>"
        "<blockquote>Le texte <p>cité</p></blockquote></div></body></html>"
    )
    text = html_to_text(html)
    assert "alert" not in text and "color" not in text
    assert text.startswith("Bonjour,\nvoici mon avis & le plan (https://example.com/plan).")
    assert "- un\n- deux" in text
    assert "> Le texte" in text
    assert strip_reply(text) == (
        "Bonjour,\nvoici mon avis & le plan (https://example.com/plan).\n\n- un\n- deux"
    )


# --- the Reply-To header ------------------------------------------------------------------


def test_the_dispatcher_sends_the_reply_to_header(app, ctx, mailbox):
    from portal.notifications.outbox import queue_email

    with ctx() as session:
        address = reply_address(7, 8)
        queue_email(
            kind="reset_password", key="test:reply-to", to="awa@example.test",
            subject="New message", locale="fr", reply_to=address,
            user=SimpleNamespace(display_name="Awa"),
            link="http://127.0.0.1:5000/password/reset/some-token", minutes=60,
        )
        queue_email(
            kind="reset_password", key="test:no-reply-to", to="kofi@example.test",
            subject="Reset", locale="fr", user=SimpleNamespace(display_name="Kofi"),
            link="http://127.0.0.1:5000/password/reset/some-token", minutes=60,
        )
        session.commit()
    assert mailbox.deliver().sent == 2
    assert str(mailbox.last_to("awa@example.test")["Reply-To"]) == address
    assert mailbox.last_to("kofi@example.test")["Reply-To"] is None
