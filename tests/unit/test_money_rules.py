"""The rules of money, one by one, through the services: what is refused changes nothing, what
is allowed moves the ledger as the issue says, and the stored sums always equal the ledger's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from portal.accounts.models import Role, User
from portal.billing import companies, earnings, invoices, ledger, payments
from portal.billing.models import (
    BillingMode,
    Company,
    CreditNote,
    EntryKind,
    Invoice,
    InvoiceKind,
    LedgerEntry,
    PaymentMethod,
    PaymentStatus,
    WriterEarning,
)
from portal.errors import Conflict, DomainError, NotAllowed
from portal.extensions import db
from portal.orders import service
from portal.orders.models import Order, OrderStatus
from tests.security.fuzz_support import diff, snapshot


@pytest.fixture
def people(factory):
    class People:
        tier = factory.tier(client_price_per_word=25, writer_pay_per_word=15)
        client = factory.user(Role.CLIENT, billing="prepaid", company="Hôtel Les Collines")
        other = factory.user(Role.CLIENT, billing="prepaid", company="Café d'Atakpamé")
        manager = factory.user(Role.MANAGER)
        writer = factory.writer(tiers=[tier])

    return People


def person(user) -> User:
    return db.session.get(User, user.id)


def company_of(user) -> Company:
    return companies.company_of(person(user))


def refused(app, work, error=DomainError):
    """`work` raises `error` and the database is as it was."""
    before = snapshot(app)
    with app.app_context():
        with pytest.raises(error) as caught:
            work()
        db.session.rollback()
        db.session.remove()
    assert not diff(before, snapshot(app)), "a refused change stored something"
    return caught.value


def declare(user, proforma, method=PaymentMethod.FLOOZ, reference="TX-1", amount=None):
    return payments.declare_for_proforma(person(user), proforma, payments.Declaration(
        method, reference, amount if amount is not None else proforma.amount))


def topped_up(people, amount=50_000, reference="TX-1"):
    """A proforma paid and confirmed for the client's company; returns the payment."""
    proforma = payments.request_topup(person(people.client), amount)
    payment = declare(people.client, proforma, reference=reference, amount=amount)
    payments.confirm(payment, person(people.manager))
    db.session.commit()
    return payment


# --- top-ups and payments -----------------------------------------------------------------------


@pytest.mark.parametrize("amount", [0, -5_000, 10**12, 999])
def test_absurd_top_ups_are_refused(app, people, amount):
    error = refused(app, lambda: payments.request_topup(person(people.client), amount),
                    Conflict)
    assert error.field == "amount"


def test_a_reference_pays_once_per_method_unless_the_payment_was_rejected(app, people, ctx):
    with ctx() as session:
        first = payments.request_topup(person(people.client), 10_000)
        second = payments.request_topup(person(people.client), 10_000)
        payment = declare(people.client, first, reference="TX 77-12")
        session.commit()
        first_id, second_id, payment_id = first.id, second.id, payment.id

    def again(reference, method=PaymentMethod.FLOOZ):
        from portal.billing.models import Proforma

        return declare(people.client, db.session.get(Proforma, second_id), method, reference)

    # Spaces, dashes and case do not make another reference.
    error = refused(app, lambda: again("tx7712"), Conflict)
    assert error.field == "reference"
    with ctx() as session:
        again("TX 77-12", PaymentMethod.MIXX)  # another method, another number space
        session.rollback()
        from portal.billing.models import Payment

        payments.reject(session.get(Payment, payment_id), person(people.manager),
                        "Rien reçu sous cette référence.")
        session.commit()
        again("TX 77-12")  # the rejected one no longer holds it
        session.commit()
    assert first_id != second_id


def test_confirming_a_rejected_payment_is_refused(app, people, ctx):
    with ctx() as session:
        proforma = payments.request_topup(person(people.client), 10_000)
        payment = declare(people.client, proforma)
        payments.reject(payment, person(people.manager), "Montant introuvable.")
        session.commit()
        payment_id = payment.id

    from portal.billing.models import Payment

    error = refused(app, lambda: payments.confirm(db.session.get(Payment, payment_id),
                                                  person(people.manager)), Conflict)
    assert "rejected" in error.message or "rejet" in error.message


