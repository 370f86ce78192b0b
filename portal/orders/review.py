"""The editorial review: deliveries that an editor reads before the client may.

`needs_review` is the one place that decides whether a delivery goes to review instead of to
the client; `service.deliver` asks it. An editor (or a manager, who holds the editor's rights)
then passes the delivery to the client (`pass_to_client`: from then on it is a delivery like
any other, with the client's email and the auto-approval clock), or returns it to the writer
with comments (`return_to_writer`: the order is written again; no revision round of the
client's is used). The client never sees a delivery in review, nor one returned.
"""

from __future__ import annotations

from flask_babel import gettext as _

from portal.accounts.models import User
from portal.errors import Conflict, NotAllowed
from portal.extensions import db, utcnow
from portal.orders import originality, queries
from portal.orders.models import Delivery, Order, OrderEvent, OrderStatus
from portal.orders.workflow import Action, apply

# Timeline lines whose notes stay within the agency: a client reads neither the writer's
# note to the editor nor the editor's comments (the delivery's own note reaches the client
# with the delivery).
PRIVATE_NOTES = frozenset({"send_to_review", "return_to_writer"})

# A returned delivery's comments: long enough for a page of notes, no longer.
COMMENTS_MAX = 5000


def needs_review(order: Order, delivery: Delivery) -> bool:
    """Does this delivery go to an editor before the client? When the order's tier requires
    review, and on any tier when as much of the text as ORIGINALITY_REVIEW_THRESHOLD says is
    found in one other text (`originality.above_threshold`: the same text sold twice must
    never reach a client unread). The single place that decides."""
    return bool(order.tier.requires_review) or originality.above_threshold(delivery)


def _delivery_in_review(order: Order) -> Delivery:
    """The delivery the editor reads: the order's last one, which no client has seen. Called
    once the move is allowed (an order in review always has one)."""
    delivery = queries.latest_delivery(order)
    if delivery is None or delivery.is_released:
        raise Conflict(_("This order has no delivery in review."))
    return delivery


def pass_to_client(order: Order, editor: User, note: str = "") -> Delivery:
    """The editor hands the delivery in review to the client, with an optional note for the
    client. It becomes a delivery like any other, from now: the client is told, and the
    auto-approval clock starts. Raises NotAllowed for anyone but an editor or a manager,
    InvalidTransition when the order is no longer in review; nothing changes then."""
    if not editor.can_review:
        raise NotAllowed(_("Only editors review deliveries."))
    now = utcnow()
    apply(order, Action.PASS_REVIEW, editor, note=note.strip(),
          changes={"delivered_at": now})
    delivery = _delivery_in_review(order)
    delivery.released_at = now
    db.session.flush()
    return delivery


def return_to_writer(order: Order, editor: User, comments: str) -> Delivery:
    """The editor sends the delivery in review back to its writer with comments (required):
    the order is written again and the writer delivers anew. The client never sees the
    returned delivery, and none of the client's revision rounds is used. Raises Conflict
    without comments, NotAllowed for anyone but an editor or a manager, InvalidTransition when
    the order is no longer in review; nothing changes then."""
    if not editor.can_review:
        raise NotAllowed(_("Only editors review deliveries."))
    comments = comments.strip()
    if not comments:
        raise Conflict(_("Tell the writer what to change."), field="comments")
    if len(comments) > COMMENTS_MAX:
        raise Conflict(_("Keep the comments under %(count)d characters.", count=COMMENTS_MAX),
                       field="comments")
    apply(order, Action.RETURN_TO_WRITER, editor, note=comments)
    return _delivery_in_review(order)


def returned_with(order: Order, events: list[OrderEvent]) -> OrderEvent | None:
    """The editor's comments the writer works from (`events`: the order's timeline in time
    order): the last return to the writer, while the order is written again after it; none
    once the writer delivered since."""
    if order.status is not OrderStatus.IN_PROGRESS:
        return None
    # The last delivery or return decides: a later line of another kind (a new deadline)
    # keeps the comments.
    steps = (Action.DELIVER.value, Action.SEND_TO_REVIEW.value, Action.RETURN_TO_WRITER.value)
    last = next((e for e in reversed(events) if e.action in steps), None)
    return last if last is not None and last.action == Action.RETURN_TO_WRITER.value else None
