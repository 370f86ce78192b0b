"""The migrations build exactly the models on a new, empty database, and undo themselves."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from config import TestingConfig
from portal import create_app
from portal.extensions import db
from tests.conftest import new_database_url


@pytest.fixture
def empty_app(tmp_path_factory):
    """The app on a database of its own, new and empty (a SQLite file, or a new PostgreSQL
    database when TEST_DATABASE_URL names a server)."""
    url, drop = new_database_url(tmp_path_factory)
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    drop()


def table_names() -> set[str]:
    return set(sa.inspect(db.engine).get_table_names())


def differences() -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return compare_metadata(context, db.metadata)


def test_upgrade_gives_exactly_the_models_and_downgrade_removes_everything(empty_app):
    assert table_names() == set()
    models = {table.name for table in db.metadata.sorted_tables}
    assert {"users", "invitations", "outbox_emails"} <= models

    upgrade()
    assert table_names() == models | {"alembic_version"}
    assert differences() == []

    downgrade(revision="base")
    assert table_names() == {"alembic_version"}
    with db.engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT count(*) FROM alembic_version")) == 0

    upgrade()
    assert table_names() == models | {"alembic_version"}
    assert differences() == []


def test_the_migrated_schema_has_the_outbox_constraints(empty_app):
    upgrade()
    inspector = sa.inspect(db.engine)
    uniques = {tuple(u["column_names"]) for u in inspector.get_unique_constraints("outbox_emails")}
    assert ("idempotency_key",) in uniques
    indexes = {tuple(i["column_names"]) for i in inspector.get_indexes("outbox_emails")}
    assert ("status", "next_attempt_at") in indexes
    assert ("claim_token",) in indexes
    foreign_keys = {fk["referred_table"]: fk for fk in inspector.get_foreign_keys("outbox_emails")}
    assert set(foreign_keys) == {"users", "documents"}  # an invoice's PDF may be attached
    assert foreign_keys["users"]["options"].get("ondelete") == "SET NULL"


def test_0005_fills_the_unread_counters_with_what_the_old_query_counted(empty_app):
    """Conversations stored before the counters (written here around the services, as the
    data of 0004 was): the upgrade counts them, the downgrade and a new upgrade too."""
    from datetime import timedelta

    from portal.accounts.models import Role, User
    from portal.messaging.models import Message, ReadMarker
    from portal.messaging.queries import recount_unread
    from portal.orders.models import OrderStatus
    from tests.factories import Factory

    upgrade()
    factory = Factory(empty_app)
    tier = factory.tier()
    client, writer = factory.user(Role.CLIENT), factory.writer(tiers=[tier])
    manager, gone = factory.user(Role.MANAGER), factory.user(Role.MANAGER, active=False)
    written = factory.order(client=client, writer=writer, tier=tier,
                            status=OrderStatus.IN_PROGRESS)
    draft = factory.order(client=client, tier=tier, status=OrderStatus.DRAFT)
    later = written.created_at + timedelta(days=1)
    rows = [(written.id, client.id, False), (written.id, writer.id, True),
            (written.id, manager.id, True), (written.id, None, False),
            (draft.id, client.id, False)]
    for n, (order_id, author_id, internal) in enumerate(rows):
        db.session.add(Message(order_id=order_id, author_id=author_id, internal=internal,
                               body=f"Message {n}", created_at=later + timedelta(minutes=n)))
    db.session.add(ReadMarker(user_id=client.id, order_id=written.id,
                              last_read_at=later + timedelta(seconds=30)))
    db.session.commit()

    def counters() -> dict:
        rows = db.session.execute(sa.select(ReadMarker.user_id, ReadMarker.order_id,
                                            ReadMarker.unread).where(ReadMarker.unread > 0))
        return {(user_id, order_id): count for user_id, order_id, count in rows}

    def definition() -> dict:
        return {(user.id, order_id): count
                for user in db.session.scalars(sa.select(User))
                for order_id, count in recount_unread(user).items()}

    expected = {(client.id, written.id): 1, (writer.id, written.id): 3,
                (manager.id, written.id): 3}
    assert definition() == expected
    db.session.remove()  # no transaction left open while the schema changes (PostgreSQL waits)
    downgrade(revision="0004_bench_indexes")
    upgrade()
    assert counters() == expected
    assert gone.id not in {user_id for user_id, _order in counters()}
    db.session.remove()
    downgrade(revision="0004_bench_indexes")
    with db.engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT count(*) FROM read_markers")) == 1
    upgrade()
    assert counters() == expected
    db.session.remove()


def test_0007_keeps_message_files_and_notifications_and_one_email_per_order(empty_app,
                                                                             tmp_path):
    """0007_reply_ids_per_order rebuilds `messages` on SQLite (a unique constraint cannot be
    dropped otherwise): the message files and notifications that cascade from it stay, both
    ways, and foreign keys are enforced again afterwards."""
    from io import BytesIO

    from werkzeug.datastructures import FileStorage

    from portal.accounts.models import Role, User
    from portal.messaging.models import Message, MessageAttachment
    from portal.messaging.service import post_message
    from portal.notifications.inbox import Notification
    from portal.orders.models import Order, OrderStatus
    from tests.factories import Factory

    empty_app.config["UPLOAD_DIR"] = str(tmp_path)
    upgrade()
    factory = Factory(empty_app)
    tier = factory.tier()
    client, writer = factory.user(Role.CLIENT), factory.writer(tiers=[tier])
    first, second = (factory.order(client=client, writer=writer, tier=tier,
                                   status=OrderStatus.IN_PROGRESS) for _order in range(2))
    for order in (first, second):  # one email, answered to both orders
        post_message(db.session.get(Order, order.id), db.session.get(User, client.id), "Oui.",
                     files=[FileStorage(BytesIO(b"notes"), filename="notes.txt")],
                     email_message_id="<same@mail.example.test>")
    db.session.commit()

    def counts() -> tuple[int, int, int]:
        return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(model))
                     for model in (Message, MessageAttachment, Notification))

    stored = counts()
    assert stored[:2] == (2, 2) and stored[2] >= 2
    db.session.remove()
    # Down, the Message-ID is unique across the portal again: one of the two must go first.
    db.session.execute(sa.delete(Message).where(Message.order_id == second.id))
    db.session.commit()
    stored = counts()
    db.session.remove()
    downgrade(revision="0006_status_counts")
    assert counts() == stored
    db.session.remove()
    upgrade()
    assert counts() == stored
    if db.engine.dialect.name == "sqlite":
        assert db.session.scalar(sa.text("PRAGMA foreign_keys")) == 1
def test_0010_gives_every_client_a_company_and_keeps_what_hangs_on_orders(empty_app):
    """Clients and their orders stored before companies: the upgrade makes one company per
    client and gives each order its client's; rebuilding `orders` (SQLite) deletes none of the
    rows that hang on them; the downgrade turns orders awaiting payment back into drafts."""
    from portal.accounts.models import Role
    from portal.billing.models import Company, CompanyMember
    from portal.messaging.models import Message
    from portal.orders import status_counts
    from portal.orders.models import Order, OrderStatus
    from tests.factories import Factory

    upgrade()
    factory = Factory(empty_app)
    tier = factory.tier()
    client = factory.user(Role.CLIENT, name="Ama Kpodar")
    waiting = factory.order(client=client, tier=tier, status=OrderStatus.AWAITING_PAYMENT,
                            words_max=600)
    other = factory.order(client=client, tier=tier, status=OrderStatus.DRAFT)
    db.session.add(Message(order_id=other.id, author_id=client.id, body="Bonjour"))
    db.session.commit()
    db.session.remove()

    downgrade(revision="0009_erasure")
    with db.engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT status FROM orders WHERE id = :id"),
                                 {"id": waiting.id}) == "draft"
        assert connection.scalar(sa.text("SELECT count(*) FROM messages")) == 1
    upgrade()
    companies = db.session.scalars(sa.select(Company)).all()
    assert [c.name for c in companies] == ["Ama Kpodar"]
    assert db.session.scalar(sa.select(CompanyMember.user_id)) == client.id
    assert {o.company_id for o in db.session.scalars(sa.select(Order))} == {companies[0].id}
    assert db.session.scalar(sa.select(sa.func.count(Message.id))) == 1
    assert status_counts.counted()[OrderStatus.DRAFT] == 2
    db.session.remove()


def test_0015_backfills_what_clients_saw_and_its_downgrade_leaves_nothing_unknown(empty_app):
    """0015_editorial_review: deliveries stored before it reached their client (released at
    their making); its downgrade sends orders in review back to their writer, counts again and
    leaves no editor able to sign in."""
    from portal.accounts.models import Role, User
    from portal.orders.models import Order, OrderStatus
    from tests.factories import Factory

    upgrade()
    factory = Factory(empty_app)
    delivered = factory.order(status=OrderStatus.DELIVERED)
    factory.user(Role.EDITOR, email="relecture@example.test")
    reviewed = factory.order(status=OrderStatus.IN_REVIEW)
    db.session.remove()

    downgrade(revision="0014_delivery_reports")
    with db.engine.connect() as connection:
        statuses = dict(connection.execute(sa.text("SELECT id, status FROM orders")).all())
        assert statuses == {delivered.id: "delivered", reviewed.id: "in_progress"}
        counts = dict(connection.execute(
            sa.text("SELECT status, count FROM order_status_counts WHERE count > 0")).all())
        assert counts == {"delivered": 1, "in_progress": 1}
        assert connection.scalar(sa.text(
            "SELECT count(*) FROM order_events WHERE from_status = 'in_review' "
            "OR to_status = 'in_review'")) == 0
        editor = connection.execute(sa.text(
            "SELECT role, active FROM users WHERE email = 'relecture@example.test'")).one()
        assert (editor.role, bool(editor.active)) == ("writer", False)

    upgrade()
    for delivery in db.session.execute(sa.text(
            "SELECT created_at, released_at FROM deliveries")).all():
        assert delivery.released_at == delivery.created_at
    assert db.session.get(Order, reviewed.id).status is OrderStatus.IN_PROGRESS
    assert db.session.scalar(sa.select(User.role).where(
        User.email == "relecture@example.test")) is Role.WRITER
    db.session.remove()


def test_0019_renders_the_html_of_every_stored_message_in_batches(empty_app):
    """Messages stored before 0019 (more than one batch of them) get the HTML a new message
    gets; the downgrade drops the column and keeps the bodies."""
    from portal.accounts.models import Role
    from portal.messaging.models import Message
    from portal.messaging.service import render_message
    from tests.factories import Factory

    upgrade()
    factory = Factory(empty_app)
    client = factory.user(Role.CLIENT)
    order = factory.order(client=client)
    bodies = [f"Message {n} <b>gras</b>\n\nvoir www.example.com/{n}" for n in range(2_345)]
    db.session.execute(sa.insert(Message), [
        {"order_id": order.id, "author_id": client.id, "body": body} for body in bodies])
    db.session.commit()
    db.session.remove()

    downgrade(revision="0018_showcase")
    columns = {c["name"] for c in sa.inspect(db.engine).get_columns("messages")}
    assert "html" not in columns and "body" in columns
    upgrade()

    stored = db.session.execute(sa.select(Message.body, Message.html).order_by(Message.id)).all()
    assert [body for body, _html in stored] == bodies
    assert all(html == str(render_message(body)) for body, html in stored)
    assert '<a href="https://www.example.com/7"' in stored[7].html
    html_column = {c["name"]: c for c in sa.inspect(db.engine).get_columns("messages")}["html"]
    assert not html_column["nullable"]
    assert differences() == []


def test_0020_says_every_stored_message_was_rendered_by_the_first_renderer(empty_app):
    """Messages stored before 0020 (their HTML made by 0019 or when posted) get version 1,
    which a later rerender compares with MESSAGE_HTML_VERSION; the downgrade drops the
    column and keeps the messages."""
    from portal.accounts.models import Role
    from portal.messaging.models import Message
    from tests.factories import Factory

    upgrade()
    factory = Factory(empty_app)
    client = factory.user(Role.CLIENT)
    order = factory.order(client=client)
    db.session.remove()
    downgrade(revision="0019_message_html")
    columns = {c["name"] for c in sa.inspect(db.engine).get_columns("messages")}
    assert "html_version" not in columns and "html" in columns
    with db.engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO messages (order_id, author_id, body, html, internal, source, created_at)"
            " VALUES (:order, :author, :body, :html, false, 'web', CURRENT_TIMESTAMP)"),
            [{"order": order.id, "author": client.id, "body": f"Message {n}",
              "html": f"<p>Message {n}</p>"} for n in range(3)])

    upgrade()
    stored = db.session.execute(
        sa.select(Message.body, Message.html, Message.html_version).order_by(Message.id)).all()
    assert [tuple(row) for row in stored] == [
        (f"Message {n}", f"<p>Message {n}</p>", 1) for n in range(3)]
    column = {c["name"]: c for c in sa.inspect(db.engine).get_columns("messages")}["html_version"]
    assert not column["nullable"]
    assert differences() == []
    db.session.remove()

    downgrade(revision="0019_message_html")
    assert db.session.scalar(sa.text("SELECT count(*) FROM messages")) == 3
    db.session.remove()
    upgrade()
    assert differences() == []


def test_0021_adds_the_finance_months_and_their_indexes_and_removes_them(empty_app):
    """0021_finance_months: the stored months' table and the indexes that bound the finance
    page's statements; the downgrade (one revision) removes them, a new upgrade brings them
    back."""
    upgrade(revision="0021_finance_months")
    db.session.execute(sa.text(
        "INSERT INTO finance_months (zone, month, invoiced, deposits, credited, paid, sales, "
        "writer_pay, tiers) VALUES ('Africa/Lome', '2026-11', 1, 2, 3, 4, 5, 6, "
        "'[[\"Standard\", 5, 6]]')"))
    db.session.commit()
    db.session.remove()
    added = {"invoices": "ix_invoices_company_id_unsettled",
             "credit_notes": "ix_credit_notes_issued_at",
             "payments": "ix_payments_status_decided_at",
             "writer_earnings": "ix_writer_earnings_earned_at"}

    def indexes() -> set[str]:
        inspector = sa.inspect(db.engine)
        return {index["name"] for table in added for index in inspector.get_indexes(table)}

    assert set(added.values()) <= indexes()
    downgrade(revision="0020_message_html_version")
    assert "finance_months" not in table_names()
    assert not set(added.values()) & indexes()
    upgrade(revision="0021_finance_months")
    assert set(added.values()) <= indexes()
    assert db.session.scalar(sa.text("SELECT count(*) FROM finance_months")) == 0
    db.session.remove()
    upgrade()
    assert differences() == []
    db.session.remove()


def test_0022_orders_the_invoices_still_owed_by_date_and_back(empty_app):
    """0022_unsettled_by_date: the partial index of the invoices still owed gains the date of
    issue and the id (a company's account lists them in that order); the downgrade puts it back
    on the company alone."""
    def columns() -> list[str]:
        found = {index["name"]: index["column_names"]
                 for index in sa.inspect(db.engine).get_indexes("invoices")}
        return found["ix_invoices_company_id_unsettled"]

    upgrade()
    assert columns() == ["company_id", "issued_at", "id"]
    db.session.remove()
    downgrade(revision="0021_finance_months")
    assert columns() == ["company_id"]
    db.session.remove()
    upgrade()
    assert columns() == ["company_id", "issued_at", "id"]
    assert differences() == []
    db.session.remove()


def test_0023_adds_the_index_of_the_writers_load_and_removes_it(empty_app):
    """0023_writer_load: the orders by status and writer (the dashboard's load per writer,
    from the index alone); the downgrade (one revision) removes it."""
    def names() -> set[str]:
        return {index["name"] for index in sa.inspect(db.engine).get_indexes("orders")}

    upgrade()
    assert "ix_orders_status_writer_id" in names()
    db.session.remove()
    downgrade(revision="0022_unsettled_by_date")
    assert "ix_orders_status_writer_id" not in names()
    db.session.remove()
    upgrade()
    assert "ix_orders_status_writer_id" in names()
    assert differences() == []
    db.session.remove()


def test_0024_keeps_the_figures_in_place_of_the_stored_months_and_back(empty_app):
    """0024_finance_figures: the kept figures and their deltas replace the stored months; the
    downgrade gives back an empty finance_months (the page of that version fills it)."""
    upgrade()
    db.session.execute(sa.text(
        "INSERT INTO finance_figures (zone, month, tier_id, figure, amount) "
        "VALUES ('Africa/Lome', '2026-11', 0, 'paid', 4)"))
    db.session.commit()
    db.session.remove()
    assert "finance_months" not in table_names()
    downgrade(revision="0023_writer_load")
    assert {"finance_figures", "finance_deltas"}.isdisjoint(table_names())
    assert db.session.scalar(sa.text("SELECT count(*) FROM finance_months")) == 0
    db.session.remove()
    upgrade()
    assert db.session.scalar(sa.text("SELECT count(*) FROM finance_figures")) == 0
    assert differences() == []
    db.session.remove()



def test_0025_puts_the_pool_index_in_place_of_the_narrower_one_and_back(empty_app):
    """0025_pool_index: the pool's index also holds the offer's columns, so its count reads
    nothing else; the downgrade (one revision) gives back the narrower index."""
    def names() -> set[str]:
        return {index["name"] for index in sa.inspect(db.engine).get_indexes("orders")}

    upgrade()
    assert "ix_orders_pool" in names()
    assert "ix_orders_status_language_tier_id_deadline" not in names()
    db.session.remove()
    downgrade(revision="0024_finance_figures")
    assert "ix_orders_pool" not in names()
    assert "ix_orders_status_language_tier_id_deadline" in names()
    db.session.remove()
    upgrade()
    assert "ix_orders_pool" in names()
    assert differences() == []
    db.session.remove()


def test_0026_adds_the_writers_open_work_and_removes_it(empty_app):
    """0026_writer_loads: the table of each writer's open work (filled from the orders; the
    benchmark's data set, upgraded, recounts with no drift); the downgrade (one revision)
    drops it."""
    upgrade()
    assert "writer_loads" in table_names()
    db.session.remove()
    downgrade(revision="0025_pool_index")
    assert "writer_loads" not in table_names()
    db.session.remove()
    upgrade()
    assert "writer_loads" in table_names()
    assert differences() == []
    db.session.remove()
