"""Build people and objects straight in the database for a test's starting point."""

from __future__ import annotations

import itertools

from flask import Flask

from portal.accounts.models import Role, User
from portal.auth.passwords import hash_password
from portal.extensions import db, utcnow

_counter = itertools.count(1)
_PASSWORD_HASH: dict[str, str] = {}


class Factory:
    PASSWORD = "correct horse battery staple 42"

    def __init__(self, app: Flask) -> None:
        self.app = app

    def _password_hash(self) -> str:
        # scrypt is slow on purpose; tests share one hash of the common password.
        if "hash" not in _PASSWORD_HASH:
            _PASSWORD_HASH["hash"] = hash_password(self.PASSWORD)
        return _PASSWORD_HASH["hash"]

    def user(
        self,
        role: str | Role = Role.CLIENT,
        *,
        email: str | None = None,
        name: str | None = None,
        confirmed: bool = True,
        active: bool = True,
        locale: str = "fr",
        timezone: str = "Africa/Lome",
    ) -> User:
        """A user, committed, returned detached with every column loaded."""
        role = Role(role)
        n = next(_counter)
        with self.app.app_context():
            user = User(
                email=email or f"{role.value}{n}@example.test",
                display_name=name or f"{role.value.title()} {n}",
                role=role,
                password_hash=self._password_hash(),
                email_confirmed_at=utcnow() if confirmed else None,
                active=active,
                locale=locale,
                timezone=timezone,
            )
            db.session.add(user)
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
        return user

    def reload(self, user: User) -> User:
        with self.app.app_context():
            fresh = db.session.get(User, user.id)
            db.session.expunge(fresh)
        return fresh
