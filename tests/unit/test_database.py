"""The database as the portal sets it up: SQLite tuned for a web app with a worker beside it, and
timestamps that are always timezone-aware UTC."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from portal.accounts.models import User
from portal.extensions import db


@pytest.fixture
def sqlite_only(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite pragmas")


def pragma(connection, name: str):
    return connection.exec_driver_sql(f"PRAGMA {name}").scalar()


def test_every_sqlite_connection_is_set_up(app, sqlite_only):
    with app.app_context(), ExitStack() as stack:
        # Several connections open at once, so none of them is the pool handing back the first.
        connections = [stack.enter_context(db.engine.connect()) for _ in range(3)]
        connections.append(db.session.connection())
        assert len({id(c.connection.dbapi_connection) for c in connections}) == 4
        for connection in connections:
            assert str(pragma(connection, "journal_mode")).lower() == "wal"
            assert pragma(connection, "busy_timeout") >= 5000
            assert pragma(connection, "foreign_keys") == 1


def test_sqlite_enforces_foreign_keys(ctx, sqlite_only):
    with ctx() as session, pytest.raises(sa.exc.IntegrityError):
        session.execute(sa.text(
            "INSERT INTO invitations (email, display_name, role, locale, invited_by_id, "
            "created_at, expires_at) VALUES ('x@example.test', 'X', 'writer', 'fr', 4242, "
            "'2027-01-01 00:00:00', '2027-01-08 00:00:00')"
        ))


def test_timestamps_read_back_timezone_aware_in_utc(ctx, factory):
    user = factory.user()
    tokyo = timezone(timedelta(hours=9))
    moment = datetime(2027, 3, 1, 18, 30, 15, 123456, tzinfo=tokyo)
    with ctx() as session:
        session.get(User, user.id).last_login_at = moment
        session.commit()
    with ctx() as session:
        if session.get_bind().dialect.name == "postgresql":
            # The server answers in the session's zone; the portal still reads UTC.
            session.execute(sa.text("SET LOCAL TIME ZONE 'Asia/Tokyo'"))
        found = session.get(User, user.id)
        assert found.last_login_at == moment
        assert found.last_login_at.utcoffset() == timedelta(0)
        assert found.last_login_at.tzinfo == UTC
        assert found.last_login_at.hour == 9  # 18:30 in Tokyo is 09:30 UTC
        assert found.created_at.tzinfo == UTC  # the callable default, read back
        # Through a plain select too, and compared in SQL with an aware value.
        column = session.scalar(sa.select(User.last_login_at).where(User.id == user.id))
        assert column.tzinfo == UTC and column == moment
        assert session.scalar(
            sa.select(sa.func.count()).where(User.last_login_at > moment - timedelta(seconds=1))
        ) == 1


def test_a_naive_datetime_is_refused(ctx, factory):
    user = factory.user()
    with ctx() as session:
        session.get(User, user.id).last_login_at = datetime(2027, 3, 1, 9, 30)
        with pytest.raises(sa.exc.StatementError, match="naive datetimes are not stored"):
            session.flush()
        session.rollback()
    assert factory.reload(user).last_login_at is None
