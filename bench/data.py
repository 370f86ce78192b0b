"""The agency-sized data set, bulk-loaded into a fresh database.

At scale 1.0: 20,000 clients, 500 writers, 200,000 orders over three years and every status,
1,000,000 messages, deliveries of 300 to 1,200 words, timelines consistent with each status,
writers' languages and tiers; and their money (see `_money`): a company per client with its
opening top-up (proforma, payment, deposit invoice), each order's hold, capture or release, an
invoice per approved order, a few credit notes, payments waiting for confirmation, writers'
earnings paid in monthly batches. Sizes are multiplied by `scale` (with small floors, so that a tiny
run still has 50 writers to race for one order and an order with 200 messages).

Rows are written with PostgreSQL's COPY (psycopg's `cursor.copy`) or, on SQLite, SQLAlchemy Core
`executemany` in large batches; primary keys are given here, so nothing is read back while
loading. Everyone shares one scrypt password hash (hashing 20,000 passwords would take an hour).

The schema itself comes from the migrations (`flask db upgrade`), never from `create_all`.
"""

from __future__ import annotations

import json
import math
import os
import random
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from bench import WORK_DIR
from bench.words import TONES_AUDIENCES, TextPool, title
from config import Config
from portal.demo import CONTENT_TYPES, REVIEWED_TIERS
from portal.demo import TIERS as DEMO_TIERS
from portal.messaging.service import MESSAGE_HTML_VERSION, render_message

PASSWORD = "bench-password-2026-portail"  # noqa: S105 - the benchmark's own throwaway accounts
EMAIL_DOMAIN = "bench.example.com"
BENCH_CLIENT = f"bench-client@{EMAIL_DOMAIN}"
BENCH_WRITER = f"bench-writer@{EMAIL_DOMAIN}"
BENCH_MANAGER = f"bench-manager@{EMAIL_DOMAIN}"
SHOWCASE_MESSAGES = 200
CLAIMERS = 50
YEARS = 3

FULL = {"clients": 20_000, "writers": 500, "managers": 5, "orders": 200_000,
        "messages": 1_000_000}
FLOORS = {"clients": 10, "writers": CLAIMERS + 5, "managers": 2, "orders": 80,
          "messages": SHOWCASE_MESSAGES + 50}

# Statuses of orders placed in the last RECENT_DAYS; older ones are finished.
RECENT_DAYS = 45
RECENT_STATUSES = {"draft": 8, "awaiting_payment": 2, "open": 12, "in_progress": 25,
                   "delivered": 20, "revision_requested": 8, "approved": 22, "cancelled": 5}
OLD_STATUSES = {"approved": 92, "cancelled": 8}
# The demo's tiers but those an editor reviews: the bench measures the client's path, where a
# delivery reaches its client at once (each delivery is released when made).
TIERS = [tier for tier in DEMO_TIERS if tier[0] not in REVIEWED_TIERS]
TIER_WEIGHTS = (55, 33, 12)  # Essentiel, Professionnel, Expert
RUSH_WINDOW = timedelta(hours=72)
RUSH_PERCENT = 30
CURRENCY = "XOF"

BATCH_ROWS = 20_000
BATCH_BYTES = 8_000_000


@dataclass
class Sizes:
    clients: int
    writers: int
    managers: int
    orders: int
    messages: int

    @classmethod
    def for_scale(cls, scale: float) -> Sizes:
        return cls(**{name: max(FLOORS[name], round(FULL[name] * scale)) for name in FULL})


@dataclass
class DataSet:
    """What the load built and what the measurement needs to find in it."""

    url: str
    dialect: str
    scale: float
    sizes: dict
    rows: dict[str, int] = field(default_factory=dict)
    bytes_of_text: int = 0
    load_seconds: float = 0.0
    schema_seconds: float = 0.0
    # Of load_seconds: computing the originality index's phrases (bench/data.py, add_shingles).
    shingle_seconds: float = 0.0
    shingle_table_bytes: int = 0
    password: str = PASSWORD
    client_email: str = BENCH_CLIENT
    writer_email: str = BENCH_WRITER
    manager_email: str = BENCH_MANAGER
    client_orders: int = 0
    deep_page: int = 1
    showcase_order_id: int = 0
    contention_order_id: int = 0
    contention_writer_ids: list[int] = field(default_factory=list)
    pool_language: str = "fr"
    pool_tier_id: int = 1
    quote_tier_id: int = 1

    def as_dict(self) -> dict:
        found = asdict(self)
        found.pop("password")
        found["url"] = sa.engine.make_url(self.url).render_as_string(hide_password=True)
        return found


# --- fresh databases ----------------------------------------------------------------------


def normalise_url(url: str) -> str:
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def server_url() -> str | None:
    """The PostgreSQL server named by BENCH_DATABASE_URL or DATABASE_URL, if any."""
    for name in ("BENCH_DATABASE_URL", "DATABASE_URL"):
        url = os.environ.get(name, "")
        if url.startswith(("postgresql", "postgres://")):
            return normalise_url(url)
    return None