def test_only_managers_confirm_and_a_rejection_needs_a_reason(app, people, ctx):
    with ctx() as session:
        payment = declare(people.client, payments.request_topup(person(people.client), 10_000))
        session.commit()
        payment_id = payment.id
    from portal.billing.models import Payment

    refused(app, lambda: payments.confirm(db.session.get(Payment, payment_id),
                                          person(people.client)), NotAllowed)
    refused(app, lambda: payments.reject(db.session.get(Payment, payment_id),
                                         person(people.manager), "  "), Conflict)


def test_another_companys_proforma_cannot_be_declared(app, people, ctx):
    with ctx() as session:
        proforma = payments.request_topup(person(people.client), 10_000)
        session.commit()
        proforma_id = proforma.id
    from portal.billing.models import Proforma

    refused(app, lambda: declare(people.other, db.session.get(Proforma, proforma_id)),
            NotAllowed)


# --- holds, captures and releases ---------------------------------------------------------------


def test_a_cancelled_order_gives_its_reservation_back(factory, people, ctx):
    order = factory.order(client=people.client, tier=people.tier, status=OrderStatus.DRAFT)
    with ctx() as session:
        topped_up(people, 50_000)
        found = session.get(Order, order.id)
        service.submit(found, person(people.client))
        session.commit()
        company = company_of(people.client)
        assert (company.balance, company.held) == (50_000, found.price_total)
        service.cancel(found, person(people.client), "Plus besoin.")
        session.commit()
        session.refresh(company)
        assert (company.balance, company.held) == (50_000, 0)
        assert ledger.disagreements() == {}


def test_a_manager_cancelling_work_in_progress_charges_a_part(factory, people, ctx, app):
    with ctx() as session:
        topped_up(people, 50_000)
    order = factory.order(client=people.client, tier=people.tier, writer=people.writer,
                          status=OrderStatus.IN_PROGRESS, words_max=800)  # 20,000
    # A client may not charge; nor may anyone charge more than the price, or without reason.
    refused(app, lambda: service.cancel(db.session.get(Order, order.id), person(people.client),
                                        "Non.", charge=5_000), NotAllowed)
    refused(app, lambda: service.cancel(db.session.get(Order, order.id),
                                        person(people.manager), "Trop.", charge=20_001),
            Conflict)
    refused(app, lambda: service.cancel(db.session.get(Order, order.id),
                                        person(people.manager), "", charge=5_000), Conflict)
    with ctx() as session:
        service.cancel(session.get(Order, order.id), person(people.manager),
                       "La moitié du texte était écrite.", charge=8_000)
        session.commit()
        company = company_of(people.client)
        assert (company.balance, company.held) == (42_000, 0)
        invoice = session.scalars(sa.select(Invoice).where(Invoice.kind == InvoiceKind.ORDERS)
                                  ).one()
        assert invoice.total == 8_000 and invoice.due == 0
        assert "cancelled" in invoice.lines[0].description \
            or "annulée" in invoice.lines[0].description
        kinds = [e.kind for e in session.scalars(
            sa.select(LedgerEntry).where(LedgerEntry.order_id == order.id)
            .order_by(LedgerEntry.id))]
        assert kinds == [EntryKind.HOLD, EntryKind.CAPTURE, EntryKind.RELEASE]
        assert session.scalar(sa.select(WriterEarning.id)) is None


def test_money_released_by_a_cancellation_pays_a_waiting_order(factory, people, ctx):
    with ctx() as session:
        topped_up(people, 15_000)
    big = factory.order(client=people.client, tier=people.tier, status=OrderStatus.OPEN,
                        words_max=600)  # 15,000: all the money
    waiting = factory.order(client=people.client, tier=people.tier,
                            status=OrderStatus.AWAITING_PAYMENT, words_max=400)  # 10,000
    with ctx() as session:
        service.cancel(session.get(Order, big.id), person(people.client), "Autre priorité.")
        session.commit()
        assert session.get(Order, waiting.id).status is OrderStatus.OPEN
        company = company_of(people.client)
        assert (company.balance, company.held) == (15_000, 10_000)


