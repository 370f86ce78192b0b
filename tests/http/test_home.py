"""The home page each role lands on: what is waiting for them, in a bounded number of queries."""

from __future__ import annotations

import pytest

from portal.accounts.models import Role
from portal.orders.models import OrderStatus
from tests.conftest import statements_of


@pytest.mark.parametrize("role", ["client", "writer", "manager"])
def test_home_shows_what_waits_and_does_not_grow_with_the_data(app, factory, login_as, role):
    tier = factory.tier()
    client_user = factory.user(Role.CLIENT)
    writer = factory.writer(tiers=[tier])
    person = {"client": client_user, "writer": writer}.get(role) or factory.user(Role.MANAGER)
    browser = login_as(person)

    factory.order(client=client_user, writer=writer, tier=tier, status=OrderStatus.IN_PROGRESS,
                  title="Le marché de Kara")
    few = len(statements_of(app, browser, "/home"))
    for n in range(6):
        factory.order(client=client_user, writer=writer, tier=tier,
                      status=OrderStatus.IN_PROGRESS, title=f"Commande {n}")
    assert len(statements_of(app, browser, "/home")) == few

    page = browser.get("/home").get_data(as_text=True)
    assert 'data-testid="home-summary"' in page
    assert "Commande" in page or "Le marché de Kara" in page


def test_the_writer_home_counts_the_work_they_may_take(app, factory, login_as):
    tier = factory.tier()
    writer = factory.writer(tiers=[tier])
    factory.order(tier=tier, status=OrderStatus.OPEN)
    factory.order(tier=tier, status=OrderStatus.OPEN, language="en")
    with app.test_request_context():
        from portal.orders.queries import home_summary

        assert home_summary(factory.reload(writer)).pool_size == 1
    assert login_as(writer).get("/home").status_code == 200
