"""People and clocks for the HTTP stories. Everyone here reads the portal in English."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.accounts.models import User
from tests.http.pages import english


@pytest.fixture
def visitor(client):
    """Someone not logged in, reading the portal in English."""
    return english(client)


@pytest.fixture
def new_visitor(make_client):
    """Another browser, for a second person or a second device."""
    return lambda: english(make_client())


@pytest.fixture
def person(factory):
    """A user stored in the database who reads English: person("writer", confirmed=False)."""

    def make(role: str = "client", **kwargs) -> User:
        kwargs.setdefault("locale", "en")
        return factory.user(role, **kwargs)

    return make


@pytest.fixture
def signed_in(login_as, person):
    """A browser logged in through the login form, as a new user of `role` or as `user`."""

    def sign_in(role_or_user: str | User = "client", **kwargs):
        user = person(role_or_user, **kwargs) if isinstance(role_or_user, str) else role_or_user
        return login_as(user)

    return sign_in


@pytest.fixture
def stored(ctx):
    """How many rows of `model` match the criteria: stored(User, User.role == Role.WRITER)."""

    def count(model, *criteria) -> int:
        with ctx() as session:
            return session.scalar(sa.select(sa.func.count()).select_from(model).where(*criteria))

    return count


@pytest.fixture
def load(ctx):
    """The stored row, detached: load(User, email="ama@example.test")."""

    def one(model, **by):
        with ctx() as session:
            row = session.scalars(sa.select(model).filter_by(**by)).one()
            session.expunge(row)
            return row

    return one


@pytest.fixture
def update(ctx):
    """Change stored columns of a row, as an earlier step of the story would have."""

    def apply(row, **values) -> None:
        with ctx() as session:
            stored_row = session.get(type(row), row.id)
            for name, value in values.items():
                setattr(stored_row, name, value)
            session.commit()

    return apply


class Clock:
    """Time stands still at the start of the test until the story moves it on."""

    def __init__(self, machine) -> None:
        self.machine = machine
        # Now, not a date far away: cookies already set keep their age.
        self.start = datetime.now(UTC).replace(microsecond=0)
        machine.move_to(self.start, tick=False)

    def advance(self, **delta) -> None:
        self.machine.shift(timedelta(**delta))

    def now(self) -> datetime:
        return datetime.now(UTC)


@pytest.fixture
def clock(time_machine) -> Clock:
    return Clock(time_machine)
