"""The conversation of an order: message files, the text export, and the unread badge of the
lists. Posting is a form of the order page (portal.orders.views.post_message); the navigation's
unread total is the layout's (portal/layout.py)."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    g,
    make_response,
)
from flask_babel import ngettext
from flask_login import current_user, login_required
from markupsafe import Markup, escape

from portal.extensions import db
from portal.i18n import current_language
from portal.messaging import queries
from portal.messaging.export import export_filename, export_text
from portal.messaging.models import Message
from portal.orders import uploads
from portal.orders.models import TIMELINE_LABELS
from portal.ui import row_url

bp = Blueprint("messaging", __name__, url_prefix="/orders")


@bp.get("/<int:order_id>/messages/<int:message_id>/files/<int:file_id>")
@login_required
def attachment(order_id: int, message_id: int, file_id: int):
    order = queries.conversation_order(current_user, order_id)
    message = db.session.scalar(
        queries.visible_messages(order, current_user).where(Message.id == message_id)
    )
    found = next((a for a in message.attachments if a.id == file_id), None) if message else None
    if found is None:
        abort(404)
    return uploads.download(found)


@bp.get("/<int:order_id>/conversation.txt")
@login_required
def export(order_id: int):
    order = queries.conversation_order(current_user, order_id)
    response = make_response(export_text(order, current_user, TIMELINE_LABELS))
    response.mimetype = "text/plain"
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    response.headers.set("Content-Disposition", "attachment", filename=export_filename(order))
    return uploads.inert(response)


# --- the lists ---------------------------------------------------------------------------


_UNREAD_TEXTS: dict[tuple[str, int], tuple[str, str]] = {}


def _unread_texts(count: int) -> tuple[str, str]:
    """The badge's title and hidden words for `count`, escaped, once per language and count."""
    key = (current_language(), count)
    found = _UNREAD_TEXTS.get(key)
    if found is None:
        found = (
            escape(ngettext("%(num)d unread message", "%(num)d unread messages", count)),
            escape(ngettext("unread message", "unread messages", count)),
        )
        if len(_UNREAD_TEXTS) < 1000:  # counts are small numbers; never let it grow unbounded
            _UNREAD_TEXTS[key] = found
    return found


@bp.app_template_global("unread_badge")
def unread_badge(order_id: int, unread: dict[int, int] | None) -> Markup:
    """The unread badge of an order in a list, `unread` being queries.unread_counts for the
    orders of the page; nothing when none is unread. A function, not a macro: lists call it on
    every row."""
    count = unread.get(order_id, 0) if unread else 0
    if not count:
        return Markup()
    title, words = _unread_texts(int(count))
    conversation_url = g.get("conversation_url")
    if conversation_url is None:  # built once per request, each row's id put in
        conversation_url = g.conversation_url = row_url("orders.detail", "order_id",
                                                        _anchor="conversation")
    url = conversation_url(order_id)
    return Markup(  # noqa: S704  # nosec B704  # every part is escaped or an int
        f'<a class="badge rounded-pill text-bg-danger text-decoration-none ms-1" href="{url}" '
        f'data-testid="unread-badge" title="{title}">{int(count)}<span class="visually-hidden"> '
        f"{words}</span></a>"
    )
