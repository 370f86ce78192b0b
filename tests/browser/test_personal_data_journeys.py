"""A person's data in Chromium: a client downloads theirs from the settings (their order,
delivery, message, and their company's invoice with its PDF); a manager erases a former writer,
whose name then appears on no page, while the invoice of the order they wrote remains, its page
and its PDF, and the payout that paid them stays under "Former member"."""

from __future__ import annotations

import json
import zipfile
from io import BytesIO
from pathlib import Path

import pytest
import sqlalchemy as sa
from pypdf import PdfReader
from werkzeug.datastructures import FileStorage

from portal.accounts.models import User
from portal.billing import earnings
from portal.billing.models import Invoice, PaymentMethod
from portal.extensions import db
from portal.messaging.service import post_message
from portal.orders.models import Order, OrderStatus
from tests.browser import helpers
from tests.browser.helpers import expect

pytestmark = pytest.mark.browser


@pytest.fixture
def story(app, factory, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))
    tier = factory.tier()
    manager = factory.user("manager", name="Esi Manager")
    client = factory.user("client", name="Ama Cliente", company="Hôtel du Golfe SARL",
                          billing="prepaid", funds=50_000)
    writer = factory.writer(name="Kofi Plume-Rare", tiers=[tier])
    order = factory.order(client=client, writer=writer, tier=tier, status=OrderStatus.APPROVED,
                          title="Dix idées de sorties à Lomé",
                          text="Lomé se découvre à pied, du grand marché à la plage.")
    with app.app_context():
        row = db.session.get(Order, order.id)
        post_message(row, db.session.get(User, client.id), "Merci Kofi, c'est parfait !")
        post_message(row, db.session.get(User, writer.id), "Avec plaisir, voici mes notes.",
                     files=[FileStorage(BytesIO(b"Notes de Kofi.\n"), filename="notes.txt")])
        db.session.commit()
        # Approved from a prepaid balance: the order's invoice is issued; Kofi is paid.
        invoice = db.session.scalars(sa.select(Invoice)).one()
        batch = earnings.pay_out(db.session.get(User, manager.id), [earnings.PayoutLine(
            writer.id, PaymentMethod.MIXX, "MX-5521 pour Kofi Plume-Rare")])
        db.session.commit()
        invoice_id, number, batch_id = invoice.id, invoice.number, batch.id
    return {"manager": manager, "client": client, "writer": writer, "order": order,
            "invoice_id": invoice_id, "invoice_number": number, "batch_id": batch_id}


def pdf_text(download) -> str:
    content = Path(download.path()).read_bytes()
    return "\n".join(p.extract_text() for p in PdfReader(BytesIO(content)).pages)


def log_in(page, user) -> None:
    helpers.log_in(page, user.email)


def no_sideways_scrolling(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_client_downloads_their_data_and_finds_order_delivery_and_message(new_page, story):
    page = new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, story["client"])
    page.goto("/settings")
    assert no_sideways_scrolling(page)

    with page.expect_download() as download_info:
        page.get_by_test_id("export-data-link").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".zip")
    archive = zipfile.ZipFile(download.path())
    index = json.loads(archive.read("index.json"))

    [order] = index["sections"]["orders"]["orders"]
    assert order["title"] == "Dix idées de sorties à Lomé"
    assert "du grand marché à la plage" in order["deliveries"][0]["text"]
    bodies = [m["body"] for m in index["sections"]["messages"]["messages"]]
    assert "Merci Kofi, c'est parfait !" in bodies
    [notes] = [f for f in index["files"] if f["name"] == "notes.txt"]
    assert archive.read(notes["path"]) == b"Notes de Kofi.\n"
    billing = index["sections"]["billing"]
    assert billing["company"]["name"] == "Hôtel du Golfe SARL"
    [invoice] = billing["invoices"]
    assert invoice["number"] == story["invoice_number"]
    assert invoice["lines"][0]["reference"] == story["order"].reference
    assert archive.read(invoice["pdf"]).startswith(b"%PDF")
    assert page.errors == []


def test_a_manager_erases_a_former_writer_whose_name_then_appears_on_no_page(
        new_page, story, app):
    writer, order = story["writer"], story["order"]
    boss = new_page()
    boss.set_viewport_size({"width": 390, "height": 844})
    log_in(boss, story["manager"])
    boss.on("dialog", lambda dialog: dialog.accept())
    boss.goto(f"/people/{writer.id}")
    boss.locator(f"form[action='/people/{writer.id}/deactivate'] button").click()
    expect(boss.get_by_test_id("person-state")).to_have_text("Désactivé")

    boss.get_by_test_id("erase-link").click()
    expect(boss.get_by_test_id("erase-kept")).to_contain_text("Ancien membre")
    assert no_sideways_scrolling(boss)
    boss.get_by_test_id("erase-submit").click()  # not confirmed yet: told so
    expect(boss.locator(".invalid-feedback")).to_be_visible()
    boss.locator("input[name=confirm]").check()
    boss.get_by_test_id("erase-submit").click()
    expect(boss.get_by_test_id("person-erased")).to_be_visible()
    expect(boss.locator("main")).not_to_contain_text("Kofi Plume-Rare")

    expect(boss.get_by_test_id("person-erased")).to_contain_text("OHADA")

    client = new_page()
    client.set_viewport_size({"width": 390, "height": 844})
    log_in(client, story["client"])
    invoice_url = f"/billing/invoices/{story['invoice_id']}"
    for _who, page, paths in (
        ("manager", boss, ["/dashboard", "/orders", f"/orders/{order.id}", "/people",
                           f"/people/{writer.id}", "/notifications", "/agency/finance/payouts",
                           f"/agency/finance/payouts/{story['batch_id']}", invoice_url]),
        ("client", client, ["/home", "/orders", f"/orders/{order.id}", "/notifications",
                            "/billing", "/billing/invoices", invoice_url]),
    ):
        for path in paths:
            page.goto(path)
            expect(page.locator("body")).not_to_contain_text("Kofi Plume-Rare")
    client.goto(f"/orders/{order.id}")
    expect(client.locator("main")).to_contain_text("Ancien membre")
    expect(client.locator("main")).to_contain_text("Avec plaisir, voici mes notes.")

    # The invoice of the order the erased writer wrote remains: its page and its PDF.
    client.goto("/billing/invoices")
    expect(client.get_by_test_id("invoice-row")).to_contain_text(story["invoice_number"])
    client.goto(invoice_url)
    expect(client.get_by_test_id("invoice-number")).to_contain_text(story["invoice_number"])
    expect(client.get_by_test_id("invoice-lines")).to_contain_text(order.reference)
    assert no_sideways_scrolling(client)
    with client.expect_download() as download:
        client.get_by_test_id("invoice-pdf").click()
    text = pdf_text(download.value)
    assert story["invoice_number"] in text and "Hôtel du Golfe SARL" in text
    assert order.reference in text and "Kofi Plume-Rare" not in text
    # The payout that paid the writer stays, under "Former member".
    boss.goto(f"/agency/finance/payouts/{story['batch_id']}")
    expect(boss.locator("main")).to_contain_text("Ancien membre")
    expect(boss.locator("main")).to_contain_text("MX-5521")
    assert boss.errors == [] and client.errors == []
