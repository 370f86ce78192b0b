"""A person's own settings, and the people page where managers run the agency's accounts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from portal.accounts.models import Invitation, Role, User
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
    link_problem,
    location,
    page_text,
    texts,
)

# --- profile ------------------------------------------------------------------------------


def test_a_person_changes_their_name_and_time_zone(person, signed_in, load):
    ama = person("client", name="Ama Koffi")
    browser = signed_in(ama)

    response = browser.submit("/settings/profile", {
        "display_name": "Ama K.", "locale": "en", "timezone": "Europe/Paris"}, page="/settings")

    assert location(response) == "/settings"
    page = browser.get("/settings")
    flashed(page, "Your settings are saved.")
    assert by_testid(page, "nav-settings") == "Ama K."
    stored_ama = load(User, id=ama.id)
    assert (stored_ama.display_name, stored_ama.timezone) == ("Ama K.", "Europe/Paris")


def test_a_person_switches_the_portal_to_french(person, signed_in, load):
    ama = person("client")
    browser = signed_in(ama)

    browser.submit("/settings/profile", {
        "display_name": ama.display_name, "locale": "fr", "timezone": ama.timezone},
        page="/settings")

    assert load(User, id=ama.id).locale == "fr"
    assert '<html lang="fr">' in browser.get("/settings").get_data(as_text=True)


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"timezone": "Mars/Olympus_Mons"}, "timezone", "Choose a time zone from the list."),
    ({"timezone": ""}, "timezone", "Choose a time zone from the list."),
    ({"locale": "tlh"}, "locale", "Choose a language from the list."),
    ({"display_name": ""}, "display_name", "Enter your name."),
    ({"display_name": "A"}, "display_name", "A name has 2 to 80 characters."),
], ids=["unknown time zone", "no time zone", "unknown language", "no name", "one-letter name"])
def test_a_profile_with_bad_input_is_refused_and_nothing_changes(
    person, signed_in, load, changes, field, message
):
    ama = person("client", name="Ama Koffi", timezone="Africa/Lome")
    browser = signed_in(ama)
    form = {"display_name": "Ama K.", "locale": "en", "timezone": "Europe/Paris", **changes}

    response = browser.submit("/settings/profile", form, page="/settings")

    assert response.status_code == 422
    assert message in field_error(response, field)
    stored_ama = load(User, id=ama.id)
    assert (stored_ama.display_name, stored_ama.locale, stored_ama.timezone) == (
        "Ama Koffi", "en", "Africa/Lome")


# --- password -----------------------------------------------------------------------------


def change_password(browser, current: str, new: str, confirm: str | None = None):
    return browser.submit("/settings/password", {
        "current_password": current, "password": new, "confirm": confirm or new,
    }, page="/settings")


def test_a_person_changes_their_password_with_the_current_one(person, signed_in, load):
    ama = person("client")
    browser = signed_in(ama)

    response = change_password(browser, Factory.PASSWORD, OTHER_STRONG)

    assert location(response) == "/settings"
    flashed(browser.get("/settings"), "Your password is changed.")
    assert load(User, id=ama.id).password_hash != ama.password_hash


@pytest.mark.parametrize(("current", "new", "confirm", "field", "message"), [
    ("not my password", OTHER_STRONG, None, "current_password",
     "Your current password is not correct."),
    ("", OTHER_STRONG, None, "current_password", "Enter your current password."),
    (Factory.PASSWORD, "password123", None, "password", "This is a very common password."),
    (Factory.PASSWORD, "nuit bleu", None, "password", "Use at least 10 characters."),
    (Factory.PASSWORD, OTHER_STRONG, STRONG, "confirm", "The two passwords are not the same."),
], ids=["wrong current password", "no current password", "common new password",
        "short new password", "confirmation differs"])
def test_a_password_change_is_refused_with_its_reason_and_nothing_changes(
    person, signed_in, load, current, new, confirm, field, message
):
    ama = person("client")
    browser = signed_in(ama)

    response = change_password(browser, current, new, confirm)

    assert response.status_code == 422
    assert message in field_error(response, field)
    after = load(User, id=ama.id)
    assert (after.password_hash, after.session_token) == (ama.password_hash, ama.session_token)


# --- email address ------------------------------------------------------------------------


def change_email(browser, new_email: str, password: str = Factory.PASSWORD):
    return browser.submit("/settings/email", {
        "email": new_email, "current_password": password}, page="/settings")


def test_a_new_address_replaces_the_old_one_only_once_confirmed(
    person, signed_in, visitor, mailbox, load
):
    ama = person("client", email="ama@example.test")
    browser = signed_in(ama)

    response = change_email(browser, "Ama@Nouveau.test")

    assert location(response) == "/settings"
    settings = browser.get("/settings")
    flashed(settings, "ama@nouveau.test")
    assert "Waiting for confirmation of ama@nouveau.test until" in page_text(settings)
    waiting = load(User, id=ama.id)
    assert (waiting.email, waiting.pending_email) == ("ama@example.test", "ama@nouveau.test")
    assert "Confirm your new address ama@nouveau.test" in by_testid(
        browser.get("/home"), "confirm-banner")

    assert mailbox.deliver().sent == 1
    assert mailbox.to("ama@example.test") == []
    link = mailbox.path(mailbox.last_to("ama@nouveau.test"), "/confirm/")
    # Until the link is followed, the old address is the one to log in with.
    assert visitor.login("ama@nouveau.test", Factory.PASSWORD).status_code == 200

    assert location(browser.submit(link, {})) == "/home"

    changed = load(User, id=ama.id)
    assert (changed.email, changed.pending_email) == ("ama@nouveau.test", None)
    assert mailbox.deliver().sent == 1
    notice = mailbox.text(mailbox.last_to("ama@example.test"))
    assert "ama@nouveau.test" in notice
    assert location(visitor.login("ama@nouveau.test", Factory.PASSWORD)) == "/home"


@pytest.mark.parametrize(("new_email", "password", "field", "message"), [
    ("ama@nouveau.test", "not my password", "current_password",
     "Your current password is not correct."),
    ("AMA@example.test", Factory.PASSWORD, "email", "This is already your address."),
    ("ama@", Factory.PASSWORD, "email", "Enter a valid email address"),
], ids=["wrong password", "own address", "invalid"])
def test_an_address_change_is_refused_and_nothing_is_sent(
    person, signed_in, update, load, stored, new_email, password, field, message
):
    ama = person("client", email="ama@example.test")
    browser = signed_in(ama)

    response = change_email(browser, new_email, password)

    assert response.status_code == 422
    assert message in field_error(response, field)
    assert load(User, id=ama.id).pending_email is None
    assert stored(OutboxEmail) == 0


def _seen(browser, response, user) -> tuple:
    """What the person sees after asking for a change: the answer, the settings page and the
    home page, without the tokens, the person's own name and address, and the address asked
    for."""
    pages = []
    for path in ("/settings", "/home"):
        page = browser.get(path).get_data(as_text=True)
        page = re.sub(r'(content|value)="[A-Za-z0-9._-]{20,}"', r'\1="…"', page)
        page = page.replace(user.display_name, "NAME").replace(user.email, "EMAIL")
        pages.append(re.sub(r"[a-z.]+@(plume|nouveau)\.test", "ADDRESS", page))
    return response.status_code, location(response), *pages


def test_asking_for_an_address_that_has_an_account_looks_the_same_and_tells_its_owner(
    person, signed_in, mailbox, load, time_machine
):
    # One moment for both: the settings page says until when the change waits, to the minute
    # (two changes on either side of a minute differed once in CI).
    time_machine.move_to(datetime(2026, 12, 4, 23, 59, 30, tzinfo=UTC), tick=False)
    kodjo = person("writer", email="kodjo@plume.test", locale="en")
    ama, koku = person("client", email="ama@example.test"), person("client")
    ama_browser, koku_browser = signed_in(ama), signed_in(koku)

    taken = _seen(ama_browser, change_email(ama_browser, "KODJO@Plume.test"), ama)
    fresh = _seen(koku_browser, change_email(koku_browser, "koku@nouveau.test"), koku)

    assert taken[:2] == fresh[:2] == (302, "/settings")
    assert taken[2:] == fresh[2:]
    assert mailbox.deliver().sent == 2
    # No link to an address that could not be confirmed; its owner is told instead.
    assert mailbox.to("koku@nouveau.test") and "/confirm/" in mailbox.text(
        mailbox.last_to("koku@nouveau.test"))
    notice = mailbox.last_to("kodjo@plume.test")
    assert notice["Subject"] == "Someone tried to use your address"
    assert "for another account" in mailbox.text(notice)
    assert "/confirm/" not in mailbox.text(notice)
    assert load(User, id=kodjo.id).email == "kodjo@plume.test"
    assert load(User, id=ama.id).email == "ama@example.test"


def test_a_waiting_change_reserves_nothing_and_the_later_confirmation_fails_clearly(
    person, signed_in, new_visitor, mailbox, load, stored
):
    """Ama asks for ama@nouveau.test; meanwhile someone signs up with that address and
    confirms first: the sign-up works, and Ama's link then says what happened."""
    ama = person("client", email="ama@example.test")
    browser = signed_in(ama)
    change_email(browser, "ama@nouveau.test")
    mailbox.deliver()
    link = mailbox.path(mailbox.last_to("ama@nouveau.test"), "/confirm/")

    other = new_visitor()
    other.submit("/signup", {"display_name": "Nouvelle Ama", "email": "ama@nouveau.test",
                             "password": "lagune bleue sous la pluie",
                             "confirm": "lagune bleue sous la pluie", "locale": "en",
                             "timezone": "Africa/Lome"})
    mailbox.deliver()
    signup_link = mailbox.path(mailbox.last_to("ama@nouveau.test"), "/signup/confirm/")
    assert location(other.submit(signup_link, {"password": "lagune bleue sous la pluie"})
                    ) == "/home"

    response = browser.submit(link, {})

    assert response.status_code == 400
    assert link_problem(response) == (
        "Another account now uses ama@nouveau.test: your address stays ama@example.test. "
        "Choose another new address in your settings.")
    assert load(User, id=ama.id).email == "ama@example.test"
    assert stored(User, User.email == "ama@nouveau.test") == 1


