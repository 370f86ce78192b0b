"""Writing and reading without Markdown, in Chromium: the writer formats with a toolbar and sees
the client's rendering in the preview; the client reads what changed block by block on a phone;
a message's long address is a link that wraps."""

from __future__ import annotations

import re

import pytest

from portal.orders.models import Delivery, OrderStatus
from tests.browser.helpers import expect
from tests.browser.test_conversation import post
from tests.browser.test_order_story import log_in

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


def fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], page.url


def select(page, word: str) -> None:
    page.evaluate("""(word) => {
        const editor = document.getElementById("editor");
        const at = editor.value.indexOf(word);
        editor.focus();
        editor.setSelectionRange(at, at + word.length);
    }""", word)


def test_the_writer_formats_with_the_toolbar_and_the_preview_shows_the_clients_text(
        new_page, factory):
    order = factory.order(status=OrderStatus.IN_PROGRESS)
    page = new_page()
    page.set_viewport_size(PHONE)
    log_in(page, order.writer.email)
    page.goto(f"/work/orders/{order.id}")
    fits(page)
    # On a phone the brief comes first, then the editor.
    brief = page.locator("#brief-title").bounding_box()
    assert brief["y"] < page.locator("#editor").bounding_box()["y"]

    toolbar = page.get_by_test_id("editor-toolbar")
    expect(toolbar).to_be_visible()
    for button in toolbar.locator("button").all():
        box = button.bounding_box()
        assert box["width"] >= 44 and box["height"] >= 44, button.get_attribute("data-format")

    editor = page.locator("#editor")
    editor.fill("Le pagne wax est beau.\nUn tissu de Lomé.")
    select(page, "pagne")
    toolbar.get_by_role("button", name="Gras").click()
    expect(editor).to_have_value("Le **pagne** wax est beau.\nUn tissu de Lomé.")
    select(page, "wax")
    editor.press("Control+i")
    expect(editor).to_have_value("Le **pagne** *wax* est beau.\nUn tissu de Lomé.")
    select(page, "Le **pagne**")
    toolbar.get_by_role("button", name="Titre de section").click()
    expect(editor).to_have_value("## Le **pagne** *wax* est beau.\nUn tissu de Lomé.")
    select(page, "Lomé")
    toolbar.get_by_role("button", name="Lien").click()
    page.keyboard.type("https://lome.tg")
    expect(editor).to_have_value("## Le **pagne** *wax* est beau.\nUn tissu de [Lomé](https://lome.tg).")
    # A second click on Bold takes the marks away again.
    select(page, "pagne")
    toolbar.get_by_role("button", name="Gras").click()
    expect(editor).to_have_value("## Le pagne *wax* est beau.\nUn tissu de [Lomé](https://lome.tg).")
    select(page, "pagne")
    toolbar.get_by_role("button", name="Gras").click()
    expect(page.get_by_test_id("word-count")).to_contain_text("9 mots")

    page.get_by_test_id("tab-preview").click()
    expect(editor).to_be_hidden()
    preview = page.get_by_test_id("preview-body")
    expect(preview.locator("h2 strong")).to_have_text("pagne", timeout=15_000)
    expect(preview.locator("h2 em")).to_have_text("wax")
    expect(preview.locator("a")).to_have_attribute("href", "https://lome.tg")
    expect(page.get_by_test_id("preview-status")).to_contain_text("tel que la cliente")
    expect(page.get_by_test_id("autosave-status")).to_have_text(re.compile(r"\d{2}:\d{2}\s*$"))
    fits(page)

    page.get_by_test_id("tab-write").click()
    expect(editor).to_be_visible()
    assert page.errors == []


