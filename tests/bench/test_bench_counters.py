"""The benchmark's loader writes messages around the services; the unread counters it fills
afterwards say what the definition counts, for every person and order of the data set, and
each writer's open work (writer_loads, filled by the recount) what the orders say."""

from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import upgrade

from bench import data
from config import TestingConfig
from portal import create_app
from portal.accounts.models import User
from portal.extensions import db
from portal.messaging.models import ReadMarker
from portal.messaging.queries import recount_unread
from portal.orders.models import WriterLoad
from tests.conftest import new_database_url, writer_loads_disagree


def test_the_loaded_data_set_has_the_counters_of_its_messages(tmp_path_factory):
    url, drop = new_database_url(tmp_path_factory)
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    try:
        with app.app_context():
            upgrade()
            db.session.remove()
            db.engine.dispose()
            data.build(url, 0.001, log=lambda _line: None)
            stored = {(user_id, order_id): count for user_id, order_id, count in
                      db.session.execute(sa.select(ReadMarker.user_id, ReadMarker.order_id,
                                                   ReadMarker.unread)
                                         .where(ReadMarker.unread != 0))}
            counted = {(user.id, order_id): count
                       for user in db.session.scalars(sa.select(User))
                       for order_id, count in recount_unread(user).items()}
            loads = writer_loads_disagree(), db.session.scalar(sa.select(sa.func.count())
                                                               .select_from(WriterLoad))
            db.session.remove()
            db.engine.dispose()
    finally:
        drop()
    assert stored == counted
    assert len(stored) > 100  # clients, writers and managers have something unread
    assert loads[0] is None and loads[1] > 0, loads
