"""Liveness, readiness and metrics (portal/ops/health.py, metrics.py): what a load balancer
and a Prometheus scraper get, and what anybody else gets."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from flask_sqlalchemy.record_queries import get_recorded_queries

from config import TestingConfig
from portal import create_app
from portal.auth import service as auth_service
from portal.extensions import db
from portal.notifications.dispatcher import send_pending
from portal.notifications.models import OutboxEmail, OutboxStatus
from portal.orders.models import OrderStatus

TOKEN = "scraper-token-for-the-tests-0123456789"


def metric(body: str, name: str, **labels) -> float | None:
    """The value of one sample of the exposition, or None."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in body.splitlines():
        match = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if not match or match.group(1) != name:
            continue
        found = ",".join(sorted((match.group(2) or "").split(","))) if match.group(2) else ""
        if found == wanted:
            return float(match.group(3))
    return None


@pytest.fixture
def scraper_token(app, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    return {"Authorization": f"Bearer {TOKEN}"}


# --- liveness and readiness -----------------------------------------------------------------------


def test_healthz_stays_the_bare_liveness_answer(app, client):
    with app.test_request_context():
        before = len(get_recorded_queries())
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_data(as_text=True) == "ok"
    with app.test_request_context():
        assert len(get_recorded_queries()) == before


def test_ready_when_database_storage_and_outbox_are(app, client, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["ready"] is True and response.json["failed"] == []
    assert set(response.json["checks"]) == {"database", "storage", "outbox"}
    assert list((tmp_path / "uploads").iterdir()) == []  # the probe file is gone


def test_not_ready_when_the_upload_storage_cannot_take_a_file(app, client, tmp_path,
                                                              monkeypatch):
    blocker = tmp_path / "storage"
    blocker.write_text("a file where the storage folder should be")
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(blocker / "uploads"))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["failed"] == ["storage"]


def test_not_ready_when_the_database_does_not_answer(tmp_path):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/no/such.db",
                     UPLOAD_DIR=str(tmp_path / "uploads"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["failed"] == ["database", "outbox"]
    assert "/no/such.db" not in response.get_data(as_text=True)  # nothing of the settings


def test_readiness_fails_once_the_smtp_relay_has_been_down_longer_than_the_set_age(
        app, client, factory, monkeypatch, scraper_token, mailbox):
    """The real outbox and dispatcher, the relay down (nothing listens on the port): the
    oldest email waits, and past READY_OUTBOX_MAX_AGE_SECONDS the portal is not ready. Once
    the relay is back and the email gone, it is ready again."""
    monkeypatch.setitem(app.config, "READY_OUTBOX_MAX_AGE_SECONDS", 900)
    working_port = app.config["MAIL_PORT"]
    monkeypatch.setitem(app.config, "MAIL_PORT", 2)  # the relay is down
    person = factory.user("client")
    start = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)

    with time_machine.travel(start, tick=False):
        with app.app_context():
            auth_service.request_password_reset(person.email)
            db.session.commit()
            assert send_pending().retried == 1
        assert client.get("/readyz").status_code == 200

    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        with app.app_context():
            send_pending()
        assert client.get("/readyz").status_code == 200  # 600 s: within the limit

    with time_machine.travel(start + timedelta(minutes=16), tick=False):
        with app.app_context():
            send_pending()
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json["failed"] == ["outbox"]
        assert "960 s" in response.json["checks"]["outbox"]["detail"]
        body = client.get("/metrics", headers=scraper_token).get_data(as_text=True)
        assert metric(body, "portal_outbox_oldest_pending_age_seconds") == 960
        assert metric(body, "portal_emails", status="pending") == 1

    monkeypatch.setitem(app.config, "MAIL_PORT", working_port)  # the relay is back
    with time_machine.travel(start + timedelta(minutes=30), tick=False):
        with app.app_context():
            assert send_pending().sent == 1
            assert db.session.query(OutboxEmail).one().status is OutboxStatus.SENT
        assert client.get("/readyz").status_code == 200
    assert mailbox.to(person.email)


# --- metrics ----------------------------------------------------------------------------------


def test_the_scraper_with_the_token_gets_the_metrics(app, client, factory, scraper_token):
    factory.order(status=OrderStatus.OPEN)
    factory.order(status=OrderStatus.DELIVERED)
    client.get("/healthz")
    client.get("/nowhere/at/all")

    response = client.get("/metrics", headers=scraper_token)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    body = response.get_data(as_text=True)
    assert metric(body, "portal_http_requests_total", endpoint="main.health", method="GET",
                  status="200") >= 1
    assert metric(body, "portal_http_requests_total", endpoint="unmatched", method="GET",
                  status="404") >= 1
    assert metric(body, "portal_http_request_duration_seconds_count",
                  endpoint="main.health") >= 1
    assert metric(body, "portal_orders", status="open") == 1
    assert metric(body, "portal_orders", status="delivered") == 1
    assert metric(body, "portal_orders", status="approved") == 0
    assert metric(body, "portal_emails", status="failed") == 0
    assert metric(body, "portal_outbox_oldest_pending_age_seconds") is not None


def test_the_worker_counts_its_passes(app, client, scraper_token):
    from portal.notifications.worker import run_worker

    def passes() -> float:
        body = client.get("/metrics", headers=scraper_token).get_data(as_text=True)
        return metric(body, "portal_worker_passes_total", job="mail") or 0

    before = passes()
    run_worker(app, interval=0, once=True, echo=lambda _line: None)
    assert passes() == before + 1


@pytest.mark.parametrize("how", ["no token", "a wrong token", "the token without Bearer",
                                 "a manager's session", "an address not allowed"])
def test_anyone_else_gets_404(app, client, login_as, scraper_token, monkeypatch, how):
    headers = {}
    asker = client
    if how == "a wrong token":
        headers = {"Authorization": "Bearer " + TOKEN[:-1] + "x"}
    elif how == "the token without Bearer":
        headers = {"Authorization": TOKEN}
    elif how == "a manager's session":
        asker = login_as("manager")
    elif how == "an address not allowed":
        monkeypatch.setitem(app.config, "METRICS_ALLOWED_ADDRESSES", ["10.0.0.0/8"])
    response = asker.get("/metrics", headers=headers)
    assert response.status_code == 404
    assert "portal_" not in response.get_data(as_text=True)


def test_no_token_set_means_no_token_works(app, client):
    assert app.config["METRICS_TOKEN"] is None
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer None"}).status_code == 404


def test_a_configured_address_or_network_is_answered_without_token(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_ALLOWED_ADDRESSES", ["10.0.0.0/8", "127.0.0.1"])
    assert client.get("/metrics").status_code == 200
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert response.status_code == 200
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert response.status_code == 404


SCRIPT = """
import os, sys
from config import TestingConfig
from portal import create_app
app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=os.environ["URL"],
                 METRICS_TOKEN="t0ken-of-the-scraper")
client = app.test_client()
if sys.argv[1] == "serve":
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
else:
    sys.stdout.write(client.get("/metrics",
        headers={"Authorization": "Bearer t0ken-of-the-scraper"}).get_data(as_text=True))
"""


def test_several_processes_add_up_in_multiprocess_mode(database_url, tmp_path):
    """Two gunicorn workers, in effect: one process answers three requests and ends, another
    answers the scrape; with PROMETHEUS_MULTIPROC_DIR the scrape counts the first one's."""
    folder = tmp_path / "prometheus"
    folder.mkdir()
    environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder), "URL": database_url,
                   "PORTAL_ENV": "testing"}
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", SCRIPT, "serve"], env=environment, cwd=root,
                   check=True, timeout=120)
    scraped = subprocess.run([sys.executable, "-c", SCRIPT, "scrape"], env=environment,
                             cwd=root, check=True, timeout=120, capture_output=True, text=True)
    assert metric(scraped.stdout, "portal_http_requests_total", endpoint="main.health",
                  method="GET", status="200") == 3
    assert metric(scraped.stdout, "portal_orders", status="open") is not None
