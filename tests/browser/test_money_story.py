"""The money of an order, as its people live it in Chromium, with every email over SMTP on
loopback: a new client signs up, submits an order with an empty balance and sees it wait for
payment with the amount; asks for a top-up, declares a mobile-money payment; a manager confirms;
the order enters the pool; a writer delivers; the client approves and downloads the invoice with
the next number; the writer sees the earning; a manager pays it in a batch."""

from __future__ import annotations

import re
from datetime import timedelta
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from pypdf import PdfReader

from portal.accounts.models import Role
from portal.billing import numbering
from portal.extensions import utcnow
from portal.i18n import to_local
from tests.browser.helpers import expect, log_in

pytestmark = pytest.mark.browser

PASSWORD = "sable chaud et pirogues bleues"
CLIENT = "mawuli@zenith.test"
TEXT = ("# Le pagne wax à Lomé\n\nAu grand marché de Lomé, le pagne wax raconte des histoires. "
        "Chaque motif porte un nom et les revendeuses savent les dire. " * 16)


def test_an_order_is_paid_invoiced_earned_and_paid_out(new_page, factory, mailbox, ctx,
                                                       tmp_path, app, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))
    monkeypatch.setitem(app.config, "PAYMENT_FLOOZ", "+228 99 12 34 56 (Agence Plume)")
    content_type = factory.content_type("Article de blog", "Blog article")
    tier = factory.tier(name="Professionnel", client_price_per_word=25, writer_pay_per_word=15,
                        min_lead_hours=24)
    manager = factory.user(Role.MANAGER, name="Akossiwa Mensah")
    writer = factory.writer(tiers=[tier], name="Kodjo Amouzou")
    with app.app_context():
        year = numbering.local_year()

    # A new client signs up, with the company's name, and confirms the address.
    buyer = new_page()
    buyer.goto("/signup")
    buyer.fill("input[name=display_name]", "Mawuli Dogbé")
    buyer.fill("input[name=company_name]", "Boutique Zénith SARL")
    buyer.fill("input[name=email]", CLIENT)
    buyer.fill("input[name=password]", PASSWORD)
    buyer.fill("input[name=confirm]", PASSWORD)
    buyer.locator("main form button[type=submit]").click()
    assert mailbox.deliver().sent == 1
    buyer.goto(urlsplit(mailbox.link(mailbox.last_to(CLIENT), "/signup/confirm/")).path)
    buyer.fill("input[name=password]", PASSWORD)
    buyer.locator("main form button[type=submit]").click()
    expect(buyer).to_have_url(re.compile(r"/home$"))
    expect(buyer.get_by_test_id("confirm-banner")).to_have_count(0)

    # The order, with an empty balance: it waits for payment, and says how much to add.
    buyer.goto("/orders/new")
    buyer.fill("input[name=title]", "Le pagne wax à Lomé")
    buyer.select_option("select[name=content_type_id]", str(content_type.id))
    buyer.select_option("select[name=tier_id]", str(tier.id))
    deadline = to_local(utcnow() + timedelta(days=6), "Africa/Lome")
    buyer.fill("input[name=deadline]", deadline.strftime("%Y-%m-%dT%H:%M"))
    buyer.fill("input[name=words_min]", "400")
    buyer.fill("input[name=words_max]", "600")
    buyer.locator("button[name=save_submit], input[name=save_submit]").click()
    expect(buyer.get_by_test_id("status")).to_have_text("En attente de paiement")
    expect(buyer.get_by_test_id("amount-to-add")).to_contain_text("15\u202f000")
    order_url = urlsplit(buyer.url).path

    # A top-up of that amount: the proforma, then the mobile-money payment declared.
    buyer.get_by_test_id("topup-link").click()
    expect(buyer.locator("input[name=amount]")).to_have_value("15000")
    buyer.get_by_test_id("topup-form").locator("button[type=submit]").click()
    expect(buyer.get_by_test_id("proforma-number")).to_contain_text(f"PF-{year}-00001")
    expect(buyer.get_by_test_id("instructions")).to_contain_text("+228 99 12 34 56")
    form = buyer.get_by_test_id("declare-form")
    form.locator("select[name=method]").select_option("flooz")
    form.locator("input[name=reference]").fill("FL 2412 7788")
    form.locator("button[type=submit]").click()
    expect(buyer.get_by_test_id("payment-status")).to_contain_text("En attente de confirmation")

    # The manager confirms the payment: the order goes to the writers by itself.
    agency = new_page()
    log_in(agency, manager.email)
    agency.goto("/agency/finance/payments")
    card = agency.locator("[data-testid^=payment-]").filter(has_text="FL 2412 7788")
    expect(card).to_contain_text("Boutique Zénith SARL")
    card.get_by_test_id("confirm").click()
    expect(agency.get_by_test_id("nothing-waiting")).to_be_visible()
    buyer.goto(order_url)
    expect(buyer.get_by_test_id("status")).to_have_text("En attente d'un rédacteur")

    # The writer takes it, writes and delivers.
    author = new_page()
    author.on("dialog", lambda dialog: dialog.accept())
    log_in(author, writer.email)
    author.goto("/work/pool")
    author.get_by_test_id("pool-order").filter(has_text="Le pagne wax à Lomé") \
        .locator("button[type=submit]").click()
    # The editor's script comes last: text typed before it runs starts no checks, and the
    # delivery button stays disabled (CI's side-by-side runs did it once).
    author.wait_for_url(re.compile(r"/work/orders/\d+$"), wait_until="load")
    author.fill("#editor", TEXT)
    author.locator("#deliver").click()
    expect(author.locator(".alert-success")).to_be_visible()

    # The client approves and downloads the invoice: the next number, the company, the line.
    buyer.goto(order_url)
    buyer.get_by_test_id("approve-form").locator("input[name=rating][value='5']").check()
    buyer.get_by_test_id("approve-form").locator("button[type=submit]").click()
    expect(buyer.get_by_test_id("status")).to_have_text("Validée")
    buyer.goto("/billing/invoices")
    rows = buyer.get_by_test_id("invoice-row")
    expect(rows).to_have_count(2)
    newest = rows.first
    expect(newest).to_contain_text(f"FA-{year}-00002")
    with buyer.expect_download() as download:
        newest.get_by_role("link", name="PDF").click()
    content = Path(download.value.path()).read_bytes()
    text = "\n".join(p.extract_text() for p in PdfReader(BytesIO(content)).pages)
    assert f"FA-{year}-00002" in text and "Boutique Zénith SARL" in text
    assert "Le pagne wax à Lomé" in text and "15\u202f000" in text

    # The writer sees the earning; the manager pays it in a batch.
    author.goto("/work/earnings")
    expect(author.get_by_test_id("earned")).to_contain_text("9\u202f000")
    agency.goto("/agency/finance/payouts")
    line = agency.get_by_test_id("payable-writer").filter(has_text="Kodjo Amouzou")
    line.locator("input[type=checkbox]").check()
    line.locator("select").select_option("mixx")
    line.locator("input[type=text]").fill("MX-PAIE-0001")
    agency.get_by_test_id("payout-form").locator("button[type=submit]").click()
    expect(agency.get_by_test_id("payouts")).to_contain_text("MX-PAIE-0001")
    author.goto("/work/earnings")
    expect(author.get_by_test_id("paid")).to_contain_text("9\u202f000")
    expect(author.get_by_test_id("earned")).to_contain_text("0")

    # Every email crossed SMTP, once, to the right person; the invoices carry their PDF.
    report = mailbox.deliver()
    assert report.failed == 0
    subjects = {address: [str(m["Subject"]) for m in mailbox.to(address)]
                for address in (CLIENT, manager.email, writer.email)}
    client_mail = subjects[CLIENT]
    for expected in ("attend le paiement", "Proforma PF-", "Paiement reçu",
                     f"Facture FA-{year}-00001", f"Facture FA-{year}-00002", "reçue", "livré"):
        assert sum(expected in s for s in client_mail) == 1, (expected, client_mail)
    assert any("Paiement à confirmer" in s for s in subjects[manager.email]), subjects
    assert any("Nouvelle commande" in s for s in subjects[manager.email]), subjects
    assert any("Versement envoyé" in s for s in subjects[writer.email]), subjects
    [invoice_mail] = [m for m in mailbox.to(CLIENT) if f"FA-{year}-00002" in str(m["Subject"])]
    [attachment] = list(invoice_mail.iter_attachments())
    assert attachment.get_filename() == f"FA-{year}-00002.pdf"
    assert attachment.get_content() == content  # the PDF as issued
    for page in (buyer, agency, author):
        assert page.errors == []


