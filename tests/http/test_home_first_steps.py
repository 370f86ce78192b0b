"""The home page's first steps and empty states, and its cards: every number on a card is the
number of orders the page it opens lists."""

from __future__ import annotations

import html as html_lib
import re
from datetime import UTC, datetime

import pytest

from portal.accounts.models import Role
from portal.orders.models import OrderStatus
from tests.conftest import statements_of
from tests.http.pages import by_testid, page_text


def home_cards(response) -> list[tuple[str, int]]:
    html = response.get_data(as_text=True)
    return [(html_lib.unescape(url), int(count)) for url, count in re.findall(
        r'<a class="card[^"]*" href="([^"]+)" data-testid="home-card" data-count="(\d+)"', html)]


def listed_orders(response) -> set[str]:
    """The orders a list page shows in its main part (the bell of the navigation names orders
    too), by their references: a row may name its order twice."""
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    main = html[html.index('<main id="content"'):html.index("</main>")]
    return set(re.findall(r"CMD-\d{5}", main))


@pytest.fixture
def agency(app, factory, time_machine):
    """An agency with orders in every status, two of them late, seen four days later."""
    time_machine.move_to(datetime(2026, 11, 20, 9, 0, tzinfo=UTC), tick=False)
    tier = factory.tier(min_lead_hours=24)
    content_type = factory.content_type()
    writer = factory.writer(languages=["fr"], tiers=[tier], locale="en")
    other_writer = factory.writer(languages=["fr", "en"], tiers=[tier], locale="en")
    client = factory.user(Role.CLIENT, locale="en")
    other_client = factory.user(Role.CLIENT, locale="en")
    soon = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)

    def order(status, *, who=client, by=writer, **kwargs):
        return factory.order(client=who, writer=by, tier=tier, content_type=content_type,
                             status=status, **kwargs)

    order(OrderStatus.DRAFT)
    payer = factory.user(Role.CLIENT, locale="en", billing="prepaid")
    order(OrderStatus.AWAITING_PAYMENT, who=payer, by=None)
    order(OrderStatus.AWAITING_PAYMENT, who=payer, by=None)
    order(OrderStatus.DRAFT, who=payer)
    order(OrderStatus.OPEN, by=None)
    order(OrderStatus.OPEN, by=None, deadline=soon)
    order(OrderStatus.IN_PROGRESS)
    order(OrderStatus.IN_PROGRESS, deadline=soon)
    order(OrderStatus.REVISION_REQUESTED, revisions=0)
    order(OrderStatus.DELIVERED)
    order(OrderStatus.APPROVED)
    order(OrderStatus.CANCELLED, by=None)
    order(OrderStatus.OPEN, who=other_client, by=None, language="en")
    order(OrderStatus.OPEN, who=other_client, by=None)
    order(OrderStatus.IN_PROGRESS, who=other_client, by=other_writer)
    time_machine.move_to(datetime(2026, 11, 24, 9, 0, tzinfo=UTC), tick=False)
    return {"client": client, "payer": payer, "writer": writer,
            "manager": factory.user(Role.MANAGER, locale="en")}


@pytest.mark.parametrize("role", ["client", "payer", "writer", "manager"])
def test_every_home_card_counts_what_its_page_lists(agency, login_as, role):
    browser = login_as(agency[role])

    cards = home_cards(browser.get("/home"))

    assert cards and any(count for _url, count in cards)
    for url, count in cards:
        assert len(listed_orders(browser.get(url))) == count, url


def test_the_cards_of_each_role_say_what_waits(agency, login_as):
    client = dict(home_cards(login_as(agency["client"]).get("/home")))
    assert client["/orders?status=in_progress"] == 2
    assert client["/orders?status=revision_requested"] == 1
    payer = dict(home_cards(login_as(agency["payer"]).get("/home")))
    assert payer["/orders?status=awaiting_payment"] == 2
    writer_page = login_as(agency["writer"]).get("/home")
    writer = dict(home_cards(writer_page))
    # Two being written, one being revised; the late one is said inside the card.
    assert writer["/work/assignments"] == 3
    assert by_testid(writer_page, "home-card-note") == "1 of them is late"
    assert writer["/work/pool"] == 3
    manager = {url.partition("?")[2]: count
               for url, count in home_cards(login_as(agency["manager"]).get("/home"))}
    # Late: the open one and the one being written due on the 22nd.
    assert manager["overdue=1"] == 2
    assert (manager["status=in_progress"], manager["status=revision_requested"]) == (3, 1)


# --- first steps ---------------------------------------------------------------------------


