"""Messages are plain text: everything escaped, paragraphs and line breaks kept, web addresses
made links (portal/plaintext.py states the rules)."""

from __future__ import annotations

import re

import pytest

from portal.plaintext import LINK_REL, linkify, links_in, render_plain


def hrefs(text: str) -> list[str]:
    return [href for _start, _end, href in links_in(text)]


@pytest.mark.parametrize(("text", "expected"), [
    ("Voir https://boutique.tg/pagnes.", ["https://boutique.tg/pagnes"]),
    ("Voir https://boutique.tg/pagnes, puis…", ["https://boutique.tg/pagnes"]),
    ("C'est ici : https://boutique.tg/?q=wax&p=2 !", ["https://boutique.tg/?q=wax&p=2"]),
    ("(voir https://boutique.tg/a).", ["https://boutique.tg/a"]),
    ("https://fr.wikipedia.org/wiki/Lomé_(ville)", ["https://fr.wikipedia.org/wiki/Lomé_(ville)"]),
    ("(https://fr.wikipedia.org/wiki/Lomé_(ville))", ["https://fr.wikipedia.org/wiki/Lomé_(ville)"]),
    ("« https://boutique.tg/a »", ["https://boutique.tg/a"]),
    ("«https://boutique.tg/a»", ["https://boutique.tg/a"]),
    ("“https://boutique.tg/a”", ["https://boutique.tg/a"]),
    ("Le site www.boutique.tg/pagnes.", ["https://www.boutique.tg/pagnes"]),
    ("WWW.Boutique.tg", ["https://WWW.Boutique.tg"]),
    ("<https://boutique.tg/a>", ["https://boutique.tg/a"]),
    ("**https://boutique.tg/a**", ["https://boutique.tg/a"]),
    ("[le guide](https://boutique.tg/guide)", ["https://boutique.tg/guide"]),
    ("http://a.tg et https://b.tg", ["http://a.tg", "https://b.tg"]),
])
def test_addresses_are_found_without_the_punctuation_around_them(text, expected):
    assert hrefs(text) == expected


@pytest.mark.parametrize("text", [
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)",
    "javascript://www.example.com/%0Aalert(1)",
    "javascript:https://example.com",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "mailto:ama@example.com",
    "xhttps://example.com",
    "ama@www.example.com",
    "https://",
    "www.",
    "https://-/",
    "ftp://example.com",
])
def test_other_schemes_and_glued_addresses_stay_text(text):
    assert hrefs(text) == []
    assert "<a" not in linkify(text)


def test_a_link_is_escaped_and_opens_apart_without_passing_on_ranking_or_referrer():
    html = str(linkify('Voir https://x.tg/?a="1"&b=<2> ok'))
    assert html == (f'Voir <a href="https://x.tg/?a=" rel="{LINK_REL}" target="_blank">'
                    'https://x.tg/?a=</a>&#34;1&#34;&amp;b=&lt;2&gt; ok')
    assert set(LINK_REL.split()) >= {"nofollow", "noopener", "ugc"}
    amp = str(linkify("https://x.tg/?a=1&b=2"))
    assert 'href="https://x.tg/?a=1&amp;b=2"' in amp


def test_paragraphs_and_line_breaks_are_kept_and_markup_is_text():
    html = str(render_plain("Bonjour,\r\nmerci **beaucoup** <b>!</b>\n\n\n# Pas un titre\n"
                            "- pas une liste"))
    assert html == ("<p>Bonjour,<br>\nmerci **beaucoup** &lt;b&gt;!&lt;/b&gt;</p>\n"
                    "<p># Pas un titre<br>\n- pas une liste</p>")
    assert str(render_plain("")) == ""
    assert str(render_plain("\n\n  \n")) == ""


def test_hostile_text_never_becomes_markup():
    hostile = ('<script>alert(1)</script> [x](javascript:alert(1)) '
               '<img src=x onerror=alert(1)> https://x.tg/"onmouseover="alert(1)')
    html = str(render_plain(hostile))
    assert "<script" not in html and "<img" not in html
    assert not re.search(r'href="[^"]*"[^>]*onmouseover', html)
    assert 'href="javascript' not in html
    assert "&lt;script&gt;" in html


def test_a_message_email_shows_the_message_as_the_page_does(app, factory):
    """The emailed message is rendered by the same function as the conversation page."""
    from datetime import timedelta

    import sqlalchemy as sa

    from portal.accounts.models import User
    from portal.extensions import db, utcnow
    from portal.messaging.service import post_message, render_message
    from portal.notifications import service as notifications
    from portal.notifications.models import OutboxEmail
    from portal.orders.models import Order, OrderStatus

    order = factory.order(status=OrderStatus.IN_PROGRESS)
    body = "Voir **ceci** : www.boutique.tg/pagnes.\n\n<b>Merci</b> javascript:alert(1)"
    with app.app_context():
        post_message(db.session.get(Order, order.id), db.session.get(User, order.writer_id), body)
        notifications.send_message_bursts(now=utcnow() + timedelta(hours=1))
        db.session.commit()
        email = db.session.scalar(sa.select(OutboxEmail).where(
            OutboxEmail.kind == "messages_burst", OutboxEmail.recipient_user_id == order.client_id))
        assert email is not None
        assert str(render_message(body)) in email.html_body
        assert '<a href="https://www.boutique.tg/pagnes" ' in email.html_body
        assert "&lt;b&gt;Merci&lt;/b&gt;" in email.html_body and "<b>Merci" not in email.html_body
        assert body in email.text_body
