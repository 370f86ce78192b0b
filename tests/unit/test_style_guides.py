"""The style guide's rules (portal/style_guides/service.py): who keeps it, the version that
guards concurrent edits, the copy an order keeps at submission; and its forbidden words in the
delivery checks (a warning) and the compliance report, on fixed French and English texts."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from portal.accounts.models import User
from portal.billing.companies import company_of
from portal.errors import Conflict, NotAllowed
from portal.extensions import db
from portal.orders import service as orders
from portal.orders.checks import delivery_checks
from portal.orders.models import Order, OrderStatus
from portal.orders.report import build_report, for_display
from portal.style_guides import service
from portal.style_guides.models import StyleGuide
from portal.style_guides.service import GuideValues

FORBIDDEN = ["leader", "révolutionnaire", "pas cher", "n°1"]


def brief(language="fr", forbidden=FORBIDDEN) -> Order:
    guide = {"forbidden_words": list(forbidden)} if forbidden is not None else None
    return Order(language=language, words_min=10, words_max=200, primary_keyword="",
                 secondary_keywords="", links_to_include="", style_guide=guide)


FR = ("# Nos LEADERS du wax\n\n"
      "Une offre révolutionnaire, des tissus Révolutionnaires et des prix pas chers : "
      "notre leadership n'est pas cher payé. Le leader, c'est vous.\n")
# Counted by hand, as text.match_key compares words (case, accents, plural, feminine):
#   leader: "LEADERS" (plural, capitals) and "leader"; not "leadership" (a whole word only) -> 2
#   révolutionnaire: "révolutionnaire", "Révolutionnaires" -> 2
#   pas cher: "pas chers" and "pas cher" -> 2
#   n°1: "n" then "1" as words; the text has neither -> not found


def test_the_report_lists_the_forbidden_words_found_in_a_french_text(app):
    with app.test_request_context():
        report = build_report(brief(), FR)
    assert report["forbidden_words"] == [
        {"word": "leader", "occurrences": 2},
        {"word": "révolutionnaire", "occurrences": 2},
        {"word": "pas cher", "occurrences": 2},
    ]


EN = ("Our cheap offer is the best in class. Cheaper? No: the Best-in-Class offers are "
      "never CHEAP, and a cheapskate would not buy them.\n")
# cheap: "cheap", "CHEAP"; not "Cheaper" nor "cheapskate" -> 2
# best in class: "best in class" and "Best-in-Class" (hyphens split words) -> 2
# guaranteed: absent


def test_the_report_lists_the_forbidden_words_found_in_an_english_text(app):
    order = brief("en", ["cheap", "best in class", "guaranteed"])
    with app.test_request_context():
        report = build_report(order, EN)
    assert report["forbidden_words"] == [{"word": "cheap", "occurrences": 2},
                                         {"word": "best in class", "occurrences": 2}]


def test_no_forbidden_word_in_the_text_is_an_empty_list_and_no_guide_is_none(app):
    with app.test_request_context():
        assert build_report(brief(), "Un texte sobre et précis sur le wax.")[
            "forbidden_words"] == []
        assert build_report(brief(forbidden=None), FR)["forbidden_words"] is None
        assert build_report(brief(forbidden=[]), FR)["forbidden_words"] is None
        shown = for_display(build_report(brief(), FR))
    assert [f["word"] for f in shown["forbidden_words"]] == ["leader", "révolutionnaire",
                                                             "pas cher"]


def test_the_live_checks_warn_about_forbidden_words_without_blocking(app):
    with app.test_request_context(), force_locale("fr"):
        found = delivery_checks(brief(), FR)
    assert found.ok
    [warning] = [w for w in found.warnings if w.code == "forbidden_words"]
    assert warning.figures == {"words": ["leader", "révolutionnaire", "pas cher"]}
    assert warning.message.endswith("leader, révolutionnaire, pas cher.")
    assert warning.message.startswith("La charte éditoriale du client interdit")
    with app.test_request_context():
        clean = delivery_checks(brief(), "Un texte sobre et précis sur le wax, sans excès.")
    assert "forbidden_words" not in [w.code for w in clean.warnings]


# --- keeping the guide ----------------------------------------------------------------------


VALUES = GuideValues(tone="Chaleureux et direct", audience="Familles de Lomé",
                     words_to_use=["wax", "fait main"], forbidden_words=["leader", "pas cher"],
                     formatting="Des intertitres toutes les 300 mots.",
                     examples="https://zenith.example/blog/pagnes")


def test_a_member_saves_the_guide_then_a_stale_form_is_refused_and_changes_nothing(app,
                                                                                   factory):
    client = factory.user("client")
    manager = factory.user("manager")
    with app.app_context():
        owner = db.session.get(User, client.id)
        company = company_of(owner)
        guide = service.save_guide(company, owner, VALUES, version=0)
        db.session.commit()
        assert guide.version == 1
        service.save_guide(company, db.session.get(User, manager.id),
                           GuideValues(tone="Expert"), version=1)
        db.session.commit()

        with pytest.raises(Conflict):  # the client's form still says version 1
            service.save_guide(company, owner, GuideValues(tone="Familier"), version=1)
        db.session.rollback()
        with pytest.raises(Conflict):  # a second "first save"
            service.save_guide(company, owner, GuideValues(tone="Familier"), version=0)
        db.session.rollback()
        stored = db.session.get(StyleGuide, company.id)
        assert (stored.tone, stored.version, stored.updated_by_id) == ("Expert", 2, manager.id)


def test_only_the_company_s_people_and_managers_keep_its_guide(app, factory):
    client, other, writer = factory.user("client"), factory.user("client"), factory.writer()
    with app.app_context():
        company = company_of(db.session.get(User, client.id))
        for intruder in (other, writer):
            with pytest.raises(NotAllowed):
                service.save_guide(company, db.session.get(User, intruder.id), VALUES,
                                   version=0)
        assert db.session.get(StyleGuide, company.id) is None


def test_a_word_both_to_use_and_forbidden_is_refused(app, factory):
    client = factory.user("client")
    with app.app_context(), app.test_request_context():
        owner = db.session.get(User, client.id)
        with pytest.raises(Conflict) as refused:
            service.save_guide(company_of(owner), owner, GuideValues(
                words_to_use=["Leaders"], forbidden_words=["leader"]), version=0)
        assert refused.value.field == "forbidden_words"


def test_an_order_keeps_the_guide_of_its_submission_whatever_comes_after(app, factory):
    client = factory.user("client", funds=500_000)
    with app.app_context():
        owner = db.session.get(User, client.id)
        service.save_guide(company_of(owner), owner, VALUES, version=0)
        db.session.commit()
    draft = factory.order(client=client, status=OrderStatus.DRAFT)
    assert draft.style_guide is None  # a draft has no copy yet
    submitted = factory.order(client=client, status=OrderStatus.OPEN)
    with app.app_context():
        owner = db.session.get(User, client.id)
        service.save_guide(company_of(owner), owner, GuideValues(
            tone="Solennel", forbidden_words=["wax"]), version=1)
        db.session.commit()
        kept = db.session.get(Order, submitted.id).style_guide
        assert kept["tone"] == "Chaleureux et direct"
        assert kept["forbidden_words"] == ["leader", "pas cher"]
        assert kept["words_to_use"] == ["wax", "fait main"]
        assert kept["version"] == 1
        # The draft submitted now takes the guide as it is now.
        orders.submit(db.session.get(Order, draft.id), owner)
        db.session.commit()
        assert db.session.get(Order, draft.id).style_guide["tone"] == "Solennel"


def test_a_company_without_guide_or_with_an_empty_one_gives_orders_no_copy(app, factory):
    client = factory.user("client", funds=500_000)
    order = factory.order(client=client, status=OrderStatus.OPEN)
    assert order.style_guide is None
    with app.app_context():
        owner = db.session.get(User, client.id)
        service.save_guide(company_of(owner), owner, GuideValues(), version=0)
        db.session.commit()
        assert service.snapshot_for(company_of(owner).id) is None
