"""The finance page's figures are kept on write: every change writes what it adds (a delta),
the mail worker folds the deltas into the kept figures, and the page reads both in two
statements whatever the size of the data. What is kept through the months equals what is
computed from the invoices, payments, earnings and companies; a change rolled back leaves no
delta; a row written by hand waits for the repair (`flask billing refigure`, the mail worker's
night), which logs the figure that differed and puts it right."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from portal.accounts.models import Role, User
from portal.billing import figures, invoices, payments
from portal.billing.models import (
    FinanceDelta,
    FinanceFigure,
    Invoice,
    Payment,
    PaymentMethod,
    PaymentStatus,
)
from portal.extensions import db
from portal.ops.recount import recount_counters
from portal.orders.models import OrderStatus, Tier
from tests.conftest import counted_statements


def computed(app) -> figures.Figures:
    """The figures computed from what they count (the repair stores them), not committed."""
    with app.app_context():
        figures.refigure()
        shown = figures.read()
        db.session.rollback()
        return shown


def deltas(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(FinanceDelta))


def topup(app, buyer, manager, amount: int) -> None:
    """A top-up of `buyer`'s company: requested, declared in cash, confirmed by `manager`."""
    with app.app_context():
        client = db.session.get(User, buyer.id)
        proforma = payments.request_topup(client, amount)
        payment = payments.declare_for_proforma(client, proforma, payments.Declaration(
            PaymentMethod.CASH, f"R-{amount}", amount))
        payments.confirm(payment, db.session.get(User, manager.id))
        db.session.commit()


@pytest.fixture
def agency(app, factory, time_machine):
    """Money over several months, the figures' baseline taken before any: approved orders on
    two tiers (an invoice and an earning each), a top-up paid (a deposit invoice, a confirmed
    payment), a credit note; the worker folds some of it; the clock stops on 5 December
    2026."""
    def at(moment: datetime) -> None:
        time_machine.move_to(moment, tick=True)

    at(datetime(2025, 11, 20, 9, 0, tzinfo=UTC))  # before the window: never shown
    with app.app_context():
        figures.read()
        db.session.commit()
    standard = factory.tier(name="Standard", client_price_per_word=25, writer_pay_per_word=15)
    expert = factory.tier(name="Expert", client_price_per_word=40, writer_pay_per_word=22)
    buyer = factory.user(Role.CLIENT, billing="prepaid", funds=10_000_000)
    writer = factory.writer(tiers=[standard, expert])
    manager = factory.user(Role.MANAGER)

    def approved(tier) -> None:
        factory.order(client=buyer, writer=writer, tier=tier, status=OrderStatus.APPROVED)

    approved(standard)
    at(datetime(2026, 7, 10, 9, 0, tzinfo=UTC))
    approved(standard)
    approved(expert)
    topup(app, buyer, manager, 5_000)
    with app.app_context():
        figures.fold()
    at(datetime(2026, 9, 15, 9, 0, tzinfo=UTC))
    approved(expert)
    with app.app_context():
        first = db.session.scalar(sa.select(Invoice).where(Invoice.total > 0)
                                  .where(Invoice.issued_at >= datetime(2026, 7, 1, tzinfo=UTC))
                                  .order_by(Invoice.id))
        invoices.issue_credit_note(first, db.session.get(User, manager.id), 3_000, "Geste.")
        db.session.commit()
    at(datetime(2026, 11, 30, 23, 0, tzinfo=UTC))
    approved(standard)
    at(datetime(2026, 12, 5, 9, 0, tzinfo=UTC))
    approved(expert)
    topup(app, buyer, manager, 7_000)
    time_machine.move_to(datetime(2026, 12, 5, 10, 0, tzinfo=UTC), tick=False)
    return {"buyer": buyer, "manager": manager}


