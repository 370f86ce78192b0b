"""The money of the agency driven at random (Hypothesis RuleBasedStateMachine), through the
services: two companies (one prepaid, one postpaid within a credit limit) place orders of any
size, top up (payments confirmed, rejected, confirmed twice), adjust, get orders written,
approved, cancelled (by the client, or by a manager charging a part), credit notes issued on
their invoices, and now and then a year passes. After every step:

- each company's stored balance and reserved amount equal the sums of its ledger;
- what is reserved is exactly the prices of its open orders (each open order holds its price,
  an order waiting for payment or finished holds nothing);
- each approved order was captured once, for its price; each cancelled order released what it
  held (less what a manager charged, captured once);
- nothing is below its credit limit;
- invoice numbers and credit note numbers are 1, 2, 3… in each year, without a gap;
- every capture of a prepaid company is on exactly one invoice.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import time_machine
from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from portal.accounts.models import Role, User
from portal.billing import invoices, ledger, payments
from portal.billing.models import (
    BillingMode,
    Company,
    CreditNote,
    EntryKind,
    Invoice,
    InvoiceLine,
    LedgerEntry,
    Payment,
    PaymentMethod,
)
from portal.errors import DomainError
from portal.extensions import db
from portal.orders import service
from portal.orders.models import Order, OrderStatus
from tests.conftest import empty_database
from tests.factories import deliverable
from tests.security.fuzz_support import SLOW_IS_FINE, example_counter, examples

S = OrderStatus
RUNS = examples(int(os.environ.get("PORTAL_MONEY_RUNS", "12")))
STEPS = 30
HOLDING = (S.OPEN, S.IN_PROGRESS, S.DELIVERED, S.REVISION_REQUESTED)
COMPANIES = ("prepaid", "postpaid")
WORDS = st.sampled_from([200, 400, 600, 1200])  # 5,000 to 30,000 at 25 per word


class MoneyMachine(RuleBasedStateMachine):
    app = None
    factory = None
    counter = None

    def __init__(self) -> None:
        super().__init__()
        empty_database(self.app)
        self.clock = time_machine.travel(datetime(2026, 12, 20, 9, 0, tzinfo=UTC), tick=False)
        self.now = self.clock.start()
        factory = self.factory
        self.tier = factory.tier(client_price_per_word=25, writer_pay_per_word=15,
                                 min_lead_hours=24)
        self.content_type = factory.content_type()
        self.clients = {
            "prepaid": factory.user(Role.CLIENT, billing="prepaid"),
            "postpaid": factory.user(Role.CLIENT, billing="postpaid", credit_limit=30_000),
        }
        self.writer = factory.writer(tiers=[self.tier])
        self.manager = factory.user(Role.MANAGER)
        self.orders: list[tuple[int, str]] = []  # (order id, company)
        self.payments: list[int] = []
        self.references = 0
        self.counter.add("money runs")

    def teardown(self) -> None:
        self.clock.stop()

    # --- helpers ----------------------------------------------------------------------------

    def act(self, work) -> bool:
        """Run a step in its own transaction; a refusal rolls back. True when it went
        through."""
        with self.app.app_context():
            try:
                work()
                db.session.commit()
            except DomainError:
                db.session.rollback()
                return False
            finally:
                db.session.remove()
        self.counter.add("money steps")
        return True

    @staticmethod
    def person(user) -> User:
        return db.session.get(User, user.id)

    def order_in(self, index: int, *statuses) -> int | None:
        with self.app.app_context():
            found = [order_id for order_id, _company in self.orders
                     if db.session.get(Order, order_id).status in statuses]
            db.session.remove()
        return found[index % len(found)] if found else None

    # --- rules ------------------------------------------------------------------------------

    @initialize(which=st.sampled_from(COMPANIES), words=WORDS)
    def first_order(self, which, words):
        self.place_order(which, words)

    @precondition(lambda self: len(self.orders) < 10)
    @rule(which=st.sampled_from(COMPANIES), words=WORDS)
    def place_order(self, which, words):
        client = self.clients[which]

        def place():
            order = service.create_draft(self.person(client), service.Brief(
                title="Un article", content_type_id=self.content_type.id, language="fr",
                words_min=100, words_max=words, tier_id=self.tier.id,
                deadline=datetime.now(UTC) + timedelta(days=10)))
            service.submit(order, self.person(client))
            db.session.flush()
            self.orders.append((order.id, which))

        self.act(place)

    @rule(which=st.sampled_from(COMPANIES), amount=st.sampled_from([5_000, 10_000, 30_000]),
          outcome=st.sampled_from(["confirm", "confirm", "reject", "leave"]))
    def top_up(self, which, amount, outcome):
        client = self.clients[which]
        self.references += 1
        reference = f"TX-{self.references}"

        def pay():
            proforma = payments.request_topup(self.person(client), amount)
            payment = payments.declare_for_proforma(self.person(client), proforma,
                                                    payments.Declaration(
                                                        PaymentMethod.FLOOZ, reference, amount))
            if outcome == "confirm":
                payments.confirm(payment, self.person(self.manager))
            elif outcome == "reject":
                payments.reject(payment, self.person(self.manager), "Rien reçu.")
            db.session.flush()
            self.payments.append(payment.id)

        self.act(pay)

    @precondition(lambda self: self.payments)
    @rule(index=st.integers(0, 50))
    def confirm_again(self, index):
        """Confirming a payment already decided changes nothing (a payment credits once)."""
        payment_id = self.payments[index % len(self.payments)]
        self.act(lambda: payments.confirm(db.session.get(Payment, payment_id),
                                          self.person(self.manager)))

    @rule(which=st.sampled_from(COMPANIES), amount=st.sampled_from([-5_000, 2_000, 10_000]))
    def adjust(self, which, amount):
        client = self.clients[which]

        def change():
            from portal.billing.companies import company_of

            ledger.adjust(company_of(self.person(client)), self.person(self.manager), amount,
                          "Correction.")

        self.act(change)

    @rule(index=st.integers(0, 50))
    def write_and_deliver(self, index):
        order_id = self.order_in(index, S.OPEN, S.REVISION_REQUESTED)
        if order_id is None:
            return

        def work():
            order = db.session.get(Order, order_id)
            writer = self.person(self.writer)
            if order.status is S.OPEN:
                service.claim(order, writer)
            draft = service.draft_for(order)
            service.save_draft(order, writer, deliverable(order, f"Texte {draft.version}."),
                               base_version=draft.version)
            service.deliver(order, writer)

        self.act(work)

    @rule(index=st.integers(0, 50), revise=st.booleans())
    def review(self, index, revise):
        order_id = self.order_in(index, S.DELIVERED)
        if order_id is None:
            return

        def decide():
            order = db.session.get(Order, order_id)
            client = self.person(order.client)
            if revise and order.revisions_left:
                service.request_revision(order, client, "Encore un effort.")
            else:
                service.approve(order, client, 4)

        self.act(decide)

    @rule(index=st.integers(0, 50), by_manager=st.booleans(),
          share=st.sampled_from([0, 0, 1, 2]))
    def cancel(self, index, by_manager, share):
        order_id = self.order_in(index, S.AWAITING_PAYMENT, S.OPEN, S.IN_PROGRESS, S.DELIVERED,
                                 S.REVISION_REQUESTED)
        if order_id is None:
            return

        def stop():
            order = db.session.get(Order, order_id)
            worked = order.status in (S.IN_PROGRESS, S.DELIVERED, S.REVISION_REQUESTED)
            if by_manager or worked:
                charge = (order.price_total * share) // 4 if worked else 0
                service.cancel(order, self.person(self.manager),
                               "Travail arrêté." if charge else "", charge=charge)
            else:
                service.cancel(order, self.person(order.client), "Plus besoin.")

        self.act(stop)

    @rule(index=st.integers(0, 50), part=st.sampled_from([1, 2, 4]))
    def credit_note(self, index, part):
        def issue():
            found = db.session.scalars(sa.select(Invoice).order_by(Invoice.id)).all()
            if not found:
                return
            invoice = found[index % len(found)]
            amount = max(1, invoice.creditable // part) if invoice.creditable else 1
            invoices.issue_credit_note(invoice, self.person(self.manager), amount,
                                       "Geste commercial.")

        self.act(issue)

    @rule(days=st.sampled_from([3, 40, 370]))
    def time_passes(self, days):
        """Days go by (the next month, the next year); the postpaid month is invoiced."""
        self.now.shift(timedelta(days=days))
        self.act(invoices.invoice_postpaid_months)

    # --- what must always hold --------------------------------------------------------------

    @invariant()
    def the_money_adds_up(self):
        with self.app.app_context():
            assert ledger.disagreements() == {}, "a stored sum differs from the ledger"
            held_by_order = dict(db.session.execute(
                sa.select(LedgerEntry.order_id, sa.func.sum(LedgerEntry.held))
                .where(LedgerEntry.order_id.is_not(None)).group_by(LedgerEntry.order_id)).all())
            captured = {}
            for order_id, amount in db.session.execute(
                    sa.select(LedgerEntry.order_id, LedgerEntry.amount)
                    .where(LedgerEntry.kind == EntryKind.CAPTURE)):
                assert order_id not in captured, f"order {order_id} captured twice"
                captured[order_id] = -amount
            for company in db.session.scalars(sa.select(Company)):
                assert company.balance - company.held >= -company.credit_limit, company
                open_prices = db.session.scalar(
                    sa.select(sa.func.coalesce(sa.func.sum(Order.price_total), 0)).where(
                        Order.company_id == company.id, Order.status.in_(HOLDING)))
                assert company.held == open_prices, "reserved is not the open orders' prices"
            for order in db.session.scalars(sa.select(Order)):
                held = held_by_order.get(order.id, 0) or 0
                if order.status in HOLDING:
                    assert held == order.price_total, f"{order} holds {held}"
                else:
                    assert held == 0, f"{order} still holds {held}"
                if order.status is S.APPROVED:
                    assert captured.get(order.id) == order.price_total, f"{order} capture"
                elif order.status is S.CANCELLED:
                    assert 0 <= captured.get(order.id, 0) <= (order.price_total or 0)
                else:
                    assert order.id not in captured
            for model in (Invoice, CreditNote):
                years: dict[int, list[int]] = {}
                for year, sequence in db.session.execute(sa.select(model.year, model.sequence)):
                    years.setdefault(year, []).append(sequence)
                for year, sequences in years.items():
                    assert sorted(sequences) == list(range(1, len(sequences) + 1)), \
                        f"{model.__tablename__} of {year}: {sorted(sequences)}"
                if len(years) > 1:
                    self.counter.add("money steps across years")
            billed = Counter(db.session.scalars(
                sa.select(InvoiceLine.entry_id).where(InvoiceLine.entry_id.is_not(None))))
            assert all(n == 1 for n in billed.values()), "a capture billed twice"
            prepaid_captures = db.session.scalars(
                sa.select(LedgerEntry.id).join(Company, Company.id == LedgerEntry.company_id)
                .where(LedgerEntry.kind == EntryKind.CAPTURE,
                       Company.billing_mode == BillingMode.PREPAID)).all()
            assert all(billed[entry_id] == 1 for entry_id in prepaid_captures)
            db.session.remove()


def test_money_adds_up_whatever_people_do(app, factory, request):
    machine = type("Money", (MoneyMachine,), {
        "app": app, "factory": factory, "counter": example_counter(request.config),
    })
    run_state_machine_as_test(machine, settings=settings(
        max_examples=RUNS, stateful_step_count=STEPS, deadline=None, database=None,
        suppress_health_check=SLOW_IS_FINE,
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
    ))
