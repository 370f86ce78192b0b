"""Prometheus metrics (prometheus_client).

Counted as things happen, in the process that does them: HTTP requests by endpoint, method
and status, their latency, and the worker's passes by job. Read from the database when the
metrics are scraped: emails waiting and failed, the age of the oldest waiting email, orders
per status (order_status_counts), and the time of the newest backup archive.

Several processes (gunicorn workers, the mail worker): set PROMETHEUS_MULTIPROC_DIR to a
folder they share, emptied before they start; prometheus_client then keeps each process's
counts in files there and a scrape adds them up. Without it, a scrape sees the counts of the
process that answers it only.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from portal.extensions import db

REQUESTS = Counter("portal_http_requests", "HTTP requests answered",
                   ["endpoint", "method", "status"])
LATENCY = Histogram("portal_http_request_duration_seconds", "Time to answer a request",
                    ["endpoint"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
WORKER_PASSES = Counter("portal_worker_passes", "Passes of the mail worker and its jobs",
                        ["job"])


def init_app(app: Flask) -> None:
    @app.before_request
    def start_clock():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def count_request(response):
        started = g.pop("metrics_started", None)
        endpoint = request.endpoint or "unmatched"  # a 404: one label, whatever the path
        REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
        if started is not None:
            LATENCY.labels(endpoint).observe(time.perf_counter() - started)
        return response


def scraper_allowed() -> bool:
    """Does the request come from METRICS_ALLOWED_ADDRESSES, or carry METRICS_TOKEN as a
    bearer token (compared in constant time)?"""
    config = current_app.config
    token = config.get("METRICS_TOKEN")
    given = request.headers.get("Authorization", "")
    if token and given.startswith("Bearer ") and hmac.compare_digest(
            given[len("Bearer "):].strip().encode(), token.encode()):
        return True
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    for allowed in config.get("METRICS_ALLOWED_ADDRESSES") or ():
        try:
            if address in ipaddress.ip_network(allowed, strict=False):
                return True
        except ValueError:
            continue
    return False


class DatabaseCollector:
    """What the database says at scrape time."""

    def collect(self):
        from portal.notifications.models import OutboxEmail, OutboxStatus
        from portal.ops.backup import archives
        from portal.ops.health import outbox_age_seconds
        from portal.orders.status_counts import counted

        emails = GaugeMetricFamily("portal_emails", "Emails of the outbox by status (sent ones "
                                   "are not counted)", labels=["status"])
        found = dict(db.session.execute(
            sa.select(OutboxEmail.status, sa.func.count())
            .where(OutboxEmail.status != OutboxStatus.SENT).group_by(OutboxEmail.status)).all())
        for status in (OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.FAILED):
            emails.add_metric([status.value], found.get(status, 0))
        yield emails
        yield GaugeMetricFamily("portal_outbox_oldest_pending_age_seconds",
                                "Age of the oldest email waiting to be sent (0: none)",
                                value=outbox_age_seconds())
        orders = GaugeMetricFamily("portal_orders", "Orders by status", labels=["status"])
        for status, count in counted().items():
            orders.add_metric([status.value], count)
        yield orders
        newest = archives()[:1]
        if newest:
            yield GaugeMetricFamily("portal_backup_last_timestamp_seconds",
                                    "When the newest backup archive was taken (Unix time)",
                                    value=newest[0].taken_at.timestamp())


def exposition() -> Response:
    """The metrics in Prometheus's text format: the counters of every process (multiprocess
    mode) or of this one, then the database's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        counted_here = generate_latest(registry)
    else:
        counted_here = generate_latest(REGISTRY)
    from_database = CollectorRegistry()
    from_database.register(DatabaseCollector())
    body = counted_here + generate_latest(from_database)
    response = Response(body)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response
