"""Signals of orders (blinker's, which Flask ships): one way in for what follows a change.

`order_moved` is sent by `workflow.apply` after every move, in the mover's transaction, with
the order as sender and keywords action, source, target, actor, event and context (what the
service that made the move passes on, such as the part of the price a cancellation charges).
Receivers act in the same transaction and raise to refuse the move (it is then rolled back
whole). portal.billing subscribes (`portal.billing.init_app`): every move into "open" holds
the price on the company's balance (and is refused when it is short), approval captures it,
cancellation releases it.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

order_moved = _signals.signal("order-moved")
