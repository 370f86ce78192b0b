"""A person's data (portal/privacy/): the zip a person downloads from their settings (or a
manager on their request), and the erasure of a former client or writer."""

from __future__ import annotations

import io
import json
import logging
import re
import zipfile
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
import time_machine
from werkzeug.datastructures import FileStorage

from portal.accounts.models import User
from portal.billing import earnings, invoices, payments
from portal.billing.companies import company_of
from portal.billing.models import (
    Company,
    CompanyMember,
    CreditNote,
    Document,
    Invoice,
    LedgerEntry,
    Payment,
    PaymentMethod,
    Payout,
    PayoutBatch,
    Proforma,
    ProformaStatus,
    WriterEarning,
)
from portal.extensions import db
from portal.messaging.models import Message, MessageAttachment
from portal.messaging.service import post_message
from portal.notifications.models import OutboxEmail
from portal.orders import uploads
from portal.orders.models import Attachment, Order, OrderStatus
from tests.conftest import counters_disagree, statements_of
from tests.factories import Factory

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
PROOF = b"\x89PNG\r\n\x1a\n" + b"recu Flooz 20000 F" * 30
FALSE_PROOF = b"\x89PNG\r\n\x1a\n" + b"recu invente" * 30
BRIEF = b"Le ton de la maison : chaleureux.\n" * 20


@pytest.fixture
def security_events(caplog):
    caplog.set_level(logging.INFO, logger="portal.security")
    return lambda name: [json.loads(r.getMessage()) for r in caplog.records
                         if r.name == "portal.security"
                         and json.loads(r.getMessage())["event"] == name]


@pytest.fixture
def uploads_dir(app, tmp_path, monkeypatch):
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(folder))
    return folder


@pytest.fixture
def story(app, factory, uploads_dir):
    """Client Ama's approved order, written by Kofi Mensah-Writer: a delivery, a brief file
    from Ama, a message with a file from each, an internal note; a draft of Ama's; another
    client's order Kofi writes. The money (see `money`): Ama's prepaid company has the
    order's invoice, a top-up paid with a proof (its deposit invoice), a credit note and a
    payment rejected with its proof; Kofi was paid his two orders in a batch."""
    manager = factory.user("manager", name="Esi Manager")
    client = factory.user("client", name="Ama Cliente", company="Ama Cliente",
                          billing="prepaid", funds=100_000)
    tier = factory.tier()
    writer = factory.writer(name="Kofi Mensah-Writer", tiers=[tier])
    other_client = factory.user("client", name="Yawa Autre")
    order = factory.order(client=client, writer=writer, status=OrderStatus.APPROVED, tier=tier,
                          title="Dix idées de sorties à Lomé", text="Le texte livré de Kofi.")
    draft = factory.order(client=client, status=OrderStatus.DRAFT, title="Brouillon d'Ama",
                          tier=tier)
    finished = factory.order(client=other_client, writer=writer, status=OrderStatus.APPROVED,
                             title="Fiche produit de Yawa", tier=tier)
    with app.app_context():
        session = db.session
        row = session.get(Order, order.id)
        ama, kofi = session.get(User, client.id), session.get(User, writer.id)
        uploads.add_attachment(session.get(Order, draft.id), ama,
                               FileStorage(BytesIO(BRIEF), filename="brief.txt"))
        post_message(row, ama, "Merci Kofi, voici le logo.",
                     files=[FileStorage(BytesIO(PNG), filename="logo.png")])
        post_message(row, kofi, "Voici mes sources.",
                     files=[FileStorage(BytesIO(b"Sources : office du tourisme.\n"),
                                        filename="sources.txt")])
        post_message(row, session.get(User, manager.id), "Note : relire la conclusion.",
                     internal=True)
        session.commit()
        money_ids = money(session.get(User, client.id), session.get(User, writer.id),
                          session.get(User, manager.id), round_=0)
    return {"manager": manager, "client": client, "writer": writer, "order": order, "tier": tier,
            "draft": draft, "finished": finished, "other_client": other_client, **money_ids}