def test_a_waiting_change_expires_after_48_hours(person, signed_in, mailbox, clock, load):
    ama = person("client", email="ama@example.test")
    browser = signed_in(ama)
    change_email(browser, "ama@nouveau.test")
    mailbox.deliver()
    link = mailbox.path(mailbox.last_to("ama@nouveau.test"), "/confirm/")

    clock.advance(hours=47, minutes=59)
    assert "Waiting for confirmation of ama@nouveau.test" in page_text(browser.get("/settings"))
    clock.advance(minutes=2)

    assert "Waiting for confirmation" not in page_text(browser.get("/settings"))
    assert by_testid(browser.get("/home"), "confirm-banner") == ""
    assert browser.submit(link, {}, page="/home").status_code == 400
    # Nothing to send again either: the request is over.
    browser.submit("/confirm/resend", {}, page="/home")
    assert flashes(browser.get("/home")) == ["Your address is already confirmed."]
    assert load(User, id=ama.id).email == "ama@example.test"


def test_a_cancelled_address_change_leaves_a_dead_link(person, signed_in, mailbox, load):
    ama = person("client", email="ama@example.test")
    browser = signed_in(ama)
    change_email(browser, "ama@nouveau.test")
    mailbox.deliver()
    link = mailbox.path(mailbox.last_to("ama@nouveau.test"), "/confirm/")

    response = browser.submit("/settings/email/cancel", {}, page="/settings")

    assert location(response) == "/settings"
    assert load(User, id=ama.id).pending_email is None
    assert browser.get(link).status_code == 400
    assert browser.submit(link, {}, page="/home").status_code == 400
    assert load(User, id=ama.id).email == "ama@example.test"


