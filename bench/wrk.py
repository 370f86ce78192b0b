"""wrk as the load generator (issue 14): the tool the issue's figures came from, measured beside
the project's own generator.

wrk (Debian's package) is written in C and keeps its HTTP/1.1 connections alive; with 8
connections it takes far less CPU than the Python generator, which matters on two cores. For each
server setup (`--wrk-setups`, by default 4 sync workers, as the issue measured, and today's 2
gthread workers) the harness starts gunicorn, logs each role in once through the real /login
form (`bench.load.log_in`, in Python) and hands wrk the session cookie, and for the quote its CSRF
token, in a generated Lua script. Per endpoint: `--warmup` seconds of wrk, discarded, then
`--duration` seconds measured (wrk counts whole seconds). The script's `done` function prints the
exact p50/p95/p99 from wrk's histogram, the error counts, and the answers whose status was not
the expected one (a redirect to /login would otherwise count as a success). Timeouts are 30 s, so
a slow answer is measured, not dropped.

gunicorn's sync workers close the connection after each answer; wrk then reconnects, so against
them every request pays a TCP connection on loopback (as the issue's figures did).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.load import COOKIE_NAME, Client, _cpu_seconds, _request_for, log_in

CONNECTIONS = 8
THREADS = 2
TIMEOUT_S = 30
RESULT_MARK = "WRK_RESULT "
MISSING = ("wrk is not installed and could not be: `apt-get install wrk` as root (Debian's "
           "package), or drop --wrk")


def ensure_wrk(log: Callable[[str], None] = print) -> str | None:
    """The path of wrk; when missing, Debian's package is installed if this process may (root
    with apt-get), as .ci/run installs chromium. None when it cannot be had."""
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return found
    log("== installing Debian's wrk for the benchmark")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        done = subprocess.run(command, env=env, capture_output=True, text=True,  # noqa: S603
                              timeout=600, check=False)
        if done.returncode != 0:
            log(f"  {' '.join(command)} failed: {done.stderr.strip()[-300:]}")
            return None
    return shutil.which("wrk")


def version(wrk: str) -> str:
    done = subprocess.run([wrk, "-v"], capture_output=True, text=True,  # noqa: S603
                          timeout=10, check=False)
    first = (done.stdout or done.stderr).strip().splitlines()
    return first[0] if first else "wrk"


@dataclass(frozen=True)
class Setup:
    """One gunicorn configuration wrk is run against."""

    worker_class: str
    workers: int
    threads: int = 1

    @property
    def name(self) -> str:
        threads = f" ({self.threads} threads)" if self.worker_class == "gthread" else ""
        return f"{self.workers} x {self.worker_class}{threads}"

    def as_dict(self) -> dict:
        return {"name": self.name, "worker_class": self.worker_class, "workers": self.workers,
                "threads": self.threads}


def parse_setups(text: str, gthread_threads: int) -> list[Setup]:
    """`sync:4,gthread:2` (or `gthread:2:4`, the threads given) into setups; ValueError when a
    part is not `class:workers[:threads]` with a known class and sensible counts."""
    setups = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        match = re.fullmatch(r"(sync|gthread):(\d{1,2})(?::(\d{1,2}))?", part)
        if not match:
            raise ValueError(f"{part!r}: expected sync:<workers> or gthread:<workers>[:<threads>]")
        worker_class, workers = match.group(1), int(match.group(2))
        threads = int(match.group(3) or gthread_threads) if worker_class == "gthread" else 1
        if not 1 <= workers <= 32 or not 1 <= threads <= 64:
            raise ValueError(f"{part!r}: 1 to 32 workers and 1 to 64 threads")
        if Setup(worker_class, workers, threads) not in setups:
            setups.append(Setup(worker_class, workers, threads))
    if not setups:
        raise ValueError("no setup given")
    return setups


# --- the Lua script -------------------------------------------------------------------------


def _lua(text: str) -> str:
    """A Lua string literal (printable ASCII kept, everything else as a decimal escape)."""
    out = []
    for byte in text.encode():
        char = chr(byte)
        if char in '"\\' or not 32 <= byte < 127:
            out.append(f"\\{byte:03d}" if char not in '"\\' else "\\" + char)
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


_DONE = """
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  unexpected = 0
  sample = ""
end

function response(status, headers, body)
  if status ~= %(expect)d then
    unexpected = unexpected + 1
    if sample == "" then sample = tostring(status) end
  end
end

