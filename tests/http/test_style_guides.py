"""The style guide pages: a client keeps their company's guide, a manager any company's from
its page in Money; a stale form is refused without overwriting; nobody reaches another
company's guide; the writer reads the guide beside the brief, as it was at submission, and
the compliance report lists its forbidden words found in the delivery."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from portal.accounts.models import User
from portal.billing.companies import company_id_of
from portal.extensions import db
from portal.orders.models import Order, OrderStatus
from portal.style_guides.models import StyleGuide
from tests.conftest import statements_of
from tests.http.pages import by_testid, field_error, form_errors, location

GUIDE = {
    "tone": "Chaleureux et direct", "audience": "Familles de Lomé",
    "words_to_use": "wax, fait main", "forbidden_words": "leader\npas cher",
    "formatting": "Un intertitre toutes les 300 mots.\nPrix en F CFA.",
    "examples": "https://zenith.example/blog/pagnes",
}


def guide_form(version: int, **changes) -> dict:
    return {**GUIDE, "version": str(version), **changes}


def stored(app, company_id: int) -> StyleGuide | None:
    with app.app_context():
        guide = db.session.get(StyleGuide, company_id)
        if guide is not None:
            db.session.expunge(guide)
        return guide


def company(app, user) -> int:
    with app.app_context():
        return company_id_of(db.session.get(User, user.id))


@pytest.fixture
def client_a(login_as, factory):
    return login_as(factory.user("client", name="Ama Mensah", funds=500_000))


def test_a_client_writes_their_company_s_guide(app, client_a):
    page = client_a.get("/style-guide")
    assert page.status_code == 200
    assert 'name="version" type="hidden" value="0"' in page.get_data(as_text=True)

    response = client_a.submit("/style-guide", guide_form(0))

    assert location(response) == "/style-guide"
    guide = stored(app, company(app, client_a.user))
    assert (guide.version, guide.tone, guide.forbidden_words) == (
        1, "Chaleureux et direct", "leader\npas cher")
    assert guide.words_to_use == "wax\nfait main"
    assert guide.formatting == "Un intertitre toutes les 300 mots.\nPrix en F CFA."
    shown = client_a.get("/style-guide").get_data(as_text=True)
    assert 'value="1"' in shown and 'value="Chaleureux et direct"' in shown


def test_a_manager_writes_a_company_s_guide_from_its_page(app, client_a, login_as):
    manager = login_as("manager")
    company_id = company(app, client_a.user)
    page = manager.get(f"/agency/finance/companies/{company_id}")
    assert by_testid(page, "company-style-guide")
    assert f'href="/agency/companies/{company_id}/style-guide"' in page.get_data(as_text=True)

    response = manager.submit(f"/agency/companies/{company_id}/style-guide", guide_form(0))

    assert location(response) == f"/agency/finance/companies/{company_id}"
    guide = stored(app, company_id)
    assert (guide.version, guide.updated_by_id) == (1, manager.user.id)
    # The client's page shows what the manager wrote.
    assert f'value="{guide.tone}"' in client_a.get("/style-guide").get_data(as_text=True)


def test_a_stale_form_is_refused_keeps_what_was_typed_and_overwrites_nothing(app, client_a,
                                                                          login_as):
    manager = login_as("manager")
    company_id = company(app, client_a.user)
    client_a.submit("/style-guide", guide_form(0))
    opened = client_a.get("/style-guide")  # the client's form says version 1
    manager.submit(f"/agency/companies/{company_id}/style-guide",
                   guide_form(1, tone="Expert et sobre"))

    response = client_a.post("/style-guide", data=guide_form(
        1, tone="Familier", csrf_token=client_a.csrf_token("/style-guide")))

    assert opened.status_code == 200
    assert response.status_code == 422
    assert any("changed in another window" in m or "modifiée dans une autre fenêtre" in m
               for m in form_errors(response))
    assert 'value="Familier"' in response.get_data(as_text=True)
    guide = stored(app, company_id)
    assert (guide.version, guide.tone) == (2, "Expert et sobre")


@pytest.mark.parametrize(("field", "value"), [
    ("forbidden_words", ", ".join(f"mot{n}" for n in range(51))),
    ("forbidden_words", "x" * 61),
    ("words_to_use", "!!!"),
    ("tone", "t" * 201),
    ("examples", "e" * 3001),
])
def test_bad_input_gets_a_message_and_changes_nothing(app, client_a, field, value):
    response = client_a.submit("/style-guide", guide_form(0, **{field: value}))

    assert response.status_code == 422
    assert field_error(response, field)
    assert stored(app, company(app, client_a.user)) is None


def test_a_word_in_both_lists_is_refused_on_the_field(app, client_a):
    response = client_a.submit("/style-guide", guide_form(0, words_to_use="Leaders"))
    assert response.status_code == 422
    assert "leader" in field_error(response, "forbidden_words").lower()
    assert stored(app, company(app, client_a.user)) is None


def test_nobody_reaches_another_company_s_guide(app, client_a, login_as, factory):
    client_a.submit("/style-guide", guide_form(0))
    company_id = company(app, client_a.user)
    client_b = login_as(factory.user("client", name="Koku Other"))
    writer = login_as(factory.writer())

    # Client B's own page is their own company's, empty.
    assert 'value="Chaleureux et direct"' not in client_b.get("/style-guide").get_data(
        as_text=True)
    for intruder in (client_b, writer):
        url = f"/agency/companies/{company_id}/style-guide"
        assert intruder.get(url).status_code == 404
        assert intruder.post(url, data={**guide_form(1, tone="Pirate"),
                                        "csrf_token": intruder.csrf_token("/settings")}
                             ).status_code == 404
    assert writer.get("/style-guide").status_code == 404
    manager = login_as("manager")
    assert manager.get("/agency/companies/999999/style-guide").status_code == 404
    assert stored(app, company_id).tone == "Chaleureux et direct"


def test_the_writer_reads_the_guide_of_the_submission_beside_the_brief(app, client_a,
                                                                       factory, login_as):
    client_a.submit("/style-guide", guide_form(0))
    order = factory.order(client=client_a.user, status=OrderStatus.IN_PROGRESS)
    writer_user = order.writer
    # The client changes the guide after submission: the order keeps the old one.
    client_a.submit("/style-guide", guide_form(1, tone="Solennel", forbidden_words="wax",
                                               words_to_use=""))
    writer = login_as(writer_user)

    workspace = writer.get(f"/work/orders/{order.id}")

    assert workspace.status_code == 200
    assert by_testid(workspace, "guide-tone") == "Chaleureux et direct"
    assert by_testid(workspace, "guide-forbidden") == "leader, pas cher"
    assert "Solennel" not in workspace.get_data(as_text=True)
    for reader in (client_a, login_as("manager"), writer):
        page = reader.get(f"/orders/{order.id}")
        assert by_testid(page, "guide-tone") == "Chaleureux et direct"


def test_the_autosave_warns_about_a_forbidden_word_while_writing(app, client_a, factory,
                                                                 login_as):
    client_a.submit("/style-guide", guide_form(0))
    order = factory.order(client=client_a.user, status=OrderStatus.IN_PROGRESS)
    writer_user = order.writer
    writer = login_as(writer_user)
    token = writer.csrf_token(f"/work/orders/{order.id}")

    answer = writer.post(f"/work/orders/{order.id}/draft",
                         json={"text": "Le leader des tissus, pas cher du tout.",
                               "base_version": 0},
                         headers={"X-CSRFToken": token, "Accept": "application/json"})

    warnings = answer.get_json()["checks"]["warnings"]
    [forbidden] = [w for w in warnings if w["code"] == "forbidden_words"]
    assert forbidden["figures"]["words"] == ["leader", "pas cher"]


def test_the_report_on_the_order_page_lists_the_forbidden_words_delivered(app, client_a,
                                                                         factory):
    client_a.submit("/style-guide", guide_form(0))
    order = factory.order(client=client_a.user, status=OrderStatus.DELIVERED,
                          text="Le leader du wax à Lomé, des leaders pas chers.")

    page = client_a.get(f"/orders/{order.id}")

    found = by_testid(page, "report-forbidden")
    assert "leader" in found and "pas cher" in found
    assert by_testid(page, "report-forbidden-word").count("leader") == 1


def test_the_guide_pages_run_a_fixed_number_of_statements(app, client_a, login_as):
    client_a.submit("/style-guide", guide_form(0))
    manager = login_as("manager")
    company_id = company(app, client_a.user)
    # The user, the company (the client's through their membership), the guide, who saved it
    # last, and the layout's bell.
    for reader, url, budget in ((client_a, "/style-guide", 4),
                                (manager, f"/agency/companies/{company_id}/style-guide", 5)):
        reader.get(url)
        statements = statements_of(app, reader, url)
        assert len(statements) <= budget, statements


# --- personal data ------------------------------------------------------------------------------


def test_the_client_s_download_holds_the_guide_and_each_order_s_copy(app, client_a, factory):
    client_a.submit("/style-guide", guide_form(0))
    order = factory.order(client=client_a.user, status=OrderStatus.OPEN)

    response = client_a.get("/settings/data")

    index = json.loads(zipfile.ZipFile(io.BytesIO(response.data)).read("index.json"))
    guide = index["sections"]["billing"]["company"]["style_guide"]
    assert guide["forbidden_words"] == ["leader", "pas cher"]
    assert (guide["tone"], guide["version"]) == ("Chaleureux et direct", 1)
    [exported] = [o for o in index["sections"]["orders"]["orders"] if o["title"] == order.title]
    assert exported["brief"]["style_guide"]["words_to_use"] == ["wax", "fait main"]


def test_erasing_a_former_client_keeps_the_company_s_guide_and_the_orders_copies(
        app, client_a, factory, login_as):
    client_a.submit("/style-guide", guide_form(0))
    order = factory.order(client=client_a.user, status=OrderStatus.OPEN)
    manager = login_as("manager")
    manager.submit(f"/orders/{order.id}/cancel", {"reason": "Le client part."},
                   page=f"/orders/{order.id}")
    company_id = company(app, client_a.user)
    with app.app_context():
        db.session.get(User, client_a.user.id).active = False
        db.session.commit()

    response = manager.submit(f"/people/{client_a.user.id}/erase", {"confirm": "y"})

    assert response.status_code == 302, response.status_code
    with app.app_context():
        assert db.session.get(User, client_a.user.id).erased_at is not None
        assert db.session.get(Order, order.id).style_guide["tone"] == "Chaleureux et direct"
    guide = stored(app, company_id)
    assert guide.tone == "Chaleureux et direct"
    # Who saved it last reads as the erased account does (the company keeps its own name).
    page = manager.get(f"/agency/companies/{company_id}/style-guide")
    assert by_testid(page, "guide-saved") and "Ama Mensah" not in by_testid(page, "guide-saved")


def test_a_draft_s_page_tells_the_client_the_guide_goes_with_the_submission(app, client_a,
                                                                           factory):
    draft = factory.order(client=client_a.user, status=OrderStatus.DRAFT)

    page = client_a.get(f"/orders/{draft.id}")

    assert 'href="/style-guide"' in page.get_data(as_text=True)
    assert by_testid(page, "draft-style-guide")
    assert by_testid(page, "style-guide") == ""  # no copy before submission
