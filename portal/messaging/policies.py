"""Who takes part in an order's conversation, and who sees its internal notes.

The conversation is between the order's client, its assigned writer and the managers. A writer
who could take the order from the pool sees the brief, not the conversation; an editor reads
deliveries in review, not conversations. Internal notes are
for staff on the order: managers and the assigned writer; a client never sees one. Files go
with a message only from an account whose address is confirmed.
"""

from __future__ import annotations

from portal.accounts.models import Role, User
from portal.orders.models import Order, OrderStatus


def takes_part(user: User, order: Order) -> bool:
    """May `user` read this order's conversation (and post in it)? Drafts have none yet."""
    if not user.active or order.status is OrderStatus.DRAFT:
        return False
    if user.role is Role.MANAGER:
        return True
    if user.role is Role.CLIENT:
        return order.client_id == user.id
    return user.role is Role.WRITER and order.writer_id == user.id


def sees_internal(user: User, order: Order) -> bool:
    """Staff on the order, who read and write its internal notes: managers and the assigned
    writer. Never a client."""
    return takes_part(user, order) and (
        user.role is Role.MANAGER or (user.role is Role.WRITER and order.writer_id == user.id))


def can_attach_files(user: User, order: Order) -> bool:
    """Files on a message: anyone who may post, once their address is confirmed."""
    return takes_part(user, order) and user.is_confirmed
