"""The compliance report of a delivery: stored when the writer delivers, shown to the client,
the writer and the managers on the delivery page and, for the latest delivery, on the order
page; nobody else sees it. A delivery stored before reports gets one computed for the page."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.orders.models import Delivery, Order
from portal.orders.report import build_report
from portal.orders.text import word_count
from tests.conftest import statements_of
from tests.http.pages import by_testid, location, texts
from tests.http.writing_helpers import ARTICLE, act, catalogue, change, place_order, qualify

LINK = "https://lome.test/baobab"
TEXT = ARTICLE + f"\nVoir [le guide]({LINK}) et https://autre.test/page.\n"


@pytest.fixture
def cat(app):
    return catalogue(app)


@pytest.fixture
def shop(person):
    return person("client", name="Ama Koffi")


@pytest.fixture
def writer(app, person, cat):
    user = person("writer", name="Kofi Mensah")
    qualify(app, user, languages=["fr"], tiers=[cat.standard])
    return user


@pytest.fixture
def delivered(app, cat, shop, writer, signed_in):
    """An order of 100 to 200 words with a required link, delivered by its writer through the
    workspace's form."""
    order_id = place_order(app, shop, cat, words=(100, 200))
    change(app, order_id, links_to_include=LINK)
    act(app, order_id, writer, "claim")
    response = signed_in(writer).submit(
        f"/work/orders/{order_id}/deliver", {"text": TEXT, "base_version": "0", "note": ""},
        page=f"/work/orders/{order_id}")
    assert location(response) == f"/work/orders/{order_id}"
    return order_id


def test_a_delivery_stores_its_report(app, delivered):
    with app.app_context():
        delivery = db.session.scalars(sa.select(Delivery)).one()
        report = delivery.report
        assert report == build_report(db.session.get(Order, delivered), TEXT) | {
            "originality": {"version": 1, "score": 0.0, "phrases": report["originality"]["phrases"],
                            "sources": [], "passages": []}}
    assert report["words"]["count"] == word_count(TEXT) and report["words"]["in_range"]
    assert [(k["keyword"], k["main"], k["found"]) for k in report["keywords"]] == [
        ("baobab", True, True), ("pain de singe", False, True),
        ("saison des pluies", False, True)]
    assert report["links"]["present"] == [LINK, "https://autre.test/page"]
    assert report["links"]["required"] == [{"url": LINK, "found": True}]
    assert report["headings"] == [{"level": 1, "text": "Le baobab"},
                                  {"level": 2, "text": "Un arbre à tout faire"}]
    assert report["readability"]["formula"] == "kandel_moles"


def test_the_client_sees_the_report_on_the_order_page_and_the_delivery_page(
        shop, delivered, signed_in):
    client = signed_in(shop)

    for url in (f"/orders/{delivered}", f"/orders/{delivered}/deliveries/1"):
        page = client.get(url)
        assert page.status_code == 200
        card = by_testid(page, "report")
        assert "Compliance report" in card
        keywords = texts(page, lambda _tag, attrs: attrs.get("data-testid") == "report-keyword")
        assert len(keywords) == 3 and "baobab" in keywords[0] and "main keyword" in keywords[0]
        assert "found baobab" in keywords[0] and "density" in keywords[0]
        assert by_testid(page, "report-required-link") == f"found {LINK}"
        assert by_testid(page, "report-link") == f"{LINK} https://autre.test/page"
        assert by_testid(page, "report-heading") == "H1 Le baobab H2 Un arbre à tout faire"
        sentences = by_testid(page, "report-sentences")
        assert "words on average" in sentences
        assert "None is longer than 35 words." in sentences
        assert "Kandel-Moles score (French):" in by_testid(page, "report-readability")
        # The first text of the agency: nothing to compare with. Forbidden words: not built yet.
        assert "Original No passage of this text is found" in by_testid(page,
                                                                          "report-originality")
        assert "forbidden" not in card.lower()
    assert "Delivery 1" in by_testid(client.get(f"/orders/{delivered}"), "report")


def test_the_writer_and_a_manager_see_it_too_and_in_french(app, writer, delivered, signed_in,
                                                            person):
    assert "Compliance report" in by_testid(
        signed_in(writer).get(f"/orders/{delivered}/deliveries/1"), "report")
    manager = signed_in(person("manager", locale="fr"))
    page = manager.get(f"/orders/{delivered}")
    card = by_testid(page, "report")
    assert "Rapport de conformité" in card and "Aucune ne dépasse 35 mots." in card
    html = page.get_data(as_text=True)  # the page's own spaces (by_testid makes them plain)
    assert "Score de Kandel\u2013Moles (français)\u202f:" in html
    with app.app_context():
        report = db.session.scalars(sa.select(Delivery.report)).one()
    density = f"{report['keywords'][0]['density']:.1f}".replace(".", ",")
    assert f"densité {density}\u202f%" in html


def test_another_client_gets_404_for_the_delivery_and_its_report(delivered, signed_in):
    intruder = signed_in("client")
    for url in (f"/orders/{delivered}", f"/orders/{delivered}/deliveries/1"):
        assert intruder.get(url).status_code == 404


def test_a_delivery_older_than_reports_gets_one_computed_for_the_page_and_not_stored(
        app, shop, delivered, signed_in):
    with app.app_context():
        db.session.execute(sa.update(Delivery).values(report=None))
        db.session.commit()
    # Computed from the brief as it is now: a link added to it since is missing.
    change(app, delivered, links_to_include=f"{LINK}\nhttps://absent.test/x")

    page = signed_in(shop).get(f"/orders/{delivered}/deliveries/1")

    assert by_testid(page, "report-heading") == "H1 Le baobab H2 Un arbre à tout faire"
    required = by_testid(page, "report-required-link")
    assert f"found {LINK}" in required and "missing https://absent.test/x" in required
    with app.app_context():
        assert db.session.scalars(sa.select(Delivery.report)).one() is None


def test_the_report_costs_the_delivery_page_no_statement(app, shop, delivered, signed_in):
    """The report comes with the delivery's row: the page reads the user, the order, the
    deliveries around this one and the bell's total, stored report or not."""
    client = signed_in(shop)
    url = f"/orders/{delivered}/deliveries/1"
    client.get(url)
    stored = statements_of(app, client, url)
    with app.app_context():
        db.session.execute(sa.update(Delivery).values(report=None))
        db.session.commit()
    computed = statements_of(app, client, url)

    assert len(stored) == len(computed) <= 4, stored