def money(client: User, writer: User, manager: User, round_: int) -> dict:
    """A top-up paid with a proof (confirmed: its deposit invoice), a credit note on the
    client's first invoice, a payment declared with a proof and rejected, and the writer's
    unpaid earnings paid in a batch whose reference and note name him. Committed."""
    session = db.session
    proforma = payments.request_topup(client, 20_000)
    paid = payments.declare_for_proforma(client, proforma, payments.Declaration(
        PaymentMethod.FLOOZ, f"FL-7741-{round_}", 20_000,
        FileStorage(BytesIO(PROOF), filename=f"recu-flooz-{round_}.png")))
    payments.confirm(paid, manager)
    first = session.scalars(sa.select(Invoice).where(Invoice.company_id == company_of(
        client).id).order_by(Invoice.id)).first()
    note = invoices.issue_credit_note(first, manager, 1_000, f"Geste commercial {round_}.")
    refused = payments.declare_for_proforma(
        client, payments.request_topup(client, 5_000), payments.Declaration(
            PaymentMethod.MIXX, f"MX-404-{round_}", 5_000,
            FileStorage(BytesIO(FALSE_PROOF), filename=f"faux-recu-{round_}.png")))
    payments.reject(refused, manager, "Référence inconnue chez Mixx.")
    session.commit()
    batch = earnings.pay_out(manager, [earnings.PayoutLine(
        writer.id, PaymentMethod.MIXX, f"MX-PAY-{round_} {writer.display_name}")],
        note=f"Paiement de {writer.display_name}, tour {round_}.")
    session.commit()
    return {"proforma": proforma.id, "paid": paid.id, "credit_note": note.id,
            "invoice": first.id, "refused": refused.id, "batch": batch.id}


def read_zip(response) -> tuple[dict, zipfile.ZipFile]:
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    return json.loads(archive.read("index.json")), archive


# --- the download -------------------------------------------------------------------------------


def test_a_client_downloads_their_profile_orders_deliveries_messages_and_files(
        story, login_as, security_events):
    client = login_as(story["client"])
    assert b"/settings/data" in client.get("/settings").data

    index, archive = read_zip(client.get("/settings/data"))

    sections = index["sections"]
    assert sections["profile"]["email"] == story["client"].email
    orders = {o["title"]: o for o in sections["orders"]["orders"]}
    assert set(orders) == {"Dix idées de sorties à Lomé", "Brouillon d'Ama"}
    delivered = orders["Dix idées de sorties à Lomé"]
    assert "Le texte livré de Kofi." in delivered["deliveries"][0]["text"]
    assert delivered["price_total"] > 0
    bodies = [m["body"] for m in sections["messages"]["messages"]]
    assert "Merci Kofi, voici le logo." in bodies and "Voici mes sources." in bodies
    assert "Note : relire la conclusion." not in json.dumps(index)  # never a note for a client
    files = {entry["name"]: entry for entry in index["files"]
             if not entry["path"].startswith("files/billing/")}
    assert set(files) == {"brief.txt", "logo.png", "sources.txt"}
    assert archive.read(files["logo.png"]["path"]) == PNG
    assert archive.read(files["brief.txt"]["path"]) == BRIEF
    assert "Fiche produit de Yawa" not in json.dumps(index)
    [event] = security_events("personal_data_exported")
    assert event["target_user_id"] == story["client"].id


def test_the_download_says_which_texts_the_client_allows_as_samples(app, story, login_as):
    client = login_as(story["client"])
    client.submit(f"/orders/{story['order'].id}/sample", {"consent": "y"},
                  page=f"/orders/{story['order'].id}")

    index, _archive = read_zip(client.get("/settings/data"))

    orders = {o["title"]: o for o in index["sections"]["orders"]["orders"]}
    assert orders["Dix idées de sorties à Lomé"]["sample_consent"] is True
    assert orders["Dix idées de sorties à Lomé"]["shown_as_sample_since"] is None
    assert orders["Brouillon d'Ama"]["sample_consent"] is False


