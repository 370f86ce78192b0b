"""The editorial review as people use it: the client sees an order "in review" and nothing of
its text; the editor reads it with its report from the queue, passes it to the client or
returns it to the writer, whose page shows the comments. Pages of the review are for editors
and managers; other people's orders answer 404."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from portal.accounts.models import Role
from portal.orders.models import Order, OrderStatus, Tier
from tests.conftest import statements_of
from tests.http.pages import by_testid, field_error, flashes, location, page_text

S = OrderStatus
TEXT = "Un texte livré au client, écrit pour le test."  # what the factory's deliveries hold


@pytest.fixture
def cast(factory, person, signed_in):
    """A client, a writer and an editor (each signed in, reading English), and an order of
    the client in review."""
    tier = factory.tier(requires_review=True)
    writer = person("writer")
    factory.give_skills(writer, languages=["fr"], tiers=[tier])
    client, editor = person("client"), person("editor")
    order = factory.order(client=client, writer=writer, tier=tier, status=S.IN_REVIEW)

    class Cast:
        pass

    cast = Cast()
    cast.order, cast.tier = order, tier
    cast.client, cast.writer, cast.editor = (signed_in(client), signed_in(writer),
                                             signed_in(editor))
    return cast


def status_of(ctx, order_id: int) -> OrderStatus:
    with ctx() as session:
        return session.get(Order, order_id).status


def test_the_client_sees_the_order_in_review_and_nothing_of_its_text(cast):
    page = cast.client.get(f"/orders/{cast.order.id}")
    assert page.status_code == 200
    assert by_testid(page, "status") == "In review"
    assert "editor reads it before it reaches you" in by_testid(page, "in-review-notice")
    html = page.get_data(as_text=True)
    assert TEXT not in html
    assert 'data-testid="report"' not in html
    assert 'data-testid="deliveries"' not in html
    assert cast.client.get(f"/orders/{cast.order.id}/deliveries/1").status_code == 404
    # In their list, under its own status.
    listed = cast.client.get("/orders?status=in_review")
    assert cast.order.title in page_text(listed)
    # The writer's note to the editor stays out of the client's timeline.
    assert "Livraison 1." not in page_text(page)


def test_the_editor_reads_it_with_its_report_then_passes_it_to_the_client(cast, ctx, mailbox):
    queue = cast.editor.get("/orders/review")
    assert cast.order.title in by_testid(queue, "review-queue")
    page = cast.editor.get(f"/orders/{cast.order.id}")
    assert TEXT in by_testid(page, "editorial-text")
    assert by_testid(page, "report")

    response = cast.editor.submit(f"/orders/{cast.order.id}/review/pass",
                                  {"note": "Relu, prêt à publier."},
                                  page=f"/orders/{cast.order.id}")
    assert location(response) == "/orders/review"
    assert status_of(ctx, cast.order.id) is S.DELIVERED
    assert "is delivered to the client" in " ".join(flashes(cast.editor.get("/orders/review")))
    # The order left the editor's reach with the review.
    assert cast.editor.get(f"/orders/{cast.order.id}").status_code == 404

    seen = cast.client.get(f"/orders/{cast.order.id}")
    assert TEXT in by_testid(seen, "review")
    assert "Relu, prêt à publier." in page_text(seen)
    assert cast.client.get(f"/orders/{cast.order.id}/deliveries/1").status_code == 200


def test_the_editor_returns_it_with_comments_the_writer_reads(cast, ctx):
    url = f"/orders/{cast.order.id}/review/return"
    empty = cast.editor.submit(url, {"comments": "  "}, page=f"/orders/{cast.order.id}")
    assert empty.status_code == 422
    assert field_error(empty, "comments") == "Tell the writer what to change."
    assert status_of(ctx, cast.order.id) is S.IN_REVIEW

    response = cast.editor.submit(url, {"comments": "The second heading is missing."},
                                  page=f"/orders/{cast.order.id}")
    assert location(response) == "/orders/review"
    assert status_of(ctx, cast.order.id) is S.IN_PROGRESS
    workspace = cast.writer.get(f"/work/orders/{cast.order.id}")
    assert "The second heading is missing." in by_testid(workspace, "editor-comments")
    # The client sees an order being written, without the comments or the returned text.
    seen = cast.client.get(f"/orders/{cast.order.id}")
    assert "The second heading is missing." not in seen.get_data(as_text=True)
    assert TEXT not in seen.get_data(as_text=True)
    with ctx() as session:
        assert session.get(Order, cast.order.id).revisions_used == 0


def test_the_review_pages_are_for_editors_and_managers(cast, factory, signed_in):
    other = factory.order(status=S.DELIVERED)
    assert cast.editor.get(f"/orders/{other.id}").status_code == 404
    assert cast.editor.submit(f"/orders/{other.id}/review/pass", {},
                              page="/orders/review").status_code == 404
    for someone in (cast.client, cast.writer):
        assert someone.get("/orders/review").status_code == 404
        assert someone.submit(f"/orders/{cast.order.id}/review/pass", {},
                              page="/home").status_code == 404
    assert cast.writer.get(f"/orders/{cast.order.id}/deliveries/1").status_code == 200
    manager = signed_in("manager")
    assert cast.order.title in page_text(manager.get("/orders/review"))
    assert by_testid(manager.get(f"/orders/{cast.order.id}"), "editorial-review")


def test_the_queue_is_oldest_first_and_paginated_in_a_fixed_number_of_statements(
        app, factory, signed_in, monkeypatch):

    tier = factory.tier(requires_review=True)
    writer = factory.writer(tiers=[tier])
    editor = signed_in("editor")
    start = datetime(2026, 12, 1, 8, tzinfo=UTC)
    titles = []
    for hours in (5, 1, 3):
        with time_machine.travel(start + timedelta(hours=hours), tick=False):
            titles.append((hours, factory.order(tier=tier, writer=writer, status=S.IN_REVIEW,
                                                title=f"Sent after {hours} hours").title))
    rows = [row for row in page_text(editor.get("/orders/review")).split("Sent after ")[1:]]
    assert [row.split(" ")[0] for row in rows] == ["1", "3", "5"]
    few = len(statements_of(app, editor, "/orders/review"))
    for _more in range(3):
        factory.order(tier=tier, writer=writer, status=S.IN_REVIEW)
    assert len(statements_of(app, editor, "/orders/review")) == few
    monkeypatch.setitem(app.config, "ORDERS_PER_PAGE", 2)
    second = editor.get("/orders/review?page=2")
    assert len(page_text(second).split("CMD-")) - 1 == 2
    assert "Sent after 5 hours" in page_text(second)


def test_the_editor_and_the_manager_have_the_queue_in_their_navigation(cast, signed_in):
    for someone in (cast.editor, signed_in("manager")):
        assert 'href="/orders/review"' in someone.get("/home").get_data(as_text=True)


def test_a_manager_makes_a_tier_require_review(app, signed_in, ctx):
    from tests.http.test_agency import tier_form

    manager = signed_in("manager")
    response = manager.submit("/agency/tiers/new", tier_form(name="Relu",
                                                             requires_review="y"))
    assert response.status_code == 302
    with ctx() as session:
        tier = session.scalar(sa.select(Tier).where(Tier.name == "Relu"))
        assert tier.requires_review is True
    manager.submit(f"/agency/tiers/{tier.id}/edit", tier_form(name="Relu"))
    with ctx() as session:
        assert session.get(Tier, tier.id).requires_review is False


def test_a_manager_invites_an_editor(signed_in, ctx):
    manager = signed_in("manager")
    response = manager.submit("/people/invite", {"display_name": "Afi Relecture",
                                                 "email": "afi@example.test", "role": "editor",
                                                 "locale": "fr"})
    assert response.status_code == 302
    from portal.accounts.models import Invitation

    with ctx() as session:
        invitation = session.scalar(sa.select(Invitation).where(
            Invitation.email == "afi@example.test"))
        assert invitation.role is Role.EDITOR

