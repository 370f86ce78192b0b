"""Rate limits on login (per address, per account and address, and the ceiling per account that
asks for an emailed link), sign-up, password reset, invitations and messages; a limited request
gets the 429 page of the site's layout. Each story runs with the in-memory storage and with
Redis on 127.0.0.1:6379 when it is there (skipped otherwise), under a key prefix of its own.

The rest of the suite runs with the limits off (TestingConfig), so it never trips them; the
apps here are built with them on and with small limits, so a story takes a few requests.
"""

from __future__ import annotations

import itertools
import logging
import re
import socket
import uuid

import pytest
import sqlalchemy as sa
from limits import parse_many

from config import Config, DevelopmentConfig, MissingSetting, ProductionConfig, TestingConfig
from portal.accounts.models import Invitation, PendingSignup, User
from portal.messaging.models import Message
from portal.notifications.models import OutboxEmail
from portal.rate_limits import ACCOUNT_CEILING, RULES
from tests.factories import Factory
from tests.security.extra_apps import extra_app, production_environment

REDIS_URL = "redis://127.0.0.1:6379/0"
SMALL = {
    "login_per_address": "6 per minute",
    "login_failures_per_account_and_address": "3 per minute",
    "login_failures_per_account": "5 per hour",
    "login_link_per_address": "3 per minute",
    "signup_per_address": "2 per minute",
    "signup_per_account_and_address": "2 per hour",
    "signup_confirm_per_address": "2 per minute",
    "reset_request_per_address": "4 per minute",
    "reset_request_per_account": "2 per minute",
    "reset_per_address": "2 per minute",
    "invitation_per_manager": "2 per minute",
    "invitation_accept_per_address": "2 per minute",
    "message_per_person": "2 per minute",
    "email_change_per_person": "2 per hour",
    "texts_archive_per_person": "2 per hour",
}
_addresses = (f"10.9.{n // 250}.{n % 250 + 1}" for n in itertools.count())


def redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            pass
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except Exception:
        return False


@pytest.fixture(scope="module", params=["memory", "redis"])
def limited(request, app, database_url, tmp_path_factory):
    """An app with the limits on, counting in memory or in Redis (a prefix of its own there)."""
    prefix = f"portal-test-{uuid.uuid4().hex[:8]}"
    if request.param == "redis":
        if not redis_reachable():
            pytest.skip("no Redis on 127.0.0.1:6379: the Redis storage is not tested")
        storage = REDIS_URL
    else:
        storage = "memory://"
    with extra_app(database_url, str(tmp_path_factory.mktemp("mail")), RATELIMIT_ENABLED=True,
                   RATELIMIT_STORAGE_URI=storage, RATELIMIT_KEY_PREFIX=prefix,
                   RATE_LIMITS=SMALL) as limited_app:
        limited_app.storage_kind = request.param
        limited_app.key_prefix = prefix
        yield limited_app
        if request.param == "redis":
            forget_redis_keys(prefix)


def forget_redis_keys(prefix: str) -> None:
    import redis

    connection = redis.Redis.from_url(REDIS_URL)
    for key in connection.scan_iter(match=f"*{prefix}*"):
        connection.delete(key)


@pytest.fixture
def limits(limited):
    """The limited app with every counter at zero."""
    if limited.storage_kind == "redis":
        forget_redis_keys(limited.key_prefix)
    else:
        limited.extensions["portal_limiter"].storage.reset()
    return limited


def browser(app, address: str | None = None):
    """A browser of its own, from an address of its own unless told."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address or next(_addresses)
    return client


def signed_in(app, user: User):
    client = browser(app)
    assert client.login(user.email, Factory.PASSWORD).status_code == 302
    client.user = user
    return client


def assert_limited(response) -> None:
    """The 429 page of the site's layout, saying when to come back."""
    assert response.status_code == 429, response.status_code
    page = response.get_data(as_text=True)
    assert "navbar" in page and "429" in page
    assert ("Too many attempts" in page) or ("Trop de tentatives" in page)
    assert int(response.headers["Retry-After"]) > 0
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


def count(ctx, model, *where) -> int:
    with ctx() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


