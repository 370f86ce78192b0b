"""The client and the writer post in an order's conversation at the same moment: both messages
land, each is unread once for the other and twice for the manager, and nobody is told "database
is locked".

Each poster is a thread with its own app context (so its own session and connection), released
together by a barrier, on the SQLite file database or on PostgreSQL (TEST_DATABASE_URL).
"""

from __future__ import annotations

import threading

import sqlalchemy as sa

from portal.accounts.models import Role, User
from portal.extensions import db
from portal.messaging.models import Message, ReadMarker
from portal.messaging.service import post_message
from portal.orders.models import Order, OrderStatus
from tests.conftest import counters_disagree

ROUNDS = 10


def test_the_client_and_the_writer_post_at_the_same_moment_and_both_land(app, factory, ctx):
    tier = factory.tier()
    client, manager = factory.user(Role.CLIENT), factory.user(Role.MANAGER)
    writer = factory.writer(tiers=[tier])
    orders = [factory.order(client=client, writer=writer, tier=tier,
                            status=OrderStatus.IN_PROGRESS).id for _ in range(ROUNDS)]
    errors: list[Exception] = []

    def post(order_id: int, author_id: int, barrier: threading.Barrier) -> None:
        with app.app_context():
            try:
                # What the request does: read the order and the person, post, commit.
                order, me = db.session.get(Order, order_id), db.session.get(User, author_id)
                barrier.wait()
                post_message(order, me, f"Message de {author_id}.")
                db.session.commit()
            except Exception as error:  # every outcome is checked below
                db.session.rollback()
                errors.append(error)

    for order_id in orders:  # a race is won or lost in microseconds: several rounds
        barrier = threading.Barrier(2, timeout=30)
        threads = [threading.Thread(target=post, args=(order_id, author.id, barrier))
                   for author in (client, writer)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not any(thread.is_alive() for thread in threads)

    assert errors == []  # never "database is locked"
    with ctx() as session:
        assert session.scalar(sa.select(sa.func.count(Message.id))) == 2 * ROUNDS
        unread = dict(session.execute(
            sa.select(ReadMarker.user_id, sa.func.sum(ReadMarker.unread))
            .group_by(ReadMarker.user_id)).all())
        assert unread == {client.id: ROUNDS, writer.id: ROUNDS, manager.id: 2 * ROUNDS}
        assert counters_disagree() == []
