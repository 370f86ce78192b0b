"""`python -m bench` (`make bench`): build the data set in a fresh database, serve the production
configuration under gunicorn on loopback, drive load from a second process, and write the
report under bench/results/.

    python -m bench --scale 0.1                  # a tenth of the agency-sized data set
    python -m bench --scaling                    # the same pages at 1/10 and at full size
    python -m bench --scale 0.1 --wrk            # also wrk, 8 connections, 4 sync and today's
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres python -m bench

See bench/README.md for what is measured and how to read it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import WORK_DIR

# Before anything imports `config`: the harness keeps its instance folder to itself.
os.environ.setdefault("PORTAL_INSTANCE_DIR", str(WORK_DIR / "instance"))

from bench import data, report
from bench import wrk as wrk_load
from bench.app import migrate
from bench.server import ROOT, Gunicorn

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiplies the data set (1.0: 20,000 clients, 200,000 orders, "
                             "1,000,000 messages)")
    parser.add_argument("--scaling", action="store_true",
                        help="also run the pages at a tenth of --scale and report the growth")
    parser.add_argument("--concurrency", default="1,8,32",
                        help="comma-separated connection counts (default 1,8,32)")
    parser.add_argument("--duration", type=float, default=10.0,
                        help="measured seconds per endpoint and concurrency (default 10)")
    parser.add_argument("--min-requests", type=int, default=0,
                        help="answers each measured window must have: it goes on past "
                             "--duration until it has them (default 0; the smoke test's "
                             "guarantee on a busy machine)")
    parser.add_argument("--warmup", type=float, default=2.0,
                        help="seconds of load before each measurement (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--worker-class", default="gthread", choices=("gthread", "sync"))
    parser.add_argument("--threads", type=int, default=4,
                        help="threads per gthread worker (default 4)")
    parser.add_argument("--connection", default="close", choices=("close", "keep-alive"),
                        help="close (default): a new connection per request, as a reverse "
                             "proxy without upstream keep-alive sends them, spread evenly over "
                             "the workers; keep-alive: each virtual user keeps its connection, "
                             "which stays with the worker that accepted it")
    parser.add_argument("--mail", type=int, default=5000,
                        help="emails queued for the dispatcher test (0: skip)")
    parser.add_argument("--claimers", type=int, default=data.CLAIMERS,
                        help="writers claiming one order at once (0: skip)")
    parser.add_argument("--only", default="",
                        help="comma-separated endpoint names to measure (default: all)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR,
                        help="where the JSON and Markdown reports go (default bench/results)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the database afterwards (SQLite file or PostgreSQL database)")
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--wrk", action="store_true",
                        help="also load the full size with wrk (keep-alive, --wrk-connections) "
                             "against each of --wrk-setups; installed from Debian when missing "
                             "and run as root")
    parser.add_argument("--wrk-setups", default="sync:4,gthread:2",
                        help="gunicorn setups wrk runs against, class:workers[:threads] "
                             "(default sync:4,gthread:2: the issue's 4 sync workers and "
                             "today's 2 gthread workers with --threads threads)")
    parser.add_argument("--wrk-connections", type=int, default=wrk_load.CONNECTIONS,
                        help=f"wrk's connections (default {wrk_load.CONNECTIONS})")
    parser.add_argument("--wrk-threads", type=int, default=wrk_load.THREADS,
                        help=f"wrk's threads (default {wrk_load.THREADS})")
    args = parser.parse_args(argv)
    args.concurrencies = sorted({int(c) for c in args.concurrency.split(",") if c.strip()})
    if not 0 < args.scale <= 10 or not args.concurrencies or min(args.concurrencies) < 1 \
            or max(args.concurrencies) > 256:
        parser.error("--scale must be in (0, 10] and concurrencies in 1..256")
    if not 0 < args.duration <= 600 or not 0 <= args.warmup <= 60:
        parser.error("--duration must be in (0, 600] seconds and --warmup in [0, 60]")
    if not 0 <= args.min_requests <= 100_000:
        parser.error("--min-requests must be in [0, 100000]")
    try:
        args.wrk_setup_list = wrk_load.parse_setups(args.wrk_setups, args.threads)
    except ValueError as error:
        parser.error(f"--wrk-setups: {error}")
    if not 1 <= args.wrk_connections <= 256 or not 1 <= args.wrk_threads <= 16:
        parser.error("--wrk-connections must be in 1..256 and --wrk-threads in 1..16")
    # wrk counts whole seconds.
    args.wrk_duration = max(1, round(args.duration))
    args.wrk_warmup = max(1, round(args.warmup)) if args.warmup else 0
    return args


def endpoints_for(dataset: data.DataSet, only: str = "") -> list[dict]:
    """The pages measured, healthz (the ceiling) first."""
    deadline = (datetime.now(UTC) + timedelta(days=10)).strftime("%Y-%m-%dT10:00")
    endpoints = [
        {"name": "healthz", "method": "GET", "path": "/healthz", "role": None},
        {"name": "login", "method": "GET", "path": "/login", "role": None},
        # The floor of every signed-in page: the layout alone (navigation, unread counts, the
        # bell, the language and logout forms) around one sentence, as a page that does not
        # exist shows it to a client. A list page cannot reach a higher ratio to /healthz.
        {"name": "layout", "method": "GET", "path": "/no-such-page", "role": "client",
         "expect": 404},
        {"name": "orders", "method": "GET", "path": "/orders", "role": "client", "list": True},
        {"name": "orders_deep", "method": "GET", "path": f"/orders?page={dataset.deep_page}",
         "role": "client", "list": True},
        {"name": "order_200_messages", "method": "GET",
         "path": f"/orders/{dataset.showcase_order_id}", "role": "client"},
        {"name": "pool", "method": "GET",
         "path": f"/work/pool?language={dataset.pool_language}&tier={dataset.pool_tier_id}",
         "role": "writer", "list": True},
        {"name": "dashboard", "method": "GET", "path": "/agency/orders", "role": "manager",
         "list": True},
        {"name": "finance", "method": "GET", "path": "/agency/finance", "role": "manager"},
        {"name": "invoices", "method": "GET", "path": "/billing/invoices", "role": "client",
         "list": True},
        {"name": "account", "method": "GET", "path": "/billing", "role": "client"},
        {"name": "earnings", "method": "GET", "path": "/work/earnings", "role": "writer",
         "list": True},
        {"name": "quote", "method": "POST", "path": "/orders/quote", "role": "client",
         "csrf_page": "/orders/new",
         "json": {"words_max": "800", "tier_id": str(dataset.quote_tier_id),
                  "deadline": deadline}},
    ]
    if only:
        wanted = {"healthz", *(name.strip() for name in only.split(","))}
        endpoints = [e for e in endpoints if e["name"] in wanted]
    return endpoints


def accounts_of(dataset: data.DataSet) -> dict:
    return {role: {"email": email, "password": dataset.password} for role, email in
            (("client", dataset.client_email), ("writer", dataset.writer_email),
             ("manager", dataset.manager_email))}


def run_load(server: Gunicorn, dataset: data.DataSet, endpoints: list[dict],
             concurrencies: list[int], duration: float, warmup: float,
             keep_alive: bool = True, min_requests: int = 0) -> dict:
    """The load generator, in a process of its own."""
    import subprocess

    plan = {
        "host": "127.0.0.1", "port": server.port, "duration": duration, "warmup": warmup,
        "concurrencies": concurrencies, "endpoints": endpoints,
        "worker_pids": server.worker_pids, "keep_alive": keep_alive,
        "min_requests": min_requests,
        "accounts": accounts_of(dataset),
    }
    process = subprocess.run(
        [sys.executable, "-m", "bench.load"], cwd=ROOT, input=json.dumps(plan),
        capture_output=False, stdout=subprocess.PIPE, text=True, check=False,
        timeout=len(endpoints) * len(concurrencies) * (duration + warmup + 60)
        + (len(endpoints) * len(concurrencies) * 120 if min_requests else 0) + 300,
    )
    if process.returncode != 0:
        raise RuntimeError(f"the load generator failed (code {process.returncode})")
    return json.loads(process.stdout)


def run_wrk(args: argparse.Namespace, url: str, dataset: data.DataSet, endpoints: list[dict],
            tag: str) -> dict:
    """wrk against each setup of --wrk-setups, one gunicorn each, every endpoint (healthz
    first: the ceiling of the same server in the same minutes)."""
    found: dict = {"version": wrk_load.version(args.wrk_path),
                   "connections": args.wrk_connections, "threads": args.wrk_threads,
                   "duration": args.wrk_duration, "warmup": args.wrk_warmup,
                   "timeout_s": wrk_load.TIMEOUT_S, "setups": []}
    for setup in args.wrk_setup_list:
        server = Gunicorn(url, workers=setup.workers, worker_class=setup.worker_class,
                          threads=setup.threads,
                          log_path=WORK_DIR / f"gunicorn-{tag}-wrk.log")
        log(f"  wrk, {args.wrk_connections} connections, against gunicorn {setup.name}")
        server.start()
        try:
            started = time.perf_counter()
            sessions = wrk_load.sessions_for(server.port, endpoints, accounts_of(dataset))
            wrk_load.prime(server.port, endpoints, sessions, setup.workers)
            runs = []
            for endpoint in endpoints:
                run = wrk_load.measure(
                    args.wrk_path, server.port, endpoint, sessions.get(endpoint.get("role")),
                    duration=args.wrk_duration, warmup=args.wrk_warmup,
                    connections=args.wrk_connections, threads=args.wrk_threads,
                    worker_pids=server.worker_pids)
                runs.append(run)
                log(f"    {endpoint['name']:<18} {run['rps']:>8.1f} req/s  p50 "
                    f"{run['p50_ms']}  p95 {run['p95_ms']}  p99 {run['p99_ms']} ms"
                    f"  errors {run['errors'] + run['unexpected']}")
            found["setups"].append(setup.as_dict() | {
                "runs": runs, "seconds": round(time.perf_counter() - started, 1),
                "worker_peak_rss_kb": server.peak_rss_kb()})
        finally:
            server.stop()
    return found


def measure_size(args: argparse.Namespace, scale: float, concurrencies: list[int], *,
                 full: bool) -> dict:
    """One data size: fresh database, load, SQL counts, gunicorn, HTTP load; at the full size
    also the dispatcher and the contention test. The database is dropped afterwards."""
    from bench import probes

    tag = f"scale{scale:g}".replace(".", "_")
    url, drop = data.fresh_database(tag)
    log(f"== scale {scale:g}: {data.Sizes.for_scale(scale)}")
    result: dict = {"scale": scale}
    try:
        started = time.perf_counter()
        migrate(url)
        schema_seconds = time.perf_counter() - started
        dataset = data.build(url, scale, seed=args.seed, log=log)
        dataset.schema_seconds = round(schema_seconds, 2)
        log(f"  loaded in {dataset.load_seconds:.1f} s (+ {schema_seconds:.1f} s of schema)")
        # The load leaves gigabytes of dirty pages; written back during the measurement, they
        # slowed even /healthz by half at full size (I/O wait 30 %, 2026-12-05). Written now.
        started = time.perf_counter()
        os.sync()
        log(f"  written to disk in {time.perf_counter() - started:.1f} s")
        endpoints = endpoints_for(dataset, args.only)
        result["dataset"] = dataset.as_dict()
        result["endpoints"] = [{k: e[k] for k in ("name", "method", "path", "role")}
                               | {"list": e.get("list", False)} for e in endpoints]
        result["database_version"] = report.database_version(url)
        log("  counting SQL statements per request (in-process)")
        result["sql"] = probes.count_statements(dataset, endpoints)
        log("  the originality check of a 1,200-word delivery (in-process)")
        result["originality"] = probes.originality(dataset)
        log(f"    new text {result['originality']['new_text']['median_ms']} ms, exact copy "
            f"{result['originality']['exact_copy']['median_ms']} ms (median)")
        server = Gunicorn(url, workers=args.workers, worker_class=args.worker_class,
                          threads=args.threads, log_path=WORK_DIR / f"gunicorn-{tag}.log")
        log(f"  gunicorn {args.workers} x {args.worker_class} on {server.base_url}")
        server.start()
        try:
            started = time.perf_counter()
            result["load"] = run_load(server, dataset, endpoints, concurrencies,
                                      args.duration, args.warmup,
                                      keep_alive=args.connection == "keep-alive",
                                      min_requests=args.min_requests)
            result["measurement_seconds"] = round(time.perf_counter() - started, 1)
            result["worker_peak_rss_kb"] = server.peak_rss_kb()
        finally:
            server.stop()
        if full and args.wrk:
            result["wrk"] = run_wrk(args, url, dataset, endpoints, tag)
        if full and args.mail:
            log(f"  dispatcher: {args.mail} emails to an SMTP sink on loopback")
            result["mail"] = probes.mail_throughput(dataset, args.mail)
            log(f"    {result['mail']['emails_per_second']} emails/s over "
                f"{result['mail']['connections']} connections")
        if full and args.claimers:
            log(f"  contention: {args.claimers} writers claim order "
                f"{dataset.contention_order_id}")
            result["contention"] = probes.contention(dataset, args.claimers)
            log(f"    winners {result['contention']['winners']}, others "
                f"{result['contention']['others_ms']}")
    finally:
        if args.keep:
            log(f"  kept: {url}")
        else:
            drop()
    return result


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.wrk:
        args.wrk_path = wrk_load.ensure_wrk(log)
        if args.wrk_path is None:
            raise SystemExit(wrk_load.MISSING)
    started_at = datetime.now(UTC)
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    outcome = {
        "started_at": started_at.isoformat(timespec="seconds"),
        "command": "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": report.machine(),
        "server": {"workers": args.workers, "worker_class": args.worker_class,
                   "threads": args.threads if args.worker_class == "gthread" else 1,
                   "connection": args.connection},
        "settings": {"concurrencies": args.concurrencies, "duration": args.duration,
                     "warmup": args.warmup, "scale": args.scale, "wrk": args.wrk,
                     "min_requests": args.min_requests},
    }
    if args.scaling:
        outcome["tenth"] = measure_size(args, args.scale / 10, [1], full=False)
    outcome["full"] = measure_size(args, args.scale, args.concurrencies, full=True)
    outcome["machine"]["load_average_end"] = list(os.getloadavg())
    outcome["machine"]["cpu_speed_ms_end"] = report.cpu_speed_ms()
    outcome["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    paths = report.write(outcome, args.out)
    log(f"== report: {paths[0]} and {paths[1]}")
    print(paths[1].read_text())
    return outcome


if __name__ == "__main__":
    main()