def test_the_oldest_waiting_order_that_fits_goes_first(factory, people, ctx):
    large = factory.order(client=people.client, tier=people.tier,
                          status=OrderStatus.AWAITING_PAYMENT, words_max=2000)  # 50,000
    small = factory.order(client=people.client, tier=people.tier,
                          status=OrderStatus.AWAITING_PAYMENT, words_max=400)  # 10,000
    with ctx() as session:
        topped_up(people, 20_000)
        assert session.get(Order, large.id).status is OrderStatus.AWAITING_PAYMENT
        assert session.get(Order, small.id).status is OrderStatus.OPEN


def test_a_postpaid_company_orders_within_its_credit_limit(factory, ctx, app):
    tier = factory.tier(client_price_per_word=25)
    client = factory.user(Role.CLIENT, billing="postpaid", credit_limit=30_000)
    first = factory.order(client=client, tier=tier, status=OrderStatus.OPEN, words_max=800)
    second = factory.order(client=client, tier=tier, status=OrderStatus.DRAFT, words_max=800)
    with ctx() as session:
        service.submit(session.get(Order, second.id), person(client))
        session.commit()
        # 20,000 held on credit; 10,000 left: the second waits for payment.
        assert session.get(Order, second.id).status is OrderStatus.AWAITING_PAYMENT
        company = companies.company_of(person(client))
        assert (company.balance, company.held, company.spendable) == (0, 20_000, 10_000)
        assert session.get(Order, first.id).status is OrderStatus.OPEN


def test_terms_cannot_take_a_company_below_what_it_uses(factory, people, ctx, app):
    tier = factory.tier(client_price_per_word=25)
    client = factory.user(Role.CLIENT, billing="postpaid", credit_limit=30_000)
    factory.order(client=client, tier=tier, status=OrderStatus.OPEN, words_max=800)
    error = refused(app, lambda: companies.set_terms(
        companies.company_of(person(client)), person(people.manager), BillingMode.PREPAID, 0),
        Conflict)
    assert error.field == "credit_limit"
    refused(app, lambda: companies.set_terms(
        companies.company_of(person(client)), person(client), BillingMode.POSTPAID, 50_000),
        NotAllowed)
    with ctx() as session:
        companies.set_terms(companies.company_of(person(client)), person(people.manager),
                            BillingMode.POSTPAID, 50_000)
        session.commit()
        assert companies.company_of(person(client)).credit_limit == 50_000


def test_adjustments_need_a_manager_a_reason_and_money_to_take(app, people, ctx):
    with ctx():
        company_id = company_of(people.client).id

    def adjust(who, amount, reason="Geste commercial."):
        return ledger.adjust(db.session.get(Company, company_id), person(who), amount, reason)

    refused(app, lambda: adjust(people.client, 5_000), NotAllowed)
    refused(app, lambda: adjust(people.manager, 0), Conflict)
    refused(app, lambda: adjust(people.manager, 10**10), Conflict)
    refused(app, lambda: adjust(people.manager, 5_000, " "), Conflict)
    refused(app, lambda: adjust(people.manager, -1), Conflict)  # nothing to take
    with ctx() as session:
        adjust(people.manager, 5_000)
        adjust(people.manager, -2_000, "Erreur de saisie.")
        session.commit()
        assert session.get(Company, company_id).balance == 3_000
        assert ledger.disagreements() == {}


# --- invoices and credit notes ------------------------------------------------------------------


def test_invoice_numbers_follow_each_other_and_start_again_each_year(factory, people, ctx):
    with time_machine.travel(datetime(2026, 12, 31, 12, 0, tzinfo=UTC), tick=False), ctx():
        topped_up(people, 10_000, "A-1")
        topped_up(people, 10_000, "A-2")
    with time_machine.travel(datetime(2027, 1, 1, 8, 0, tzinfo=UTC), tick=False), ctx():
        topped_up(people, 10_000, "A-3")
    with ctx() as session:
        numbers = session.scalars(sa.select(Invoice.number).order_by(Invoice.id)).all()
    assert numbers == ["FA-2026-00001", "FA-2026-00002", "FA-2027-00001"]


