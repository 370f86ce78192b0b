"""The agency's colour and logo come from its settings: /brand.css, the logo, the layout and the
emails; a bad setting stops the start with a message that names it."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from portal.branding import WHITE, BrandSettingError, contrast, parse_color
from portal.extensions import db
from portal.notifications.models import OutboxEmail
from portal.notifications.outbox import queue_email
from tests.security.extra_apps import extra_app

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")


def variables(css: str) -> dict[str, str]:
    return dict(re.findall(r"(--portal-[a-z-]+):\s*([^;]+);", css))


def test_the_brand_stylesheet_carries_the_colour_and_is_cached_with_an_etag(client):
    response = client.get("/brand.css")
    assert response.status_code == 200
    assert response.mimetype == "text/css"
    assert variables(response.get_data(as_text=True))["--portal-brand"] == "#1f5f8b"
    assert "public" in response.headers["Cache-Control"]
    assert "no-store" not in response.headers["Cache-Control"]
    etag = response.headers["ETag"]
    again = client.get("/brand.css", headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_every_page_loads_the_brand_before_the_portals_stylesheet(client):
    page = client.get("/login").get_data(as_text=True)
    brand, portal = page.index('href="/brand.css"'), page.index("css/portal.css")
    assert brand < portal
    assert "<style" not in page  # the Content-Security-Policy refuses inline styles
    assert 'class="brand-monogram' in page and ">P</span>" in page  # "Agence Plume"


def test_without_a_logo_the_logo_address_draws_the_monogram(client):
    served = client.get("/brand/logo")
    assert served.status_code == 200 and served.mimetype == "image/svg+xml"
    svg = served.get_data(as_text=True)
    assert ">P</text>" in svg and 'fill="#' in svg and "<script" not in svg
    assert served.headers["Content-Security-Policy"].startswith("sandbox")
    assert client.get("/brand/logo", headers={"If-None-Match": served.headers["ETag"]}
                      ).status_code == 304


def test_a_light_colour_gets_a_darker_ink_for_white_text(database_url, tmp_path):
    with extra_app(database_url, str(tmp_path), AGENCY_COLOR_PRIMARY="#FFD400") as app:
        css = app.test_client().get("/brand.css").get_data(as_text=True)
    found = variables(css)
    assert found["--portal-brand"] == "#ffd400"
    assert contrast(parse_color(found["--portal-brand-ink"]), WHITE) >= 4.5


def test_a_new_colour_is_a_new_etag(client, database_url, tmp_path):
    with extra_app(database_url, str(tmp_path), AGENCY_COLOR_PRIMARY="#7a1f5c") as app:
        other = app.test_client().get("/brand.css").headers["ETag"]
    assert other != client.get("/brand.css").headers["ETag"]


@pytest.mark.parametrize(("setting", "value", "named"), [
    ("AGENCY_COLOR_PRIMARY", "blue", "AGENCY_COLOR_PRIMARY"),
    ("AGENCY_COLOR_PRIMARY", "#12345", "AGENCY_COLOR_PRIMARY"),
    ("AGENCY_LOGO", "/no/such/logo.png", "AGENCY_LOGO"),
    ("AGENCY_LOGO", __file__, "AGENCY_LOGO"),  # not an image
])
def test_a_bad_setting_stops_the_start_and_says_which(database_url, tmp_path, setting, value,
                                                      named):
    with pytest.raises(BrandSettingError, match=named), \
            extra_app(database_url, str(tmp_path), **{setting: value}):
        pass


def test_a_logo_shows_in_the_navigation_and_the_sign_in_card(database_url, tmp_path):
    logo = tmp_path / "logo.png"
    logo.write_bytes(PNG)
    with extra_app(database_url, str(tmp_path), AGENCY_LOGO=str(logo),
                   AGENCY_NAME="Blue Ink Studio") as app:
        browser = app.test_client()
        page = browser.get("/login").get_data(as_text=True)
        served = browser.get("/brand/logo")
        assert served.status_code == 200
        assert served.data == PNG
        assert served.mimetype == "image/png"
        assert "no-store" not in served.headers["Cache-Control"]
    assert page.count('src="/brand/logo"') == 2  # the navigation and the card
    assert "brand-monogram-lg" not in page


def test_emails_wear_the_agencys_colour_and_monogram(app, database_url, tmp_path):
    with extra_app(database_url, str(tmp_path), AGENCY_COLOR_PRIMARY="#7a1f5c",
                   AGENCY_NAME="Blue Ink Studio") as branded, branded.test_request_context():
        queue_email(kind="login_link", key="brand-test", to="ama@example.test",
                    subject="Lien", locale="fr", user=SimpleNamespace(display_name="Ama"),
                    link="http://127.0.0.1:5000/login/link/x", minutes=15)
        html = db.session.scalar(db.select(OutboxEmail.html_body).where(
            OutboxEmail.idempotency_key == "brand-test"))
        db.session.rollback()
    assert "background:#7a1f5c" in html
    assert ">BI</td>" in html
    assert "Blue Ink Studio" in html
