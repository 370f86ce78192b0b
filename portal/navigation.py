"""The navigation bar by role: one table, read by the base layout."""

from __future__ import annotations

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l

from portal.accounts.models import Role

# (endpoint, label); entries whose blueprint is not registered are left out.
NAVIGATION: dict[Role, list[tuple[str, object]]] = {
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
    Role.MANAGER: [
        ("agency.dashboard", _l("All orders")),
        ("finance.figures_page", _l("Money")),
        ("agency.tiers", _l("Tiers and prices")),
        ("agency.content_types", _l("Content types")),
        ("agency.brief_templates", _l("Brief templates")),
        ("accounts.people", _l("People")),
        ("notifications.outbox", _l("Emails")),
    ],
}


def nav_items(user) -> list[tuple[str, str, str]]:
    """(endpoint, url, label) for the user's role."""
    if not user or not user.is_authenticated:
        return []
    items = []
    for endpoint, label in NAVIGATION.get(user.role, []):
        if endpoint in current_app.view_functions:
            items.append((endpoint, url_for(endpoint), str(label)))
    if user.role is Role.MANAGER and current_app.config["MAILBOX_PAGE"]:
        items.append(("notifications.dev_mailbox", url_for("notifications.dev_mailbox"),
                      str(_l("Mailbox"))))
    return items