function done(summary, latency, requests)
  local unexpected, sample = 0, ""
  for _, thread in ipairs(threads) do
    unexpected = unexpected + (thread:get("unexpected") or 0)
    if sample == "" then sample = thread:get("sample") or "" end
  end
  local e = summary.errors
  io.write(string.format(
    '%(mark)s{"requests": %%.0f, "duration_us": %%.0f, "bytes": %%.0f, ' ..
    '"connect": %%.0f, "read": %%.0f, "write": %%.0f, "status": %%.0f, "timeout": %%.0f, ' ..
    '"p50_us": %%.0f, "p95_us": %%.0f, "p99_us": %%.0f, "mean_us": %%.1f, "max_us": %%.0f, ' ..
    '"unexpected": %%.0f, "sample": "%%s"}\\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.mean, latency.max, unexpected, sample))
end
"""


def script(endpoint: dict, session: Client | None) -> str:
    """The request of `endpoint` as wrk sends it (method, path, body, the role's session cookie
    and CSRF token), and the `done` function that prints the figures as JSON."""
    lines = [f"wrk.method = {_lua(endpoint['method'])}", f"wrk.path = {_lua(endpoint['path'])}"]
    headers = {"User-Agent": "portal-bench-wrk/1.0"}
    if session is not None and session.cookie:
        headers["Cookie"] = f"{COOKIE_NAME}={session.cookie}"
    if endpoint["method"] == "POST":
        if session is not None and session.csrf:
            headers["X-CSRFToken"] = session.csrf
        body = json.dumps(endpoint.get("json", {}))
        headers |= {"Content-Type": "application/json", "Accept": "application/json"}
        lines.append(f"wrk.body = {_lua(body)}")
    lines += [f"wrk.headers[{_lua(name)}] = {_lua(value)}" for name, value in headers.items()]
    return "\n".join(lines) + "\n" + _DONE % {"expect": endpoint.get("expect", 200),
                                              "mark": RESULT_MARK}


# --- running it -----------------------------------------------------------------------------


def sessions_for(port: int, endpoints: list[dict], accounts: dict) -> dict[str, Client]:
    """One logged-in session per role the endpoints need (with the CSRF token of its form page
    when an endpoint posts)."""
    roles = {e["role"] for e in endpoints if e.get("role")}
    csrf_pages = {e["role"]: e["csrf_page"] for e in endpoints if e.get("csrf_page")}

    async def log_in_all() -> dict[str, Client]:
        found = {}
        for role in sorted(roles):
            client = Client("127.0.0.1", port)
            account = accounts[role]
            await log_in(client, account["email"], account["password"], csrf_pages.get(role))
            client.shut()
            found[role] = client
        return found

    return asyncio.run(log_in_all())


def prime(port: int, endpoints: list[dict], sessions: dict[str, Client], workers: int) -> None:
    """Each endpoint a few times per worker, at once and on connections of their own, so that
    every worker has built its templates before wrk measures (a cold sync worker can take more
    than the whole of a one-second run on a busy machine)."""

    async def one(endpoint: dict) -> None:
        session = sessions.get(endpoint.get("role"))
        client = Client("127.0.0.1", port)
        client.keep_alive = False
        if session is not None:
            client.cookie, client.csrf = session.cookie, session.csrf
        try:
            await client.send(_request_for(client, endpoint), keep_cookie=False)
        finally:
            client.shut()

    async def all_of_them() -> None:
        for endpoint in endpoints:
            await asyncio.gather(*(one(endpoint) for _ in range(2 * workers)))

    asyncio.run(all_of_them())


def _wrk(wrk: str, url: str, script_path: Path, seconds: int, connections: int,
         threads: int) -> str:
    command = [wrk, "-t", str(min(threads, connections)), "-c", str(connections),
               "-d", f"{seconds}s", "--timeout", f"{TIMEOUT_S}s", "--latency",
               "-s", str(script_path), url]
    done = subprocess.run(command, capture_output=True, text=True,  # noqa: S603
                          timeout=seconds + TIMEOUT_S + 60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed (code {done.returncode}): {done.stderr.strip()[-500:]}")
    return done.stdout


def _parse(output: str) -> dict:
    for line in output.splitlines():
        if line.startswith(RESULT_MARK):
            return json.loads(line[len(RESULT_MARK):])
    raise RuntimeError(f"wrk printed no result line: {output[-500:]}")


def measure(wrk: str, port: int, endpoint: dict, session: Client | None, *, duration: int,
            warmup: int, connections: int, threads: int,
            worker_pids: list[int] | None = None) -> dict:
    """One endpoint: a discarded warm-up run, then the measured one; the figures as the
    project's generator reports them (ms), plus wrk's own error counts."""
    url = f"http://127.0.0.1:{port}{endpoint['path']}"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="bench-wrk-",
                                     delete=False) as handle:
        handle.write(script(endpoint, session))
        path = Path(handle.name)
    try:
        if warmup:
            _wrk(wrk, url, path, warmup, connections, threads)
        workers = worker_pids or []
        server_before = _cpu_seconds(workers)
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        found = _parse(_wrk(wrk, url, path, duration, connections, threads))
        elapsed = time.perf_counter() - started
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        server = [after - before for after, before in
                  zip(_cpu_seconds(workers), server_before, strict=True)]
    finally:
        path.unlink(missing_ok=True)
    seconds = found["duration_us"] / 1e6
    requests = int(found["requests"])
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    errors = {key: int(found[key]) for key in ("connect", "read", "write", "status", "timeout")}
    return {
        "endpoint": endpoint["name"],
        "concurrency": connections,
        "seconds": round(seconds, 3),
        "requests": requests,
        "rps": round(requests / seconds, 1) if seconds else 0.0,
        "mean_ms": round(found["mean_us"] / 1000, 3) if requests else None,
        # No answer in the window (each took longer than the run): no percentile, not 0 ms.
        "p50_ms": round(found["p50_us"] / 1000, 3) if requests else None,
        "p95_ms": round(found["p95_us"] / 1000, 3) if requests else None,
        "p99_ms": round(found["p99_us"] / 1000, 3) if requests else None,
        "max_ms": round(found["max_us"] / 1000, 3) if requests else None,
        "wrk_errors": errors,
        "errors": sum(errors.values()) - errors["status"],
        "unexpected": int(found["unexpected"]),
        "sample": f"status {found['sample']}" if found["sample"] else "",
        "loader_cpu_cores": round(cpu / elapsed, 2) if elapsed else None,
        "server_cpu_ms": round(sum(server) * 1000 / requests, 3)
        if requests and workers else None,
        "worker_cpu_s": [round(x, 2) for x in server],
    }
