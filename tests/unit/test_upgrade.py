"""`flask upgrade` (portal/ops/upgrade.py): a portal installed at the first migration, used
through the versions, upgraded to this one keeps every row and every counter right.

The demo agency (with conversations, notes and read markers) is built on a database at the
current revision; its rows are then copied into a database at the first migration (accounts,
invitations, emails: the tables that exist then), which is migrated to 0003 where orders and
conversations first exist and receives those, as a portal of that time would hold them. `flask
upgrade` takes it to the current revision; the result must be the demo agency itself, row for
row, counters included (0005 and 0006 compute them from the data).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from config import TestingConfig
from portal import create_app
from portal.accounts.models import Role, User
from portal.demo import seed_demo
from portal.extensions import db
from portal.messaging.models import Message
from portal.messaging.queries import mark_read
from portal.messaging.service import MESSAGE_HTML_VERSION, post_message, render_message
from portal.orders.models import Order, OrderStatus
from tests.conftest import counters_disagree, every_row, head_revision, new_database_url


@pytest.fixture
def portal_on(tmp_path_factory, tmp_path):
    """Apps on new databases of their own (dropped at the end)."""
    made = []

    def make():
        url, drop = new_database_url(tmp_path_factory)
        app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url,
                         UPLOAD_DIR=str(tmp_path / "uploads"),
                         BACKUP_DIR=str(tmp_path / "backups"))
        made.append((app, drop))
        return app

    yield make
    for app, drop in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop()


def demo_agency(app) -> None:
    """The demo data, with conversations: messages (a note among them), some read."""
    with app.app_context():
        upgrade()
        seed_demo()
        db.session.commit()
        orders = db.session.scalars(sa.select(Order).where(
            Order.status.not_in([OrderStatus.DRAFT, OrderStatus.OPEN])).order_by(Order.id)).all()
        manager = db.session.scalar(sa.select(User).where(User.role == Role.MANAGER))
        for n, order in enumerate(orders):
            post_message(order, order.client, f"Question {n} sur la commande.")
            post_message(order, order.writer or manager, f"Réponse {n}.",
                         internal=n % 3 == 0 and order.writer is not None)
        db.session.commit()
        mark_read(orders[0].client, orders[0])
        db.session.commit()
        db.session.remove()


def copy_rows(source: sa.Engine, target: sa.Engine, skip: set[str]) -> None:
    """The rows of `source` into the tables `target` has now, with the columns it has."""
    old, new = sa.MetaData(), sa.MetaData()
    old.reflect(target)
    new.reflect(source)
    with source.connect() as reading, target.begin() as writing:
        for table in old.sorted_tables:
            if table.name in skip or table.name == "alembic_version":
                continue
            there = new.tables[table.name]
            columns = [there.c[c.name] for c in table.columns]
            select = sa.select(*columns)
            if table.name == "read_markers" and "unread" not in table.c:
                # Before 0005 a marker is a visit: the counter-only rows come with 0005.
                select = select.where(there.c.last_read_at.is_not(None))
            rows = reading.execute(select).all()
            if rows:
                writing.execute(table.insert(), [dict(row._mapping) for row in rows])


def test_a_portal_at_the_first_migration_upgraded_keeps_every_row_and_counter(portal_on):
    """What a portal of the third revision holds (every table and column it had, filled from
    today's demo) comes through the upgrade to head whole; the tables and columns of later
    revisions are filled by their migrations so that every counter and ledger agrees."""
    current = portal_on()
    demo_agency(current)

    old = portal_on()
    with old.app_context():
        upgrade(revision="0001_accounts")
        with current.app_context():
            source = db.engine
        copy_rows(source, db.engine, skip=set())
        db.session.remove()
        upgrade(revision="0003_conversations")
        copy_rows(source, db.engine, skip={"users", "invitations", "outbox_emails"})
        db.session.remove()
        schema = sa.inspect(db.engine)
        had = {name: {column["name"] for column in schema.get_columns(name)}
               for name in schema.get_table_names() if name != "alembic_version"}
    with current.app_context():
        expected = every_row(db.engine, only=had)
        assert expected["messages"] and expected["read_markers"] and expected["orders"]

    result = old.test_cli_runner().invoke(args=["upgrade"])
    assert result.exit_code == 0, result.output
    assert f"0003_conversations -> {head_revision()}" in result.output
    assert "backup:" in result.output and "restart" in result.output
    assert "ledger: every company's balance and reserved amount agree" in result.output

    with old.app_context():
        assert every_row(db.engine, only=had) == expected
        assert counters_disagree() == []
        # 0019 rendered each message as posting one renders it now.
        from portal.messaging.models import Message
        from portal.messaging.service import render_message

        stored = db.session.execute(sa.select(Message.body, Message.html)).all()
        assert stored and all(html == str(render_message(body)) for body, html in stored)
    archive = next(Path(old.config["BACKUP_DIR"]).glob("portal-*.tar.gz"))
    with old.app_context():
        from portal.ops.backup import verify

        assert verify(archive).revision == "0003_conversations"


def test_upgrade_repairs_counters_a_running_old_version_left_wrong(portal_on):
    """Orders moved and messages posted by the previous version while the new schema was
    being applied are not counted; the upgrade's recount puts them right."""
    app = portal_on()
    demo_agency(app)
    with app.app_context():
        db.session.execute(sa.text("UPDATE order_status_counts SET count = count + 5"))
        db.session.execute(sa.text("UPDATE read_markers SET unread = unread + 2"))
        # and a message an older renderer stored
        stale = db.session.scalar(sa.select(sa.func.min(Message.id)))
        db.session.execute(sa.update(Message).where(Message.id == stale)
                           .values(html="<p>ancien rendu</p>", html_version=0))
        db.session.commit()
        assert counters_disagree() != []
        db.session.remove()

    result = app.test_cli_runner().invoke(args=["upgrade", "--no-backup"])
    assert result.exit_code == 0, result.output
    assert "messages rendered again: 1, HTML changed: 1" in result.output
    with app.app_context():
        assert counters_disagree() == []
        message = db.session.get(Message, stale)
        assert (message.html, message.html_version) == (
            str(render_message(message.body)), MESSAGE_HTML_VERSION)
    assert not Path(app.config["BACKUP_DIR"]).exists() or not list(
        Path(app.config["BACKUP_DIR"]).glob("portal-*"))


def test_upgrade_checks_every_companys_stored_balance_against_its_ledger(portal_on):
    """A company whose stored sums differ from its entries (the demo's companies have
    top-ups, holds, captures, releases): the upgrade still migrates and recounts the other
    counters, names the company and exits with 1; the stored sums are not rewritten."""
    from portal.billing.models import Company, LedgerEntry

    app = portal_on()
    demo_agency(app)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(LedgerEntry.id))) > 10
        company_id = db.session.scalar(
            sa.select(LedgerEntry.company_id).where(LedgerEntry.amount > 0)
            .order_by(LedgerEntry.id).limit(1))
        db.session.execute(sa.update(Company).where(Company.id == company_id)
                           .values(balance=Company.balance + 2_500))
        db.session.execute(sa.text("UPDATE order_status_counts SET count = count + 5"))
        db.session.commit()
        broken = db.session.get(Company, company_id).balance
        db.session.remove()

    result = app.test_cli_runner().invoke(args=["upgrade", "--no-backup"])

    assert result.exit_code == 1, result.output
    assert f"ledger: company {company_id} stores" in result.output
    assert "flask billing check" in result.output and "done:" not in result.output
    with app.app_context():
        problems = counters_disagree()
        assert len(problems) == 1 and "stored (balance, held)" in problems[0]  # only the ledger
        assert db.session.get(Company, company_id).balance == broken  # not rewritten
