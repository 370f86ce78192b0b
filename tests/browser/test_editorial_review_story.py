"""The editorial review in Chromium, at desktop size: the writer watches the rule panel turn
green while typing and delivers; the editor returns the text with a comment; the writer fixes
it and delivers again; the editor passes it; the client approves it and downloads the .docx,
which python-docx opens with the text's heading and link."""

from __future__ import annotations

import io
import re

import pytest
from docx import Document

from portal.accounts.models import Role
from portal.orders.models import Delivery, Order, OrderStatus
from tests.browser.helpers import expect
from tests.factories import Factory

pytestmark = pytest.mark.browser

LINK = "https://boutique.test/pagnes"
# 3 + 9 x 10 = 93 words: the keyword is in, the link is not, seven words are missing.
DRAFT = "# Le pagne wax\n\n" + "Chaque motif porte un nom que les revendeuses savent dire. " * 9
# 10 more words (the link's address is not counted), with the link.
ENDING = f"\n\nVoir [nos pagnes]({LINK}) pour choisir le vôtre avant votre visite."
FIX = "\n\nLes couturières de Tokoin cousent chaque pièce à la main."
COMMENT = "Citez les couturières de Tokoin, comme le demande le brief."
DESKTOP = {"width": 1366, "height": 900}


def person_page(new_page, email: str):
    page = new_page()
    page.set_viewport_size(DESKTOP)
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", Factory.PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/home$"))
    page.on("dialog", lambda dialog: dialog.accept())
    return page


def saved(page) -> None:
    expect(page.get_by_test_id("autosave-status")).to_have_text(
        re.compile(r"\d{2}:\d{2}\s*$"), timeout=15_000)  # "Enregistré à 09:31"


def test_review_returns_the_text_once_then_passes_it_and_the_client_downloads_it(
        new_page, factory, ctx):
    tier = factory.tier(requires_review=True)
    order = factory.order(status=OrderStatus.IN_PROGRESS, tier=tier, words_min=100,
                          words_max=150, primary_keyword="pagne wax", links_to_include=[LINK],
                          title="Le pagne wax")
    editor = factory.user(Role.EDITOR)

    # The writer: the panel says what blocks, then turns green as the text grows.
    writer = person_page(new_page, order.writer.email)
    writer.goto(f"/work/orders/{order.id}")
    panel = writer.get_by_test_id("delivery-checks")
    deliver = writer.locator("#deliver")
    expect(panel).to_have_class(re.compile(r"\bis-blocked\b"))
    writer.fill("#editor", DRAFT)
    saved(writer)
    expect(writer.locator("#checks-blocking li")).to_have_count(2, timeout=15_000)
    expect(deliver).to_be_disabled()
    writer.locator("#editor").press("Control+End")
    writer.locator("#editor").press_sequentially(ENDING)
    expect(panel).to_have_class(re.compile(r"\bis-ok\b"), timeout=15_000)
    expect(deliver).to_be_enabled()
    expect(deliver).to_have_text("Envoyer en relecture")
    deliver.click()
    expect(writer.locator(".alert-success")).to_contain_text("équipe de relecture")
    expect(writer.get_by_test_id("order-status")).to_have_text("En relecture à l'agence")

    # The client sees the order in review, and nothing of the text.
    client = person_page(new_page, order.client.email)
    client.goto(f"/orders/{order.id}")
    expect(client.get_by_test_id("in-review-notice")).to_be_visible()
    expect(client.get_by_text("Chaque motif porte un nom")).to_have_count(0)

    # The editor finds it in the queue, reads it with its report, and returns it.
    reviewer = person_page(new_page, editor.email)
    reviewer.get_by_role("navigation", name="Navigation principale").get_by_role(
        "link", name="File de relecture").click()
    reviewer.get_by_test_id("review-queue").get_by_role("link", name="Le pagne wax").click()
    expect(reviewer.get_by_test_id("editorial-text")).to_contain_text("Chaque motif porte")
    expect(reviewer.get_by_test_id("report")).to_be_visible()
    returning = reviewer.get_by_test_id("return-form")
    returning.locator("textarea[name=comments]").fill(COMMENT)
    returning.locator("button[type=submit]").click()
    expect(reviewer).to_have_url(re.compile(r"/orders/review$"))
    expect(reviewer.get_by_test_id("review-queue-empty")).to_be_visible()

    # The writer reads the comment beside the editor, fixes the text and delivers again.
    writer.goto(f"/work/orders/{order.id}")
    expect(writer.get_by_test_id("editor-comments")).to_contain_text(COMMENT)
    writer.locator("#editor").press("Control+End")
    writer.locator("#editor").press_sequentially(FIX)
    saved(writer)
    expect(panel).to_have_class(re.compile(r"\bis-ok\b"), timeout=15_000)
    writer.locator("#deliver").click()
    expect(writer.locator(".alert-success")).to_contain_text("La version 2")

    # The editor passes it to the client with a note.
    reviewer.goto("/orders/review")
    reviewer.get_by_test_id("review-queue").get_by_role("link", name="Le pagne wax").click()
    expect(reviewer.get_by_test_id("editorial-text")).to_contain_text("couturières de Tokoin")
    passing = reviewer.get_by_test_id("pass-review-form")
    passing.locator("textarea[name=note]").fill("Relu et prêt à publier.")
    passing.locator("button[type=submit]").click()
    expect(reviewer.locator(".alert-success")).to_contain_text("livré au client")

    # The client reads the text the editor passed, approves it and downloads it as Word.
    client.goto(f"/orders/{order.id}")
    expect(client.get_by_test_id("review")).to_contain_text("couturières de Tokoin")
    expect(client.get_by_test_id("timeline")).not_to_contain_text(COMMENT)
    client.locator("input[name=rating][value='5']").check()
    client.get_by_test_id("approve-form").locator("button[type=submit]").click()
    expect(client.get_by_test_id("shown-text")).to_contain_text("couturières de Tokoin")
    with client.expect_download() as download:
        client.get_by_test_id("export-docx").click()
    assert download.value.suggested_filename.endswith(".docx")
    with open(download.value.path(), "rb") as file:
        document = Document(io.BytesIO(file.read()))
    texts = [paragraph.text for paragraph in document.paragraphs]
    assert "Le pagne wax" in texts
    assert any("couturières de Tokoin" in text for text in texts)
    assert any(rel.target_ref == LINK for rel in document.part.rels.values())

    for page in (writer, client, reviewer):
        assert page.errors == []
    with ctx() as session:
        stored = session.get(Order, order.id)
        assert (stored.status, stored.revisions_used) == (OrderStatus.APPROVED, 0)
        numbers = [d.number for d in session.query(Delivery).filter_by(order_id=order.id)
                   .order_by(Delivery.number)]
        assert numbers == [1, 2]