def test_erasing_a_client_takes_their_samples_off_the_landing_page(app, story, login_as):
    order = story["order"]
    owner = login_as(story["client"])
    owner.submit(f"/orders/{order.id}/sample", {"consent": "y"}, page=f"/orders/{order.id}")
    manager = login_as(story["manager"])
    manager.submit(f"/agency/orders/{order.id}/showcase", {"shown": "1"},
                   page=f"/orders/{order.id}")
    assert manager.get(f"/exemples/{order.id}").status_code == 200
    deactivate(app, story["client"])

    assert erase(manager, story["client"]).status_code == 302

    assert manager.get(f"/exemples/{order.id}").status_code == 404
    with app.app_context():
        stored = db.session.get(Order, order.id)
        assert not stored.sample_consent and stored.showcased_at is None


def test_a_writer_downloads_the_orders_they_write_with_their_notes(story, login_as):
    index, _archive = read_zip(login_as(story["writer"]).get("/settings/data"))
    orders = {o["title"]: o for o in index["sections"]["orders"]["orders"]}
    assert set(orders) == {"Dix idées de sorties à Lomé", "Fiche produit de Yawa"}
    assert "price_total" not in orders["Fiche produit de Yawa"]
    assert "writer_pay_total" in orders["Fiche produit de Yawa"]
    bodies = [m["body"] for m in index["sections"]["messages"]["messages"]]
    assert "Note : relire la conclusion." in bodies  # staff on the order
    assert index["sections"]["orders"]["languages"] == ["fr"]


def test_a_clients_download_holds_their_companys_money_with_its_documents_and_proofs(
        app, story, login_as):
    index, archive = read_zip(login_as(story["client"]).get("/settings/data"))

    billing = index["sections"]["billing"]
    files = {entry["path"]: entry for entry in index["files"]}
    with app.app_context():
        company = company_of(db.session.get(User, story["client"].id))
        issued = db.session.scalars(sa.select(Invoice).where(Invoice.company_id == company.id)
                                    .order_by(Invoice.id)).all()
        documents = {d.filename: d for d in db.session.scalars(sa.select(Document))}
        assert billing["company"]["name"] == "Ama Cliente"
        assert (billing["company"]["balance"], billing["company"]["reserved"]) == (
            company.balance, company.held)
        assert billing["company"]["my_role"] == "owner"
        # The ledger whole: its entries add up to the balance, month after month.
        assert sum(entry["amount"] for entry in billing["ledger"]) == company.balance
        assert {entry["kind"] for entry in billing["ledger"]} >= {
            "adjustment", "hold", "capture", "topup", "refund"}
        assert billing["statements"][-1]["closing_balance"] == company.balance
        assert billing["statements"][0]["opening_balance"] == 0
        # Invoices and credit notes as issued, with their PDF byte for byte.
        assert [i["number"] for i in billing["invoices"]] == [i.number for i in issued]
        order_invoice = next(i for i in billing["invoices"] if i["kind"] == "orders")
        assert order_invoice["lines"][0]["reference"] == story["order"].reference
        assert order_invoice["buyer"]["name"] == "Ama Cliente"
        assert order_invoice["credited"] == 1_000
        [note] = billing["credit_notes"]
        assert note["invoice"] == order_invoice["number"] and note["reason"].startswith("Geste")
        for document in [*billing["invoices"], note]:
            stored = documents[f"{document['number']}.pdf"]
            assert archive.read(document["pdf"]) == stored.content
            assert archive.read(document["pdf"]).startswith(b"%PDF")
            assert files[document["pdf"]]["sha256"] == stored.sha256
    assert [p["status"] for p in billing["proformas"]] == ["paid", "open"]
    declared = {p["reference"]: p for p in billing["payments_declared"]}
    assert declared["FL-7741-0"]["status"] == "confirmed"
    assert declared["FL-7741-0"]["proforma"] == billing["proformas"][0]["number"]
    assert archive.read(declared["FL-7741-0"]["proof"]["path"]) == PROOF
    assert declared["MX-404-0"]["reject_reason"] == "Référence inconnue chez Mixx."
    assert archive.read(declared["MX-404-0"]["proof"]["path"]) == FALSE_PROOF
    assert "earnings" not in billing


