"""What the Hypothesis tests share: clients logged in without a password round trip, CSRF
tokens, a picture of the whole database to compare before and after a request, and the count
of examples run (printed at the end of the run and kept in the pytest cache for the README).

Run deeper with PORTAL_FUZZ_SCALE=10 (ten times the examples); the default keeps the suite fast.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections import Counter
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck
from itsdangerous import URLSafeTimedSerializer

from portal.extensions import db

SCALE = float(os.environ.get("PORTAL_FUZZ_SCALE", "1") or 1)
# Each example is an HTTP request with its database work: slow by Hypothesis's measure, and some
# generated values (a megabyte of text) are large on purpose.
SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.data_too_large]
CACHE_KEY = "portal/hypothesis-examples"


def examples(count: int) -> int:
    """`count` examples, times PORTAL_FUZZ_SCALE."""
    return max(1, round(count * SCALE))


# --- people and tokens ----------------------------------------------------------------------


def log_in(client, user) -> None:
    """Open a session for `user` the way a successful login leaves it (no scrypt per client)."""
    with client.session_transaction() as session:
        session.clear()
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


def csrf_token(app: Flask, client) -> str:
    """A valid CSRF token for the client's session (what Flask-WTF puts in its forms)."""
    with client.session_transaction() as session:
        raw = session.get("csrf_token")
        if not raw:
            raw = hashlib.sha1(secrets.token_bytes(32)).hexdigest()  # noqa: S324 - Flask-WTF's form
            session["csrf_token"] = raw
    secret = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
    return URLSafeTimedSerializer(secret, salt="wtf-csrf-token").dumps(raw)


def flashes(client) -> list[tuple[str, str]]:
    """The messages waiting in the client's session (read without consuming them)."""
    with client.session_transaction() as session:
        return list(session.get("_flashes", []))


# --- the database as data -------------------------------------------------------------------


def snapshot(app: Flask) -> dict[str, dict[tuple, dict]]:
    """Every row of every table: {table: {primary key: {column: value}}}."""
    with app.app_context():
        picture = {}
        with db.engine.connect() as conn:
            for table in db.metadata.sorted_tables:
                keys = [c.name for c in table.primary_key.columns] or [c.name for c in table.c]
                rows = conn.execute(sa.select(table)).mappings().all()
                picture[table.name] = {tuple(row[k] for k in keys): dict(row) for row in rows}
        db.session.remove()
    return picture


@dataclass
class Diff:
    inserted: dict[str, list[dict]]
    deleted: dict[str, list[dict]]
    updated: dict[str, list[tuple[dict, dict]]]

    def changes(self) -> set[str]:
        """"table+" for new rows, "table-" for removed ones, "table.column" for a changed value."""
        found = {f"{t}+" for t, rows in self.inserted.items() if rows}
        found |= {f"{t}-" for t, rows in self.deleted.items() if rows}
        for table, pairs in self.updated.items():
            for old, new in pairs:
                found |= {f"{table}.{c}" for c in old if old[c] != new[c]}
        return found

    def __bool__(self) -> bool:
        return bool(self.changes())


def diff(before: dict, after: dict) -> Diff:
    inserted, deleted, updated = {}, {}, {}
    for table, rows in after.items():
        old_rows = before.get(table, {})
        inserted[table] = [row for key, row in rows.items() if key not in old_rows]
        deleted[table] = [row for key, row in old_rows.items() if key not in rows]
        updated[table] = [(old_rows[key], row) for key, row in rows.items()
                          if key in old_rows and old_rows[key] != row]
    return Diff(inserted, deleted, updated)


def allowed_by(change: str, patterns: frozenset[str]) -> bool:
    """"orders.status" is allowed by "orders.status" or "orders.*"."""
    if change in patterns:
        return True
    table, _dot, column = change.partition(".")
    return bool(column) and f"{table}.*" in patterns


