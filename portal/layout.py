"""What the base layout reads, in one place: the navigation bar by role (one table), the bell
and the unread messages (one statement per request), the language and logout forms, and the
globals and filters every template may use. `init_app` installs them all."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import Flask, current_app, g, request, url_for
from flask_babel import lazy_gettext as _l

from portal.accounts.models import Role
from portal.extensions import db
from portal.notifications import service as notifications

log = logging.getLogger(__name__)

# (endpoint, label) or (label, [(endpoint, label), …]) for a menu of several pages. Labels stay
# short: the bar holds on one line at 1366 px whatever the language (tests/browser/test_crawl.py).
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


def _link(endpoint: str, label) -> NavItem:
    return NavItem(str(label), url_for(endpoint), endpoint)


def nav_items(user) -> list[NavItem]:
    """The bar's items for the user's role."""
    if not user or not user.is_authenticated:
        return []
    items = []
    for first, second in NAVIGATION.get(user.role, []):
        if isinstance(second, list):
            children = [_link(*entry) for entry in second]
            if user.role is Role.MANAGER and current_app.config["MAILBOX_PAGE"]:
                children.append(_link("notifications.dev_mailbox", _l("Mailbox")))
            items.append(NavItem(str(first), children=children))
        else:
            items.append(_link(first, second))
    return items


# Where the unread badge of the navigation leads: the person's list of orders.
UNREAD_LISTS = {
    Role.CLIENT: "orders.list",
    Role.WRITER: "writing.assignments",
    Role.MANAGER: "agency.dashboard",
}


def layout_chrome(user) -> notifications.Chrome:
    """The navigation's figures of the person (the bell, the unread messages), in one
    statement run once per request and shared by the bell and the unread badge. Empty for
    someone not logged in. A database error gives empty figures: the navigation must not break
    a page, least of all an error page."""
    if user is None or not getattr(user, "is_authenticated", False):
        return notifications.Chrome()
    cached = g.get("layout_chrome")
    if cached is not None and cached[0] == user.id:
        return cached[1]
    try:
        figures = notifications.chrome(user)
    except sa.exc.SQLAlchemyError:
        log.exception("could not read the navigation's figures")
        db.session.rollback()
        figures = notifications.Chrome()
    g.layout_chrome = (user.id, figures)
    return figures


def bell(user):
    """(unread count, latest notifications) of the person, for the navigation bar."""
    figures = layout_chrome(user)
    return figures.bell_unread, figures.bell_items


def notification_url(notification) -> str:
    """Where a notification leads: its order, or the page its event names."""
    endpoint, values = notifications.target_endpoint(notification)
    return url_for(endpoint, **values)


def unread_total(user) -> int:
    """Unread messages of the person, for the navigation: from `layout_chrome`; exact below
    100, at least 100 beyond (the badge says "99+"); 0 for a visitor."""
    return layout_chrome(user).messages_unread


def unread_list_url(user) -> str | None:
    endpoint = UNREAD_LISTS.get(getattr(user, "role", None))
    return url_for(endpoint) if endpoint else None


def init_app(app: Flask) -> None:
    from portal import ui
    from portal.accounts.models import ROLE_LABELS
    from portal.auth.forms import LogoutForm
    from portal.i18n import current_language
    from portal.main.forms import LanguageForm
    from portal.orders import uploads
    from portal.orders.models import STATUS_LABELS, STATUS_STYLES, OrderStatus
    from portal.orders.policies import can
    from portal.plaintext import render_plain

    # Messages in pages and emails alike: plain text, escaped, addresses as links.
    app.jinja_env.filters["plain_text"] = render_plain
    app.jinja_env.globals.update(
        can=can, nav_items=nav_items, bell=bell, notification_text=notifications.event_text,
        notification_url=notification_url, unread_total=unread_total,
        unread_list_url=unread_list_url)
    ui.init_app(app)  # icon(), status_badge()

    @app.context_processor
    def layout_context():
        return {
            "agency_name": app.config["AGENCY_NAME"],
            "languages": app.config["LANGUAGES"],
            "current_language": current_language(),
            "language_form": LanguageForm(formdata=None, prefix="lang", locale=current_language(),
                                          next=request.full_path.rstrip("?")),
            # formdata=None: rendering must never read the request body (an error page for a
            # request too large would fail again while reading it).
            "logout_form": LogoutForm(formdata=None, prefix="logout"),
            "role_labels": ROLE_LABELS,
            "mailbox_enabled": app.config["MAILBOX_PAGE"],
            "status_labels": STATUS_LABELS, "status_styles": STATUS_STYLES,
            "status_enum": OrderStatus, "file_size": uploads.human_size,
        }
