"""Every page a person reaches from their home fits a phone: a crawl per role.

The demo agency gives each role data in every status (orders from draft to cancelled, top-ups,
invoices, a payout batch); the factories add an order whose title is one very long word, for the
demo's main client and writer. For each role, one browser context 390 px wide logs in and follows
the same-origin links from /home (breadth first, one page per path pattern, numbers replaced by a
placeholder; downloads and exports left out), and on every page checks that the document is no
wider than the screen and that nothing on it scrolls sideways; its navigation menu, opened, has
touch targets of 44 px. A second context 1366 px wide visits the same pages and checks that the
main navigation holds on one line, with no label broken over two. In French, then in English
(chosen with the navigation's language menu). Every failure of a role is reported in one
message.
"""

from __future__ import annotations

import re
from collections import deque
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from portal.accounts.models import Role, User
from portal.billing import ledger
from portal.billing.companies import company_of
from portal.billing.models import EntryKind
from portal.demo import DEMO_PASSWORD, seed_demo
from portal.extensions import db
from portal.orders.models import OrderStatus

pytestmark = pytest.mark.browser

MAX_PAGES = 40
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 768}
LONG_TITLE = "Anticonstitutionnellement" * 3 + " au marché de Lomé"

# Links that download a file, leave, or act: not pages to check.
SKIP = re.compile(
    r"/attachments/|/files/|/export|\.(?:txt|zip|csv|pdf|docx|md|html)$|/pdf$|/proof$"
    r"|/data$|/dev/mailbox/[^/]+/html$|/healthz|/readyz|/metrics|/logout"
)

ROLES = {
    Role.CLIENT: "client@demo.test",
    Role.WRITER: "writer@demo.test",
    Role.MANAGER: "manager@demo.test",
    Role.EDITOR: "relecture@demo.test",
}

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


@pytest.fixture
def agency(app, factory):
    """The demo agency, with an order of one very long word for its main client and writer in
    the pool, in progress and delivered."""
    with app.app_context():
        seed_demo()
        db.session.commit()
        main_client = db.session.scalar(sa.select(User).where(User.email == ROLES[Role.CLIENT]))
        ledger.post(company_of(main_client).id, EntryKind.ADJUSTMENT, key="crawl", amount=100_000,
                    note="Crédit de test")
        db.session.commit()
        people = {email: db.session.scalar(sa.select(User).where(User.email == email))
                  for email in ROLES.values()}
        for person in people.values():
            db.session.expunge(person)
    client, writer = people["client@demo.test"], people["writer@demo.test"]
    tier = factory.tier(name="Standard")
    factory.give_skills(writer, tiers=[tier])
    for status in (OrderStatus.OPEN, OrderStatus.IN_PROGRESS, OrderStatus.DELIVERED):
        factory.order(client=client, writer=None if status is OrderStatus.OPEN else writer,
                      tier=tier, status=status, title=LONG_TITLE)
    return people


def pattern(path: str) -> str:
    return re.sub(r"\d+", "{n}", path)


def log_in(page, email: str, language: str) -> None:
    """Log in, then choose the language with the navigation's menu (when not French)."""
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/home$"))
    if page.locator("html").get_attribute("lang") != language:
        toggler = page.locator(".navbar-toggler")
        if toggler.is_visible():  # a phone shows the menu behind its button
            toggler.click()
        with page.expect_navigation():
            page.select_option("select.language-select", language)
        expect(page.locator("html")).to_have_attribute("lang", language)


def same_origin_links(page, origin: str) -> list[str]:
    hrefs = page.eval_on_selector_all(
        "a[href]:not([download])", "links => links.map((a) => a.href)")
    found = []
    for href in hrefs:
        parts = urlsplit(href)
        if f"{parts.scheme}://{parts.netloc}" != origin or SKIP.search(parts.path):
            continue
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def visit(page, url: str):
    """The page at `url`, or None when it is not an HTML page (a download)."""
    try:
        response = page.goto(url)
    except PlaywrightError as error:
        if "Download is starting" in str(error):
            return None
        raise
    if response is None or "text/html" not in response.headers.get("content-type", ""):
        return None
    return response


def crawl(page, origin: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Breadth first from /home: the pages checked, and (page, what is wrong) pairs."""
    queue, seen, pages, problems = deque(["/home"]), {pattern("/home")}, [], []
    while queue and len(pages) < MAX_PAGES:
        url = queue.popleft()
        response = visit(page, url)
        if response is None:
            continue
        if response.status >= 400:
            problems.append((url, f"answered {response.status}"))
            continue
        pages.append(url)
        problems += [(url, f"at 390 px: {found}") for found in page.evaluate(OVERFLOW_JS)]
        for link in same_origin_links(page, origin):
            key = pattern(urlsplit(link).path)
            if key not in seen:
                seen.add(key)
                queue.append(link)
    return pages, problems


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("role", list(ROLES), ids=[role.value for role in ROLES])
def test_every_page_fits_a_phone_and_the_navigation_one_line(role, language, agency, browser,
                                                             live_server):
    contexts = []

    def open_page(viewport):
        context = browser.new_context(base_url=live_server.url, locale="fr-FR",
                                      viewport=viewport)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    try:
        phone = open_page(PHONE)
        log_in(phone, ROLES[role], language)
        pages, problems = crawl(phone, live_server.url)
        phone.goto("/home")
        phone.locator(".navbar-toggler").click()
        expect(phone.locator(".navbar-collapse.show")).to_be_visible()
        problems += [("/home", f"at 390 px, menu open: {found}")
                     for found in phone.evaluate(TOUCH_JS)]

        desktop = open_page(DESKTOP)
        log_in(desktop, ROLES[role], language)
        for url in pages:
            if visit(desktop, url) is None:
                continue
            found = desktop.evaluate(NAV_JS) + desktop.evaluate(OVERFLOW_JS)
            problems += [(url, f"at 1366 px: {problem}") for problem in found]
    finally:
        for context in contexts:
            context.close()

    assert len(pages) >= 5, pages
    # The same problem on several pages (the navigation) is told once, with its pages.
    where: dict[str, list[str]] = {}
    for url, problem in problems:
        where.setdefault(problem, []).append(url)
    assert not where, (
        f"{len(where)} problems on {len(pages)} pages of the {role.value} in {language}:\n"
        + "\n".join(f"{problem} on {', '.join(urls)}" for problem, urls in where.items()))
