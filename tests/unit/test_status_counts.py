"""The counts of orders per status (`order_status_counts`) stay equal to the orders counted.

The moves of the workflow table are walked in tests/unit/test_workflow_table.py and at random
in tests/security/test_workflow_machine.py; every test of the suite also ends with the counts
checked against `SELECT status, count(*) … GROUP BY status` (tests/conftest.py). Here: what
happens around the moves (a new draft, a deleted one, a lost race, a rollback), the rebuild
and the migration that fills the table on an existing database.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from config import TestingConfig
from portal import create_app
from portal.accounts.models import Role, User
from portal.errors import Conflict
from portal.extensions import db
from portal.orders import service, status_counts
from portal.orders.models import (
    Order,
    OrderStatus,
    OrderStatusCount,
    WriterLanguage,
    WriterLoad,
    writer_tiers,
)
from tests.conftest import new_database_url

S = OrderStatus


def grouped() -> dict[OrderStatus, int]:
    counts = dict.fromkeys(OrderStatus, 0)
    counts.update(db.session.execute(
        sa.select(Order.status, sa.func.count()).group_by(Order.status)).all())
    return counts


def counts(app) -> dict[OrderStatus, int]:
    """The counts as stored, after checking that they are the orders counted."""
    with app.app_context():
        stored = status_counts.counted()
        assert stored == grouped()
        db.session.remove()
    return {status: n for status, n in stored.items() if n}


def test_a_new_draft_counts_and_a_deleted_one_no_longer_does(app, factory):
    client = factory.user(Role.CLIENT)
    first = factory.order(client=client, status=S.DRAFT)
    factory.order(client=client, status=S.DRAFT)
    assert counts(app) == {S.DRAFT: 2}

    with app.app_context():
        service.delete_draft(db.session.get(Order, first.id), db.session.get(User, client.id))
        db.session.commit()
    assert counts(app) == {S.DRAFT: 1}


def test_a_whole_life_moves_one_order_from_count_to_count(app, factory):
    order = factory.order(status=S.OPEN)
    assert counts(app) == {S.OPEN: 1}
    factory.order(status=S.APPROVED, revisions=1)
    factory.order(status=S.CANCELLED, cancelled_from=S.DELIVERED)
    factory.order(status=S.REVISION_REQUESTED)
    assert counts(app) == {S.OPEN: 1, S.APPROVED: 1, S.CANCELLED: 1, S.REVISION_REQUESTED: 1}
    with app.app_context():
        service.cancel(db.session.get(Order, order.id), db.session.get(User, order.client_id))
        db.session.commit()
    assert counts(app) == {S.APPROVED: 1, S.CANCELLED: 2, S.REVISION_REQUESTED: 1}


def test_a_move_rolled_back_leaves_the_counts_as_they_were(app, factory):
    order = factory.order(status=S.DRAFT)
    with app.app_context():
        service.submit(db.session.get(Order, order.id), db.session.get(User, order.client_id))
        assert status_counts.counted()[S.OPEN] == 1  # inside the transaction
        db.session.rollback()
    assert counts(app) == {S.DRAFT: 1}


def test_the_writer_who_loses_the_race_changes_no_count(app, factory):
    tier = factory.tier()
    first, second = factory.writer(tiers=[tier]), factory.writer(tiers=[tier])
    order = factory.order(status=S.OPEN, tier=tier)
    with app.app_context():
        stale = db.session.get(Order, order.id)  # the second writer's page, loaded open
        with app.app_context():  # the first writer's request, in its own session
            service.claim(db.session.get(Order, order.id), db.session.get(User, first.id))
            db.session.commit()
        with pytest.raises(Conflict):
            service.claim(stale, db.session.get(User, second.id))
        db.session.rollback()
    assert counts(app) == {S.IN_PROGRESS: 1}


def test_a_draft_submitted_in_another_tab_is_not_deleted(app, factory):
    order = factory.order(status=S.DRAFT)
    with app.app_context():
        stale = db.session.get(Order, order.id)  # the tab that still shows the draft
        client = db.session.get(User, order.client_id)
        with app.app_context():
            service.submit(db.session.get(Order, order.id),
                           db.session.get(User, order.client_id))
            db.session.commit()
        with pytest.raises(Conflict):
            service.delete_draft(stale, client)
        db.session.rollback()
    assert counts(app) == {S.OPEN: 1}
    assert factory.reload_order(order.id).status is S.OPEN


def test_recount_rebuilds_the_counts_from_the_orders(app, factory):
    factory.order(status=S.OPEN)
    factory.order(status=S.IN_PROGRESS)
    with app.app_context():
        db.session.execute(sa.update(OrderStatusCount).values(count=42))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["orders", "recount"])
    assert result.exit_code == 0, result.output
    assert "open: 1, in_progress: 1" in result.output
    assert counts(app) == {S.OPEN: 1, S.IN_PROGRESS: 1}


@pytest.fixture
def empty_app(tmp_path_factory):
    url, drop = new_database_url(tmp_path_factory)
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    drop()


def test_the_migration_counts_the_orders_already_there_and_goes_back(empty_app):
    upgrade(revision="0004_bench_indexes")
    with db.engine.begin() as connection:
        run = connection.execute
        run(sa.text("INSERT INTO users (id, email, password_hash, display_name, role, active, "
                    "locale, timezone, session_token, created_at, password_changed_at) VALUES "
                    "(1, 'a@example.test', 'x', 'Ama', 'client', true, 'fr', 'Africa/Lome', "
                    "'t', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        run(sa.text("INSERT INTO tiers (id, name, description, client_price_per_word, "
                    "writer_pay_per_word, included_revisions, min_lead_hours, position, "
                    "active) VALUES (1, 'T', '', 20, 12, 2, 24, 0, true)"))
        run(sa.text("INSERT INTO content_types (id, name_fr, name_en, position, active) "
                    "VALUES (1, 'Article', 'Article', 0, true)"))
        for n, status in enumerate(["open", "open", "draft", "approved", "open"], start=1):
            run(sa.text(
                "INSERT INTO orders (id, client_id, status, version, title, content_type_id, "
                "language, words_min, words_max, tier_id, tone, audience, primary_keyword, "
                "secondary_keywords, links_to_include, reference_urls, instructions, "
                "deadline, currency, extra_revisions, revisions_used, created_at, updated_at) "
                "VALUES (:id, 1, :status, 1, 'Commande', 1, 'fr', 400, 600, 1, '', '', '', "
                "'', '', '', '', CURRENT_TIMESTAMP, 'XOF', 0, 0, CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP)"), {"id": n, "status": status})

    upgrade()
    assert status_counts.counted() == {**dict.fromkeys(OrderStatus, 0),
                                       S.OPEN: 3, S.DRAFT: 1, S.APPROVED: 1}
    db.session.remove()

    downgrade(revision="0004_bench_indexes")
    assert "order_status_counts" not in sa.inspect(db.engine).get_table_names()


def test_the_writers_load_is_read_from_its_counters_not_grouped_from_the_orders(app, factory):
    """The dashboard's load per writer (orders being written, deliveries under review) is read
    from writer_loads, kept as orders move: grouped from ix_orders_status_writer_id it read
    every open order (0.19 ms at a tenth of the benchmark's data set, 1.6-2.4 ms at full)."""
    from portal.agency.forms import writer_search
    from portal.orders import queries
    from tests.conftest import counted_statements

    tier = factory.tier()
    writer = factory.writer(tiers=[tier])
    for status in (S.IN_PROGRESS, S.IN_PROGRESS, S.DELIVERED, S.OPEN):
        factory.order(status=status, tier=tier, writer=writer if status is not S.OPEN else None)
    with app.app_context():
        with counted_statements(app, parameters=True) as sent:
            load = queries.writer_load(10, None, writer_search(""))
        assert [(row.id, row.writing, row.review) for row in load.busiest] == [(writer.id, 2, 1)]
        assert load.busy == 1
        [(statement, _parameters)] = sent
        assert "writer_loads" in statement and " orders" not in statement


def test_a_reassignment_moves_the_open_work_from_one_writer_to_the_other(app, factory):
    """writer_loads follows the order's writer as well as its status (the suite checks it
    against the orders after every test, so every move the tests make)."""
    from tests.conftest import writer_loads_disagree

    tier = factory.tier()
    kofi, ama = factory.writer(tiers=[tier]), factory.writer(tiers=[tier])
    manager = factory.user(Role.MANAGER)
    factory.order(status=S.DELIVERED, tier=tier, writer=kofi)
    order = factory.order(status=S.IN_PROGRESS, tier=tier, writer=kofi)

    def loads() -> dict[int, tuple[int, int]]:
        with app.app_context():
            assert writer_loads_disagree() is None
            return {row.writer_id: (row.writing, row.review) for row in
                    db.session.scalars(sa.select(WriterLoad)) if row.writing or row.review}

    assert loads() == {kofi.id: (1, 1)}
    with app.app_context():
        service.assign(db.session.get(Order, order.id), db.session.get(User, manager.id),
                       db.session.get(User, ama.id))
        db.session.commit()
    assert loads() == {kofi.id: (0, 1), ama.id: (1, 0)}


def test_the_pool_is_counted_from_an_index_not_read_order_by_order(app, factory):
    """The writer's pool of a language and tier is counted from ix_orders_pool alone (SQLite's
    plan): on the status, language, tier and deadline index, each open order was read from the
    table for its offer (1.33 against 0.08 ms for 788 open orders in the benchmark's full data
    set, where the count was what grew)."""
    from portal.orders import queries
    from tests.conftest import counted_statements

    tier = factory.tier()
    writer = factory.writer(tiers=[tier])
    for _ in range(3):
        factory.order(status=S.OPEN, tier=tier)
    with app.app_context():
        writer = db.session.get(User, writer.id)
        with counted_statements(app, parameters=True) as sent:
            page = queries.pool_for(writer, queries.ListFilters(sort="deadline", language="fr",
                                                                 tier_id=tier.id), 1, 20)
            assert (page.total, len(page.items)) == (3, 3)
        [(statement, parameters)] = [(s, p) for s, p in sent if "count(*)" in s]
        if db.engine.dialect.name == "sqlite":  # PostgreSQL plans a table this small its own way
            plan = [row[-1] for row in db.session.connection().exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, parameters)]
            assert [line for line in plan if "orders" in line] == [
                "SEARCH orders USING COVERING INDEX ix_orders_pool (status=? AND language=? AND "
                "tier_id=?)"], plan
            # The page itself, in deadline order, picks its 20 ids from the same index in that
            # order (the id after the deadline), not from every open order on the status index;
            # only those 20 are then sorted.
            [(statement, parameters)] = [(s, p) for s, p in sent if "ORDER BY" in s]
            plan = [row[-1] for row in db.session.connection().exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, parameters)]
            assert [line for line in plan if "orders" in line or "TEMP" in line] == [
                "SEARCH orders USING INTEGER PRIMARY KEY (rowid=?)",
                "SEARCH orders USING COVERING INDEX ix_orders_pool (status=? AND language=? AND "
                "tier_id=?)", "USE TEMP B-TREE FOR ORDER BY"], plan


