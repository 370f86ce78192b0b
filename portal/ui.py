"""The pieces of the design system that Python builds for templates: icons, status chips and
the links of a list's rows.

Icons are Bootstrap Icons (MIT licence), read from the sprite Bootstrap-Flask ships and drawn
inline: no request, no icon font, never an emoji (which shows as an empty box where no emoji
font is installed). Templates call `icon("bell")`; a name the set lacks is an error, so a typo
fails the page's test rather than showing nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import flask_bootstrap
from flask import Flask, url_for
from markupsafe import Markup, escape

from portal.i18n import current_language
from portal.orders.models import STATUS_LABELS, OrderStatus

SPRITE = Path(flask_bootstrap.__file__).parent / "static/bootstrap5/icons/bootstrap-icons.svg"
_SYMBOL = re.compile(r'<symbol class="[^"]*" viewBox="([^"]+)" id="([^"]+)">(.*?)</symbol>', re.S)

# Each status's colour (portal.css: .status-<value>) and icon. Colours are told apart by more
# than hue: each chip has its own icon.
STATUS_ICONS = {
    OrderStatus.DRAFT: "pencil",
    OrderStatus.AWAITING_PAYMENT: "wallet2",
    OrderStatus.OPEN: "hourglass-split",
    OrderStatus.IN_PROGRESS: "vector-pen",
    OrderStatus.IN_REVIEW: "eye",
    OrderStatus.DELIVERED: "inbox",
    OrderStatus.REVISION_REQUESTED: "arrow-repeat",
    OrderStatus.APPROVED: "check-circle-fill",
    OrderStatus.CANCELLED: "x-circle",
}


@lru_cache(maxsize=1)  # the sprite is read once
def _symbols() -> dict[str, tuple[str, str]]:
    text = SPRITE.read_text(encoding="utf-8")
    return {name: (view_box, inner) for view_box, name, inner in _SYMBOL.findall(text)}


@lru_cache(maxsize=512)  # the names and classes the templates use: a few dozen
def _icon(name: str, classes: str) -> Markup:
    view_box, inner = _symbols()[name]
    return Markup('<svg class="{}" xmlns="http://www.w3.org/2000/svg" viewBox="{}" '
                  'aria-hidden="true" focusable="false">{}</svg>').format(
        f"icon {classes}".strip(), view_box,
        Markup(inner))  # noqa: S704  # nosec B704  # paths of the packaged icon set


def icon(name: str, label: str | None = None, classes: str = "") -> Markup:
    """An icon; decorative (hidden from screen readers) unless `label` says what it means."""
    drawn = _icon(name, classes.strip())
    if label:
        return drawn + Markup('<span class="visually-hidden">{}</span>').format(label)
    return drawn


def status_badge(status: OrderStatus, testid: str = "status") -> Markup:
    """An order's status as a chip of its own colour and icon: the one way pages show it."""
    return _chip(current_language(), testid, status)


@lru_cache(maxsize=128)  # languages x test ids x statuses: a few dozen; lists show one a row
def _chip(language: str, testid: str, status: OrderStatus) -> Markup:
    # `language` is the key: the label below is translated in that same language.
    return Markup('<span class="status-chip status-{value}" data-testid="{testid}" '
                  'data-status="{value}">{icon}<span>{label}</span></span>').format(
        value=status.value, testid=testid, icon=icon(STATUS_ICONS[status]),
        label=STATUS_LABELS[status])


# An id no row has: where it shows in a built URL is where each row's own id goes.
_MARK = 987_654_321_987


def row_url(endpoint: str, key: str, **values) -> Callable[[int], Markup]:
    """url_for(endpoint, key=id, **values) for every row of a list, built once: the URL is
    built with a marker id (so the application root, the blueprint's prefix and the query
    string are url_for's own) and each row's integer id replaces the marker. Escaped once.

        detail = row_url('orders.detail', 'order_id')   then   detail(order.id)
    """
    built = url_for(endpoint, **{key: _MARK}, **values)
    head, mark, tail = built.partition(str(_MARK))
    if not mark or str(_MARK) in tail:  # the marker in a value of the query string too
        return lambda value: escape(url_for(endpoint, **{key: int(value)}, **values))
    head, tail = str(escape(head)), str(escape(tail))
    return lambda value: Markup(f"{head}{int(value)}{tail}")  # noqa: S704  # nosec B704


def init_app(app: Flask) -> None:
    from portal.orders.progress import caption, order_progress

    app.jinja_env.globals.update(icon=icon, status_badge=status_badge, row_url=row_url,
                                 order_progress=order_progress, progress_caption=caption)
