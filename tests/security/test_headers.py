"""Security headers on every response, error pages included; cookies; allowed hosts; links in
emails never taken from the Host header; the proxy hops the app trusts (ProxyFix)."""

from __future__ import annotations

import re

import pytest
from flask import request

from config import ProductionConfig
from portal import CACHED_ENDPOINTS
from tests.conftest import CSRF_RE
from tests.factories import Factory
from tests.security.extra_apps import add_page, extra_app, production_environment

ACTORS = ("anonymous", "client", "writer", "manager")
# No script in the page itself: our JavaScript lives in static files.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)


def url_for_rule(rule) -> str:
    """A concrete URL for a route: ids that exist or not, a token that is not valid."""
    values = {}
    for name, converter in rule._converters.items():
        kind = type(converter).__name__
        values[name] = {"PathConverter": "css/portal.css"}.get(kind, 1 if "Integer" in kind
                                                                 else "not-a-valid-token")
    path = rule.rule
    for name, value in values.items():
        path = re.sub(rf"<[^>]*\b{name}>", str(value), path)
    return path


def assert_protected(response, where: str, *, static: bool = False) -> None:
    headers = response.headers
    policy = headers.get("Content-Security-Policy", "")
    assert policy, f"no CSP on {where}"
    if policy.startswith("sandbox"):  # a download: it never runs in the portal's origin
        pass
    else:
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if " " in d.strip())
        assert directives["script-src"] == "'self'", where
        assert "unsafe-inline" not in directives.get("default-src", ""), where
        assert directives["frame-ancestors"] == "'none'", where
        assert directives["object-src"] == "'none'", where
        assert directives["base-uri"] == "'none'", where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Referrer-Policy") == "same-origin", where
    assert headers.get("X-Frame-Options") == "DENY", where
    if not static:
        assert "no-store" in headers.get("Cache-Control", ""), where
    assert "Strict-Transport-Security" not in headers, f"HSTS over plain HTTP on {where}"
    if response.mimetype == "text/html":
        page = response.get_data(as_text=True)
        assert not INLINE_SCRIPT.search(page), f"inline <script> on {where}"
        assert not INLINE_HANDLER.search(page), f"inline event handler on {where}"


@pytest.fixture
def browsers(make_client, login_as):
    clients = {"anonymous": make_client()}
    for role in ACTORS[1:]:
        clients[role] = login_as(role)
    return clients


def test_every_page_of_the_url_map_carries_the_headers_for_every_actor(app, browsers):
    """Each GET route (with an id that may not exist and a token that is not valid: pages,
    redirects, 400 and 404 pages alike) as each actor."""
    checked = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "bootstrap.static":
            continue
        path = url_for_rule(rule)
        for actor, browser in browsers.items():
            response = browser.get(path)
            assert response.status_code < 500, (actor, path)
            assert_protected(response, f"{actor} GET {path} ({response.status_code})",
                             static=rule.endpoint in CACHED_ENDPOINTS)
            checked += 1
    assert checked >= 30 * len(ACTORS)


def test_every_refused_post_carries_the_headers(app, browsers):
    """POST routes without a CSRF token (400), or of another role (404), or anonymous (login)."""
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods:
            continue
        path = url_for_rule(rule)
        for actor, browser in browsers.items():
            response = browser.post(path, data={"anything": "x"})
            assert response.status_code in (302, 400, 404), (actor, path, response.status_code)
            assert_protected(response, f"{actor} POST {path} ({response.status_code})")


@pytest.mark.parametrize(("method", "path", "status"), [
    ("get", "/no/such/page", 404),
    ("get", "/logout", 405),
    ("put", "/login", 405),
    ("post", "/login", 400),  # no CSRF token
    ("get", "/password/reset/forged", 400),
])
def test_error_pages_carry_the_headers(client, method, path, status):
    response = getattr(client, method)(path)
    assert response.status_code == status
    assert "navbar" in response.get_data(as_text=True)  # the page of the site's layout
    assert_protected(response, path)


def test_a_request_too_large_carries_the_headers(client):
    response = client.post("/login", data=b"x" * (13 * 1024 * 1024),
                           content_type="application/octet-stream")
    assert response.status_code == 413
    assert_protected(response, "413")


def test_a_crash_carries_the_headers(app, database_url, tmp_path):
    with extra_app(database_url, str(tmp_path)) as crashing:
        def explode():
            raise RuntimeError("boom")

        add_page(crashing, "/explode", explode, "explode")
        response = crashing.test_client().get("/explode")
    assert response.status_code == 500
    assert_protected(response, "500")


def test_static_files_are_protected_but_may_be_cached(client):
    response = client.get("/static/js/portal.js")
    assert response.status_code == 200
    assert_protected(response, "static", static=True)
    assert "no-store" not in response.headers.get("Cache-Control", "")


def test_pages_behind_login_are_never_stored(login_as):
    browser = login_as("manager")
    for path in ("/home", "/people", "/settings", "/orders/999999"):
        assert browser.get(path).headers["Cache-Control"] == "no-store", path


# --- cookies ------------------------------------------------------------------------------


def cookies_of(response) -> dict[str, str]:
    return {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}