def restore(app: Flask, before: dict, after: dict) -> bool:
    """Put the rows back as `before` had them (after a request changed them into `after`):
    removed rows return, changed values go back, new rows go. Much faster than building the
    world again; True when the database is `before` again."""
    changes = diff(before, after)
    tables = db.metadata.sorted_tables

    def where(table, row):
        keys = [c.name for c in table.primary_key.columns] or [c.name for c in table.c]
        return sa.and_(*(table.c[k] == row[k] for k in keys))

    with app.app_context():
        try:
            with db.engine.begin() as conn:
                for table in tables:
                    if changes.deleted[table.name]:
                        conn.execute(table.insert(), changes.deleted[table.name])
                for table in tables:
                    for old, _new in changes.updated[table.name]:
                        conn.execute(table.update().where(where(table, old)).values(old))
                for table in reversed(tables):
                    for row in changes.inserted[table.name]:
                        conn.execute(table.delete().where(where(table, row)))
        except sa.exc.SQLAlchemyError:
            return False
        finally:
            db.session.remove()
    return snapshot(app) == before


# --- what may reach an email ----------------------------------------------------------------

# Text a person types that goes into emails, headers included (a title into a subject): one
# line, no control character at all.
ONE_LINE_COLUMNS = {
    "users": ("display_name", "email", "pending_email"),
    "invitations": ("display_name", "email"),
    "orders": ("title", "tone", "audience", "primary_keyword"),
    "tiers": ("name",),
    "content_types": ("name_fr", "name_en"),
}
# Text of several lines (bodies, notes, the brief): line breaks as LF and tabs, nothing else.
MULTI_LINE_COLUMNS = {
    "messages": ("body",),
    "orders": ("instructions", "rating_comment"),
    "order_events": ("note",),
    "deliveries": ("note",),
    "tiers": ("description",),
}


def email_breakers(app: Flask, changes: Diff) -> list[str]:
    """What a request stored that could break an email: control characters in text (see the
    tables above), or a queued email that does not build (portal.notifications.dispatcher's
    build_message, as the worker would) or would go to anyone but its one recipient."""
    from email import message_from_bytes
    from email.utils import getaddresses

    from portal.forms import control_characters
    from portal.notifications.dispatcher import build_message
    from portal.notifications.models import OutboxEmail

    found = []

    def written(table: str) -> list[dict]:
        return [*changes.inserted.get(table, []),
                *(new for _old, new in changes.updated.get(table, []))]

    for columns, allowed in ((ONE_LINE_COLUMNS, ""), (MULTI_LINE_COLUMNS, "\n\t")):
        for table, names in columns.items():
            for row in written(table):
                for name in names:
                    value = row.get(name)
                    if isinstance(value, str) and control_characters(value, allowed):
                        found.append(f"{table}.{name} = {value[:80]!r}")
    rows = written("outbox_emails")
    if rows:
        with app.app_context():
            for row in rows:
                email = db.session.get(OutboxEmail, row["id"])
                try:
                    message = message_from_bytes(build_message(email).as_bytes())
                except Exception as exc:  # reported as what the request stored
                    found.append(f"email {row['kind']} to {row['recipient']!r}: {exc!r}")
                    continue
                to = message.get_all("To") or []
                if len(to) != 1 or len(getaddresses(to)) != 1 or message["Cc"] or \
                        message["Bcc"] or len(message.get_all("Subject") or []) != 1:
                    found.append(f"email {row['kind']} headers: {message.items()[:8]!r}")
            db.session.remove()
    return found


# --- how many examples ran ------------------------------------------------------------------


class ExampleCounter:
    """Counts Hypothesis examples per kind and reports them when the run ends."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def add(self, kind: str, n: int = 1) -> None:
        self.counts[kind] += n

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.counts:
            terminalreporter.write_sep("-", "Hypothesis examples")
            for kind, n in sorted(self.counts.items()):
                terminalreporter.write_line(f"{kind}: {n}")

    def pytest_sessionfinish(self, session) -> None:
        # .pytest_cache/v/portal/hypothesis-examples: the figures of the last run.
        if self.counts and getattr(session.config, "cache", None) is not None:
            session.config.cache.set(CACHE_KEY, dict(sorted(self.counts.items())))


COUNTER_NAME = "portal-hypothesis-examples"


def example_counter(config: pytest.Config) -> ExampleCounter:
    """The run's counter, registered as a plugin the first time so it reports at the end."""
    counter = config.pluginmanager.get_plugin(COUNTER_NAME)
    if counter is None:
        counter = ExampleCounter()
        config.pluginmanager.register(counter, COUNTER_NAME)
    return counter
