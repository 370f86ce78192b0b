"""Real pages in French show dates, word counts and money in the one format of portal/i18n.py:
dates in the reader's time zone without seconds ("9 déc. 2026, 02:00" for a Paris reader of
01:00 UTC), counts grouped with a narrow no-break space ("1 200"), the CFA franc after the
amount ("12 000 F CFA"). ISO timestamps stay in the `datetime` attributes."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
import time_machine

from portal.accounts.models import Role
from portal.orders.models import OrderStatus

NNBSP, NBSP = "\u202f", "\u00a0"
NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
DEADLINE = datetime(2026, 12, 9, 1, 0, tzinfo=UTC)  # 02:00 in Paris, 01:00 in Lomé
SECONDS = re.compile(r"\b\d{1,2}:\d{2}:\d{2}\b")
MONEY = re.compile(r"[\d\u202f]+(?:,\d+)?\u00a0F\u202fCFA")


class _Text(HTMLParser):
    """What a person reads: the text of the page, without tags, attributes or scripts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        self.skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self.skip -= tag in ("script", "style")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def text_of(response) -> str:
    assert response.status_code == 200, response.status_code
    reader = _Text()
    reader.feed(response.get_data(as_text=True))
    return "".join(reader.parts)


def assert_one_format(text: str) -> None:
    assert not SECONDS.search(text), SECONDS.search(text).group()
    assert "F\u202fCFA" not in re.sub(MONEY, "", text), "an amount not written '12 000 F CFA'"
    assert not re.search(r"\d{2}/\d{2}/\d{4}", text), "a date in digits"
    assert not re.search(r"\d \d{3}\b", text), "a plain space inside a number"


@pytest.fixture
def traveller():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def long_order(factory, traveller):
    client = factory.user(Role.CLIENT, timezone="Europe/Paris")
    order = factory.order(client=client, status=OrderStatus.DELIVERED, words_min=1200,
                          words_max=1500, deadline=DEADLINE, title="Le grand fleuve")
    return client, order


def test_the_order_page_in_french_follows_the_one_format(long_order, login_as):
    client, order = long_order
    page = login_as(client).get(f"/orders/{order.id}")
    text = text_of(page)

    assert f"1{NNBSP}200 à 1{NNBSP}500 mots" in text
    assert "9 déc. 2026, 02:00" in text  # the deadline, in Paris time
    assert MONEY.search(text), "no price on the page"
    assert re.search(r"\d\u00a0F\u202fCFA", text)
    assert_one_format(text)
    # Machines still read ISO 8601.
    assert 'datetime="2026-12-09T01:00:00+00:00"' in page.get_data(as_text=True)


def test_the_orders_list_in_french_follows_the_one_format(long_order, login_as):
    client, _order = long_order
    text = text_of(login_as(client).get("/orders"))

    assert "Toutes les commandes" in text and "Tous " not in text
    assert "Le grand fleuve" in text
    assert_one_format(text)


def test_the_managers_pages_in_french_follow_the_one_format(long_order, factory, login_as):
    client, _order = long_order
    manager = login_as(factory.user(Role.MANAGER, timezone="Africa/Lome"))

    dashboard = text_of(manager.get("/agency/orders"))
    assert "Le grand fleuve" in dashboard
    assert "9 déc. 2026, 01:00" in dashboard  # the same deadline, in the manager's zone
    assert_one_format(dashboard)

    person = text_of(manager.get(f"/people/{client.id}"))
    assert "2 déc. 2026, 08:" in person  # member since: the short form, no seconds
    assert_one_format(person)

    outbox = text_of(manager.get("/admin/emails?status=pending"))
    assert_one_format(outbox)
    assert "Destinataire" in outbox or "Aucun e-mail" in outbox


def test_the_development_mailbox_speaks_french_in_the_managers_zone(factory, login_as,
                                                                    monkeypatch, tmp_path):
    """The Mailbox page showed the raw Date header ("Wed, 02 Dec 2026 01:00:00 -0000"): in
    English, in UTC, with seconds."""
    import mailbox
    from email.message import EmailMessage

    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    message = EmailMessage()
    message["Subject"], message["To"] = "Bonjour", "awa@exemple.test"
    message["From"] = "portail@exemple.test"
    message["Date"] = "Wed, 09 Dec 2026 01:00:00 -0000"
    message["X-Sink-Received"] = "Wed, 09 Dec 2026 01:00:00 -0000"
    message.set_content("Un texte.")
    key = box.add(message)
    monkeypatch.setitem(factory.app.config, "MAILBOX_DIR", str(tmp_path / "Maildir"))
    monkeypatch.setitem(factory.app.config, "MAILBOX_PAGE", True)
    manager = login_as(factory.user(Role.MANAGER, timezone="Europe/Paris"))

    listing = text_of(manager.get("/dev/mailbox"))
    assert "9 déc. 2026, 02:00" in listing
    assert f"Destinataire{NNBSP}: awa@exemple.test" in listing
    assert "Wed" not in listing and "-0000" not in listing
    assert_one_format(listing)

    one = text_of(manager.get(f"/dev/mailbox/{key}"))
    assert "mercredi 9 décembre 2026, 02:00" in one
    assert_one_format(one)
