"""The navigation bar: each role's links, the agency's pages in one menu for managers, the
bell drawn (not an emoji, which shows as an empty box without an emoji font), and the
current page marked, in the menu too."""

from __future__ import annotations

import re

import pytest

from tests.http.pages import texts

EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF]|&#1[0-9]{5};")


def nav_links(response) -> list[str]:
    return texts(response, lambda tag, attrs: tag == "a" and "nav-link" in attrs.get("class", ""))


def menu_links(response) -> list[str]:
    return texts(response, lambda tag, attrs: tag == "a"
                 and "dropdown-item" in attrs.get("class", "").split())


def navigation(response) -> str:
    html = response.get_data(as_text=True)
    return html[html.index("<nav"):html.index("</nav>")]


@pytest.mark.parametrize(("role", "links"), [
    ("client", ["My orders", "New order", "Account and invoices"]),
    ("writer", ["Available work", "My assignments", "My earnings"]),
    ("manager", ["Orders", "Money", "Agency"]),
])
def test_each_role_has_its_short_navigation(signed_in, role, links):
    home = signed_in(role).get("/home")

    assert [link for link in nav_links(home) if link in links] == links
    assert not EMOJI.search(navigation(home))
    assert '<svg class="icon"' in navigation(home)  # the bell


def test_the_agency_menu_holds_the_managers_other_pages_and_marks_the_current_one(signed_in):
    manager = signed_in("manager")
    page = manager.get("/agency/content-types")

    assert menu_links(page)[:5] == [
        "Tiers and prices", "Content types", "Brief templates", "People", "Emails"]
    html = navigation(page)
    assert re.search(r'class="nav-link dropdown-toggle active"[^>]*>Agency<', html)
    assert re.search(r'class="dropdown-item active" href="/agency/content-types" '
                     r'aria-current="page">Content types<', html)
    # Without scripts the menu's button leads to its first page.
    assert re.search(r'dropdown-toggle active" href="/agency/tiers"', html)


def test_a_visitor_has_no_menu_and_no_bell(visitor):
    page = visitor.get("/login")

    assert menu_links(page) == [] and "<svg" not in navigation(page)