def test_a_new_client_sees_how_to_place_a_first_order_and_what_it_costs(factory, login_as):
    factory.content_type(name_fr="Article de blog", name_en="Blog article")
    factory.content_type(name_fr="Fiche produit", name_en="Product page")
    tier = factory.tier(name="Essentiel", client_price_per_word=25)
    client = login_as(factory.user(Role.CLIENT, locale="en"))

    page = client.get("/home")

    steps = by_testid(page, "first-steps")
    assert "Order your first text" in steps
    html = page.get_data(as_text=True)
    assert re.search(r'href="/orders/new" data-testid="first-order">Place my first order<', html)
    assert by_testid(page, "content-types").split() == ["Blog", "article", "Product", "page"]
    tiers = by_testid(page, "tiers")
    assert tier.name in tiers and "per word" in tiers and "at least 24 hours" in tiers
    assert 'data-testid="home-card"' not in html
    assert "Nothing here yet." not in page_text(page)


def test_the_first_steps_show_a_tiers_description(factory, login_as, app):
    tier = factory.tier(name="Expert")
    with app.app_context():
        from portal.extensions import db
        from portal.orders.models import Tier

        db.session.get(Tier, tier.id).description = "Un rédacteur spécialisé de votre secteur."
        db.session.commit()
    page = login_as(factory.user(Role.CLIENT, locale="en")).get("/home")
    assert "Un rédacteur spécialisé de votre secteur." in by_testid(page, "tiers")


def test_a_client_with_an_order_sees_cards_not_first_steps(factory, login_as):
    client_user = factory.user(Role.CLIENT, locale="en")
    factory.order(client=client_user, status=OrderStatus.DRAFT)
    page = login_as(client_user).get("/home")
    assert 'data-testid="first-steps"' not in page.get_data(as_text=True)
    assert dict(home_cards(page))["/orders?status=draft"] == 1


def test_a_new_client_in_french(factory, login_as):
    factory.tier(name="Essentiel")
    page = login_as(factory.user(Role.CLIENT, locale="fr")).get("/home")
    assert "Passer ma première commande" in by_testid(page, "first-steps")


def test_a_writer_without_work_sees_what_the_pool_holds_for_their_skills(factory, login_as):
    standard, premium = factory.tier(name="Standard"), factory.tier(name="Premium")
    writer = factory.writer(languages=["fr", "en"], tiers=[standard, premium], locale="en")
    for tier, language in [(standard, "fr"), (standard, "fr"), (premium, "en"),
                           (premium, "fr")]:
        factory.order(tier=tier, language=language, status=OrderStatus.OPEN)
    factory.order(tier=factory.tier(name="Hors champ"), status=OrderStatus.OPEN)
    browser = login_as(writer)

    page = browser.get("/home")

    offer = by_testid(page, "pool-offer")
    assert "4 open orders match your languages and levels:" in offer
    html = page.get_data(as_text=True)
    shares = re.findall(r'href="([^"]+)" data-testid="pool-share" data-count="(\d+)">([^<]+)<',
                        html)
    assert [(int(count), html_lib.unescape(label)) for _url, count, label in shares] == [
        (2, "Standard · Français"), (1, "Premium · English"), (1, "Premium · Français")]
    for url, count, _label in shares:
        assert len(listed_orders(browser.get(html_lib.unescape(url)))) == int(count)
    assert dict(home_cards(page))["/work/pool"] == 4


def test_a_writer_whose_skills_find_nothing_is_told_so(factory, login_as):
    tier = factory.tier()
    writer = factory.writer(languages=["fr"], tiers=[tier], locale="en")
    factory.order(tier=tier, language="en", status=OrderStatus.OPEN)
    page = login_as(writer).get("/home")
    assert "No open order matches your languages and levels right now." in by_testid(
        page, "pool-empty")


def test_a_writer_without_skills_is_told_to_ask_the_agency(factory, login_as):
    factory.order(status=OrderStatus.OPEN)
    page = login_as(factory.user(Role.WRITER, locale="en")).get("/home")
    assert "Write to the agency to have them set." in by_testid(page, "pool-no-skills")


def test_a_writer_with_work_sees_no_pool_offer(factory, login_as):
    tier = factory.tier()
    writer = factory.writer(tiers=[tier], locale="en")
    factory.order(tier=tier, writer=writer, status=OrderStatus.IN_PROGRESS)
    factory.order(tier=tier, status=OrderStatus.OPEN)
    html = login_as(writer).get("/home").get_data(as_text=True)
    assert 'data-testid="pool-offer"' not in html


def test_the_home_of_an_idle_writer_costs_the_same_with_more_data(app, factory, login_as):
    tier = factory.tier()
    writer = factory.writer(tiers=[tier], locale="en")
    browser = login_as(writer)
    factory.order(tier=tier, status=OrderStatus.OPEN)
    few = len(statements_of(app, browser, "/home"))
    for language in ("fr", "en", "fr"):
        factory.order(tier=factory.tier() if language == "en" else tier, language=language,
                      status=OrderStatus.OPEN)
    assert len(statements_of(app, browser, "/home")) == few
