"""The finance page's ended months are stored once: the page shows what the live computation
over the whole window shows, reads the stored months in one statement and computes only the
current month; the month that ends is stored at the first view after it; a row written by
hand into an ended month waits for the repair (`flask billing refigure`, the mail worker's
night), which logs the month that differed and puts it right."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from portal.accounts.models import Role, User
from portal.billing import figures, invoices, payments
from portal.billing.models import FinanceMonth, Invoice, Payment, PaymentMethod, PaymentStatus
from portal.extensions import db
from portal.ops.recount import recount_counters
from portal.orders.models import OrderStatus
from tests.conftest import counted_statements


def live() -> tuple[list[figures.Month], list[tuple]]:
    """The whole window computed from the documents and earnings (what the page computed
    before the months were stored)."""
    table, per_tier = figures._grouped(figures._ended()[0][1])
    return sorted(table.values(), key=lambda m: m.month, reverse=True), per_tier


def stored_months(app) -> dict[str, tuple]:
    with app.app_context():
        return {row.month: (row.invoiced, row.deposits, row.credited, row.paid, row.sales,
                            row.writer_pay, row.tiers)
                for row in db.session.scalars(sa.select(FinanceMonth))}


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
    """Money over several months: approved orders on two tiers (an invoice and an earning
    each), a top-up paid (a deposit invoice, a confirmed payment), a credit note; the clock
    stops on 5 December 2026."""
    def at(moment: datetime) -> None:
        time_machine.move_to(moment, tick=True)

    at(datetime(2025, 11, 20, 9, 0, tzinfo=UTC))  # before the window: never shown
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


def test_the_stored_months_show_what_the_live_computation_shows(app, agency):
    with app.app_context():
        expected = live()
        assert [m.month for m in expected[0]] == ["2026-12", "2026-11", "2026-09", "2026-07"]
        assert {tier for _m, tier, *_rest in expected[1]} == {"Standard", "Expert"}
        assert figures.months() == expected  # the first view: computes and stores
        db.session.commit()
    assert sorted(stored_months(app)) == [f"2026-{n:02}" for n in range(1, 12)]
    assert stored_months(app)["2026-07"][-1] == [[name, sales, pay] for month, name, sales, pay,
                                                 _margin in expected[1] if month == "2026-07"]
    with app.app_context():
        with counted_statements(app) as statements:
            shown = figures.months()  # the next: reads them
        assert shown == live()
    assert len(statements) == 5  # the stored months, and this month's four grouped statements
    assert not [s for s in statements if "writer_earnings" in s and "2026-07" in s]


def test_the_page_commits_the_months_it_stored_and_reads_them_afterwards(
        app, agency, login_as):
    manager = login_as(agency["manager"])
    with counted_statements(app) as first:
        assert manager.get("/agency/finance").status_code == 200
    assert len(stored_months(app)) == 11
    with counted_statements(app) as warm:
        page = manager.get("/agency/finance").get_data(as_text=True)
    assert len(warm) == len(first) - 5  # the four statements over the ended months, the insert
    assert 'data-testid="month-2026-07"' in page and 'data-testid="month-2025-11"' not in page


def test_a_month_stored_meanwhile_by_another_request_is_left_alone(app, agency, monkeypatch):
    with app.app_context():
        shown = figures.months()
        db.session.commit()
    before = stored_months(app)
    monkeypatch.setattr(figures, "_stored", lambda keys: {})  # read before the other committed
    with app.app_context():
        assert figures.months() == shown  # its insert meets the stored rows: nothing fails
        db.session.commit()
    assert stored_months(app) == before


def test_the_month_that_ends_is_stored_at_the_first_view_after_it(app, agency, time_machine):
    time_machine.move_to(datetime(2026, 11, 30, 23, 30, tzinfo=UTC), tick=False)
    with app.app_context():
        figures.months()
        db.session.commit()
        november = next(m for m in figures.months()[0] if m.month == "2026-11")
    assert november.sales > 0
    assert "2026-11" not in stored_months(app) and "2025-12" in stored_months(app)

    # In its first hour November is still computed, not stored: a transaction begun before
    # midnight (the worker's auto-approvals) may still commit rows dated in it.
    time_machine.move_to(datetime(2026, 12, 1, 0, 10, tzinfo=UTC), tick=False)
    with app.app_context():
        with counted_statements(app) as statements:
            shown = figures.months()
        db.session.commit()
        assert shown == live()
        assert figures.refigure() == 0
        db.session.commit()
    assert len(statements) == 5  # read, then November and December in the same four
    assert "2026-11" not in stored_months(app)

    time_machine.move_to(datetime(2026, 12, 1, 1, 10, tzinfo=UTC), tick=False)
    with app.app_context():
        with counted_statements(app) as statements:
            shown = figures.months()
        db.session.commit()
        assert shown == live()
    assert len(statements) == 10  # read, November's four, its insert, December's four
    assert november in shown[0]
    assert stored_months(app)["2026-11"][:6] == (
        november.invoiced, november.deposits, november.credited, november.paid,
        november.sales, november.writer_pay)


def test_a_row_written_into_an_ended_month_waits_for_the_repair_which_logs_it(
        app, agency, caplog):
    with app.app_context():
        figures.months()
        db.session.commit()
        company_id = db.session.scalar(sa.select(Payment.company_id))
        # An import by hand: a payment confirmed in October, written in December.
        db.session.add(Payment(
            company_id=company_id, amount=4_000, currency="XOF", method=PaymentMethod.CASH,
            reference="IMPORT-1", reference_key="IMPORT1", status=PaymentStatus.CONFIRMED,
            decided_at=datetime(2026, 10, 15, 12, 0, tzinfo=UTC),
            created_at=datetime(2026, 10, 15, 12, 0, tzinfo=UTC)))
        db.session.commit()
        assert "2026-10" not in [m.month for m in figures.months()[0]]  # not seen yet
        assert "2026-10" in [m.month for m in live()[0]]
    caplog.set_level(logging.INFO)

    result = app.test_cli_runner().invoke(args=["billing", "refigure"])
    assert result.exit_code == 0, result.output
    assert "finance months: 1 corrected" in result.output
    drift = [r for r in caplog.records if getattr(r, "counter", None) == "finance_months"]
    assert [(r.key, r.stored["paid"], r.actual["paid"]) for r in drift] == [
        ("2026-10", 0, 4_000)]
    with app.app_context():
        assert figures.months() == live()
        assert figures.refigure() == 0  # repaired: nothing more to say

        # The night's recount finds the next one by itself.
        db.session.execute(sa.update(Payment).where(Payment.reference == "IMPORT-1")
                           .values(amount=6_000))
        db.session.commit()
    caplog.clear()
    corrected = recount_counters(app)
    assert corrected["finance months"] == 1
    assert "finance months 1 corrected" in caplog.text
    assert "finance month drift: 2026-10" in caplog.text
    with app.app_context():
        assert figures.months() == live()
        assert stored_months(app)["2026-10"][3] == 6_000


def test_the_figures_of_today_and_this_month_scan_no_history(app, agency):
    """Every statement of a warm view uses an index on the tables that grow with the years
    (SQLite's plan; the companies, one per client, are summed whole)."""
    with app.app_context():
        figures.months()
        db.session.commit()
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's EXPLAIN QUERY PLAN")
        with counted_statements(app, parameters=True) as statements:
            figures.months()
            figures.today()
        plans = []
        for statement, parameters in statements:
            plans += [row[-1] for row in db.session.connection().exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, parameters)]
    grows = ("invoices", "credit_notes", "payments", "writer_earnings", "orders",
             "proformas", "finance_months")
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
    in UTC: it neither leaves November's stored figures nor replaces them (SQLite has no time
    zones: it reads months through Python's)."""
    monkeypatch.setitem(app.config, "AGENCY_TIMEZONE", "Europe/Paris")
    time_machine.move_to(datetime(2026, 11, 10, 9, 0, tzinfo=UTC), tick=False)
    buyer = factory.user(Role.CLIENT, billing="prepaid", funds=0)
    manager = factory.user(Role.MANAGER)

    topup(app, buyer, manager, 5_000)
    time_machine.move_to(datetime(2026, 11, 30, 23, 30, tzinfo=UTC), tick=False)
    topup(app, buyer, manager, 7_000)
    time_machine.move_to(datetime(2026, 12, 5, 10, 0, tzinfo=UTC), tick=False)
    with app.app_context():
        for _view in range(2):  # the first stores November, the next reads it
            shown = {m.month: m.paid for m in figures.months()[0]}
            db.session.commit()
            assert shown == {"2026-12": 7_000, "2026-11": 5_000}
    assert stored_months(app)["2026-11"][3] == 5_000


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
        shown = {m.month: m.paid for m in figures.months()[0]}
    assert sum(shown.values()) == 3_000


@pytest.mark.parametrize("written", ["2026-11-31 10:00:00", "0001-01-01 00:00:00",
                                     "9999-12-31 23:30:00", "", None])
@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York", "Asia/Tokyo"])
def test_python_months_never_raise(written, zone):
    """SQLite's portal_local_month never raises (an exception inside SQLite fails the whole
    statement, the page): what is no timestamp, or one the zone moves out of Python's years,
    is no month."""
    from portal.billing.earnings import local_month

    month = local_month(written, zone)
    assert month is None or (written.startswith(("0001", "9999")) and len(month) == 7)
    assert local_month("2026-11-30 23:30:00", zone) == (
        "2026-11" if zone == "America/New_York" else "2026-12")
