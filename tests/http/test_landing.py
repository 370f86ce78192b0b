"""The landing page at "/" for visitors (the agency's offer from its catalogue, how it works,
sample texts, sharing tags) and its samples: approved texts a manager shows there, only while
their client consents (portal/orders/showcase.py)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from portal.extensions import db, utcnow
from portal.orders.models import Order, OrderStatus, Tier
from portal.orders.showcase import excerpt
from tests.conftest import statements_of
from tests.http.pages import by_testid, english, flashed, location, page_text

SAMPLE_TEXT = (
    "# Bien choisir son pagne à Lomé\n\n"
    "Le marché d'Adawlato regorge de tissus aux motifs éclatants. Avant d'acheter, touchez le "
    "coton, regardez l'envers du tissu et demandez d'où il vient : un wax de qualité garde ses "
    "couleurs après des dizaines de lavages.\n\n"
    "## Les questions à poser\n\n"
    "- Le tissu est-il imprimé des deux côtés ?\n- Combien de yards dans la pièce ?\n"
)


def meta(response, attribute: str, name: str) -> str | None:
    found = re.search(rf'<meta {attribute}="{re.escape(name)}" content="([^"]*)"',
                      response.get_data(as_text=True))
    return found.group(1) if found else None


@pytest.fixture
def catalogue(factory):
    content_type = factory.content_type("Article de blog", "Blog post")
    factory.content_type("Fiche produit", "Product page")
    tier = factory.tier(name="Essentiel", client_price_per_word=12, included_revisions=2,
                        min_lead_hours=48)
    factory.tier(name="Expert", client_price_per_word=30, included_revisions=3,
                 min_lead_hours=72)
    return content_type, tier


@pytest.fixture
def approved(factory, catalogue):
    """An approved order of a client, with a real text."""
    content_type, tier = catalogue
    client = factory.user("client", name="Afi Cliente", locale="fr")
    return factory.order(client=client, tier=tier, content_type=content_type,
                         status=OrderStatus.APPROVED, title="Bien choisir son pagne",
                         text=SAMPLE_TEXT)


@pytest.fixture
def owner(login_as, approved):
    return login_as(approved.client)


@pytest.fixture
def manager(login_as):
    return login_as("manager", locale="fr")


def consent(browser, order, value: bool):
    data = {"consent": "y"} if value else {}
    return browser.submit(f"/orders/{order.id}/sample", data, page=f"/orders/{order.id}")


def showcase(browser, order, shown: bool):
    return browser.submit(f"/agency/orders/{order.id}/showcase", {"shown": "1" if shown else "0"},
                          page=f"/orders/{order.id}")


def stored(order) -> Order:
    return db.session.get(Order, order.id)


# --- the offer ---------------------------------------------------------------------------------


def test_a_visitor_sees_the_offer_from_the_catalogue_in_french(client, catalogue):
    page = client.get("/")

    assert page.status_code == 200
    tiers = by_testid(page, "landing-tiers")
    assert "Essentiel" in tiers and "Expert" in tiers
    # (by_testid reads spaces as a person does: the no-break ones count as spaces)
    assert "12 F CFA par mot" in tiers
    assert "1 000 mots : 12 000 F CFA" in tiers
    assert "2 révisions incluses" in tiers and "3 révisions incluses" in tiers
    assert "Délai : 48 heures minimum" in tiers and "72 heures" in tiers
    assert "Article de blog" in by_testid(page, "landing-types")
    assert "Fiche produit" in by_testid(page, "landing-types")
    steps = by_testid(page, "landing-steps")
    assert "Comment ça marche" in steps and "Décrivez votre texte" in steps
    assert 'href="/signup"' in page.get_data(as_text=True)
    assert 'href="/login"' in page.get_data(as_text=True)


def test_a_changed_price_shows_on_the_landing_page_at_once(client, catalogue, ctx):
    _content_type, tier = catalogue
    with ctx():
        db.session.get(Tier, tier.id).client_price_per_word = 45
        db.session.commit()

    tiers = by_testid(client.get("/"), "landing-tiers")

    assert "45 F CFA par mot" in tiers and "45 000 F CFA" in tiers
    assert "12 F CFA" not in tiers


def test_withdrawn_tiers_and_types_are_not_offered(client, catalogue, factory):
    factory.tier(name="Ancien niveau", active=False)

    assert "Ancien niveau" not in page_text(client.get("/"))


def test_the_landing_page_reads_english_with_the_language_picker(client, catalogue):
    english(client)
    page = client.get("/")

    assert "Blog post" in by_testid(page, "landing-types")
    assert "12 F CFA per word" in by_testid(page, "landing-tiers")
    assert "1,000 words: 12,000 F CFA" in by_testid(page, "landing-tiers")
    assert meta(page, "property", "og:locale") == "en_US"
    assert '<html lang="en">' in page.get_data(as_text=True)


def test_sharing_tags_describe_the_page(client, catalogue, app):
    page = client.get("/")
    html = page.get_data(as_text=True)
    base = app.config["BASE_URL"].rstrip("/")

    assert '<html lang="fr">' in html
    assert meta(page, "name", "description")
    assert meta(page, "property", "og:title").startswith(app.config["AGENCY_NAME"])
    assert meta(page, "property", "og:description") == meta(page, "name", "description")
    assert meta(page, "property", "og:url") == f"{base}/"
    assert meta(page, "property", "og:type") == "website"
    assert meta(page, "property", "og:locale") == "fr_FR"
    assert meta(page, "name", "twitter:card") == "summary"
    assert f'<link rel="canonical" href="{base}/">' in html


def test_signed_in_people_go_to_their_home(login_as):
    for role in ("client", "writer", "manager"):
        assert location(login_as(role).get("/")) == "/home"


def test_the_landing_page_is_not_stored_by_caches(client, catalogue):
    # It carries the language form's CSRF token, and a withdrawn consent must show at once.
    assert client.get("/").headers["Cache-Control"] == "no-store"


# --- consent and showcase ---------------------------------------------------------------------


def test_a_sample_reaches_the_landing_page_with_consent_and_a_manager(
        client, owner, manager, approved, ctx):
    assert "landing-samples" not in client.get("/").get_data(as_text=True)

    response = consent(owner, approved, True)
    assert location(response) == f"/orders/{approved.id}"
    flashed(owner.get(location(response)), "exemple")
    # Consent alone shows nothing: a manager chooses.
    assert "Bien choisir son pagne" not in page_text(client.get("/"))
    assert client.get(f"/exemples/{approved.id}").status_code == 404

    assert location(showcase(manager, approved, True)) == f"/orders/{approved.id}"

    samples = by_testid(client.get("/"), "landing-samples")
    assert "Bien choisir son pagne" in samples
    assert "Article de blog" in samples
    assert "marché d'Adawlato" in samples  # the excerpt
    assert "Afi Cliente" not in client.get("/").get_data(as_text=True)
    page = client.get(f"/exemples/{approved.id}")
    assert page.status_code == 200
    text = by_testid(page, "sample-text")
    assert "Les questions à poser" in text and "imprimé des deux côtés" in text
    assert "Afi Cliente" not in page.get_data(as_text=True)
    assert meta(page, "property", "og:type") == "article"
    assert meta(page, "property", "og:title") == "Bien choisir son pagne"


def test_withdrawing_consent_takes_the_sample_off_at_once(client, owner, manager, approved, ctx):
    consent(owner, approved, True)
    showcase(manager, approved, True)
    assert client.get(f"/exemples/{approved.id}").status_code == 200

    consent(owner, approved, False)

    assert client.get(f"/exemples/{approved.id}").status_code == 404
    assert "Bien choisir son pagne" not in page_text(client.get("/"))
    with ctx():
        order = stored(approved)
        assert not order.sample_consent and order.showcased_at is None
    # Consenting again does not put it back: a manager must choose it again.
    consent(owner, approved, True)
    assert client.get(f"/exemples/{approved.id}").status_code == 404


def test_a_manager_cannot_show_a_text_without_consent(manager, approved, ctx, client):
    response = showcase(manager, approved, True)

    flashed(manager.get(location(response)), "pas autorisé")
    with ctx():
        assert stored(approved).showcased_at is None
    assert client.get(f"/exemples/{approved.id}").status_code == 404


def test_a_manager_takes_a_sample_off(client, owner, manager, approved):
    consent(owner, approved, True)
    showcase(manager, approved, True)

    showcase(manager, approved, False)

    assert client.get(f"/exemples/{approved.id}").status_code == 404
    assert "Bien choisir son pagne" not in page_text(client.get("/"))


def test_only_approved_texts_can_be_consented_or_shown(factory, login_as, catalogue, ctx):
    content_type, tier = catalogue
    delivered = factory.order(tier=tier, content_type=content_type,
                              status=OrderStatus.DELIVERED)
    owner = login_as(delivered.client)
    manager = login_as("manager", locale="fr")

    flashed(owner.get(location(consent(owner, delivered, True))), "validé")
    flashed(manager.get(location(showcase(manager, delivered, True))), "validé")
    with ctx():
        order = stored(delivered)
        assert not order.sample_consent and order.showcased_at is None


@pytest.mark.parametrize("who", ["other_client", "writer", "manager"])
def test_nobody_but_the_client_consents(who, approved, login_as, factory, ctx):
    intruder = {"other_client": lambda: login_as("client"),
                "writer": lambda: login_as(approved.writer),
                "manager": lambda: login_as("manager")}[who]()

    response = intruder.submit(f"/orders/{approved.id}/sample", {"consent": "y"}, page="/home")

    assert response.status_code == 404
    with ctx():
        assert not stored(approved).sample_consent


@pytest.mark.parametrize("who", ["owner", "writer", "other_client"])
def test_nobody_but_a_manager_showcases(who, approved, login_as, ctx):
    intruder = {"owner": lambda: login_as(approved.client),
                "writer": lambda: login_as(approved.writer),
                "other_client": lambda: login_as("client")}[who]()
    with ctx():
        stored(approved).sample_consent = True
        db.session.commit()

    response = intruder.submit(f"/agency/orders/{approved.id}/showcase", {"shown": "1"},
                               page="/home")

    assert response.status_code == 404
    with ctx():
        assert stored(approved).showcased_at is None


def test_the_order_page_offers_each_person_their_choice(owner, manager, approved, login_as):
    assert "autorise l\u2019agence" in by_testid(owner.get(f"/orders/{approved.id}"),
                                                 "sample-choice") \
        or "autorise l'agence" in by_testid(owner.get(f"/orders/{approved.id}"), "sample-choice")
    page = manager.get(f"/orders/{approved.id}")
    assert "n\u2019a pas autorisé" in by_testid(page, "sample-choice") \
        or "n'a pas autorisé" in by_testid(page, "sample-choice")
    assert 'data-testid="showcase-toggle"' not in page.get_data(as_text=True)
    consent(owner, approved, True)
    assert 'data-testid="showcase-toggle"' in manager.get(f"/orders/{approved.id}").get_data(
        as_text=True)
    writer = login_as(approved.writer)
    assert "sample-choice" not in writer.get(f"/orders/{approved.id}").get_data(as_text=True)


def test_bad_input_changes_nothing(manager, owner, approved, ctx):
    consent(owner, approved, True)
    response = manager.submit(f"/agency/orders/{approved.id}/showcase", {"shown": "maybe"},
                              page=f"/orders/{approved.id}")
    assert response.status_code == 302
    response = owner.submit(f"/orders/{approved.id}/sample",
                            {"consent": "y", "status": "approved"}, page=f"/orders/{approved.id}")
    assert response.status_code == 302
    with ctx():
        assert stored(approved).showcased_at is None


def test_an_unknown_sample_is_404(client):
    assert client.get("/exemples/999999").status_code == 404


# --- bounded statements -------------------------------------------------------------------------


def _showcase_many(factory, catalogue, ctx, count: int) -> None:
    content_type, tier = catalogue
    client = factory.user("client")
    for n in range(count):
        factory.order(client=client, tier=tier, content_type=content_type,
                      status=OrderStatus.APPROVED, title=f"Exemple {n}", text=SAMPLE_TEXT,
                      revisions=n % 2)
    with ctx():
        db.session.execute(sa.update(Order).values(sample_consent=True,
                                                   showcased_at=utcnow()))
        db.session.commit()


def test_the_landing_and_sample_pages_run_a_fixed_number_of_statements(
        app, client, factory, catalogue, ctx):
    _showcase_many(factory, catalogue, ctx, 1)
    with ctx():
        one = db.session.scalar(sa.select(sa.func.min(Order.id)))
    few_landing = statements_of(app, client, "/")
    few_sample = statements_of(app, client, f"/exemples/{one}")

    _showcase_many(factory, catalogue, ctx, 6)
    many_landing = statements_of(app, client, "/")
    many_sample = statements_of(app, client, f"/exemples/{one}")

    assert len(few_landing) == len(many_landing) <= 3, many_landing
    assert len(few_sample) == len(many_sample) <= 1, many_sample
    assert client.get("/").get_data(as_text=True).count('data-testid="landing-sample"') == 3


def test_an_empty_catalogue_still_gives_a_front_page(client):
    page = client.get("/")

    assert page.status_code == 200
    assert "landing-tiers" not in page.get_data(as_text=True)
    assert "Décrivez votre texte" in by_testid(page, "landing-steps")


def test_an_excerpt_is_the_start_of_the_prose_cut_at_a_word():
    text = excerpt(SAMPLE_TEXT, limit=80)

    assert text.startswith("Le marché d'Adawlato regorge")  # the heading left out
    assert text.endswith("…") and len(text) <= 81
    assert not text[:-1].endswith(" ")
    assert excerpt("# Titre seul") == ""
    assert excerpt("Court.") == "Court."
