"""How many orders are in each status, read from a small table instead of counted.

`order_status_counts` holds one row per status. It changes in the same transaction as the
orders it counts, and only in the places that create, move or delete an order:

- `workflow.apply`, after its conditional UPDATE won: one less in the source status, one more
  in the target (nothing for a move that keeps the status, a reassignment);
- `service.create_draft`: one more draft; `service.delete_draft`: one less.

`writer_loads` holds, the same way, each writer's orders being written and under review (the
dashboard's busiest writers): `workflow.apply` moves them with the order's writer and status.

Each change is one atomic upsert (`count = count + n`), so two requests moving orders at the
same moment never lose a count, and a rolled-back change leaves the counts as they were. On
PostgreSQL a count's row stays locked until the transaction ends: moves that touch the same
status queue there for the few milliseconds of a request. The rows of one change are written
in a fixed order (by status), so two moves never wait on each other crosswise, and a
transaction that moves several orders (the auto-approval) locks those orders before it takes
any count. Whatever writes orders another way (a bulk load, a repair by hand) calls
`recount()` afterwards; the mail worker recounts every night too, and logs any drift it finds
(portal/ops/recount.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import sqlalchemy as sa

from portal.extensions import db, upsert_insert
from portal.orders.models import WRITING_STATUSES, Order, OrderStatus, OrderStatusCount, WriterLoad

log = logging.getLogger(__name__)


def change(deltas: Mapping[OrderStatus, int]) -> None:
    """Add each delta to the count of its status (a negative delta takes away). One
    statement, none when every delta is zero."""
    rows = sorted((status.value, delta) for status, delta in deltas.items() if delta)
    if not rows:
        return
    table = OrderStatusCount.__table__
    stmt = upsert_insert()(table).values(
        [{"status": OrderStatus(status), "count": delta} for status, delta in rows]
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.status],
        set_={"count": table.c.count + stmt.excluded["count"]},
    )
    db.session.execute(stmt)


def moved(source: OrderStatus, target: OrderStatus) -> None:
    """One order went from `source` to `target`."""
    if source is not target:
        change({source: -1, target: 1})


# What a writer's open work counts, per status of their orders.
WORK = {**dict.fromkeys(WRITING_STATUSES, "writing"), OrderStatus.DELIVERED: "review"}
WRITER_COUNTS = ("writing", "review")


def writer_moved(before: tuple[int | None, OrderStatus], after: tuple[int | None, OrderStatus]
                 ) -> None:
    """An order went from (writer, status) `before` to `after`: each writer's open work follows,
    in one upsert (rows in writer order, as the counts per status), none when nothing changed."""
    deltas: dict[int, dict[str, int]] = {}
    for (writer, status), sign in ((before, -1), (after, 1)):
        if writer is not None and status in WORK:
            deltas.setdefault(writer, dict.fromkeys(WRITER_COUNTS, 0))[WORK[status]] += sign
    rows = [{"writer_id": writer, **row} for writer, row in sorted(deltas.items())
            if any(row.values())]
    if rows:
        table = WriterLoad.__table__
        stmt = upsert_insert()(table).values(rows)
        db.session.execute(stmt.on_conflict_do_update(index_elements=[table.c.writer_id], set_={
            kind: table.c[kind] + stmt.excluded[kind] for kind in WRITER_COUNTS}))


def _open_work(*first) -> sa.Select:
    """Per writer, the orders being written and under review, counted from the orders
    (ix_orders_status_writer_id), after the columns `first`."""
    counts = [sa.func.count().filter(Order.status.in_([s for s in WORK if WORK[s] == kind]))
              for kind in WRITER_COUNTS]
    return (sa.select(*first, Order.writer_id, *counts).where(
        Order.status.in_(list(WORK)), Order.writer_id.is_not(None)).group_by(Order.writer_id))


def _recount_writers(run) -> int:
    """writer_loads against _open_work(), as recount() does the counts per status."""
    table = WriterLoad.__table__
    found: dict[str, dict[tuple[int, str], int]] = {"stored": {}, "actual": {}}
    for side, writer, writing, review in run(sa.union_all(  # one statement, one snapshot
            sa.select(sa.literal("stored"), table), _open_work(sa.literal("actual")))):
        found[side].update({(writer, "writing"): writing, (writer, "review"): review})
    stored, actual = found["stored"], found["actual"]
    differ = sorted(key for key in {*stored, *actual} if stored.get(key, 0) != actual.get(key, 0))
    for writer, kind in differ:
        was, now = stored.get((writer, kind), 0), actual.get((writer, kind), 0)
        log.warning("counter drift: writer_loads[writer %d, %s] stored %d, actual %d",
                    writer, kind, was, now, extra={"counter": "writer_loads",
                    "key": (writer, kind), "stored": was, "actual": now})
    if differ:
        run(table.delete())
        run(table.insert().from_select(["writer_id", *WRITER_COUNTS], _open_work()))
    return len(differ)


def recount(connection: sa.Connection | None = None) -> int:
    """Rebuild the counts from the orders themselves (`SELECT status, count(*) … GROUP BY
    status`): after a bulk load that bypassed the services, or to repair (`flask orders
    recount`, and the mail worker every night), and each writer's open work (writer_loads)
    likewise. Each count that differed is logged as a warning (the status, stored and actual)
    before it is put right; returns how many differed (0: nothing written). Runs on
    `connection` when given, else in the session's transaction."""
    run = connection.execute if connection is not None else db.session.execute
    bind = connection if connection is not None else db.session.get_bind()
    if bind.dialect.name == "postgresql":
        # Waits for the transactions that are changing orders, and holds off new ones until
        # this one commits: nothing moves between the count and its writing.
        run(sa.text("LOCK TABLE orders IN SHARE MODE"))
    table = OrderStatusCount.__table__
    # One statement: both sides from the same snapshot, whatever moves meanwhile (SQLite).
    stored: dict[OrderStatus, int] = {}
    actual: dict[OrderStatus, int] = {}
    for side, status, count in run(sa.union_all(
        sa.select(sa.literal("stored"), table.c.status, table.c.count),
        sa.select(sa.literal("actual"), Order.status, sa.func.count()).group_by(Order.status),
    )):
        (stored if side == "stored" else actual)[OrderStatus(status)] = count
    # A status at zero may have a row or none: both mean 0.
    differ = sorted((status for status in {*stored, *actual}
                     if stored.get(status, 0) != actual.get(status, 0)),
                    key=lambda status: status.value)
    for status in differ:
        log.warning("counter drift: order_status_counts[%s] stored %d, actual %d",
                    status.value, stored.get(status, 0), actual.get(status, 0),
                    extra={"counter": "order_status_counts", "key": status.value,
                           "stored": stored.get(status, 0), "actual": actual.get(status, 0)})
    if differ:
        # Rewritten from the orders by the statements themselves (not from what was read
        # above): on SQLite the DELETE takes the write lock, so nothing moves before the
        # INSERT … SELECT counts.
        run(table.delete())
        run(table.insert().from_select(
            ["status", "count"],
            sa.select(Order.status, sa.func.count()).group_by(Order.status),
        ))
    return len(differ) + _recount_writers(run)


def counted() -> dict[OrderStatus, int]:
    """The counts as the table holds them, every status present (zero when absent)."""
    counts = dict.fromkeys(OrderStatus, 0)
    counts.update(dict(db.session.execute(
        sa.select(OrderStatusCount.status, OrderStatusCount.count)
    ).all()))
    return counts