def test_the_figures_kept_through_the_months_are_the_figures_computed(app, agency,
                                                                      monkeypatch):
    monkeypatch.setattr(figures, "FOLD", 2)  # folded in several batches
    expected = computed(app)
    assert [m.month for m in expected.months] == ["2026-12", "2026-11", "2026-09", "2026-07"]
    assert {tier for _m, tier, *_rest in expected.per_tier} == {"Standard", "Expert"}
    assert expected.today.advances > 0
    assert deltas(app) > 0  # what came after the last fold
    with app.app_context():
        assert figures.read() == expected  # the kept figures and the deltas
        figures.fold()
        assert deltas(app) == 0
        assert figures.read() == expected  # the kept figures alone
        assert figures.refigure() == 0  # nothing drifted
        db.session.commit()
    with app.app_context(), counted_statements(app) as statements:
        assert figures.read() == expected
    assert len(statements) == 2  # the figures with the deltas, and what is open today


def test_the_first_view_computes_the_figures_and_the_page_commits_them(app, factory,
                                                                        login_as):
    manager = factory.user(Role.MANAGER)
    buyer = factory.user(Role.CLIENT, billing="prepaid", funds=0)
    topup(app, buyer, manager, 5_000)
    with app.app_context():
        db.session.execute(sa.delete(FinanceDelta))  # as before the figures were kept
        db.session.commit()
    browser = login_as(manager)
    with counted_statements(app) as first:
        page = browser.get("/agency/finance").get_data(as_text=True)
    with counted_statements(app) as warm:
        assert browser.get("/agency/finance").get_data(as_text=True) == page
    assert len(first) > len(warm)  # the baseline: computed once, committed with the page
    with app.app_context():
        assert figures.read().months[0].paid == 5_000


def test_a_change_rolled_back_leaves_no_delta(app, factory):
    """Deltas are rows of the change's own transaction: a savepoint rolled back (the worker's
    auto-approvals) takes its deltas back with it."""
    manager = factory.user(Role.MANAGER)
    buyer = factory.user(Role.CLIENT, billing="prepaid", funds=0)
    with app.app_context():
        before = figures.read()
        db.session.commit()
        client = db.session.get(User, buyer.id)
        proforma = payments.request_topup(client, 9_000)
        payment = payments.declare_for_proforma(client, proforma, payments.Declaration(
            PaymentMethod.CASH, "R-1", 9_000))
        db.session.commit()
        savepoint = db.session.begin_nested()
        payments.confirm(payment, db.session.get(User, manager.id))
        savepoint.rollback()
        db.session.commit()
        assert deltas(app) == 0
        after = figures.read()
    assert (after.months, after.today.advances) == (before.months, before.today.advances)


def test_a_first_view_during_a_change_shows_the_figures_and_a_later_one_keeps_them(
        app, factory):
    """PostgreSQL: the first view asks for the deltas' lock without waiting. While a change
    holds a delta not yet committed, it shows the figures computed and keeps nothing; the
    next view, the change over, keeps them."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL's table lock (SQLite's writers wait for one another)")
    manager = factory.user(Role.MANAGER)
    buyer = factory.user(Role.CLIENT, billing="prepaid", funds=0)
    topup(app, buyer, manager, 5_000)
    with app.app_context(), db.engine.connect() as change:
        change.execute(sa.insert(FinanceDelta).values(
            at=datetime.now(UTC), tier_id=0, figure="paid", amount=1))
        # Waiting would fail after 5 s instead of answering at once.
        db.session.execute(sa.text("SET LOCAL statement_timeout = '5s'"))
        assert figures.read().months[0].paid == 5_000
        db.session.commit()
        kept = db.session.scalar(sa.select(sa.func.count()).select_from(FinanceFigure))
        change.rollback()
    assert kept == 0
    with app.app_context():
        assert figures.read().months[0].paid == 5_000
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FinanceFigure)) > 0


def test_a_tier_renamed_keeps_its_figures_under_its_new_name(app, factory):
    """Figures are kept per tier id: the month shows one row under the tier's name of today,
    and the repair finds nothing to correct."""
    standard = factory.tier(name="Standard", client_price_per_word=25, writer_pay_per_word=15)
    buyer = factory.user(Role.CLIENT, billing="prepaid", funds=10_000_000)
    writer = factory.writer(tiers=[standard])
    with app.app_context():
        figures.read()
        db.session.commit()
    factory.order(client=buyer, writer=writer, tier=standard, status=OrderStatus.APPROVED)
    with app.app_context():
        figures.fold()
        db.session.get(Tier, standard.id).name = "Or"
        db.session.commit()
    factory.order(client=buyer, writer=writer, tier=standard, status=OrderStatus.APPROVED)
    with app.app_context():
        shown = figures.read()
        assert [tier for _month, tier, *_rest in shown.per_tier] == ["Or"]
        assert shown.per_tier[0][2] == shown.months[0].sales > 0
        assert figures.refigure() == 0


def test_the_night_waits_for_changes_under_way_then_leaves_the_figures_to_the_next(
        app, factory, caplog, monkeypatch):
    """PostgreSQL: while a change holds a delta, the night's repair asks again, then warns
    and leaves the figures as they are (the other counters are recounted all the same)."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL's table lock (SQLite's writers wait for one another)")
        figures.read()
        db.session.commit()
    monkeypatch.setattr(figures, "QUIET_TRIES", 2)
    monkeypatch.setattr(figures, "QUIET_PAUSE", 0)
    with app.app_context(), db.engine.connect() as change:
        change.execute(sa.insert(FinanceDelta).values(
            at=datetime.now(UTC), tier_id=0, figure="paid", amount=1))
        corrected = recount_counters(app)
        change.rollback()
    assert corrected == {"orders": 0, "unread": 0, "finance figures": 0}
    assert "finance figures not refigured: changes were under way 2 times" in caplog.text
    assert "failed" not in caplog.text