def test_a_move_decided_before_a_reassignment_is_refused_and_counts_no_writer_twice(
        app, factory):
    """Request 1 reads an order of Kofi; request 2 gives it to Ama and commits; request 1
    cancels on what it read. The status has not changed, the writer has: request 1 must meet a
    conflict (it would otherwise take Kofi's order off Kofi a second time, and leave it on Ama,
    whose order it no longer is), and Kofi, taken off, can no longer deliver it either."""
    tier = factory.tier()
    kofi, ama = factory.writer(tiers=[tier]), factory.writer(tiers=[tier])
    manager = factory.user(Role.MANAGER)
    order = factory.order(status=S.IN_PROGRESS, tier=tier, writer=kofi)
    with app.app_context():
        stale, boss = db.session.get(Order, order.id), db.session.get(User, manager.id)
        with app.app_context():  # another request, its own session
            service.assign(db.session.get(Order, order.id), db.session.get(User, manager.id),
                           db.session.get(User, ama.id))
            db.session.commit()
        with pytest.raises(Conflict):
            service.cancel(stale, boss, "Plus besoin.")
        db.session.rollback()
        assert db.session.get(Order, order.id).status is S.IN_PROGRESS
        db.session.remove()
    with app.app_context():
        loads = {row.writer_id: (row.writing, row.review)
                 for row in db.session.scalars(sa.select(WriterLoad))}
        db.session.remove()
    assert {kofi.id: (0, 0), ama.id: (1, 0)} == {
        writer: loads.get(writer, (0, 0)) for writer in (kofi.id, ama.id)}


