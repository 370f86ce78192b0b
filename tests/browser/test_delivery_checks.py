"""The rules before delivery, as the writer lives them in Chromium: the panel beside the editor
says what still blocks after each autosave, and the Deliver button waits until it turns green."""

from __future__ import annotations

import re

import pytest

from portal.orders.models import Delivery, OrderStatus
from tests.browser.helpers import expect
from tests.factories import Factory

pytestmark = pytest.mark.browser

LINK = "https://boutique.test/pagnes"
# 3 + 9 x 10 = 93 words: the keyword is in, the link is not, seven words are missing.
DRAFT = "# Le pagne wax\n\n" + "Chaque motif porte un nom que les revendeuses savent dire. " * 9
# 10 more words (the link's address is not counted), with the link.
ENDING = f"\n\nVoir [nos pagnes]({LINK}) pour choisir le vôtre avant votre visite."


def test_the_writer_writes_until_the_panel_turns_green_then_delivers(new_page, factory, ctx):
    order = factory.order(status=OrderStatus.IN_PROGRESS, words_min=100, words_max=150,
                          primary_keyword="pagne wax", links_to_include=[LINK],
                          secondary_keywords=["revendeuse", "couturière"])
    page = new_page()
    page.goto("/login")
    page.fill("input[name=email]", order.writer.email)
    page.fill("input[name=password]", Factory.PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/home$"))

    page.goto(f"/work/orders/{order.id}")
    panel = page.get_by_test_id("delivery-checks")
    blocking = page.locator("#checks-blocking li")
    deliver = page.locator("#deliver")
    # Shown by the server before any typing: nothing is written yet.
    expect(panel).to_have_class(re.compile(r"\bis-blocked\b"))
    expect(blocking).to_have_count(3)  # too short, no keyword, no link
    expect(deliver).to_be_disabled()

    page.fill("#editor", DRAFT)
    expect(page.get_by_test_id("autosave-status")).to_have_text(
        re.compile(r"\d{2}:\d{2}\s*$"), timeout=15_000)  # "Saved at 09:31"
    expect(blocking).to_have_count(2, timeout=15_000)
    expect(page.locator("#checks-blocking li[data-code=too_short]")).to_contain_text("93")
    expect(page.locator("#checks-blocking li[data-code=link_missing]")).to_contain_text(LINK)
    expect(deliver).to_be_disabled()
    # The keyword chips follow the same rules as the server: "revendeuses" holds "revendeuse".
    expect(page.locator('#keywords [data-keyword="revendeuse"]')).to_have_class(
        re.compile(r"\bis-present\b"))
    expect(page.locator('#keywords [data-keyword="couturière"]')).not_to_have_class(
        re.compile(r"\bis-present\b"))
    expect(page.locator("#checks-warnings li[data-code=secondary_missing]")).to_contain_text(
        "couturière")

    page.locator("#editor").press("Control+End")
    page.locator("#editor").press_sequentially(ENDING)
    expect(panel).to_have_class(re.compile(r"\bis-ok\b"), timeout=15_000)
    expect(blocking).to_have_count(0)
    expect(page.get_by_test_id("checks-summary")).to_contain_text("Prêt à livrer")
    expect(deliver).to_be_enabled()

    page.on("dialog", lambda dialog: dialog.accept())
    deliver.click()
    expect(page.locator(".alert-success")).to_be_visible()
    assert page.errors == []
    with ctx() as session:
        delivery = session.query(Delivery).filter_by(order_id=order.id).one()
        assert delivery.word_count == 103 and LINK in delivery.text
