"""Side effects have one way in: the signals of portal/signals.py, whose receivers act in the
sender's transaction. A message posted through the service is unread for the others and in
their bell before anything commits; a move queues its emails in its own transaction; and a
receiver that raises takes the whole change back with it, email and counters included."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from portal.accounts import service as accounts
from portal.accounts.models import Role
from portal.extensions import db
from portal.messaging.models import Message, ReadMarker
from portal.messaging.service import post_message
from portal.notifications.inbox import Notification
from portal.notifications.models import OutboxEmail
from portal.orders import service as orders
from portal.orders.models import Order, OrderEvent, OrderStatus
from portal.signals import account_changed, message_posted, order_moved


class Refused(Exception):
    pass


@pytest.fixture
def refusing():
    """Connect a receiver that raises to a signal for the length of the test."""
    connected = []

    def refuse(signal):
        def receiver(sender, **_):
            raise Refused(sender)
        signal.connect(receiver)
        connected.append((signal, receiver))

    yield refuse
    for signal, receiver in connected:
        signal.disconnect(receiver)


@pytest.fixture
def writer_and_order(factory):
    """A writer qualified for the tier of the orders made with `order(status)`."""
    tier = factory.tier()
    writer = factory.writer(tiers=[tier])

    def order(status: OrderStatus) -> Order:
        return factory.order(status=status, tier=tier,
                             writer=writer if status is OrderStatus.IN_PROGRESS else None)

    return writer, order


def unread_of(user_id: int, order_id: int) -> int:
    return db.session.scalar(sa.select(ReadMarker.unread).where(
        ReadMarker.user_id == user_id, ReadMarker.order_id == order_id)) or 0


def counts() -> tuple[int, int, int, int]:
    return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(model))
                 for model in (Message, Notification, OutboxEmail, OrderEvent))


@contextmanager
def loaded(app, order: Order) -> Iterator[tuple[Order, tuple[int, int, int, int]]]:
    """An app context for the test: the order loaded in it, and the counts() of before."""
    with app.app_context():
        before = counts()
        yield db.session.get(Order, order.id), before


def test_a_message_posted_is_unread_and_notified_in_the_same_transaction(app, writer_and_order):
    writer, make = writer_and_order
    with loaded(app, make(OrderStatus.IN_PROGRESS)) as (order, before):
        message = post_message(order, order.client, "Une précision sur le plan.")
        # Nothing committed yet: the receivers wrote in the poster's transaction.
        assert db.session().in_transaction()
        assert unread_of(writer.id, order.id) == 1
        assert unread_of(order.client_id, order.id) == 0
        bell = db.session.scalars(sa.select(Notification).where(
            Notification.message_id == message.id)).all()
        assert writer.id in {notification.user_id for notification in bell}
        db.session.rollback()
        assert unread_of(writer.id, order.id) == 0
        assert counts() == before


def test_a_receiver_that_raises_takes_the_message_back(app, writer_and_order, refusing):
    writer, make = writer_and_order
    order = make(OrderStatus.IN_PROGRESS)
    refusing(message_posted)
    with loaded(app, order) as (order, before):
        with pytest.raises(Refused):
            post_message(order, order.client, "Jamais envoyé.")
        db.session.rollback()
        assert counts() == before
        assert unread_of(writer.id, order.id) == 0


def test_a_move_queues_its_emails_in_its_own_transaction(app, writer_and_order):
    writer, make = writer_and_order
    with loaded(app, make(OrderStatus.OPEN)) as (order, before):
        orders.claim(order, db.session.get(type(writer), writer.id))
        emails = db.session.scalars(sa.select(OutboxEmail).where(
            OutboxEmail.idempotency_key.like(f"order:{order.id}:%:taken:%"))).all()
        assert [email.recipient for email in emails] == [order.client.email]
        db.session.rollback()
        assert counts() == before
        assert db.session.get(Order, order.id).status is OrderStatus.OPEN


def test_a_receiver_that_raises_refuses_the_move_whole(app, writer_and_order, refusing):
    writer, make = writer_and_order
    order = make(OrderStatus.IN_PROGRESS)
    with app.app_context():
        post_message(db.session.get(Order, order.id), order.client, "Avant la livraison.")
        db.session.commit()
    refusing(order_moved)
    with loaded(app, order) as (order, before):
        with pytest.raises(Refused):
            orders.release(order, db.session.get(type(writer), writer.id), "Je n'ai plus le temps.")
        db.session.rollback()
        assert counts() == before
        order = db.session.get(Order, order.id)
        assert (order.status, order.writer_id) == (OrderStatus.IN_PROGRESS, writer.id)
        assert unread_of(writer.id, order.id) == 1  # the release would have set it to 0


def test_a_closed_account_has_nothing_unread_through_its_signal(app, factory, writer_and_order,
                                                                refusing):
    writer, make = writer_and_order
    manager = factory.user(Role.MANAGER)
    order = make(OrderStatus.IN_PROGRESS)
    with app.app_context():
        post_message(db.session.get(Order, order.id), order.client, "Bonjour.")
        db.session.commit()
        accounts.deactivate(db.session.get(type(manager), manager.id),
                            db.session.get(type(writer), writer.id))
        assert unread_of(writer.id, order.id) == 0
        db.session.rollback()
    refusing(account_changed)
    with app.app_context():
        with pytest.raises(Refused):
            accounts.deactivate(db.session.get(type(manager), manager.id),
                                db.session.get(type(writer), writer.id))
        db.session.rollback()
        assert db.session.get(type(writer), writer.id).active
        assert unread_of(writer.id, order.id) == 1
