"""The whole story of an order, as its people live it in Chromium, with every email crossing
SMTP on loopback: on a desktop screen, and on a 390 px phone (touch, a mobile viewport) where
the pages are reached through the collapsed navigation menu. At each step the page is no wider
than the screen and axe-core finds nothing serious on it."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from portal.accounts.models import Role
from portal.extensions import utcnow
from portal.i18n import to_local
from portal.orders.models import Delivery, Order, OrderStatus
from tests.browser.axe import axe_violations
from tests.browser.helpers import expect, log_in

pytestmark = pytest.mark.browser

FIRST_TEXT = (
    "# Le pagne wax à Lomé\n\nAu grand marché de Lomé, le pagne wax raconte des histoires. "
    "Chaque motif porte un nom et les revendeuses savent les dire. " * 16
)
SECOND_TEXT = FIRST_TEXT.replace("raconte des histoires", "raconte mille histoires") + (
    "\n\nLes couturiers du quartier Bè transforment ces pagnes en tenues de fête."
)


# A desktop screen, and a phone of 390 px (a mobile viewport that honours the page's meta
# viewport, touch events).
SCREENS = {
    "desktop": {"viewport": {"width": 1366, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
              "device_scale_factor": 2},
}


def open_from_menu(page, name: str) -> None:
    """Follow a link of the main navigation as a person would: on a phone, through the menu
    behind its button."""
    toggler = page.locator("nav.navbar .navbar-toggler")
    # Before the stylesheet applies, the toggler shows on any screen: asked too early, a wide
    # screen would wait for a button that the stylesheet then hides (it did, in CI).
    page.wait_for_load_state("load")
    if toggler.is_visible():
        toggler.click()
        expect(page.locator("nav.navbar .navbar-collapse.show")).to_be_visible()
    page.locator("nav.navbar").get_by_role("link", name=name, exact=True).click()


def press(page, locator) -> None:
    """A finger's tap on a touch screen, the mouse's click elsewhere."""
    if page.evaluate("() => navigator.maxTouchPoints > 0"):
        locator.tap()
    else:
        locator.click()


def check_page(page) -> None:
    """The page as it stands is no wider than the screen (a phone never scrolls sideways) and
    axe-core finds no serious or critical violation on it (forms filled, a delivery to judge:
    states the crawl of tests/browser/test_crawl.py does not reach)."""
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{page.url} is {width[0]} px wide in {width[1]}"
    found = axe_violations(page)
    assert not found, f"{page.url}:\n" + "\n".join(found)


@pytest.mark.parametrize("screen", list(SCREENS))
def test_an_order_from_brief_to_approval(screen, new_page, factory, mailbox, ctx):
    content_type = factory.content_type("Article de blog", "Blog article")
    tier = factory.tier(name="Professionnel", client_price_per_word=25, writer_pay_per_word=15,
                        included_revisions=2, min_lead_hours=24)
    manager = factory.user(Role.MANAGER)
    writer = factory.writer(tiers=[tier], name="Kodjo Amouzou")
    client = factory.user(Role.CLIENT, name="Boutique Zénith")

    # The client writes the brief and watches the price follow the word count.
    buyer = new_page(**SCREENS[screen])
    log_in(buyer, client.email)
    open_from_menu(buyer, "Nouvelle commande")
    expect(buyer).to_have_url(re.compile(r"/orders/new$"))
    buyer.fill("input[name=title]", "Le pagne wax à Lomé")
    buyer.select_option("select[name=content_type_id]", str(content_type.id))
    buyer.select_option("select[name=language]", "fr")
    buyer.select_option("select[name=tier_id]", str(tier.id))
    deadline = to_local(utcnow() + timedelta(days=6), client.timezone)
    buyer.fill("input[name=deadline]", deadline.strftime("%Y-%m-%dT%H:%M"))
    buyer.fill("input[name=words_min]", "400")
    buyer.fill("input[name=words_max]", "600")
    total = buyer.get_by_test_id("quote-total")
    expect(total).to_have_text(re.compile(r"15\s?000"))
    buyer.fill("input[name=words_max]", "800")
    expect(total).to_have_text(re.compile(r"20\s?000"))
    buyer.fill("input[name=primary_keyword]", "pagne wax")
    buyer.fill("textarea[name=instructions]", "Un ton chaleureux, pour des touristes.")
    check_page(buyer)
    buyer.locator("button[name=save_submit], input[name=save_submit]").click()
    expect(buyer.get_by_test_id("status")).to_have_text("En attente d'un rédacteur")
    check_page(buyer)
    with ctx() as session:
        order = session.query(Order).one()
        order_id = order.id
        assert order.price_total == 20_000 and order.currency == "XOF"

    # The writer claims it from the pool and writes; the autosave shows it kept the text.
    author = new_page(**SCREENS[screen])
    author.on("dialog", lambda dialog: dialog.accept())
    log_in(author, writer.email)
    open_from_menu(author, "Commandes disponibles")
    expect(author).to_have_url(re.compile(r"/work/pool$"))
    check_page(author)
    press(author, author.get_by_test_id("pool-order").filter(has_text="Le pagne wax à Lomé")
          .locator("button[type=submit]"))
    expect(author).to_have_url(re.compile(rf"/work/orders/{order_id}$"))
    author.wait_for_load_state("load")  # the editor's script, before any text is typed
    check_page(author)
    status = author.get_by_test_id("autosave-status")
    before = status.inner_text()
    author.fill("#editor", FIRST_TEXT)
    expect(status).not_to_have_text(before, timeout=30_000)
    expect(status).to_have_text(re.compile(r"\d{2}:\d{2}\s*$"), timeout=30_000)  # no seconds
    author.fill("textarea[name=note]", "Première version, bonne lecture.")
    author.locator("#deliver").click()
    expect(author.locator(".alert-success")).to_be_visible()

    # The client finds the order in their list and asks for a revision with a reason.
    open_from_menu(buyer, "Mes commandes")
    buyer.locator(f"main a[href$='/orders/{order_id}']").first.click()
    expect(buyer).to_have_url(re.compile(rf"/orders/{order_id}$"))
    check_page(buyer)
    expect(buyer.get_by_test_id("delivery-text")).to_contain_text("grand marché de Lomé")
    expect(buyer.get_by_test_id("revisions")).to_have_text("0 sur 2 révisions utilisées")
    buyer.fill("[data-testid=revision-form] textarea[name=reason]",
               "Parlez aussi des couturiers du quartier Bè.")
    press(buyer, buyer.get_by_test_id("revision-form").locator("button[type=submit]"))
    expect(buyer.get_by_test_id("status")).to_have_text("Révision demandée")
    expect(buyer.get_by_test_id("revisions")).to_have_text("1 sur 2 révisions utilisées")

    # The writer redelivers.
    author.goto(f"/work/orders/{order_id}")
    expect(author.get_by_test_id("revision-reason")).to_contain_text("couturiers")
    author.fill("#editor", SECOND_TEXT)
    author.locator("#deliver").click()
    expect(author.locator(".alert-success")).to_be_visible()

    # The client sees what changed, then approves with a rating.
    buyer.goto(f"/orders/{order_id}")
    buyer.get_by_test_id("diff-link").first.click()
    expect(buyer.locator("ins").first).to_contain_text("mille")
    expect(buyer.locator("del").first).to_contain_text("des")
    check_page(buyer)
    buyer.goto(f"/orders/{order_id}")
    press(buyer, buyer.get_by_test_id("approve-form").locator("input[name=rating][value='4']"))
    expect(buyer.get_by_test_id("approve-form").locator("input[name=rating][value='4']")) \
        .to_be_checked()
    press(buyer, buyer.get_by_test_id("approve-form").locator("button[type=submit]"))
    expect(buyer.get_by_test_id("status")).to_have_text("Validée")
    expect(buyer.get_by_test_id("timeline")).to_contain_text("Kodjo Amouzou")
    check_page(buyer)

    with ctx() as session:
        order = session.get(Order, order_id)
        assert order.status is OrderStatus.APPROVED and order.rating == 4
        assert [d.number for d in session.query(Delivery).filter_by(order_id=order_id)] == [1, 2]

    # Every email of the story went over SMTP, to the right person, once.
    assert mailbox.deliver().failed == 0
    subjects = {address: sorted(str(m["Subject"]) for m in mailbox.to(address))
                for address in (client.email, writer.email, manager.email)}
    client_mail = subjects[client.email]
    assert sum("reçue" in s for s in client_mail) == 1, client_mail
    assert sum("en cours de rédaction" in s for s in client_mail) == 1, client_mail
    assert sum("livré" in s for s in client_mail) == 2, client_mail
    assert sum("Révision demandée" in s for s in subjects[writer.email]) == 1, subjects
    assert sum("Validé" in s for s in subjects[writer.email]) == 1, subjects
    assert sum("Nouvelle commande" in s for s in subjects[manager.email]) == 1, subjects
    link = mailbox.link(mailbox.to(client.email)[0], f"/orders/{order_id}")
    assert urlsplit(link).path == f"/orders/{order_id}"
    assert buyer.errors == [] and author.errors == []
