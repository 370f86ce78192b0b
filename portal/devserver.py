"""`flask dev-server`: the whole portal for development in one command.

Starts the local SMTP sink, the mail worker, the inbound server (replies by email) and the web
server as child processes and stops all of them on Ctrl-C (or when any of them dies), so nothing
is left running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time


def run(port: int, smtp_port: int, inbound_port: int = 8026) -> int:
    env = dict(os.environ, MAIL_SERVER="127.0.0.1", MAIL_PORT=str(smtp_port), PORT=str(port),
               INBOUND_HOST="127.0.0.1", INBOUND_PORT=str(inbound_port))
    env.setdefault("BASE_URL", f"http://127.0.0.1:{port}")
    flask = [sys.executable, "-m", "flask", "--app", "portal"]
    commands = {
        "smtp sink": [*flask, "mail", "sink", "--port", str(smtp_port)],
        "mail worker": [*flask, "mail", "worker"],
        "inbound": [*flask, "mail", "inbound", "--host", "127.0.0.1", "--port", str(inbound_port)],
        "web": [*flask, "run", "--host", "127.0.0.1", "--port", str(port), "--no-reload"],
    }
    children: dict[str, subprocess.Popen] = {}
    stopping = False

    def stop_all(*_args):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop_all)
    signal.signal(signal.SIGTERM, stop_all)
    try:
        for name, command in commands.items():
            children[name] = subprocess.Popen(command, env=env)  # noqa: S603
            if name == "smtp sink":
                time.sleep(0.5)  # the worker's first pass should find the sink listening
        print(f"\n  Portal:  http://127.0.0.1:{port}\n  SMTP sink: 127.0.0.1:{smtp_port}\n"
              f"  Replies by email (inbound SMTP): 127.0.0.1:{inbound_port}\n"
              "  Ctrl-C stops everything.\n", flush=True)
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    print(f"{name} exited with {child.returncode}; stopping the rest", flush=True)
                    stopping = True
            time.sleep(0.3)
    finally:
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for child in children.values():
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    return 0
