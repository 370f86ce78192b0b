"""Every page a person reaches from their home fits a phone and passes axe-core: a crawl per role.

The demo agency gives each role data in every status (orders from draft to cancelled, top-ups,
invoices, a payout batch); the factories add an order whose title is one very long word, for the
demo's main client and writer. For each role (and a visitor, from the landing page), one browser
context 390 px wide logs in and follows the same-origin links from /home (breadth first, one page
per path pattern, numbers replaced by a placeholder; downloads and exports left out), and on
every page checks that the document is no wider than the screen and that nothing on it scrolls
sideways; its navigation menu, opened, has touch targets of 44 px and passes axe-core. A second
context 1366 px wide visits the same pages, checks that the main navigation holds on one line,
with no label broken over two, and runs axe-core (the accessibility engine, loaded into the test
browser only, from the axe-playwright-python package; tests/browser/axe.py) on every page and on
each navigation menu opened: no serious or critical violation (labels of controls, names of
buttons and links, AA contrast, ARIA…). In French, then in English (chosen with the
navigation's language menu): the layout checks and axe-core on every page in both (a string
can be translated into a broken label, and words differ in length). Every failure of a role is
reported in one message.
"""

from __future__ import annotations

import pytest

from tests.browser.axe import axe_violations
from tests.browser.crawl_support import (
    DESKTOP,
    PHONE,
    ROLES,
    crawl,
    log_in,
    seed_agency,
    visit,
)
from tests.browser.helpers import expect
from tests.conftest import check_and_empty
from tests.factories import Factory

pytestmark = pytest.mark.browser

# A visitor (nobody logged in) crawls from the landing page: samples, log in, sign up…
VISITOR = "visitor"

# What a page answers about its width: the document's, and every element that scrolls sideways
# while shown (a table in a sideways-scrolling box, a long word in a fixed block).
OVERFLOW_JS = """() => {
  const found = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > window.innerWidth) {
    found.push(`document ${doc.scrollWidth} px wide in ${window.innerWidth}`);
  }
  for (const el of document.querySelectorAll("body *")) {
    if (el.scrollWidth <= el.clientWidth + 1) continue;
    const style = getComputedStyle(el);
    if (!["auto", "scroll"].includes(style.overflowX)) continue;
    if (el.tagName === "TEXTAREA" || el.tagName === "SELECT") continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0 || style.visibility === "hidden") continue;
    const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
      + (el.className && typeof el.className === "string"
         ? "." + el.className.trim().split(/\\s+/).join(".") : "");
    found.push(`${name} scrolls sideways (${el.scrollWidth} px in ${el.clientWidth})`);
  }
  return found;
}"""

# The main navigation at desktop width: every item on one row, no label over two lines.
NAV_JS = """() => {
  const nav = document.querySelector("nav.navbar");
  if (!nav) return ["no main navigation"];
  const items = [...nav.querySelectorAll(
    ".navbar-brand, .navbar-nav > .nav-item, .navbar-collapse > form")]
    .filter((el) => el.getBoundingClientRect().height > 0);
  const found = [];
  const middles = items.map((el) => {
    const box = el.getBoundingClientRect();
    return box.top + box.height / 2;
  });
  if (Math.max(...middles) - Math.min(...middles) > 8) {
    found.push("navigation on more than one line: " + items.map(
      (el, i) => `${el.innerText.trim().replace(/\\s+/g, " ")}@${Math.round(middles[i])}`
    ).join(", "));
  }
  for (const link of nav.querySelectorAll(".navbar-brand, .nav-link")) {
    const box = link.getBoundingClientRect();
    if (box.height === 0) continue;
    const style = getComputedStyle(link);
    const line = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.5;
    const inner = box.height - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
    if (inner > line * 1.6) {
      found.push(`"${link.innerText.trim().replace(/\\s+/g, " ")}" broken over lines`);
    }
  }
  for (const select of nav.querySelectorAll("select")) {
    const option = select.options[select.selectedIndex];
    const canvas = document.createElement("canvas").getContext("2d");
    const style = getComputedStyle(select);
    canvas.font = `${style.fontSize} ${style.fontFamily}`;
    const needed = canvas.measureText(option ? option.text : "").width
      + parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
    if (select.getBoundingClientRect().width > 0 && select.clientWidth + 1 < needed) {
      found.push(`language menu cut: "${option.text}" needs ${Math.ceil(needed)} px`
                 + ` in ${select.clientWidth}`);
    }
  }
  return found;
}"""