def test_a_writers_download_holds_their_earnings_and_payouts(app, story, login_as):
    index, _archive = read_zip(login_as(story["writer"]).get("/settings/data"))

    billing = index["sections"]["billing"]
    titles = {e["title"]: e for e in billing["earnings"]}
    assert set(titles) == {"Dix idées de sorties à Lomé", "Fiche produit de Yawa"}
    with app.app_context():
        pay = db.session.get(Order, story["order"].id).writer_pay_total
    assert titles["Dix idées de sorties à Lomé"]["amount"] == pay
    assert all(e["paid_at"] for e in billing["earnings"])
    [payout] = billing["payouts"]
    assert payout["amount"] == billing["earned"] == billing["paid"] and billing["unpaid"] == 0
    assert payout["method"] == "mixx" and payout["reference"].startswith("MX-PAY-0")
    assert sum(month["earned"] for month in billing["by_month"]) == billing["earned"]
    assert "company" not in billing and "invoices" not in billing
    assert "Ama Cliente" not in json.dumps(billing)


def test_the_monthly_statements_chain_the_balance_from_month_to_month(app, factory, login_as):
    """Money received in January, nothing in February, spent in March (the agency's time zone):
    three statements, each month opening on the last one's closing balance."""
    from datetime import UTC, datetime

    from portal.billing import ledger
    from portal.billing.models import EntryKind

    with time_machine.travel(datetime(2026, 1, 20, 9, tzinfo=UTC), tick=False):
        client = factory.user("client", billing="prepaid", funds=40_000)
    with app.app_context():
        company_id = company_of(db.session.get(User, client.id)).id
        with time_machine.travel(datetime(2026, 3, 31, 23, 30, tzinfo=UTC), tick=False):
            ledger.post(company_id, EntryKind.ADJUSTMENT, key="test:march", amount=-15_000,
                        spends=True, note="Régularisation")
        db.session.commit()

    index, _archive = read_zip(login_as(client).get("/settings/data"))

    assert index["sections"]["billing"]["statements"] == [
        {"month": "2026-01", "currency": "XOF", "opening_balance": 0, "received": 40_000,
         "spent": 0, "closing_balance": 40_000, "entries": 1},
        {"month": "2026-02", "currency": "XOF", "opening_balance": 40_000, "received": 0,
         "spent": 0, "closing_balance": 40_000, "entries": 0},
        {"month": "2026-03", "currency": "XOF", "opening_balance": 40_000, "received": 0,
         "spent": 15_000, "closing_balance": 25_000, "entries": 1},
    ]


def test_a_manager_downloads_a_persons_data_on_request_and_nobody_else_can(
        story, login_as, security_events):
    manager = login_as(story["manager"])
    url = f"/people/{story['client'].id}/data"
    index, _archive = read_zip(manager.get(url))
    assert index["sections"]["profile"]["email"] == story["client"].email
    [event] = security_events("personal_data_exported")
    assert event["user_id"] == story["manager"].id
    assert event["target_user_id"] == story["client"].id
    assert login_as(story["writer"]).get(url).status_code == 404
    assert login_as(story["other_client"]).get(url).status_code == 404


@pytest.mark.parametrize("who", ["client", "writer"])
def test_the_download_runs_a_bounded_number_of_statements(app, story, login_as, factory, who):
    """More orders, deliveries, messages and files, invoices, credit notes, payments with their
    proofs, earnings and payouts do not add statements."""
    client = login_as(story[who])

    def statements() -> int:
        return len(statements_of(app, client, "/settings/data"))

    first = statements()
    assert first <= 20  # 19 for a client (8 of them the money's), 14 for a writer
    for n in range(3):
        more = factory.order(client=story["client"], writer=story["writer"], revisions=1,
                             status=OrderStatus.DELIVERED, tier=story["tier"], title=f"Plus {n}")
        factory.order(client=story["client"], writer=story["writer"], tier=story["tier"],
                      status=OrderStatus.APPROVED, title=f"Facturée {n}")
        with app.app_context():
            row = db.session.get(Order, more.id)
            post_message(row, db.session.get(User, story["client"].id), f"Encore {n}",
                         files=[FileStorage(BytesIO(PNG), filename=f"image{n}.png")])
            uploads.add_attachment(row, db.session.get(User, story["manager"].id),
                                   FileStorage(BytesIO(BRIEF), filename=f"brief{n}.txt"))
            db.session.commit()
            # Invoices, credit notes, top-ups with proofs, earnings and payouts.
            money(db.session.get(User, story["client"].id),
                  db.session.get(User, story["writer"].id),
                  db.session.get(User, story["manager"].id), round_=n + 1)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Invoice.id))) == 2 + 3 * 2
        assert db.session.scalar(sa.select(sa.func.count(Payout.id))) == 4
    index, _archive = read_zip(client.get("/settings/data"))
    billing = index["sections"]["billing"]
    assert len(billing["payouts" if who == "writer" else "invoices"]) == 4 if who == "writer" \
        else 8
    assert statements() == first


