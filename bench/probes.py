"""What the harness measures in-process, on the same database as the server: SQL statements per
request (Flask's test client and a `before_cursor_execute` listener), the dispatcher's
throughput to an SMTP sink, and 50 writers claiming one order at once."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import sqlalchemy as sa

from bench.app import make_app
from bench.data import DataSet
from bench.server import ROOT

CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def _token(html: str) -> str:
    match = CSRF_META.search(html) or CSRF_FIELD.search(html)
    if match is None:
        raise RuntimeError("no CSRF token on the page")
    return match.group(1)


def count_statements(dataset: DataSet, endpoints: list[dict], repeat: int = 3) -> dict:
    """SQL statements of each endpoint's request, counted on the third call (caches warm),
    with the first call's count beside it and the statements themselves (shortened)."""
    from portal.extensions import db

    app = make_app(dataset.url)
    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def listener(_conn, _cursor, statement, _params, _context, _executemany):
        seen.append(" ".join(statement.split())[:240])

    clients = {}
    for role, email in (("client", dataset.client_email), ("writer", dataset.writer_email),
                        ("manager", dataset.manager_email)):
        client = app.test_client()
        token = _token(client.get("/login").get_data(as_text=True))
        # The test client speaks https here (PREFERRED_URL_SCHEME), so Flask-WTF checks the
        # Referer a browser sends.
        answer = client.post("/login", data={"email": email, "password": dataset.password,
                                             "csrf_token": token},
                             headers={"Referer": "https://localhost/login"})
        if answer.status_code != 302:
            raise RuntimeError(f"login of {email} failed in-process: {answer.status_code}")
        clients[role] = client
    results = {}
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        for endpoint in endpoints:
            role = endpoint.get("role")
            client = clients[role] if role else app.test_client()
            headers = {"Referer": f"https://localhost{endpoint.get('csrf_page') or '/'}"}
            if endpoint.get("csrf_page"):
                headers["X-CSRFToken"] = _token(client.get(endpoint["csrf_page"])
                                                .get_data(as_text=True))
            counts, statements, status = [], [], None
            for _ in range(repeat):
                seen.clear()
                if endpoint["method"] == "POST":
                    response = client.post(endpoint["path"], json=endpoint.get("json"),
                                           headers={**headers, "Accept": "application/json"})
                else:
                    response = client.get(endpoint["path"])
                status = response.status_code
                counts.append(len(seen))
                statements = list(seen)
            results[endpoint["name"]] = {"statements": counts[-1], "first_call": counts[0],
                                         "status": status, "sql": statements}
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
        with app.app_context():
            db.engine.dispose()
    return results


# --- the dispatcher -----------------------------------------------------------------------


def _start_sink() -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.sink"], cwd=ROOT, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True,
    )
    line = process.stdout.readline().split()
    if len(line) != 2 or line[0] != "ready":
        process.kill()
        raise RuntimeError("the SMTP sink did not start")
    return process, int(line[1])


def _stop_sink(process: subprocess.Popen) -> dict:
    out, _err = process.communicate(input="", timeout=30)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