def fresh_database(tag: str) -> tuple[str, Callable[[], None]]:
    """A URL to a new, empty database and how to remove it: a new PostgreSQL database on the
    server the environment names, else a SQLite file under bench/.work/."""
    server = server_url()
    if server:
        base = sa.engine.make_url(server)
        name = f"portal_bench_{tag}_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

        def drop() -> None:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

        return base.set(database=name).render_as_string(hide_password=False), drop
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    path = WORK_DIR / f"bench-{tag}.db"

    def remove() -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    remove()
    return f"sqlite:///{path}", remove


# --- writing rows -------------------------------------------------------------------------


class Loader:
    """Buffers rows per table and writes them in large batches: COPY on PostgreSQL, Core
    executemany on SQLite. Tables are flushed parents first, so foreign keys hold."""

    ORDER = ("content_types", "tiers", "users", "companies", "company_members",
             "writer_languages", "writer_tiers", "orders", "order_events", "deliveries",
             "text_shingles", "drafts",
             "messages", "read_markers", "proformas", "invoices", "payments", "credit_notes",
             "ledger_entries", "invoice_lines", "payout_batches", "payouts", "writer_earnings",
             "document_counters")

    def __init__(self, engine: sa.Engine, metadata: sa.MetaData) -> None:
        self.engine = engine
        self.tables = {name: metadata.tables[name] for name in self.ORDER}
        self.columns = {name: [c.name for c in table.columns] for name, table in
                        self.tables.items()}
        self.buffers: dict[str, list[dict]] = {name: [] for name in self.ORDER}
        self.counts = dict.fromkeys(self.ORDER, 0)
        self.pending_bytes = 0
        self.text_bytes = 0
        self.shingle_seconds = 0.0
        self.postgres = engine.dialect.name == "postgresql"
        self.connection = engine.connect()
        self.transaction = self.connection.begin()
        if self.postgres:
            # Rows are consistent by construction: skip the per-row foreign key triggers (a
            # superuser setting, for this connection only) and the wait for each WAL flush.
            self.connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
            try:
                with self.connection.begin_nested():
                    self.connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
            except sa.exc.DBAPIError:
                pass  # not a superuser: the triggers run, the load is only slower

    def add(self, table: str, row: dict) -> None:
        self.buffers[table].append(row)
        self.counts[table] += 1
        if table in ("deliveries", "drafts"):
            self.pending_bytes += len(row["text"])
            self.text_bytes += len(row["text"])
        if len(self.buffers[table]) >= BATCH_ROWS or self.pending_bytes >= BATCH_BYTES:
            self.flush()

    def add_shingles(self, delivery: dict) -> None:
        """The delivery's sampled phrases in the originality index, as `service.deliver`
        writes them (portal/orders/originality.py)."""
        from portal.orders.originality import sampled, shingles

        started = time.perf_counter()
        hashes = sampled(shingles(delivery["text"]))
        self.shingle_seconds += time.perf_counter() - started
        for value in hashes:
            self.add("text_shingles", {"hash": value, "delivery_id": delivery["id"]})

    def flush(self) -> None:
        for name in self.ORDER:
            rows = self.buffers[name]
            if rows:
                self._write(name, rows)
                self.buffers[name] = []
        self.pending_bytes = 0

    def _write(self, name: str, rows: list[dict]) -> None:
        columns = self.columns[name]
        if self.postgres:
            cursor = self.connection.connection.dbapi_connection.cursor()
            quoted = ", ".join(f'"{c}"' for c in columns)
            with cursor.copy(f'COPY "{name}" ({quoted}) FROM STDIN') as copy:
                for row in rows:
                    # JSON columns (an invoice's frozen seller and buyer) go as their text.
                    copy.write_row([json.dumps(value) if isinstance(value, dict | list)
                                    else value for value in (row.get(c) for c in columns)])
            cursor.close()
        else:
            full = [{c: row.get(c) for c in columns} for row in rows]
            self.connection.execute(self.tables[name].insert(), full)

    def finish(self) -> None:
        self.flush()
        if self.postgres:
            for name in self.ORDER:
                if "id" in self.columns[name]:
                    # Our own table names; the sequences restart after the ids given here.
                    sql = (f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608
                           f"(SELECT coalesce(max(id), 0) + 1 FROM \"{name}\"), false)")
                    self.connection.execute(sa.text(sql))
        self.transaction.commit()
        self.connection.close()


def _loading_engine(url: str) -> sa.Engine:
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _fast(dbapi_connection, _record):
            # A fresh file that nobody else uses yet: no journal, no fsync while loading.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=OFF")
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA cache_size=-262144")
            cursor.execute("PRAGMA temp_store=MEMORY")
            cursor.execute("PRAGMA foreign_keys=OFF")
            cursor.close()

    return engine


def _count_statuses(engine: sa.Engine) -> None:
    """The orders went in around the services that count them: fill `order_status_counts`
    once, with one INSERT … SELECT status, count(*) … GROUP BY status."""
    from portal.orders.status_counts import recount

    with engine.begin() as connection:
        recount(connection)