# --- erasure --------------------------------------------------------------------------------------


def deactivate(app, user) -> None:
    with app.app_context():
        db.session.get(User, user.id).active = False
        db.session.commit()


def erase(manager_client, person, confirm: bool = True):
    data = {"confirm": "y"} if confirm else {}
    return manager_client.submit(f"/people/{person.id}/erase", data)


PAGES_TO_CRAWL = 120


def crawl(client, start: list[str]) -> dict[str, str]:
    """Every page of the site reachable by links from `start` (GET, same site, no downloads,
    no logout), at most PAGES_TO_CRAWL: {path: text}."""
    seen: dict[str, str] = {}
    queue = list(start)
    while queue and len(seen) < PAGES_TO_CRAWL:
        path = queue.pop(0)
        if path in seen:
            continue
        response = client.get(path)
        if response.status_code != 200 or response.mimetype != "text/html":
            seen[path] = ""
            continue
        text = response.get_data(as_text=True)
        seen[path] = text
        for link in re.findall(r'href="([^"#]+)"', text):
            parts = urlsplit(link.replace("&amp;", "&"))
            if parts.netloc or not parts.path.startswith("/") or parts.path.startswith(
                    ("/static", "/bootstrap", "/logout", "/dev/")) \
                    or parts.path.endswith(("/data", ".zip", "/export")):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if target not in seen:
                queue.append(target)
    return seen