def test_session_and_remember_cookies_are_httponly_and_samesite_lax(factory, make_client):
    ama = factory.user("client")
    browser = make_client()

    response = browser.login(ama.email, Factory.PASSWORD, remember=True)

    cookies = cookies_of(response)
    for name in ("portal_session", "portal_remember"):
        assert "HttpOnly" in cookies[name], name
        assert "SameSite=Lax" in cookies[name], name
        assert "Secure" not in cookies[name], f"{name}: plain HTTP in tests"


def test_production_cookies_are_secure_and_hsts_is_sent_on_every_answer(
    app, database_url, monkeypatch, tmp_path
):
    production_environment(monkeypatch, tmp_path, DATABASE_URL=database_url)
    with extra_app(database_url, str(tmp_path), ProductionConfig) as production:
        https = production.test_client()
        page = https.get("/login", base_url="https://portal.example.com")
        missing = https.get("/nowhere", base_url="https://portal.example.com")
        stranger = https.get("/login", base_url="https://evil.example")

    session_cookie = cookies_of(page)["portal_session"]
    assert all(flag in session_cookie for flag in ("Secure", "HttpOnly", "SameSite=Lax"))
    assert production.config["REMEMBER_COOKIE_SECURE"]
    assert production.config["REMEMBER_COOKIE_HTTPONLY"]
    for response in (page, missing, stranger):
        assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert (page.status_code, missing.status_code, stranger.status_code) == (200, 404, 400)


# --- allowed hosts ------------------------------------------------------------------------


@pytest.mark.parametrize(("host", "status"), [
    ("portal.example.com", 200),
    ("portal.example.com:8443", 200),  # the port is not part of the check
    ("writers.agency.example", 200),  # ".agency.example" allows its subdomains
    ("evil.example", 400),
    ("portal.example.com.evil.example", 400),
    ("", 400),
])
def test_only_trusted_hosts_are_answered(app, client, monkeypatch, host, status):
    monkeypatch.setitem(app.config, "TRUSTED_HOSTS", ["portal.example.com", ".agency.example"])

    response = client.get("/login", environ_overrides={"HTTP_HOST": host})

    assert response.status_code == status
    if status == 400:
        assert response.get_data(as_text=True) in ("Bad request", "Requête incorrecte")
        assert_protected(response, f"Host {host!r}")


def test_production_trusts_the_host_of_base_url_unless_told_otherwise(monkeypatch, tmp_path):
    production_environment(monkeypatch, tmp_path)
    ProductionConfig.check()
    assert ProductionConfig.TRUSTED_HOSTS == ["portal.example.com"]

    monkeypatch.setenv("TRUSTED_HOSTS", "portal.example.com, .agence.example ,")
    ProductionConfig.check()
    assert ProductionConfig.TRUSTED_HOSTS == ["portal.example.com", ".agence.example"]


def test_development_and_tests_answer_any_host(client):
    assert client.get("/login", environ_overrides={"HTTP_HOST": "localhost:5000"}).status_code \
        == 200


@pytest.mark.parametrize(("page", "form", "to", "link"), [
    ("/password/forgot", {"email": "ama@example.test"}, "ama@example.test", "/password/reset/"),
    ("/signup", {"display_name": "Kofi", "email": "kofi@example.test",
                 "password": "lagune bleue sous la pluie",
                 "confirm": "lagune bleue sous la pluie", "locale": "fr",
                 "timezone": "Africa/Lome"}, "kofi@example.test", "/signup/confirm/"),
])
def test_links_in_emails_come_from_base_url_never_from_the_host_header(
    app, factory, make_client, mailbox, page, form, to, link
):
    factory.user("client", email="ama@example.test")
    attacker = make_client()
    evil = {"base_url": "http://evil.example"}
    token = CSRF_RE.search(attacker.get(page, **evil).get_data(as_text=True)).group(1)

    response = attacker.post(page, data={**form, "csrf_token": token},
                             headers={"X-Forwarded-Host": "evil.example"}, **evil)
    assert response.status_code == 302
    mailbox.deliver()

    url = mailbox.link(mailbox.last_to(to), link)
    assert url.startswith(app.config["BASE_URL"] + link)
    assert "evil" not in mailbox.text(mailbox.last_to(to))


# --- proxies ------------------------------------------------------------------------------


def peer() -> str:
    return f"{request.remote_addr} {request.scheme} {request.host}"


# What a client sent (first values) and what each proxy appended (last values).
FORWARDED = {"X-Forwarded-For": "203.0.113.50, 198.51.100.7",
             "X-Forwarded-Proto": "https, https", "X-Forwarded-Host": "evil.example"}


@pytest.mark.parametrize(("hops", "seen"), [
    (0, "127.0.0.1 http portal.example.com"),  # nothing forwarded is believed
    (1, "198.51.100.7 https portal.example.com"),  # the value our one proxy added
    (2, "203.0.113.50 https portal.example.com"),
])
def test_the_app_believes_as_many_forwarded_values_as_proxy_hops(
    app, database_url, tmp_path, hops, seen
):
    with extra_app(database_url, str(tmp_path), PROXY_HOPS=hops) as proxied:
        add_page(proxied, "/_peer", peer, "peer")
        response = proxied.test_client().get("/_peer", headers=FORWARDED,
                                             base_url="http://portal.example.com")
    assert response.get_data(as_text=True) == seen  # and never the forwarded host
