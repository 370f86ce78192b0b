"""The client takes the approved text away, on a phone: reads it on the order page, copies it as
text and as HTML, downloads it as Word."""

from __future__ import annotations

import re

import pytest

from portal.orders.models import OrderStatus
from tests.browser.helpers import expect
from tests.browser.test_order_story import log_in

pytestmark = pytest.mark.browser

TEXT = ("# Le marché d'Adawlato\n\nOn y trouve **tout**, du pagne au *piment*, "
        "et [la carte](https://example.com/carte) aide.\n\n- tomates\n- gari")


def test_the_client_copies_and_downloads_the_approved_text_on_a_phone(new_page, factory,
                                                                      live_server):
    order = factory.order(status=OrderStatus.APPROVED, text=TEXT, title="Le marché d'Adawlato")
    page = new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    page.context.grant_permissions(["clipboard-read", "clipboard-write"],
                                   origin=live_server.url)
    log_in(page, order.client.email)

    page.goto(f"/orders/{order.id}")
    shown = page.get_by_test_id("shown-text")
    expect(shown.get_by_role("heading", name="Le texte validé")).to_be_visible()
    expect(page.get_by_test_id("delivery-text")).to_contain_text("du pagne au piment")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.get_by_test_id("copy-text").click()
    expect(shown.get_by_role("status")).to_have_text("Copié.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("Le marché d'Adawlato\n\nOn y trouve tout, du pagne au piment, et "
                             "la carte (https://example.com/carte) aide.\n\n- tomates\n- gari")

    page.evaluate("navigator.clipboard.writeText('')")
    page.get_by_test_id("copy-html").click()
    expect(shown.get_by_role("status")).to_have_text("Copié.")
    source = page.evaluate("navigator.clipboard.readText()")
    assert source.startswith("<h1>Le marché d'Adawlato</h1>\n<p>On y trouve <strong>tout</strong>")
    rich = page.evaluate("""async () => {
        const items = await navigator.clipboard.read();
        const blob = await items[0].getType("text/html");
        return await blob.text();
    }""")
    assert "<em>piment</em>" in rich

    with page.expect_download() as download:
        page.get_by_test_id("export-docx").click()
    assert download.value.suggested_filename in ("Le marché d'Adawlato.docx",
                                                 "le-marche-d-adawlato.docx")
    assert re.search(r"/orders/\d+$", page.url)

    # "My orders" offers every text of a period in one archive, and fits the phone too.
    page.goto("/orders")
    archive = page.get_by_test_id("texts-archive")
    expect(archive.get_by_role("heading", name="Télécharger vos textes validés")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    with page.expect_download() as download:
        archive.get_by_role("button", name="Télécharger (.zip)").click()
    assert re.fullmatch(r"texts-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d\.zip",
                        download.value.suggested_filename)
    assert not page.errors


def test_without_the_clipboard_api_the_copy_command_copies_the_text(new_page, factory,
                                                                    live_server):
    order = factory.order(status=OrderStatus.APPROVED, text=TEXT, title="Sans presse-papiers")
    page = new_page()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"],
                                   origin=live_server.url)
    page.add_init_script("Object.defineProperty(Navigator.prototype, 'clipboard', "
                         "{get: () => undefined})")
    log_in(page, order.client.email)

    page.goto(f"/orders/{order.id}")
    assert page.evaluate("navigator.clipboard") is None
    page.get_by_test_id("copy-text").click()

    expect(page.get_by_test_id("shown-text").get_by_role("status")).to_have_text("Copié.")
    reader = page.context.new_page()  # the same browser, with its clipboard API
    reader.goto("/orders")
    assert reader.evaluate("navigator.clipboard.readText()").startswith(
        "Le marché d'Adawlato\n\nOn y trouve tout")
    assert not page.errors