def test_an_issued_invoice_is_never_changed_nor_deleted(app, people, ctx):
    with ctx():
        topped_up(people)
    from portal.billing.invoices import ImmutableDocument

    def edit():
        invoice = db.session.scalars(sa.select(Invoice)).one()
        invoice.total = 1
        db.session.flush()

    def edit_line():
        invoice = db.session.scalars(sa.select(Invoice)).one()
        invoice.lines[0].amount = 1
        db.session.flush()

    def delete():
        db.session.delete(db.session.scalars(sa.select(Invoice)).one())
        db.session.flush()

    def delete_entry():
        db.session.delete(db.session.scalars(sa.select(LedgerEntry)).first())
        db.session.flush()

    for work in (edit, edit_line, delete, delete_entry):
        error = refused(app, work, ImmutableDocument)
        assert "credit note" in error.message or "avoir" in error.message


def test_a_credit_note_cancels_part_of_an_invoice_and_refunds_the_balance(factory, people,
                                                                         ctx, app):
    with ctx():
        topped_up(people, 50_000)
    factory.order(client=people.client, tier=people.tier, writer=people.writer,
                  status=OrderStatus.APPROVED, words_max=800)  # invoiced 20,000
    with ctx() as session:
        invoice_id = session.scalar(sa.select(Invoice.id).where(
            Invoice.kind == InvoiceKind.ORDERS))

    def note(amount, reason="Texte livré en retard.", who=people.manager):
        return invoices.issue_credit_note(db.session.get(Invoice, invoice_id), person(who),
                                          amount, reason)

    refused(app, lambda: note(5_000, who=people.client), NotAllowed)
    for amount in (0, -1, 20_001):
        assert refused(app, lambda amount=amount: note(amount), Conflict).field == "amount"
    refused(app, lambda: note(5_000, " "), Conflict)
    with ctx() as session:
        credit = note(5_000)
        session.commit()
        assert credit.number.startswith("AV-") and credit.number.endswith("-00001")
        invoice = session.get(Invoice, invoice_id)
        assert (invoice.credited, invoice.creditable) == (5_000, 15_000)
        # The client's balance: 50,000 - 20,000 charged + 5,000 back.
        assert company_of(people.client).balance == 35_000
        assert credit.document_id is not None
    # The rest of the invoice, no more.
    assert refused(app, lambda: note(15_001), Conflict).field == "amount"
    with ctx() as session:
        note(15_000)
        session.commit()
        assert session.get(Invoice, invoice_id).creditable == 0
        assert session.scalar(sa.select(sa.func.count(CreditNote.id))) == 2
        assert ledger.disagreements() == {}


def test_a_deposit_cancelled_leaves_the_balance_only_if_it_still_holds_it(factory, people,
                                                                         ctx, app):
    with ctx():
        payment_id = topped_up(people, 20_000).id
        deposit_id = db.session.scalar(sa.select(Invoice.id).where(
            Invoice.kind == InvoiceKind.DEPOSIT))
    factory.order(client=people.client, tier=people.tier, status=OrderStatus.OPEN,
                  words_max=600)  # 15,000 held
    error = refused(app, lambda: invoices.issue_credit_note(
        db.session.get(Invoice, deposit_id), person(people.manager), 10_000,
        "Remboursement demandé."), Conflict)
    assert error.field == "amount"
    with ctx() as session:
        invoices.issue_credit_note(session.get(Invoice, deposit_id), person(people.manager),
                                   5_000, "Remboursement partiel en espèces.")
        session.commit()
        company = company_of(people.client)
        assert (company.balance, company.held) == (15_000, 15_000)
        from portal.billing.models import Payment

        assert session.get(Payment, payment_id).status is PaymentStatus.CONFIRMED


def test_a_postpaid_company_gets_one_invoice_for_its_month(factory, ctx):
    tier = factory.tier(client_price_per_word=25)
    client = factory.user(Role.CLIENT, billing="postpaid", credit_limit=100_000)
    with time_machine.travel(datetime(2026, 11, 10, 9, 0, tzinfo=UTC), tick=False):
        for words in (400, 800):
            factory.order(client=client, tier=tier, status=OrderStatus.APPROVED,
                          words_max=words, deadline=datetime(2026, 11, 30, tzinfo=UTC))
    with time_machine.travel(datetime(2026, 12, 1, 6, 0, tzinfo=UTC), tick=False), ctx() as s:
        assert s.scalar(sa.select(sa.func.count(Invoice.id))) == 0  # nothing at approval
        assert invoices.invoice_postpaid_months() == 1
        s.commit()
        invoice = s.scalars(sa.select(Invoice)).one()
        assert (invoice.period, invoice.total, invoice.due) == ("2026-11", 30_000, 30_000)
        assert len(invoice.lines) == 2
        assert invoices.invoice_postpaid_months() == 0  # once per month
        # The client pays it: the balance comes back to 0 and the invoice is settled.
        payment = payments.declare_for_invoice(
            person(client), invoice, payments.Declaration(PaymentMethod.BANK_TRANSFER,
                                                          "VIR-2026-1201", 30_000))
        payments.confirm(payment, None)
        s.commit()
        s.refresh(invoice)
        assert invoice.due == 0 and invoice.settled_at is not None
        assert companies.company_of(person(client)).balance == 0