def test_a_manager_erases_a_former_writer_and_their_name_leaves_every_page(
        app, story, login_as, make_client, uploads_dir, security_events, factory):
    writer = story["writer"]
    writer_session = login_as(writer)
    old_name = writer.display_name
    # One more order approved: earned, not paid yet when the writer leaves.
    unpaid = factory.order(client=story["other_client"], writer=writer, tier=story["tier"],
                           status=OrderStatus.APPROVED, title="Payée après son départ")
    deactivate(app, writer)
    manager = login_as(story["manager"])
    client = login_as(story["client"])
    start = ["/home", "/orders", "/notifications", "/people", "/dashboard",
             f"/people/{writer.id}", "/agency/finance/payouts",
             f"/agency/finance/payouts/{story['batch']}", "/billing/invoices"]
    with app.app_context():
        payouts_before = db.session.execute(sa.select(Payout.id, Payout.amount)).all()
        earnings_before = db.session.execute(sa.select(WriterEarning.id, WriterEarning.amount,
                                                       WriterEarning.payout_id)).all()
    for who, session in (("manager", manager), ("client", client)):
        # The crawl reaches pages that name the writer before the erasure.
        assert any(old_name in text for text in crawl(session, start).values()), who

    page = manager.get(f"/people/{writer.id}/erase").get_data(as_text=True)
    assert 'data-testid="erase-kept"' in page
    assert "OHADA" in page and "versements" in page  # their payouts stay, and why
    response = erase(manager, writer)
    assert response.status_code == 302

    with app.app_context():
        erased = db.session.get(User, writer.id)
        assert erased.erased_at is not None and erased.email.endswith("@erased.invalid")
        assert erased.display_name == "Ancien membre"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(MessageAttachment)
                                 .join(Message).where(Message.author_id == writer.id)) == 0
        assert db.session.scalar(sa.select(Message.body).where(
            Message.author_id == writer.id)) == "Voici mes sources."  # the message stays
        assert counters_disagree() == []
        stored = {row.stored_name for row in db.session.scalars(sa.select(MessageAttachment))}
        stored |= {row.stored_name for row in db.session.scalars(sa.select(Attachment))}
        stored |= set(db.session.scalars(sa.select(Payment.proof_stored_name)
                                         .where(Payment.proof_stored_name.is_not(None))))
        # Their earnings and payouts stay, their old name out of the payouts' words.
        assert db.session.execute(sa.select(Payout.id, Payout.amount)).all() == payouts_before
        assert db.session.execute(sa.select(WriterEarning.id, WriterEarning.amount,
                                            WriterEarning.payout_id)).all() == earnings_before
        payout = db.session.scalars(sa.select(Payout)).one()
        assert payout.writer_id == writer.id and payout.reference == "MX-PAY-0 Ancien membre"
        assert db.session.get(PayoutBatch, story["batch"]).note == \
            "Paiement de Ancien membre, tour 0."
    assert {p.name for p in uploads_dir.iterdir()} == stored  # the writer's file is gone
    assert len(stored) == 4  # Ama's brief and logo, her two proofs of payment

    for who, session in (("manager", manager), ("client", client)):
        pages = crawl(session, start)
        assert len([p for p in pages.values() if p]) > 5, who
        showing = [path for path, text in pages.items() if old_name in text]
        assert showing == [], f"{who} still reads {old_name!r} on {showing}"
    order_page = client.get(f"/orders/{story['order'].id}").get_data(as_text=True)
    assert "Ancien membre" in order_page and "Voici mes sources." in order_page
    # The invoice of the order they wrote remains, its page and its PDF as issued.
    invoice_page = client.get(f"/billing/invoices/{story['invoice']}").get_data(as_text=True)
    assert story["order"].reference in invoice_page and "Dix idées de sorties" in invoice_page
    pdf = client.get(f"/billing/invoices/{story['invoice']}/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    with app.app_context():
        assert pdf.data == db.session.scalar(
            sa.select(Document.content).join(Invoice, Invoice.document_id == Document.id)
            .where(Invoice.id == story["invoice"]))
    # What they were still owed is paid after they left, without an email to nobody.
    with app.app_context():
        batch = earnings.pay_out(db.session.get(User, story["manager"].id), [
            earnings.PayoutLine(writer.id, PaymentMethod.CASH, "")])
        db.session.commit()
        assert batch.total == unpaid.writer_pay_total
        assert db.session.scalar(sa.select(sa.func.count(OutboxEmail.id)).where(
            OutboxEmail.kind == "payout_sent", OutboxEmail.recipient_user_id == writer.id)) == 0

    person_page = manager.get(f"/people/{writer.id}").get_data(as_text=True)
    assert 'data-testid="person-erased"' in person_page
    assert "OHADA" in person_page
    assert writer_session.get("/home").status_code == 302  # the session ended
    for address in (writer.email, f"erased-{writer.id}@erased.invalid"):
        refused = make_client().login(address, Factory.PASSWORD)
        assert refused.status_code != 302
    [event] = security_events("person_erased")
    assert event["target_user_id"] == writer.id and event["user_id"] == story["manager"].id
    assert old_name not in json.dumps(event) and writer.email not in json.dumps(event)


def test_erasing_a_former_client_removes_drafts_files_and_emails_and_keeps_the_orders(
        app, story, login_as, uploads_dir, factory):
    client = story["client"]
    waiting = factory.order(client=client, status=OrderStatus.OPEN, title="En attente")
    deactivate(app, client)
    manager = login_as(story["manager"])
    with app.app_context():
        emails_to_client = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEmail)
                                             .where(OutboxEmail.recipient == client.email))
    assert emails_to_client > 0

    # An order waiting for a writer is not finished: it stands in the way.
    page = erase(manager, client).get_data(as_text=True)
    assert waiting.reference in page
    with app.app_context():
        assert db.session.get(User, client.id).erased_at is None
        from portal.orders import service
        service.cancel(db.session.get(Order, waiting.id), db.session.get(User,
                       story["manager"].id), "Le client est parti.")
        db.session.commit()

    assert erase(manager, client).status_code == 302
    with app.app_context():
        assert db.session.get(Order, story["draft"].id) is None
        assert db.session.get(Order, story["order"].id).client_id == client.id
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEmail)
                                 .where(OutboxEmail.recipient == client.email)) == 0
        assert counters_disagree() == []
    # The writer's sources.txt, and the proof of Ama's confirmed payment (kept with the books).
    with app.app_context():
        proof = db.session.get(Payment, story["paid"]).proof_stored_name
    assert {p.name for p in uploads_dir.iterdir()} == {
        proof, *(a.stored_name for a in message_files(app, story["writer"]))}


