"""The originality check against an index the size of the full data set, in minutes.

`python -m bench.originality_index` (SQLite, or PostgreSQL when BENCH_DATABASE_URL or
DATABASE_URL names a server): a fresh, migrated database holding `--deliveries` deliveries
(230,000 by default, the full data set's count) whose index rows are `--phrases` random
sampled hashes each (47 by default: the full data set's 750 words on average, one phrase in
16), plus one real 1,200-word delivery of another order indexed as `service.deliver` indexes
it. Then the probe of `make bench` (`probes.originality`): a new 1,200-word text (nothing found)
and an exact copy of the real delivery (found, read and scored), each timed `--repeat` times.

Why: `make bench` measures the same probe on the whole data set, but computing the phrases of
its 1.2 GB of text takes the loader minutes of Python; the check itself only depends on the
size of the index (rows per hash, index depth), which this reproduces. The other deliveries'
texts are not stored (the check never reads a delivery that shares no sampled phrase).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime

import sqlalchemy as sa

from bench import data, probes
from bench.app import migrate
from bench.words import TextPool

CHUNK = 200_000


def _fill(url: str, deliveries: int, phrases: int, seed: int) -> dict:
    from portal.orders.originality import sampled, shingles
    from portal.orders.text import word_count

    rnd = random.Random(seed)
    engine = data._loading_engine(url)
    postgres = engine.dialect.name == "postgresql"
    text, _count = TextPool(rnd, paragraphs=300, sentences=10).article("Un texte réel", 1200)
    now = datetime.now(UTC)
    started = time.perf_counter()
    with engine.begin() as conn:
        if postgres:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        # The one real delivery's order (the check reads its client); the others need none.
        conn.execute(sa.text(
            "INSERT INTO orders (id, client_id, company_id, status, version, title, "
            "content_type_id, language, words_min, words_max, tier_id, tone, audience, "
            "primary_keyword, secondary_keywords, links_to_include, reference_urls, "
            "reference_texts, instructions, deadline, currency, extra_revisions, "
            "revisions_used, created_at, updated_at) VALUES (1, 1, 1, 'approved', 1, 'x', 1, "
            "'fr', 900, 1200, 1, '', '', '', '', '', '', '', '', :now, 'XOF', 0, 0, :now, :now)"
        ), {"now": now})
        conn.execute(sa.text(
            "INSERT INTO deliveries (id, order_id, number, text, word_count, note, created_at) "
            "VALUES (1, 1, 1, :text, :words, '', :now)"),
            {"text": text, "words": word_count(text), "now": now})
        rows = [(h, 1) for h in sampled(shingles(text))]
        filler = [(i, i, 1, "", 0, "", now) for i in range(2, deliveries + 1)]
        if postgres:
            cursor = conn.connection.dbapi_connection.cursor()
            with cursor.copy("COPY deliveries (id, order_id, number, text, word_count, note, "
                             "created_at) FROM STDIN") as copy:
                for row in filler:
                    copy.write_row(row)
            with cursor.copy("COPY text_shingles (hash, delivery_id) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                for delivery_id in range(2, deliveries + 1):
                    for _ in range(phrases):
                        copy.write_row((rnd.getrandbits(64) - (1 << 63), delivery_id))
            cursor.close()
        else:
            conn.exec_driver_sql("INSERT INTO deliveries (id, order_id, number, text, "
                                 "word_count, note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                 filler)
            conn.exec_driver_sql("INSERT INTO text_shingles VALUES (?, ?)", rows)
            batch: list[tuple[int, int]] = []
            for delivery_id in range(2, deliveries + 1):
                batch.extend((rnd.getrandbits(64) - (1 << 63), delivery_id)
                             for _ in range(phrases))
                if len(batch) >= CHUNK:
                    conn.exec_driver_sql("INSERT OR IGNORE INTO text_shingles VALUES (?, ?)",
                                         batch)
                    batch = []
            if batch:
                conn.exec_driver_sql("INSERT OR IGNORE INTO text_shingles VALUES (?, ?)", batch)
    loaded = time.perf_counter() - started
    data._after_load(engine)
    with engine.connect() as conn:
        count = conn.scalar(sa.text("SELECT count(*) FROM text_shingles"))
    size = data._table_bytes(engine, "text_shingles")
    engine.dispose()
    return {"deliveries": deliveries, "rows": count, "table_bytes": size,
            "load_seconds": round(loaded, 1)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.originality_index",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--deliveries", type=int, default=230_000)
    parser.add_argument("--phrases", type=int, default=47,
                        help="sampled phrases per delivery (default 47: 750 words / 16)")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--seed", type=int, default=20261202)
    args = parser.parse_args(argv)
    url, drop = data.fresh_database("originality")
    try:
        migrate(url)
        index = _fill(url, args.deliveries, args.phrases, args.seed)
        dataset = data.DataSet(url=url, dialect=sa.engine.make_url(url).get_backend_name(),
                               scale=0, sizes={})
        timed = probes.originality(dataset, repeat=args.repeat)
    finally:
        drop()
    outcome = {"index": index, "check": timed}
    print(json.dumps(outcome, indent=2))
    return outcome


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