# --- login --------------------------------------------------------------------------------


def test_failed_logins_lock_out_the_guessers_address_not_the_owner(limits, factory):
    ama = factory.user("client")
    guesser = browser(limits)
    for _attempt in range(3):
        assert guesser.login(ama.email, "wrong guess 12345").status_code == 200

    # The fourth from that address is refused before the password is even checked, the right
    # one included, whatever the case of the address typed.
    assert_limited(guesser.login(ama.email, Factory.PASSWORD))
    assert_limited(guesser.login(ama.email.upper(), "another guess 123"))
    # The owner, from anywhere else, still logs in with the right password.
    assert browser(limits).login(ama.email, Factory.PASSWORD).status_code == 302
    # And the guesser may still try other accounts (within the limit per address).
    kofi = factory.user("client")
    assert guesser.login(kofi.email, Factory.PASSWORD).status_code == 302


def login_page(response) -> str:
    """The login page as the person reads it, without the token that changes per page."""
    page = response.get_data(as_text=True)
    return re.sub(r'value="[A-Za-z0-9._-]{20,}"', 'value="…"', page)


def test_past_the_ceiling_a_password_alone_opens_nothing_and_the_owner_gets_a_link(
    limits, factory, ctx
):
    """Five failures on one account from five addresses (none of them limited on its own):
    from then on, for an hour, the answer is the same whether the password is right or wrong,
    and only the right one sends the owner a one-time link, which logs them in."""
    ama = factory.user("client")
    for _attempt in range(5):
        assert browser(limits).login(ama.email, "wrong guess 12345").status_code == 200

    owner = browser(limits)
    right = owner.login(ama.email, Factory.PASSWORD)
    wrong = browser(limits).login(ama.email, "yet another guess")

    assert right.status_code == wrong.status_code == 200
    assert login_page(right) == login_page(wrong)
    assert 'data-testid="login-link-sent"' in login_page(right)
    assert owner.get("/home").status_code == 302  # not logged in
    with ctx() as session:
        links = list(session.scalars(sa.select(OutboxEmail).where(
            OutboxEmail.kind == "login_link")))
        assert [(e.recipient, e.recipient_user_id) for e in links] == [(ama.email, ama.id)]
        token = re.search(r"/login/link/([^\s\"<]+)", links[0].text_body).group(1)

    # The link asks for a click (mail scanners open links), then logs in, once.
    assert owner.get(f"/login/link/{token}").status_code == 200
    opened = owner.submit(f"/login/link/{token}", {}, page=f"/login/link/{token}")
    assert opened.status_code == 302 and opened.headers["Location"].endswith("/home")
    assert owner.get("/home").status_code == 200
    assert browser(limits).get(f"/login/link/{token}").status_code == 400
    # Other accounts log in as usual.
    assert browser(limits).login(factory.user("client").email, Factory.PASSWORD
                                 ).status_code == 302


def test_successful_logins_do_not_use_up_the_account_limit(limits, factory):
    ama = factory.user("client")
    for _login in range(4):
        assert browser(limits).login(ama.email, Factory.PASSWORD).status_code == 302


def test_logins_from_one_address_are_limited_whatever_the_account(limits):
    guesser = browser(limits, "192.0.2.66")
    for n in range(6):  # (not even addresses: the form refuses them, and they still count)
        assert guesser.login(f"someone-{n}", "x").status_code == 200

    assert_limited(guesser.login("someone-else", "x"))
    assert browser(limits, "192.0.2.67").login("someone-0", "x").status_code == 200


def test_reading_the_login_page_is_never_limited(limits):
    visitor = browser(limits)
    for _visit in range(15):
        assert visitor.get("/login").status_code == 200