# --- writers ------------------------------------------------------------------------------------


def test_writers_are_paid_their_earnings_once_in_a_batch(factory, people, ctx, app):
    for _n in range(2):
        factory.order(client=factory.user(Role.CLIENT), tier=people.tier,
                      writer=people.writer, status=OrderStatus.APPROVED, words_max=400)
    lines = [earnings.PayoutLine(people.writer.id, PaymentMethod.FLOOZ, "FL-889")]
    refused(app, lambda: earnings.pay_out(person(people.client), lines), NotAllowed)
    refused(app, lambda: earnings.pay_out(person(people.manager), [
        earnings.PayoutLine(people.writer.id, PaymentMethod.FLOOZ, "")]), Conflict)
    refused(app, lambda: earnings.pay_out(person(people.manager), []), Conflict)
    with ctx() as session:
        assert earnings.summary(person(people.writer)).earned_unpaid == 12_000
        batch = earnings.pay_out(person(people.manager), lines, "Paie de novembre")
        session.commit()
        assert batch.total == 12_000
        summary = earnings.summary(person(people.writer))
        assert (summary.earned_unpaid, summary.paid) == (0, 12_000)
    # Nothing left to pay: the same payout again is refused.
    refused(app, lambda: earnings.pay_out(person(people.manager), lines), Conflict)


def test_writers_below_the_threshold_are_not_paid(factory, people, app):
    factory.order(client=factory.user(Role.CLIENT), tier=people.tier, writer=people.writer,
                  status=OrderStatus.APPROVED, words_min=100, words_max=200)  # 3,000 < 5,000
    with app.app_context():
        assert earnings.payable_writers(app.config["PAYOUT_THRESHOLD"]) == []
    refused(app, lambda: earnings.pay_out(person(people.manager), [
        earnings.PayoutLine(people.writer.id, PaymentMethod.CASH, "")]), Conflict)


def test_an_auto_approved_order_is_captured_and_earned_too(factory, people, ctx):
    with ctx():
        topped_up(people, 50_000)
    order = factory.order(client=people.client, tier=people.tier, writer=people.writer,
                          status=OrderStatus.DELIVERED, words_max=400)
    with ctx() as session:
        service.auto_approve_due(datetime.now(UTC) + timedelta(days=30))
        session.commit()
        assert session.get(Order, order.id).status is OrderStatus.APPROVED
        assert company_of(people.client).balance == 40_000
        assert session.scalar(sa.select(WriterEarning.amount)) == 6_000
        assert session.scalar(sa.select(sa.func.count(Invoice.id)).where(
            Invoice.kind == InvoiceKind.ORDERS)) == 1


def test_flask_billing_check_finds_a_stored_sum_that_differs(app, people, ctx):
    with ctx():
        topped_up(people, 10_000)
    runner = app.test_cli_runner()
    with app.app_context():
        result = runner.invoke(args=["billing", "check"])
    assert result.exit_code == 0, result.output
    assert "every company agrees" in result.output
    with ctx() as session:  # a repair by hand gone wrong
        company_id = company_of(people.client).id
        session.execute(sa.update(Company).where(Company.id == company_id)
                        .values(balance=Company.balance + 1))
        session.commit()
    with app.app_context():
        result = runner.invoke(args=["billing", "check"])
    assert result.exit_code == 1 and "1 differ" in result.output
    with ctx() as session:
        session.execute(sa.update(Company).where(Company.id == company_id)
                        .values(balance=Company.balance - 1))
        session.commit()
