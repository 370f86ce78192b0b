"""The people of one order's conversation, and what they do in it, for the messaging stories.

`Cast` holds an order being written with its client, its writer and a manager (each logged in
in their own browser, reading English), plus outsiders: another client and another writer with
the same skills, who must see nothing of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from io import BytesIO

import sqlalchemy as sa
from flask import Flask

from portal.accounts.models import User
from portal.extensions import db
from portal.messaging.models import Message
from portal.messaging.service import post_message
from portal.orders.models import Order, OrderStatus, Tier

TEXT_FILE = ("notes.txt", "Idées : café, plage.\n".encode())
PDF_FILE = ("brief.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
EXE_FILE = ("setup.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff")


@dataclass
class Cast:
    app: Flask
    factory: object
    signed_in: object
    tier: Tier
    order_id: int
    client: object
    writer: object
    manager: object
    other_client: object
    other_writer: object

    @property
    def url(self) -> str:
        return f"/orders/{self.order_id}"

    def new_order(self, status: OrderStatus = OrderStatus.IN_PROGRESS, *, client=None,
                  writer=None) -> int:
        """Another order of the same client (and writer, from in_progress on)."""
        client = client or self.client
        order = self.factory.order(
            client=client.user, tier=self.tier, status=status,
            writer=(writer or self.writer).user if status not in (
                OrderStatus.DRAFT, OrderStatus.OPEN) else None,
        )
        return order.id

    def say(self, who, body: str = "Bonjour.", *, order_id: int | None = None,
            internal: bool = False, files: Iterable[tuple[str, bytes]] = ()) -> int:
        """`who` writes in the conversation, straight through the service; returns the id."""
        from werkzeug.datastructures import FileStorage

        with self.app.app_context():
            order = db.session.get(Order, order_id or self.order_id)
            author = db.session.get(User, who.user.id)
            message = post_message(
                order, author, body, internal=internal,
                files=[FileStorage(BytesIO(content), filename=name) for name, content in files],
            )
            db.session.commit()
            return message.id


def make_cast(app, factory, signed_in) -> Cast:
    tier = factory.tier(name="Standard")
    client_user = factory.user("client", name="Ama Koffi", locale="en")
    writer_user = factory.writer(tiers=[tier], name="Kofi Mensah", locale="en")
    other_writer_user = factory.writer(tiers=[tier], name="Yao Agbeko", locale="en")
    manager_user = factory.user("manager", name="Esi Manager", locale="en")
    other_client_user = factory.user("client", name="Koku Other", locale="en")
    order = factory.order(client=client_user, writer=writer_user, tier=tier,
                          status=OrderStatus.IN_PROGRESS, title="Dix idées de sorties")
    return Cast(app=app, factory=factory, signed_in=signed_in, tier=tier, order_id=order.id,
                client=signed_in(client_user), writer=signed_in(writer_user),
                manager=signed_in(manager_user), other_client=signed_in(other_client_user),
                other_writer=signed_in(other_writer_user))


def post(browser, order_id: int, body: str | None = "Bonjour.", *, internal: bool = False,
         files: Iterable[tuple[str, bytes]] = (), extra: dict | None = None):
    """Send the message form of the order page, as a browser does."""
    data: dict = {}
    if body is not None:
        data["body"] = body
    if internal:
        data["internal"] = "1"
    files = list(files)
    if files:
        data["files"] = [(BytesIO(content), name) for name, content in files]
    data.update(extra or {})
    return browser.submit(f"/orders/{order_id}/messages", data, page="/home",
                          content_type="multipart/form-data")


def messages(app, order_id: int | None = None) -> list[Message]:
    with app.app_context():
        stmt = sa.select(Message).order_by(Message.id)
        if order_id is not None:
            stmt = stmt.where(Message.order_id == order_id)
        rows = list(db.session.scalars(stmt))
        for row in rows:
            _ = row.attachments
        db.session.expunge_all()
        return rows