def test_forwarded_addresses_do_not_escape_the_limit_without_a_trusted_proxy(limits):
    guesser = browser(limits, "192.0.2.80")
    statuses = [guesser.login(f"x{n}", "x",
                              headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
                for n in range(8)]
    assert statuses == [200] * 6 + [429] * 2


def test_a_limited_request_is_in_the_security_log(limits, caplog):
    caplog.set_level(logging.INFO, logger="portal.security")
    guesser = browser(limits, "192.0.2.90")
    for n in range(7):
        guesser.login(f"x{n}", "x")

    [event] = [r.security_event for r in caplog.records
               if getattr(r, "security_event", {}).get("event") == "rate_limited"]
    assert (event["ip"], event["endpoint"], event["limit"]) == (
        "192.0.2.90", "auth.login", "6 per 1 minute")


def test_the_counters_really_live_in_the_storage(limits, factory):
    """With Redis, the counts are in Redis (not in the fallback memory), keyed by a hash of
    the account, never the address typed."""
    ama = factory.user("client")
    browser(limits, "192.0.2.95").login(ama.email, "wrong guess 12345")

    assert not limits.extensions["portal_limiter"]._storage_dead
    if limits.storage_kind != "redis":
        return
    import redis

    keys = [k.decode() for k in redis.Redis.from_url(REDIS_URL).scan_iter(
        match=f"*{limits.key_prefix}*")]
    assert any("addr:192.0.2.95" in key for key in keys), keys
    assert any("account:" in key and "addr:192.0.2.95" in key for key in keys), keys
    assert any("login-ceiling" in key and "account:" in key for key in keys), keys
    assert not any(ama.email in key for key in keys)


# --- sign-up, reset, invitations, messages ------------------------------------------------


def signup_form(n: int) -> dict:
    return {"display_name": f"Nouveau {n}", "email": f"nouveau{n}-{uuid.uuid4().hex[:6]}@x.test",
            "password": "lagune bleue sous la pluie", "confirm": "lagune bleue sous la pluie",
            "locale": "fr", "timezone": "Africa/Lome"}


def test_sign_ups_from_one_address_are_limited_and_the_refused_one_creates_nothing(
    limits, ctx
):
    visitor = browser(limits)
    for n in range(2):
        assert visitor.submit("/signup", signup_form(n)).status_code == 302
    before = count(ctx, PendingSignup), count(ctx, OutboxEmail)

    assert_limited(visitor.submit("/signup", signup_form(3)))
    assert (count(ctx, PendingSignup), count(ctx, OutboxEmail)) == before


def test_sign_ups_for_one_address_are_limited_alike_whether_it_has_an_account_or_not(
    limits, factory, ctx
):
    """One source naming one address again and again is limited, and the limit says nothing
    of the address: the same third answer for both."""
    ama = factory.user("client")
    for email in (ama.email, "personne.encore@example.test"):
        visitor = browser(limits)
        for _attempt in range(2):
            assert visitor.submit("/signup", signup_form(0) | {"email": email}).status_code \
                == 302
        assert_limited(visitor.submit("/signup", signup_form(0) | {"email": email}))
    assert count(ctx, User) == 1


def test_nobody_keeps_someone_else_from_signing_up(limits, ctx):
    """Refused sign-ups from other sources for an address (a bad password, again and again)
    do not stop its owner from signing up from theirs."""
    email = "future.client@example.test"
    for _source in range(3):
        squatter = browser(limits)
        for _attempt in range(2):
            squatter.submit("/signup", signup_form(0) | {"email": email, "password": "short",
                                                         "confirm": "short"})
    assert browser(limits).submit("/signup", signup_form(0) | {"email": email}).status_code \
        == 302
    assert count(ctx, PendingSignup) == 1
    assert count(ctx, OutboxEmail, OutboxEmail.kind == "confirm_signup") == 1


def test_one_address_receives_a_bounded_number_of_links_an_hour_from_every_source(
    limits, ctx, app
):
    """Many sources cannot flood one inbox: past SIGNUP_EMAILS_PER_HOUR the answer is the same
    and nothing is stored or sent."""
    email = "flooded@example.test"
    cap = limits.config["SIGNUP_EMAILS_PER_HOUR"]
    answers = [browser(limits).submit("/signup", signup_form(0) | {"email": email})
               for _source in range(cap + 2)]
    assert {answer.status_code for answer in answers} == {302}
    assert len({answer.headers["Location"] for answer in answers}) == 1
    assert count(ctx, OutboxEmail, OutboxEmail.kind == "confirm_signup") == cap
    assert count(ctx, PendingSignup) == cap


def test_reset_requests_for_one_account_are_limited_so_no_inbox_is_flooded(
    limits, factory, ctx
):
    ama = factory.user("client")
    for _request in range(2):
        assert browser(limits).submit("/password/forgot", {"email": ama.email}).status_code \
            == 302
    sent = count(ctx, OutboxEmail, OutboxEmail.kind == "reset_password")
    assert sent >= 1

    assert_limited(browser(limits).submit("/password/forgot", {"email": ama.email.upper()}))
    assert count(ctx, OutboxEmail, OutboxEmail.kind == "reset_password") == sent


def test_reset_requests_from_one_address_are_limited(limits):
    visitor = browser(limits)
    for n in range(4):
        visitor.submit("/password/forgot", {"email": f"who{n}@example.test"})
    assert_limited(visitor.submit("/password/forgot", {"email": "who9@example.test"}))


@pytest.mark.parametrize("path", ["/password/reset/forged-token", "/invitation/forged-token"])
def test_link_forms_are_limited_per_address(limits, path):
    visitor = browser(limits)
    token = visitor.csrf_token("/login")
    for _try in range(2):
        assert visitor.post(path, data={"csrf_token": token}).status_code == 400
    assert_limited(visitor.post(path, data={"csrf_token": token}))
    assert browser(limits).post(path, data={"csrf_token": token}).status_code != 429


def test_invitations_are_limited_per_manager(limits, factory, ctx):
    boss, other_boss = factory.user("manager"), factory.user("manager")
    boss_browser = signed_in(limits, boss)

    def invite(client, n):
        return client.submit("/people/invite", {
            "display_name": f"Plume {n}", "email": f"plume{n}-{uuid.uuid4().hex[:6]}@x.test",
            "role": "writer", "locale": "fr"})

    for n in range(2):
        assert invite(boss_browser, n).status_code == 302
    assert_limited(invite(boss_browser, 3))
    assert count(ctx, Invitation) == 2
    assert invite(signed_in(limits, other_boss), 4).status_code == 302


def test_messages_are_limited_per_person(limits, factory, ctx):
    order = factory.order(status="open")
    client_browser = signed_in(limits, order.client)

    def post(browser_, n):
        return browser_.submit(f"/orders/{order.id}/messages", {"body": f"Message {n}"},
                               page=f"/orders/{order.id}")

    for n in range(2):
        assert post(client_browser, n).status_code == 302
    assert_limited(post(client_browser, 3))
    assert count(ctx, Message) == 2
    assert post(signed_in(limits, factory.user("manager")), 4).status_code == 302


def test_changes_of_address_are_limited_per_person(limits, factory, ctx):
    """Each request sends a link to the address typed: a person cannot make the portal mail
    strangers by the hundred."""
    ama = factory.user("client")
    browser_ = signed_in(limits, ama)

    def ask(n):
        return browser_.submit("/settings/email", {"email": f"nouvelle{n}@example.test",
                                                   "current_password": Factory.PASSWORD},
                               page="/settings")

    for n in range(2):
        assert ask(n).status_code == 302
    sent = count(ctx, OutboxEmail, OutboxEmail.kind == "confirm_email")
    assert_limited(ask(3))
    assert count(ctx, OutboxEmail, OutboxEmail.kind == "confirm_email") == sent


def test_archives_of_texts_are_limited_per_person(limits, factory):
    """A .zip of a period's texts is built in the request: one person cannot keep a worker
    busy by asking again and again; another person is not held back by it."""
    period = {"start": "2026-01-01", "end": "2026-03-31"}
    ama = signed_in(limits, factory.user("client"))

    for _n in range(2):
        assert ama.get("/orders/texts.zip", query_string=period).status_code == 200
    assert_limited(ama.get("/orders/texts.zip", query_string=period))
    other = signed_in(limits, factory.user("client"))
    assert other.get("/orders/texts.zip", query_string=period).status_code != 429
    # reading the page that holds the form is not counted
    assert ama.get("/orders").status_code == 200


# --- the table and the settings -----------------------------------------------------------


def test_every_rule_names_an_endpoint_of_its_method_and_a_valid_limit(app):
    endpoints = {rule.endpoint: rule.methods for rule in app.url_map.iter_rules()}
    for rule in RULES:
        assert set(rule.methods) <= endpoints[rule.endpoint], rule
        assert parse_many(Config.RATE_LIMITS[rule.setting]), rule
    assert parse_many(Config.RATE_LIMITS[ACCOUNT_CEILING])
    assert {rule.setting for rule in RULES} | {ACCOUNT_CEILING} == set(Config.RATE_LIMITS)
    assert {rule.endpoint for rule in RULES} == {
        "auth.login", "auth.login_link", "auth.signup", "auth.confirm_signup",
        "auth.forgot_password", "auth.reset_password", "auth.accept_invitation",
        "accounts.invite", "accounts.change_email", "orders.post_message",
        "orders.texts_archive", "orders.company_texts_archive"}


def test_the_suite_runs_without_limits_but_development_and_production_have_them(client):
    assert TestingConfig.RATELIMIT_ENABLED is False
    assert DevelopmentConfig.RATELIMIT_ENABLED and ProductionConfig.RATELIMIT_ENABLED
    assert DevelopmentConfig.RATELIMIT_STORAGE_URI == "memory://"
    for _attempt in range(7):  # over the default 5 per minute of one account
        assert client.login("nobody", "x").status_code == 200


def test_production_refuses_to_start_without_a_limit_storage(monkeypatch, tmp_path):
    production_environment(monkeypatch, tmp_path)
    monkeypatch.delenv("RATELIMIT_STORAGE_URI")
    with pytest.raises(MissingSetting, match="RATELIMIT_STORAGE_URI"):
        ProductionConfig.check()


def test_production_with_memory_storage_starts_but_warns(monkeypatch, tmp_path, caplog):
    production_environment(monkeypatch, tmp_path, RATELIMIT_STORAGE_URI="memory://")
    with caplog.at_level(logging.WARNING, logger="portal.config"):
        ProductionConfig.check()
    assert ProductionConfig.RATELIMIT_STORAGE_URI == "memory://"
    assert any("memory://" in r.getMessage() and r.levelno == logging.WARNING
               for r in caplog.records)


def test_production_with_redis_storage_starts_quietly(monkeypatch, tmp_path, caplog):
    production_environment(monkeypatch, tmp_path, RATELIMIT_STORAGE_URI=REDIS_URL)
    with caplog.at_level(logging.WARNING, logger="portal.config"):
        ProductionConfig.check()
    assert ProductionConfig.RATELIMIT_STORAGE_URI == REDIS_URL
    assert not [r for r in caplog.records if r.name == "portal.config"]


def test_production_without_limits_needs_no_storage_but_warns(monkeypatch, tmp_path, caplog):
    production_environment(monkeypatch, tmp_path, RATELIMIT_ENABLED="0")
    monkeypatch.delenv("RATELIMIT_STORAGE_URI")
    with caplog.at_level(logging.WARNING, logger="portal.config"):
        ProductionConfig.check()
    assert ProductionConfig.RATELIMIT_ENABLED is False
    assert any("RATELIMIT_ENABLED" in r.getMessage() for r in caplog.records)


def test_redis_down_the_portal_answers_and_still_limits_in_memory(
    app, database_url, tmp_path, factory
):
    with extra_app(database_url, str(tmp_path), RATELIMIT_ENABLED=True,
                   RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0", RATE_LIMITS=SMALL,
                   RATELIMIT_STORAGE_OPTIONS={"socket_connect_timeout": 0.5}) as cut_off:
        ama = factory.user("client")
        guesser = browser(cut_off)
        statuses = [guesser.login(ama.email, "wrong guess 12345").status_code
                    for _attempt in range(4)]
        for _attempt in range(2):  # the ceiling of the account, from other addresses
            browser(cut_off).login(ama.email, "wrong guess 12345")
        owner = browser(cut_off).login(ama.email, Factory.PASSWORD)
    assert statuses == [200, 200, 200, 429]
    assert owner.status_code == 200 and 'data-testid="login-link-sent"' in login_page(owner)
