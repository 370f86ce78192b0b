"""`make screenshots`: a PNG of every page each role reaches, at 390 and 1366 px, in French.

Not a test (pytest collects only test_*.py; the Makefile names this file): it walks the pages
the way the crawl does (tests/browser/crawl_support.py) on the demo agency, and writes
SCREENSHOTS_DIR/<role>/<width>/<nn>-<page>.png (default: screenshots/, not committed).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.browser.crawl_support import DESKTOP, PHONE, ROLES, crawl, log_in, seed_agency, visit

pytestmark = pytest.mark.browser

OUT = Path(os.environ.get("SCREENSHOTS_DIR", "screenshots"))
LANGUAGE = os.environ.get("SCREENSHOTS_LANGUAGE", "fr")


def file_name(number: int, url: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", url.lower()).strip("-") or "root"
    return f"{number:02d}-{slug[:80]}.png"


@pytest.fixture
def agency(app, factory):
    return seed_agency(app, factory, long_titles=False)


@pytest.mark.parametrize("role", list(ROLES), ids=[role.value for role in ROLES])
def test_screenshots(role, agency, browser, live_server):
    written = []
    for viewport in (PHONE, DESKTOP):
        folder = OUT / role.value / str(viewport["width"])
        folder.mkdir(parents=True, exist_ok=True)
        context = browser.new_context(base_url=live_server.url, locale="fr-FR",
                                      viewport=viewport)
        context.set_default_timeout(15_000)
        try:
            page = context.new_page()
            log_in(page, ROLES[role], LANGUAGE)
            if viewport is PHONE:
                pages, _problems = crawl(page, live_server.url)
            for number, url in enumerate(pages, start=1):
                if visit(page, url) is None:
                    continue
                path = folder / file_name(number, url)
                page.screenshot(path=str(path), full_page=True)
                written.append(path)
        finally:
            context.close()
    print(f"\n{len(written)} screenshots of the {role.value} in {OUT.resolve()}")
    assert written
