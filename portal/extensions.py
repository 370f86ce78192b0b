"""Flask extensions, created unbound here and bound to the app in create_app()."""

from __future__ import annotations

import enum
import re
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import sqlalchemy as sa
from flask_babel import Babel, Domain
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, MappedColumn, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (the only kind of time the portal stores)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite keeps no zone, so values are normalised to UTC on the way in and marked UTC on the
    way out; PostgreSQL stores `timestamp with time zone`.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use utcnow() or an aware value")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def string_enum(kind: type[enum.Enum], name: str, length: int = 20) -> sa.Enum:
    """An enum column stored as its values in a VARCHAR of `length` (no database enum type),
    checked on the way in."""
    return sa.Enum(kind, name=name, native_enum=False, length=length,
                   values_callable=lambda items: [i.value for i in items],
                   validate_strings=True)


def foreign_key(target: str, ondelete: str, **options: Any) -> MappedColumn[Any]:
    """A column referring to `target` ("table.id"), with what the database does to it when
    that row is deleted (CASCADE, SET NULL, RESTRICT); its nullability comes from `Mapped[...]`
    as usual."""
    return mapped_column(sa.ForeignKey(target, ondelete=ondelete), **options)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True, render_as_batch=True)
login_manager = LoginManager()
mail = Mail()
csrf = CSRFProtect()


def upsert_insert(dialect: str | None = None):
    """The INSERT with ON CONFLICT of `dialect` (the session's database's by default): the
    counters and the finance figures are upserts on both databases."""
    dialect = dialect or db.session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def folded(text: Any) -> sa.ColumnElement[str]:
    """`text` (a column or a value) lowered and each run of spaces made one, by the database:
    what a search compares on both sides, a name as a page shows it (HTML folds spaces)."""
    marked = sa.func.replace(sa.func.lower(text), " ", " \x01")  # "a  b": "a \x01 \x01b"
    return sa.func.replace(sa.func.replace(marked, "\x01 ", ""), "\x01", "")


def holding(text: str) -> str:
    """The LIKE pattern (escape "/") of what holds `text`, taken literally, without control
    characters (folded's marker among them)."""
    text = re.sub(r"[\x00-\x1f\x7f-\x9f]", "", text)
    return "%" + text.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


def any_holds(text: str, *columns: Any) -> sa.ColumnElement[bool]:
    """One of `columns` holds `text` (a search), both sides folded by the database."""
    pattern = folded(sa.literal(holding(text)))
    return sa.or_(*(folded(column).like(pattern, escape="/") for column in columns))


def commit_keeping_loaded() -> None:
    """Commit now, without expiring what the request has loaded (the person, the order): what
    was written are statements those objects do not hold, and reloading them would cost the
    page statements of its budget."""
    session = db.session()
    expire_on_commit, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire_on_commit


class GroupingDomain(Domain):
    """Flask-Babel's message domain, with the int parameters of _(), _l(), ngettext… written as
    the locale groups numbers ("1 200 mots"): see portal.i18n.numbers_in_text."""

    def _fill(self, text, variables):
        from portal.i18n import numbers_in_text

        text, variables = numbers_in_text(text, variables)
        return text % variables

    def gettext(self, string, **variables):
        text = self.get_translations().ugettext(string)
        return self._fill(text, variables) if variables else text

    def ngettext(self, singular, plural, num, **variables):
        variables.setdefault("num", num)
        return self._fill(self.get_translations().ungettext(singular, plural, num), variables)

    def pgettext(self, context, string, **variables):
        text = self.get_translations().upgettext(context, string)
        return self._fill(text, variables) if variables else text

    def npgettext(self, context, singular, plural, num, **variables):
        variables.setdefault("num", num)
        return self._fill(
            self.get_translations().unpgettext(context, singular, plural, num), variables)


class PortalBabel(Babel):
    @cached_property
    def domain_instance(self):
        return GroupingDomain(domain=self.domain)


babel = PortalBabel()
# Flask-Limiter is not here: it keeps its storage and settings on the object, so each app gets
# its own limiter (portal/rate_limits.py, kept in app.extensions["portal_limiter"]).