def test_a_row_written_by_hand_waits_for_the_repair_which_logs_it(app, agency, caplog):
    with app.app_context():
        figures.fold()
        company_id = db.session.scalar(sa.select(Payment.company_id))
        # An import by hand: a payment confirmed in October, written in December.
        db.session.add(Payment(
            company_id=company_id, amount=4_000, currency="XOF", method=PaymentMethod.CASH,
            reference="IMPORT-1", reference_key="IMPORT1", status=PaymentStatus.CONFIRMED,
            decided_at=datetime(2026, 10, 15, 12, 0, tzinfo=UTC),
            created_at=datetime(2026, 10, 15, 12, 0, tzinfo=UTC)))
        db.session.commit()
        assert "2026-10" not in [m.month for m in figures.read().months]  # not seen yet
    assert "2026-10" in [m.month for m in computed(app).months]
    caplog.set_level(logging.INFO)
    caplog.clear()

    result = app.test_cli_runner().invoke(args=["billing", "refigure"])
    assert result.exit_code == 0, result.output
    assert "finance figures: 1 corrected" in result.output
    drift = [r for r in caplog.records if getattr(r, "counter", None) == "finance_figures"]
    assert [(r.key, r.stored, r.actual) for r in drift] == [("2026-10/0/paid", 0, 4_000)]
    with app.app_context():
        assert figures.read() == computed(app)
        assert figures.refigure() == 0  # repaired: nothing more to say

        # The night's recount finds the next one by itself.
        db.session.execute(sa.update(Payment).where(Payment.reference == "IMPORT-1")
                           .values(amount=6_000))
        db.session.commit()
    caplog.clear()
    corrected = recount_counters(app)
    assert corrected["finance figures"] == 1
    assert "finance figures 1 corrected" in caplog.text
    assert "finance figure drift: 2026-10 0 paid kept 4000, actual 6000" in caplog.text
    with app.app_context():
        october = next(m for m in figures.read().months if m.month == "2026-10")
    assert october.paid == 6_000


def test_the_figures_scan_no_history(app, agency):
    """Every statement of a view uses an index on the tables that grow with the years
    (SQLite's plan); the deltas are what the worker has not folded yet."""
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's EXPLAIN QUERY PLAN")
        with counted_statements(app, parameters=True) as statements:
            figures.read()
        plans = []
        for statement, parameters in statements:
            plans += [row[-1] for row in db.session.connection().exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, parameters)]
    grows = ("invoices", "credit_notes", "payments", "writer_earnings", "orders",
             "proformas", "companies", "finance_figures")
    # The partial index of the invoices still owed holds only those: reading it whole is bounded.
    scans = [plan for plan in plans if plan.startswith("SCAN ") and plan.split()[1] in grows
             and "ix_invoices_company_id_unsettled" not in plan]
    assert scans == [], plans


