"""The portal's signals (blinker's, which Flask ships): the one way in for what follows a change.

A service that changes something sends its signal, in its own transaction; the receivers
(counters, unread state, emails, money) act in that same transaction and raise to refuse the
change, which is then rolled back whole: an email is an outbox row only if the change is kept.
Receivers are connected once, by `connect_receivers()` from create_app, never by an import;
blinker calls them in no set order, so none may rely on another having run.

- `order_moved`: sent by portal.orders.workflow.apply after every move, the order as sender,
  with action, source, target, actor, event, writer_before (the writer before the move) and
  context (what the service passes on, such as the part of the price a cancellation charges).
  Received by portal.messaging.unread (who takes part in the conversation),
  portal.billing.settlement (the money) and portal.orders.emails. The counts per status and per
  writer are written by apply itself: their rows are locked in a fixed order, which receivers
  have not.
- `message_posted`: sent by portal.messaging.service.post_message, the new message as sender.
  Received by portal.messaging.unread and portal.notifications.service.notify_message.
- `account_changed`: sent by portal.accounts.service when a role changes or an account is
  closed or opened again, the person as sender, with change ("role", "deactivated",
  "reactivated"). Received by portal.messaging.unread.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

order_moved = _signals.signal("order-moved")
message_posted = _signals.signal("message-posted")
account_changed = _signals.signal("account-changed")


def connect_receivers() -> None:
    """Connect every receiver (once per process: blinker keeps one receiver per function)."""
    from portal.billing.settlement import on_order_moved as money_follows
    from portal.messaging import unread
    from portal.notifications.service import notify_message
    from portal.orders.emails import on_order_moved as order_emails

    for signal, receiver in (
        (order_moved, unread.on_order_moved),
        (order_moved, money_follows),
        (order_moved, order_emails),
        (message_posted, unread.message_posted),
        (message_posted, notify_message),
        (account_changed, unread.on_account_changed),
    ):
        signal.connect(receiver, weak=False)