def _add_up_ledgers(engine: sa.Engine) -> None:
    """Each company's stored balance and reserved amount, the sums of its ledger (the portal
    keeps them with each entry; the loader wrote the entries around it)."""
    with engine.begin() as connection:
        connection.execute(sa.text(
            "UPDATE companies SET "
            "balance = coalesce((SELECT sum(amount) FROM ledger_entries e "
            "WHERE e.company_id = companies.id), 0), "
            "held = coalesce((SELECT sum(held) FROM ledger_entries e "
            "WHERE e.company_id = companies.id), 0)"))


def _count_unread(engine: sa.Engine) -> None:
    """read_markers.unread of every (person, order), which the portal keeps as messages come
    (portal.messaging.unread) and the loader, writing around the services, does not: one
    INSERT ... SELECT per role, by the rule's own query."""
    from portal.accounts.models import Role
    from portal.messaging.unread import counted, counter_upsert

    with engine.begin() as conn:
        for role in Role:
            conn.execute(counter_upsert(counted(role), add=False, dialect=engine.dialect.name))


def _after_load(engine: sa.Engine) -> None:
    if engine.dialect.name == "postgresql":
        # What autovacuum does soon after a load; without it every plan is a guess.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    else:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            # SQLite keeps no statistics unless asked; the portal never runs ANALYZE, so the
            # benchmark does not either (the plans measured are the ones production gets).


# --- the data set -------------------------------------------------------------------------


def _weighted(rnd: random.Random, table: dict[str, int]) -> str:
    return rnd.choices(list(table), weights=list(table.values()))[0]


def _price(tier: tuple, words_max: int, submitted: datetime, deadline: datetime) -> dict:
    _name, _description, price, pay, revisions, _lead = tier
    base = words_max * price
    rush = deadline - submitted < RUSH_WINDOW
    surcharge = (base * RUSH_PERCENT + 50) // 100 if rush else 0
    writer_pay = words_max * pay
    if rush:
        writer_pay += (writer_pay * RUSH_PERCENT + 50) // 100
    return {"price_per_word": price, "rush_surcharge": surcharge, "price_total": base + surcharge,
            "writer_pay_total": writer_pay, "included_revisions": revisions}


