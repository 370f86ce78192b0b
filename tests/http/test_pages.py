"""Error pages in the site's layout, security headers, and the home page by role."""

from __future__ import annotations

import pytest

from config import TestingConfig
from portal import create_app
from portal.access import declare, public


def test_unknown_page_is_a_404_in_the_layout_in_french(client):
    response = client.get("/nowhere")
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert '<html lang="fr">' in body
    assert "navbar" in body and "Page introuvable" in body


def test_wrong_method_is_a_405_with_allow(client):
    response = client.get("/logout")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert "navbar" in response.get_data(as_text=True)


def test_a_crash_is_a_500_page_that_shows_no_internals(database_url, tmp_path):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url,
                     MAILBOX_DIR=str(tmp_path))

    @app.get("/explode")
    def explode():
        raise RuntimeError("secret internals: password=hunter2")

    declare(app, "explode", public())  # undeclared endpoints answer 404 (portal/access.py)

    response = app.test_client().get("/explode")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "navbar" in body
    assert "hunter2" not in body and "Traceback" not in body and "RuntimeError" not in body


def test_a_form_posted_without_its_csrf_token_is_refused_in_the_layout(client, stored):
    from portal.accounts.models import User

    response = client.post("/signup", data={
        "display_name": "Sans Jeton", "email": "sans@jeton.test",
        "password": "lagune bleue sous la pluie", "confirm": "lagune bleue sous la pluie",
        "locale": "fr", "timezone": "Africa/Lome",
    })
    assert response.status_code == 400
    assert "navbar" in response.get_data(as_text=True)
    assert stored(User) == 0


@pytest.mark.parametrize("path", ["/login", "/nowhere", "/healthz"])
def test_security_headers_on_every_response(client, path):
    headers = client.get(path).headers
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


def test_pages_behind_login_are_not_cached(login_as):
    client = login_as("client")
    assert client.get("/home").headers["Cache-Control"] == "no-store"


def test_the_bare_health_endpoint_touches_nothing(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_data(as_text=True) == "ok"
