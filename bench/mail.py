"""The dispatcher's throughput alone, without loading the data set: a fresh database with the
migrations' schema, then the harness's own mail probe (`probes.mail_throughput`: COUNT copies of
one real email to an SMTP sink in its own process, `send_pending()` until the outbox is empty).

    python -m bench.mail [--mail 5000] [--group-size N] [--workers N]
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres python -m bench.mail

`--workers N` runs N dispatchers in processes of their own on the same outbox, as N `flask mail
worker` processes would (PostgreSQL; on SQLite they queue on its one writer lock), and reports
their total rate: a figure beside the one-worker rate, not instead of it.

Prints the probe's result as JSON; the database (SQLite under bench/.work/, or a new
PostgreSQL database on that server) is removed afterwards."""

from __future__ import annotations

import argparse
import json
from types import SimpleNamespace

from bench import probes
from bench.app import migrate
from bench.data import BENCH_CLIENT, fresh_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mail", type=int, default=5000, help="emails queued")
    parser.add_argument("--batch-size", type=int, default=200, help="MAIL_BATCH_SIZE")
    parser.add_argument("--group-size", type=int, default=None,
                        help="MAIL_GROUP_SIZE (default: the portal's setting)")
    parser.add_argument("--workers", type=int, default=1,
                        help="dispatchers in processes of their own (default 1)")
    args = parser.parse_args()
    url, remove = fresh_database("mail")
    try:
        migrate(url)
        dataset = SimpleNamespace(url=url, client_email=BENCH_CLIENT)
        result = probes.mail_throughput(dataset, args.mail, args.batch_size, args.group_size,
                                        workers=max(1, args.workers))
    finally:
        remove()
    print(json.dumps({"database": url.split(":", 1)[0], **result}, indent=2))


if __name__ == "__main__":
    main()
