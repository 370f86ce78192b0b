"""The navigation bar by role: one table, read by the base layout."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app, request, url_for
from flask_babel import lazy_gettext as _l

from portal.accounts.models import Role

# (endpoint, label) or (label, [(endpoint, label), …]) for a menu of several pages; entries whose
# blueprint is not registered are left out. Labels stay short: the bar holds on one line at
# 1366 px whatever the language (tests/browser/test_crawl.py).
NAVIGATION: dict[Role, list[tuple]] = {
    Role.CLIENT: [
        ("orders.list", _l("My orders")),
        ("orders.new", _l("New order")),
        ("billing.account", _l("Account and invoices")),
    ],
    Role.WRITER: [
        ("writing.pool", _l("Available work")),
        ("writing.assignments", _l("My assignments")),
        ("earnings.index", _l("My earnings")),
    ],
    Role.EDITOR: [
        ("orders.review_queue", _l("Review queue")),
    ],
    Role.MANAGER: [
        ("agency.dashboard", _l("Orders")),
        ("orders.review_queue", _l("Review")),
        ("finance.figures_page", _l("Money")),
        (_l("Agency"), [
            ("agency.tiers", _l("Tiers and prices")),
            ("agency.content_types", _l("Content types")),
            ("agency.brief_templates", _l("Brief templates")),
            ("accounts.people", _l("People")),
            ("notifications.outbox", _l("Emails")),
        ]),
    ],
}


@dataclass
class NavItem:
    """A link of the bar, or a menu (`children`) of links."""

    label: str
    url: str = ""
    endpoint: str = ""
    children: list[NavItem] = field(default_factory=list)

    @property
    def active(self) -> bool:
        if self.children:
            return any(child.active for child in self.children)
        return request.endpoint == self.endpoint


def _link(endpoint: str, label) -> NavItem | None:
    if endpoint not in current_app.view_functions:
        return None
    return NavItem(str(label), url_for(endpoint), endpoint)


def nav_items(user) -> list[NavItem]:
    """The bar's items for the user's role."""
    if not user or not user.is_authenticated:
        return []
    items = []
    for first, second in NAVIGATION.get(user.role, []):
        if isinstance(second, list):
            children = [link for link in (_link(*entry) for entry in second) if link]
            if user.role is Role.MANAGER and current_app.config["MAILBOX_PAGE"]:
                children.append(_link("notifications.dev_mailbox", _l("Mailbox")))
            if children:
                items.append(NavItem(str(first), children=children))
        elif link := _link(first, second):
            items.append(link)
    return items
