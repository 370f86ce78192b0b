"""The client reads the compliance report of a delivery on a phone: a card of lists, long
addresses and headings broken inside it, nothing that scrolls sideways."""

from __future__ import annotations

import pytest

from portal.orders.models import OrderStatus
from tests.browser.helpers import expect
from tests.browser.test_order_story import log_in

pytestmark = pytest.mark.browser

LINK = "https://boutique-zenith.test/" + "collection-de-pagnes-wax-hollandais-" * 4 + "2026"
TEXT = (f"# Bien choisir son pagne wax\n\nLe pagne wax se choisit avec soin. Voir [la boutique]"
        f"({LINK}) ou {LINK}.\n\n## Anticonstitutionnellement-imprimé-et-surpiqué-à-la-main\n\n"
        "Une couturière vous conseillera.")


def test_the_report_reads_on_a_390_px_phone(new_page, factory):
    order = factory.order(status=OrderStatus.DELIVERED, text=TEXT, words_min=100, words_max=300,
                          primary_keyword="pagne wax", secondary_keywords=["couturière"],
                          links_to_include=[LINK])
    page = new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, order.client.email)

    for path in (f"/orders/{order.id}", f"/orders/{order.id}/deliveries/1"):
        page.goto(path)
        report = page.get_by_test_id("report")
        expect(report.get_by_role("heading", name="Rapport de conformité")).to_be_visible()
        expect(report.get_by_test_id("report-required-link")).to_contain_text("trouvé")
        expect(report.get_by_test_id("report-readability")).to_contain_text("Kandel\u2013Moles")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
    assert not page.errors