def test_auto_approval_and_a_reassignment_at_once_both_go_through(app, factory):
    """PostgreSQL. Each approval holds its writer's writer_loads row until the batch commits;
    a reassignment locks its two writers in id order. Approving in delivery order (the higher
    writer's delivery first) while the lower writer's order moves to the higher closed a
    deadlock, and PostgreSQL cancelled one of the two; the batch now goes writer by writer."""
    import threading
    from datetime import timedelta

    from portal.extensions import utcnow

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite writes one transaction at a time")
    tier = factory.tier()
    low, high = factory.writer(tiers=[tier]), factory.writer(tiers=[tier])
    manager = factory.user(Role.MANAGER)
    first = factory.order(status=S.DELIVERED, tier=tier, writer=high)
    second = factory.order(status=S.DELIVERED, tier=tier, writer=low)
    moving = factory.order(status=S.IN_PROGRESS, tier=tier, writer=low)
    with app.app_context():  # the higher writer's delivery is the older one
        for order, days in ((first, 30), (second, 29)):
            db.session.get(Order, order.id).delivered_at = utcnow() - timedelta(days=days)
        db.session.commit()
        engine = db.engine
    held, waiting = threading.Event(), threading.Event()
    outcome: list[tuple[str, object]] = []

    def pause_after_the_first_writer(_conn, _cursor, statement, *_args) -> None:
        if threading.current_thread().name == "auto" and "writer_loads" in statement \
                and not held.is_set():
            held.set()
            waiting.wait(30)

    def auto() -> None:
        with app.app_context():
            try:
                outcome.append(("approved", service.auto_approve_due()))
                db.session.commit()
            except Exception as error:  # checked below
                outcome.append(("auto failed", error))

    def reassign() -> None:
        held.wait(30)
        with app.app_context():
            try:
                service.assign(db.session.get(Order, moving.id),
                               db.session.get(User, manager.id), db.session.get(User, high.id))
                db.session.commit()
                outcome.append(("reassigned", True))
            except Exception as error:  # checked below
                outcome.append(("reassign failed", error))

    sa.event.listen(engine, "after_cursor_execute", pause_after_the_first_writer)
    threads = [threading.Thread(target=auto, name="auto"), threading.Thread(target=reassign)]
    try:
        for thread in threads:
            thread.start()
        held.wait(30)
        while threads[1].is_alive() and not _waiting_on_a_lock(app):
            threads[1].join(0.02)  # the reassignment reaches the row the batch holds
        waiting.set()
        for thread in threads:
            thread.join(60)
    finally:
        waiting.set()
        sa.event.remove(engine, "after_cursor_execute", pause_after_the_first_writer)
    assert sorted(outcome, key=str) == [("approved", 2), ("reassigned", True)], outcome


