"""Numbers of documents: one gapless series per kind and year (FA-2026-00001 for invoices,
AV-2026-00001 for credit notes, PF-2026-00001 for proformas).

A number is taken from a counter row (`document_counters`) with one atomic upsert that adds one
and returns the new value, inside the transaction that issues the document. The row stays
locked until that transaction ends (PostgreSQL waits on it; SQLite serialises writes), so two
documents issued at once never get the same number, and a transaction that rolls back gives
its number back: the next one takes it, and the series has no gap.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app

from portal.billing.models import DocumentCounter
from portal.extensions import db, upsert_insert, utcnow

INVOICE = "FA"
CREDIT_NOTE = "AV"
PROFORMA = "PF"


def local_year(moment: datetime | None = None) -> int:
    """The year of `moment` (now) in the agency's time zone: the year a document belongs to."""
    zone = ZoneInfo(current_app.config["AGENCY_TIMEZONE"])
    return (moment or utcnow()).astimezone(zone).year


def allocate(series: str, year: int) -> int:
    """The next number of `series` in `year`, taken in the current transaction."""
    table = DocumentCounter.__table__
    stmt = upsert_insert()(table).values(series=series, year=year, last=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.series, table.c.year], set_={"last": table.c.last + 1}
    ).returning(table.c.last)
    return db.session.execute(stmt).scalar_one()


def take(series: str, moment: datetime) -> dict:
    """The next number of `series` for a document issued at `moment`, taken in the current
    transaction: the document's number, year and sequence."""
    year = local_year(moment)
    sequence = allocate(series, year)
    return {"number": f"{series}-{year}-{sequence:05d}", "year": year, "sequence": sequence}
