"""The order page runs a fixed, small number of SQL statements for every reader, however many
deliveries, files, messages, notes and timeline events the order has.

Eight: the user, the order with its brief's files, the read marker, the notifications marked
read, the deliveries, the timeline (shared with the conversation), the latest messages with
their authors and files, and the layout's bell with the unread total. Past its budget the page
has a new statement, maybe one per row.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from portal.accounts.models import User
from portal.extensions import db
from portal.orders import service, uploads
from portal.orders.models import Order
from tests.conftest import statements_of
from tests.factories import deliverable
from tests.http.messaging_helpers import TEXT_FILE, make_cast

ORDER_PAGE_BUDGET = 8


@pytest.fixture
def cast(app, factory, signed_in, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))
    monkeypatch.setitem(app.config, "ATTACHMENTS_PER_ORDER", 20)
    return make_cast(app, factory, signed_in)


def attach(cast, name: str) -> None:
    """The manager joins a file to the brief."""
    from io import BytesIO

    with cast.app.app_context():
        order = db.session.get(Order, cast.order_id)
        manager = db.session.scalar(sa.select(User).where(User.role == "manager"))
        uploads.add_attachment(order, manager, FileStorage(BytesIO(TEXT_FILE[1]), filename=name))
        db.session.commit()


def deliver_and_revise(cast, round_: int, *, revise: bool) -> None:
    """The writer delivers a version; the client asks for another one when `revise`."""
    with cast.app.app_context():
        order = db.session.get(Order, cast.order_id)
        writer = db.session.get(User, cast.writer.user.id)
        draft = service.draft_for(order)
        service.save_draft(order, writer, deliverable(order, f"# Version {round_}\n\nUn texte."),
                           base_version=draft.version)
        service.deliver(order, writer, f"Version {round_}.")
        if revise:
            order.extra_revisions += 1  # as a manager's grant would
            service.request_revision(order, db.session.get(User, cast.client.user.id),
                                     "Reprenez la fin.")
        db.session.commit()


def conversation(cast, messages: int) -> None:
    for n in range(messages):
        who = (cast.client, cast.writer, cast.manager)[n % 3]
        cast.say(who, f"Message {n}", internal=who is not cast.client and n % 2 == 0,
                 files=[TEXT_FILE] if n % 3 == 0 else [])


@pytest.mark.parametrize("reader", ["client", "writer", "manager"])
def test_the_order_page_runs_eight_statements_however_full_the_order_is(cast, app, reader):
    browser = getattr(cast, reader)
    attach(cast, "brief.txt")
    conversation(cast, 3)
    deliver_and_revise(cast, 1, revise=False)
    browser.get(cast.url)
    few = statements_of(app, browser, cast.url)

    for n in range(4):
        attach(cast, f"brief-{n}.txt")
    conversation(cast, 30)
    with app.app_context():  # back to writing, then three more versions
        order = db.session.get(Order, cast.order_id)
        order.extra_revisions += 1
        service.request_revision(order, db.session.get(User, cast.client.user.id), "Encore.")
        db.session.commit()
    for round_ in (2, 3):
        deliver_and_revise(cast, round_, revise=True)
    deliver_and_revise(cast, 4, revise=False)
    many = statements_of(app, browser, cast.url)

    assert len(few) == len(many) <= ORDER_PAGE_BUDGET, many
    # Each thing is read once: the timeline serves the conversation too, message files come
    # with their messages and the brief's files with the order.
    assert len([s for s in many if "FROM order_events" in s]) == 1
    assert not [s for s in many if "FROM message_attachments" in s]
    assert not [s for s in many if "FROM attachments" in s]


def test_what_each_reader_sees_is_unchanged(cast, app):
    attach(cast, "cahier-des-charges.txt")
    cast.say(cast.client, "Voici mes remarques.", files=[("remarques.txt", TEXT_FILE[1])])
    cast.say(cast.manager, "Note : client pressé.", internal=True,
             files=[("interne.txt", TEXT_FILE[1])])
    deliver_and_revise(cast, 1, revise=False)

    client_page = cast.client.get(cast.url).get_data(as_text=True)
    manager_page = cast.manager.get(cast.url).get_data(as_text=True)
    for page in (client_page, manager_page):
        assert "cahier-des-charges.txt" in page  # the brief's file
        assert "remarques.txt" in page and "Voici mes remarques." in page
        assert page.count('data-testid="event"') >= 4  # created, submit, claim, deliver
        assert 'data-testid="stream-event"' in page
    assert "Note : client pressé." in manager_page and "interne.txt" in manager_page
    assert "client pressé" not in client_page and "interne.txt" not in client_page
