"""In-process render time of the list pages, without a server or a load generator: Flask's test
client asks each page many times in a row and the report gives the median CPU time of this
process per request (what a busy machine disturbs least), and the median and 90th percentile
of the wall-clock time, in milliseconds. For comparing two versions of the code on the same
data (a cache removed, a template rewritten) on a busy machine, where a load test's
throughput mostly measures the neighbours.

    python -m bench.render --build bench/.work/render.db --scale 0.02 --writers 500
    python -m bench.render --url sqlite:///$PWD/bench/.work/render.db --repeat 200

`--build` makes the data set (bench/data.py) once, with `--writers` writers whatever the scale
(the number of writers is what the manager's writer field depends on), and keeps it; the data
set's description goes into the same path with ".json" added, for the measuring runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import sqlalchemy as sa

from bench import data
from bench.app import make_app, migrate
from bench.probes import _token


def build(path: Path, scale: float, writers: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal", ".json"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    migrate(url)
    data.FULL["writers"] = data.FLOORS["writers"] = writers
    app = make_app(url)
    with app.app_context():
        dataset = data.build(url, scale)
    Path(f"{path}.json").write_text(json.dumps(dataset.as_dict(), default=str))


def pages(dataset: dict, engine: sa.Engine) -> list[tuple[str, str, str]]:
    """(name, role, path) of each page measured."""
    with engine.connect() as conn:
        open_order = conn.scalar(sa.text("SELECT min(id) FROM orders WHERE status = 'open'"))
    return [
        ("my_orders", "client", "/orders"),
        ("pool", "writer",
         f"/work/pool?language={dataset['pool_language']}&tier={dataset['pool_tier_id']}"),
        ("dashboard", "manager", "/agency/orders"),
        ("open_order_with_assign_form", "manager", f"/orders/{open_order}"),
    ]


def measure(url: str, repeat: int) -> dict:
    dataset = json.loads(Path(f"{sa.engine.make_url(url).database}.json").read_text())
    app = make_app(url)
    engine = sa.create_engine(url)
    clients = {}
    for role in ("client", "writer", "manager"):
        client = app.test_client()
        token = _token(client.get("/login").get_data(as_text=True))
        answer = client.post("/login", data={"email": dataset[f"{role}_email"],
                                             "password": data.PASSWORD, "csrf_token": token},
                             headers={"Referer": "https://localhost/login"})
        if answer.status_code != 302:
            raise RuntimeError(f"login of {role} failed: {answer.status_code}")
        clients[role] = client
    results = {}
    for name, role, path in pages(dataset, engine):
        client = clients[role]
        for _ in range(5):  # warm: templates compiled, catalogs loaded
            response = client.get(path)
            if response.status_code != 200:
                raise RuntimeError(f"{path}: {response.status_code}")
        wall, cpu = [], []
        for _ in range(repeat):
            started, started_cpu = time.perf_counter(), time.process_time()
            client.get(path)
            cpu.append((time.process_time() - started_cpu) * 1000)
            wall.append((time.perf_counter() - started) * 1000)
        wall.sort()
        results[name] = {"path": path, "cpu_median_ms": round(statistics.median(cpu), 2),
                         "median_ms": round(statistics.median(wall), 2),
                         "p90_ms": round(wall[int(len(wall) * 0.9)], 2),
                         "bytes": len(response.get_data())}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", type=Path, help="make the data set in this SQLite file")
    parser.add_argument("--scale", type=float, default=0.02)
    parser.add_argument("--writers", type=int, default=500)
    parser.add_argument("--url", help="measure on this database (built by --build)")
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    if args.build:
        build(args.build.resolve(), args.scale, args.writers)
    if args.url:
        print(json.dumps(measure(args.url, args.repeat), indent=2))


if __name__ == "__main__":
    main()
