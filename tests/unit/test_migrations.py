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
    [foreign_key] = inspector.get_foreign_keys("outbox_emails")
    assert foreign_key["referred_table"] == "users"
    assert foreign_key["options"].get("ondelete") == "SET NULL"
