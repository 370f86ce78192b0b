"""Money under concurrency, with real threads and connections (each thread its own app context,
released together by a barrier), on the SQLite file database or on PostgreSQL
(TEST_DATABASE_URL):

- orders of one company submitted at once never spend more than it has: those that fit are
  held, the others wait for payment;
- invoices issued at once take the numbers that follow, none twice, none skipped;
- a payment confirmed by two managers at once credits once.
"""

from __future__ import annotations

import threading

import sqlalchemy as sa

from portal.accounts.models import Role, User
from portal.billing import companies, ledger, payments
from portal.billing.models import (
    Company,
    EntryKind,
    Invoice,
    LedgerEntry,
    Payment,
    PaymentMethod,
    Proforma,
)
from portal.errors import Conflict
from portal.extensions import db
from portal.orders import service
from portal.orders.models import Order, OrderStatus

THREADS = 8


def run_together(app, work, count: int) -> dict[int, object]:
    """Run work(n) in `count` threads started together; each outcome by n (an exception is an
    outcome)."""
    barrier = threading.Barrier(count, timeout=30)
    results: dict[int, object] = {}

    def one(n: int) -> None:
        with app.app_context():
            try:
                barrier.wait()
                results[n] = work(n)
                db.session.commit()
            except Exception as error:  # every outcome is checked by the caller
                db.session.rollback()
                results[n] = error
            finally:
                db.session.remove()

    threads = [threading.Thread(target=one, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
    return results


def test_orders_submitted_at_once_never_overdraw_their_company(app, factory, ctx):
    tier = factory.tier(client_price_per_word=25)
    # Money for three orders of 10,000, and eight submitted at once.
    client = factory.user(Role.CLIENT, billing="prepaid", funds=30_000)
    drafts = [factory.order(client=client, tier=tier, status=OrderStatus.DRAFT,
                            words_max=400).id for _n in range(THREADS)]

    def submit(n: int):
        order = db.session.get(Order, drafts[n])
        me = db.session.get(User, client.id)
        db.session.close()  # what each request read before the race; the connection goes back
        db.session.add_all([order, me])
        service.submit(order, me)
        return order.status

    results = run_together(app, submit, THREADS)

    errors = [r for r in results.values() if isinstance(r, Exception)]
    assert errors == []  # never "database is locked", never a constraint broken
    with ctx() as session:
        statuses = sorted(session.get(Order, i).status.value for i in drafts)
        assert statuses.count(OrderStatus.OPEN.value) == 3
        assert statuses.count(OrderStatus.AWAITING_PAYMENT.value) == THREADS - 3
        company = companies.company_of(session.get(User, client.id))
        assert (company.balance, company.held) == (30_000, 30_000)
        assert ledger.disagreements() == {}
        holds = session.scalar(sa.select(sa.func.count(LedgerEntry.id))
                               .where(LedgerEntry.kind == EntryKind.HOLD))
        assert holds == 3


def test_invoices_issued_at_once_take_the_following_numbers(app, factory, ctx):
    client = factory.user(Role.CLIENT, billing="prepaid")
    manager = factory.user(Role.MANAGER)
    with ctx() as session:
        ids = []
        for n in range(THREADS):
            proforma = payments.request_topup(session.get(User, client.id), 10_000)
            ids.append(payments.declare_for_proforma(
                session.get(User, client.id), proforma,
                payments.Declaration(PaymentMethod.FLOOZ, f"TX-{n}", 10_000)).id)
        session.commit()

    def confirm(n: int):
        payments.confirm(db.session.get(Payment, ids[n]), db.session.get(User, manager.id))

    results = run_together(app, confirm, THREADS)

    assert [r for r in results.values() if r is not None] == []
    with ctx() as session:
        invoices = session.execute(sa.select(Invoice.year, Invoice.sequence)).all()
        years = {year for year, _sequence in invoices}
        assert len(years) == 1
        assert sorted(sequence for _year, sequence in invoices) == list(range(1, THREADS + 1))
        company = session.scalar(sa.select(Company))
        assert company.balance == 10_000 * THREADS
        assert ledger.disagreements() == {}


def test_a_payment_confirmed_by_two_managers_at_once_credits_once(app, factory, ctx):
    client = factory.user(Role.CLIENT, billing="prepaid")
    managers = [factory.user(Role.MANAGER), factory.user(Role.MANAGER)]
    with ctx() as session:
        proforma = payments.request_topup(session.get(User, client.id), 25_000)
        payment_id = payments.declare_for_proforma(
            session.get(User, client.id), proforma,
            payments.Declaration(PaymentMethod.MIXX, "MX-42", 25_000)).id
        session.commit()

    def confirm(n: int):
        payments.confirm(db.session.get(Payment, payment_id),
                         db.session.get(User, managers[n].id))
        return "confirmed"

    results = run_together(app, confirm, 2)

    assert sorted(str(type(r).__name__) for r in results.values()) == ["Conflict", "str"]
    assert all(isinstance(r, Conflict) or r == "confirmed" for r in results.values())
    with ctx() as session:
        assert session.scalar(sa.select(sa.func.count(LedgerEntry.id))
                              .where(LedgerEntry.kind == EntryKind.TOPUP)) == 1
        assert session.scalar(sa.select(Company.balance)) == 25_000
        assert session.scalar(sa.select(sa.func.count(Invoice.id))) == 1
        assert session.scalars(sa.select(Proforma)).one().paid_at is not None
