"""The money of an order from end to end, through the services: a prepaid client with an empty
balance submits, the order waits for payment; a top-up (proforma), a declared payment, a
manager's confirmation credit the balance, issue the deposit invoice and send the order to the
writers by itself; approval captures the price, issues the next invoice and earns the writer's
pay. The stored sums always equal the ledger's."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
import time_machine

from portal.accounts.models import Role, User
from portal.billing import figures, ledger, numbering, payments
from portal.billing.models import (
    Company,
    EntryKind,
    Invoice,
    InvoiceKind,
    LedgerEntry,
    PaymentMethod,
    PaymentStatus,
    ProformaStatus,
    WriterEarning,
)
from portal.errors import Conflict
from portal.extensions import db
from portal.notifications.models import OutboxEmail
from portal.orders import service
from portal.orders.models import Order, OrderStatus
from tests.factories import deliverable


def entries(company_id: int) -> list[tuple[str, int, int]]:
    return [(e.kind.value, e.amount, e.held) for e in db.session.scalars(
        sa.select(LedgerEntry).where(LedgerEntry.company_id == company_id)
        .order_by(LedgerEntry.id))]


def kinds_sent() -> list[str]:
    return list(db.session.scalars(sa.select(OutboxEmail.kind).order_by(OutboxEmail.id)))


# One day of one month, so that the agency's figures of the month hold the whole story.
@time_machine.travel(datetime(2026, 11, 18, 10, 0, tzinfo=UTC), tick=True)
def test_an_order_waits_for_payment_then_is_paid_invoiced_and_earned(factory, ctx):
    tier = factory.tier(client_price_per_word=25, writer_pay_per_word=15)
    client = factory.user(Role.CLIENT, billing="prepaid", company="Boutique Zénith")
    writer = factory.writer(tiers=[tier])
    manager = factory.user(Role.MANAGER)
    order = factory.order(client=client, tier=tier, status=OrderStatus.AWAITING_PAYMENT,
                          words_min=600, words_max=800)
    assert order.price_total == 20_000
    with ctx() as session:
        company = session.scalar(sa.select(Company).where(Company.name == "Boutique Zénith"))
        assert (company.balance, company.held) == (0, 0)
        assert "order_event" in kinds_sent()  # "your order waits for payment"
        year = numbering.local_year()

        proforma = payments.request_topup(session.get(User, client.id), 20_000)
        assert proforma.number == f"PF-{year}-00001"
        payment = payments.declare_for_proforma(
            session.get(User, client.id), proforma,
            payments.Declaration(PaymentMethod.FLOOZ, "TX 0412-5567", 20_000))
        session.commit()
        assert payment.status is PaymentStatus.DECLARED
        assert payment.reference_key == "TX04125567"

        payments.confirm(payment, session.get(User, manager.id))
        session.commit()
        session.refresh(company)
        assert (company.balance, company.held) == (20_000, 20_000)
        assert session.get(Order, order.id).status is OrderStatus.OPEN
        assert proforma.status is ProformaStatus.PAID
        deposit = session.scalar(sa.select(Invoice).where(Invoice.kind == InvoiceKind.DEPOSIT))
        assert deposit.number == f"FA-{year}-00001" and deposit.total == 20_000
        assert deposit.due == 0 and deposit.document_id is not None

        found = session.get(Order, order.id)
        service.claim(found, session.get(User, writer.id))
        service.save_draft(found, session.get(User, writer.id), deliverable(found, "Un texte."),
                           base_version=0)
        service.deliver(found, session.get(User, writer.id))
        service.approve(found, session.get(User, client.id), 5)
        session.commit()
        session.refresh(company)
        assert (company.balance, company.held) == (0, 0)
        invoice = session.scalar(sa.select(Invoice).where(Invoice.kind == InvoiceKind.ORDERS))
        assert invoice.number == f"FA-{year}-00002"
        assert [(line.reference, line.words, line.price_per_word, line.amount)
                for line in invoice.lines] == [(found.reference, 800, 25, 20_000)]
        assert invoice.due == 0 and invoice.paid_at_issue == 20_000
        earning = session.scalar(sa.select(WriterEarning))
        assert (earning.writer_id, earning.amount, earning.payout_id) == (writer.id, 12_000, None)
        assert entries(company.id) == [("topup", 20_000, 0), ("hold", 0, 20_000),
                                       ("capture", -20_000, -20_000)]
        assert ledger.disagreements() == {}
        sent = kinds_sent()
        for kind in ("proforma_issued", "payment_declared", "payment_confirmed",
                     "invoice_issued"):
            assert kind in sent, sent
        assert sent.count("invoice_issued") == 2

        # The agency's figures, as the finance page shows them, one by one: a second top-up
        # asked for and not paid, a third declared and waiting for a manager.
        payments.request_topup(session.get(User, client.id), 7_500)
        waiting = payments.request_topup(session.get(User, client.id), 3_000)
        payments.declare_for_proforma(session.get(User, client.id), waiting,
                                      payments.Declaration(PaymentMethod.MIXX, "MX-9", 3_000))
        session.commit()
        shown = figures.read()
        assert shown.today == figures.Today(
            held=0, advances=0, receivable=0, proformas_open=2, proformas_open_amount=10_500,
            payments_waiting=1, payments_waiting_amount=3_000, writer_payable=12_000,
            invoices_due=0)
        assert [(m.month, m.invoiced, m.deposits, m.credited, m.paid, m.sales, m.writer_pay,
                 m.margin) for m in shown.months] == [
            ("2026-11", 20_000, 20_000, 0, 20_000, 20_000, 12_000, 8_000)]
        assert shown.per_tier == [("2026-11", tier.name, 20_000, 12_000, 8_000)]


def test_a_payment_confirmed_twice_credits_once(factory, ctx):
    client = factory.user(Role.CLIENT, billing="prepaid")
    manager = factory.user(Role.MANAGER)
    with ctx() as session:
        proforma = payments.request_topup(session.get(User, client.id), 50_000)
        payment = payments.declare_for_proforma(
            session.get(User, client.id), proforma,
            payments.Declaration(PaymentMethod.MIXX, "MX-1", 50_000))
        payments.confirm(payment, session.get(User, manager.id))
        session.commit()
        with pytest.raises(Conflict, match="déjà été confirmé"):
            payments.confirm(payment, session.get(User, manager.id))
        session.rollback()
        company_id = payment.company_id
        assert [e for e in entries(company_id) if e[0] == EntryKind.TOPUP.value] == \
            [("topup", 50_000, 0)]
        assert session.get(Company, company_id).balance == 50_000


def test_the_figures_of_today_sum_the_companies_each_by_its_sign(factory, ctx):
    """What is held, the advances (positive balances) and what is owed (negative balances,
    shown positive) come from one read of the companies, each sum over its own side."""
    from portal.billing.companies import company_of

    clients = [(factory.user(Role.CLIENT, billing=billing), balance, held)
               for billing, balance, held in (("prepaid", 20_000, 5_000), ("prepaid", 1_500, 0),
                                              ("postpaid", -7_000, 0), ("postpaid", -500, 0))]
    with ctx() as session:
        assert figures.read().today.advances == 0  # the baseline, before the money moves
        session.commit()
        for n, (client, balance, held) in enumerate(clients):
            company = company_of(session.get(User, client.id))
            # Through the ledger (the sums must stay its sums): by hand, as a manager would.
            ledger.post(company.id, EntryKind.ADJUSTMENT, key=f"test-{n}", amount=balance,
                        held=held)
        session.commit()
        kept = figures.read().today  # the baseline and the deltas
        figures.fold()
        folded = figures.read().today
        assert figures.refigure() == 0  # computed from the companies: the same
        session.commit()
        computed = figures.read().today
    for today in (kept, folded, computed):
        assert (today.held, today.advances, today.receivable) == (5_000, 21_500, 7_500)
