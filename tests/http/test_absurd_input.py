"""Absurd input a browser would never send: ids and pages beyond any column, dates in year 1 or
9999, JSON bodies that are not objects. Each gets a clear answer, never a 500."""

from __future__ import annotations

import pytest

from portal.accounts.models import Role
from portal.orders.models import Order, OrderStatus

HUGE = "9" * 25


@pytest.fixture
def world(factory):
    tier = factory.tier()
    client = factory.user(Role.CLIENT)
    writer = factory.writer(tiers=[tier])
    order = factory.order(client=client, writer=writer, tier=tier, status=OrderStatus.IN_PROGRESS)
    return {"tier": tier, "client": client, "writer": writer, "order": order}


@pytest.mark.parametrize("role, path, expected", [
    ("client", f"/orders/{HUGE}", 404),
    ("client", "/orders/{order}/deliveries/" + HUGE, 404),
    ("client", "/orders/{order}/attachments/" + HUGE, 404),
    ("client", f"/orders?page={HUGE}", 200),
    ("writer", f"/work/pool?page={HUGE}", 200),
    ("writer", f"/work/pool?tier={HUGE}&content_type={HUGE}", 200),
    ("writer", f"/work/assignments?page={HUGE}", 200),
    ("manager", f"/agency/orders?page={HUGE}&writer_id={HUGE}&tier_id={HUGE}", 200),
    ("manager", f"/people/{HUGE}", 404),
])
def test_huge_numbers_in_urls_answer_plainly(login_as, world, role, path, expected):
    person = world.get(role) or role
    response = login_as(person).get(path.format(order=world["order"].id))
    assert response.status_code == expected


def test_claiming_a_huge_id_is_a_404(login_as, world):
    browser = login_as(world["writer"])
    token = browser.csrf_token("/work/pool")
    assert browser.post(f"/work/orders/{HUGE}/claim", data={"csrf_token": token}).status_code \
        == 404


@pytest.mark.parametrize("payload", [
    {"words_max": "800", "tier_id": HUGE, "deadline": "2030-01-01T10:00"},
    {"words_max": HUGE, "tier_id": "1", "deadline": "2030-01-01T10:00"},
    {"words_max": "800", "tier_id": "{tier}", "deadline": "0001-01-01T00:01"},
    {"words_max": "800", "tier_id": "{tier}", "deadline": "9999-12-31T23:59"},
])
def test_the_quote_refuses_absurd_values_with_a_message(login_as, world, payload):
    browser = login_as(world["client"])
    token = browser.csrf_token("/orders/new")
    data = {k: v.format(tier=world["tier"].id) for k, v in payload.items()}
    response = browser.post("/orders/quote", data=data, headers={"X-CSRFToken": token})
    assert response.status_code in (200, 422)
    assert response.get_json()["ok"] is False
    assert response.get_json()["message"]


@pytest.mark.parametrize("deadline", ["0001-01-01T00:01", "9999-12-31T23:59"])
def test_a_brief_with_an_absurd_deadline_is_refused_on_the_form(login_as, world, ctx, deadline):
    browser = login_as(world["client"])
    with ctx() as session:
        content_type = session.query(Order).first().content_type_id
    response = browser.submit("/orders/new", {
        "title": "Un article", "content_type_id": str(content_type), "language": "fr",
        "words_min": "400", "words_max": "600", "tier_id": str(world["tier"].id),
        "deadline": deadline, "save_draft": "1",
    })
    assert response.status_code in (200, 422)
    assert "2000" in response.get_data(as_text=True)
    with ctx() as session:
        assert session.query(Order).count() == 1


@pytest.mark.parametrize("deadline", ["0001-01-01T00:01", "9999-12-31T23:59"])
def test_a_manager_cannot_move_a_deadline_to_an_absurd_date(login_as, world, ctx, deadline):
    manager = login_as("manager")
    order = world["order"]
    response = manager.submit(f"/agency/orders/{order.id}/deadline",
                              {"deadline-deadline": deadline}, page=f"/orders/{order.id}")
    assert response.status_code in (302, 200, 422)
    with ctx() as session:
        assert session.get(Order, order.id).deadline == order.deadline
    assert manager.get(f"/orders/{order.id}").status_code == 200


@pytest.mark.parametrize("body", ['"abc"', "[1]", "3"])
@pytest.mark.parametrize("path", ["/orders/quote", "/work/orders/{order}/deliver"])
def test_json_bodies_that_are_not_objects_are_a_400(login_as, world, body, path):
    person = world["client"] if path.startswith("/orders") else world["writer"]
    browser = login_as(person)
    token = browser.csrf_token("/home")
    response = browser.post(path.format(order=world["order"].id), data=body,
                            content_type="application/json", headers={"X-CSRFToken": token})
    assert response.status_code == 400
