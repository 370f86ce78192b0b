"""`flask messaging rerender`: messages whose stored HTML an older renderer made (below
MESSAGE_HTML_VERSION) are rendered again, in batches by id, one transaction each; messages of
the current renderer are left as they are, unless `--all`; running it again changes nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.accounts.models import Role
from portal.extensions import db
from portal.messaging import service
from portal.messaging.models import Message
from portal.messaging.service import MESSAGE_HTML_VERSION, render_message
from tests.conftest import counted_statements

OLD = MESSAGE_HTML_VERSION - 1


@pytest.fixture
def store(app, factory):
    """Stores messages on one order as a given renderer left them: (body, html, version) each;
    returns their ids."""
    client = factory.user(Role.CLIENT)
    order = factory.order(client=client)

    def messages(*rows: tuple[str, str, int]) -> list[int]:
        with app.app_context():
            ids = [db.session.scalar(sa.insert(Message).values(
                order_id=order.id, author_id=client.id, body=body, html=html,
                html_version=version).returning(Message.id)) for body, html, version in rows]
            db.session.commit()
        return ids

    return messages


def stored(app, ids: list[int]) -> list[tuple[str, int]]:
    with app.app_context():
        found = {row.id: (row.html, row.html_version) for row in db.session.execute(
            sa.select(Message.id, Message.html, Message.html_version).where(Message.id.in_(ids)))}
        return [found[i] for i in ids]


def rerender(app, *options: str) -> str:
    result = app.test_cli_runner().invoke(args=["messaging", "rerender", *options])
    assert result.exit_code == 0, result.output
    return result.output


BODY = "Voir www.example.com/guide\n<b>merci</b>"


def test_old_html_is_rendered_again_and_the_current_is_left_alone(app, store):
    old, current = store((BODY, "<p>ancien rendu</p>", OLD),
                         (BODY, "<p>rendu actuel, gardé</p>", MESSAGE_HTML_VERSION))

    assert "messages rendered again: 1, HTML changed: 1" in rerender(app)
    assert stored(app, [old, current]) == [
        (str(render_message(BODY)), MESSAGE_HTML_VERSION),
        ("<p>rendu actuel, gardé</p>", MESSAGE_HTML_VERSION)]

    with counted_statements(app) as statements:
        assert "messages rendered again: 0, HTML changed: 0" in rerender(app)
    assert not [s for s in statements if s.lstrip().upper().startswith("UPDATE")]


def test_an_old_version_with_the_right_html_gets_the_version_only(app, store):
    (message,) = store((BODY, str(render_message(BODY)), OLD))
    assert "messages rendered again: 1, HTML changed: 0" in rerender(app)
    assert stored(app, [message]) == [(str(render_message(BODY)), MESSAGE_HTML_VERSION)]


def test_all_renders_every_message_again_and_writes_only_what_differs(app, store):
    right, wrong = store((BODY, str(render_message(BODY)), MESSAGE_HTML_VERSION),
                         (BODY, "<p>rendu abîmé</p>", MESSAGE_HTML_VERSION))
    assert "messages rendered again: 2, HTML changed: 1" in rerender(app, "--all")
    assert stored(app, [right, wrong]) == [(str(render_message(BODY)), MESSAGE_HTML_VERSION)] * 2
    assert "messages rendered again: 2, HTML changed: 0" in rerender(app, "--all")


def test_batches_cross_their_boundaries_and_each_is_committed(app, store, monkeypatch):
    bodies = [f"Message {n} sur www.example.com/{n}" for n in range(1, 6)]
    ids = store(*((body, "<p>ancien</p>", OLD) for body in bodies))
    expected = [(str(render_message(body)), MESSAGE_HTML_VERSION) for body in bodies]

    with counted_statements(app) as statements:
        assert "messages rendered again: 5, HTML changed: 5" in rerender(
            app, "--batch-size", "2")
    assert stored(app, ids) == expected
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT MESSAGES.ID")]
    assert len(reads) == 4  # 2 + 2 + 1, then none left

    # A failure in the third batch keeps the first two, and a new run finishes the work.
    with app.app_context():
        db.session.execute(sa.update(Message).values(html="<p>ancien</p>", html_version=OLD))
        db.session.commit()

    def failing(body: str):
        if body == bodies[4]:
            raise RuntimeError("renderer broken")
        return render_message(body)

    monkeypatch.setattr(service, "render_message", failing)
    result = app.test_cli_runner().invoke(args=["messaging", "rerender", "--batch-size", "2"])
    assert result.exit_code != 0
    assert stored(app, ids) == [*expected[:4], ("<p>ancien</p>", OLD)]
    monkeypatch.undo()
    assert "messages rendered again: 1, HTML changed: 1" in rerender(app, "--batch-size", "2")
    assert stored(app, ids) == expected


def test_a_posted_message_says_it_is_of_the_current_renderer(app, factory):
    from portal.accounts.models import User
    from portal.messaging.service import post_message
    from portal.orders.models import Order

    client = factory.user(Role.CLIENT)
    order = factory.order(client=client)
    with app.app_context():
        message = post_message(db.session.get(Order, order.id),
                               db.session.get(User, client.id), BODY)
        db.session.commit()
        assert (message.html, message.html_version) == (str(render_message(BODY)),
                                                        MESSAGE_HTML_VERSION)
    assert "messages rendered again: 0, HTML changed: 0" in rerender(app)