def test_a_company_account_reads_the_invoices_it_still_owes_not_all_of_them(app, agency):
    """The account lists the invoices still owed in order of issue from the partial index of
    those alone (SQLite's plan): through the company's index of all its invoices in that
    order, it walked every one of them to find the few still owed."""
    from portal.billing import companies, queries

    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's EXPLAIN QUERY PLAN")
        company = companies.company_of(db.session.get(User, agency["buyer"].id))
        with counted_statements(app, parameters=True) as statements:
            queries.account_view(company, None, 20)
        plans = [row[-1] for statement, parameters in statements
                 if "FROM invoices" in statement
                 for row in db.session.connection().exec_driver_sql(
                     "EXPLAIN QUERY PLAN " + statement, parameters)]
    assert plans and all("ix_invoices_company_id_unsettled" in plan for plan in plans), plans


def test_months_follow_the_agency_zone_on_both_databases(app, factory, time_machine,
                                                        monkeypatch):
    """In Paris, a payment at 00:30 on 1 December is December's, though it is still November
    in UTC: so say the deltas (months drawn by the database), the folded figures (by Python)
    and the computed ones alike; the figures kept in Lomé's months are computed again for
    Paris at the first view (SQLite has no time zones: it reads months through Python's)."""
    time_machine.move_to(datetime(2026, 11, 10, 9, 0, tzinfo=UTC), tick=False)
    with app.app_context():
        figures.read()  # the baseline, in Lomé's months
        db.session.commit()
    monkeypatch.setitem(app.config, "AGENCY_TIMEZONE", "Europe/Paris")
    buyer = factory.user(Role.CLIENT, billing="prepaid", funds=0)
    manager = factory.user(Role.MANAGER)
    with app.app_context():
        figures.read()  # Paris has no baseline: computed
        db.session.commit()

    topup(app, buyer, manager, 5_000)
    time_machine.move_to(datetime(2026, 11, 30, 23, 30, tzinfo=UTC), tick=False)
    topup(app, buyer, manager, 7_000)
    time_machine.move_to(datetime(2026, 12, 5, 10, 0, tzinfo=UTC), tick=False)
    expected = {"2026-12": 7_000, "2026-11": 5_000}
    with app.app_context():
        assert {m.month: m.paid for m in figures.read().months} == expected  # deltas
        figures.fold()
        assert {m.month: m.paid for m in figures.read().months} == expected  # folded
        assert figures.refigure() == 0
        assert {m.month: m.paid for m in figures.read().months} == expected  # computed


def test_a_timestamp_written_by_hand_in_sqlite_is_no_month_not_an_error(app, factory,
                                                                       monkeypatch):
    """SQLite stores timestamps as text and accepts any: Python's months (Paris) read one that
    is not ISO as no month, where the error it raised failed the whole page."""
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("PostgreSQL's timestamp columns hold only timestamps")
    monkeypatch.setitem(app.config, "AGENCY_TIMEZONE", "Europe/Paris")
    buyer = factory.user(Role.CLIENT, billing="prepaid", funds=0)
    manager = factory.user(Role.MANAGER)
    topup(app, buyer, manager, 5_000)
    topup(app, buyer, manager, 3_000)
    with app.app_context():
        first = db.session.scalar(sa.select(sa.func.min(Payment.id)))
        db.session.execute(sa.text("UPDATE payments SET decided_at = '2026-11-31 10:00:00' "
                                   "WHERE id = :id"), {"id": first})
        db.session.commit()
        shown = {m.month: m.paid for m in computed(app).months}
    assert sum(shown.values()) == 3_000


@pytest.mark.parametrize("written", ["2026-11-31 10:00:00", "0001-01-01 00:00:00",
                                     "9999-12-31 23:30:00", "", None])
@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York", "Asia/Tokyo"])
def test_python_months_never_raise(written, zone):
    """SQLite's portal_local_month never raises (an exception inside SQLite fails the whole
    statement, the page): what is no timestamp, or one the zone moves out of Python's years,
    is no month."""
    from portal.billing.months import local_month

    month = local_month(written, zone)
    assert month is None or (written.startswith(("0001", "9999")) and len(month) == 7)
    assert local_month("2026-11-30 23:30:00", zone) == (
        "2026-11" if zone == "America/New_York" else "2026-12")
