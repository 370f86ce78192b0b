"""Counters that repair themselves: a counter skewed on purpose (an UPDATE of its row, as a bug
or a repair by hand would leave it) is found, logged with what it said and what it should say,
and put right, by the functions, by `flask orders recount` and `flask messaging recount`, and by
the mail worker once a night at RECOUNT_HOUR. A database whose counters agree logs nothing."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from portal.accounts.models import Role, User
from portal.extensions import db
from portal.messaging import unread
from portal.messaging.models import ReadMarker
from portal.messaging.service import post_message
from portal.notifications.worker import run_worker
from portal.orders import status_counts
from portal.orders.models import Order, OrderStatus, OrderStatusCount, WriterLoad
from tests.conftest import counted_statements, counters_disagree

LOME = ZoneInfo("Africa/Lome")


@pytest.fixture
def agency(app, factory, time_machine):
    """A client, a writer and a manager; two orders with a conversation; all committed."""
    time_machine.move_to(datetime(2026, 3, 2, 8, 0, tzinfo=UTC), tick=False)
    tier = factory.tier()
    ama, kofi = factory.user(Role.CLIENT), factory.writer(tiers=[tier])
    esi = factory.user(Role.MANAGER)
    time_machine.shift(timedelta(minutes=5))
    written = factory.order(client=ama, writer=kofi, tier=tier, status=OrderStatus.IN_PROGRESS)
    quiet = factory.order(client=ama, tier=tier)
    with app.app_context():
        order = db.session.get(Order, written.id)
        post_message(order, db.session.get(User, ama.id), "Une question sur le ton.")
        post_message(order, db.session.get(User, esi.id), "Entre nous.", internal=True)
        db.session.commit()
    app.extensions.pop("portal.nightly_recount", None)
    yield {"ama": ama.id, "kofi": kofi.id, "esi": esi.id, "written": written.id,
           "quiet": quiet.id}
    app.extensions.pop("portal.nightly_recount", None)


def skew(app, agency) -> None:
    """Break counters by hand and commit: an order count, a writer's open work, an unread
    counter that says too much, one that says nothing where a message waits, and one for an
    order where nothing was ever written."""
    with app.app_context():
        assert counters_disagree() == []
        db.session.execute(sa.update(OrderStatusCount)
                           .where(OrderStatusCount.status == OrderStatus.OPEN)
                           .values(count=OrderStatusCount.count + 5))
        db.session.execute(sa.update(WriterLoad).where(WriterLoad.writer_id == agency["kofi"])
                           .values(writing=WriterLoad.writing + 2))
        db.session.execute(sa.update(ReadMarker)
                           .where(ReadMarker.user_id == agency["kofi"])
                           .values(unread=ReadMarker.unread + 3))
        db.session.execute(sa.update(ReadMarker)
                           .where(ReadMarker.user_id == agency["esi"]).values(unread=0))
        db.session.merge(ReadMarker(user_id=agency["ama"], order_id=agency["quiet"], unread=7))
        db.session.commit()
        assert len(counters_disagree()) == 5


def disagreements(app) -> list[str]:
    with app.app_context():
        return counters_disagree()


def drift_logged(caplog) -> list[tuple[str, object, int, int]]:
    return sorted((r.counter, r.key, r.stored, r.actual) for r in caplog.records
                  if r.levelno == logging.WARNING and hasattr(r, "stored"))


def expected_drift(agency) -> list[tuple[str, object, int, int]]:
    return sorted([
        ("order_status_counts", "open", 6, 1),
        ("writer_loads", (agency["kofi"], "writing"), 3, 1),
        ("read_markers.unread", (agency["kofi"], agency["written"]), 5, 2),  # note included
        ("read_markers.unread", (agency["esi"], agency["written"]), 0, 1),
        ("read_markers.unread", (agency["ama"], agency["quiet"]), 7, 0),
    ])


def test_the_recounts_find_log_and_repair_the_skewed_counters(app, agency, caplog):
    skew(app, agency)
    caplog.set_level(logging.INFO)
    with app.app_context():
        assert status_counts.recount() == 2
        assert unread.repair() == 3
        db.session.commit()
    assert disagreements(app) == []
    assert drift_logged(caplog) == expected_drift(agency)
    assert "stored 5, actual 2" in caplog.text

    caplog.clear()
    with app.app_context():  # repaired: nothing more to say
        assert status_counts.recount() == 0
        assert unread.repair() == 0
    assert drift_logged(caplog) == []


def test_a_clean_database_logs_no_drift_and_writes_nothing(app, agency, caplog):
    caplog.set_level(logging.INFO)
    with app.app_context():
        with counted_statements(app) as statements:
            assert status_counts.recount() == 0
            assert unread.repair() == 0
        db.session.commit()
    writes = [s for s in statements if s.lstrip().upper().startswith(("UPDATE", "DELETE",
                                                                       "INSERT"))]
    assert writes == []
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_a_person_is_recounted_alone_from_the_command(app, agency, caplog):
    skew(app, agency)
    caplog.set_level(logging.INFO)
    with app.app_context():
        kofi = db.session.get(User, agency["kofi"]).email
    result = app.test_cli_runner().invoke(args=["messaging", "recount", "--email", kofi.upper()])
    assert result.exit_code == 0, result.output
    assert f"unread counters of {kofi}: 1 corrected" in result.output
    assert drift_logged(caplog) == [
        ("read_markers.unread", (agency["kofi"], agency["written"]), 5, 2)]
    assert len(disagreements(app)) == 4  # the others' counters and the orders' counts wait

    result = app.test_cli_runner().invoke(args=["messaging", "recount"])
    assert result.exit_code == 0, result.output
    assert "unread counters of everyone: 2 corrected" in result.output
    result = app.test_cli_runner().invoke(args=["orders", "recount"])
    assert result.exit_code == 0, result.output
    assert "open: 1, in_progress: 1" in result.output and "order counts: 2 corrected" \
        in result.output
    assert disagreements(app) == []
    assert drift_logged(caplog) == expected_drift(agency)


def test_an_unknown_address_is_refused_and_changes_nothing(app, agency):
    skew(app, agency)
    result = app.test_cli_runner().invoke(
        args=["messaging", "recount", "--email", "personne@example.test"])
    assert result.exit_code == 1
    assert "no account with the address personne@example.test" in result.output
    assert len(disagreements(app)) == 5
    with app.app_context():  # the suite's own check of the order counts follows every test
        status_counts.recount()
        db.session.commit()


def test_the_mail_worker_recounts_once_a_night_at_its_hour(
        app, agency, caplog, monkeypatch, time_machine):
    monkeypatch.setitem(app.config, "RECOUNT_HOUR", 4)
    caplog.set_level(logging.INFO)

    def pass_at(moment: datetime) -> int:
        time_machine.move_to(moment, tick=False)
        caplog.clear()
        run_worker(app, interval=0, once=True, echo=lambda _line: None)
        for thread in threading.enumerate():  # the recount runs beside the mail passes
            if thread.name == "nightly-recount":
                thread.join(timeout=60)
        return len(drift_logged(caplog))

    skew(app, agency)
    assert pass_at(datetime(2026, 3, 3, 3, 59, tzinfo=LOME)) == 0  # before the hour
    assert len(disagreements(app)) == 5
    assert pass_at(datetime(2026, 3, 3, 4, 0, tzinfo=LOME)) == 5
    assert drift_logged(caplog) == expected_drift(agency)
    assert "nightly recount: orders 2 corrected, unread 3 corrected" in caplog.text
    assert disagreements(app) == []

    skew(app, agency)
    assert pass_at(datetime(2026, 3, 3, 4, 40, tzinfo=LOME)) == 0  # once a night
    assert pass_at(datetime(2026, 3, 3, 15, 0, tzinfo=LOME)) == 0  # not in the day
    assert len(disagreements(app)) == 5
    assert pass_at(datetime(2026, 3, 4, 4, 5, tzinfo=LOME)) == 5  # the next night
    assert disagreements(app) == []


def test_a_large_drift_is_logged_line_by_line_up_to_a_bound_then_as_a_total(
        app, agency, caplog, monkeypatch):
    skew(app, agency)
    monkeypatch.setattr(unread, "LOGGED_DRIFT", 1)
    caplog.set_level(logging.INFO)
    with app.app_context():
        assert unread.repair() == 3
        status_counts.recount()
        db.session.commit()
    lines = [r.getMessage() for r in caplog.records if r.name == "portal.messaging.unread"]
    assert len(lines) == 2
    assert lines[1] == "counter drift: 2 more read_markers.unread counters differed"
    assert disagreements(app) == []