# --- the people page ----------------------------------------------------------------------


def listed(response) -> list[str]:
    """The names in the people table, in order."""
    return texts(response, lambda tag, attrs: tag == "a"
                 and attrs.get("href", "").removeprefix("/people/").isdigit())


@pytest.fixture
def agency(person):
    """The people of a small agency, by name."""
    return {
        "boss": person("manager", name="Akossiwa Mensah", email="boss@plume.test"),
        "kodjo": person("writer", name="Kodjo Amouzou", email="kodjo@plume.test"),
        "ama": person("client", name="Ama Koffi", email="ama@example.test"),
        "bio": person("client", name="Bio 100% Naturel", email="contact@bionaturel.test"),
        "mille": person("client", name="Bio 1000 Saveurs", email="mille@saveurs.test"),
        "jean": person("writer", name="Jean Dupont", email="jean_dupont@example.test"),
        "jeanx": person("client", name="Jean X", email="jeanxdupont@example.test",
                        active=False),
    }


@pytest.fixture
def boss(agency, login_as):
    return login_as(agency["boss"])


def test_a_manager_sees_everyone(boss, agency):
    page = boss.get("/people")

    assert page.status_code == 200
    assert sorted(listed(page)) == sorted(p.display_name for p in agency.values())
    assert "7 people" in page_text(page)