# On a phone, the navigation's menu once opened: every link and control at least 44 px high.
TOUCH_JS = """() => [...document.querySelectorAll(
    "nav.navbar .navbar-collapse .nav-link, nav.navbar .navbar-collapse select")]
  .filter((el) => el.getBoundingClientRect().height > 0)
  .filter((el) => el.getBoundingClientRect().height < 44)
  .map((el) => `"${el.innerText.trim().replace(/\\s+/g, " ")}" is `
       + `${Math.round(el.getBoundingClientRect().height)} px high`)"""


@pytest.fixture(autouse=True)
def _clean_database():
    """Overrides the per-test cleaning: the crawls share one agency (below)."""
    yield


@pytest.fixture(scope="module")
def agency(app):
    """The demo agency, with an order of one very long word for its main client and writer in
    the pool, in progress and delivered: seeded once for the module's ten crawls (each took as
    long to seed as to crawl). A crawl only follows links (GET): what it leaves behind (read
    markers, notifications read, the language chosen, which log_in sets either way) changes no
    page a later crawl reaches."""
    yield seed_agency(app, Factory(app))
    check_and_empty(app)


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("role", [*ROLES, VISITOR],
                         ids=[role.value for role in ROLES] + [VISITOR])
def test_every_page_fits_a_phone_and_the_navigation_one_line(role, language, agency, browser,
                                                             live_server):
    contexts = []

    def open_page(viewport):
        context = browser.new_context(base_url=live_server.url, locale="fr-FR",
                                      viewport=viewport)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    email, start = ROLES.get(role), "/" if role == VISITOR else "/home"
    try:
        phone = open_page(PHONE)
        log_in(phone, email, language)
        pages, problems = crawl(phone, live_server.url, lambda url: [
            f"at 390 px: {found}" for found in phone.evaluate(OVERFLOW_JS)], start=start)
        phone.goto(start)
        phone.locator(".navbar-toggler").click()
        expect(phone.locator(".navbar-collapse.show")).to_be_visible()
        problems += [(start, f"at 390 px, menu open: {found}")
                     for found in phone.evaluate(TOUCH_JS) + axe_violations(phone)]

        desktop = open_page(DESKTOP)
        log_in(desktop, email, language)
        for url in pages:
            if visit(desktop, url) is None:
                continue
            found = (desktop.evaluate(NAV_JS) + desktop.evaluate(OVERFLOW_JS)
                     + axe_violations(desktop))
            problems += [(url, f"at 1366 px: {problem}") for problem in found]
        # The navigation's menus (the bell, the manager's groups) show their items only open.
        desktop.goto(start)
        for toggle in desktop.locator("nav.navbar [data-bs-toggle=dropdown]").all():
            toggle.click()
            expect(toggle).to_have_attribute("aria-expanded", "true")
            problems += [(start, f"at 1366 px, {toggle.inner_text().strip()} menu open: {found}")
                         for found in axe_violations(desktop)]
            desktop.keyboard.press("Escape")
    finally:
        for context in contexts:
            context.close()

    assert len(pages) >= (3 if role == VISITOR else 5), pages
    # The same problem on several pages (the navigation) is told once, with its pages.
    where: dict[str, list[str]] = {}
    for url, problem in problems:
        where.setdefault(problem, []).append(url)
    assert not where, (
        f"{len(where)} problems on {len(pages)} pages of the {getattr(role, 'value', role)}"
        f" in {language}:\n"
        + "\n".join(f"{problem} on {', '.join(urls)}" for problem, urls in where.items()))
