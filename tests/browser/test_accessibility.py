"""Keyboard focus is always visible: tabbing through a page, every element that takes the focus
is drawn with an outline or a ring (its own, or, for an input drawn by its neighbour like a
rating star, the neighbour's). axe-core's rules run on every page in tests/browser/test_crawl.py.
"""

from __future__ import annotations

import pytest

from portal.accounts.models import Role
from portal.orders.models import OrderStatus
from tests.browser.helpers import expect, log_in

pytestmark = pytest.mark.browser

# The focused element and whether the focus shows on it: an outline of some width, or a
# box-shadow (Bootstrap's ring). An input hidden under its drawing (opacity 0) shows it on the
# element that follows it.
FOCUS_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const shows = (node) => {
    const style = getComputedStyle(node);
    const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
    const ring = style.boxShadow !== "none" && style.boxShadow !== "";
    const box = node.getBoundingClientRect();
    return (outline || ring) && box.width > 0 && box.height > 0;
  };
  // Past its fields, a date input's focus goes to the browser's own calendar button, which
  // draws the browser's ring (the input itself then no longer matches :focus).
  if (/^(date|time|datetime-local|month|week)$/.test(el.type) && !el.matches(":focus")) {
    return {name: `${el.tagName.toLowerCase()}#${el.id} calendar button`, visible: true};
  }
  let drawn = el;
  if (getComputedStyle(el).opacity === "0" && el.nextElementSibling) drawn = el.nextElementSibling;
  // The ring fades in (a CSS transition): judge it as it ends, not on its first frame.
  drawn.getAnimations().forEach((animation) => animation.finish());
  const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + (el.getAttribute("name") ? `[name=${el.getAttribute("name")}]` : "")
    + ` "${(el.innerText || el.value || el.getAttribute("aria-label") || "").trim().slice(0, 30)}"`;
  return {name, visible: shows(drawn)};
}"""


def tab_through(page, stops: int = 60) -> tuple[list[str], list[str]]:
    """Press Tab until the focus comes back to the first element (or `stops` times): the
    elements reached, and those whose focus did not show."""
    reached, hidden = [], []
    for _ in range(stops):
        page.keyboard.press("Tab")
        found = page.evaluate(FOCUS_JS)
        if found is None:
            continue
        if reached and found["name"] == reached[0]:
            break
        reached.append(found["name"])
        if not found["visible"]:
            hidden.append(found["name"])
    return reached, hidden


@pytest.mark.parametrize("viewport", [{"width": 1366, "height": 900},
                                      {"width": 390, "height": 844}], ids=["desktop", "phone"])
def test_keyboard_focus_is_visible_on_every_control(browser, live_server, factory, viewport):
    tier = factory.tier(name="Standard")
    client = factory.user(Role.CLIENT)
    order = factory.order(client=client, tier=tier, status=OrderStatus.DELIVERED,
                          writer=factory.writer(tiers=[tier]))
    context = browser.new_context(base_url=live_server.url, locale="fr-FR", viewport=viewport)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        page.goto("/login")
        reached, hidden = tab_through(page)
        assert len(reached) >= 5, reached
        problems = [f"/login: {name}" for name in hidden]
        log_in(page, client.email)
        # The order form (fields, selects, buttons) and a delivered order (the rating's stars,
        # the forms that open from a button) hold most kinds of control.
        for url in ("/home", "/orders/new", f"/orders/{order.id}"):
            page.goto(url)
            reached, hidden = tab_through(page)
            assert len(reached) >= 5, (url, reached)
            problems += [f"{url}: {name}" for name in hidden]
        assert not problems, "focus not visible on:\n" + "\n".join(problems)
    finally:
        context.close()


def test_the_skip_link_shows_when_focused(page, factory):
    log_in(page, factory.user(Role.CLIENT).email)
    skip = page.locator("a[href='#content']")
    assert skip.bounding_box() is None or skip.bounding_box()["width"] <= 1
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box is not None and box["width"] > 10 and box["height"] > 10