@pytest.mark.parametrize(("query", "names"), [
    ("koffi", ["Ama Koffi"]),
    ("KOFFI", ["Ama Koffi"]),
    ("plume.test", ["Akossiwa Mensah", "Kodjo Amouzou"]),
    ("100%", ["Bio 100% Naturel"]),
    ("%", ["Bio 100% Naturel"]),
    ("jean_", ["Jean Dupont"]),
    ("_", ["Jean Dupont"]),
    ("  bio  ", ["Bio 100% Naturel", "Bio 1000 Saveurs"]),
    ("nobody", []),
])
def test_a_manager_searches_by_name_or_address_taking_the_query_literally(
    boss, query, names
):
    page = boss.get("/people", query_string={"q": query})

    assert page.status_code == 200
    assert sorted(listed(page)) == sorted(names)
    if not names:
        assert "Nobody matches these filters." in page_text(page)


@pytest.mark.parametrize("typed", ["Afi Mensah", "afi  mensah", " AFI   MENSAH "])
def test_a_name_stored_with_two_spaces_is_found_as_the_page_shows_it(boss, person, typed):
    """HTML shows "Afi  Mensah" as "Afi Mensah", which is what a manager types: the search
    folds the runs of spaces of both sides, as it folds their case."""
    person("writer", name="Afi  Mensah", email="afi@plume.test")

    assert listed(boss.get("/people", query_string={"q": typed})) == ["Afi Mensah"]


@pytest.mark.parametrize(("name", "typed"), [
    ("Élodie Agbo", "Élodie"), ("Élodie Agbo", "élodie agbo"), ("İlkay Demir", "İlkay"),
])
def test_a_name_with_accented_capitals_is_found_as_it_is_written(boss, person, name, typed):
    """Both sides are lowered by the database: Python's lower() and the database's disagree
    on some letters ("İ" is "i̇" to Python, "i" to PostgreSQL; "É" stays "É" in a database of
    the C locale)."""
    person("client", name=name, email="elodie@example.test")

    assert listed(boss.get("/people", query_string={"q": typed})) == [name]


def test_a_control_character_typed_in_a_search_is_ignored(boss, person):
    """The database folds spaces with a control character as its marker (extensions.folded):
    one typed must not join the words around it."""
    person("writer", name="Ama Mensah", email="ama.mensah@example.test")
    person("writer", name="Kofi Amamensah", email="kofi.a@example.test")

    assert listed(boss.get("/people", query_string={"q": "Ama\x01 Mensah"})) == ["Ama Mensah"]