def test_the_client_reads_what_changed_block_by_block_on_a_phone(new_page, factory, ctx):
    order = factory.order(status=OrderStatus.DELIVERED, revisions=1)
    long_word = "https://boutique.tg/" + "pagnes-wax-" * 30
    old = ("# Le pagne wax à Lomé\n\nLe marché est animé le matin.\n\n## Les motifs\n\n"
           "- le premier\n- le second\n\nPremier paragraphe inchangé.\n\n"
           "Deuxième paragraphe inchangé.\n\nTroisième paragraphe inchangé.\n\nFin.")
    new = ("# Le pagne wax de Lomé\n\nLe marché est très animé le soir.\n\n"
           f"Un paragraphe neuf avec {long_word}.\n\n## Les motifs\n\n"
           "- le premier\n- le troisième motif ici\n\nPremier paragraphe inchangé.\n\n"
           "Deuxième paragraphe inchangé.\n\nTroisième paragraphe inchangé.\n\nFin.")
    with ctx() as session:
        first, second = session.query(Delivery).filter_by(order_id=order.id).order_by(
            Delivery.number).all()
        first.text, second.text = old, new
        session.commit()

    page = new_page()
    page.set_viewport_size(PHONE)
    log_in(page, order.client.email)
    page.goto(f"/orders/{order.id}/deliveries/2")
    diff = page.get_by_test_id("diff")
    expect(diff).to_be_visible()
    fits(page)
    heading = diff.locator(".changes-row.changes-changed .changes-h1")
    expect(heading).to_have_count(2)  # before and after, one above the other
    expect(heading.last.locator("ins")).to_contain_text("de")
    expect(heading.first.locator("del")).to_contain_text("à")
    paragraph = diff.locator(".changes-changed .changes-new .changes-p")
    expect(paragraph.locator("ins")).to_have_text(["[ajouté] très ", "[ajouté] soir"])
    expect(diff.locator(".changes-added .changes-p")).to_contain_text("paragraphe neuf")
    # Not colour alone: each mark says what it is to a screen reader.
    expect(diff.locator("ins .visually-hidden").first).to_have_text("[ajouté] ")
    unchanged = diff.get_by_test_id("unchanged")
    expect(unchanged.locator("summary")).to_contain_text("passages inchangés")
    expect(unchanged.locator(".changes-row").first).to_be_hidden()
    unchanged.locator("summary").click()
    expect(unchanged.locator(".changes-row").first).to_be_visible()
    fits(page)
    old_cell, new_cell = (diff.locator(".changes-changed").first.locator(".changes-old"),
                          diff.locator(".changes-changed").first.locator(".changes-new"))
    assert old_cell.bounding_box()["y"] < new_cell.bounding_box()["y"]

    # Side by side on a wide screen.
    page.set_viewport_size(DESKTOP)
    assert abs(old_cell.bounding_box()["y"] - new_cell.bounding_box()["y"]) < 1
    assert old_cell.bounding_box()["x"] < new_cell.bounding_box()["x"]
    assert page.errors == []


def test_a_long_address_in_a_message_is_a_link_that_wraps_on_a_phone(new_page, factory):
    order = factory.order(status=OrderStatus.IN_PROGRESS)
    address = "https://boutique.tg/catalogue/" + "pagne-wax-hollandais-" * 20 + "?page=2"
    page = new_page()
    page.set_viewport_size(PHONE)
    log_in(page, order.client.email)
    post(page, order.id, f"Bonjour, voyez **ceci** ({address}).\nEt www.boutique.tg, merci !")
    body = page.get_by_test_id("message-body").last
    expect(body.locator("a").first).to_have_attribute("href", address)
    expect(body.locator("a").nth(1)).to_have_attribute("href", "https://www.boutique.tg")
    expect(body).to_contain_text("**ceci**")
    fits(page)
    box = body.locator("a").first.bounding_box()
    assert box["x"] + box["width"] <= PHONE["width"]
    help_text = page.get_by_test_id("message-form").inner_text()
    assert "**" not in help_text and "Markdown" not in help_text
    assert page.errors == []


def test_on_a_wide_screen_the_preview_can_sit_beside_the_text_and_follows_it(new_page, factory):
    order = factory.order(status=OrderStatus.IN_PROGRESS)
    page = new_page()
    page.set_viewport_size(DESKTOP)
    log_in(page, order.writer.email)
    page.goto(f"/work/orders/{order.id}")
    both = page.get_by_test_id("tab-both")
    both.click()
    expect(both).to_have_attribute("aria-pressed", "true")
    editor, preview = page.locator("#editor"), page.get_by_test_id("preview-body")
    expect(preview).to_be_visible()
    assert abs(editor.bounding_box()["y"] - preview.bounding_box()["y"]) < 80
    assert editor.bounding_box()["x"] < preview.bounding_box()["x"]

    editor.fill("Un texte avec un mot important.")
    select(page, "important")
    page.keyboard.press("Control+b")
    # The autosave after typing brings the client's rendering, without leaving the text.
    expect(preview.locator("strong")).to_have_text("important", timeout=15_000)
    expect(editor).to_be_focused()

    # Kept for the next visit in this browser; a phone width goes back to tabs.
    page.reload()
    expect(page.get_by_test_id("tab-both")).to_have_attribute("aria-pressed", "true")
    page.set_viewport_size(PHONE)
    expect(page.get_by_test_id("tab-both")).to_be_hidden()
    expect(page.get_by_test_id("tab-preview")).to_be_visible()
    expect(page.get_by_test_id("preview")).to_be_hidden()
    fits(page)
    assert page.errors == []
