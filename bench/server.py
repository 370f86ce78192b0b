"""The portal under gunicorn on loopback, in the production configuration, and the peak memory
of its workers."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.app import production_env

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = (task / "children")
        if children.exists():
            found += [int(p) for p in children.read_text().split()]
    return found


def _status_kb(pid: int, key: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


@dataclass
class Gunicorn:
    database_url: str
    workers: int = 2
    worker_class: str = "gthread"
    threads: int = 4
    port: int = field(default_factory=free_port)
    log_path: Path | None = None
    process: subprocess.Popen | None = None
    worker_pids: list[int] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}",
                   "--workers", str(self.workers), "--worker-class", self.worker_class,
                   "--keep-alive", "30", "--backlog", "2048", "--timeout", "120",
                   "--graceful-timeout", "5", "--log-level", "warning"]
        if self.worker_class == "gthread":
            command += ["--threads", str(self.threads)]
        return [*command, "portal:create_app()"]

    def start(self, timeout: float = 60) -> Gunicorn:
        env = {**os.environ, **production_env(self.database_url, self.base_url)}
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            self.command(), cwd=ROOT, env=env, stdout=log, stderr=log,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn stopped at start (code {self.process.returncode});"
                                   f" see {self.log_path}")
            if self._healthy() and len(_children(self.process.pid)) >= self.workers:
                # Every worker answers: ask a few times so each one has loaded the app.
                for _ in range(self.workers * 4):
                    self._healthy()
                self.worker_pids = _children(self.process.pid)
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not answer /healthz in time")

    def _healthy(self) -> bool:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            connection.request("GET", "/healthz")
            ok = connection.getresponse().status == 200
            connection.close()
            return ok
        except OSError:
            return False

    def peak_rss_kb(self) -> dict[int, int]:
        """VmHWM (the peak resident set) of each worker, in kB."""
        pids = self.worker_pids or (_children(self.process.pid) if self.process else [])
        return {pid: kb for pid in pids if (kb := _status_kb(pid, "VmHWM")) is not None}

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
