"""Reusing a brief on a phone: the client keeps an order's brief as a template, orders it again,
and starts a new order from the agency's published template; the manager writes that template."""

from __future__ import annotations

import re

import pytest

from portal.accounts.models import Role
from portal.orders.models import OrderStatus
from tests.browser.helpers import expect
from tests.browser.test_order_story import log_in

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], page.url


def test_a_client_reuses_briefs_on_a_phone(new_page, factory):
    content_type = factory.content_type("Article de blog", "Blog post")
    tier = factory.tier(name="Standard", min_lead_hours=24)
    order = factory.order(status=OrderStatus.APPROVED, tier=tier, content_type=content_type,
                          title="Les meilleurs maquis de Lomé pour un déjeuner",
                          instructions="Trois adresses, avec les prix.")
    manager = factory.user(Role.MANAGER)

    # The manager publishes an agency template for blog posts.
    page = new_page()
    page.set_viewport_size(PHONE)
    log_in(page, manager.email)
    page.goto("/agency/templates")
    fits(page)
    page.get_by_role("link", name="Nouveau modèle").click()
    page.fill("input[name=name]", "Article de blog touristique")
    page.fill("textarea[name=instructions]", "Un ton chaleureux, des sous-titres.")
    page.check("input[name=published]")
    fits(page)
    page.get_by_role("button", name="Créer le modèle").click()
    expect(page.get_by_test_id("agency-templates")).to_contain_text("Publié")
    fits(page)

    page = new_page()
    page.set_viewport_size(PHONE)
    log_in(page, order.client.email)
    page.goto(f"/orders/{order.id}")
    reuse = page.get_by_test_id("reuse-brief")
    reuse.locator("input[name=name]").fill("Maquis du mois")
    fits(page)
    reuse.get_by_role("button", name="Enregistrer comme modèle").click()
    expect(page.get_by_role("status").filter(has_text="Maquis du mois")).to_be_visible()

    page.get_by_test_id("order-again").click()
    expect(page).to_have_url(re.compile(r"/orders/\d+/edit$"))
    expect(page.locator("input[name=title]")).to_have_value(
        "Les meilleurs maquis de Lomé pour un déjeuner")
    fits(page)

    page.goto("/orders/templates")
    expect(page.get_by_test_id("templates")).to_contain_text("Maquis du mois")
    fits(page)

    page.goto("/orders/new")
    page.get_by_test_id("start-from-template").locator("summary").click()
    fits(page)
    page.get_by_role("link", name="Article de blog touristique").click()
    expect(page.locator("textarea[name=instructions]")).to_have_value(
        "Un ton chaleureux, des sous-titres.")
    fits(page)
    assert not page.errors
