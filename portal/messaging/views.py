"""The conversation of an order: posting, message files, the text export, and what the order
page and the navigation need (the stream, unread counts)."""

from __future__ import annotations

import logging
from datetime import datetime

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from markupsafe import Markup, escape

from portal import security_log
from portal.accounts.models import Role, User
from portal.auth.views import form_error
from portal.errors import DomainError
from portal.extensions import db
from portal.i18n import current_language
from portal.messaging import policies, queries, service
from portal.messaging.export import export_filename, export_text
from portal.messaging.forms import MessageForm
from portal.messaging.models import Message
from portal.orders import queries as order_queries
from portal.orders import uploads
from portal.orders.models import Order, OrderEvent
from portal.ui import row_url

bp = Blueprint("messaging", __name__, url_prefix="/orders")
log = logging.getLogger("portal.messaging")

# Where the unread badge of the navigation leads: the person's list of orders.
UNREAD_LISTS = {
    Role.CLIENT: "orders.list",
    Role.WRITER: "writing.assignments",
    Role.MANAGER: "agency.dashboard",
}


def _conversation_order(order_id: int) -> Order:
    """The order if the current user takes part in its conversation; 404 otherwise."""
    order = order_queries.get_order_for(current_user, order_id)
    if not policies.takes_part(current_user, order):
        security_log.access_refused("conversation", order_id=order.id)
        abort(404)
    return order


def conversation_for(order: Order, viewer: User, *, last_visit: datetime | None = None,
                     form: MessageForm | None = None,
                     events: list[OrderEvent] | None = None,
                     before_id: int | None = None) -> dict | None:
    """What templates/messaging/_conversation.html shows; None for someone outside it.
    `events`: the order's timeline when the page has loaded it already; `before_id`: show the
    messages before that one (an earlier page) rather than the latest."""
    if not policies.takes_part(viewer, order):
        return None
    part = queries.window(order, viewer, events=events, before_id=before_id, since=last_visit)
    items = part.items
    first_new = None
    if last_visit is not None:
        first_new = next((item.message.id for item in items if item.message is not None
                          and item.message.author_id != viewer.id
                          and item.message.created_at > last_visit), None)
    return {
        "stream": items,
        "earlier_before": part.earlier_before,
        "latest": part.latest,
        "has_messages": any(item.message is not None for item in items),
        "first_new_id": first_new,
        "form": form or MessageForm(formdata=None),
        "may_note": policies.can_post_internal(viewer, order),
        "may_attach": policies.can_attach_files(viewer, order),
        "files_max": service.FILES_PER_MESSAGE,
        "render": service.render_message,
    }


@bp.post("/<int:order_id>/messages")
@login_required
def post(order_id: int):
    order = _conversation_order(order_id)
    form = MessageForm()
    if form.validate_on_submit():
        try:
            message = service.post_message(order, current_user, form.body.data,
                                           internal=form.internal.data, files=form.uploads())
        except DomainError as error:
            db.session.rollback()
            form_error(form, error)
        else:
            message_id, internal = message.id, message.internal
            stored = service.stored_names(message)
            try:
                db.session.commit()
            except Exception:
                db.session.rollback()
                for name in stored:
                    uploads.discard_file(name)
                raise
            flash(_("Your internal note is saved: only the agency's team sees it.") if internal
                  else _("Your message is sent."), "success")
            return redirect(url_for("orders.detail", order_id=order_id,
                                    _anchor=f"message-{message_id}"))
    from portal.orders.views import _detail_page  # the order page, with this form's errors

    return _detail_page(order, message_form=form, status=422)


@bp.get("/<int:order_id>/messages/<int:message_id>/files/<int:file_id>")
@login_required
def attachment(order_id: int, message_id: int, file_id: int):
    order = _conversation_order(order_id)
    message = db.session.scalar(
        queries.visible_messages(order, current_user).where(Message.id == message_id)
    )
    found = next((a for a in message.attachments if a.id == file_id), None) if message else None
    if found is None:
        abort(404)
    response = uploads.download(found)
    if response is None:
        abort(404)
    return response


@bp.get("/<int:order_id>/conversation.txt")
@login_required
def export(order_id: int):
    from portal.orders.views import TIMELINE_LABELS

    order = _conversation_order(order_id)
    response = make_response(export_text(order, current_user, TIMELINE_LABELS))
    response.mimetype = "text/plain"
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    response.headers.set("Content-Disposition", "attachment", filename=export_filename(order))
    return _inert(response)


def _inert(response):
    """A download the browser saves and never runs."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- the navigation -----------------------------------------------------------------------


@bp.app_template_global("unread_total")
def unread_total(user) -> int:
    """Unread messages of the person, for the navigation: from the layout's one statement
    (portal.notifications.views.layout_chrome, with the bell), run once per request; exact
    below 100, at least 100 beyond (the badge says "99+"); 0 when the database fails (the badge
    must not break a page, least of all an error page)."""
    if user is None or not user.is_authenticated:
        return 0
    from portal.notifications.views import layout_chrome

    return layout_chrome(user).messages_unread


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


@bp.app_template_global("unread_list_url")
def unread_list_url(user) -> str | None:
    endpoint = UNREAD_LISTS.get(getattr(user, "role", None))
    if endpoint is None or endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint)