def message_files(app, author) -> list[MessageAttachment]:
    with app.app_context():
        return db.session.scalars(sa.select(MessageAttachment).join(Message)
                                  .where(Message.author_id == author.id)).all()


def books(company_id: int) -> dict:
    """A company's accounts and documents as stored: what an erasure must not touch."""
    def rows(*columns, where):
        return db.session.execute(sa.select(*columns).where(where)
                                  .order_by(columns[0])).all()

    return {
        "company": rows(Company.id, Company.name, Company.address, Company.tax_number,
                        Company.trade_register, Company.balance, Company.held,
                        where=Company.id == company_id),
        "ledger": rows(LedgerEntry.id, LedgerEntry.kind, LedgerEntry.amount, LedgerEntry.held,
                       LedgerEntry.note, where=LedgerEntry.company_id == company_id),
        "invoices": rows(Invoice.id, Invoice.number, Invoice.buyer, Invoice.seller,
                         Invoice.total, Invoice.paid, Invoice.credited, Invoice.document_id,
                         where=Invoice.company_id == company_id),
        "credit_notes": rows(CreditNote.id, CreditNote.number, CreditNote.buyer,
                             CreditNote.total, CreditNote.document_id,
                             where=CreditNote.company_id == company_id),
        "documents": rows(Document.id, Document.sha256, Document.content, where=Document.id.in_(
            sa.union(sa.select(Invoice.document_id).where(Invoice.company_id == company_id),
                     sa.select(CreditNote.document_id)
                     .where(CreditNote.company_id == company_id)))),
        "payments": rows(Payment.id, Payment.status, Payment.amount, Payment.reference,
                         where=Payment.company_id == company_id),
    }


def test_erasing_a_former_client_keeps_the_companys_books_and_takes_the_person_out_of_it(
        app, story, login_as, uploads_dir):
    """The company, its ledger, invoices, credit notes and their PDFs stay as they were (the
    buyer on them as at issue: Ama's name and address); Ama leaves the company, which no longer
    emails her; the proof of her confirmed payment stays, that of the rejected one goes; the
    proforma nobody will pay is cancelled. A payment she declared that waits for a decision
    stands in the way until a manager decides it."""
    client, manager_user = story["client"], story["manager"]
    with app.app_context():
        person = db.session.get(User, client.id)
        company = company_of(person)
        company.billing_email = client.email  # her own address, given as the company's
        waiting = payments.declare_for_proforma(
            person, payments.request_topup(person, 3_000),
            payments.Declaration(PaymentMethod.FLOOZ, "FL-ATTENTE-1", 3_000))
        db.session.commit()
        company_id, waiting_id = company.id, waiting.id
        refused_proof = db.session.get(Payment, story["refused"]).proof_stored_name
        kept_proof = db.session.get(Payment, story["paid"]).proof_stored_name
    deactivate(app, client)
    manager = login_as(manager_user)

    page = manager.get(f"/people/{client.id}/erase").get_data(as_text=True)
    assert 'data-testid="erase-blockers"' in page and "FL-ATTENTE-1" in page
    assert "OHADA" in page and "justificatifs" in page  # what stays, and why
    assert erase(manager, client).status_code in (200, 422)
    with app.app_context():
        assert db.session.get(User, client.id).erased_at is None
        payments.reject(db.session.get(Payment, waiting_id),
                        db.session.get(User, manager_user.id), "Pas reçu.")
        db.session.commit()
        before = books(company_id)
        assert before["invoices"][0].buyer["name"] == "Ama Cliente"
        assert before["invoices"][0].buyer["email"] == client.email
    assert (uploads_dir / refused_proof).exists()

    assert erase(manager, client).status_code == 302

    with app.app_context():
        assert books(company_id) == before  # whole, as issued
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CompanyMember)
                                 .where(CompanyMember.user_id == client.id)) == 0
        assert company_of(db.session.get(User, client.id)) is None
        assert db.session.get(Company, company_id).billing_email == ""
        assert db.session.get(Payment, story["paid"]).proof_stored_name == kept_proof
        refused = db.session.get(Payment, story["refused"])
        assert refused.proof_stored_name is None and refused.proof_name is None
        assert {p.status for p in db.session.scalars(
            sa.select(Proforma).where(Proforma.company_id == company_id))} == {
            ProformaStatus.PAID, ProformaStatus.CANCELLED}
        # A credit note issued afterwards is kept, and emailed to nobody.
        invoice = db.session.get(Invoice, story["invoice"])
        later = invoices.issue_credit_note(invoice, db.session.get(User, manager_user.id), 500,
                                           "Geste après son départ.")
        db.session.commit()
        assert later.buyer["name"] == "Ama Cliente" and later.buyer["email"] == ""
        assert db.session.scalar(sa.select(sa.func.count(OutboxEmail.id)).where(
            OutboxEmail.kind == "credit_note_issued",
            OutboxEmail.idempotency_key == f"credit-note:{later.id}")) == 0
    assert (uploads_dir / kept_proof).exists() and not (uploads_dir / refused_proof).exists()
    # Managers still read the documents and the proof.
    assert manager.get(f"/billing/invoices/{story['invoice']}").status_code == 200
    assert manager.get(f"/billing/invoices/{story['invoice']}/pdf").status_code == 200
    assert manager.get(f"/billing/payments/{story['paid']}/proof").data == PROOF
    company_page = manager.get(f"/agency/finance/companies/{company_id}").get_data(as_text=True)
    assert 'data-testid="company-without-people"' in company_page
    person_page = manager.get(f"/people/{client.id}").get_data(as_text=True)
    assert "OHADA" in person_page and "justificatifs" in person_page