def _waiting_on_a_lock(app) -> bool:
    with app.app_context(), db.engine.connect() as conn:
        return bool(conn.scalar(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()")))


def test_the_writers_panels_read_the_writers_from_their_index_not_every_user(app, factory):
    """The dashboard's busiest writers and the order page's least busy ones join the active
    writers to writer_loads and the skills. Joined straight, PostgreSQL merged on the users'
    primary key and filtered: it read every user after the last writer's id (8.7 and 16 ms for
    20,000 clients in the benchmark's full data set). The writers are now read once, from the
    role's index (a materialized CTE)."""
    from portal.orders import queries
    from tests.conftest import counted_statements

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the plan of PostgreSQL, from its statistics")
    writers, clients = 500, 20_000  # the proportions of the benchmark's data set
    tier = factory.tier()
    writer = factory.writer(tiers=[tier])
    order = factory.order(status=S.OPEN, tier=tier)
    with app.app_context():
        # Many writers with work, then many clients who signed up after them, as in an agency
        # open for a while (their open work is written straight: the rows are gone at the end).
        users = User.__table__
        kept = [c for c in users.c if c.name not in ("id", "email", "role")]
        n = sa.func.generate_series(1, sa.bindparam("n")).table_valued("n").render_derived()
        for role, count, model in ((Role.WRITER, writers, writer.id),
                                   (Role.CLIENT, clients, order.client_id)):
            email = sa.literal(f"many-{role.value}") + sa.cast(n.c.n, sa.String)
            db.session.execute(sa.insert(users).from_select(
                ["email", "role", *(c.name for c in kept)],
                sa.select(email, sa.literal(role, users.c.role.type), *kept)
                .join_from(users, n, sa.true()).where(users.c.id == model)), {"n": count})
        many = sa.select(User.id).where(User.email.like("many-writer%"))
        for table, values in ((WriterLoad.__table__, (1, 0)), (WriterLanguage.__table__, ("fr",)),
                              (writer_tiers, (tier.id,))):
            db.session.execute(sa.insert(table).from_select(
                [c.name for c in table.c], many.add_columns(*map(sa.literal, values))))
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("ANALYZE")
        order = db.session.get(Order, order.id)
        with counted_statements(app, parameters=True) as sent:
            load = queries.writer_load(20, None, queries.writer_binds("", 0))
            least = queries.least_busy_writers(order, 5)
        assert (load.busy, load.writers, len(least)) == (writers, writers + 1, 5)
        plans = ["\n".join(row[0] for row in db.session.connection().exec_driver_sql(
            "EXPLAIN ANALYZE " + statement, parameters)) for statement, parameters in sent]
        db.session.rollback()
        for column in (WriterLoad.writer_id, WriterLanguage.user_id, writer_tiers.c.user_id):
            db.session.execute(sa.delete(column.table).where(column.in_(many)))
        db.session.execute(sa.delete(User).where(User.email.like("many-%")))
        db.session.commit()
    for plan in plans:
        assert "pk_users" not in plan, plan

