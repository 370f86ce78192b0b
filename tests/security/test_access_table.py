"""The access table (portal/access.py) is complete, and the app answers what it declares.

Every endpoint of the URL map is declared. Then every endpoint (once per order it is asked
about) meets every person of the world (tests/security/access_world.py) with GET and with POST,
and the answer must be the declared one: allowed, the login page, the home page (login and
sign-up for people already signed in), 404 (not for this role, not on this order) or 405 (a
method the endpoint does not serve).

The protection has two locks and each is checked on its own: the guard the table installs
before every view (test_the_guard_alone_…), and the views' own decorators and policies
(test_the_views_refuse_on_their_own…, with the guard taken out, and the decorators against the
table).

The requests of the matrix act for real, but keep nothing: `db.session.commit` only flushes, so
the end of each request rolls its work back, and stored files are not removed. Every case
therefore meets the same world, built once for the module.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from config import TestingConfig
from portal import access, create_app
from portal.access import ACCESS, declare
from portal.extensions import db
from portal.orders import uploads
from tests.security.access_world import (
    ACTORS,
    READ_TRACES,
    SESSION_COOKIE,
    answer,
    fingerprint,
    labels,
    matches,
    module_world,
)

METHODS = ("GET", "POST")
LABELS = labels(ACCESS)
CASES = [(label, method, actor) for label in LABELS for method in METHODS for actor in ACTORS]


@pytest.fixture(autouse=True)
def _clean_database():
    """Replaces the cleaning after each test: this module's world is emptied once, at its end."""
    yield


@pytest.fixture(scope="module")
def world(app, tmp_path_factory):
    with module_world(app, tmp_path_factory) as built:
        yield built


@pytest.fixture
def nothing_kept(monkeypatch):
    monkeypatch.setattr(db.session, "commit", db.session.flush)
    monkeypatch.setattr(uploads, "discard_file", lambda stored_name: None)


@contextmanager
def guard_removed(app):
    """The app as if portal/access.py did not exist: only the views protect it."""
    guards = app.before_request_funcs.setdefault(None, [])
    if access.check_request not in guards:
        yield
        return
    position = guards.index(access.check_request)
    guards.remove(access.check_request)
    try:
        yield
    finally:
        guards.insert(position, access.check_request)


def describe(response) -> str:
    where = f" -> {response.location}" if response.location else ""
    return f"{response.status_code}{where}"


# --- the table is complete ---------------------------------------------------------------------


def test_every_endpoint_of_the_url_map_is_declared(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert sorted(endpoints - set(ACCESS)) == [], "declare these in portal/access.py"
    assert sorted(set(ACCESS) - endpoints) == [], "these declarations name no endpoint"


def test_the_role_decorators_say_what_the_table_says(app):
    """role_required marks the views it guards; the table must name the same roles. (The
    autosave checks the writer's role in the view, to answer JSON: its rule says so.)"""
    differ = {}
    for endpoint, rule in ACCESS.items():
        view = app.view_functions[endpoint]
        decorated = frozenset(getattr(view, "allowed_roles", ()))
        if rule.view_answers_json:
            continue
        if decorated != rule.roles:
            differ[endpoint] = {"table": sorted(rule.roles), "decorator": sorted(decorated)}
    assert differ == {}


# --- the matrix ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("label", "method", "actor"), CASES,
                         ids=[f"{label}-{method}-{actor}" for label, method, actor in CASES])
def test_every_endpoint_answers_every_person_as_declared(world, nothing_kept, label, method,
                                                         actor):
    target = world.targets()[label]
    expected = world.expected(actor, target, method)

    response = world.ask(actor, method, target.url)

    assert matches(expected, answer(response)), (
        f"{method} {target.url} as {actor}: the table says {expected} "
        f"({ACCESS[target.endpoint].describe()}), the app answered {describe(response)}"
    )


@pytest.mark.parametrize("actor", ACTORS)
def test_the_autosave_answers_every_person_in_json(world, nothing_kept, actor):
    """The editor's script gets JSON, never a page: 401 for an ended session, 404 for anyone
    but the order's writer (the view answers these calls itself, see view_answers_json)."""
    target = world.targets()["writing.save_draft"]
    expected = world.expected(actor, target, "POST")

    response = world.client_of(actor).post(
        target.url, json={"text": "", "base_version": 0},
        headers={"X-CSRFToken": world.csrf[actor], "Accept": "application/json"})

    assert response.is_json, describe(response)
    assert matches(expected, answer(response)), f"as {actor}: {describe(response)}"


@pytest.mark.parametrize("label", LABELS)
def test_the_views_refuse_on_their_own(app, world, nothing_kept, label):
    """Without the guard, every refusal of the matrix still comes: from the views' decorators
    (login_required, role_required) and their policies."""
    target = world.targets()[label]
    wrong = []
    with guard_removed(app):
        for actor in ACTORS:
            for method in sorted(target.methods):
                expected = world.expected(actor, target, method)
                if expected not in ("login", "404"):
                    continue
                response = world.ask(actor, method, target.url)
                if not matches(expected, answer(response)):
                    wrong.append(f"{method} as {actor}: expected {expected}, "
                                 f"got {describe(response)}")
    assert wrong == [], f"{target.url}: " + "; ".join(wrong)


def test_the_matrix_kept_nothing(app, world):
    """The harness of the matrix rolled every request back: the world is as it was built."""
    assert fingerprint(app, ignore=READ_TRACES) == world.start


# --- the guard alone --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bare_app(database_url, tmp_path_factory, world):
    """An app with pages that have no decorator at all: only the table protects them."""
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url,
                     MAILBOX_DIR=str(tmp_path_factory.mktemp("bare-mailbox")))

    @app.get("/bare/managers")
    def bare_managers():
        return "managers' page"

    @app.get("/bare/signed-in")
    def bare_signed_in():
        return "anyone signed in"

    @app.get("/bare/undeclared")
    def bare_undeclared():
        return "nobody said who may see this"

    declare(app, "bare_managers", access.role(access.MANAGER))
    declare(app, "bare_signed_in", access.signed_in())
    yield app
    with app.app_context():
        db.engine.dispose()


BARE = {
    "/bare/managers": {"anonymous": "login", "deactivated": "login", "owner_client": "404",
                       "other_writer": "404", "manager": "allowed"},
    "/bare/signed-in": {"anonymous": "login", "deactivated": "login", "owner_client": "allowed",
                        "other_writer": "allowed", "manager": "allowed"},
    # Deny by default: a page nobody declared exists for nobody.
    "/bare/undeclared": {"anonymous": "404", "owner_client": "404", "manager": "404"},
}


@pytest.mark.parametrize("path", sorted(BARE))
def test_the_guard_alone_enforces_the_table(bare_app, world, path):
    found = {}
    for actor in BARE[path]:
        client = bare_app.test_client()
        client.set_cookie(SESSION_COOKIE, world.cookies[actor])
        found[actor] = answer(client.get(path))
    assert found == BARE[path]
