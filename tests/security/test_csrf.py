"""Only a form of the portal itself can change something, and reading changes nothing.

1. With CSRF protection on (as in production), every endpoint that takes a POST refuses one
   sent without the form's token, or with a token of another session: 400, the "form has
   expired" answer (JSON for the editor's and the quote's scripts), and no row of any table
   changes. Each is sent by a person the access table lets in, with data the form would
   accept, so only the missing token stands in the way.
2. GET changes no business state: every GET endpoint, asked by each of the seven people of
   the world, leaves every row of every table as it was. The documented exceptions are read
   traces: opening an order records when the person last read its conversation (the
   read_markers table) and marks the order's notifications read (notifications.read_at); the
   finance page's first view computes its figures and keeps them (finance_figures, in place
   of finance_deltas).

Endpoints come from the URL map (a test fails when one has no case here).
"""

from __future__ import annotations

import json

import pytest

from portal.access import ACCESS
from tests.factories import Factory
from tests.security.access_world import (
    ACTORS,
    READ_TRACES,
    changes,
    fingerprint,
    labels,
    module_world,
    served_methods,
)

NEW_PASSWORD = "une lagune bleue sous la pluie 2026"

# What each form would accept (so the token is all that is missing), and which of the world's
# objects it is sent about (the label of the access matrix) when that matters.
PAYLOADS = {
    "auth.login": lambda w: {"email": w.users["owner_client"].email,
                             "password": Factory.PASSWORD},
    "auth.signup": lambda w: {"display_name": "Sans Jeton", "email": "sans.jeton@example.test",
                              "password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
                              "locale": "fr", "timezone": "Africa/Lome"},
    "auth.login_link": lambda w: {},
    "auth.confirm_signup": lambda w: {"password": Factory.PASSWORD},
    "auth.logout": lambda w: {},
    "auth.confirm": lambda w: {},
    "auth.resend_confirmation": lambda w: {},
    "auth.forgot_password": lambda w: {"email": w.users["owner_client"].email},
    "auth.reset_password": lambda w: {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    "auth.accept_invitation": lambda w: {"display_name": "Invited Writer",
                                         "password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
                                         "timezone": "Africa/Lome"},
    "main.set_language": lambda w: {"lang-locale": "en", "lang-next": "/home"},
    "accounts.update_profile": lambda w: {"display_name": "Nouveau Nom", "locale": "en",
                                          "timezone": "Africa/Lome"},
    "accounts.change_password": lambda w: {"current_password": Factory.PASSWORD,
                                           "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    "accounts.change_email": lambda w: {"current_password": Factory.PASSWORD,
                                        "email": "nouvelle.adresse@example.test"},
    "accounts.cancel_email_change": lambda w: {},
    "accounts.invite": lambda w: {"email": "nouvelle.plume@example.test",
                                  "display_name": "Nouvelle Plume", "role": "writer",
                                  "locale": "fr"},
    "accounts.change_role": lambda w: {"role": "manager"},
    "accounts.deactivate": lambda w: {},
    "accounts.reactivate": lambda w: {},
    "accounts.revoke_invitation": lambda w: {},
    "accounts.erase": lambda w: {"confirm": "y"},
    "notifications.mark_read": lambda w: {},
    "notifications.mark_all_read": lambda w: {},
    "notifications.retry_all": lambda w: {},
    "notifications.retry_one": lambda w: {},
    "notifications.preferences": lambda w: {"status": "never", "message": "never",
                                            "deadline": "never", "digest_hour": "7"},
    "notifications.preferences_link": lambda w: {"status": "never", "message": "never",
                                                 "deadline": "never", "digest_hour": "7"},
    "agency.new_tier": lambda w: {"name": "Premium", "client_price": "30", "writer_pay": "18",
                                  "included_revisions": "2", "min_lead_hours": "24",
                                  "active": "y"},
    "agency.edit_tier": lambda w: {"name": "Standard+", "client_price": "25",
                                   "writer_pay": "15", "included_revisions": "3",
                                   "min_lead_hours": "24", "active": "y"},
    "agency.new_content_type": lambda w: {"name_fr": "Fiche produit",
                                          "name_en": "Product page", "active": "y"},
    "agency.edit_content_type": lambda w: {"name_fr": "Billet", "name_en": "Post",
                                           "active": "y"},
    "agency.new_brief_template": lambda w: template_form(w, "Communiqué type"),
    "agency.edit_brief_template": lambda w: template_form(w, "Article type"),
    "agency.delete_brief_template": lambda w: {},
    "agency.publish_brief_template": lambda w: {"published": ""},
    "agency.writer_skills": lambda w: {"languages": ["en"]},
    "agency.assign": lambda w: {"assign-writer": w.users["other_writer"].email,
                                "assign-note": "À toi."},
    "agency.extend_deadline": lambda w: {"deadline-deadline": "2099-01-01T12:00",
                                         "deadline-note": "Plus de temps."},
    "agency.grant_revision": lambda w: {"revision-note": "Un tour de plus."},
    "agency.reference_texts": lambda w: {"references-reference_texts": "Texte de la page citée."},
    "orders.new": lambda w: brief(w),
    "orders.edit@draft": lambda w: brief(w),
    "orders.quote": lambda w: {"words_max": "800", "tier_id": str(w.ids["tier_id"]),
                               "deadline": "2099-01-01T12:00"},
    "orders.submit@draft": lambda w: {},
    "orders.delete@draft": lambda w: {},
    "orders.order_again": lambda w: {},
    "orders.save_template": lambda w: {"name": "Un autre modèle"},
    "orders.delete_template": lambda w: {},
    "orders.cancel": lambda w: {"reason": "Plus besoin."},
    "orders.request_revision": lambda w: {"reason": "Reprenez l'introduction, s'il vous plaît."},
    "orders.approve": lambda w: {"rating": "5", "comment": "Parfait."},
    "orders.sample_consent@approved": lambda w: {},  # withdraws the consent
    "agency.showcase@approved": lambda w: {"shown": "0"},
    "orders.pass_review@in_review": lambda w: {"note": "Relu, prêt à publier."},
    "orders.return_to_writer@in_review": lambda w: {"comments": "Reprenez la conclusion."},
    "orders.upload": lambda w: {"back": "detail"},
    "orders.delete_attachment": lambda w: {"back": "detail"},
    "orders.post_message@delivered": lambda w: {"body": "Bonjour, une question sur le texte."},
    "writing.claim@open": lambda w: {},
    "writing.release@delivered": lambda w: {"reason": "Je ne peux plus."},
    "writing.save_draft": lambda w: {"text": "Un nouveau texte.", "base_version": "1"},
    "writing.deliver": lambda w: {"text": "Un nouveau texte.", "base_version": "1",
                                  "note": "Voici."},
    "billing.company": lambda w: {"name": "Ama SARL", "address": "Lomé", "tax_number": "1",
                                  "trade_register": "", "billing_email": "", "locale": "fr"},
    "style_guides.edit_own": lambda w: {"tone": "Chaleureux", "forbidden_words": "leader",
                                        "version": "0"},
    "style_guides.edit_company": lambda w: {"tone": "Expert", "words_to_use": "wax",
                                            "version": "0"},
    "billing.topup": lambda w: {"amount": "25000"},
    "billing.declare_payment": lambda w: {"method": "flooz", "reference": "SANS-JETON-1",
                                          "amount": "30000"},
    "billing.pay_invoice": lambda w: {"method": "flooz", "reference": "SANS-JETON-2",
                                      "amount": "1000"},
    "billing.checkout": lambda w: {},
    "billing.check_payment": lambda w: {},
    "finance.confirm_payment": lambda w: {},
    "finance.reject_payment": lambda w: {"reason": "Rien reçu."},
    "finance.company_terms": lambda w: {"billing_mode": "postpaid", "credit_limit": "50000"},
    "finance.adjust": lambda w: {"amount": "5000", "reason": "Geste."},
    "finance.invoice_month": lambda w: {},
    "finance.credit_note": lambda w: {"amount": "1000", "reason": "Geste."},
    "finance.payouts": lambda w: {"note": "Paie."},
}
# POST endpoints that take no form and no session, exempt from CSRF on purpose, and what stands
# in its place. tests/http/test_fedapay.py shows the signature refused and nothing changed.
CSRF_EXEMPT = {"billing.fedapay_webhook": "the payment provider signs it (X-FEDAPAY-SIGNATURE)"}

# Forms that scripts send as JSON, with the token in the X-CSRFToken header.
JSON_CALLS = {
    "orders.quote": lambda w: {"words_max": 800, "tier_id": w.ids["tier_id"],
                               "deadline": "2099-01-01T12:00"},
    "writing.save_draft": lambda w: {"text": "Un nouveau texte.", "base_version": 1},
}

# Who sends it: the first of these the access table lets in.
SENDERS = ("owner_client", "assigned_writer", "manager", "other_writer", "other_client")


def brief(world) -> dict:
    return {"title": "Dix idées de sorties", "content_type_id": str(world.ids["content_type_id"]),
            "language": "fr", "tier_id": str(world.ids["tier_id"]), "words_min": "600",
            "words_max": "800", "deadline": "2099-01-01T12:00", "save_draft": "y"}


def template_form(world, name: str) -> dict:
    return {"name": name, "content_type_id": str(world.ids["content_type_id"]),
            "language": "fr", "tier_id": "", "words_min": "600", "words_max": "800",
            "published": "y"}


def endpoint_of(label: str) -> str:
    return label.partition("@")[0]


POSTED = sorted(PAYLOADS)
TOKENS = ("no token", "token of another session")
POST_CASES = [(label, token) for label in POSTED for token in TOKENS]
GET_LABELS = [label for label in labels(ACCESS) if "GET" in served_methods()[endpoint_of(label)]]
GET_CASES = [(label, actor) for label in GET_LABELS for actor in ACTORS]


@pytest.fixture(autouse=True)
def _clean_database():
    """Replaces the cleaning after each test: this module's world is emptied once, at its end."""
    yield


@pytest.fixture(scope="module")
def world(app, tmp_path_factory):
    with module_world(app, tmp_path_factory) as built:
        built.last = built.start
        yield built


def unchanged_since_last(app, world) -> dict:
    """What changed since the previous check of this module (read traces aside)."""
    now = fingerprint(app, ignore=READ_TRACES)
    changed = changes(world.last, now)
    world.last = now
    return changed


def sender(world, label: str) -> str:
    target = world.targets()[label]
    if not ACCESS[target.endpoint].login:
        return "anonymous"
    return next(actor for actor in SENDERS if world.expected(actor, target, "POST") == "allowed")


def refused_as_expired(response) -> bool:
    if response.is_json:
        return response.json.get("reason") == "csrf"
    body = response.get_data(as_text=True)
    return "This form has expired" in body or "Ce formulaire a expiré" in body


# --- every POST endpoint has a case ----------------------------------------------------------


def test_every_endpoint_that_takes_a_post_has_a_case_here(app):
    posted = {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in rule.methods}
    assert sorted(posted - {endpoint_of(label) for label in POSTED} - set(CSRF_EXEMPT)) == []


def test_only_the_declared_endpoints_are_exempt_from_csrf(app, world):
    from portal.extensions import csrf

    exempt = {endpoint for endpoint, view in app.view_functions.items()
              if f"{view.__module__}.{view.__name__}" in csrf._exempt_views}
    assert exempt == set(CSRF_EXEMPT)
    # Without its signature the notification is refused and changes nothing.
    unchanged_since_last(app, world)
    response = world.ask("anonymous", "POST", "/billing/webhooks/fedapay",
                         {"name": "transaction.approved"}, token=False)
    assert response.status_code == 400
    assert unchanged_since_last(app, world) == {}


def test_csrf_protection_is_on_as_in_production(app):
    assert app.config["WTF_CSRF_ENABLED"] is True
    assert app.config.get("WTF_CSRF_CHECK_DEFAULT", True) is True


# --- POST without a valid token -------------------------------------------------------------


@pytest.mark.parametrize(("label", "token"), POST_CASES,
                         ids=[f"{label}-{token.replace(' ', '_')}" for label, token in POST_CASES])
def test_a_post_without_a_valid_token_is_refused_and_changes_nothing(app, world, label, token):
    target = world.targets()[label]
    actor = sender(world, label)
    data = PAYLOADS[label](world)
    if token != "no token":  # valid, but for another browser's session
        other = "manager" if actor == "anonymous" else "anonymous"
        data["csrf_token"] = world.csrf[other]
    unchanged_since_last(app, world)

    response = world.ask(actor, "POST", target.url, data, token=False)

    assert response.status_code == 400, f"POST {target.url} as {actor}: {response.status_code}"
    assert refused_as_expired(response)
    assert unchanged_since_last(app, world) == {}


JSON_CASES = [(label, token) for label in sorted(JSON_CALLS) for token in TOKENS]


@pytest.mark.parametrize(("label", "token"), JSON_CASES,
                         ids=[f"{label}-{token.replace(' ', '_')}" for label, token in JSON_CASES])
def test_a_script_call_without_a_valid_token_header_is_refused_in_json(app, world, label, token):
    target = world.targets()[label]
    actor = sender(world, label)
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token != "no token":
        headers["X-CSRFToken"] = world.csrf["anonymous"]
    unchanged_since_last(app, world)

    response = world.client_of(actor).post(target.url, data=json.dumps(JSON_CALLS[label](world)),
                                           headers=headers)

    assert response.status_code == 400 and response.is_json
    assert response.json["reason"] == "csrf"
    assert unchanged_since_last(app, world) == {}


# --- GET changes nothing --------------------------------------------------------------------


@pytest.mark.parametrize(("label", "actor"), GET_CASES,
                         ids=[f"{label}-{actor}" for label, actor in GET_CASES])
def test_a_get_changes_no_business_state(app, world, label, actor):
    target = world.targets()[label]
    unchanged_since_last(app, world)

    response = world.ask(actor, "GET", target.url)

    assert response.status_code < 500
    assert unchanged_since_last(app, world) == {}, f"GET {target.url} as {actor}"


def test_the_world_is_as_it_was_built(app, world):
    assert fingerprint(app, ignore=READ_TRACES) == world.start
