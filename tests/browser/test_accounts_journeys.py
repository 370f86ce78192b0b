"""What a person does in Chromium against the live server, with emails over real SMTP."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from portal.accounts.models import Role, User
from tests.browser.helpers import expect
from tests.factories import Factory

pytestmark = pytest.mark.browser

PASSWORD = "sable chaud et pirogues bleues"


def path_of(url: str) -> str:
    return urlsplit(url).path


def test_visitor_signs_up_finishes_by_email_then_logs_in_and_out(page, mailbox, ctx):
    page.goto("/signup")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.fill("input[name=display_name]", "Boutique Kéké")
    page.fill("input[name=email]", "keke@boutique.test")
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=confirm]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    # The same answer whatever the address: check your inbox, and no session yet.
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.locator(".alert-info")).to_contain_text("keke@boutique.test")

    assert mailbox.deliver().sent == 1
    message = mailbox.last_to("keke@boutique.test")
    link = mailbox.link(message, "/signup/confirm/")
    # The link in the email points at this portal (BASE_URL), over loopback.
    assert link.startswith(page.url.split("/login")[0])

    page.goto(path_of(link))
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/home$"))
    expect(page.locator(".alert-success")).to_contain_text("keke@boutique.test")
    expect(page.get_by_test_id("confirm-banner")).to_have_count(0)
    with ctx() as session:
        assert session.query(User).filter_by(email="keke@boutique.test").one().is_confirmed

    page.locator("nav form[action='/logout'] button").click()
    expect(page).to_have_url(re.compile(r"/login$"))

    page.fill("input[name=email]", "keke@boutique.test")
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/home$"))
    expect(page.get_by_test_id("nav-settings")).to_have_text("Boutique Kéké")

    page.locator("nav form[action='/logout'] button").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/home")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fhome$"))
    assert page.errors == []


def test_manager_invites_a_writer_who_sets_a_password_and_logs_in(new_page, factory, mailbox,
                                                                  ctx):
    manager = factory.user(Role.MANAGER, name="Akossiwa Mensah")
    boss = new_page()
    boss.goto("/login")
    boss.fill("input[name=email]", manager.email)
    boss.fill("input[name=password]", Factory.PASSWORD)
    boss.locator("main form button[type=submit]").click()
    boss.goto("/people")
    boss.locator("a[href='/people/invite']").click()
    boss.fill("input[name=display_name]", "Kodjo Amouzou")
    boss.fill("input[name=email]", "kodjo@plume.test")
    boss.select_option("select[name=role]", "writer")
    boss.locator("main form button[type=submit]").click()
    expect(boss.locator(".alert-success")).to_contain_text("kodjo@plume.test")
    expect(boss.locator("main")).to_contain_text("Kodjo Amouzou")

    assert mailbox.deliver().sent == 1
    link = mailbox.link(mailbox.last_to("kodjo@plume.test"), "/invitation/")

    writer = new_page()
    writer.goto(path_of(link))
    expect(writer.locator("input[name=display_name]")).to_have_value("Kodjo Amouzou")
    writer.fill("input[name=password]", PASSWORD)
    writer.fill("input[name=confirm]", PASSWORD)
    writer.locator("main form button[type=submit]").click()
    expect(writer).to_have_url(re.compile(r"/home$"))
    expect(writer.locator("nav a[href='/work/pool']")).to_be_visible()

    writer.locator("nav form[action='/logout'] button").click()
    writer.fill("input[name=email]", "kodjo@plume.test")
    writer.fill("input[name=password]", PASSWORD)
    writer.locator("main form button[type=submit]").click()
    expect(writer).to_have_url(re.compile(r"/home$"))

    # The link is spent once used.
    writer.goto(path_of(link))
    expect(writer.get_by_test_id("link-problem")).to_be_visible()
    with ctx() as session:
        user = session.query(User).filter_by(email="kodjo@plume.test").one()
        assert user.role is Role.WRITER and user.is_confirmed
    assert boss.errors == [] and writer.errors == []
