"""The approved text leaves the portal: shown on the order page, downloaded in six formats by
the people of the order (its client, its writer, the managers), copied with two buttons; nobody
else gets it, and nothing is exported before the client approves."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta
from urllib.parse import unquote

import docx
import pytest

from portal.extensions import utcnow
from portal.orders.models import OrderStatus
from tests.conftest import statements_of
from tests.factories import deliverable
from tests.http.pages import by_testid

TEXT = ("# Guide du marché\n\nAcheter **frais** et *local*, lire [la carte](https://example.com/carte)."
        "\n\n- tomates\n- piments\n\n<script>alert('x')</script>")
TITLE = "Marché d'Akodésséwa : le guide"

FORMATS = {
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             "marche-d-akodessewa-le-guide.docx"),
    "pdf": ("application/pdf", "marche-d-akodessewa-le-guide.pdf"),
    "html": ("text/html; charset=utf-8", "marche-d-akodessewa-le-guide.html"),
    "fragment.html": ("text/html; charset=utf-8", "marche-d-akodessewa-le-guide-fragment.html"),
    "md": ("text/markdown; charset=utf-8", "marche-d-akodessewa-le-guide.md"),
    "txt": ("text/plain; charset=utf-8", "marche-d-akodessewa-le-guide.txt"),
}


@pytest.fixture
def approved(factory, person):
    """An approved order with two deliveries (one revision asked); its people read English."""
    tier = factory.tier()
    return factory.order(status=OrderStatus.APPROVED, text=TEXT, title=TITLE, revisions=1,
                         client=person("client"), tier=tier,
                         writer=factory.writer(tiers=[tier], locale="en"))


def url(order, fmt: str, number: int = 2) -> str:
    return f"/orders/{order.id}/deliveries/{number}/export.{fmt}"


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_client_downloads_the_approved_text_in_each_format(signed_in, approved, fmt):
    client = signed_in(approved.client)

    response = client.get(url(approved, fmt))

    assert response.status_code == 200
    mimetype, ascii_name = FORMATS[fmt]
    assert response.headers["Content-Type"] == mimetype
    disposition = response.headers["Content-Disposition"]
    found = re.fullmatch(r'attachment; filename="([^"]+)"; filename\*=UTF-8\'\'(\S+)', disposition)
    assert found is not None, disposition
    assert found[1] == ascii_name
    assert unquote(found[2]) == "Marché d'Akodésséwa le guide" + ascii_name.removeprefix(
        "marche-d-akodessewa-le-guide")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    body = response.data
    if fmt == "docx":
        document = docx.Document(io.BytesIO(body))
        assert document.paragraphs[0].style.name == "Heading 1"
        assert "Version 2." in [p.text for p in document.paragraphs]
    elif fmt == "pdf":
        assert body.startswith(b"%PDF-")
    elif fmt == "md":
        # the factory completes a text up to its brief's minimum (tests/factories.deliverable)
        assert body.decode() == deliverable(approved, TEXT + "\n\nVersion 2.") + "\n"
    elif fmt == "txt":
        assert body.decode().startswith("Guide du marché\n\nAcheter frais et local, lire la carte "
                                        "(https://example.com/carte).\n\n- tomates\n- piments\n")
    else:
        html = body.decode()
        assert "&lt;script&gt;" in html
        assert "<script" not in html
        assert ("<!DOCTYPE html>" in html) is (fmt == "html")


@pytest.mark.parametrize("who", ["writer", "manager"])
def test_the_writer_and_the_managers_download_it_too(signed_in, approved, who):
    reader = signed_in(approved.writer if who == "writer" else "manager")

    response = reader.get(url(approved, "md"))

    assert response.status_code == 200
    assert response.data.decode() == deliverable(approved, TEXT + "\n\nVersion 2.") + "\n"


@pytest.mark.parametrize("who", ["other client", "writer of another order", "pool writer"])
def test_other_people_get_404(signed_in, factory, approved, who):
    if who == "other client":
        stranger = signed_in("client")
    elif who == "writer of another order":
        stranger = signed_in(factory.order(status=OrderStatus.APPROVED).writer)
    else:
        stranger = signed_in(factory.writer(languages=["fr"], tiers=[approved.tier]))

    for fmt in FORMATS:
        assert stranger.get(url(approved, fmt)).status_code == 404
    assert "Guide du marché" not in stranger.get(f"/orders/{approved.id}").get_data(as_text=True)


def test_a_visitor_is_sent_to_log_in(client, approved):
    response = client.get(url(approved, "docx"))

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("status", [OrderStatus.DELIVERED, OrderStatus.REVISION_REQUESTED,
                                    OrderStatus.IN_PROGRESS])
def test_nothing_is_exported_before_the_client_approves(signed_in, factory, status):
    order = factory.order(status=status, text=TEXT)
    client = signed_in(order.client)

    for fmt in FORMATS:
        assert client.get(url(order, fmt, number=1)).status_code == 404
    page = client.get(f"/orders/{order.id}")
    assert by_testid(page, "exports") == ""
    assert "export." not in page.get_data(as_text=True)


def test_only_the_approved_delivery_unknown_formats_and_orders_answer_404(signed_in, approved):
    client = signed_in(approved.client)

    assert client.get(url(approved, "md", number=1)).status_code == 404  # an earlier version
    assert client.get(url(approved, "md", number=3)).status_code == 404
    for fmt in ("exe", "doc", "html.exe", "PDF", "zip"):
        assert client.get(url(approved, fmt)).status_code == 404
    assert client.get(f"/orders/{approved.id + 1000}/deliveries/2/export.md").status_code == 404


def test_the_order_page_shows_the_approved_text_with_its_downloads_and_copy_buttons(signed_in,
                                                                                     approved):
    client = signed_in(approved.client)

    page = client.get(f"/orders/{approved.id}")
    html = page.get_data(as_text=True)

    assert page.status_code == 200
    assert "The approved text" in by_testid(page, "shown-text")
    shown = by_testid(page, "delivery-text")
    assert "Guide du marché" in shown and "Version 2." in shown
    assert "<script>alert" not in html
    for fmt in FORMATS:
        assert f'href="{url(approved, fmt)}"' in html
    assert by_testid(page, "copy-text") == "Copy text"
    assert by_testid(page, "copy-html") == "Copy as HTML"
    assert 'data-copy-source="text">Guide du marché\n\nAcheter frais et local' in html
    assert 'aria-label="The HTML of the text">&lt;h1&gt;Guide du marché&lt;/h1&gt;' in html
    assert "js/copy.js" in html


def test_the_writer_sees_the_delivery_waiting_for_review_without_downloads(signed_in, factory):
    tier = factory.tier()
    order = factory.order(status=OrderStatus.DELIVERED, text=TEXT, tier=tier,
                          writer=factory.writer(tiers=[tier], locale="en"))
    writer = signed_in(order.writer)

    page = writer.get(f"/orders/{order.id}")

    assert "Delivery 1, waiting for the client" in by_testid(page, "shown-text")
    assert "Guide du marché" in by_testid(page, "delivery-text")
    assert by_testid(page, "exports") == ""


def test_a_download_runs_the_same_few_statements_however_many_deliveries(app, signed_in, factory):
    """Three: the user, the order with its people, the last delivery."""
    small = factory.order(status=OrderStatus.APPROVED, text=TEXT)
    client = signed_in(small.client)
    big = factory.order(status=OrderStatus.APPROVED, text=TEXT, client=small.client, revisions=2)

    few = statements_of(app, client, url(small, "docx", number=1))
    many = statements_of(app, client, url(big, "docx", number=3))

    assert len(few) == len(many) <= 3, many


def test_the_html_download_is_never_shown_inline(signed_in, approved):
    response = signed_in(approved.client).get(url(approved, "html"))

    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Content-Security-Policy"] == "sandbox"
    assert "no-store" in response.headers["Cache-Control"]
    assert not zipfile.is_zipfile(io.BytesIO(response.data))


def test_the_approved_delivery_page_offers_the_downloads_and_the_earlier_one_does_not(
        signed_in, approved):
    client = signed_in(approved.client)

    last = client.get(f"/orders/{approved.id}/deliveries/2")
    earlier = client.get(f"/orders/{approved.id}/deliveries/1")

    assert "Download the approved text" in by_testid(last, "exports")
    for fmt in FORMATS:
        assert f'href="{url(approved, fmt)}"' in last.get_data(as_text=True)
    assert earlier.status_code == 200
    assert by_testid(earlier, "exports") == ""
    assert "export." not in earlier.get_data(as_text=True)


def test_a_delivery_waiting_for_review_has_no_downloads_on_its_page(signed_in, factory, person):
    order = factory.order(status=OrderStatus.DELIVERED, text=TEXT, client=person("client"))

    page = signed_in(order.client).get(f"/orders/{order.id}/deliveries/1")

    assert page.status_code == 200
    assert by_testid(page, "exports") == ""


def test_a_noncharacter_in_the_title_or_text_still_makes_every_file(signed_in, factory):
    """U+FFFE and U+FFFF pass the forms but XML refuses them: the .docx left them out rather
    than answer 500 (and break every archive that held the order)."""
    order = factory.order(status=OrderStatus.APPROVED, title="Mauvais \uffff titre",
                          text="# Titre\ufffe\n\nUn texte \uffff pour voir.")
    client = signed_in(order.client)

    for fmt in FORMATS:
        response = client.get(url(order, fmt, number=1))
        assert response.status_code == 200, fmt
    document = docx.Document(io.BytesIO(client.get(url(order, "docx", number=1)).data))
    assert document.paragraphs[0].text == "Titre"
    today = utcnow().date()
    archive = client.get("/orders/texts.zip", query_string={
        "start": (today - timedelta(days=2)).isoformat(), "end": today.isoformat()})
    assert archive.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(archive.data)).namelist()
    assert len(names) == 2 and names[0].endswith(".docx")
