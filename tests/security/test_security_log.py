"""The security log: logins, failed logins, resets, refused access, role changes and
deactivations each write one structured line (JSON) with the UTC time, the user id and the
address; never a password or a token; whatever a visitor typed cannot break the line."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta

import pytest

from portal import security_log
from portal.accounts.models import Role
from tests.factories import Factory

NEW_PASSWORD = "baobab rouge et marche du soir"


@pytest.fixture
def events(caplog):
    """The security events written so far, each checked to be one well-formed JSON line."""
    caplog.set_level(logging.INFO, logger="portal.security")

    def read(name: str | None = None) -> list[dict]:
        found = []
        for record in caplog.records:
            if record.name != "portal.security":
                continue
            line = record.getMessage()
            assert "\n" not in line and "\r" not in line
            assert all(32 <= ord(ch) < 127 for ch in line), repr(line)  # printable ASCII only
            entry = json.loads(line)
            assert entry == record.security_event
            if name is None or entry["event"] == name:
                found.append(entry)
        return found

    read.text = lambda: "\n".join(r.getMessage() for r in caplog.records)
    return read


def only(entries: list[dict]) -> dict:
    assert len(entries) == 1, entries
    return entries[0]


def assert_recent_utc(entry: dict) -> None:
    assert entry["time"].endswith("Z")
    when = datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))
    assert when.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - when) < timedelta(minutes=1)


# --- logins ---------------------------------------------------------------------------------


def test_a_login_is_logged_with_time_user_and_address(factory, make_client, events):
    ama = factory.user("client")
    browser = make_client()
    browser.environ_base["REMOTE_ADDR"] = "198.51.100.23"

    assert browser.login(ama.email, Factory.PASSWORD).status_code == 302

    entry = only(events("login_ok"))
    assert_recent_utc(entry)
    assert (entry["user_id"], entry["ip"], entry["endpoint"]) == (ama.id, "198.51.100.23",
                                                                 "auth.login")
    assert Factory.PASSWORD not in events.text()


def test_a_wrong_password_is_logged_without_the_password(factory, client, events):
    ama = factory.user("client")

    client.login(ama.email, "hunter2-is-not-it")

    entry = only(events("login_failed"))
    assert (entry["user_id"], entry["reason"], entry["ip"]) == (ama.id, "bad_password",
                                                               "127.0.0.1")
    assert_recent_utc(entry)
    assert "hunter2" not in events.text()
    assert not events("login_ok")


def test_an_unknown_address_is_logged_as_a_key_not_as_what_was_typed(client, events):
    # People type their password in the email field: what was typed is never written.
    client.login("my-secret-pass@example.test", "whatever it is 123")
    client.login("MY-SECRET-PASS@Example.test", "again 123456")

    first, second = events("login_failed")
    assert first["user_id"] is None and first["reason"] == "unknown_account"
    assert re.fullmatch(r"[0-9a-f]{16}", first["email_key"])
    assert first["email_key"] == second["email_key"]  # the same address, grouped
    assert "my-secret-pass" not in events.text().lower()


def test_a_deactivated_account_is_logged(factory, client, events):
    gone = factory.user("writer", active=False)

    client.login(gone.email, Factory.PASSWORD)

    entry = only(events("login_failed"))
    assert (entry["user_id"], entry["reason"]) == (gone.id, "deactivated")


def test_a_logout_is_logged(login_as, events):
    browser = login_as("client")
    token = browser.csrf_token("/home")

    browser.post("/logout", data={"logout-csrf_token": token})

    entry = only(events("logout"))
    assert entry["user_id"] == browser.user.id


# --- password reset -----------------------------------------------------------------------


def test_a_reset_is_logged_when_asked_and_when_done_and_the_link_is_not(
    factory, make_client, mailbox, events
):
    ama = factory.user("client", email="ama@example.test")
    visitor = make_client()

    visitor.submit("/password/forgot", {"email": "ama@example.test"})
    visitor.submit("/password/forgot", {"email": "nobody@example.test"})
    mailbox.deliver()
    link = mailbox.path(mailbox.last_to("ama@example.test"), "/password/reset/")
    response = visitor.submit(link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302

    asked, unknown = events("password_reset_requested")
    assert (asked["user_id"], asked["sent"]) == (ama.id, True)
    assert (unknown["user_id"], unknown["sent"], unknown["reason"]) == (
        None, False, "unknown_account")
    assert "nobody" not in events.text()
    done = only(events("password_reset_done"))
    assert done["user_id"] == ama.id and done["endpoint"] == "auth.reset_password"
    token = link.rsplit("/", 1)[1]
    assert token not in events.text()  # the path holds the token: only the endpoint is logged
    assert NEW_PASSWORD not in events.text()


def test_a_password_change_in_the_settings_is_logged(login_as, events):
    browser = login_as("client")

    browser.submit("/settings/password", {
        "current_password": Factory.PASSWORD, "password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD}, page="/settings")

    assert only(events("password_changed"))["user_id"] == browser.user.id
    assert NEW_PASSWORD not in events.text() and Factory.PASSWORD not in events.text()


# --- refused access -----------------------------------------------------------------------


def test_a_page_of_another_role_is_logged_as_refused(login_as, events):
    browser = login_as("client")

    assert browser.get("/people").status_code == 404

    entry = only(events("access_refused"))
    assert (entry["user_id"], entry["reason"], entry["endpoint"]) == (
        browser.user.id, "role", "accounts.people")


def test_another_clients_order_is_logged_as_refused(factory, login_as, events):
    order = factory.order(status="open")
    intruder = login_as("client")

    assert intruder.get(f"/orders/{order.id}").status_code == 404

    entry = only(events("access_refused"))
    assert (entry["user_id"], entry["reason"], entry["ids"]) == (
        intruder.user.id, "order", {"order_id": order.id})


def test_a_missing_order_is_not_a_refusal(login_as, events):
    assert login_as("client").get("/orders/987654").status_code == 404
    assert not events("access_refused")


def test_a_form_without_its_csrf_token_is_logged_as_refused(app, client, events, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)

    response = client.post("/login", data={"email": "a@example.test", "password": "x" * 12})

    assert response.status_code == 400
    entry = only(events("access_refused"))
    assert (entry["reason"], entry["endpoint"], entry["user_id"]) == ("csrf", "auth.login", None)
    assert "x" * 12 not in events.text()


# --- people administration ----------------------------------------------------------------


def test_a_role_change_is_logged_with_who_did_it_to_whom(factory, login_as, events):
    writer = factory.user("writer")
    boss = login_as("manager")

    response = boss.submit(f"/people/{writer.id}/role", {"role": "manager"},
                           page=f"/people/{writer.id}")
    assert response.status_code == 302

    entry = only(events("role_changed"))
    assert entry == entry | {"user_id": boss.user.id, "target_user_id": writer.id,
                             "previous_role": Role.WRITER.value, "role": Role.MANAGER.value}


def test_deactivation_and_reactivation_are_logged(factory, login_as, events):
    writer = factory.user("writer")
    boss = login_as("manager")

    boss.submit(f"/people/{writer.id}/deactivate", {}, page=f"/people/{writer.id}")
    boss.submit(f"/people/{writer.id}/reactivate", {}, page=f"/people/{writer.id}")

    off, on = only(events("account_deactivated")), only(events("account_reactivated"))
    assert (off["user_id"], off["target_user_id"]) == (boss.user.id, writer.id)
    assert (on["user_id"], on["target_user_id"]) == (boss.user.id, writer.id)


def test_a_refused_change_is_not_logged_as_done(login_as, events):
    boss = login_as("manager")  # the only manager: demoting themselves is refused

    boss.submit(f"/people/{boss.user.id}/role", {"role": "writer"},
                page=f"/people/{boss.user.id}")
    boss.submit(f"/people/{boss.user.id}/deactivate", {}, page=f"/people/{boss.user.id}")

    assert not events("role_changed") and not events("account_deactivated")


# --- one line, no secret ------------------------------------------------------------------


HOSTILE = "a\nevent=login_ok user_id=1\r\x00\x1b[2J\x7f\u2028\u0085\u202eé" + "z" * 500


def test_control_characters_cannot_forge_a_line(app, events):
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": "203.0.113.1"}):
        security_log.record("test_event", user_id=7, note=HOSTILE)

    entry = only(events("test_event"))
    assert entry["note"].startswith("a\nevent=login_ok")  # kept, but escaped in the line
    assert len(entry["note"]) <= security_log.MAX_VALUE_LENGTH + 1
    assert (entry["user_id"], entry["ip"]) == (7, "203.0.113.1")


def test_a_hostile_host_header_is_logged_escaped(app, client, events, monkeypatch):
    monkeypatch.setitem(app.config, "TRUSTED_HOSTS", ["portal.example.com"])

    hostile = "evil.example\r\nX: 1\x1b[31m\x00"  # past the test client's header check

    response = client.get("/login", environ_overrides={"HTTP_HOST": hostile})

    assert response.status_code == 400
    assert only(events("host_refused"))["host"] == hostile


def test_secret_fields_are_never_written(app, events):
    with app.test_request_context("/password/reset/the-token-itself"):
        security_log.record("test_event", password="hunter2", reset_token="tok-123",
                            details={"csrf_token": "csrf-456", "session_id": "sess-789",
                                     "fine": "kept"})

    entry = only(events("test_event"))
    assert entry["password"] == entry["reset_token"] == "[redacted]"
    assert entry["details"] == {"csrf_token": "[redacted]", "session_id": "[redacted]",
                                "fine": "kept"}
    for secret in ("hunter2", "tok-123", "csrf-456", "sess-789", "the-token-itself"):
        assert secret not in events.text()


def test_outside_a_request_the_event_is_still_one_line(app, events):
    with app.app_context():
        security_log.record("test_event", user_id=None, note="from the command line")
    entry = only(events("test_event"))
    assert entry["ip"] is None and "endpoint" not in entry
