"""A visitor on the landing page and its samples, on a 390 px phone and at 1366 px: nothing
scrolls sideways, the offer and the samples of the demo agency show, and the calls to sign up
and log in lead there. (The crawl of tests/browser/test_crawl.py starts from each role's home;
visitors start here.)"""

from __future__ import annotations

import re

import pytest

from portal.demo import TIERS, seed_demo
from portal.extensions import db
from tests.browser.helpers import expect
from tests.browser.test_crawl import DESKTOP, NAV_JS, OVERFLOW_JS, PHONE
from tests.conftest import check_and_empty

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _clean_database():
    """Overrides the per-test cleaning: both widths read one demo agency (below)."""
    yield


@pytest.fixture(scope="module")
def agency(app):
    """The demo agency, seeded once: a visitor only reads (GET) it."""
    with app.app_context():
        seed_demo()
        db.session.commit()
    yield
    check_and_empty(app)


def visitor_page(browser, live_server, viewport, contexts):
    context = browser.new_context(base_url=live_server.url, locale="fr-FR", viewport=viewport)
    context.set_default_timeout(10_000)
    contexts.append(context)
    return context.new_page()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1366px"])
def test_a_visitor_reads_the_landing_page_and_a_sample_without_sideways_scrolling(
        agency, browser, live_server, viewport):
    contexts = []
    try:
        page = visitor_page(browser, live_server, viewport, contexts)
        page.goto("/")
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        expect(page.locator("h1")).to_contain_text("Des textes web")
        expect(page.get_by_test_id("landing-tier")).to_have_count(len(TIERS))
        expect(page.get_by_test_id("landing-sample")).to_have_count(3)
        problems = page.evaluate(OVERFLOW_JS)
        if viewport is DESKTOP:
            problems += page.evaluate(NAV_JS)

        page.get_by_test_id("landing-sample").first.get_by_role("link").click()
        expect(page).to_have_url(re.compile(r"/exemples/\d+$"))
        expect(page.get_by_test_id("sample-text")).to_be_visible()
        problems += [f"sample: {found}" for found in page.evaluate(OVERFLOW_JS)]

        page.goto("/")
        page.get_by_test_id("landing-signup").click()
        expect(page).to_have_url(re.compile(r"/signup$"))
    finally:
        for context in contexts:
            context.close()
    assert not problems, problems
