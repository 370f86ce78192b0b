"""The load generator: a second process that drives HTTP/1.1 keep-alive connections on loopback.

Run as `python -m bench.load` with a JSON plan on stdin; it prints a JSON result on stdout. It
logs in through the real /login form (one session per virtual user and role, each logging in
once), then, for each concurrency and endpoint, runs that many virtual users in a closed loop
(each sends its next request when the previous answer has arrived) for a warm-up and a measured
window. Only requests sent and answered inside the window count.

One asyncio loop, raw sockets and a minimal HTTP parser keep the generator's own CPU low (it
shares the machine with the server); what it used is reported beside each figure. Only
127.0.0.1 is accepted as a target, and every run is bounded in time and in requests.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import resource
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

USER_AGENT = "portal-bench/1.0"
COOKIE_NAME = "portal_session"
MAX_REQUESTS_PER_RUN = 2_000_000
# A window with a minimum count of answers (--min-requests) goes on past its duration until it
# has them, for this long at most: a busy machine stretches the window instead of leaving it
# empty.
MIN_REQUESTS_WAIT_SECONDS = 120
CSRF_FIELD = re.compile(rb'name="csrf_token" type="hidden" value="([^"]+)"')
CSRF_META = re.compile(rb'<meta name="csrf-token" content="([^"]+)"')


class HTTPError(Exception):
    pass


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    close: bool

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def cookie(self, name: str) -> str | None:
        prefix = name + "="
        for key, value in self.headers:
            if key == "set-cookie" and value.startswith(prefix):
                return value[len(prefix):].split(";", 1)[0]
        return None


class Connection(asyncio.Protocol):
    """One keep-alive connection; `request()` sends bytes and waits for one whole response."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future | None = None
        self.closed = False
        self._reset()

    def _reset(self) -> None:
        self.head_end = -1
        self.length: int | None = None
        self.status = 0
        self.headers: list[tuple[str, str]] = []
        self.close_after = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._parse()

    def connection_lost(self, exc) -> None:
        self.closed = True
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            if self.head_end >= 0 and self.length is None:  # body delimited by the close
                waiter.set_result(self._take(len(self.buffer) - self.head_end))
            else:
                waiter.set_exception(ConnectionError("connection closed by the server"))

    def _parse(self) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        buffer = self.buffer
        if self.head_end < 0:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = bytes(buffer[:end]).decode("latin-1").split("\r\n")
            self.status = int(lines[0].split(" ", 2)[1])
            for line in lines[1:]:
                name, _sep, value = line.partition(":")
                name, value = name.strip().lower(), value.strip()
                self.headers.append((name, value))
                if name == "content-length":
                    self.length = int(value)
                elif name == "connection" and value.lower() == "close":
                    self.close_after = True
                elif name == "transfer-encoding" and "chunked" in value.lower():
                    waiter.set_exception(HTTPError("chunked responses are not expected"))
                    return
            self.head_end = end + 4
        if self.length is not None and len(buffer) - self.head_end >= self.length:
            waiter.set_result(self._take(self.length))

    def _take(self, length: int) -> Response:
        start = self.head_end
        body = bytes(self.buffer[start:start + length])
        del self.buffer[:start + length]
        response = Response(self.status, self.headers, body, self.close_after)
        self._reset()
        return response

    async def request(self, data: bytes) -> Response:
        if self.closed or self.transport is None:
            raise ConnectionError("connection closed")
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self.waiter

    def shut(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()


class Client:
    """A virtual user: its connection, its cookie, its CSRF token."""

    keep_alive = True  # False: one connection per request, as a proxy without upstream keep-alive

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.connection: Connection | None = None
        self.cookie: str | None = None
        self.csrf: str | None = None
        self.connects = 0

    async def _connection(self) -> Connection:
        if self.connection is None or self.connection.closed:
            loop = asyncio.get_running_loop()
            _transport, protocol = await loop.create_connection(Connection, self.host, self.port)
            self.connection = protocol
            self.connects += 1
        return self.connection

    def build(self, method: str, path: str, body: bytes = b"", *, content_type: str = "",
              extra: dict[str, str] | None = None, cookies: bool = True) -> bytes:
        extra = dict(extra or {})
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                 f"User-Agent: {USER_AGENT}", f"Accept: {extra.pop('Accept', '*/*')}"]
        if cookies and self.cookie:
            lines.append(f"Cookie: {COOKIE_NAME}={self.cookie}")
        if not self.keep_alive:
            lines.append("Connection: close")
        if body or method == "POST":
            lines.append(f"Content-Type: {content_type or 'application/x-www-form-urlencoded'}")
            lines.append(f"Content-Length: {len(body)}")
        for name, value in extra.items():
            lines.append(f"{name}: {value}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    async def send(self, data: bytes, *, keep_cookie: bool = True) -> Response:
        connection = await self._connection()
        response = await connection.request(data)
        if response.close:  # gunicorn's sync workers close after every answer
            connection.shut()
            self.connection = None
        if keep_cookie:
            value = response.cookie(COOKIE_NAME)
            if value is not None:
                self.cookie = value
        return response

    async def get(self, path: str) -> Response:
        return await self.send(self.build("GET", path))

    async def post_form(self, path: str, fields: dict) -> Response:
        return await self.send(self.build("POST", path, urlencode(fields).encode()))

    def shut(self) -> None:
        if self.connection is not None:
            self.connection.shut()


def _token(body: bytes) -> str | None:
    match = CSRF_META.search(body) or CSRF_FIELD.search(body)
    return match.group(1).decode() if match else None


async def log_in(client: Client, email: str, password: str, csrf_page: str | None) -> None:
    """Through the real form: the login page (cookie and token), the POST, then the page whose
    form gives the token the session's later POSTs carry."""
    page = await client.get("/login")
    token = _token(page.body)
    if page.status != 200 or token is None:
        raise HTTPError(f"GET /login answered {page.status} without a CSRF token")
    answer = await client.post_form("/login", {"email": email, "password": password,
                                               "csrf_token": token})
    location = answer.header("location") or ""
    if answer.status != 302 or "/login" in location:
        raise HTTPError(f"login of {email} failed: {answer.status} {location}")
    if csrf_page:
        page = await client.get(csrf_page)
        client.csrf = _token(page.body)
        if page.status != 200 or client.csrf is None:
            raise HTTPError(f"GET {csrf_page} answered {page.status} without a CSRF token")


# --- a measured run -----------------------------------------------------------------------


@dataclass
class Window:
    start_ns: int = 0
    end_ns: int = 0
    measuring: bool = False
    stop: bool = False


@dataclass
class Tally:
    latencies: list[int] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    unexpected: int = 0
    sample: str = ""


def _request_for(client: Client, endpoint: dict) -> bytes:
    if endpoint["method"] == "POST":
        # What quote.js sends: JSON, the token in the X-CSRFToken header.
        extra = {"X-CSRFToken": client.csrf} if client.csrf else {}
        if "json" in endpoint:
            extra["Accept"] = "application/json"
            return client.build("POST", endpoint["path"], json.dumps(endpoint["json"]).encode(),
                                content_type="application/json", extra=extra,
                                cookies=endpoint.get("role") is not None)
        return client.build("POST", endpoint["path"], urlencode(endpoint["form"]).encode(),
                            extra=extra, cookies=endpoint.get("role") is not None)
    return client.build("GET", endpoint["path"], cookies=endpoint.get("role") is not None)


async def _virtual_user(client: Client, endpoint: dict, window: Window, tally: Tally,
                        expect: int) -> None:
    keep = endpoint.get("role") is not None
    data = _request_for(client, endpoint)
    cookie = client.cookie
    while not window.stop:
        started = time.perf_counter_ns()
        try:
            response = await client.send(data, keep_cookie=keep)
        except (OSError, ConnectionError, HTTPError) as error:
            done = time.perf_counter_ns()
            if window.measuring and started >= window.start_ns:
                tally.errors += 1
                tally.sample = tally.sample or repr(error)
            client.connection = None
            await asyncio.sleep(0.01)
            continue
        done = time.perf_counter_ns()
        if window.measuring and started >= window.start_ns and not window.stop:
            tally.latencies.append(done - started)
            tally.statuses[response.status] = tally.statuses.get(response.status, 0) + 1
            if response.status != expect:
                tally.unexpected += 1
                tally.sample = tally.sample or f"{response.status}: {response.body[:200]!r}"
            if len(tally.latencies) >= MAX_REQUESTS_PER_RUN:
                window.stop = True
        if keep and client.cookie != cookie:  # the session cookie is refreshed: send the new one
            cookie = client.cookie
            data = _request_for(client, endpoint)


_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pids: list[int]) -> list[float]:
    """User and system CPU time of each process (all its threads), from /proc."""
    found = []
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            found.append((int(fields[11]) + int(fields[12])) / _TICKS)
        except (OSError, IndexError, ValueError):
            found.append(0.0)
    return found


