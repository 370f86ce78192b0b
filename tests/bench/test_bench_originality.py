"""The benchmark's loader fills the originality index for its deliveries with the rows
`service.deliver` would have written, its texts are not copies of each other, and the probe of
`make bench` times the check of a 1,200-word delivery (a new text, and a copy it finds)."""

from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import upgrade

from bench import data, probes
from config import TestingConfig
from portal import create_app
from portal.extensions import db
from portal.orders import originality
from portal.orders.models import Delivery, Order, TextShingle
from tests.conftest import new_database_url


def test_the_loaded_index_is_what_deliveries_write_and_the_probe_times_the_check(
        tmp_path_factory):
    url, drop = new_database_url(tmp_path_factory)
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    try:
        with app.app_context():
            upgrade()
            db.session.remove()
            db.engine.dispose()
            dataset = data.build(url, 0.001, log=lambda _line: None)
            stored = set(db.session.execute(sa.select(TextShingle.hash,
                                                      TextShingle.delivery_id)))
            deliveries = db.session.execute(sa.select(Delivery.id, Delivery.text,
                                                      Delivery.order_id)).all()
            expected = {(h, delivery_id) for delivery_id, text, _order in deliveries
                        for h in originality.sampled(originality.shingles(text))}
            # Each delivery checked against all the others, as if delivered last: the bench's
            # texts share no run of five words but by chance.
            scores = [originality.check(db.session.get(Order, order_id), text)["score"]
                      for _id, text, order_id in deliveries[:40]]
            db.session.remove()
            db.engine.dispose()
        timed = probes.originality(dataset, repeat=2)
    finally:
        drop()
    assert len(deliveries) > 40 and stored == expected
    assert dataset.rows["text_shingles"] == len(stored)
    assert dataset.shingle_seconds > 0
    assert max(scores) < 0.05, scores
    assert timed["new_text"]["words"] >= 1100 and timed["new_text"]["score"] < 0.05
    assert timed["exact_copy"]["score"] == 1.0 and timed["exact_copy"]["sources"] == 1
    assert all(timed[case]["median_ms"] > 0 for case in ("new_text", "exact_copy"))
