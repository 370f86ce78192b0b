"""The long-running mail worker: sends due emails, then runs the periodic jobs, in a loop."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable

from flask import Flask

from portal.extensions import db
from portal.notifications.dispatcher import send_pending
from portal.ops.metrics import WORKER_PASSES

# Jobs other features register: (name, every_seconds, function). Each runs in the app context
# and commits its own work.
PERIODIC_JOBS: list[tuple[str, float, Callable[[], object]]] = []


def run_worker(app: Flask, *, interval: float, once: bool = False, echo=print) -> None:
    stop = threading.Event()

    def _stop(signum, _frame):
        echo(f"mail worker: signal {signum}, stopping after this pass")
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    last_run: dict[str, float] = {}
    echo(f"mail worker: sending to {app.config['MAIL_SERVER']}:{app.config['MAIL_PORT']}")
    while not stop.is_set():
        with app.app_context():
            try:
                report = send_pending()
                WORKER_PASSES.labels("mail").inc()
                if report.claimed:
                    echo(f"mail worker: sent {report.sent}, retry {report.retried}, "
                         f"failed {report.failed}")
                now = time.monotonic()
                for name, every, job in PERIODIC_JOBS:
                    if now - last_run.get(name, float("-inf")) >= every:
                        last_run[name] = now
                        job()
                        WORKER_PASSES.labels(name).inc()
            except Exception:
                app.logger.exception("mail worker pass failed")
                db.session.rollback()
            finally:
                db.session.remove()
        if once:
            break
        stop.wait(interval)