def test_the_money_pages_fit_a_phone(new_page, factory, live_server, app, monkeypatch):
    """At 390 px wide no money page scrolls sideways (their wide tables scroll inside)."""
    monkeypatch.setitem(app.config, "PAYMENT_FLOOZ", "+228 99 12 34 56 (Agence Plume)")
    tier = factory.tier(client_price_per_word=25, writer_pay_per_word=15)
    client = factory.user(Role.CLIENT, billing="prepaid", funds=100_000,
                          company="Coopérative des caféiculteurs de Kloto et des environs")
    writer = factory.writer(tiers=[tier])
    manager = factory.user(Role.MANAGER)
    from portal.orders.models import OrderStatus

    factory.order(client=client, tier=tier, writer=writer, status=OrderStatus.APPROVED)
    pages = {client.email: ["/billing", "/billing/invoices", "/billing/invoices/1",
                            "/billing/topup", "/billing/company"],
             manager.email: ["/agency/finance", "/agency/finance/payments",
                             "/agency/finance/companies", "/agency/finance/companies/1",
                             "/agency/finance/payouts", "/billing/invoices/1"],
             writer.email: ["/work/earnings"]}
    wide = []
    for email, urls in pages.items():
        page = new_page()
        page.set_viewport_size({"width": 390, "height": 844})
        log_in(page, email)
        for url in urls:
            page.goto(url)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth")
            if overflow > 0:
                wide.append((url, overflow))
        assert page.errors == []
    assert wide == []
