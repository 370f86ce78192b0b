"""Forms people like, on a phone: the stars of the rating by keyboard and by touch, the
cancellation that opens from its button, the time zone found by typing a city, and the brief's
deadline that follows the chosen level."""

from __future__ import annotations

import pytest

from portal.accounts.models import Role, User
from portal.orders.models import Order, OrderStatus
from tests.browser import helpers
from tests.browser.helpers import expect

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def log_in(page, email: str) -> None:
    page.set_viewport_size(PHONE)
    helpers.log_in(page, email)


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_client_rates_with_the_keyboard_on_big_stars(page, factory, ctx):
    order = factory.order(status=OrderStatus.DELIVERED)
    log_in(page, order.client.email)
    page.goto(f"/orders/{order.id}")

    stars = page.locator(".star-option")
    expect(stars).to_have_count(5)
    for index in range(5):
        box = stars.nth(index).bounding_box()
        assert box["width"] >= 44 and box["height"] >= 44
    assert no_sideways_scroll(page)

    page.locator("input[name=rating][value='1']").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(page.locator("input[name=rating][value='4']")).to_be_checked()
    expect(page.locator(".star-word").nth(3)).to_be_visible()
    expect(page.locator(".star-word").nth(3)).to_have_text("Très bien")
    expect(page.locator(".star-word").nth(4)).to_be_hidden()
    lit, unlit = (page.get_by_test_id(f"star-{n}").evaluate("e => getComputedStyle(e).color")
                  for n in (4, 5))
    assert lit != unlit

    # A tap on the second star (its radio input lies over it, the whole 48 px square).
    page.get_by_test_id("star-2").scroll_into_view_if_needed()
    box = page.get_by_test_id("star-2").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.locator("input[name=rating][value='2']")).to_be_checked()
    expect(page.locator(".star-word").nth(1)).to_have_text("Décevant")
    expect(page.locator("textarea[name=comment]")).to_have_js_property("required", True)
    page.fill("textarea[name=comment]", "Le ton ne convient pas.")
    page.get_by_test_id("approve-form").locator("button[type=submit]").click()
    expect(page.get_by_test_id("rating")).to_contain_text("2")
    with ctx() as session:
        assert session.get(Order, order.id).rating == 2
    assert page.errors == []


def test_the_cancellation_opens_from_its_button(page, factory):
    order = factory.order(status=OrderStatus.OPEN)
    log_in(page, order.client.email)
    page.goto(f"/orders/{order.id}")

    reason = page.locator("textarea[name=reason]")
    expect(reason).to_be_hidden()
    toggle = page.get_by_test_id("cancel-toggle")
    assert toggle.bounding_box()["height"] >= 44
    toggle.click()
    expect(reason).to_be_visible()
    assert no_sideways_scroll(page)
    assert page.errors == []


def test_a_time_zone_is_found_by_typing_a_city(page, factory, ctx):
    person = factory.user(Role.CLIENT, timezone="Africa/Lome")
    log_in(page, person.email)
    page.goto("/settings")

    zone = page.locator("select[name=timezone]")
    expect(zone).to_have_value("Africa/Lome")
    search = page.get_by_label("Chercher un fuseau horaire")
    search.fill("nouméa")
    expect(zone).to_have_value("Pacific/Noumea")
    search.fill("zzzz")
    expect(page.get_by_text("Aucun fuseau horaire ne correspond.")).to_be_visible()
    search.fill("paris")
    expect(zone).to_have_value("Europe/Paris")
    assert no_sideways_scroll(page)
    zone.locator("xpath=ancestor::form").locator("button[type=submit]").click()
    with ctx() as session:
        assert session.get(User, person.id).timezone == "Europe/Paris"
    assert page.errors == []


def test_the_deadline_follows_the_level_until_the_client_chooses_one(page, factory):
    quick = factory.tier(name="Rapide", min_lead_hours=24)
    slow = factory.tier(name="Lent", min_lead_hours=300)
    factory.content_type()
    person = factory.user(Role.CLIENT)
    log_in(page, person.email)
    page.goto("/orders/new")

    deadline = page.locator("input[name=deadline]")
    first = deadline.input_value()
    assert first.endswith("T18:00")
    page.select_option("select[name=tier_id]", str(slow.id))
    later = deadline.input_value()
    assert later.endswith("T18:00") and later > first
    page.select_option("select[name=tier_id]", str(quick.id))
    expect(deadline).to_have_value(first)

    deadline.fill("2027-01-15T10:00")
    page.select_option("select[name=tier_id]", str(slow.id))
    expect(deadline).to_have_value("2027-01-15T10:00")
    assert no_sideways_scroll(page)
    assert page.errors == []
