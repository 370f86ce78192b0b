"""The notifications' part of a person's data (portal/privacy/parts.py): their email
preferences and the notifications of their bell. On erasure these go, so do the emails
addressed to them, and their name is taken out of other people's notifications and emails."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from markupsafe import escape

from portal.accounts.models import User
from portal.extensions import db
from portal.messaging.models import Message
from portal.notifications.inbox import Notification, NotificationPreference
from portal.notifications.models import OutboxEmail
from portal.orders.models import Delivery, Order, OrderEvent
from portal.privacy.parts import Erasure, Part, Section, when


def export(person: User) -> Section:
    preferences = {row.kind.value: row.mode.value for row in db.session.scalars(
        sa.select(NotificationPreference).where(NotificationPreference.user_id == person.id))}
    notifications = [
        {"at": n.created_at.isoformat(), "event": n.event, "details": n.params,
         "order": f"CMD-{n.order_id:05d}" if n.order_id else None,
         "read_at": when(n.read_at)}
        for n in db.session.scalars(sa.select(Notification).where(
            Notification.user_id == person.id).order_by(Notification.created_at, Notification.id))
    ]
    return Section({"email_preferences": preferences, "digest_hour": person.digest_hour,
                    "notifications": notifications})


def _orders_of(person: User) -> sa.Select:
    """Every order the person was on, whose notifications may carry their name."""
    return sa.union(
        sa.select(Order.id).where(sa.or_(Order.client_id == person.id,
                                         Order.writer_id == person.id,
                                         Order.preferred_writer_id == person.id)),
        sa.select(Delivery.order_id).where(Delivery.writer_id == person.id),
        sa.select(OrderEvent.order_id).where(OrderEvent.actor_id == person.id),
        sa.select(Message.order_id).where(Message.author_id == person.id),
    )


def erase(erasure: Erasure) -> None:
    person, name, replacement = erasure.person, erasure.old_name, erasure.person.display_name
    db.session.execute(sa.delete(Notification).where(Notification.user_id == person.id))
    db.session.execute(sa.delete(NotificationPreference)
                       .where(NotificationPreference.user_id == person.id))
    gone = db.session.execute(sa.delete(OutboxEmail).where(sa.or_(
        OutboxEmail.recipient_user_id == person.id,
        OutboxEmail.recipient == erasure.old_email))).rowcount
    erasure.count("emails", gone)
    if len(name) < 2:
        return
    # Other people's bells: the values that are the person's name (author, writer, client…).
    for notification in db.session.scalars(sa.select(Notification).where(
            Notification.order_id.in_(_orders_of(person)))):
        params = dict(notification.params or {})
        changed = {key: replacement for key, value in params.items() if value == name}
        if changed:
            notification.params = params | changed
    # Emails kept in the outbox for others: the name in their subject and bodies.
    html_name, html_replacement = str(escape(name)), str(escape(replacement))
    for email in db.session.scalars(sa.select(OutboxEmail).where(sa.or_(
            OutboxEmail.subject.contains(name, autoescape=True),
            OutboxEmail.text_body.contains(name, autoescape=True),
            OutboxEmail.html_body.contains(html_name, autoescape=True)))):
        email.subject = email.subject.replace(name, replacement)
        email.text_body = email.text_body.replace(name, replacement)
        email.html_body = email.html_body.replace(html_name, html_replacement)
    db.session.flush()


PART = Part(
    name="notifications", export=export, erase=erase,
    kept=(_l("Their notifications, email preferences and the emails addressed to them are "
             "deleted; other people's notifications and emails show “Former member” instead of "
             "their name."),),
)
