"""The counters' nightly repair: the mail worker recounts the orders per status, the unread
counters and the finance page's figures once a day, during RECOUNT_HOUR of
AGENCY_TIMEZONE, each in its own transaction, in a thread of its own (a recount reads every
message: seconds at 100,000 messages, while emails keep going out), and logs whatever drift it
corrects (portal.orders.status_counts.recount, portal.messaging.unread.repair,
portal.billing.figures.refigure; `flask orders recount`, `flask messaging recount` and
`flask billing refigure` by hand).

Only during that hour, not "any time after it" as the backup: the day is remembered by the
worker process, and a worker restarted in the afternoon should not take the orders' lock of a
recount while people work. A night the worker was down is skipped: the counters are kept by
every change, the recount only catches what slipped past."""

from __future__ import annotations

import logging
import threading
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app

from portal.billing import figures
from portal.extensions import db, utcnow
from portal.messaging import unread
from portal.orders import status_counts

log = logging.getLogger(__name__)
_DONE = "portal.nightly_recount"  # app.extensions key: the local day of the last run


def recount_due(now: datetime | None = None) -> date | None:
    """The local day, when it is RECOUNT_HOUR (agency time) and this app has not recounted yet
    that day; else None."""
    config = current_app.config
    local = (now or utcnow()).astimezone(ZoneInfo(config["AGENCY_TIMEZONE"]))
    if local.hour != config["RECOUNT_HOUR"]:
        return None
    if current_app.extensions.get(_DONE) == local.date():
        return None
    return local.date()


def run_nightly_recount() -> threading.Thread | None:
    """The mail worker's job: when due, starts the night's recount in a thread of its own and
    returns it (None when not due); the mail passes go on meanwhile."""
    day = recount_due()
    if day is None:
        return None
    # Marked before running: a recount that fails waits for the next night instead of taking
    # its locks again every few minutes.
    current_app.extensions[_DONE] = day
    thread = threading.Thread(target=recount_counters, args=(current_app._get_current_object(),),
                              name="nightly-recount", daemon=True)
    thread.start()
    return thread


def recount_counters(app: Flask) -> dict[str, int]:
    """The orders per status, the unread counters, then the finance figures, each recounted and
    committed on its own (one failing leaves the others done). Returns how many counters each
    corrected."""
    corrected: dict[str, int] = {}
    with app.app_context():
        try:
            for name, repair in (("orders", status_counts.recount), ("unread", unread.repair),
                                 ("finance figures", figures.refigure_when_quiet)):
                try:
                    corrected[name] = repair()
                    db.session.commit()
                except Exception:
                    db.session.rollback()
                    log.exception("nightly recount of the %s counters failed", name)
        finally:
            db.session.remove()
    log.info("nightly recount: %s", ", ".join(f"{name} {n} corrected"
                                              for name, n in corrected.items()))
    return corrected
