"""The agency's months: a month is drawn by AGENCY_TIMEZONE, in Python and in SQL alike (the
finance page's figures, the writers' earnings per month, the postpaid companies' invoices)."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from portal.extensions import db


def month_start(moment: datetime) -> datetime:
    """The start of `moment`'s month in the agency's time zone (as UTC)."""
    zone = ZoneInfo(current_app.config["AGENCY_TIMEZONE"])
    local = moment.astimezone(zone)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def month_of(column, zone: str):
    """The month ("2026-11") of a timestamp column in `zone`, computed by the database."""
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.func.to_char(sa.func.timezone(zone, column), "YYYY-MM")
    # SQLite stores UTC and knows no time zones: its own strftime for a zone that is UTC all
    # year (the default, Africa/Lome), else Python's, registered on each connection.
    if _always_utc(zone):
        return sa.func.strftime("%Y-%m", column)
    return sa.func.portal_local_month(column, zone)


@functools.lru_cache(maxsize=16)
def _always_utc(zone: str) -> bool:
    info = ZoneInfo(zone)
    year = datetime.now(UTC).year
    return all(info.utcoffset(datetime(year, month, 1)) == timedelta(0) for month in (1, 7))


def local_month(value: str | None, zone: str) -> str | None:
    """SQLite's portal_local_month: the month ("2026-11") in `zone` of a stored UTC
    timestamp; None for what is not one (the portal writes ISO text, but a row written by hand
    may hold anything, and an exception here would fail the whole statement: the page)."""
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        local = moment.astimezone(ZoneInfo(zone))
        return f"{local.year:04d}-{local.month:02d}"  # strftime writes year 1 as "1"
    except (TypeError, ValueError, OverflowError):  # overflow: year 1 or 9999 in a zone
        return None
