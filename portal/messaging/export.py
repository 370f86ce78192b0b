"""The plain-text export of a conversation, as the person who asks may see it (a client's never
holds an internal note: it is built on the same filtered stream as the page)."""

from __future__ import annotations

from flask_babel import gettext as _

from portal.accounts.models import User
from portal.extensions import utcnow
from portal.i18n import format_local
from portal.messaging import queries
from portal.orders.models import Order
from portal.orders.review import PRIVATE_NOTES


def export_filename(order: Order) -> str:
    return f"{order.reference}-conversation.txt"


def export_text(order: Order, viewer: User, event_labels: dict) -> str:
    """The conversation as text: one block per message or event, times in the viewer's time
    zone, Markdown kept as written."""
    lines = [
        _("Conversation of order %(ref)s: %(title)s", ref=order.reference, title=order.title),
        _("Exported on %(when)s", when=format_local(utcnow())),
        "",
    ]
    for item in queries.stream(order, viewer):
        when = format_local(item.at)
        if item.event is not None:
            event = item.event
            who = event.actor.display_name if event.actor else _("the portal")
            label = str(event_labels.get(event.action, event.action))
            lines.append(f"[{when}] — {label} ({who})")
            # The editor's comments and the writer's note to the editor stay in the agency.
            if event.note and not (viewer.is_client and event.action in PRIVATE_NOTES):
                lines.append(f"    {event.note}")
            lines.append("")
            continue
        message = item.message
        who = message.author.display_name if message.author else _("a former member")
        heading = f"[{when}] {who}"
        if message.internal:
            heading += " — " + _("INTERNAL NOTE (staff only)")
        lines += [heading, message.body]
        if message.attachments:
            lines.append(_("Files: %(names)s",
                           names=", ".join(a.original_name for a in message.attachments)))
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"
