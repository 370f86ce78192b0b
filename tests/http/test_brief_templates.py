"""Reusing a brief: "Order again" copies an order's brief into a new draft; a client keeps
briefs as templates and starts new orders from them; managers publish the agency's templates
per content type. Nobody reaches a template or an order that is not theirs (404)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.accounts.models import User
from portal.extensions import db, utcnow
from portal.orders.brief_templates import MAX_PER_CLIENT
from portal.orders.models import BriefTemplate, ContentType, Order, OrderStatus, Tier
from tests.conftest import statements_of, status_counts_disagree
from tests.http.pages import by_testid, field_error, flashes, location, page_text

BRIEF = {
    "tone": "Chaleureux", "audience": "Familles de Lomé", "primary_keyword": "sorties Lomé",
    "secondary_keywords": "plage\nmarché", "links_to_include": "https://example.com/agenda",
    "reference_urls": "https://example.org/guide", "instructions": "Citer trois lieux.",
}


@pytest.fixture
def catalogue(factory):
    return {"tier": factory.tier(name="Standard", min_lead_hours=24),
            "content_type": factory.content_type("Article de blog", "Blog post")}


@pytest.fixture
def client_a(login_as, factory):
    return login_as(factory.user("client", name="Ama Mensah"))


def an_order(factory, catalogue, client, status=OrderStatus.APPROVED, **more):
    return factory.order(client=client, status=status, tier=catalogue["tier"],
                         content_type=catalogue["content_type"], title="Dix sorties à Lomé",
                         words_min=700, words_max=900, **{**BRIEF, **more})


def rows(app, model, *where):
    with app.app_context():
        found = list(db.session.scalars(sa.select(model).where(*where).order_by(model.id)))
        for row in found:
            db.session.expunge(row)
        return found


def template_form(catalogue, **changes) -> dict:
    form = {"name": "Article type", "content_type_id": str(catalogue["content_type"].id),
            "title": "", "language": "fr", "tier_id": str(catalogue["tier"].id),
            "words_min": "600", "words_max": "800", "tone": "Expert",
            "audience": "Hôteliers", "primary_keyword": "hôtel Lomé",
            "secondary_keywords": "", "links_to_include": "", "reference_urls": "",
            "instructions": "Un paragraphe par service.", "published": "y"}
    form.update(changes)
    return {name: value for name, value in form.items() if value is not None}


def save_template(client, order_id: int, name: str):
    return client.submit(f"/orders/{order_id}/template", {"name": name},
                         page=f"/orders/{order_id}")


def agency_template(app, catalogue, *, name="Article type", published=True,
                    content_type=None) -> int:
    with app.app_context():
        template = BriefTemplate(owner_id=None, name=name, published=published,
                                 content_type_id=(content_type or catalogue["content_type"]).id,
                                 title="", language="fr", words_min=600, words_max=800,
                                 tier_id=catalogue["tier"].id, instructions="Ton expert.")
        db.session.add(template)
        db.session.commit()
        return template.id


# --- order again ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [OrderStatus.APPROVED, OrderStatus.CANCELLED,
                                    OrderStatus.DELIVERED, OrderStatus.OPEN])
def test_order_again_copies_the_brief_into_a_new_draft_without_the_deadline(
        app, factory, catalogue, client_a, status):
    old = an_order(factory, catalogue, client_a.user, status=status,
                   deadline=utcnow() + timedelta(days=3))

    page = client_a.get(f"/orders/{old.id}")
    assert "Order again" in by_testid(page, "reuse-brief") \
        or "Commander à nouveau" in by_testid(page, "reuse-brief")
    response = client_a.submit(f"/orders/{old.id}/again", page=f"/orders/{old.id}")

    drafts = rows(app, Order, Order.client_id == client_a.user.id,
                  Order.status == OrderStatus.DRAFT)
    assert len(drafts) == 1
    draft = drafts[0]
    assert location(response) == f"/orders/{draft.id}/edit"
    for name in ("title", "content_type_id", "language", "words_min", "words_max", "tier_id",
                 "tone", "audience", "primary_keyword", "secondary_keywords",
                 "links_to_include", "reference_urls", "instructions"):
        assert getattr(draft, name) == getattr(old, name), name
    assert draft.deadline != old.deadline
    assert draft.deadline >= utcnow() + timedelta(days=6)
    assert (draft.price_total, draft.writer_id, draft.submitted_at) == (None, None, None)
    with app.app_context():
        assert status_counts_disagree() is None
        assert db.session.get(Order, old.id).status is status  # the old one is untouched
    edit = client_a.get(location(response))
    assert any(old.reference in text for text in flashes(edit))


def test_order_again_with_a_withdrawn_tier_and_content_type_says_so(app, factory, catalogue,
                                                                    client_a):
    old = an_order(factory, catalogue, client_a.user)
    other_tier = factory.tier(name="Premium")
    other_type = factory.content_type("Fiche produit", "Product page")
    with app.app_context():
        db.session.get(Tier, catalogue["tier"].id).active = False
        db.session.get(ContentType, catalogue["content_type"].id).active = False
        db.session.commit()

    response = client_a.submit(f"/orders/{old.id}/again", page=f"/orders/{old.id}")

    [draft] = rows(app, Order, Order.status == OrderStatus.DRAFT)
    assert (draft.tier_id, draft.content_type_id) == (other_tier.id, other_type.id)
    said = " ".join(flashes(client_a.get(location(response))))
    assert "Standard" in said and "Article de blog" in said


def test_order_again_refuses_another_clients_order_and_a_draft(app, factory, catalogue,
                                                               client_a, login_as):
    old = an_order(factory, catalogue, client_a.user)
    intruder = login_as("client")
    response = intruder.submit(f"/orders/{old.id}/again", page="/orders")
    assert response.status_code == 404
    draft = an_order(factory, catalogue, client_a.user, status=OrderStatus.DRAFT)
    response = client_a.submit(f"/orders/{draft.id}/again", page=f"/orders/{draft.id}")
    assert location(response) == f"/orders/{draft.id}"
    assert len(rows(app, Order, Order.status == OrderStatus.DRAFT)) == 1
    with app.app_context():
        assert status_counts_disagree() is None


def test_order_again_without_the_token_changes_nothing(app, factory, catalogue, client_a):
    old = an_order(factory, catalogue, client_a.user)
    response = client_a.post(f"/orders/{old.id}/again", data={})
    assert response.status_code == 400
    assert rows(app, Order, Order.status == OrderStatus.DRAFT) == []


# --- a client's templates ---------------------------------------------------------------------


def test_a_client_saves_lists_uses_and_deletes_a_template(app, factory, catalogue, client_a):
    old = an_order(factory, catalogue, client_a.user)

    response = save_template(client_a, old.id, "  Sorties   du mois ")
    assert location(response) == f"/orders/{old.id}"
    [template] = rows(app, BriefTemplate)
    assert (template.owner_id, template.name, template.published) == \
        (client_a.user.id, "Sorties du mois", False)
    assert (template.instructions, template.words_max) == (old.instructions, 900)

    listing = client_a.get("/orders/templates")
    assert "Sorties du mois" in by_testid(listing, f"template-{template.id}")

    new = client_a.get("/orders/new")
    assert "Sorties du mois" in by_testid(new, "own-templates")
    started = client_a.get(f"/orders/new?template={template.id}")
    assert started.status_code == 200
    body = started.get_data(as_text=True)
    assert 'value="Dix sorties à Lomé"' in body and "Citer trois lieux." in body
    assert 'name="words_max" type="number" value="900"' in body \
        or 'value="900"' in body

    response = client_a.submit(f"/orders/templates/{template.id}/delete",
                               page="/orders/templates")
    assert location(response) == "/orders/templates"
    assert rows(app, BriefTemplate) == []
    assert by_testid(client_a.get("/orders/templates"), "no-templates")


def test_a_template_saved_from_a_draft_goes_back_to_the_draft(app, factory, catalogue,
                                                              client_a):
    draft = an_order(factory, catalogue, client_a.user, status=OrderStatus.DRAFT)
    edit = client_a.get(f"/orders/{draft.id}/edit")
    assert by_testid(edit, "save-template")
    response = client_a.submit(f"/orders/{draft.id}/template", {"name": "Brouillon type"},
                               page=f"/orders/{draft.id}/edit")
    assert location(response) == f"/orders/{draft.id}/edit"
    assert [t.name for t in rows(app, BriefTemplate)] == ["Brouillon type"]


@pytest.mark.parametrize(("name", "message"), [
    ("", "Donnez un nom au modèle"),  # the client reads French
    ("   ", "Donnez un nom au modèle"),
    ("x" * 121, "120"),
    ("SORTIES DU MOIS", "Sorties du mois"),
])
def test_a_bad_template_name_gets_a_clear_message_and_changes_nothing(
        app, factory, catalogue, client_a, name, message):
    old = an_order(factory, catalogue, client_a.user)
    save_template(client_a, old.id, "Sorties du mois")
    before = rows(app, BriefTemplate)

    response = save_template(client_a, old.id, name)

    assert location(response) == f"/orders/{old.id}"
    said = flashes(client_a.get(f"/orders/{old.id}"))
    assert any(message.lower() in text.lower() for text in said), said
    assert [(t.id, t.name) for t in rows(app, BriefTemplate)] == \
        [(t.id, t.name) for t in before]


def test_the_same_name_is_fine_for_two_clients(app, factory, catalogue, client_a, login_as):
    other = login_as("client")
    mine = an_order(factory, catalogue, client_a.user)
    theirs = an_order(factory, catalogue, other.user)
    save_template(client_a, mine.id, "Article type")
    save_template(other, theirs.id, "Article type")
    assert len(rows(app, BriefTemplate)) == 2


def test_a_client_keeps_at_most_fifty_templates(app, factory, catalogue, client_a):
    old = an_order(factory, catalogue, client_a.user)
    with app.app_context():
        db.session.add_all([
            BriefTemplate(owner_id=client_a.user.id, name=f"Modèle {n}", content_type_id=
                          catalogue["content_type"].id, language="fr", words_min=600,
                          words_max=800) for n in range(MAX_PER_CLIENT)])
        db.session.commit()

    response = save_template(client_a, old.id, "Un de plus")

    said = " ".join(flashes(client_a.get(location(response))))
    assert str(MAX_PER_CLIENT) in said
    assert len(rows(app, BriefTemplate)) == MAX_PER_CLIENT


def test_another_clients_template_is_a_404_everywhere(app, factory, catalogue, client_a,
                                                      login_as):
    old = an_order(factory, catalogue, client_a.user)
    save_template(client_a, old.id, "Le mien")
    [template] = rows(app, BriefTemplate)
    intruder = login_as("client")

    assert intruder.get(f"/orders/new?template={template.id}").status_code == 404
    assert "Le mien" not in intruder.get("/orders/new").get_data(as_text=True)
    assert "Le mien" not in intruder.get("/orders/templates").get_data(as_text=True)
    response = intruder.submit(f"/orders/templates/{template.id}/delete", page="/orders")
    assert response.status_code == 404
    assert intruder.submit(f"/orders/{old.id}/template", {"name": "Volé"},
                           page="/orders").status_code == 404
    assert [t.name for t in rows(app, BriefTemplate)] == ["Le mien"]
    assert client_a.get("/orders/new?template=999999").status_code == 404
    # digits int() refuses ("²".isdigit() is true)
    assert client_a.get("/orders/new?template=²").status_code == 404
    assert client_a.get("/orders/new?template=①").status_code == 404
    assert client_a.get("/orders/new?template=abc").status_code == 404


# --- the agency's templates -------------------------------------------------------------------


def test_a_manager_creates_edits_publishes_and_deletes_an_agency_template(app, catalogue,
                                                                          login_as):
    manager = login_as("manager")
    assert manager.get("/agency/templates").status_code == 200

    response = manager.submit("/agency/templates/new", template_form(catalogue,
                                                                     published=None))
    assert location(response) == "/agency/templates"
    [template] = rows(app, BriefTemplate)
    assert (template.owner_id, template.name, template.published) == (None, "Article type",
                                                                      False)
    response = manager.submit(f"/agency/templates/{template.id}/edit",
                              template_form(catalogue, name="Article expert", tier_id=""))
    assert location(response) == "/agency/templates"
    [template] = rows(app, BriefTemplate)
    assert (template.name, template.published, template.tier_id) == ("Article expert", True,
                                                                      None)
    assert "Article expert" in by_testid(manager.get("/agency/templates"),
                                         f"agency-template-{template.id}")

    response = manager.submit(f"/agency/templates/{template.id}/delete",
                              page="/agency/templates")
    assert location(response) == "/agency/templates"
    assert rows(app, BriefTemplate) == []


def test_a_manager_withdraws_and_publishes_a_template_in_one_click(app, catalogue, client_a,
                                                                   login_as):
    template = agency_template(app, catalogue, name="Article publié")
    manager = login_as("manager")

    response = manager.submit(f"/agency/templates/{template}/publish", {"published": ""},
                              page="/agency/templates")
    assert location(response) == "/agency/templates"
    assert [t.published for t in rows(app, BriefTemplate)] == [False]
    assert client_a.get(f"/orders/new?template={template}").status_code == 404
    assert "Article publié" not in page_text(client_a.get("/orders/new"))

    manager.submit(f"/agency/templates/{template}/publish", {"published": "y"},
                   page="/agency/templates")
    assert [t.published for t in rows(app, BriefTemplate)] == [True]
    assert client_a.get(f"/orders/new?template={template}").status_code == 200


def test_bad_agency_template_input_is_refused_plainly(app, catalogue, login_as):
    manager = login_as("manager")
    agency_template(app, catalogue, name="Article type")
    for changes, field in (({"name": ""}, "name"), ({"name": "x" * 121}, "name"),
                           ({"name": "article TYPE"}, "name"),
                           ({"words_min": "900", "words_max": "800"}, "words_min")):
        response = manager.submit("/agency/templates/new", template_form(catalogue, **changes))
        assert response.status_code == 422, changes
        assert field_error(response, field), changes
    assert len(rows(app, BriefTemplate)) == 1


def test_clients_see_published_agency_templates_of_offered_content_types_only(
        app, factory, catalogue, client_a):
    published = agency_template(app, catalogue, name="Article publié")
    hidden = agency_template(app, catalogue, name="Article en préparation", published=False)
    withdrawn_type = factory.content_type("Ancien type", "Old type")
    withdrawn = agency_template(app, catalogue, name="Type retiré",
                                content_type=withdrawn_type)
    with app.app_context():
        db.session.get(ContentType, withdrawn_type.id).active = False
        db.session.commit()

    new = client_a.get("/orders/new")
    offered = by_testid(new, f"agency-templates-{catalogue['content_type'].id}")
    assert "Article publié" in offered
    assert "Article en préparation" not in page_text(new)
    assert "Type retiré" not in page_text(new)

    started = client_a.get(f"/orders/new?template={published}")
    assert started.status_code == 200 and "Ton expert." in started.get_data(as_text=True)
    assert client_a.get(f"/orders/new?template={hidden}").status_code == 404
    assert client_a.get(f"/orders/new?template={withdrawn}").status_code == 404
    # A client never deletes the agency's template.
    response = client_a.submit(f"/orders/templates/{published}/delete", page="/orders")
    assert response.status_code == 404
    assert len(rows(app, BriefTemplate)) == 3


def test_a_manager_cannot_edit_a_clients_template(app, factory, catalogue, client_a,
                                                  login_as):
    old = an_order(factory, catalogue, client_a.user)
    save_template(client_a, old.id, "Le mien")
    [template] = rows(app, BriefTemplate)
    manager = login_as("manager")
    assert manager.get(f"/agency/templates/{template.id}/edit").status_code == 404
    response = manager.submit(f"/agency/templates/{template.id}/delete",
                              page="/agency/templates")
    assert response.status_code == 404
    assert len(rows(app, BriefTemplate)) == 1


def test_a_template_with_a_withdrawn_tier_starts_with_one_still_offered(app, factory,
                                                                       catalogue, client_a):
    template = agency_template(app, catalogue)
    other = factory.tier(name="Premium")
    with app.app_context():
        db.session.get(Tier, catalogue["tier"].id).active = False
        db.session.commit()
    started = client_a.get(f"/orders/new?template={template}")
    assert started.status_code == 200
    assert f'<option selected value="{other.id}"' in started.get_data(as_text=True) \
        or f'value="{other.id}" selected' in started.get_data(as_text=True)
    assert any("Standard" in text for text in flashes(started))


# --- bounded pages ----------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/orders/templates", "/orders/new"])
def test_the_template_pages_run_as_many_statements_for_30_templates_as_for_3(
        app, catalogue, client_a, url):
    def statements_with(count: int) -> int:
        with app.app_context():
            start = db.session.scalar(sa.select(sa.func.count()).select_from(BriefTemplate))
            db.session.add_all([
                BriefTemplate(owner_id=client_a.user.id if n % 2 else None,
                              published=True, name=f"Modèle {start + n}",
                              content_type_id=catalogue["content_type"].id, language="fr",
                              words_min=600, words_max=800) for n in range(count)])
            db.session.commit()
        return len(statements_of(app, client_a, url))

    few = statements_with(3)
    many = statements_with(27)
    assert few == many


# --- the person's data ------------------------------------------------------------------------


def test_a_clients_templates_are_in_their_download_and_go_with_an_erasure(
        app, factory, catalogue, client_a, login_as):
    old = an_order(factory, catalogue, client_a.user)
    save_template(client_a, old.id, "Sorties du mois")
    kept = agency_template(app, catalogue, name="Article de l'agence")

    response = client_a.get("/settings/data")
    assert response.status_code == 200
    index = json.loads(zipfile.ZipFile(io.BytesIO(response.data)).read("index.json"))
    [template] = index["sections"]["orders"]["brief_templates"]
    assert (template["name"], template["instructions"]) == ("Sorties du mois",
                                                            "Citer trois lieux.")
    assert "Article de l'agence" not in json.dumps(index)

    with app.app_context():
        db.session.get(User, client_a.user.id).active = False
        db.session.commit()
    manager = login_as("manager")
    response = manager.submit(f"/people/{client_a.user.id}/erase", {"confirm": "y"})
    assert response.status_code == 302
    assert [t.id for t in rows(app, BriefTemplate)] == [kept]
