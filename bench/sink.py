"""A counting SMTP sink on loopback (aiosmtpd), in a process of its own so that it does not share
the dispatcher's interpreter. `python -m bench.sink` prints `ready <port>`, counts what it
receives, and prints the counts (and its own CPU time) as JSON when its standard input closes."""

from __future__ import annotations

import json
import sys
import time

from aiosmtpd.controller import Controller

from bench.server import free_port


class Counter:
    def __init__(self) -> None:
        self.messages = 0
        self.recipients = 0
        self.bytes = 0
        self.sessions = 0

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages += 1
        self.recipients += len(envelope.rcpt_tos)
        self.bytes += len(envelope.content or b"")
        if not getattr(session, "bench_counted", False):  # one SMTP connection, counted once
            session.bench_counted = True
            self.sessions += 1
        return "250 Message accepted for delivery"


def main() -> None:
    handler = Counter()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    cpu_started = time.process_time()
    print(f"ready {port}", flush=True)
    sys.stdin.read()
    # What the sink itself cost while it was up (the SMTP server's thread: the dispatcher's
    # relay, on the other side of each of its round trips).
    cpu = time.process_time() - cpu_started
    controller.stop()
    print(json.dumps({"messages": handler.messages, "recipients": handler.recipients,
                      "bytes": handler.bytes, "sessions": handler.sessions,
                      "cpu_seconds": round(cpu, 3)}), flush=True)


if __name__ == "__main__":
    main()
