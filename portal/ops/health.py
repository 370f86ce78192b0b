"""Readiness: may this process take traffic? The database answers, the upload storage takes a
file and gives it back, and the outbox is moving (its oldest waiting email is younger than
READY_OUTBOX_MAX_AGE_SECONDS; older means the SMTP relay has been failing that long).

`/healthz` stays the bare liveness answer (the process is up); `/readyz` runs these checks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from portal.extensions import db, utcnow
from portal.notifications.models import OutboxEmail, OutboxStatus
from portal.orders.uploads import probe_storage

log = logging.getLogger("portal.ops.health")

WAITING = (OutboxStatus.PENDING, OutboxStatus.SENDING)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def outbox_age_seconds() -> float:
    """How long ago the oldest email still to be sent (pending or being sent) was queued; 0
    when none waits."""
    oldest = db.session.scalar(
        sa.select(sa.func.min(OutboxEmail.created_at)).where(OutboxEmail.status.in_(WAITING)))
    return max(0.0, (utcnow() - oldest).total_seconds()) if oldest else 0.0


def readiness() -> list[Check]:
    """The three checks, each one run whatever the others gave. Never raises."""
    checks = []
    database_up = True
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        log.warning("readiness: the database does not answer", exc_info=True)
        db.session.rollback()
        database_up = False
    checks.append(Check("database", database_up, "ok" if database_up else "does not answer"))
    try:
        probe_storage()
        checks.append(Check("storage", True, "ok"))
    except OSError:
        log.warning("readiness: the upload storage failed its probe", exc_info=True)
        checks.append(Check("storage", False, "cannot write, read and delete a file"))
    try:
        age = outbox_age_seconds() if database_up else None
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        age = None
    if age is None:
        checks.append(Check("outbox", False, "unknown: the database does not answer"))
    else:
        limit = current_app.config["READY_OUTBOX_MAX_AGE_SECONDS"]
        checks.append(Check("outbox", age <= limit,
                            f"oldest waiting email {int(age)} s old (limit {limit} s)"))
    return checks
