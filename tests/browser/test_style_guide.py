"""The style guide in Chromium, on a phone: the client writes it without sideways scrolling;
the writer reads it beside the brief and sees a forbidden word flagged while typing, without
the Deliver button being held back."""

from __future__ import annotations

import pytest

from portal.orders.models import OrderStatus
from tests.browser.helpers import expect, log_in

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], page.url


def test_the_client_writes_the_guide_and_the_writer_is_warned_of_a_forbidden_word(
        new_page, factory):
    client = factory.user("client", funds=500_000)
    page = new_page()
    page.set_viewport_size(PHONE)
    log_in(page, client.email)
    page.goto("/style-guide")
    no_sideways_scroll(page)
    page.fill("input[name=tone]", "Chaleureux et direct")
    page.fill("textarea[name=forbidden_words]", "leader\npas cher")
    page.fill("textarea[name=formatting]", "Un intertitre toutes les 300 mots. " * 20)
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".alert-success")).to_be_visible()
    no_sideways_scroll(page)

    order = factory.order(client=client, status=OrderStatus.IN_PROGRESS, words_min=100,
                          words_max=300)
    writer = new_page()
    writer.set_viewport_size(PHONE)
    log_in(writer, order.writer.email)
    writer.goto(f"/work/orders/{order.id}")
    expect(writer.get_by_test_id("guide-forbidden")).to_have_text("leader, pas cher")
    no_sideways_scroll(writer)

    # 10 + 8 x 12 = 106 words: long enough, with one forbidden word.
    writer.fill("#editor", "Notre boutique est le leader du pagne wax à Lomé. "
                + "Nos tissus sont choisis un par un chez des fournisseurs de confiance. " * 8)
    warning = writer.locator("#checks-warnings li[data-code=forbidden_words]")
    expect(warning).to_contain_text("leader", timeout=15_000)
    expect(writer.locator("#deliver")).to_be_enabled()
    assert page.errors == [] and writer.errors == []
