"""Emails about orders, one builder per event; `on_order_moved` sends those of each move.

Each goes through portal.notifications.service.notify(): the person sees it in the bell and
gets the email as they chose (status changes are one kind, deadlines and reminders another).
Texts are lazy strings: they are rendered in each recipient's language when the email is built.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from portal.accounts.models import Role, User
from portal.extensions import db
from portal.notifications.inbox import NotificationKind
from portal.notifications.outbox import external_url, queue_email
from portal.notifications.service import EVENT_TEXTS, active_managers, notify
from portal.orders.models import Order, OrderEvent, OrderStatus
from portal.orders.workflow import Action

# Emails about time (deadlines, reminders); every other order email is a change of status.
DEADLINE_EMAILS = {"deadline-soon", "overdue", "review-reminder", "review-reminder-writer",
                   "deadline-extended"}


def _reply_to(order: Order, user: User) -> str | None:
    """A reply address when the person may post on the order's conversation (an answer to the
    email becomes a message there); none for someone no longer on it."""
    from portal.messaging.policies import takes_part
    from portal.notifications.replies import reply_address

    return reply_address(order.id, user.id) if takes_part(user, order) else None


def _editors() -> list[User]:
    """Who is told that a delivery waits for review: the active editors; the managers when
    the agency has none (they hold the editor's rights), so that nothing waits unseen."""
    editors = list(db.session.scalars(
        sa.select(User).where(User.role == Role.EDITOR, User.active.is_(True))
    ))
    return editors or active_managers()


def _send(
    recipients: Iterable[User | None],
    *,
    kind: str,
    order: Order,
    event_key: str,
    lines: list,
    quote: str = "",
    button=None,
    skip: User | None = None,
    page: str | None = None,
    link: str | None = None,
) -> None:
    """Notify each recipient once (not `skip`, nobody inactive). The email key, made of the
    order, the event, the kind and the person, keeps an email from going twice. `page` is the
    endpoint the email leads to instead of the order (`link`: an address built already). The
    subject is what the bell says of the event (EVENT_TEXTS), in the recipient's language."""
    notification_kind = (NotificationKind.DEADLINE if kind in DEADLINE_EMAILS
                         else NotificationKind.STATUS)
    link = link or (external_url(page) if page
                    else external_url("orders.detail", order_id=order.id))
    params = {"ref": order.reference, "title": order.title} | ({"endpoint": page} if page else {})
    subject = LazyString(lambda: str(EVENT_TEXTS[f"order.{kind}"]) % params)
    seen: set[int] = set()
    for user in recipients:
        if user is None or not user.active or user.id in seen or (skip and user.id == skip.id):
            continue
        seen.add(user.id)
        key = f"order:{order.id}:{event_key}:{kind}:{user.id}"

        def build(*, settings_link: str, user: User = user, key: str = key):
            return queue_email(
                kind="order_event",
                key=key,
                to=user.email,
                user_id=user.id,
                locale=user.locale,
                subject=subject,
                user=user,
                order=order,
                lines=lines,
                quote=quote,
                button=button or _l("Open the order"),
                link=link,
                settings_link=settings_link,
                reply_to=_reply_to(order, user),
            )

        notify(user, kind=notification_kind, event=f"order.{kind}", order=order,
               params=params, email=build, key=key)


def notify_submitted(order: Order, event: OrderEvent, actor: User | None) -> None:
    _send([order.client], kind="received", order=order, event_key=f"e{event.id}",
          lines=[_l("We have received your order “%(title)s”. We will tell you when a writer "
                    "takes it.", title=order.title)])
    _send(active_managers(), kind="new", order=order, event_key=f"e{event.id}",
          lines=[_l("%(client)s placed the order “%(title)s”.", client=order.client.display_name,
                    title=order.title)])
    if order.preferred_writer is not None:
        _send([order.preferred_writer], kind="offered", order=order, event_key=f"e{event.id}",
              lines=[_l("%(client)s asked for you. The order is yours to take before it goes "
                        "to the other writers.", client=order.client.display_name)])


def notify_awaiting_payment(order: Order, event: OrderEvent, actor: User | None) -> None:
    """The order waits for the company's payment: how much to add, and how."""
    from portal.billing.emails import _Amount
    from portal.billing.models import Company
    from portal.billing.payments import amount_to_add

    missing = amount_to_add(db.session.get(Company, order.company_id), order.price_total or 0)
    _send([order.client], kind="awaiting-payment", order=order, event_key=f"e{event.id}",
          lines=[_l("Your order “%(title)s” costs %(price)s and your balance is short by "
                    "%(missing)s.", title=order.title,
                    price=_Amount(order.price_total or 0, order.currency),
                    missing=_Amount(missing, order.currency)),
                 _l("Add it to your account (Flooz, Mixx by Yas, bank transfer or cash): the "
                    "order goes to the writers by itself as soon as your payment is "
                    "confirmed.")],
          button=_l("Top up my balance"),
          link=external_url("billing.topup", amount=missing))


def notify_taken(order: Order, event: OrderEvent, actor: User | None) -> None:
    _send([order.client], kind="taken", order=order, event_key=f"e{event.id}",
          lines=[_l("%(writer)s is now writing “%(title)s”.", writer=order.writer.display_name,
                    title=order.title)])
    if event.action in (Action.ASSIGN, Action.REASSIGN):
        _send([order.writer], kind="assigned", order=order, event_key=f"e{event.id}",
              lines=[_l("The agency gave you the order “%(title)s”.", title=order.title)])


# What became of the unfinished text of a writer taken off an order (orders.service.assign).
UNFINISHED_TEXT = {
    "passed": _l("Your unfinished text was passed on to the new writer."),
    "set_aside": _l("Your unfinished text was not passed on: the new writer starts from the "
                    "latest delivery, or from the brief, and your text is deleted."),
}


def notify_unassigned(order: Order, event: OrderEvent, previous: User,
                      draft: str | None = None) -> None:
    """The writer taken off an order by a manager is told, and may no longer write it; `draft`
    says what became of their unfinished text ("passed", "set_aside", None: there was none)."""
    lines = [_l("The agency gave the order “%(title)s” to another writer.", title=order.title)]
    if draft is not None:
        lines.append(UNFINISHED_TEXT[draft])
    _send([previous], kind="unassigned", order=order, event_key=f"e{event.id}",
          lines=lines, quote=event.note, button=_l("My assignments"), page="writing.assignments")


def notify_delivered(order: Order, event: OrderEvent, actor: User | None) -> None:
    _send([order.client], kind="delivered", order=order, event_key=f"e{event.id}",
          lines=[_l("%(writer)s delivered “%(title)s”. Read it, then approve it or ask for a "
                    "revision.", writer=order.writer.display_name, title=order.title)],
          quote=event.note, button=_l("Review the text"))


def notify_in_review(order: Order, event: OrderEvent, actor: User | None) -> None:
    """A delivery entered review: the editors are told (as each chose in their settings)."""
    _send(_editors(), kind="in-review", order=order, event_key=f"e{event.id}",
          lines=[_l("%(writer)s delivered “%(title)s”. The client sees it once you pass it on.",
                    writer=order.writer.display_name if order.writer else "",
                    title=order.title)],
          button=_l("Review the text"))


def notify_returned(order: Order, event: OrderEvent, actor: User | None) -> None:
    """The editor returned the delivery: its writer is told, with the comments."""
    _send([order.writer], kind="returned", order=order, event_key=f"e{event.id}",
          lines=[_l("The agency's editor asks for changes to “%(title)s” before the client "
                    "reads it. This is not one of the client's revisions.", title=order.title)],
          quote=event.note, button=_l("Open the writing page"),
          link=external_url("writing.workspace", order_id=order.id))


def notify_revision(order: Order, event: OrderEvent, actor: User | None) -> None:
    _send([order.writer], kind="revision", order=order, event_key=f"e{event.id}",
          lines=[_l("The client asks for changes to “%(title)s”.", title=order.title)],
          quote=event.note)


def notify_approved(order: Order, event: OrderEvent, actor: User | None) -> None:
    rating = _l("Rating: %(rating)d out of 5.", rating=order.rating or 0)
    _send([order.writer], kind="approved", order=order, event_key=f"e{event.id}",
          lines=[_l("The client approved “%(title)s”.", title=order.title)
                 if actor is None or actor.role is Role.CLIENT
                 else _l("The agency approved “%(title)s” for the client.", title=order.title),
                 rating],
          quote=order.rating_comment or "")


def notify_auto_approved(order: Order, event: OrderEvent, actor: User | None) -> None:
    _send([order.client, order.writer], kind="auto-approved", order=order,
          event_key=f"e{event.id}",
          lines=[_l("“%(title)s” was approved automatically: it stayed without review for the "
                    "whole review period.", title=order.title)])


def notify_cancelled(order: Order, event: OrderEvent, actor: User | None) -> None:
    people = [order.client, order.writer]
    if actor is not None and actor.role is not Role.MANAGER:
        people += active_managers()
    _send(people, kind="cancelled", order=order, event_key=f"e{event.id}", skip=actor,
          lines=[_l("The order “%(title)s” was cancelled.", title=order.title)],
          quote=event.note)


def notify_deadline_soon(order: Order) -> None:
    _send([order.writer], kind="deadline-soon", order=order,
          event_key=f"deadline:{order.deadline.isoformat()}",
          lines=[_l("The order “%(title)s” is due within 24 hours.", title=order.title)],
          button=_l("Open the writing page"))


def notify_overdue(order: Order) -> None:
    """The deadline passed: the writer and the managers are told, or the editors and the
    managers when the text waits for review (it is the agency's turn, not the writer's)."""
    people = ([*_editors(), *active_managers()] if order.status is OrderStatus.IN_REVIEW
              else [order.writer, *active_managers()])
    _send(people, kind="overdue", order=order,
          event_key=f"overdue:{order.deadline.isoformat()}",
          lines=[_l("The deadline of “%(title)s” has passed.", title=order.title)])


def notify_review_reminder(order: Order, days_left: int) -> None:
    _send([order.client], kind="review-reminder", order=order,
          event_key=f"review:{order.delivered_at.isoformat()}",
          lines=[_l("The text “%(title)s” is waiting for your review. Without an answer it will "
                    "be approved automatically in %(days)d days.", title=order.title,
                    days=days_left)],
          button=_l("Review the text"))
    _send([order.writer], kind="review-reminder-writer", order=order,
          event_key=f"review:{order.delivered_at.isoformat()}",
          lines=[_l("The client has not reviewed “%(title)s” yet. Without an answer it will be "
                    "approved automatically in %(days)d days.", title=order.title,
                    days=days_left)])


def notify_deadline_extended(order: Order, event: OrderEvent) -> None:
    _send([order.writer], kind="deadline-extended", order=order, event_key=f"e{event.id}",
          lines=[_l("The agency moved the deadline of “%(title)s”. The new deadline is shown "
                    "on the order.", title=order.title)],
          quote=event.note)


_BY_ACTION = {
    Action.SUBMIT: notify_submitted,
    Action.AWAIT_PAYMENT: notify_awaiting_payment,
    Action.PAYMENT_RECEIVED: notify_submitted,
    Action.CLAIM: notify_taken,
    Action.ASSIGN: notify_taken,
    Action.REASSIGN: notify_taken,
    Action.DELIVER: notify_delivered,
    # Passed by the editor: the client gets the email of any delivery, only now.
    Action.PASS_REVIEW: notify_delivered,
    Action.SEND_TO_REVIEW: notify_in_review,
    Action.RETURN_TO_WRITER: notify_returned,
    Action.REQUEST_REVISION: notify_revision,
    Action.APPROVE: notify_approved,
    Action.AUTO_APPROVE: notify_auto_approved,
    Action.CANCEL: notify_cancelled,
}


def on_order_moved(order: Order, *, action: Action, event: OrderEvent, actor: User | None,
                   **_) -> None:
    """The receiver of `order_moved` (portal.signals): the emails of the move, if any."""
    notifier = _BY_ACTION.get(action)
    if notifier is not None:
        notifier(order, event, actor)