def _money(loader: Loader, rnd: random.Random, orders: list[tuple], company_of: dict,
           writers: list[int], manager: int, start: datetime, now: datetime,
           log: Callable[[str], None]) -> None:
    """The money of the orders, written after them: each company's opening top-up (a proforma
    paid and confirmed, its deposit invoice) covering every price it ever reserves; each
    order's hold at submission, capture at approval (with its invoice and the writer's
    earning) or release at cancellation; a credit note on one order invoice in 200; payments
    declared and waiting; writers paid monthly. Invoices and credit notes are numbered in the
    order of their dates, per year, as the portal numbers them."""
    vat = 0
    counters = {name: 0 for name in ("ledger_entries", "invoices", "invoice_lines", "payments",
                                     "proformas", "credit_notes", "payouts", "payout_batches",
                                     "writer_earnings")}

    def new_id(table: str) -> int:
        counters[table] += 1
        return counters[table]

    def entry(company_id: int, kind: str, at: datetime, amount: int = 0, held: int = 0,
              **refs) -> int:
        entry_id = new_id("ledger_entries")
        key = refs.pop("key")
        loader.add("ledger_entries", {"id": entry_id, "company_id": company_id, "kind": kind,
                                      "amount": amount, "held": held, "currency": CURRENCY,
                                      "note": "", "key": key, "created_at": at, **refs})
        return entry_id

    # Invoices to write, numbered by date at the end: (issued_at, company, kind, lines, extra).
    invoices: list[tuple] = []
    needed: dict[int, int] = {}
    for (_order_id, company_id, status, _submitted, _closed, price, *_rest) in orders:
        if status != "awaiting_payment":
            needed[company_id] = needed.get(company_id, 0) + price
    proforma_years: dict[int, int] = {}
    for company_id, amount in sorted(needed.items()):
        amount = -(-amount // 100_000) * 100_000
        at = start - timedelta(days=1, minutes=company_id % 600)
        year = at.year
        proforma_years[year] = proforma_years.get(year, 0) + 1
        proforma_id = new_id("proformas")
        loader.add("proformas", {
            "id": proforma_id, "number": f"PF-{year}-{proforma_years[year]:05d}",
            "company_id": company_id, "amount": amount, "currency": CURRENCY, "status": "paid",
            "created_by_id": None, "created_at": at - timedelta(hours=2), "paid_at": at})
        invoices.append((at, company_id, "deposit", [("", "Avance sur prestations", None, None,
                                                      None, amount, None)],
                         {"proforma_id": proforma_id, "payment": (proforma_id, amount, at)}))
    # The orders' money.
    earned_by: dict[tuple[int, str], list[tuple[int, int, datetime]]] = {}
    for (order_id, company_id, status, submitted, closed, price, pay, writer, per_word, rush,
         words, heading) in orders:
        if status == "awaiting_payment":
            continue
        entry(company_id, "hold", submitted, held=price, order_id=order_id,
              key=f"hold:order:{order_id}")
        if status == "approved":
            capture = entry(company_id, "capture", closed, amount=-price, held=-price,
                            order_id=order_id, key=f"capture:order:{order_id}")
            invoices.append((closed, company_id, "orders", [
                (f"CMD-{order_id:05d}", heading[:300], words, per_word, rush, price,
                 (order_id, capture))], {}))
            if writer:
                earned_by.setdefault((writer, closed.strftime("%Y-%m")), []).append(
                    (order_id, pay, closed))
        elif status == "cancelled":
            entry(company_id, "release", closed, held=-price, order_id=order_id,
                  key=f"release:order:{order_id}")
    log(f"  money: {counters['ledger_entries']:,} ledger entries")

    # Invoices, numbered in the order of their dates.
    invoices.sort(key=lambda item: item[0])
    sequences: dict[int, int] = {}
    notes: dict[int, int] = {}
    for issued, company_id, kind, lines, extra in invoices:
        year = issued.year
        sequences[year] = sequences.get(year, 0) + 1
        invoice_id = new_id("invoices")
        total = sum(line[5] for line in lines)
        loader.add("invoices", {
            "id": invoice_id, "number": f"FA-{year}-{sequences[year]:05d}", "year": year,
            "sequence": sequences[year], "kind": kind, "company_id": company_id,
            "currency": CURRENCY, "locale": "fr", "issued_at": issued, "period": None,
            "seller": {"name": "Agence Plume"}, "buyer": {"name": f"Entreprise {company_id}"},
            "vat_rate": vat, "total_excl_vat": total, "total_vat": 0, "total": total,
            "paid_at_issue": total, "proforma_id": extra.get("proforma_id"),
            "document_id": None, "created_by_id": None, "paid": total, "credited": 0,
            "settled_at": issued})
        if "payment" in extra:
            proforma_id, amount, at = extra["payment"]
            payment_id = new_id("payments")
            reference = f"FL-BENCH-{payment_id}"
            loader.add("payments", {
                "id": payment_id, "company_id": company_id, "proforma_id": proforma_id,
                "invoice_id": None, "amount": amount, "currency": CURRENCY, "method": "flooz",
                "reference": reference, "reference_key": reference.replace("-", ""),
                "status": "confirmed", "declared_by_id": None, "decided_by_id": manager,
                "decided_at": at, "reject_reason": "", "created_at": at - timedelta(hours=1)})
            entry(company_id, "topup", at, amount=amount, payment_id=payment_id,
                  key=f"topup:payment:{payment_id}")
        for position, (reference, description, words, per_word, rush, amount, ref) in \
                enumerate(lines, 1):
            order_id, entry_id = ref if ref else (None, None)
            loader.add("invoice_lines", {
                "id": new_id("invoice_lines"), "invoice_id": invoice_id, "position": position,
                "order_id": order_id, "entry_id": entry_id, "reference": reference,
                "description": description, "words": words, "price_per_word": per_word,
                "rush_surcharge": rush or 0, "amount_excl_vat": amount, "amount": amount})
        if kind == "orders" and invoice_id % 200 == 0 and issued < now - timedelta(days=3):
            at = issued + timedelta(days=2)
            notes[at.year] = notes.get(at.year, 0) + 1
            note_id = new_id("credit_notes")
            credit = max(1, total // 10)
            loader.add("credit_notes", {
                "id": note_id, "number": f"AV-{at.year}-{notes[at.year]:05d}", "year": at.year,
                "sequence": notes[at.year], "invoice_id": invoice_id, "company_id": company_id,
                "currency": CURRENCY, "locale": "fr", "issued_at": at,
                "seller": {"name": "Agence Plume"}, "buyer": {"name": f"Entreprise {company_id}"},
                "vat_rate": vat, "total_excl_vat": credit, "total_vat": 0, "total": credit,
                "reason": "Geste commercial", "cancels_due": 0, "refunded": credit,
                "document_id": None, "created_by_id": manager})
            entry(company_id, "refund", at, amount=credit, credit_note_id=note_id,
                  key=f"refund:credit_note:{note_id}")
    # Payments declared, waiting for a manager: one company in 200.
    for company_id in sorted(needed)[::200]:
        proforma_id = new_id("proformas")
        at = now - timedelta(hours=company_id % 48 + 1)
        proforma_years[at.year] = proforma_years.get(at.year, 0) + 1
        loader.add("proformas", {
            "id": proforma_id, "number": f"PF-{at.year}-{proforma_years[at.year]:05d}",
            "company_id": company_id, "amount": 50_000, "currency": CURRENCY, "status": "open",
            "created_by_id": None, "created_at": at, "paid_at": None})
        payment_id = new_id("payments")
        loader.add("payments", {
            "id": payment_id, "company_id": company_id, "proforma_id": proforma_id,
            "invoice_id": None, "amount": 50_000, "currency": CURRENCY, "method": "mixx",
            "reference": f"MX-BENCH-{payment_id}", "reference_key": f"MXBENCH{payment_id}",
            "status": "declared", "declared_by_id": None, "decided_by_id": None,
            "decided_at": None, "reject_reason": "", "created_at": at})
    # Writers' earnings, paid by a batch at the start of the next month (the last two months
    # are not paid yet).
    unpaid_since = (now.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    totals: dict[str, int] = {}
    for (_writer, month), earned in earned_by.items():
        totals[month] = totals.get(month, 0) + sum(pay for _order, pay, _at in earned)
    batches: dict[str, tuple[int, datetime]] = {}
    for (writer, month), earned in sorted(earned_by.items(), key=lambda item: item[0][1]):
        payout_id = None
        if month < unpaid_since:
            if month not in batches:
                year, number = (int(part) for part in month.split("-"))
                paid_at = datetime(year + number // 12, number % 12 + 1, 5, tzinfo=UTC)
                batches[month] = (new_id("payout_batches"), paid_at)
                loader.add("payout_batches", {
                    "id": batches[month][0], "created_by_id": manager, "note": f"Paie {month}",
                    "total": totals[month], "currency": CURRENCY, "created_at": paid_at})
            payout_id = new_id("payouts")
            batch_id, paid_at = batches[month]
            loader.add("payouts", {
                "id": payout_id, "batch_id": batch_id, "writer_id": writer,
                "amount": sum(pay for _order, pay, _at in earned), "currency": CURRENCY,
                "method": "flooz", "reference": f"FL-PAIE-{payout_id}", "created_at": paid_at})
        for order_id, pay, at in earned:
            loader.add("writer_earnings", {
                "id": new_id("writer_earnings"), "writer_id": writer, "order_id": order_id,
                "amount": pay, "currency": CURRENCY, "earned_at": at, "payout_id": payout_id})
    # The series go on from the numbers given here.
    for series, years in (("FA", sequences), ("AV", notes), ("PF", proforma_years)):
        for year, last in years.items():
            loader.add("document_counters", {"series": series, "year": year, "last": last})
    log(f"  money: {counters['invoices']:,} invoices, {counters['credit_notes']:,} credit "
        f"notes, {counters['writer_earnings']:,} earnings, {counters['payouts']:,} payouts")


def _fit(start: datetime, gaps: list[timedelta], end: datetime) -> list[datetime]:
    """The times of successive steps after `start`, squeezed to end before `end`."""
    total = sum(gaps, timedelta())
    room = end - start
    if total > room:
        factor = max(room / total, 0.0) if total else 0.0
        gaps = [g * factor for g in gaps]
    times, moment = [], start
    for gap in gaps:
        moment = moment + gap
        times.append(moment)
    return times


def build(url: str, scale: float, *, seed: int = 20260101,
          log: Callable[[str], None] = print) -> DataSet:
    """Fill the (migrated, empty) database at `url` with the data set for `scale`."""
    from portal.auth.passwords import hash_password
    from portal.extensions import db

    started = time.perf_counter()
    rnd = random.Random(seed)
    sizes = Sizes.for_scale(scale)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=365 * YEARS)
    engine = _loading_engine(url)
    loader = Loader(engine, db.metadata)
    pool = TextPool(rnd)
    password_hash = hash_password(PASSWORD)
    dataset = DataSet(url=url, dialect=engine.dialect.name, scale=scale, sizes=asdict(sizes))

    # The catalogue.
    for position, (name_fr, name_en) in enumerate(CONTENT_TYPES, 1):
        loader.add("content_types", {"id": position, "name_fr": name_fr, "name_en": name_en,
                                     "position": position, "active": True})
    content_type_ids = list(range(1, len(CONTENT_TYPES) + 1))
    for position, (name, description, price, pay, revisions, lead) in enumerate(TIERS, 1):
        loader.add("tiers", {"id": position, "name": name, "description": description,
                             "client_price_per_word": price, "writer_pay_per_word": pay,
                             "included_revisions": revisions, "min_lead_hours": lead,
                             "position": position, "active": True, "requires_review": False})
    tier_ids = list(range(1, len(TIERS) + 1))
    dataset.pool_tier_id = dataset.quote_tier_id = tier_ids[0]

    # People: managers, writers, clients (the first of each is the benchmark's own).
    next_id = iter(range(1, 10**9))

    def person(role: str, email: str, name: str) -> int:
        user_id = next(next_id)
        created = start - timedelta(days=rnd.uniform(1, 60))
        loader.add("users", {
            "id": user_id, "email": email, "password_hash": password_hash,
            "display_name": name, "role": role, "active": True,
            "email_confirmed_at": created + timedelta(minutes=rnd.randint(2, 600)),
            "locale": "fr" if rnd.random() < 0.8 else "en",
            "timezone": rnd.choice(("Africa/Lome", "Africa/Lome", "Africa/Abidjan",
                                    "Europe/Paris")),
            "session_token": secrets.token_urlsafe(18), "created_at": created,
            "password_changed_at": created, "digest_hour": 18,
        })
        return user_id

    managers = [person("manager", BENCH_MANAGER, "Manager Bench")]
    managers += [person("manager", f"manager{i}@{EMAIL_DOMAIN}", f"Manager {i}")
                 for i in range(2, sizes.managers + 1)]
    writers, skills = [], {}
    for i in range(1, sizes.writers + 1):
        email = BENCH_WRITER if i == 1 else f"writer{i}@{EMAIL_DOMAIN}"
        writer_id = person("writer", email, f"Rédacteur {i}")
        writers.append(writer_id)
        if i <= CLAIMERS + 5:  # the benchmark writer and the ones who race for one order
            languages, tiers = {"fr", "en"} if i == 1 else {"fr"}, set(tier_ids)
            if i > 1 and rnd.random() < 0.5:
                languages.add("en")
        else:
            languages = {code for code, p in (("fr", 0.9), ("en", 0.45)) if rnd.random() < p}
            languages = languages or {"fr"}
            tiers = {t for t, p in zip(tier_ids, (0.9, 0.6, 0.25), strict=True)
                     if rnd.random() < p} or {tier_ids[0]}
        skills[writer_id] = (languages, tiers)
        for code in sorted(languages):
            loader.add("writer_languages", {"user_id": writer_id, "language": code})
        for tier_id in sorted(tiers):
            loader.add("writer_tiers", {"user_id": writer_id, "tier_id": tier_id})
    qualified = {(code, t): [w for w, (langs, tiers) in skills.items()
                             if code in langs and t in tiers]
                 for code in ("fr", "en") for t in tier_ids}
    clients = [person("client", BENCH_CLIENT if i == 1 else f"client{i}@{EMAIL_DOMAIN}",
                      "Client Bench" if i == 1 else f"Client {i}")
               for i in range(1, sizes.clients + 1)]
    bench_client = clients[0]
    # A company per client, prepaid (its sums are added up from its ledger after the load).
    company_of = {}
    for number, client_id in enumerate(clients, 1):
        company_of[client_id] = number
        loader.add("companies", {
            "id": number, "name": f"Entreprise {number} SARL", "address": "Lomé, Togo",
            "tax_number": f"10{number:08d}", "trade_register": "", "billing_email": "",
            "locale": "fr", "currency": CURRENCY, "billing_mode": "prepaid", "credit_limit": 0,
            "balance": 0, "held": 0, "created_at": start, "updated_at": start})
        loader.add("company_members", {"company_id": number, "user_id": client_id,
                                       "role": "owner", "created_at": start})
    loader.flush()
    log(f"  people: {len(managers)} managers, {len(writers)} writers, {len(clients)} clients")

    # Orders, oldest first (ids grow with time, as they do in a real database). The agency
    # grows: more orders lately than three years ago.
    n = sizes.orders
    span = (now - start).total_seconds()
    created_times = sorted(start + timedelta(seconds=span * math.sqrt(rnd.random()))
                           for _ in range(n))
    others = clients[1:] or clients
    weights = [rnd.paretovariate(1.3) for _ in others]
    owners = rnd.choices(others, weights=weights, k=n)
    bench_share = max(40, n // 100)
    for index in rnd.sample(range(n), min(bench_share, n)):
        owners[index] = bench_client
    recent_cut = now - timedelta(days=RECENT_DAYS)
    statuses = [_weighted(rnd, RECENT_STATUSES if c >= recent_cut else OLD_STATUSES)
                for c in created_times]
    # Every status exists, whatever the scale: the newest orders take the missing ones.
    missing = [s for s in RECENT_STATUSES if s not in set(statuses)]
    for offset, status in enumerate(missing, 1):
        statuses[n - 10 - offset] = status
    # The order with 200 messages: the benchmark client's, delivered twice, ten days old.
    showcase = max(i for i in range(n) if created_times[i] <= now - timedelta(days=10))
    owners[showcase], statuses[showcase] = bench_client, "delivered"
    # The order 50 writers race for: open, French, the first tier, offered to nobody.
    contention = n - 1
    statuses[contention], owners[contention] = "open", others[0]
    dataset.client_orders = owners.count(bench_client)

    message_counts = [0] * n
    candidates = [i for i in range(n) if statuses[i] != "draft" and i not in
                  (showcase, contention)]
    for index in rnd.choices(candidates, k=max(0, sizes.messages - SHOWCASE_MESSAGES)):
        message_counts[index] += 1
    message_counts[showcase] = SHOWCASE_MESSAGES

    ids = {"order_events": 0, "deliveries": 0, "messages": 0}
    money_orders: list[tuple] = []

    def new_id(table: str) -> int:
        ids[table] += 1
        return ids[table]

    for i in range(n):
        order_id = i + 1
        status = statuses[i]
        created = created_times[i]
        client = owners[i]
        language = "fr" if rnd.random() < 0.75 else "en"
        tier_index = rnd.choices(range(len(tier_ids)), weights=TIER_WEIGHTS)[0]
        if i in (contention, showcase):
            language, tier_index = "fr", 0
        tier_id, tier = tier_ids[tier_index], TIERS[tier_index]
        words_max = rnd.choice((400, 600, 800, 1000, 1200))
        words_min = max(300, int(words_max * 0.75) // 50 * 50)
        heading, keyword = title(rnd, created.year)
        secondary = rnd.sample(TONES_AUDIENCES["keywords"], rnd.randint(0, 4))
        lead = timedelta(days=rnd.uniform(3, 21))
        writer = rnd.choice(qualified[(language, tier_id)] or writers)
        preferred = writer if rnd.random() < 0.05 else None
        manager = rnd.choice(managers)
        revisions = rnd.choices((0, 1, 2), weights=(75, 20, 5))[0]
        if i == showcase:
            revisions = 1
        end = now - timedelta(minutes=1)

        # The story, as times of its steps (squeezed into the time the order has had).
        steps: list[tuple[str, str | None, str | None, int | None, str]] = []
        if status == "draft":
            gaps = [timedelta(hours=rnd.uniform(0.1, 48))]
        elif status == "awaiting_payment":
            steps.append(("await_payment", "draft", "awaiting_payment", client, ""))
            gaps = [timedelta(hours=rnd.uniform(0.1, 20))]
        else:
            steps.append(("submit", "draft", "open", client, ""))
            if status == "cancelled" and rnd.random() < 0.6:
                steps.append(("cancel", "open", "cancelled", rnd.choice((client, manager)),
                              pool.words(14) if rnd.random() < 0.5 else ""))
            elif status != "open":
                if rnd.random() < 0.9:
                    steps.append(("claim", "open", "in_progress", writer, ""))
                else:
                    steps.append(("assign", "open", "in_progress", manager, ""))
                if status == "cancelled":
                    steps.append(("cancel", "in_progress", "cancelled", manager, pool.words(14)))
                elif status != "in_progress":
                    deliveries = revisions + (0 if status == "revision_requested" else 1)
                    deliveries = max(deliveries, 1)
                    for number in range(1, deliveries + 1):
                        source = "in_progress" if number == 1 else "revision_requested"
                        steps.append(("deliver", source, "delivered", writer, ""))
                        if number < deliveries or status == "revision_requested":
                            steps.append(("request_revision", "delivered", "revision_requested",
                                          client, pool.words(30)))
                    if status == "approved":
                        if rnd.random() < 0.1:
                            steps.append(("auto_approve", "delivered", "approved", None, ""))
                        else:
                            steps.append(("approve", "delivered", "approved", client, ""))
            gaps = [timedelta(hours=rnd.uniform(0.1, 20))]  # the draft, until submitted
            for action, *_rest in steps[1:]:
                hours = {"claim": (0.2, 30), "assign": (1, 30), "deliver": (6, 120),
                         "request_revision": (1, 72), "approve": (1, 160),
                         "auto_approve": (168, 170), "cancel": (1, 100)}[action]
                gaps.append(timedelta(hours=rnd.uniform(*hours)))
        times = _fit(created, gaps, end)
        submitted = times[0] if status != "draft" else None
        last = times[-1]
        deadline = (submitted or created) + lead
        if i == contention:
            deadline = now + timedelta(days=14)

        order = {
            "id": order_id, "client_id": client, "company_id": company_of[client],
            "status": status, "title": heading,
            "version": len(steps) + 1, "content_type_id": rnd.choice(content_type_ids),
            "language": language, "words_min": words_min, "words_max": words_max,
            "tier_id": tier_id, "tone": rnd.choice(TONES_AUDIENCES["tones"]),
            "audience": rnd.choice(TONES_AUDIENCES["audiences"]), "primary_keyword": keyword,
            "secondary_keywords": "\n".join(secondary), "links_to_include": "",
            "reference_urls": "", "reference_texts": "", "instructions": pool.words(40),
            "deadline": deadline,
            "currency": CURRENCY, "extra_revisions": 0, "revisions_used": 0,
            "sample_consent": False,
            "created_at": created, "updated_at": last, "submitted_at": submitted,
        }
        if rnd.random() < 0.3:
            order["links_to_include"] = f"https://www.exemple-client-{client}.tg/"
        if submitted is not None:
            order.update(_price(tier, words_max, submitted, deadline))
            if preferred and status == "open" and i != contention:
                order["preferred_writer_id"] = preferred
                order["offered_until"] = submitted + timedelta(hours=24)
        events = [{"id": new_id("order_events"), "order_id": order_id, "actor_id": client,
                   "action": "created", "from_status": "draft", "to_status": "draft",
                   "note": "", "created_at": created}]
        delivery_number = 0
        children: list[tuple[str, dict]] = []
        moments = times[:len(steps)]
        for (action, source, target, actor, note), moment in zip(steps, moments, strict=True):
            events.append({"id": new_id("order_events"), "order_id": order_id,
                           "actor_id": actor, "action": action, "from_status": source,
                           "to_status": target, "note": note, "created_at": moment})
            if action in ("claim", "assign"):
                order["writer_id"], order["claimed_at"] = writer, moment
            elif action == "deliver":
                delivery_number += 1
                target_words = rnd.randint(words_min, words_max)
                text, count = pool.article(heading, target_words)
                children.append(("deliveries", {
                    "id": new_id("deliveries"), "order_id": order_id, "number": delivery_number,
                    "writer_id": writer, "text": text, "word_count": count,
                    "note": pool.words(20) if rnd.random() < 0.4 else "",
                    "created_at": moment, "released_at": moment,
                    "report": _report(order, text) if client == bench_client else None}))
                order["delivered_at"] = moment
            elif action == "request_revision":
                order["revisions_used"] += 1
            elif action in ("approve", "auto_approve"):
                order["closed_at"] = moment
                rating = rnd.choices((1, 2, 3, 4, 5), weights=(2, 3, 10, 35, 50))[0]
                order["rating"] = rating
                order["rating_comment"] = pool.words(25) if rating <= 2 or rnd.random() < 0.3 \
                    else ""
            elif action == "cancel":
                order["closed_at"] = moment
        loader.add("orders", order)  # before what refers to it (a flush may come between)
        for event in events:
            loader.add("order_events", event)
        for table, row in children:
            loader.add(table, row)
            if table == "deliveries":
                loader.add_shingles(row)
        if status in ("in_progress", "revision_requested"):
            text, _count = pool.article(heading, words_min // 2)
            loader.add("drafts", {"order_id": order_id, "text": text,
                                  "version": rnd.randint(1, 40), "updated_at": last,
                                  "updated_by_id": writer})

        # The conversation, between the submission and the end of the story.
        count = message_counts[i]
        if count:
            first = submitted or created
            window = max((last if status in ("approved", "cancelled") else end) - first,
                         timedelta(minutes=count))
            moments = sorted(first + window * rnd.random() for _ in range(count))
            people = [client, client, manager] + ([order["writer_id"]] * 2
                                                  if order.get("writer_id") else [])
            for moment in moments:
                author = rnd.choice(people)
                by_email = rnd.random() < 0.05
                body = pool.message()
                loader.add("messages", {
                    "id": new_id("messages"), "order_id": order_id, "author_id": author,
                    "body": body, "html": str(render_message(body)),  # as post_message stores
                    "html_version": MESSAGE_HTML_VERSION,
                    "internal": author != client and rnd.random() < 0.15,
                    "source": "email" if by_email else "web",
                    "email_message_id": f"<{uuid.uuid4().hex}@mail.{EMAIL_DOMAIN}>"
                    if by_email else None,
                    "created_at": moment})
            if client == bench_client and i == showcase:
                loader.add("read_markers", {"user_id": client, "order_id": order_id,
                                            "last_read_at": moments[-20],
                                            "previous_read_at": moments[-60],
                                            "unread": 0})  # counted after the load
        if submitted is not None:
            money_orders.append((order_id, company_of[client], status, submitted,
                                 order.get("closed_at"), order["price_total"],
                                 order["writer_pay_total"], order.get("writer_id"),
                                 order["price_per_word"], order["rush_surcharge"], words_max,
                                 heading))
        if i == showcase:
            dataset.showcase_order_id = order_id
        if i == contention:
            dataset.contention_order_id = order_id
        if (i + 1) % 50_000 == 0:
            log(f"  orders: {i + 1:,} of {n:,} ({time.perf_counter() - started:.0f} s)")

    _money(loader, rnd, money_orders, company_of, writers, managers[0], start, now, log)
    loader.finish()
    _count_statuses(engine)
    _add_up_ledgers(engine)
    log(f"  rows written ({time.perf_counter() - started:.1f} s)")
    _count_unread(engine)
    log(f"  unread counters ({time.perf_counter() - started:.1f} s)")
    _after_load(engine)
    pages = max(1, math.ceil(dataset.client_orders / Config.ORDERS_PER_PAGE))
    dataset.deep_page = max(1, round(pages * 0.8))
    dataset.contention_writer_ids = qualified[("fr", tier_ids[0])][1:CLAIMERS + 1]
    dataset.rows = dict(loader.counts)
    dataset.bytes_of_text = loader.text_bytes
    dataset.shingle_seconds = round(loader.shingle_seconds, 2)
    dataset.shingle_table_bytes = _table_bytes(engine, "text_shingles")
    dataset.load_seconds = round(time.perf_counter() - started, 2)
    engine.dispose()
    return dataset


def _report(order: dict, text: str) -> dict:
    """The compliance report `service.deliver` stores with a delivery, for the benchmark
    client's deliveries: the pages measured show stored reports, as every delivery made through
    the portal has one (computing it for each of the data set's deliveries would take half an
    hour at full size; a page computes it for a delivery without one). The originality part
    is the check's answer for a text with no source: the data set's articles share about 1 %
    of their phrases by chance, which the real check (no threshold) would list as sources, so
    the page measured draws no list of sources or marked passages."""
    from portal.orders.models import Order
    from portal.orders.originality import VERSION, shingles
    from portal.orders.report import build_report

    brief = Order(**{key: value for key, value in order.items() if hasattr(Order, key)})
    report = build_report(brief, text)
    report["originality"] = {"version": VERSION, "score": 0.0,
                             "phrases": len(set(shingles(text))), "sources": [], "passages": []}
    return report


def _table_bytes(engine: sa.Engine, table: str) -> int:
    """The size of a table with its indexes on disk (0 when SQLite has no dbstat)."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            return conn.scalar(sa.text("SELECT pg_total_relation_size(:t)"), {"t": table})
        try:
            return conn.scalar(sa.text("SELECT coalesce(sum(pgsize), 0) FROM dbstat "
                                       "WHERE name = :t"), {"t": table}) or 0
        except sa.exc.OperationalError:
            return 0
