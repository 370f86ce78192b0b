"""The PDF documents read back as text (pypdf): an invoice says its number, the agency's and
the company's identities, its lines, totals and VAT, in the company's language, with French
money written as in French (narrow no-break spaces) and names in Ewe letters intact; a credit
note, a proforma and the statements too."""

from __future__ import annotations

from io import BytesIO

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from portal.accounts.models import Role, User
from portal.billing import invoices, numbering, payments, pdf
from portal.billing.companies import company_of
from portal.billing.models import (
    Document,
    Invoice,
    InvoiceKind,
    PaymentMethod,
    Proforma,
)
from portal.extensions import db
from portal.orders.models import OrderStatus

NNBSP, NBSP = "\u202f", "\u00a0"


def text_of(content: bytes) -> str:
    assert content.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(content)).pages)


@pytest.fixture
def agency(app, monkeypatch):
    for name, value in {
        "AGENCY_LEGAL_NAME": "Agence Plume SARL", "AGENCY_ADDRESS": "12 rue des Cocotiers, Lomé",
        "AGENCY_TAX_NUMBER": "1000123456", "AGENCY_TRADE_REGISTER": "TG-LOM 2024 A 01234",
        "AGENCY_VAT_REGIME": "Régime du réel", "VAT_RATE": 1800,
        "PAYMENT_FLOOZ": "+228 99 12 34 56",
    }.items():
        monkeypatch.setitem(app.config, name, value)


def test_an_invoice_reads_with_its_number_parties_lines_and_totals(app, factory, agency, ctx):
    tier = factory.tier(client_price_per_word=25, writer_pay_per_word=15)
    client = factory.user(Role.CLIENT, billing="prepaid", funds=100_000,
                          company="Coopérative Ɖoƒe Ŋɔŋlɔ")
    with ctx():
        company = company_of(db.session.get(User, client.id))
        company.tax_number, company.address = "1000987654", "Route de Kpalimé, Lomé"
        db.session.commit()
    order = factory.order(client=client, tier=tier, status=OrderStatus.APPROVED,
                          words_max=800, title="Comment choisir son pagne wax")
    with ctx() as session:
        invoice = session.scalars(sa.select(Invoice)).one()
        text = text_of(session.get(Document, invoice.document_id).content)
        year = numbering.local_year()

    assert f"FA-{year}-00001" in text and "FACTURE" in text
    for part in ("Agence Plume SARL", "12 rue des Cocotiers, Lomé", "1000123456",
                 "TG-LOM 2024 A 01234", "Régime du réel",  # the agency
                 "Coopérative Ɖoƒe Ŋɔŋlɔ", "Route de Kpalimé, Lomé", "1000987654",  # the client
                 order.reference, "Comment choisir son pagne wax", "800"):
        assert part in text, part
    # 20,000 F CFA VAT included at 18 %: 16,949 without VAT, 3,051 of VAT, in French.
    assert f"20{NNBSP}000{NBSP}F{NNBSP}CFA" in text
    assert f"16{NNBSP}949{NBSP}F{NNBSP}CFA" in text and f"3{NNBSP}051{NBSP}F{NNBSP}CFA" in text
    # The line: its price per word and amount (fpdf2's tables wrap on the no-break space, and
    # write it as a plain one; the narrow one between the digits stays).
    flat = text.replace(NBSP, " ")
    assert f"800 25 F{NNBSP}CFA 20{NNBSP}000 F{NNBSP}CFA" in flat
    assert f"TVA 18{NBSP}%" in text and "Total TTC" in text and "Total HT" in text
    assert "Payé sur votre solde prépayé" in text and f"Net à payer 0{NBSP}F{NNBSP}CFA" in text


def test_a_deposit_invoice_a_credit_note_and_a_proforma_read_right(app, factory, agency, ctx):
    client = factory.user(Role.CLIENT, billing="prepaid", company="Hôtel Les Collines",
                          locale="en")
    manager = factory.user(Role.MANAGER)
    with ctx() as session:
        owner = session.get(User, client.id)
        proforma = payments.request_topup(owner, 40_000)
        proforma_text = text_of(pdf.proforma_pdf(proforma))
        payment = payments.declare_for_proforma(owner, proforma, payments.Declaration(
            PaymentMethod.FLOOZ, "FL-2026-77", 40_000))
        payments.confirm(payment, session.get(User, manager.id))
        deposit = session.scalars(sa.select(Invoice).where(
            Invoice.kind == InvoiceKind.DEPOSIT)).one()
        note = invoices.issue_credit_note(deposit, session.get(User, manager.id), 10_000,
                                          "Refund asked by the client")
        session.commit()
        deposit_text = text_of(session.get(Document, deposit.document_id).content)
        note_text = text_of(session.get(Document, note.document_id).content)
        number = session.scalars(sa.select(Proforma.number)).one()

    # The company reads English: its documents are in English.
    assert "PROFORMA INVOICE" in proforma_text and number in proforma_text
    assert "+228 99 12 34 56" in proforma_text and "40,000\u00a0F\u202fCFA" in proforma_text
    assert "DEPOSIT INVOICE" in deposit_text and number in deposit_text
    assert "CREDIT NOTE" in note_text and deposit.number in note_text
    assert "Refund asked by the client" in note_text


def test_the_monthly_statement_and_the_writers_statement(app, factory, agency, ctx,
                                                        make_client):
    tier = factory.tier(client_price_per_word=25, writer_pay_per_word=15)
    client = factory.user(Role.CLIENT, billing="prepaid", funds=50_000, company="Café Kloto")
    writer = factory.writer(tiers=[tier], name="Afi Lawson")
    factory.order(client=client, tier=tier, writer=writer, status=OrderStatus.APPROVED,
                  words_max=400, title="Le café des Plateaux")
    from tests.conftest import PortalClient  # noqa: F401 - the clients log in below

    buyer = make_client()
    assert buyer.login(client.email, factory.PASSWORD).status_code == 302
    from portal.extensions import utcnow

    today = utcnow()
    statement = buyer.get(f"/billing/statements/{today.year}/{today.month}")
    assert statement.status_code == 200 and statement.mimetype == "application/pdf"
    text = text_of(statement.data)
    assert "Café Kloto" in text and "RELEVÉ DE COMPTE" in text
    assert f"50{NNBSP}000" in text and f"40{NNBSP}000" in text  # in, and at the end

    author = make_client()
    assert author.login(writer.email, factory.PASSWORD).status_code == 302
    text = text_of(author.get("/work/earnings/statement").data)
    assert "Afi Lawson" in text and "Le café des Plateaux" in text and f"6{NNBSP}000" in text