@pytest.mark.parametrize("who", ["an active client", "a manager", "an erased writer"])
def test_who_cannot_be_erased_is_told_why_and_nothing_changes(app, story, login_as, who):
    manager = login_as(story["manager"])
    if who == "an active client":
        person = story["other_client"]
    elif who == "a manager":
        person = login_as("manager").user
        deactivate(app, person)
    else:
        person = story["writer"]
        deactivate(app, person)
        assert erase(manager, person).status_code == 302
    with app.app_context():
        before = db.session.get(User, person.id)
        before = (before.display_name, before.email, before.erased_at)

    response = erase(manager, person)

    assert response.status_code in (200, 422)
    assert 'data-testid="erase-blockers"' in response.get_data(as_text=True)
    with app.app_context():
        after = db.session.get(User, person.id)
        assert (after.display_name, after.email, after.erased_at) == before


def test_the_erasure_must_be_confirmed(app, story, login_as):
    deactivate(app, story["writer"])
    manager = login_as(story["manager"])
    response = erase(manager, story["writer"], confirm=False)
    assert response.status_code == 422
    with app.app_context():
        assert db.session.get(User, story["writer"].id).erased_at is None


def test_an_erased_account_cannot_be_reactivated(app, story, login_as):
    deactivate(app, story["writer"])
    manager = login_as(story["manager"])
    erase(manager, story["writer"])
    manager.submit(f"/people/{story['writer'].id}/reactivate",
                   page=f"/people/{story['writer'].id}")
    with app.app_context():
        assert db.session.get(User, story["writer"].id).active is False


def test_files_of_the_download_are_those_of_the_storage(app, story, login_as, uploads_dir):
    """The uploaded files on the disk, and the documents as issued in the database."""
    _index, archive = read_zip(login_as(story["client"]).get("/settings/data"))
    kept_in_database = ("files/billing/invoices/", "files/billing/credit-notes/")
    on_disk = sorted(p.read_bytes() for p in Path(uploads_dir).iterdir())
    in_zip = sorted(archive.read(n) for n in archive.namelist()
                    if n.startswith("files/") and not n.startswith(kept_in_database))
    assert in_zip == on_disk
    with app.app_context():
        documents = sorted(db.session.scalars(sa.select(Document.content)))
    assert sorted(archive.read(n) for n in archive.namelist()
                  if n.startswith(kept_in_database)) == documents
    assert len(documents) == 3
