"""Email preferences: for each kind of event, at once, in the digest or never, and the digest
hour; from the settings page when logged in, or from the one-click link of any notification
email without logging in. Forged and expired links are refused; bad input is refused with a
message and nothing is stored."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from portal.notifications.inbox import EmailMode, NotificationKind, NotificationPreference
from tests.http.pages import (
    by_testid,
    english,
    field_error,
    flashes,
    forged_token,
    link_problem,
    location,
    page_text,
    tampered,
)

GRID = {"status": "immediate", "message": "digest", "deadline": "never", "digest_hour": "7"}


def checked(response) -> dict[str, str]:
    """The option checked in each row of the grid, and the chosen hour."""
    html = response.get_data(as_text=True)
    found = {}
    for kind in NotificationKind:
        for mode in EmailMode:
            for tag in html.split("<input")[1:]:
                tag = tag.split(">", 1)[0]
                if f'name="{kind.value}"' in tag and f'value="{mode.value}"' in tag \
                        and "checked" in tag:
                    found[kind.value] = mode.value
    hours = html.split('name="digest_hour"', 1)[1].split("</select>", 1)[0]
    chosen = [attrs for attrs in re.findall(r"<option([^>]*)>", hours) if "selected" in attrs]
    found["digest_hour"] = re.search(r'value="([^"]*)"', chosen[0]).group(1)
    return found


def stored_modes(ctx, user) -> dict[str, str]:
    with ctx() as session:
        rows = session.execute(sa.select(NotificationPreference.kind, NotificationPreference.mode)
                               .where(NotificationPreference.user_id == user.id)).all()
    return {kind.value: mode.value for kind, mode in rows}


def settings_link(app, user) -> str:
    from portal.extensions import db
    from portal.notifications import service

    with app.app_context():
        from portal.accounts.models import User

        return urlsplit(service.settings_link(db.session.get(User, user.id))).path


def test_the_settings_page_leads_to_the_email_preferences(signed_in):
    browser = signed_in("client")
    page = browser.get("/settings")
    assert 'href="/settings/notifications"' in page.get_data(as_text=True)
    assert by_testid(page, "notification-settings-link")


def test_the_grid_shows_at_once_for_every_kind_until_the_person_chooses(signed_in):
    browser = signed_in("client")
    page = browser.get("/settings/notifications")
    assert page.status_code == 200
    assert checked(page) == {"status": "immediate", "message": "immediate",
                             "deadline": "immediate", "digest_hour": "18"}
    text = page_text(page)
    for label in ("Changes of status of my orders", "Messages on my orders",
                  "Deadlines and reminders", "At once", "In my daily digest", "Never"):
        assert label in text


def test_the_grid_saves_the_choices(signed_in, ctx, load, person):
    from portal.accounts.models import User

    ama = person("client", email="ama@example.test")
    browser = signed_in(ama)
    response = browser.submit("/settings/notifications", GRID)
    assert location(response) == "/settings/notifications"
    page = browser.get("/settings/notifications")
    assert flashes(page) == ["Your email preferences are saved."]
    assert checked(page) == GRID
    assert stored_modes(ctx, ama) == {"status": "immediate", "message": "digest",
                                      "deadline": "never"}
    assert load(User, email="ama@example.test").digest_hour == 7


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"message": "sometimes"}, "message", "Choose at once, in the daily digest or never."),
    ({"status": ""}, "status", "Choose at once, in the daily digest or never."),
    ({"digest_hour": "24"}, "digest_hour", "Choose an hour between 0 and 23."),
    ({"digest_hour": "-1"}, "digest_hour", "Choose an hour between 0 and 23."),
    ({"digest_hour": "six"}, "digest_hour", "Choose an hour between 0 and 23."),
], ids=["unknown-mode", "no-mode", "hour-24", "hour-negative", "hour-text"])
def test_bad_input_is_refused_with_a_message_and_nothing_stored(signed_in, ctx, load, person,
                                                                 change, field, message):
    from portal.accounts.models import User

    ama = person("client", email="ama@example.test")
    browser = signed_in(ama)
    response = browser.submit("/settings/notifications", GRID | change)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    if field == "digest_hour":
        assert field_error(response, field) == message
    assert stored_modes(ctx, ama) == {}
    assert load(User, email="ama@example.test").digest_hour == 18


def test_the_grid_needs_a_login(visitor):
    response = visitor.get("/settings/notifications")
    assert location(response).startswith("/login")


# --- the one-click link of the emails -----------------------------------------------------


def test_the_link_of_an_email_opens_the_persons_settings_without_login(app, visitor, person,
                                                                        ctx, load):
    from portal.accounts.models import User

    ama = person("client", email="ama@example.test")
    link = settings_link(app, ama)
    page = visitor.get(link)
    assert page.status_code == 200
    assert by_testid(page, "preferences-for") == "Settings of ama@example.test."
    response = visitor.submit(link, {"status": "never", "message": "never",
                                     "deadline": "digest", "digest_hour": "20"})
    assert location(response) == link
    assert flashes(visitor.get(link)) == ["Your email preferences are saved."]
    assert stored_modes(ctx, ama) == {"status": "never", "message": "never",
                                      "deadline": "digest"}
    assert load(User, email="ama@example.test").digest_hour == 20


def test_the_link_refuses_bad_input_too(app, visitor, person, ctx):
    ama = person("client")
    link = settings_link(app, ama)
    response = visitor.submit(link, GRID | {"deadline": "weekly"})
    assert response.status_code == 422
    assert "Choose at once, in the daily digest or never." in response.get_data(as_text=True)
    assert stored_modes(ctx, ama) == {}


@pytest.mark.parametrize("how", ["forged", "tampered", "other-purpose", "garbage"])
def test_a_forged_link_is_refused(app, visitor, person, ctx, how):
    from portal.auth.tokens import make_token

    ama = person("client")
    real = settings_link(app, ama).rsplit("/", 1)[1]
    with app.app_context():
        token = {
            "forged": lambda: forged_token("preferences", {"uid": ama.id}),
            "tampered": lambda: tampered(real),
            "other-purpose": lambda: make_token("reset", {"uid": ama.id}),
            "garbage": lambda: "not-a-token",
        }[how]()
    url = f"/notifications/preferences/{token}"
    for response in (visitor.get(url), visitor.submit(url, GRID, page="/login")):
        assert response.status_code == 400
        assert "not valid" in link_problem(response)
    assert stored_modes(ctx, ama) == {}


def test_an_expired_link_is_refused(app, visitor, person, clock):
    ama = person("client")
    link = settings_link(app, ama)
    clock.advance(days=59, hours=23)
    assert visitor.get(link).status_code == 200
    clock.advance(hours=2)
    english(visitor)  # the visitor's session ended meanwhile, and its choice of language
    response = visitor.get(link)
    assert response.status_code == 400
    assert "expired" in link_problem(response)


def test_the_link_of_a_closed_account_is_refused(app, visitor, person, update, load):
    from portal.accounts.models import User

    ama = person("client", email="ama@example.test")
    link = settings_link(app, ama)
    update(load(User, email="ama@example.test"), active=False)
    assert visitor.get(link).status_code == 400