@pytest.mark.parametrize(("filters", "names"), [
    ({"role": "writer"}, ["Jean Dupont", "Kodjo Amouzou"]),
    ({"role": "manager"}, ["Akossiwa Mensah"]),
    ({"status": "inactive"}, ["Jean X"]),
    ({"role": "client", "status": "active"}, ["Ama Koffi", "Bio 1000 Saveurs",
                                              "Bio 100% Naturel"]),
    ({"q": "jean", "status": "active"}, ["Jean Dupont"]),
    ({"role": "astronaut", "status": "sleeping"}, None),
], ids=["writers", "managers", "deactivated", "active clients", "search and state",
        "unknown values are ignored"])
def test_a_manager_filters_by_role_and_state(boss, agency, filters, names):
    page = boss.get("/people", query_string=filters)

    assert page.status_code == 200
    expected = names if names is not None else sorted(p.display_name for p in agency.values())
    assert sorted(listed(page)) == sorted(expected)


def test_the_people_list_comes_in_pages_that_keep_the_filters(app, monkeypatch, boss, agency):
    monkeypatch.setitem(app.config, "PEOPLE_PER_PAGE", 2)

    first = boss.get("/people", query_string={"role": "client"})
    last = boss.get("/people", query_string={"role": "client", "page": 2})
    beyond = boss.get("/people", query_string={"role": "client", "page": 9})

    # Sorted by name (where "100%" and "1000" fall depends on the database's collation).
    assert len(listed(first)) == len(listed(last)) == 2
    assert listed(first)[0] == "Ama Koffi"
    assert listed(last)[-1] == "Jean X"
    assert sorted(listed(first) + listed(last)) == [
        "Ama Koffi", "Bio 100% Naturel", "Bio 1000 Saveurs", "Jean X"]
    assert "4 people" in page_text(first)
    assert 'href="/people?page=2&amp;role=client"' in first.get_data(
        as_text=True)
    assert beyond.status_code == 200
    assert listed(beyond) == []


# --- changing roles and access ------------------------------------------------------------


def set_role(browser, user: User, role: str):
    return browser.submit(f"/people/{user.id}/role", {"role": role}, page=f"/people/{user.id}")


def test_a_manager_gives_a_writer_another_role(boss, agency, load):
    kodjo = agency["kodjo"]

    response = set_role(boss, kodjo, "manager")

    assert location(response) == f"/people/{kodjo.id}"
    page = boss.get(f"/people/{kodjo.id}")
    flashed(page, "Kodjo Amouzou")
    assert by_testid(page, "person-role") == "Manager"
    assert load(User, id=kodjo.id).role is Role.MANAGER


def test_a_role_outside_the_list_is_refused(boss, agency, load):
    response = set_role(boss, agency["ama"], "owner")

    flashed(boss.get(location(response)), "Choose a role from the list.")
    assert load(User, id=agency["ama"].id).role is Role.CLIENT


def test_a_manager_cannot_change_their_own_role_or_deactivate_themselves(boss, agency, load):
    me = agency["boss"]

    page = boss.get(f"/people/{me.id}")
    assert "This is you." in page_text(page)
    assert "Change the role" not in page_text(page)

    set_role(boss, me, "writer")
    flashed(boss.get(f"/people/{me.id}"), "You cannot change your own role.")
    boss.submit(f"/people/{me.id}/deactivate", {}, page="/people")
    flashed(boss.get(f"/people/{me.id}"), "You cannot deactivate your own account.")

    stored_me = load(User, id=me.id)
    assert (stored_me.role, stored_me.active) == (Role.MANAGER, True)
    assert boss.get("/people").status_code == 200


def test_the_agency_always_keeps_an_active_manager(person, signed_in, load, stored):
    first = person("manager", name="Akossiwa Mensah")
    second = person("manager", name="Yao Mensah")
    first_browser = signed_in(first)

    # With two managers, one may step the other down...
    set_role(first_browser, second, "writer")
    assert load(User, id=second.id).role is Role.WRITER

    # ...but the last one keeps the role and the account.
    set_role(first_browser, first, "writer")
    first_browser.submit(f"/people/{first.id}/deactivate", {}, page="/people")
    active_managers = stored(User, User.role == Role.MANAGER, User.active.is_(True))
    assert active_managers == 1
    assert first_browser.get("/people").status_code == 200