def _database_cpu(app) -> dict[int, float] | None:
    """CPU seconds used so far by each server process of the app's PostgreSQL database, when
    the server runs on this machine (/proc); None on SQLite or a remote server."""
    from portal.extensions import db

    if db.engine.dialect.name != "postgresql" or db.engine.url.host not in (
            "127.0.0.1", "localhost", "::1", None):
        return None
    pids = db.session.scalars(sa.text(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND backend_type = 'client backend'")).all()
    db.session.rollback()
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        used[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    return used


def _drain(totals: dict) -> None:
    """send_pending() until the outbox is empty (or a pass sends nothing and fails), adding
    each pass's report to `totals`."""
    from portal.notifications.dispatcher import send_pending

    while True:
        report = send_pending()
        if report.claimed == 0:
            return
        totals["passes"] += 1
        for name in ("claimed", "sent", "retried", "failed", "lost", "connections"):
            totals[name] += getattr(report, name)
        if report.errors and report.sent == 0:
            totals["error"] = report.errors[0]
            return


def _mail_worker(url: str, overrides: dict, ready, go, results) -> None:
    """One more dispatcher, in a process of its own (bench.mail --workers): what a second
    `flask mail worker` is. Sends until nothing is left to claim; reports what it did."""
    from portal.extensions import db

    app = make_app(url, **overrides)
    totals = dict.fromkeys(("claimed", "sent", "retried", "failed", "lost", "connections",
                            "passes"), 0)
    with app.app_context():
        db.session.execute(sa.text("SELECT 1"))  # its connection open before the start
        db.session.rollback()
        ready.put(True)
        go.wait()
        started, cpu_started = time.monotonic(), time.process_time()
        _drain(totals)
        ended, cpu = time.monotonic(), time.process_time() - cpu_started
        db.session.remove()
        db.engine.dispose()
    results.put({**totals, "started": started, "ended": ended, "cpu": cpu})


def mail_throughput(dataset: DataSet, count: int, batch_size: int = 200,
                    group_size: int | None = None, workers: int = 1) -> dict:
    """Queue `count` outbox rows (one real email, rendered once, copied), then time
    `send_pending()` until the outbox is empty, against an SMTP sink on loopback.
    `group_size`: MAIL_GROUP_SIZE, the portal's default if None. `workers` > 1: that many
    dispatchers in processes of their own, sharing the outbox as several `flask mail worker`
    processes do (their total rate; the CPU figure is theirs added up)."""
    from portal.extensions import db, utcnow
    from portal.notifications.models import OutboxEmail, OutboxStatus
    from portal.notifications.outbox import queue_email

    sink, port = _start_sink()
    try:
        overrides = dict(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False,
                         MAIL_USE_SSL=False, MAIL_USERNAME=None, MAIL_PASSWORD=None,
                         MAIL_BATCH_SIZE=batch_size,
                         **({} if group_size is None else {"MAIL_GROUP_SIZE": group_size}))
        app = make_app(dataset.url, **overrides)
        group_size = app.config["MAIL_GROUP_SIZE"]
        with app.app_context():
            model = queue_email(
                kind="reset_password", key=f"bench:model:{uuid.uuid4().hex}",
                to=dataset.client_email, subject="Réinitialisez votre mot de passe", locale="fr",
                user=SimpleNamespace(display_name="Client Bench"),
                link=f"{app.config['BASE_URL']}/password/reset/{uuid.uuid4().hex}", minutes=60,
            )
            template = {c.name: getattr(model, c.name) for c in OutboxEmail.__table__.columns}
            db.session.rollback()
            now = utcnow() - timedelta(seconds=1)
            rows, run = [], uuid.uuid4().hex[:8]
            for n in range(count):
                rows.append({**template, "id": None, "idempotency_key": f"bench:{run}:{n}",
                             "recipient": f"client{n}@bench.example.com",
                             "message_id": f"<bench.{run}.{n}@127.0.0.1>",
                             "status": OutboxStatus.PENDING, "attempts": 0,
                             "next_attempt_at": now, "created_at": now, "claimed_at": None,
                             "claim_token": None, "sent_at": None, "last_error": None})
            for start in range(0, len(rows), 5000):
                chunk = [{k: v for k, v in row.items() if k != "id"}
                         for row in rows[start:start + 5000]]
                db.session.execute(sa.insert(OutboxEmail), chunk)
            db.session.commit()

            totals = {"claimed": 0, "sent": 0, "retried": 0, "failed": 0, "lost": 0,
                      "connections": 0, "passes": 0}
            if workers > 1:
                elapsed, cpu = _mail_workers(dataset.url, overrides, workers, totals)
                database_before = database_after = None
            else:
                database_before = _database_cpu(app)
                started, cpu_started = time.perf_counter(), time.process_time()
                _drain(totals)
                elapsed = time.perf_counter() - started
                cpu = time.process_time() - cpu_started
                database_after = _database_cpu(app)
            db.session.remove()
            db.engine.dispose()
    finally:
        received = _stop_sink(sink)
    sent = totals["sent"]

    def per_email(seconds: float | None) -> float | None:
        return round(seconds * 1000 / sent, 3) if sent and seconds is not None else None

    database_cpu = None
    if database_before is not None and database_after is not None:
        database_cpu = sum(used - database_before.get(pid, 0.0)
                           for pid, used in database_after.items())
    return {"queued": count, "batch_size": batch_size, "group_size": group_size,
            "workers": workers, "seconds": round(elapsed, 3),
            "emails_per_second": round(sent / elapsed, 1) if elapsed else None,
            # The dispatcher's own CPU time per email sent: steadier than the rate on a machine
            # shared with other work (the sink and the database run in other processes).
            "cpu_ms_per_email": per_email(cpu),
            # The other side of each round trip: the sink's CPU (while it was up) and the
            # database server's (its processes for this database, PostgreSQL on this machine).
            "sink_cpu_ms_per_email": per_email(received.get("cpu_seconds")),
            "database_cpu_ms_per_email": per_email(database_cpu),
            **totals, "sink": received,
            "emails_per_connection": round(sent / totals["connections"], 1)
            if totals["connections"] else None}


def _mail_workers(url: str, overrides: dict, workers: int, totals: dict) -> tuple[float, float]:
    """`workers` dispatchers in processes of their own, started together once each has its
    app and connection; returns the time from the start to the last one's end and their CPU
    time added up, and adds up what they did into `totals`."""
    context = multiprocessing.get_context("spawn")
    ready, results, go = context.Queue(), context.Queue(), context.Event()
    processes = [context.Process(target=_mail_worker, args=(url, overrides, ready, go, results))
                 for _ in range(workers)]
    for process in processes:
        process.start()
    try:
        for _ in processes:
            ready.get(timeout=120)
        started = time.monotonic()
        go.set()
        reports = [results.get(timeout=3600) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    totals["sent_by_worker"] = [report["sent"] for report in reports]
    for report in reports:
        for name in ("claimed", "sent", "retried", "failed", "lost", "connections", "passes"):
            totals[name] += report[name]
        if "error" in report:
            totals.setdefault("error", report["error"])
    return max(r["ended"] for r in reports) - started, sum(r["cpu"] for r in reports)


# --- contention ---------------------------------------------------------------------------


def contention(dataset: DataSet, claimers: int | None = None) -> dict:
    """`claimers` qualifying writers claim the same open order at the same moment, each in its
    own thread, app context, session and connection, as a request would: load the writer and
    the order, claim, commit. One wins; the others get Conflict."""
    from flask_babel import gettext

    from portal.accounts.models import User
    from portal.errors import Conflict
    from portal.extensions import db
    from portal.orders import service
    from portal.orders.models import Order, OrderEvent

    writer_ids = dataset.contention_writer_ids[:claimers] if claimers else \
        dataset.contention_writer_ids
    size = len(writer_ids)
    app = make_app(dataset.url, SQLALCHEMY_ENGINE_OPTIONS={
        "pool_pre_ping": True, "pool_size": size + 2, "max_overflow": 0, "pool_timeout": 60})
    with app.app_context():  # every connection opened before the start, as a warm pool is
        connections = [db.engine.connect() for _ in range(size)]
        for connection in connections:
            connection.close()
    barrier = threading.Barrier(size, timeout=60)
    outcomes: dict[int, tuple[str, float, str]] = {}

    def claim(writer_id: int) -> None:
        with app.app_context():
            barrier.wait()
            started = time.perf_counter()
            try:
                me = db.session.get(User, writer_id)
                order = db.session.get(Order, dataset.contention_order_id)
                service.claim(order, me)
                db.session.commit()
                outcome, message = "claimed", ""
            except Conflict as error:
                db.session.rollback()
                outcome, message = "conflict", error.message
            except Exception as error:  # recorded: anything but Conflict is a failure here
                db.session.rollback()
                outcome, message = "error", repr(error)[:300]
            outcomes[writer_id] = (outcome, (time.perf_counter() - started) * 1000, message)
            db.session.remove()

    threads = [threading.Thread(target=claim, args=(w,)) for w in writer_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    with app.app_context():
        claims = db.session.scalar(sa.select(sa.func.count(OrderEvent.id)).where(
            OrderEvent.order_id == dataset.contention_order_id, OrderEvent.action == "claim"))
        owner = db.session.scalar(sa.select(Order.writer_id).where(
            Order.id == dataset.contention_order_id))
        taken = gettext("Another writer took this order a moment ago.")
        db.session.remove()
        db.engine.dispose()
    winners = [(w, ms) for w, (o, ms, _m) in outcomes.items() if o == "claimed"]
    others = sorted(ms for o, ms, _m in outcomes.values() if o != "claimed")
    errors = [m for o, _ms, m in outcomes.values() if o == "error"]

    def pct(q: float) -> float | None:
        if not others:
            return None
        return round(others[min(len(others) - 1, max(0, int(q * len(others) + 0.999) - 1))], 2)

    return {
        "claimers": size, "winners": len(winners),
        "winner_ms": round(winners[0][1], 2) if winners else None,
        "owner_is_winner": bool(winners) and owner == winners[0][0],
        "claim_events": claims,
        "conflicts": sum(1 for o, _ms, _m in outcomes.values() if o == "conflict"),
        "clear_message": all(m == taken for o, _ms, m in outcomes.values() if o == "conflict"),
        "errors": len(errors), "error_sample": errors[:3],
        "others_ms": {"min": round(others[0], 2) if others else None, "p50": pct(0.5),
                      "p95": pct(0.95), "max": round(others[-1], 2) if others else None,
                      "mean": round(statistics.fmean(others), 2) if others else None},
    }


ORIGINALITY_WORDS = 1200
AIM_ORIGINALITY_MS = 200


def originality(dataset: DataSet, repeat: int = 15) -> dict:
    """The originality check (`originality.check`, what `service.deliver` runs) of one
    1,200-word delivery against the whole data set's index, in-process, `repeat` times after
    one warm-up: a new text (no other text shares its phrases) and an exact copy of a delivery
    of the data set (its source found, its text read and scored)."""
    import random

    from bench.words import TextPool
    from portal.extensions import db
    from portal.orders import originality as check
    from portal.orders.models import Delivery, Order
    from portal.orders.text import word_count

    app = make_app(dataset.url)
    new_text, _count = TextPool(random.Random(7), paragraphs=300, sentences=10).article(
        "Un texte neuf", ORIGINALITY_WORDS)
    results: dict = {"aim_ms": AIM_ORIGINALITY_MS, "sample_every": check.SAMPLE_EVERY,
                     "shingle_words": check.SHINGLE_WORDS}
    with app.app_context():
        # The delivery closest to 1,200 words (setup, not timed).
        copied = db.session.scalar(
            sa.select(Delivery.text)
            .order_by(sa.func.abs(Delivery.word_count - ORIGINALITY_WORDS), Delivery.id)
            .limit(1))
        order = Order(id=0, reference_texts="")  # a new order: no earlier delivery of its own
        for name, text in (("new_text", new_text), ("exact_copy", copied)):
            check.check(order, text)
            db.session.rollback()
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                found = check.check(order, text)
                times.append((time.perf_counter() - started) * 1000)
                db.session.rollback()
            times.sort()
            results[name] = {"words": word_count(text), "score": found["score"],
                             "sources": len(found["sources"]),
                             "median_ms": round(statistics.median(times), 1),
                             "max_ms": round(times[-1], 1)}
    return results
