"""Conversations as people live them in Chromium: two people, two browsers, an unread badge that
clears, an answer that reaches the other by email; and hostile text that stays text."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.accounts.models import Role
from portal.extensions import utcnow
from portal.notifications.service import send_message_bursts
from portal.orders.models import OrderStatus
from tests.browser.helpers import expect, log_in

pytestmark = pytest.mark.browser


def post(page, order_id: int, text: str, *, files=None) -> None:
    page.goto(f"/orders/{order_id}")
    form = page.get_by_test_id("message-form")
    form.locator("textarea[name=body]").fill(text)
    if files:
        form.locator("input[type=file]").set_input_files(files)
    form.locator("button[type=submit]").click()


def test_client_writes_writer_sees_the_badge_answers_and_the_client_gets_the_email(
    new_page, factory, mailbox, app
):
    tier = factory.tier()
    client = factory.user(Role.CLIENT, name="Boutique Zénith")
    writer = factory.writer(tiers=[tier], name="Kodjo Amouzou")
    order = factory.order(client=client, writer=writer, tier=tier, status=OrderStatus.IN_PROGRESS,
                          title="Le pagne wax à Lomé")

    buyer, author = new_page(), new_page()
    log_in(buyer, client.email)
    log_in(author, writer.email)
    expect(author.get_by_test_id("nav-unread")).to_have_count(0)

    post(buyer, order.id, "Bonjour, pouvez-vous citer le **marché Assigamé** ?")
    expect(buyer.get_by_test_id("message-body").last).to_contain_text("marché Assigamé")

    author.goto("/work/assignments")
    expect(author.get_by_test_id("nav-unread-count")).to_have_text("1")
    expect(author.get_by_test_id("unread-badge").first).to_be_visible()

    author.goto(f"/orders/{order.id}")
    expect(author.get_by_test_id("message-body").last).to_contain_text("marché Assigamé")
    expect(author.get_by_test_id("nav-unread")).to_have_count(0)
    author.goto("/work/assignments")
    expect(author.get_by_test_id("unread-badge")).to_have_count(0)

    post(author, order.id, "Bien sûr, je l'ajoute au deuxième paragraphe.")
    expect(author.get_by_test_id("message-body").last).to_contain_text("deuxième paragraphe")

    # The conversation goes quiet; the mail worker's job sends the waiting message.
    with app.app_context():
        send_message_bursts(utcnow() + timedelta(minutes=20))
        from portal.extensions import db

        db.session.commit()
    mailbox.deliver()
    [email] = [m for m in mailbox.to(client.email) if "deuxième paragraphe" in mailbox.text(m)]
    assert "Kodjo Amouzou" in mailbox.text(email)
    assert email["Reply-To"] and email["Reply-To"].startswith("reply+")
    assert buyer.errors == [] and author.errors == []


PAYLOADS = [
    "<script>window.__xss = 'text'</script>",
    "[cliquez ici](javascript:window.__xss='link')",
    '<img src="x" onerror="window.__xss=\'img\'">',
    "**gras** <b onmouseover=\"window.__xss='hover'\">survol</b>",
]


def test_a_hostile_message_shows_as_inert_text_and_no_script_runs(new_page, factory, tmp_path):
    tier = factory.tier()
    client = factory.user(Role.CLIENT)
    writer = factory.writer(tiers=[tier])
    order = factory.order(client=client, writer=writer, tier=tier, status=OrderStatus.IN_PROGRESS)
    hostile_name = tmp_path / "<img src=x onerror=window.__xss='file'>.txt"
    hostile_name.write_text("Bonjour")

    attacker = new_page()
    log_in(attacker, client.email)
    post(attacker, order.id, "\n\n".join(PAYLOADS), files=[str(hostile_name)])

    victim = new_page()
    dialogs = []
    victim.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(victim, writer.email)
    victim.goto(f"/orders/{order.id}")
    body = victim.get_by_test_id("message-body").last
    expect(body).to_contain_text("<script>window.__xss = 'text'</script>")
    expect(body).to_contain_text("onerror")
    body.get_by_text("cliquez ici").click()
    body.get_by_text("survol").hover()
    victim.get_by_test_id("message-files").hover()

    assert victim.evaluate("() => window.__xss") is None
    assert victim.locator("[data-testid=message-body] img, [data-testid=message-body] script") \
        .count() == 0
    assert victim.locator("[data-testid=message-body] a[href^='javascript']").count() == 0
    assert dialogs == [] and victim.errors == []
