"""How the browser tests find every page a role reaches: shared by the crawl
(tests/browser/test_crawl.py) and `make screenshots` (tests/browser/screenshots.py).

From /home, breadth first, the same-origin links of each page, one page per path pattern
(numbers replaced by a placeholder); downloads, exports and actions left out.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from urllib.parse import urlsplit

import sqlalchemy as sa

from portal.accounts.models import Role, User
from portal.billing import ledger
from portal.billing.companies import company_of
from portal.billing.models import EntryKind
from portal.demo import DEMO_PASSWORD, seed_demo
from portal.extensions import db
from portal.orders.models import OrderStatus
from tests.browser.helpers import expect

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


def seed_agency(app, factory, *, long_titles: bool = True) -> dict[str, User]:
    """The demo agency (its people by email); with `long_titles`, an order of one very long
    word for its main client and writer in the pool, in progress and delivered."""
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
    if not long_titles:
        return people
    client, writer = people["client@demo.test"], people["writer@demo.test"]
    tier = factory.tier(name="Standard")
    factory.give_skills(writer, tiers=[tier])
    for status in (OrderStatus.OPEN, OrderStatus.IN_PROGRESS, OrderStatus.DELIVERED):
        factory.order(client=client, writer=None if status is OrderStatus.OPEN else writer,
                      tier=tier, status=status, title=LONG_TITLE)
    return people


def pattern(path: str) -> str:
    return re.sub(r"\d+", "{n}", path)


def log_in(page, email: str | None, language: str) -> None:
    """Log in (unless a visitor: no email), then choose the language with the navigation's
    menu (when not French)."""
    page.goto("/login")
    if email is not None:
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", DEMO_PASSWORD)
        page.locator("main form button[type=submit]").click()
        expect(page).to_have_url(re.compile(r"/home$"))
    # Bootstrap's script comes last: a click on the phone's menu button before it runs opens
    # nothing (CI's side-by-side runs did it once, and the language menu stayed hidden).
    page.wait_for_load_state("load")
    if page.locator("html").get_attribute("lang") != language:
        toggler = page.locator(".navbar-toggler")
        if toggler.is_visible():  # a phone shows the menu behind its button
            toggler.click()
            expect(page.locator(".navbar-collapse.show")).to_be_visible()
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
    from playwright.sync_api import Error as PlaywrightError

    try:
        response = page.goto(url)
    except PlaywrightError as error:
        if "Download is starting" in str(error):
            return None
        raise
    if response is None or "text/html" not in response.headers.get("content-type", ""):
        return None
    return response


def crawl(page, origin: str, on_page: Callable[[str], list[str]] = lambda url: [],
          start: str = "/home") -> tuple[list[str], list[tuple[str, str]]]:
    """Breadth first from `start` (a visitor's is the landing page): the pages reached, and
    (page, what is wrong) pairs: the pages that answered an error, and what `on_page(url)`
    found on each page (it runs once the page is loaded)."""
    queue, seen, pages, problems = deque([start]), {pattern(start)}, [], []
    while queue and len(pages) < MAX_PAGES:
        url = queue.popleft()
        response = visit(page, url)
        if response is None:
            continue
        if response.status >= 400:
            problems.append((url, f"answered {response.status}"))
            continue
        pages.append(url)
        problems += [(url, found) for found in on_page(url)]
        for link in same_origin_links(page, origin):
            key = pattern(urlsplit(link).path)
            if key not in seen:
                seen.add(key)
                queue.append(link)
    return pages, problems
