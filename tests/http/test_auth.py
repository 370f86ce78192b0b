"""Joining and signing in, told through the browser: sign-up, the confirmation email, login,
password reset and invitations. Emails travel over real SMTP; time moves with time_machine."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from portal.accounts.models import Invitation, PendingSignup, Role, User
from portal.extensions import utcnow
from portal.notifications.models import OutboxEmail
from tests.factories import Factory
from tests.http.pages import (
    OTHER_STRONG,
    STRONG,
    by_testid,
    field_error,
    flashed,
    flashes,
    forged_token,
    form_errors,
    link_problem,
    location,
    page_text,
    tampered,
)

NOT_VALID = "This link is not valid. Check that you copied it whole."
EXPIRED = "This link has expired. Ask for a new one."


def signup_form(**changes) -> dict:
    form = {
        "display_name": "Ama Koffi",
        "email": "ama@example.test",
        "password": STRONG,
        "confirm": STRONG,
        "locale": "en",
        "timezone": "Africa/Lome",
    }
    form.update(changes)
    return {name: value for name, value in form.items() if value is not None}


def is_anonymous(client) -> bool:
    response = client.get("/home")
    return response.status_code == 302 and location(response).startswith("/login")


# --- sign-up ------------------------------------------------------------------------------


CHECK_INBOX = ("Check your inbox: we sent a message to ama@example.test. Follow its link "
               "within 48 hours to finish creating your account.")


def test_a_visitor_signs_up_and_is_sent_one_link_to_finish_creating_the_account(
    visitor, mailbox, stored
):
    response = visitor.submit("/signup", signup_form(email="Ama@Example.TEST"))

    assert location(response) == "/login"
    assert flashes(visitor.get("/login")) == [CHECK_INBOX]
    assert is_anonymous(visitor)
    # No account yet: the sign-up waits for its address, and reserves nothing.
    assert stored(User) == 0
    assert stored(PendingSignup, PendingSignup.email == "ama@example.test") == 1
    assert stored(OutboxEmail) == 1

    assert mailbox.deliver().sent == 1
    message = mailbox.last_to("ama@example.test")
    assert message["Subject"] == "Confirm your email address"
    assert "/signup/confirm/" in mailbox.link(message, "/signup/confirm/")


def _answer(response, visitor) -> tuple:
    """What the visitor can observe of a sign-up: the answer, and the page it leads to
    (without the tokens that change per page)."""
    page = visitor.get(location(response)).get_data(as_text=True)
    page = re.sub(r'(content|value)="[A-Za-z0-9._-]{20,}"', r'\1="…"', page)
    cookie = visitor.get_cookie("portal_session")
    return response.status_code, location(response), page, cookie is not None


def test_signing_up_with_an_address_that_has_an_account_looks_exactly_the_same(
    person, new_visitor, mailbox, stored, load
):
    """The visitor sees the same answer and page, and stays logged out, whether the address
    is free or taken; the owner of a taken address is told, in their language, instead."""
    ama = person("client", email="ama@example.test", locale="fr")
    before = load(User, id=ama.id)
    fresh, taken = new_visitor(), new_visitor()

    fresh_answer = fresh.submit("/signup", signup_form(email="kofi@example.test"))
    taken_answer = taken.submit("/signup", signup_form(email="AMA@example.test",
                                                      display_name="Mallory"))

    fresh_seen = _answer(fresh_answer, fresh)
    taken_seen = _answer(taken_answer, taken)
    assert fresh_seen[:2] == taken_seen[:2] == (302, "/login")
    assert fresh_seen[2].replace("kofi@example.test", "ADDRESS") == taken_seen[2].replace(
        "ama@example.test", "ADDRESS")
    assert is_anonymous(fresh) and is_anonymous(taken)
    # The account is untouched; nothing waits for its address.
    after = load(User, id=ama.id)
    assert (after.password_hash, after.display_name) == (before.password_hash,
                                                         before.display_name)
    assert stored(PendingSignup, PendingSignup.email == "ama@example.test") == 0

    assert mailbox.deliver().sent == 2
    notice = mailbox.last_to("ama@example.test")
    assert str(notice["Subject"]).strip().startswith("Quelqu")
    assert "utiliser votre adresse" in str(notice["Subject"])
    text = mailbox.text(notice)
    assert "ama@example.test" in text and "/password/forgot" in text and "/login" in text
    assert "/signup/confirm/" not in text


def test_the_owner_is_told_at_most_once_an_hour(person, new_visitor, mailbox, clock, stored):
    person("client", email="ama@example.test")
    for _attempt in range(3):
        new_visitor().submit("/signup", signup_form(email="ama@example.test"))
    assert stored(OutboxEmail, OutboxEmail.kind == "address_in_use") == 1
    clock.advance(hours=1)
    new_visitor().submit("/signup", signup_form(email="ama@example.test"))
    assert stored(OutboxEmail, OutboxEmail.kind == "address_in_use") == 2


TOO_LONG = "pirogue " * 16 + "x"  # 129 characters


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"email": "ama@"}, "email", "Enter a valid email address, like name@example.com."),
        ({"email": "ama koffi@example.test"}, "email", "Enter a valid email address"),
        ({"email": ""}, "email", "Enter your email address."),
        ({"password": "password123", "confirm": "password123"}, "password",
         "This is a very common password. Try a few unrelated words"),
        ({"password": "aaaaaaaaaaaa", "confirm": "aaaaaaaaaaaa"}, "password",
         "Repeated characters are easy to guess."),
        ({"password": "Ama Koffi 2024", "confirm": "Ama Koffi 2024"}, "password",
         "This password leans on your name or email address."),
        ({"password": "nuit bleu", "confirm": "nuit bleu"}, "password",
         "Use at least 10 characters."),
        ({"password": TOO_LONG, "confirm": TOO_LONG}, "password", "Use at most 128 characters."),
        ({"password": "x" * 5000, "confirm": "x" * 5000}, "password",
         "This password is far too long."),
        ({"password": ""}, "password", "Choose a password."),
        ({"confirm": STRONG + "!"}, "confirm", "The two passwords are not the same."),
        ({"display_name": None}, "display_name", "Enter your name."),
        ({"display_name": "   "}, "display_name", "Enter your name."),
        ({"display_name": "A"}, "display_name", "A name has 2 to 80 characters."),
        ({"display_name": "A" * 81}, "display_name", "A name has 2 to 80 characters."),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone", "Choose a time zone from the list."),
        ({"timezone": None}, "timezone", "Choose a time zone from the list."),
        ({"locale": "tlh"}, "locale", "Choose a language from the list."),
        ({"locale": None}, "locale", "Choose a language from the list."),
    ],
    ids=[
        "email without domain", "email with a space", "no email",
        "common password", "repeated characters", "password from the name and a year",
        "9 characters", "129 characters", "absurd length", "no password", "confirmation differs",
        "no name", "blank name", "one-letter name", "81-letter name", "unknown time zone",
        "no time zone", "unknown language", "no language",
    ],
)
def test_sign_up_refuses_bad_input_on_the_form_and_stores_nothing(
    visitor, person, stored, changes, field, message
):
    person("client", email="taken@example.test")

    response = visitor.submit("/signup", signup_form(**changes))

    assert response.status_code in (200, 422)
    assert message in field_error(response, field)
    assert stored(User) == 1
    assert stored(PendingSignup) == 0
    assert stored(OutboxEmail) == 0
    assert is_anonymous(visitor)


def test_an_empty_sign_up_form_says_what_is_missing_under_each_field(visitor, stored):
    response = visitor.submit("/signup", {})

    assert response.status_code == 200
    assert field_error(response, "display_name") == "Enter your name."
    assert field_error(response, "email") == "Enter your email address."
    assert field_error(response, "password") == "Choose a password."
    assert field_error(response, "confirm") == "Repeat the password."
    assert stored(User) == 0


def test_sign_up_without_the_form_token_is_refused(visitor, stored):
    response = visitor.post("/signup", data=signup_form())

    assert response.status_code == 400
    assert "This form has expired" in page_text(response)
    assert stored(User) == 0


# --- confirmation -------------------------------------------------------------------------


def sign_up(client, mailbox, email: str = "ama@example.test") -> str:
    """Sign up through the form and return the path of the link emailed to finish it."""
    response = client.submit("/signup", signup_form(email=email))
    assert location(response) == "/login"
    mailbox.deliver()
    return mailbox.path(mailbox.last_to(email), "/signup/confirm/")


def test_the_emailed_link_asks_for_the_password_then_makes_the_account_and_logs_in(
    visitor, new_visitor, mailbox, load, stored
):
    link = sign_up(visitor, mailbox)

    # A mail scanner, or the person on another device, opens the link: nothing happens yet.
    other_device = new_visitor()
    page = other_device.get(link)
    assert page.status_code == 200
    assert ("Confirm that ama@example.test is your address by typing the password you chose "
            "when you signed up.") in page_text(page)
    assert stored(User) == 0

    # Someone who holds the link but not the password makes nothing.
    wrong = other_device.submit(link, {"password": OTHER_STRONG})
    assert wrong.status_code == 422
    assert field_error(wrong, "password") == (
        "This is not the password you chose when you signed up.")
    assert stored(User) == 0

    response = other_device.submit(link, {"password": STRONG})
    assert location(response) == "/home"
    home = other_device.get("/home")
    assert ("Welcome! Your address ama@example.test is confirmed and your account is ready."
            in flashes(home))
    assert by_testid(home, "confirm-banner") == ""
    ama = load(User, email="ama@example.test")
    assert (ama.role, ama.display_name, ama.locale, ama.timezone) == (
        Role.CLIENT, "Ama Koffi", "en", "Africa/Lome")
    assert ama.is_confirmed
    assert stored(PendingSignup) == 0
    # The password chosen at sign-up is the account's.
    assert location(new_visitor().login("ama@example.test", STRONG)) == "/home"


def test_following_the_link_twice_makes_one_account(visitor, new_visitor, mailbox, stored):
    link = sign_up(visitor, mailbox)
    visitor.submit(link, {"password": STRONG})

    again = new_visitor()
    page = again.get(link)

    assert page.status_code == 400
    assert link_problem(page) == "This link has already been used or is no longer valid."
    assert again.submit(link, {"password": STRONG}, page="/login").status_code == 400
    assert stored(User) == 1


def test_two_sign_ups_for_one_address_reserve_nothing_the_first_confirmed_wins(
    new_visitor, mailbox, stored, load
):
    first, second = new_visitor(), new_visitor()
    first_link = sign_up(first, mailbox)
    second.submit("/signup", signup_form(email="ama@example.test", password=OTHER_STRONG,
                                         confirm=OTHER_STRONG, display_name="Ama Deux"))
    mailbox.deliver()
    second_link = mailbox.path(mailbox.last_to("ama@example.test"), "/signup/confirm/")
    assert second_link != first_link

    assert location(second.submit(second_link, {"password": OTHER_STRONG})) == "/home"
    page = first.get(first_link)

    assert page.status_code == 400
    assert link_problem(page) == "This link has already been used or is no longer valid."
    assert load(User, email="ama@example.test").display_name == "Ama Deux"
    assert stored(User) == 1 and stored(PendingSignup) == 0


@pytest.mark.parametrize(("after", "works"), [
    ({"hours": 47, "minutes": 59}, True),
    ({"hours": 48, "minutes": 1}, False),
])
def test_the_sign_up_link_works_for_48_hours(visitor, mailbox, clock, stored, after, works):
    link = sign_up(visitor, mailbox)

    clock.advance(**after)
    page = visitor.get(link)
    response = visitor.submit(link, {"password": STRONG}, page="/login")

    if works:
        assert page.status_code == 200
        assert location(response) == "/home"
    else:
        assert page.status_code == response.status_code == 400
        assert link_problem(page) == link_problem(response) == EXPIRED
    assert stored(User) == (1 if works else 0)


@pytest.mark.parametrize("make_link", [
    lambda real, pid: f"/signup/confirm/{tampered(real)}",
    lambda real, pid: "/signup/confirm/" + forged_token(
        "signup", {"pid": pid, "email": "ama@example.test"}),
    lambda real, pid: "/signup/confirm/" + real.replace(".", "..", 1),
    lambda real, pid: "/signup/confirm/not-a-token",
], ids=["tampered", "signed with another key", "reshaped", "garbage"])
def test_a_forged_or_tampered_sign_up_link_makes_nothing(visitor, mailbox, load, stored,
                                                        make_link):
    real = sign_up(visitor, mailbox).rsplit("/", 1)[1]
    pid = load(PendingSignup, email="ama@example.test").id
    link = make_link(real, pid)

    page = visitor.get(link)
    response = visitor.submit(link, {"password": STRONG}, page="/login")

    assert page.status_code == response.status_code == 400
    assert link_problem(page) == link_problem(response) == NOT_VALID
    assert stored(User) == 0


def test_the_link_of_an_address_taken_meanwhile_makes_nothing(visitor, mailbox, person,
                                                              stored):
    link = sign_up(visitor, mailbox)
    person("client", email="ama@example.test")  # invited, or confirmed first elsewhere

    response = visitor.submit(link, {"password": STRONG})

    assert response.status_code == 422
    assert form_errors(response) == [
        "An account already uses this address. Log in, or reset your password."]
    assert stored(User) == 1 and is_anonymous(visitor)


def test_a_link_for_an_address_no_longer_waiting_to_be_confirmed_is_refused(
    signed_in, person, mailbox, load
):
    ama = person("client", email="ama@example.test")
    browser = signed_in(ama)
    for new_address in ("ama@first.test", "ama@second.test"):
        response = browser.submit("/settings/email", {
            "email": new_address, "current_password": Factory.PASSWORD}, page="/settings")
        assert location(response) == "/settings"
    mailbox.deliver()
    first_link = mailbox.path(mailbox.last_to("ama@first.test"), "/confirm/")

    page = browser.get(first_link)
    response = browser.submit(first_link, {}, page="/home")

    message = "This link is for an address that is no longer waiting to be confirmed."
    assert link_problem(page) == link_problem(response) == message
    stored_ama = load(User, id=ama.id)
    assert (stored_ama.email, stored_ama.pending_email) == ("ama@example.test", "ama@second.test")


def test_an_unconfirmed_client_logs_in_sees_the_banner_and_asks_for_a_new_link_once_a_minute(
    person, signed_in, mailbox, clock, stored, load
):
    ama = person("client", email="ama@example.test", confirmed=False)
    browser = signed_in(ama)
    home = browser.get("/home")
    assert home.status_code == 200
    assert ("Confirm your address ama@example.test by following the link we sent there. "
            "Until then you cannot place orders.") in by_testid(home, "confirm-banner")

    def ask_for_a_new_link():
        response = browser.submit("/confirm/resend", {}, page="/home")
        assert location(response) == "/home"
        return flashes(browser.get("/home"))

    assert ask_for_a_new_link() == ["A new confirmation link is on its way to ama@example.test."]
    assert ask_for_a_new_link() == [
        "A link was sent less than a minute ago. Check your inbox and spam folder."]
    clock.advance(seconds=59)
    assert "less than a minute ago" in ask_for_a_new_link()[0]
    assert stored(OutboxEmail) == 1

    clock.advance(seconds=2)
    assert ask_for_a_new_link() == ["A new confirmation link is on its way to ama@example.test."]
    assert stored(OutboxEmail) == 2

    assert mailbox.deliver().sent == 2
    newest = mailbox.path(mailbox.last_to("ama@example.test"), "/confirm/")
    browser.submit(newest, {})
    assert load(User, id=ama.id).is_confirmed
    assert by_testid(browser.get("/home"), "confirm-banner") == ""


def test_a_confirmed_client_asking_for_a_link_is_told_there_is_nothing_to_confirm(
    signed_in, stored
):
    browser = signed_in("client")

    browser.submit("/confirm/resend", {}, page="/home")

    assert flashes(browser.get("/home")) == ["Your address is already confirmed."]
    assert stored(OutboxEmail) == 0


def test_asking_for_a_new_link_needs_a_login(visitor):
    response = visitor.submit("/confirm/resend", {}, page="/login")

    assert location(response) == "/login?next=%2Fconfirm%2Fresend"


# --- login --------------------------------------------------------------------------------


def test_a_person_logs_in_with_their_address_in_any_case(person, visitor, load):
    ama = person("client", email="ama@example.test")

    response = visitor.login("AMA@example.TEST", Factory.PASSWORD)

    assert location(response) == "/home"
    assert "Hello, " + ama.display_name in page_text(visitor.get("/home"))
    assert load(User, id=ama.id).last_login_at is not None


@pytest.mark.parametrize(("email", "password"), [
    ("ama@example.test", "not the right password"),
    ("nobody@example.test", "not the right password"),
    ("nobody@example.test", Factory.PASSWORD),
    ("ama@example.test", ""),
], ids=["wrong password", "unknown address", "unknown address, common password",
        "no password"])
def test_a_wrong_password_and_an_unknown_address_get_the_same_answer(
    person, visitor, load, email, password
):
    ama = person("client", email="ama@example.test")

    response = visitor.login(email, password)

    assert response.status_code == 200
    expected = ["Enter your password."] if not password else ["Email or password is incorrect."]
    assert (form_errors(response) or [field_error(response, "password")]) == expected
    assert is_anonymous(visitor)
    assert load(User, id=ama.id).last_login_at is None


def test_the_same_answer_comes_for_a_wrong_password_and_an_unknown_address(person, new_visitor):
    person("client", email="ama@example.test")

    wrong_password = new_visitor().login("ama@example.test", "not the right password")
    unknown = new_visitor().login("nobody@example.test", "not the right password")

    assert wrong_password.status_code == unknown.status_code == 200
    assert form_errors(wrong_password) == form_errors(unknown) == [
        "Email or password is incorrect."]


@pytest.mark.parametrize(("password", "message"), [
    (Factory.PASSWORD, "This account has been deactivated. Contact the agency."),
    ("not the right password", "Email or password is incorrect."),
], ids=["right password", "wrong password"])
def test_a_deactivated_account_is_refused(person, visitor, password, message):
    person("writer", email="kodjo@plume.test", active=False)

    response = visitor.login("kodjo@plume.test", password)

    assert response.status_code == 200
    assert form_errors(response) == [message]
    assert is_anonymous(visitor)


# `next` brings a person back where the login interrupted them, only on this site.
@pytest.mark.parametrize(("target", "lands_on"), [
    ("/home", "/home"),
    ("/settings", "/settings"),
    ("/people?q=ama&role=client", "/people?q=ama&role=client"),
    ("http://evil.example", "/home"),
    ("https://evil.example/home", "/home"),
    ("//evil.example", "/home"),
    ("///evil.example", "/home"),
    ("/\\evil.example", "/home"),
    ("\\\\evil.example", "/home"),
    ("https:evil", "/home"),
    ("javascript:alert(1)", "/home"),
    ("/\t/evil.example", "/home"),
    ("/home\r\nSet-Cookie: planted=1", "/home"),
    ("", "/home"),
])
def test_next_only_leads_to_a_page_of_this_site(person, visitor, target, lands_on):
    manager = person("manager")

    form = visitor.get("/login", query_string={"next": target})
    response = visitor.submit("/login", {
        "email": manager.email, "password": Factory.PASSWORD, "next": target})
    again = visitor.get("/login", query_string={"next": target})

    shown = target if lands_on != "/home" or target == "/home" else ""
    assert f'name="next" type="hidden" value="{shown}"' in form.get_data(as_text=True).replace(
        "&amp;", "&")
    assert location(response) == lands_on
    # Already logged in, the login page sends the person on at once, by the same rule.
    assert location(again) == lands_on


def test_a_next_with_a_nul_character_is_a_bad_request(person, visitor, stored):
    # No person types a NUL: any request carrying one is refused before a view runs.
    manager = person("manager")
    target = "/\x00/evil.example"
    assert visitor.get("/login", query_string={"next": target}).status_code == 400
    response = visitor.submit("/login", {
        "email": manager.email, "password": Factory.PASSWORD, "next": target}, page="/login")
    assert response.status_code == 400


@pytest.mark.parametrize(("target", "lands_on"), [
    ("/signup", "/signup"),
    ("//evil.example", "/"),
    ("/\\evil.example", "/"),
    ("https://evil.example", "/"),
])
def test_the_language_menu_returns_only_to_a_page_of_this_site(client, target, lands_on):
    response = client.post("/language", data={
        "lang-csrf_token": client.csrf_token("/login"), "lang-locale": "en", "lang-next": target,
    })

    assert location(response) == lands_on


# --- password reset -----------------------------------------------------------------------


def ask_for_a_reset(client, email: str):
    return client.submit("/password/forgot", {"email": email})


@pytest.mark.parametrize(("who", "emails"), [
    ("an active account", 1),
    ("nobody", 0),
    ("a deactivated account", 0),
])
def test_forgot_password_answers_the_same_whether_or_not_the_address_has_an_account(
    person, visitor, mailbox, stored, who, emails
):
    person("client", email="ama@example.test")
    person("client", email="gone@example.test", active=False)
    address = {"an active account": "Ama@Example.test", "nobody": "nobody@example.test",
               "a deactivated account": "gone@example.test"}[who]

    response = ask_for_a_reset(visitor, address)

    assert location(response) == "/login"
    assert flashes(visitor.get("/login")) == [
        f"If an account uses {address}, a link to choose a new password is on its way. "
        "It works for one hour."]
    assert stored(OutboxEmail) == emails
    assert mailbox.deliver().sent == emails
    assert [str(message["To"]) for message in mailbox.messages] == (
        ["ama@example.test"] if emails else [])


def reset_link(client, mailbox, email: str = "ama@example.test") -> str:
    ask_for_a_reset(client, email)
    mailbox.deliver()
    return mailbox.path(mailbox.last_to(email), "/password/reset/")


def test_a_reset_link_sets_a_new_password_once_and_closes_every_session(
    person, signed_in, visitor, new_visitor, mailbox, load
):
    ama = person("client", email="ama@example.test", confirmed=False)
    phone = signed_in(ama)
    link = reset_link(visitor, mailbox)

    form = visitor.get(link)
    assert form.status_code == 200
    assert "Choose a new password" in page_text(form)
    response = visitor.submit(link, {"password": OTHER_STRONG, "confirm": OTHER_STRONG})

    assert location(response) == "/login"
    flashed(visitor.get("/login"), "ama@example.test", "Log in with it now.")
    # Following the link proved the mailbox.
    assert load(User, id=ama.id).is_confirmed
    assert is_anonymous(phone)
    assert form_errors(new_visitor().login("ama@example.test", Factory.PASSWORD)) == [
        "Email or password is incorrect."]
    assert location(new_visitor().login("ama@example.test", OTHER_STRONG)) == "/home"

    used = visitor.get(link)
    assert used.status_code == 400
    assert link_problem(used) == "This link has already been used or is no longer valid."
    assert "Ask for a new link" in page_text(used)
    password_hash = load(User, id=ama.id).password_hash
    reused = visitor.submit(link, {"password": STRONG, "confirm": STRONG}, page="/login")
    assert reused.status_code == 400
    assert load(User, id=ama.id).password_hash == password_hash


@pytest.mark.parametrize(("after", "works"), [
    ({"minutes": 59}, True),
    ({"minutes": 61}, False),
])
def test_a_reset_link_works_for_one_hour(person, visitor, mailbox, clock, load, after, works):
    ama = person("client", email="ama@example.test")
    link = reset_link(visitor, mailbox)

    clock.advance(**after)
    page = visitor.get(link)

    if works:
        assert page.status_code == 200
    else:
        assert page.status_code == 400
        assert link_problem(page) == EXPIRED
        response = visitor.submit(link, {"password": OTHER_STRONG, "confirm": OTHER_STRONG},
                                  page="/login")
        assert response.status_code == 400
        assert load(User, id=ama.id).password_hash == ama.password_hash


def test_a_reset_link_dies_once_the_password_is_changed_in_the_settings(
    person, signed_in, visitor, mailbox
):
    ama = person("client", email="ama@example.test")
    link = reset_link(visitor, mailbox)
    browser = signed_in(ama)
    changed = browser.submit("/settings/password", {
        "current_password": Factory.PASSWORD, "password": OTHER_STRONG, "confirm": OTHER_STRONG,
    }, page="/settings")
    assert location(changed) == "/settings"

    page = visitor.get(link)

    assert page.status_code == 400
    assert link_problem(page) == "This link has already been used or is no longer valid."


@pytest.mark.parametrize("make_token", [
    lambda real, uid: tampered(real),
    lambda real, uid: forged_token("reset", {"uid": uid, "pw": "0" * 16}),
    lambda real, uid: "not-a-token",
], ids=["tampered", "signed with another key", "garbage"])
def test_a_forged_reset_link_changes_nothing(person, visitor, mailbox, load, make_token):
    ama = person("client", email="ama@example.test")
    real = reset_link(visitor, mailbox).rsplit("/", 1)[1]
    link = "/password/reset/" + make_token(real, ama.id)

    page = visitor.get(link)
    response = visitor.submit(link, {"password": OTHER_STRONG, "confirm": OTHER_STRONG},
                              page="/login")

    assert page.status_code == response.status_code == 400
    assert link_problem(page) == NOT_VALID
    assert load(User, id=ama.id).password_hash == ama.password_hash


def test_a_confirmation_link_does_not_open_a_password_reset(visitor, mailbox):
    confirm = sign_up(visitor, mailbox)
    link = confirm.replace("/signup/confirm/", "/password/reset/")

    page = visitor.get(link)

    assert page.status_code == 400
    assert link_problem(page) == NOT_VALID


@pytest.mark.parametrize(("password", "confirm", "field", "message"), [
    ("password123", "password123", "password", "This is a very common password."),
    ("nuit bleu", "nuit bleu", "password", "Use at least 10 characters."),
    ("ama@example.test", "ama@example.test", "password",
     "This password leans on your name or email address."),
    (OTHER_STRONG, STRONG, "confirm", "The two passwords are not the same."),
], ids=["common", "short", "made of the address", "confirmation differs"])
def test_a_weak_new_password_is_refused_with_its_reason_and_changes_nothing(
    person, visitor, mailbox, load, password, confirm, field, message
):
    ama = person("client", email="ama@example.test")
    link = reset_link(visitor, mailbox)

    response = visitor.submit(link, {"password": password, "confirm": confirm})

    assert response.status_code == 200
    assert message in field_error(response, field)
    after = load(User, id=ama.id)
    assert (after.password_hash, after.session_token) == (ama.password_hash, ama.session_token)
    assert visitor.get(link).status_code == 200


# --- invitations --------------------------------------------------------------------------


def invite(manager_browser, email: str = "kodjo@plume.test", role: str = "writer", **changes):
    form = {"display_name": "Kodjo Amouzou", "email": email, "role": role, "locale": "en"}
    form.update(changes)
    return manager_browser.submit("/people/invite", form)


def invitation_link(mailbox, email: str = "kodjo@plume.test", index: int = -1) -> str:
    mailbox.deliver()
    return mailbox.path(mailbox.to(email)[index], "/invitation/")


def accept(client, link: str, password: str = STRONG, **changes):
    form = {"display_name": "Kodjo Amouzou", "password": password, "confirm": password,
            "timezone": "Africa/Lome"}
    form.update(changes)
    return client.submit(link, form)


def test_a_manager_invites_a_writer_who_chooses_a_password_and_is_in(
    signed_in, visitor, mailbox, load, stored
):
    manager = signed_in("manager", name="Akossiwa Mensah")

    response = invite(manager, email="Kodjo@Plume.test")

    assert location(response) == "/people"
    people = manager.get("/people")
    assert flashes(people) == ["Invitation sent to kodjo@plume.test."]
    assert "Kodjo Amouzou · kodjo@plume.test · Writer" in page_text(people)

    assert mailbox.deliver().sent == 1
    email = mailbox.last_to("kodjo@plume.test")
    assert email["Subject"] == "You are invited to join Agence Plume"
    body = mailbox.text(email)
    assert "Akossiwa Mensah invites you to join Agence Plume as writer." in body.replace(
        "Writer", "writer")
    assert "The link works for 7 days." in body
    link = mailbox.path(email, "/invitation/")

    page = visitor.get(link)
    assert page.status_code == 200
    assert ("You are invited as writer with the address kodjo@plume.test. "
            "Choose your password to finish.") in page_text(page)
    assert 'value="Kodjo Amouzou"' in page.get_data(as_text=True)

    response = accept(visitor, link, display_name="Kodjo A.", timezone="Europe/Paris")

    assert location(response) == "/home"
    home = visitor.get("/home")
    assert flashes(home) == ["Welcome to the team, Kodjo A.!"]
    assert by_testid(home, "role") == "Writer"
    assert by_testid(home, "confirm-banner") == ""
    kodjo = load(User, email="kodjo@plume.test")
    assert (kodjo.role, kodjo.display_name, kodjo.locale, kodjo.timezone) == (
        Role.WRITER, "Kodjo A.", "en", "Europe/Paris")
    assert kodjo.is_confirmed
    invitation = load(Invitation, email="kodjo@plume.test")
    assert (invitation.user_id, invitation.accepted_at is not None) == (kodjo.id, True)
    assert stored(User) == 2


def test_an_accepted_invitation_link_cannot_be_used_again(
    signed_in, visitor, new_visitor, mailbox, stored
):
    invite(signed_in("manager"))
    link = invitation_link(mailbox)
    accept(visitor, link)

    someone_else = new_visitor()
    page = someone_else.get(link)
    response = accept(someone_else, link, password=OTHER_STRONG)

    assert page.status_code == response.status_code == 400
    assert link_problem(page) == "This invitation has already been accepted. Log in instead."
    assert stored(User) == 2
    assert is_anonymous(someone_else)


@pytest.mark.parametrize(("after", "works"), [
    ({"days": 6, "hours": 23}, True),
    ({"days": 7, "minutes": 1}, False),
])
def test_an_invitation_link_works_for_7_days(
    signed_in, visitor, mailbox, clock, stored, after, works
):
    invite(signed_in("manager"))
    link = invitation_link(mailbox)

    clock.advance(**after)
    page = visitor.get(link)

    if works:
        assert page.status_code == 200
        assert location(accept(visitor, link)) == "/home"
    else:
        assert page.status_code == 400
        assert link_problem(page) == EXPIRED
        assert accept(visitor, link).status_code == 400
    assert stored(User) == (2 if works else 1)


@pytest.mark.parametrize("make_token", [
    lambda real, invitation_id: tampered(real),
    lambda real, invitation_id: forged_token(
        "invite", {"inv": invitation_id, "email": "kodjo@plume.test"}),
    lambda real, invitation_id: "not-a-token",
], ids=["tampered", "signed with another key", "garbage"])
def test_a_forged_invitation_link_creates_no_account(
    signed_in, visitor, mailbox, load, stored, make_token
):
    invite(signed_in("manager"))
    real = invitation_link(mailbox).rsplit("/", 1)[1]
    link = "/invitation/" + make_token(real, load(Invitation, email="kodjo@plume.test").id)

    page = visitor.get(link)
    response = accept(visitor, link)

    assert page.status_code == response.status_code == 400
    assert link_problem(page) == NOT_VALID
    assert stored(User) == 1


def test_a_new_invitation_to_the_same_address_withdraws_the_earlier_link(
    signed_in, visitor, mailbox, stored
):
    manager = signed_in("manager")
    invite(manager)
    invite(manager, role="manager")
    first, second = invitation_link(mailbox, index=0), invitation_link(mailbox, index=1)

    page = visitor.get(first)
    assert page.status_code == 400
    assert link_problem(page) == "This invitation was withdrawn. Ask the agency for a new one."

    assert location(accept(visitor, second)) == "/home"
    assert by_testid(visitor.get("/home"), "role") == "Manager"
    assert stored(Invitation, Invitation.revoked_at.is_not(None)) == 1


def test_a_withdrawn_invitation_is_refused(signed_in, visitor, mailbox, load, stored):
    manager = signed_in("manager")
    invite(manager)
    link = invitation_link(mailbox)
    invitation = load(Invitation, email="kodjo@plume.test")

    response = manager.submit(f"/people/invitations/{invitation.id}/revoke", {}, page="/people")

    assert location(response) == "/people"
    people = manager.get("/people")
    flashed(people, "The invitation to kodjo@plume.test", "withdrawn.")
    assert "No invitation is waiting." in page_text(people)
    page = visitor.get(link)
    assert page.status_code == 400
    assert link_problem(page) == "This invitation was withdrawn. Ask the agency for a new one."
    assert accept(visitor, link).status_code == 400
    assert stored(User) == 1


@pytest.mark.parametrize("address", [
    "ama@example.test", "AMA@Example.Test",
], ids=["an account's address", "in another case"])
def test_inviting_an_address_that_has_an_account_is_refused(
    person, signed_in, update, stored, address
):
    person("client", email="ama@example.test")
    manager = signed_in("manager")

    response = invite(manager, email=address)

    assert response.status_code == 200
    assert field_error(response, "email") == "An account already uses this address."
    assert stored(Invitation) == 0
    assert stored(OutboxEmail) == 0


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"role": "client"}, "role", "Not a valid choice."),
    ({"email": "kodjo@"}, "email", "Enter a valid email address"),
    ({"display_name": ""}, "display_name", "Enter the person's name."),
    ({"locale": "tlh"}, "locale", "Choose a language from the list."),
], ids=["client role", "bad email", "no name", "unknown language"])
def test_an_invitation_with_bad_input_is_refused_on_the_form(
    signed_in, stored, changes, field, message
):
    response = invite(signed_in("manager"), **changes)

    assert response.status_code == 200
    assert message in field_error(response, field)
    assert stored(Invitation) == 0


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"password": "password123"}, "password", "This is a very common password."),
    ({"password": "kodjo@plume.test"}, "password",
     "This password leans on your name or email address."),
    ({"confirm": "something else entirely"}, "confirm", "The two passwords are not the same."),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone", "Choose a time zone from the list."),
], ids=["common password", "password made of the address", "confirmation differs",
        "unknown time zone"])
def test_accepting_with_a_refused_password_keeps_the_invitation_open(
    signed_in, visitor, mailbox, stored, changes, field, message
):
    invite(signed_in("manager"))
    link = invitation_link(mailbox)
    form = {"password": STRONG, "confirm": changes.get("password", STRONG)}
    form.update(changes)

    response = accept(visitor, link, **form)

    assert response.status_code == 200
    assert message in field_error(response, field)
    assert stored(User) == 1
    assert stored(Invitation, Invitation.accepted_at.is_(None)) == 1
    assert visitor.get(link).status_code == 200


def test_an_address_waiting_for_confirmation_may_be_invited(person, signed_in, update,
                                                             stored):
    update(person("client"), pending_email="waiting@example.test",
           pending_email_expires_at=utcnow() + timedelta(hours=47))

    response = invite(signed_in("manager"), email="waiting@example.test")

    assert location(response) == "/people"
    assert stored(Invitation) == 1


def test_an_invitation_whose_address_was_taken_meanwhile_cannot_be_accepted(
    signed_in, visitor, new_visitor, mailbox, stored
):
    invite(signed_in("manager"))
    link = invitation_link(mailbox)
    other = new_visitor()
    other.submit(sign_up(other, mailbox, email="kodjo@plume.test"), {"password": STRONG})

    response = accept(visitor, link)

    assert response.status_code == 200
    assert form_errors(response) == ["An account already uses this address. Log in instead."]
    assert stored(User, User.role == Role.WRITER) == 0


# --- a link followed in a browser where someone else is logged in -------------------------


def _invited_writer_joins(browser, mailbox, new_visitor) -> tuple[str, object]:
    invite(browser)  # the manager logged in here invites, and tries the link in this browser
    return "Kodjo Amouzou", accept(browser, invitation_link(mailbox))


def _new_client_confirms(browser, mailbox, new_visitor) -> tuple[str, object]:
    link = sign_up(new_visitor(), mailbox)
    return "Ama Koffi", browser.submit(link, {"password": STRONG})


@pytest.mark.parametrize("newcomer_logs_in", [_invited_writer_joins, _new_client_confirms],
                         ids=["accepting an invitation", "confirming a sign-up"])
def test_a_newcomer_logging_in_over_a_remembered_person_does_not_bring_them_back(
    newcomer_logs_in, person, visitor, new_visitor, mailbox
):
    manager = person("manager", name="Akossiwa Mensah")
    visitor.login(manager.email, Factory.PASSWORD, remember=True)
    assert visitor.get_cookie("portal_remember") is not None

    name, response = newcomer_logs_in(visitor, mailbox, new_visitor)

    assert location(response) == "/home"
    assert by_testid(visitor.get("/home"), "nav-settings") == name
    # The manager's remember cookie left with the manager's session...
    assert visitor.get_cookie("portal_remember") is None
    # ...so once the newcomer's session is gone, nobody is logged in here.
    visitor.delete_cookie("portal_session")
    assert is_anonymous(visitor)
