"""Steps shared by the notification and digest stories: a person's choices, a message on a
conversation, the jobs run at a given moment."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import time_machine

from portal.accounts.models import User
from portal.extensions import db
from portal.messaging.models import Message
from portal.notifications import service
from portal.notifications.inbox import EmailMode, Notification, NotificationKind
from portal.orders.models import Order


def at(moment: datetime):
    return time_machine.travel(moment, tick=False)


def choose(app, user, digest_hour=18, **modes) -> None:
    """What the person picks on the preferences page: choose(app, ama, status="digest")."""
    with app.app_context():
        service.set_preferences(db.session.get(User, user.id),
                                {NotificationKind(k): EmailMode(m) for k, m in modes.items()},
                                digest_hour)
        db.session.commit()


def post(app, order, author, body, *, internal=False, when=None) -> int:
    """A message on the order's conversation at `when`, through the messaging service when it
    exists (else stored and announced the way it does)."""
    with at(when or datetime.now().astimezone()), app.app_context():
        stored_order = db.session.get(Order, order.id)
        me = db.session.get(User, author.id)
        try:
            from portal.messaging.service import post_message
        except ImportError:  # pragma: no cover - before the messaging service exists
            message = Message(order_id=order.id, author_id=author.id, body=body,
                              internal=internal)
            db.session.add(message)
            db.session.flush()
            service.notify_message(message)
        else:
            message = post_message(stored_order, me, body, internal=internal)
        db.session.commit()
        return message.id


def run_job(app, job, when) -> int:
    """Run one notification job at `when`, committed as the worker does."""
    with at(when), app.app_context():
        count = job()
        db.session.commit()
    return count


def notifications_of(app, user) -> list[Notification]:
    with app.app_context():
        rows = db.session.scalars(sa.select(Notification).where(Notification.user_id == user.id)
                                  .order_by(Notification.id)).all()
        db.session.expunge_all()
    return list(rows)