def test_a_manager_deactivates_and_reactivates_an_account(boss, agency, visitor, load):
    kodjo = agency["kodjo"]

    boss.submit(f"/people/{kodjo.id}/deactivate", {}, page=f"/people/{kodjo.id}")

    page = boss.get(f"/people/{kodjo.id}")
    flashed(page, "Kodjo Amouzou", "can no longer log in.")
    assert by_testid(page, "person-state") == "Deactivated"
    assert "Kodjo Amouzou" in listed(boss.get("/people", query_string={"status": "inactive"}))
    assert not load(User, id=kodjo.id).active

    boss.submit(f"/people/{kodjo.id}/reactivate", {}, page=f"/people/{kodjo.id}")

    page = boss.get(f"/people/{kodjo.id}")
    flashed(page, "Kodjo Amouzou", "can log in again.")
    assert by_testid(page, "person-state") == "Active"
    assert location(visitor.login("kodjo@plume.test", Factory.PASSWORD)) == "/home"


def test_an_unknown_person_is_not_found(boss):
    assert boss.get("/people/999999").status_code == 404
    assert boss.submit("/people/999999/deactivate", {}, page="/people").status_code == 404
    assert boss.submit("/people/invitations/999999/revoke", {}, page="/people").status_code == 404


PEOPLE_URLS = [
    ("GET", "/people"),
    ("GET", "/people?q=a&role=client"),
    ("GET", "/people/invite"),
    ("POST", "/people/invite"),
    ("GET", "/people/{target}"),
    ("POST", "/people/{target}/role"),
    ("POST", "/people/{target}/deactivate"),
    ("POST", "/people/{target}/reactivate"),
    ("POST", "/people/invitations/{invitation}/revoke"),
]


@pytest.fixture
def targets(person, ctx):
    """A writer someone might try to change, and a pending invitation someone might revoke."""
    target = person("writer", email="target@plume.test")
    manager = person("manager")
    with ctx() as session:
        invitation = Invitation(email="new@plume.test", display_name="New Writer",
                                role=Role.WRITER, invited_by_id=manager.id,
                                expires_at=utcnow() + timedelta(days=7))
        session.add(invitation)
        session.commit()
        return {"target": target.id, "invitation": invitation.id}


FORM_FOR = {
    "/people/invite": {"display_name": "Mole", "email": "mole@evil.test", "role": "manager",
                       "locale": "en"},
    "/role": {"role": "client"},
}


def attempt(browser, method: str, url: str):
    if method == "GET":
        return browser.get(url)
    data = next((form for end, form in FORM_FOR.items() if url.endswith(end)), {})
    return browser.submit(url, data, page="/login")


@pytest.mark.parametrize("role", ["writer", "client"])
@pytest.mark.parametrize(("method", "url"), PEOPLE_URLS)
def test_writers_and_clients_find_no_people_pages(
    signed_in, targets, load, stored, role, method, url
):
    browser = signed_in(role)

    response = attempt(browser, method, url.format(**targets))

    assert response.status_code == 404
    target = load(User, id=targets["target"])
    assert (target.role, target.active) == (Role.WRITER, True)
    assert stored(Invitation) == 1
    assert stored(Invitation, Invitation.revoked_at.is_not(None)) == 0


@pytest.mark.parametrize(("method", "url"), PEOPLE_URLS)
def test_a_visitor_is_sent_to_the_login_page_from_every_people_page(
    visitor, targets, load, stored, method, url
):
    response = attempt(visitor, method, url.format(**targets))

    assert location(response).startswith("/login?next=%2Fpeople")
    assert load(User, id=targets["target"]).active
    assert stored(Invitation) == 1


def test_a_writer_is_not_shown_the_people_menu(signed_in):
    home = signed_in("writer").get("/home")

    assert 'href="/people"' not in home.get_data(as_text=True)