def _percentile(ordered: list[int], q: float) -> float:
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return ordered[index] / 1e6


async def measure(clients: list[Client], endpoint: dict, duration: float,
                  warmup: float, worker_pids: list[int] | None = None,
                  min_requests: int = 0) -> dict:
    """`duration` seconds of measured load after `warmup`; the window lasts longer if it has
    fewer than `min_requests` answers by then (at most MIN_REQUESTS_WAIT_SECONDS more)."""
    window, tally = Window(), Tally()
    workers = worker_pids or []
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    tasks = [asyncio.create_task(_virtual_user(c, endpoint, window, tally,
                                               endpoint.get("expect", 200))) for c in clients]
    await asyncio.sleep(warmup)
    server_before = _cpu_seconds(workers)
    window.start_ns = time.perf_counter_ns()
    window.measuring = True
    await asyncio.sleep(duration)
    waited_until = time.perf_counter() + MIN_REQUESTS_WAIT_SECONDS
    while len(tally.latencies) < min_requests and time.perf_counter() < waited_until:
        await asyncio.sleep(0.02)
    window.end_ns = time.perf_counter_ns()
    window.stop = True
    server = [after - before for after, before in
              zip(_cpu_seconds(workers), server_before, strict=True)]
    _done, pending = await asyncio.wait(tasks, timeout=30)
    for task in pending:
        task.cancel()
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    elapsed = (window.end_ns - window.start_ns) / 1e9
    ordered = sorted(tally.latencies)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return {
        "endpoint": endpoint["name"],
        "concurrency": len(clients),
        "seconds": round(elapsed, 3),
        "requests": len(ordered),
        "rps": round(len(ordered) / elapsed, 1) if elapsed else 0.0,
        "mean_ms": round(sum(ordered) / len(ordered) / 1e6, 3) if ordered else None,
        "p50_ms": round(_percentile(ordered, 0.50), 3),
        "p95_ms": round(_percentile(ordered, 0.95), 3),
        "p99_ms": round(_percentile(ordered, 0.99), 3),
        "max_ms": round(ordered[-1] / 1e6, 3) if ordered else None,
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "errors": tally.errors,
        "unexpected": tally.unexpected,
        "sample": tally.sample,
        # How much of a core the generator itself used while measuring and warming up.
        "loader_cpu_cores": round(cpu / (elapsed + warmup), 2) if elapsed else None,
        # The server's own CPU per answer (the workers' user + system time in the window; it
        # moves much less than latency when other programs share the machine), and how it was
        # spread over the workers (keep-alive connections stay with the worker that took them).
        "server_cpu_ms": round(sum(server) * 1000 / len(ordered), 3)
        if ordered and workers else None,
        "worker_cpu_s": [round(x, 2) for x in server],
    }


