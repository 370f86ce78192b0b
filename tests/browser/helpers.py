"""What the browser tests share."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.factories import Factory


def log_in(page, email: str, password: str = Factory.PASSWORD) -> None:
    """Log in through the form and land on the person's home."""
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/home$"))
