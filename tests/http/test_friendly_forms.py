"""Forms people like: the brief's deadline starts at a sensible hour, web addresses typed
without https:// are completed, the time zone chooser starts with the agency's region, the
approval's rating is five labelled stars, and the cancellation opens from a button."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from portal.orders.models import Order, OrderStatus
from tests.http.orders_helpers import OrderWorld
from tests.http.pages import by_testid, field_error, page_text


@pytest.fixture
def world(app, factory) -> OrderWorld:
    return OrderWorld(app, factory)


def deadline_value(response) -> str:
    match = re.search(r'<input[^>]*name="deadline"[^>]*>', response.get_data(as_text=True))
    assert match, "no deadline input"
    return re.search(r'value="([^"]*)"', match.group(0)).group(1)


def deadline_defaults(response) -> dict[str, str]:
    match = re.search(r"data-deadline-defaults='([^']*)'", response.get_data(as_text=True))
    assert match, "no deadline defaults on the brief form"
    return json.loads(match.group(1).replace("&#34;", '"').replace("&quot;", '"'))


# --- 1. the brief's deadline ----------------------------------------------------------------


# At 01:30 UTC on 2 December (the rush window is 72 hours, the tier asks 48 or 100):
@pytest.mark.parametrize(("zone", "lead_hours", "expected"), [
    # Tokyo, 10:30 on the 2nd: 72 hours later is 10:30 on the 5th, so 18:00 that day.
    ("Asia/Tokyo", 48, "2026-12-05T18:00"),
    # New York, 20:30 on the 1st: 72 hours later is 20:30 on the 4th, past 18:00: the 5th.
    ("America/New_York", 48, "2026-12-05T18:00"),
    # Lomé (UTC), 01:30 on the 2nd; a tier of 100 hours: 05:30 on the 6th, so 18:00 that day.
    ("Africa/Lome", 100, "2026-12-06T18:00"),
])
def test_the_new_brief_deadline_is_six_in_the_evening_in_the_clients_zone_after_the_lead_time(
        time_machine, signed_in, world, zone, lead_hours, expected):
    time_machine.move_to(datetime(2026, 12, 2, 1, 30, tzinfo=UTC), tick=False)
    world.make_catalogue(lead_hours=lead_hours)
    client = signed_in("client", timezone=zone)

    page = client.get("/orders/new")

    assert deadline_value(page) == expected
    assert f"In your time zone: {zone}." in page_text(page)


def test_each_tier_has_its_own_default_deadline_and_the_default_costs_no_surcharge(
        time_machine, signed_in, world):
    time_machine.move_to(datetime(2026, 12, 2, 1, 30, tzinfo=UTC), tick=False)
    quick = world.make_catalogue(lead_hours=24)
    slow = world.make_catalogue(lead_hours=200)
    client = signed_in("client", timezone="Europe/Paris")

    page = client.get("/orders/new")

    defaults = deadline_defaults(page)
    # Paris is UTC+1: 72 hours from 02:30 on the 2nd, and 200 hours from it (11:30 on the 10th).
    assert defaults == {str(quick.tier_id): "2026-12-05T18:00",
                        str(slow.tier_id): "2026-12-10T18:00"}
    assert deadline_value(page) == "2026-12-05T18:00"
    token = client.csrf_token("/orders/new")
    for tier_id, deadline in defaults.items():
        quote = client.post("/orders/quote", headers={"X-CSRFToken": token}, json={
            "words_max": 800, "tier_id": tier_id, "deadline": deadline}).get_json()
        assert quote["ok"] and not quote["is_rush"], quote


def test_the_default_deadline_is_never_in_the_night(time_machine, signed_in, world):
    world.make_catalogue(lead_hours=48)
    time_machine.move_to(datetime(2026, 12, 2, 0, 0, tzinfo=UTC), tick=False)
    client = signed_in("client", timezone="Pacific/Auckland")
    for hour in range(0, 24, 5):
        time_machine.move_to(datetime(2026, 12, 2, hour, 17, tzinfo=UTC), tick=False)
        assert deadline_value(client.get("/orders/new")).endswith("T18:00")


def test_editing_a_draft_keeps_its_own_deadline(signed_in, world, load):
    client = signed_in("client", timezone="Africa/Lome")
    order_id = world.order(client.user, OrderStatus.DRAFT)
    page = client.get(f"/orders/{order_id}/edit")
    stored = load(Order, id=order_id).deadline
    assert deadline_value(page) == stored.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
    assert "data-deadline-defaults" not in page.get_data(as_text=True)


# --- 2. web addresses ------------------------------------------------------------------------


def test_addresses_without_https_are_completed(signed_in, world, load):
    client = signed_in("client", timezone="Africa/Lome")
    form = world.form(links_to_include="www.example.com\n  example.org/page?q=1 \n",
                      reference_urls="//cdn.example.net/guide\nhttp://example.com/blog\n"
                                     "HTTPS://Example.COM/Upper")

    response = client.submit("/orders/new", form, page="/orders/new")

    assert response.status_code == 302, field_error(response, "links_to_include")
    order = load(Order, title=form["title"])
    assert order.links_to_include.splitlines() == ["https://www.example.com",
                                                   "https://example.org/page?q=1"]
    assert order.reference_urls.splitlines() == ["https://cdn.example.net/guide",
                                                 "http://example.com/blog",
                                                 "HTTPS://Example.COM/Upper"]


@pytest.mark.parametrize(("typed", "message"), [
    ("javascript:alert(1)", "“javascript:alert(1)” is refused: only web addresses starting "
                            "with http:// or https:// are accepted, not “javascript:”."),
    ("JavaScript:alert(1)", "not “JavaScript:”."),
    ("data:text/html,<script>alert(1)</script>", "not “data:”."),
    ("vbscript:msgbox", "not “vbscript:”."),
    ("mailto:ama@example.com", "not “mailto:”."),
    ("ftp://files.example.com", "not “ftp:”."),
    ("file:///etc/passwd", "not “file:”."),
    ("example", "“example” is not a web address: put one address per line, like "
                "www.example.com or https://example.com/page."),
    ("www.exa mple.com", "is not a web address"),
    ("https://", "is not a web address"),
])
def test_other_schemes_and_non_addresses_are_refused_and_nothing_is_stored(
        signed_in, world, stored, typed, message):
    client = signed_in("client", timezone="Africa/Lome")
    form = world.form(links_to_include=f"www.example.com\n{typed}")

    response = client.submit("/orders/new", form, page="/orders/new")

    assert response.status_code == 422
    assert message in field_error(response, "links_to_include")
    assert stored(Order) == 0


def test_the_refused_form_shows_the_completed_addresses_again(signed_in, world):
    client = signed_in("client", timezone="Africa/Lome")
    form = world.form(links_to_include="www.example.com\njavascript:alert(1)")
    html = client.submit("/orders/new", form, page="/orders/new").get_data(as_text=True)
    assert "https://www.example.com\njavascript:alert(1)" in html


# --- 3. the time zone chooser ----------------------------------------------------------------


def zone_options(response) -> list[tuple[str, list[str]]]:
    html = response.get_data(as_text=True)
    select = re.search(r'<select[^>]*name="timezone".*?</select>', html, re.S).group(0)
    return [(label, re.findall(r'value="([^"]+)"', body))
            for label, body in re.findall(r'<optgroup label="([^"]*)">(.*?)</optgroup>', select,
                                          re.S)]


def test_the_zone_chooser_starts_with_the_agencys_region_and_zone(signed_in):
    client = signed_in("client", timezone="Europe/Paris")

    groups = zone_options(client.get("/settings"))

    labels = [label for label, _zones in groups]
    assert labels[0] == "Africa"
    assert labels[1:] == ["Europe", "America", "Asia", "Atlantic Ocean", "Indian Ocean",
                          "Pacific Ocean", "Australia", "Antarctica", "Arctic", "Other zones"]
    africa = groups[0][1]
    assert africa[0] == "Africa/Lome"  # the agency's own zone (AGENCY_TIMEZONE) first
    assert africa[1:] == sorted(africa[1:]) and "Africa/Abidjan" in africa
    assert all(zone.startswith("Africa/") for zone in africa)
    every = [zone for _label, zones in groups for zone in zones]
    assert len(every) == len(set(every)) and "UTC" in groups[-1][1]
    assert all(zone.startswith("Europe/") for zone in groups[1][1])


def test_the_zone_chooser_follows_the_configured_agency_zone(app, signed_in, monkeypatch):
    monkeypatch.setitem(app.config, "AGENCY_TIMEZONE", "Asia/Manila")
    client = signed_in("client", timezone="Africa/Lome")
    groups = zone_options(client.get("/settings"))
    assert groups[0][0] == "Asia" and groups[0][1][0] == "Asia/Manila"
    assert [label for label, _zones in groups].count("Africa") == 1


def test_the_zone_chooser_keeps_the_persons_zone_chosen_and_is_searchable(signed_in):
    client = signed_in("client", timezone="America/Argentina/Buenos_Aires")
    html = client.get("/settings").get_data(as_text=True)
    assert '<option selected value="America/Argentina/Buenos_Aires">Argentina/Buenos Aires' \
        in html
    select = re.search(r'<select[^>]*name="timezone"[^>]*>', html).group(0)
    assert 'data-filter-label="Find a time zone"' in select


def test_the_zone_chooser_is_in_french_for_a_french_reader(factory, login_as):
    client = login_as(factory.user("client", locale="fr"))
    groups = zone_options(client.get("/settings"))
    assert [label for label, _zones in groups][:3] == ["Afrique", "Europe", "Amérique"]


def test_a_zone_from_any_group_is_saved(signed_in, load):
    client = signed_in("client", timezone="Africa/Lome")
    response = client.submit("/settings/profile", {
        "display_name": "Ama K.", "locale": "en", "timezone": "Pacific/Noumea"}, page="/settings")
    assert response.status_code in (302, 303)
    assert load_user_zone(load, client.user.id) == "Pacific/Noumea"


def load_user_zone(load, user_id: int) -> str:
    from portal.accounts.models import User

    return load(User, id=user_id).timezone


# --- 4. the rating -------------------------------------------------------------------------


def test_the_rating_is_five_labelled_stars(signed_in, world):
    client = signed_in("client", timezone="Africa/Lome")
    order_id = world.order(client.user, OrderStatus.DELIVERED)

    page = client.get(f"/orders/{order_id}")

    stars = by_testid(page, "star-rating")
    html = page.get_data(as_text=True)
    # Each star is a label drawn with an icon (never an emoji), its words for screen readers.
    assert len(re.findall(r'<label for="rating-\d" class="star"[^>]*><svg class="icon', html)) == 5
    for rating, word in enumerate(["Very disappointing", "Disappointing", "Fair", "Very good",
                                   "Excellent"], 1):
        assert f"{rating} out of 5: {word}" in stars
    radios = re.findall(r'<input[^>]*name="rating"[^>]*>', html)
    assert len(radios) == 5 and all('type="radio"' in radio for radio in radios)
    for radio in radios:
        radio_id = re.search(r'id="([^"]+)"', radio).group(1)
        assert f'<label for="{radio_id}" class="star"' in html


def test_the_rating_in_french(factory, login_as, world):
    client_user = factory.user("client", locale="fr")
    order_id = world.order(client_user, OrderStatus.DELIVERED)
    html = login_as(client_user).get(f"/orders/{order_id}").get_data(as_text=True)
    assert "1 sur 5\u202f: Très décevant" in html and "5 sur 5\u202f: Excellent" in html
    assert '<span class="star-word">Très bien</span>' in html


@pytest.mark.parametrize("rating", ["1", "2"])
def test_a_low_star_rating_still_needs_a_comment(signed_in, world, load, rating):
    client = signed_in("client", timezone="Africa/Lome")
    order_id = world.order(client.user, OrderStatus.DELIVERED)
    response = client.submit(f"/orders/{order_id}/approve", {"rating": rating, "comment": " "},
                             page=f"/orders/{order_id}")
    assert response.status_code == 422
    assert "a low rating needs a comment" in field_error(response, "comment")
    assert load(Order, id=order_id).status is OrderStatus.DELIVERED


# --- 5. the cancellation -------------------------------------------------------------------


def test_the_cancel_form_opens_from_a_button(signed_in, world, load):
    client = signed_in("client", timezone="Africa/Lome")
    order_id = world.order(client.user, OrderStatus.OPEN)

    html = client.get(f"/orders/{order_id}").get_data(as_text=True)

    section = re.search(r'data-testid="cancel".*?</section>', html, re.S).group(0)
    assert re.search(r"<details class=\"cancel-details\">\s*<summary", section)
    assert "Cancel this order…" in section
    assert section.index("<summary") < section.index('name="reason"')
    response = client.submit(f"/orders/{order_id}/cancel", {"reason": "Plus besoin."},
                             page=f"/orders/{order_id}")
    assert response.status_code == 302
    assert load(Order, id=order_id).status is OrderStatus.CANCELLED
