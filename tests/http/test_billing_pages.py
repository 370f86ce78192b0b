"""The money pages as people use them: a client tops up, pays and reads its account; a manager
confirms, adjusts, credits and pays writers; a writer reads the earnings. Another company's
invoice, proforma, payment or credit note answers 404. The finance page, a company's invoices
and a writer's earnings run at most eight statements, as many with much data as with little."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from portal.accounts.models import Role, User
from portal.billing import invoices, payments
from portal.billing.companies import company_of
from portal.billing.models import (
    Company,
    CreditNote,
    Invoice,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Proforma,
)
from portal.orders.models import Order, OrderStatus
from tests.conftest import statements_of
from tests.http.pages import page_text

BUDGET = 8


@pytest.fixture
def upload_dir(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))


def proforma_id(response) -> int:
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


def test_a_client_tops_up_declares_a_payment_and_the_manager_confirms(login_as, ctx,
                                                                      upload_dir, factory):
    tier = factory.tier(client_price_per_word=25)
    buyer = login_as("client", billing="prepaid", company="Boulangerie La Fournée dorée")
    order = factory.order(client=buyer.user, tier=tier, status=OrderStatus.AWAITING_PAYMENT,
                          words_max=800)
    page = buyer.get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'data-testid="awaiting-payment"' in page and "20\u202f000" in page
    assert "/billing/topup?amount=20000" in page

    form = buyer.get("/billing/topup?amount=20000").get_data(as_text=True)
    assert 'value="20000"' in form
    response = buyer.submit("/billing/topup", {"amount": "20000"})
    assert response.status_code == 302
    path = f"/billing/proformas/{proforma_id(response)}"
    page = buyer.get(path).get_data(as_text=True)
    assert "PF-" in page and "Flooz" in page
    proof = (io.BytesIO(b"\x89PNG\r\n\x1a\n" + bytes(64)), "capture.png")
    response = buyer.submit(f"{path}/payments", {"method": "flooz", "reference": "FL 8841 22",
                                                 "amount": "20000", "proof": proof},
                            page=path, content_type="multipart/form-data")
    assert response.status_code == 302

    manager = login_as("manager")
    waiting = manager.get("/agency/finance/payments").get_data(as_text=True)
    assert "Boulangerie La Fournée dorée" in waiting and "FL 8841 22" in waiting
    with ctx() as session:
        payment = session.scalars(sa.select(Payment)).one()
        assert payment.proof_name == "capture.png"
    assert manager.get(f"/billing/payments/{payment.id}/proof").status_code == 200
    response = manager.submit(f"/agency/finance/payments/{payment.id}/confirm",
                              page="/agency/finance/payments")
    assert response.status_code == 302
    with ctx() as session:
        assert session.get(Order, order.id).status is OrderStatus.OPEN
        assert session.get(Payment, payment.id).status is PaymentStatus.CONFIRMED
    account = buyer.get("/billing").get_data(as_text=True)
    assert 'data-testid="available"' in account and "FA-" in buyer.get(
        "/billing/invoices").get_data(as_text=True)


@pytest.mark.parametrize("amount", ["0", "-100", "abc", "1e6", "99999999999", ""])
def test_a_top_up_of_an_absurd_amount_is_refused_with_a_message(login_as, ctx, amount):
    buyer = login_as("client", billing="prepaid")
    response = buyer.submit("/billing/topup", {"amount": amount})
    assert response.status_code == 422
    assert "montant" in response.get_data(as_text=True)
    with ctx() as session:
        assert session.scalar(sa.select(sa.func.count(Proforma.id))) == 0


def test_another_companys_documents_do_not_exist(login_as, ctx, factory, upload_dir):
    owner = login_as("client", billing="prepaid", funds=50_000)
    stranger = login_as("client", billing="prepaid")
    manager = factory.user(Role.MANAGER)
    with ctx() as session:
        person = session.get(User, owner.user.id)
        proforma = payments.request_topup(person, 10_000)
        payment = payments.declare_for_proforma(person, proforma, payments.Declaration(
            PaymentMethod.MIXX, "MX-9", 10_000))
        payments.confirm(payment, session.get(User, manager.id))
        invoice = session.scalars(sa.select(Invoice)).one()
        note = invoices.issue_credit_note(invoice, session.get(User, manager.id), 1_000, "Geste")
        other = payments.request_topup(person, 5_000)
        session.commit()
        ids = {"proforma": other.id, "invoice": invoice.id, "payment": payment.id,
               "note": note.id}
    urls = [f"/billing/proformas/{ids['proforma']}", f"/billing/proformas/{ids['proforma']}/pdf",
            f"/billing/invoices/{ids['invoice']}", f"/billing/invoices/{ids['invoice']}/pdf",
            f"/billing/credit-notes/{ids['note']}/pdf",
            f"/billing/payments/{ids['payment']}/proof"]
    for url in urls:
        assert stranger.get(url).status_code == 404, url
        assert owner.get(url).status_code in (200, 404), url  # the payment has no proof
    posted = {f"/billing/proformas/{ids['proforma']}/payments":
              {"method": "flooz", "reference": "X", "amount": "5000"},
              f"/billing/invoices/{ids['invoice']}/payments":
              {"method": "flooz", "reference": "Y", "amount": "5000"},
              f"/billing/payments/{ids['payment']}/check": {}}
    for url, data in posted.items():
        assert stranger.submit(url, data, page="/billing").status_code == 404, url
    with ctx() as session:
        assert session.scalar(sa.select(sa.func.count(Payment.id))) == 1


def test_the_manager_credits_an_invoice_and_adjusts_a_balance_from_the_pages(login_as, ctx,
                                                                            factory):
    buyer = login_as("client", billing="prepaid", funds=30_000)
    factory.order(client=buyer.user, status=OrderStatus.APPROVED)  # 12,000 invoiced
    manager = login_as("manager")
    with ctx() as session:
        invoice_id = session.scalar(sa.select(Invoice.id))
        company_id = company_of(session.get(User, buyer.user.id)).id
    page = f"/billing/invoices/{invoice_id}"
    assert 'data-testid="credit-note-form"' in manager.get(page).get_data(as_text=True)
    assert 'data-testid="credit-note-form"' not in buyer.get(page).get_data(as_text=True)
    too_much = manager.submit(f"/agency/finance/invoices/{invoice_id}/credit-note",
                              {"amount": "12001", "reason": "Trop"}, page=page)
    assert too_much.status_code == 302
    response = manager.submit(f"/agency/finance/invoices/{invoice_id}/credit-note",
                              {"amount": "2000", "reason": "Livré en retard"}, page=page)
    assert response.status_code == 302
    company_page = f"/agency/finance/companies/{company_id}"
    refused = manager.submit(f"{company_page}/adjust", {"amount": "500", "reason": ""},
                             page=company_page)
    assert refused.status_code == 422
    manager.submit(f"{company_page}/adjust", {"amount": "-500", "reason": "Frais de retrait"},
                   page=company_page)
    with ctx() as session:
        assert session.scalar(sa.select(sa.func.count(CreditNote.id))) == 1
        # 30,000 - 12,000 + 2,000 - 500
        assert session.get(Company, company_id).balance == 19_500
    csv = manager.get("/agency/finance/export/invoices.csv").get_data(as_text=True)
    assert csv.startswith("\ufeffnumber;date;kind") and "AV-" in csv and "FA-" in csv
    csv = manager.get("/agency/finance/export/ledger.csv").get_data(as_text=True)
    assert "refund" in csv and "Frais de retrait" in csv


def test_a_writer_sees_earned_pending_and_paid_and_a_manager_pays_them(login_as, ctx, factory):
    tier = factory.tier(client_price_per_word=25, writer_pay_per_word=15)
    author = login_as(factory.writer(tiers=[tier], name="Kodjo Amouzou"))
    for status in (OrderStatus.APPROVED, OrderStatus.APPROVED, OrderStatus.IN_PROGRESS):
        factory.order(tier=tier, writer=author.user, status=status, words_max=400)
    page = author.get("/work/earnings").get_data(as_text=True)
    assert "12\u202f000" in page  # earned: two approved orders of 6,000
    assert "6\u202f000" in page  # pending: the one being written
    manager = login_as("manager")
    payouts = manager.get("/agency/finance/payouts").get_data(as_text=True)
    assert "Kodjo Amouzou" in payouts
    response = manager.submit("/agency/finance/payouts", {
        "lines-0-writer_id": str(author.user.id), "lines-0-pay": "y",
        "lines-0-method": "mixx", "lines-0-reference": "MX-PAIE-11"},
        page="/agency/finance/payouts")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    page = author.get("/work/earnings").get_data(as_text=True)
    assert "payé le" in page
    assert manager.get(response.headers["Location"]).status_code == 200


# --- statements ------------------------------------------------------------------------------


def grow(factory, client, writer, tier, orders: int) -> None:
    for _n in range(orders):
        factory.order(client=client, tier=tier, writer=writer, status=OrderStatus.APPROVED,
                      words_max=400)


def test_the_money_pages_run_a_few_statements_however_much_data(app, login_as, factory, ctx):
    tier = factory.tier(client_price_per_word=25, writer_pay_per_word=15)
    buyer = login_as("client", billing="prepaid", funds=10_000_000)
    author = login_as(factory.writer(tiers=[tier]))
    manager = login_as("manager")
    grow(factory, buyer.user, author.user, tier, 2)
    pages = {"/agency/finance": manager, "/billing/invoices": buyer, "/billing": buyer,
             "/work/earnings": author, "/agency/finance/companies": manager,
             "/agency/finance/payments": manager}
    for url, browser in pages.items():
        browser.get(url)
    few = {url: statements_of(app, browser, url) for url, browser in pages.items()}
    grow(factory, buyer.user, author.user, tier, 25)
    with ctx() as session:  # a declared payment and a credit note more
        person = session.get(User, buyer.user.id)
        payments.declare_for_proforma(person, payments.request_topup(person, 5_000),
                                      payments.Declaration(PaymentMethod.CASH, "R-1", 5_000))
        session.commit()
    many = {url: statements_of(app, browser, url) for url, browser in pages.items()}
    for url in pages:
        assert len(few[url]) == len(many[url]) <= BUDGET, (url, many[url])
    with ctx() as session:
        assert session.scalar(sa.select(sa.func.count(Invoice.id))) == 27


@pytest.mark.parametrize("typed", ["İstanbul Kahve", "İSTANBUL  kahve", "kahve ÉBÈNE"])
def test_a_manager_finds_a_company_as_its_name_shows(login_as, factory, typed):
    """Both sides folded by the database: "İ" is "i̇" to Python and "i" to PostgreSQL, and a
    page shows two spaces as one."""
    factory.user("client", company="İstanbul  Kahve Ébène")
    factory.user("client", company="Autre maison")
    manager = login_as("manager")

    text = page_text(manager.get("/agency/finance/companies", query_string={"q": typed}))

    assert "Kahve" in text and "Autre maison" not in text


def test_orders_awaiting_payment_are_counted_and_listed(login_as, factory):
    buyer = login_as("client", billing="prepaid")
    factory.order(client=buyer.user, status=OrderStatus.AWAITING_PAYMENT)
    home = buyer.get("/home").get_data(as_text=True)
    assert "En attente de paiement" in home and "/orders?status=awaiting_payment" in home
    listed = buyer.get("/orders?status=awaiting_payment").get_data(as_text=True)
    assert 'data-testid="count-awaiting_payment">1<' in listed
    assert listed.count('data-testid="order-row"') == 1
    manager = login_as("manager")
    assert "/agency/orders?status=awaiting_payment" in manager.get("/home").get_data(
        as_text=True)
    dashboard = manager.get("/agency/orders?status=awaiting_payment").get_data(as_text=True)
    assert "En attente de paiement" in dashboard
    # Nobody writes it yet: the pool does not show it.
    writer = login_as(factory.writer())
    assert "order-row" not in writer.get("/work/pool").get_data(as_text=True)
