"""A script written into any field a person can fill never runs anywhere it is shown: escaping in
the templates, Markdown sanitised by nh3, and a CSP without inline script behind both."""

from __future__ import annotations

import pytest

from portal.accounts.models import Role
from portal.orders.models import OrderStatus
from tests.browser.helpers import expect, log_in

pytestmark = pytest.mark.browser


def payload(tag: str) -> str:
    return (f"<script>window.__xss='{tag}'</script>"
            f"<img src=x onerror=\"window.__xss='{tag}-img'\">"
            f"<svg onload=\"window.__xss='{tag}-svg'\"></svg>")


def short(tag: str) -> str:
    """For fields with a short length limit (names, tone, keywords)."""
    return f"<img src=x onerror=\"window.__xss='{tag}'\">"


def test_scripts_in_every_user_written_field_stay_text(new_page, factory):
    tier = factory.tier(name="Niveau " + short("tier"))
    content_type = factory.content_type("Type " + short("type-fr"), "Type " + short("type-en"))
    client = factory.user(Role.CLIENT, name="Client " + short("client-name"))
    writer = factory.writer(tiers=[tier], name="Rédacteur " + short("writer-name"))
    manager = factory.user(Role.MANAGER)
    text = ("# Titre\n\n" + payload("delivery") + "\n\n[lien](javascript:window.__xss='md-link')"
            "\n\n" + " ".join(["mot"] * 50))
    order = factory.order(
        client=client, writer=writer, tier=tier, content_type=content_type,
        status=OrderStatus.DELIVERED, revisions=1, text=text,
        title="Titre " + payload("title"),
        tone="Ton " + short("tone"), audience="Public " + payload("audience"),
        primary_keyword="mot " + short("keyword"),
        secondary_keywords=["clé " + payload("keyword2")],
        instructions="Consignes " + payload("instructions"),
        links_to_include=["https://example.com/?q=" + payload("link")],
        reference_urls=["https://example.com/#" + payload("reference")],
    )

    visits = {
        client.email: ["/home", "/orders", f"/orders/{order.id}",
                       f"/orders/{order.id}/deliveries/2"],
        writer.email: ["/home", "/work/assignments", f"/orders/{order.id}"],
        manager.email: ["/home", "/agency/orders", f"/orders/{order.id}", "/agency/tiers",
                        "/agency/content-types", "/people", f"/people/{client.id}"],
    }
    for email, paths in visits.items():
        page = new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda dialog, seen=dialogs: (seen.append(dialog.message),
                                                        dialog.dismiss()))
        log_in(page, email)
        for path in paths:
            response = page.goto(path)
            assert response.status == 200, (email, path)
            page.mouse.move(5, 5)
            assert page.evaluate("() => window.__xss") is None, (email, path)
            assert page.locator("main script, main img[src='x'], main svg[onload]").count() == 0, \
                (email, path)
        assert dialogs == [] and page.errors == [], (email, dialogs, page.errors)
    # The text is shown, as text.
    viewer = new_page()
    log_in(viewer, client.email)
    viewer.goto(f"/orders/{order.id}")
    expect(viewer.get_by_test_id("order-title")).to_contain_text("<script>")
