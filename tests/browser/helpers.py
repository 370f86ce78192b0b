"""What the browser tests share.

Nothing here or in a browser test module imports Playwright when the module is imported: the
suite is collected without it, and the `browser` fixture (tests/conftest.py) then skips the
browser tests, or fails them when PORTAL_REQUIRE_BROWSER=1."""

from __future__ import annotations

import re

from tests.factories import Factory


def expect(actual, message: str | None = None):
    """Playwright's `expect`, imported when a test first asserts with it."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(actual, message)


def log_in(page, email: str, password: str = Factory.PASSWORD) -> None:
    """Log in through the form and land on the person's home."""
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/home$"))
    # The URL changes when the answer arrives, before its stylesheets apply: a test that
    # measures the page at once (the skip link's size) would measure it unstyled on a busy
    # machine (CI's two runs side by side did).
    page.wait_for_load_state("load")