async def run(plan: dict) -> dict:
    host, port = plan["host"], int(plan["port"])
    if host != "127.0.0.1":
        raise SystemExit("the load generator only targets 127.0.0.1")
    Client.keep_alive = bool(plan.get("keep_alive", True))
    concurrencies = sorted({int(c) for c in plan["concurrencies"]})
    largest = max(concurrencies)
    endpoints = plan["endpoints"]
    roles = {e["role"] for e in endpoints if e.get("role")}
    csrf_pages = {e["role"]: e["csrf_page"] for e in endpoints if e.get("csrf_page")}

    started = time.perf_counter()
    sessions: dict[str, list[Client]] = {}
    gate = asyncio.Semaphore(int(plan.get("login_parallel", 4)))

    async def one_login(role: str) -> Client:
        client = Client(host, port)
        account = plan["accounts"][role]
        async with gate:
            await log_in(client, account["email"], account["password"], csrf_pages.get(role))
        return client

    for role in sorted(roles):
        sessions[role] = list(await asyncio.gather(*(one_login(role) for _ in range(largest))))
    login_seconds = time.perf_counter() - started

    results = []
    for concurrency in concurrencies:
        for endpoint in endpoints:
            role = endpoint.get("role")
            clients = sessions[role][:concurrency] if role else \
                [Client(host, port) for _ in range(concurrency)]
            result = await measure(clients, endpoint, float(plan["duration"]),
                                   float(plan["warmup"]), plan.get("worker_pids"),
                                   int(plan.get("min_requests", 0)))
            results.append(result)
            print(f"  c={concurrency:<3} {endpoint['name']:<16} {result['rps']:>8.1f} req/s  "
                  f"p50 {result['p50_ms']:.1f}  p95 {result['p95_ms']:.1f}  p99 "
                  f"{result['p99_ms']:.1f} ms  errors {result['errors'] + result['unexpected']}",
                  file=sys.stderr, flush=True)
            if not role:
                for client in clients:
                    client.shut()
    for group in sessions.values():
        for client in group:
            client.shut()
    return {"login_seconds": round(login_seconds, 2),
            "sessions": {role: len(group) for role, group in sessions.items()},
            "runs": results}


def main() -> None:
    plan = json.load(sys.stdin)
    result = asyncio.run(run(plan))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
