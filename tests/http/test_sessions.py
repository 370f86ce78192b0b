"""Sessions: what a login opens, what ends it, and what a copied cookie is worth afterwards."""

from __future__ import annotations

import pytest

from portal.accounts.models import User
from tests.factories import Factory
from tests.http.pages import (
    OTHER_STRONG,
    copy_cookies,
    flashed,
    form_errors,
    location,
    log_out,
)

SESSION, REMEMBER = "portal_session", "portal_remember"


def can_see_home(client) -> bool:
    response = client.get("/home")
    if response.status_code == 200:
        return True
    assert location(response) == "/login?next=%2Fhome"
    return False


def set_cookie_header(response, name: str) -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]
    assert len(headers) == 1, response.headers.getlist("Set-Cookie")
    return headers[0]


# --- opening a session --------------------------------------------------------------------


def test_logging_in_starts_a_new_session(person, visitor, make_client):
    ama = person("client")
    visitor.get("/login")
    with visitor.session_transaction() as session:
        session["planted"] = "by someone who had this browser before"
    before = visitor.get_cookie(SESSION).value

    assert location(visitor.login(ama.email, Factory.PASSWORD)) == "/home"

    assert visitor.get_cookie(SESSION).value != before
    with visitor.session_transaction() as session:
        assert "planted" not in session
    # The cookie from before the login opens nothing.
    stranger = make_client()
    stranger.set_cookie(SESSION, before)
    assert not can_see_home(stranger)


def test_the_session_cookie_is_kept_from_scripts_and_other_sites(person, visitor):
    ama = person("client")

    response = visitor.login(ama.email, Factory.PASSWORD)

    cookie = set_cookie_header(response, SESSION)
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert visitor.get_cookie(REMEMBER) is None


def test_keep_me_signed_in_sets_a_remember_cookie_for_30_days(person, visitor, clock):
    ama = person("client")

    response = visitor.login(ama.email, Factory.PASSWORD, remember=True)

    cookie = set_cookie_header(response, REMEMBER)
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    expires = visitor.get_cookie(REMEMBER).expires
    assert 29 < (expires - clock.now()).total_seconds() / 86400 <= 30


def test_the_remember_cookie_alone_brings_the_person_back(person, make_client, visitor):
    ama = person("client")
    visitor.login(ama.email, Factory.PASSWORD, remember=True)

    # The browser was closed: only the remember cookie is left.
    reopened = make_client()
    copy_cookies(visitor, reopened, REMEMBER)

    assert can_see_home(reopened)


# --- ending sessions ----------------------------------------------------------------------


def test_logging_out_ends_every_session_of_the_person_and_any_copied_cookie(
    person, signed_in, make_client, visitor
):
    ama = person("client")
    laptop = signed_in(ama)
    phone = visitor
    assert location(phone.login(ama.email, Factory.PASSWORD, remember=True)) == "/home"
    # Someone copies the phone's cookie jar, whole or just the remember cookie.
    whole_jar, remember_only = make_client(), make_client()
    copy_cookies(phone, whole_jar, SESSION, REMEMBER)
    copy_cookies(phone, remember_only, REMEMBER)
    assert all(can_see_home(browser) for browser in (laptop, phone, whole_jar, remember_only))

    response = log_out(laptop)

    assert location(response) == "/login"
    flashed(laptop.get("/login"), "You are logged out.")
    assert not any(can_see_home(browser) for browser in (laptop, phone, whole_jar, remember_only))
    # Logging in again works, and does not revive the old cookies.
    assert location(laptop.login(ama.email, Factory.PASSWORD)) == "/home"
    assert not can_see_home(whole_jar)
    assert not can_see_home(remember_only)


def test_logging_out_removes_the_remember_cookie_and_keeps_the_language(person, visitor):
    ama = person("client")
    visitor.login(ama.email, Factory.PASSWORD, remember=True)
    assert visitor.get_cookie(REMEMBER) is not None

    log_out(visitor)

    assert visitor.get_cookie(REMEMBER) is None
    page = visitor.get("/login")
    assert '<html lang="en">' in page.get_data(as_text=True)
    flashed(page, "You are logged out.")


@pytest.mark.parametrize(("method", "data", "status"), [
    ("get", None, 405),
    ("post", {}, 400),
])
def test_logging_out_takes_a_form_sent_from_the_portal(signed_in, method, data, status):
    browser = signed_in("client")

    response = getattr(browser, method)("/logout", data=data)

    assert response.status_code == status
    assert can_see_home(browser)


def test_changing_the_password_ends_the_other_sessions_but_keeps_this_one(
    person, signed_in, new_visitor
):
    ama = person("client")
    here, elsewhere = signed_in(ama), signed_in(ama)

    response = here.submit("/settings/password", {
        "current_password": Factory.PASSWORD, "password": OTHER_STRONG, "confirm": OTHER_STRONG,
    }, page="/settings")

    assert location(response) == "/settings"
    flashed(here.get("/settings"), "Your other sessions have been closed.")
    assert can_see_home(here)
    assert not can_see_home(elsewhere)
    assert form_errors(new_visitor().login(ama.email, Factory.PASSWORD)) == [
        "Email or password is incorrect."]
    assert location(new_visitor().login(ama.email, OTHER_STRONG)) == "/home"


def test_a_deactivated_person_is_out_at_their_next_request(person, signed_in, visitor, load):
    kodjo = person("writer", email="kodjo@plume.test")
    kodjo_browser = signed_in(kodjo)
    manager = signed_in("manager")
    assert can_see_home(kodjo_browser)

    response = manager.submit(f"/people/{kodjo.id}/deactivate", {}, page=f"/people/{kodjo.id}")

    assert location(response) == f"/people/{kodjo.id}"
    assert not can_see_home(kodjo_browser)
    assert form_errors(visitor.login("kodjo@plume.test", Factory.PASSWORD)) == [
        "This account has been deactivated. Contact the agency."]
    assert not load(User, id=kodjo.id).active


def test_a_new_role_takes_effect_at_the_next_login(person, signed_in, load):
    kodjo = person("writer")
    kodjo_browser = signed_in(kodjo)
    manager = signed_in("manager")

    manager.submit(f"/people/{kodjo.id}/role", {"role": "manager"}, page=f"/people/{kodjo.id}")

    assert not can_see_home(kodjo_browser)
    again = signed_in(load(User, id=kodjo.id))
    assert again.get("/people").status_code == 200


def test_changing_the_password_keeps_this_device_remembered(person, visitor, make_client):
    ama = person("client")
    visitor.login(ama.email, Factory.PASSWORD, remember=True)

    visitor.submit("/settings/password", {
        "current_password": Factory.PASSWORD, "password": OTHER_STRONG, "confirm": OTHER_STRONG,
    }, page="/settings")

    # The browser is closed and opened again: the new remember cookie brings the person back.
    reopened = make_client()
    copy_cookies(visitor, reopened, REMEMBER)
    assert can_see_home(reopened)
