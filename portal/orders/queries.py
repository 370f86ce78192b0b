"""Loading orders with the visibility rules applied, and the bounded queries of the lists.

Each list loads what it shows with joins, paginates in the database and counts per status in
one grouped query (the agency's counts, over every order, come from `order_status_counts`), so
the number of statements does not grow with the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from types import SimpleNamespace
from typing import NamedTuple

import sqlalchemy as sa
from flask import abort
from flask_sqlalchemy.pagination import SelectPagination
from sqlalchemy.orm import aliased, joinedload

from portal import security_log
from portal.accounts.models import Role, User
from portal.extensions import any_holds, db, folded, holding, utcnow
from portal.orders import policies
from portal.orders.models import (
    LATE_STATUSES,
    WRITING_STATUSES,
    ContentType,
    Delivery,
    Order,
    OrderEvent,
    OrderStatus,
    OrderStatusCount,
    Tier,
    WriterLanguage,
    WriterLoad,
    writer_tiers,
)


def _with_relations(stmt: sa.Select) -> sa.Select:
    return stmt.options(
        joinedload(Order.client), joinedload(Order.writer), joinedload(Order.content_type),
        joinedload(Order.tier),
    )


def get_order_for(user: User, order_id: int) -> Order:
    """The order if `user` may see it; 404 otherwise (other people's orders do not exist)."""
    order = db.session.scalars(_with_relations(sa.select(Order).where(Order.id == order_id))
                               ).unique().one_or_none()
    return _visible(user, order)


def get_order_page(user: User, order_id: int, *columns) -> tuple[Order, tuple]:
    """The order with its brief's files if `user` may see it (404 otherwise), and the values
    of `columns` (scalar subqueries about the reader: their read marker, their unread
    notifications) read in the same statement: the order page decides from them whether it
    writes anything."""
    stmt = _with_relations(sa.select(Order, *columns).where(Order.id == order_id)) \
        .options(joinedload(Order.attachments))
    row = db.session.execute(stmt).unique().one_or_none()
    order = _visible(user, row[0] if row is not None else None)
    return order, tuple(row[1:])


def _visible(user: User, order: Order | None) -> Order:
    if order is None:
        abort(404)
    if not policies.can_see(user, order):
        security_log.access_refused("order", order_id=order.id)
        abort(404)
    return order


def status_counts(where: sa.ColumnElement[bool] | None = None) -> dict[OrderStatus, int]:
    stmt = sa.select(Order.status, sa.func.count()).group_by(Order.status)
    if where is not None:
        stmt = stmt.where(where)
    counts = dict.fromkeys(OrderStatus, 0)
    counts.update(dict(db.session.execute(stmt).all()))
    return counts


SORTS = {
    "newest": (Order.created_at.desc(), Order.id.desc()),
    "oldest": (Order.created_at.asc(), Order.id.asc()),
    "deadline": (Order.deadline.asc(), Order.id.asc()),
}


@dataclass
class ListFilters:
    status: str = ""
    q: str = ""
    sort: str = "newest"
    language: str = ""
    tier_id: int | None = None
    content_type_id: int | None = None
    writer_id: int | None = None
    overdue: bool = False


class OrderRow(SimpleNamespace):
    """One row of an order list: the columns the list shows as plain values (no ORM object, no
    relation), with the order's own rules for what rows derive from them."""

    reference = property(lambda self: Order.reference_of(self.id))
    is_overdue = Order.is_overdue
    is_final = Order.is_final

    def type_name(self, locale: str) -> str:
        return self.type_fr if locale == "fr" else self.type_en


# What every list shows; each list adds its own columns and names (_names()).
ORDER_COLUMNS = (Order.id, Order.title, Order.status, Order.deadline, Order.currency)


@cache
def _names() -> dict[str, tuple]:
    """What a list may show beside the order's own columns: name -> (column, what it is
    read from, how that joins the order; outer for the writer, whom an order may lack). Built
    on first use: aliases configure the mappers, which need every model imported first."""
    client, writer, tier = (aliased(User, name="client"), aliased(User, name="writer"),
                            aliased(Tier, name="tier"))
    return {
        "type_fr": (ContentType.name_fr, ContentType, ContentType.id == Order.content_type_id),
        "type_en": (ContentType.name_en, ContentType, ContentType.id == Order.content_type_id),
        "tier_name": (Tier.name, Tier, Tier.id == Order.tier_id),
        # The Tier itself (one object per level, shared by the rows): what prices a draft.
        "tier": (tier, tier, tier.id == Order.tier_id),
        "client_name": (client.display_name, client, client.id == Order.client_id),
        "writer_name": (writer.display_name, writer, writer.id == Order.writer_id),
    }


def _rows_select(columns: tuple, names: tuple[str, ...]) -> sa.Select:
    known = _names()
    named = [known[name][0] if known[name][0] is known[name][1] else known[name][0].label(name)
             for name in names]
    stmt = sa.select(*ORDER_COLUMNS, *columns, *named).select_from(Order)
    joined = set()
    for name in names:
        _column, target, on = known[name]
        if target not in joined:
            joined.add(target)
            stmt = stmt.outerjoin(target, on) if name == "writer_name" else stmt.join(target, on)
    return stmt


class OrderPage(SelectPagination):
    """Flask-SQLAlchemy's pagination of a select of orders, with three changes that keep a
    page's cost the same whatever the page and the size of the data:

    - the page's orders are found by their ids first (an index-only walk past the earlier
      pages), then loaded; an OFFSET over the joined rows would build every skipped row;
    - a list that names its `columns` and `names` (_names()) gets OrderRow objects with only
      those values, read as plain rows: no Order, User, type or tier objects to build;
      without, Order objects with their relations;
    - `total`, when the caller already knows it (from the counts per status it shows anyway),
      replaces the count query.
    """

    def _query_items(self) -> list[Order] | list[OrderRow]:
        args = self._query_args
        ids = args["select"].with_only_columns(Order.id).limit(self.per_page) \
            .offset(self._query_offset).scalar_subquery()
        if args.get("columns") is None:
            stmt = _with_relations(sa.select(Order).where(Order.id.in_(ids)))
            return list(args["session"].scalars(stmt.order_by(*args["order_by"])))
        stmt = _rows_select(args["columns"], args["names"]).where(Order.id.in_(ids))
        rows = args["session"].execute(stmt.order_by(*args["order_by"]))
        return [OrderRow(**row) for row in rows.mappings()]

    def _query_count(self) -> int:
        total = self._query_args.get("total")
        return total if total is not None else super()._query_count()


def paginate(condition: sa.ColumnElement[bool], filters: ListFilters, page: int, per_page: int,
             *, total: int | None = None, columns: tuple = (),
             names: tuple[str, ...] = ()) -> OrderPage:
    """The orders matching `condition` and `filters`, one page of them, as OrderRow objects
    with ORDER_COLUMNS, `columns` and `names` (_names())."""
    order_by = SORTS.get(filters.sort, SORTS["newest"])
    stmt = _apply_filters(sa.select(Order).where(condition), filters)
    return OrderPage(page=page, per_page=per_page, error_out=False, select=stmt,
                     session=db.session(), order_by=order_by, total=total, columns=columns,
                     names=names)


def known_total(filters: ListFilters, counts: dict[OrderStatus, int]) -> int | None:
    """The number of orders a list shows, from its counts per status, when no other filter
    than the status applies; None otherwise."""
    others = (filters.q, filters.language, filters.tier_id, filters.content_type_id,
              filters.writer_id, filters.overdue)
    if any(others):
        return None
    if filters.status in {s.value for s in OrderStatus}:
        return counts.get(OrderStatus(filters.status), 0)
    return sum(counts.values())


def _apply_filters(stmt: sa.Select, filters: ListFilters) -> sa.Select:
    if filters.status in {s.value for s in OrderStatus}:
        stmt = stmt.where(Order.status == OrderStatus(filters.status))
    if filters.q and filters.q.strip():
        stmt = stmt.where(any_holds(filters.q.strip(), Order.title))
    if filters.language:
        stmt = stmt.where(Order.language == filters.language)
    if filters.tier_id:
        stmt = stmt.where(Order.tier_id == filters.tier_id)
    if filters.content_type_id:
        stmt = stmt.where(Order.content_type_id == filters.content_type_id)
    if filters.writer_id:
        stmt = stmt.where(Order.writer_id == filters.writer_id)
    if filters.overdue:
        stmt = stmt.where(_overdue())
    return stmt.order_by(*SORTS.get(filters.sort, SORTS["newest"]))


def client_orders(client: User, filters: ListFilters, page: int, per_page: int, *,
                  total: int | None = None):
    """A page of "My orders"; each row's `tier` (a Tier, one per level) prices a draft."""
    return paginate(Order.client_id == client.id, filters, page, per_page, total=total,
                    columns=(Order.price_total, Order.words_max), names=("tier",))


def pool_condition(writer: User) -> sa.ColumnElement[bool]:
    """Open orders this writer may take now: their language and tier, not offered to someone
    else."""
    now = utcnow()
    return sa.and_(
        Order.status == OrderStatus.OPEN,
        Order.language.in_(
            sa.select(WriterLanguage.language).where(WriterLanguage.user_id == writer.id)
        ),
        Order.tier_id.in_(
            sa.select(writer_tiers.c.tier_id).where(writer_tiers.c.user_id == writer.id)
        ),
        sa.or_(Order.offered_until.is_(None), Order.offered_until <= now,
               Order.preferred_writer_id == writer.id),
    )


def pool_for(writer: User, filters: ListFilters, page: int, per_page: int):
    filters.status = ""
    if filters.sort not in SORTS:
        filters.sort = "deadline"
    return paginate(pool_condition(writer), filters, page, per_page,
                    columns=(Order.words_min, Order.words_max, Order.language,
                             Order.writer_pay_total, Order.preferred_writer_id,
                             Order.offered_until),
                    names=("type_fr", "type_en", "tier_name"))


def writer_assignments(writer: User, statuses: tuple[OrderStatus, ...], order_by: tuple,
                       page: int, per_page: int, *, total: int) -> OrderPage:
    """A page of the writer's orders in `statuses` ("My assignments"), `total` of them."""
    stmt = sa.select(Order).where(Order.writer_id == writer.id, Order.status.in_(statuses))
    return OrderPage(page=page, per_page=per_page, error_out=False,
                     select=stmt.order_by(*order_by), session=db.session(), order_by=order_by,
                     total=total, names=("type_fr", "type_en", "tier_name"),
                     columns=(Order.words_min, Order.words_max, Order.language,
                              Order.writer_pay_total, Order.rating))


def all_orders(filters: ListFilters, page: int, per_page: int, *, total: int | None = None):
    return paginate(Order.status != OrderStatus.DRAFT, filters, page, per_page, total=total,
                    columns=(Order.price_total, Order.language),
                    names=("type_fr", "type_en", "tier_name", "client_name", "writer_name"))


def _overdue() -> sa.ColumnElement[bool]:
    """Late and still waiting on the agency: read on ix_orders_status_deadline, so counting
    them reads the late active orders only, never the finished ones."""
    return sa.and_(Order.status.in_(LATE_STATUSES), Order.deadline < utcnow())


def overdue_count(where: sa.ColumnElement[bool] | None = None) -> int:
    stmt = sa.select(sa.func.count()).select_from(Order).where(_overdue())
    if where is not None:
        stmt = stmt.where(where)
    return db.session.scalar(stmt) or 0


def agency_counts() -> tuple[dict[OrderStatus, int], int]:
    """Every order of the agency per status, drafts included (from `order_status_counts`,
    not counted), and how many are overdue: one statement, the same cost at any size."""
    late = sa.select(sa.func.count().label("overdue")).select_from(Order) \
        .where(_overdue()).subquery("late")
    counters = OrderStatusCount.__table__
    rows = db.session.execute(
        sa.select(late.c.overdue, OrderStatusCount.status, OrderStatusCount.count)
        # Outer: the overdue count comes back even before any order was ever counted.
        .select_from(late.outerjoin(counters, sa.true()))
    ).all()
    counts = dict.fromkeys(OrderStatus, 0)
    counts.update({status: count for _late, status, count in rows if status is not None})
    return counts, rows[0].overdue if rows else 0


ACTIVE_WRITER = sa.and_(User.role == Role.WRITER, User.active.is_(True))


def writer_binds(wanted: str, matches: int) -> dict:
    """The parameters of writers_matching: up to `matches` writers holding `wanted`."""
    return {"wanted": wanted, "pattern": holding(wanted), "matches": matches}


def writers_matching() -> sa.Select:
    """`matches` active writers (id, display_name, email) whose name or address holds `pattern`
    (writer_binds), `wanted` first; both sides folded by the same database (extensions.folded)."""
    wanted, pattern = (folded(sa.bindparam(name, type_=sa.String))
                       for name in ("wanted", "pattern"))
    name, email = folded(User.display_name), folded(User.email)
    return (sa.select(User.id, User.display_name, User.email)
            .where(ACTIVE_WRITER, sa.or_(*(c.like(pattern, escape="/") for c in (name, email))))
            .order_by(sa.or_(email == wanted, name == wanted).desc(), User.display_name,
                      User.id).limit(sa.bindparam("matches")))


def writer_load(shown: int, named: int | None, search: dict) -> SimpleNamespace:
    """In one statement: `busiest`, the `shown` busiest active writers (rows with id,
    display_name, email, writing, review); `busy` and `writers`, how many active writers have
    open work and how many there are; `named`, the active writer of that id (a link to their
    orders) or None; `matches`, the writers `search` finds (writers_matching). Bounded by the
    open work (_open_work): the idle writers are only counted."""
    rows = db.session.execute(_writer_load_statement(shown), {"named": named, **search}).all()
    kinds = {kind: [row for row in rows if row.kind == kind] for kind in (0, 1, 2)}
    return SimpleNamespace(busiest=kinds[0], busy=rows[0].busy or 0, writers=rows[0].writers,
                           named=(kinds[2] or [None])[0], matches=kinds[1])


def _writers() -> sa.CTE:
    """The active writers (id, display_name, email), read once by the statement from the role's
    index. MATERIALIZED, because joined straight to writer_loads or the skills PostgreSQL merges
    on the users' primary key and filters, reading every user after the last writer's id (8 ms
    for 20,000 clients against 0.3 ms here, at the bench's full size)."""
    return (sa.select(User.id, User.display_name, User.email).where(ACTIVE_WRITER)
            .cte("writers").prefix_with("MATERIALIZED"))


def _open_work() -> sa.Subquery:
    """Per writer with open work, orders being written and under review, as writer_loads keeps
    them (portal/orders/status_counts.py): never every open order grouped."""
    return sa.select(WriterLoad).where(WriterLoad.writing + WriterLoad.review > 0) \
        .subquery("work")


def least_busy_writers(order: Order, limit: int) -> list[sa.Row]:
    """Up to `limit` active writers of the order's language and tier but its own writer, least
    busy first (rows with id, display_name, email, writing, review). Bounded by the open work,
    not by the writers: the idle are the first `limit` found, never every writer sorted."""
    return db.session.execute(_least_busy_statement(limit), {"writer": order.writer_id or 0,
                              "language": order.language, "tier": order.tier_id}).all()


@lru_cache(maxsize=2)  # built once, as _writer_load_statement
def _least_busy_statement(limit: int) -> sa.Select:
    # Correlated: each writer met is checked on the skills' keys (IN would list every one).
    writers, work, zero = _writers(), _open_work(), sa.literal_column("0")
    skilled = sa.and_(writers.c.id != sa.bindparam("writer"), sa.exists().where(
        WriterLanguage.user_id == writers.c.id,
        WriterLanguage.language == sa.bindparam("language")),
        sa.exists().where(writer_tiers.c.user_id == writers.c.id,
                          writer_tiers.c.tier_id == sa.bindparam("tier")))
    busy = (sa.select(writers, work.c.writing, work.c.review)
            .join(work, work.c.writer_id == writers.c.id).where(skilled)
            .order_by(work.c.writing + work.c.review, writers.c.display_name, writers.c.id)
            .limit(limit).subquery("busy"))
    idle = (sa.select(writers, zero.label("writing"), zero.label("review")).limit(limit)
            .where(skilled, writers.c.id.not_in(  # without NULL: NOT IN (…, NULL) is never true
                sa.select(work.c.writer_id).where(work.c.writer_id.is_not(None))))
            .subquery("idle"))
    rows = sa.union_all(sa.select(busy), sa.select(idle)).subquery("rows")
    return sa.select(rows).order_by(rows.c.writing + rows.c.review, rows.c.display_name,
                                    rows.c.id).limit(limit)


@lru_cache(maxsize=4)  # one per size shown (README "Caches")
def _writer_load_statement(shown: int) -> sa.Select:
    # Built once: its subqueries cost more to put together than the database takes to run it.
    work, writers = _open_work(), _writers()
    busiest = (sa.select(writers, work.c.writing, work.c.review,
                         sa.func.count().over().label("busy"))  # before the LIMIT
               .join(work, work.c.writer_id == writers.c.id)
               .order_by(work.c.writing.desc(), writers.c.display_name, writers.c.id)
               .limit(shown).subquery("busiest"))
    found = writers_matching().subquery("found")
    named = sa.select(sa.literal_column("2"), User.id, User.display_name, User.email,
                      *[sa.null()] * 3).where(ACTIVE_WRITER, User.id == sa.bindparam("named"))
    rows = sa.union_all(  # 1: the writers matching what is typed; 2: the one of a link
        sa.select(sa.literal_column("0").label("kind"), busiest),
        sa.select(sa.literal_column("1"), found, *[sa.null()] * 3), named,
    ).subquery("rows")
    team = sa.select(sa.func.count().label("writers")).select_from(writers).subquery("team")
    # Outer: the writers are counted even when nobody has work.
    return (sa.select(team.c.writers, rows).select_from(team.outerjoin(rows, sa.true()))
            .order_by(rows.c.kind, rows.c.writing.desc(), rows.c.display_name, rows.c.id))


def timeline(order: Order) -> list[OrderEvent]:
    return list(db.session.scalars(
        sa.select(OrderEvent).options(joinedload(OrderEvent.actor))
        .where(OrderEvent.order_id == order.id).order_by(OrderEvent.created_at, OrderEvent.id)
    ))


def deliveries(order: Order, viewer: User | None = None) -> list[Delivery]:
    """The order's deliveries in order, those `viewer` may read (a client: only those that
    reached them); all of them without a viewer."""
    stmt = sa.select(Delivery).where(Delivery.order_id == order.id).order_by(Delivery.number)
    if viewer is not None and viewer.role is Role.CLIENT:
        stmt = stmt.where(Delivery.released_at.is_not(None))
    return list(db.session.scalars(stmt))


def review_queue(page: int, per_page: int) -> OrderPage:
    """The orders in review, oldest delivery first (the one waiting longest), one page: read
    on ix_orders_status_deadline's status, the same few statements at any size."""
    stmt = sa.select(Order).where(Order.status == OrderStatus.IN_REVIEW)
    order_by = (Order.updated_at.asc(), Order.id.asc())
    return OrderPage(page=page, per_page=per_page, error_out=False,
                     select=stmt.order_by(*order_by), session=db.session(),
                     order_by=order_by, total=None)


def _approved_in(whose: sa.ColumnElement[bool], start: datetime,
                 end: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(whose, Order.status == OrderStatus.APPROVED, Order.closed_at >= start,
                   Order.closed_at < end)


def count_approved_texts(whose: sa.ColumnElement[bool], start: datetime, end: datetime) -> int:
    """How many of the orders `whose` picks (`Order.client_id == …`, `Order.company_id == …`)
    were approved in [start, end)."""
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Order).where(_approved_in(whose, start, end)))


def last_delivery_number() -> sa.ScalarSelect:
    """The number of the last delivery of the order of the enclosing statement."""
    return sa.select(sa.func.max(Delivery.number)).where(
        Delivery.order_id == Order.id).correlate(Order).scalar_subquery()


def approved_texts(whose: sa.ColumnElement[bool], start: datetime, end: datetime, *,
                   batch: int = 20):
    """The orders `whose` picks approved in [start, end), oldest first, each with the text of
    its last delivery: rows (id, title, language, closed_at, text), fetched `batch` at a time
    (one statement; a long period never sits whole in memory)."""
    stmt = (
        sa.select(Order.id, Order.title, Order.language, Order.closed_at, Delivery.text)
        .join(Delivery, sa.and_(Delivery.order_id == Order.id,
                                Delivery.number == last_delivery_number()))
        .where(_approved_in(whose, start, end))
        .order_by(Order.closed_at, Order.id)
        .execution_options(yield_per=batch)
    )
    return db.session.execute(stmt)


def latest_delivery(order: Order) -> Delivery | None:
    """The order's last delivery (for an approved order, the approved text): one statement."""
    return db.session.scalar(
        sa.select(Delivery).where(Delivery.order_id == order.id)
        .order_by(Delivery.number.desc()).limit(1)
    )


@dataclass
class HomeSummary:
    counts: dict[OrderStatus, int]
    overdue: int
    recent: list[Order]
    pool_size: int = 0


def home_summary(user: User) -> HomeSummary:
    """What the home page shows each role: counts by status, what is late, the latest orders.
    Four statements at most, whatever the data (two for a manager: the agency's counts come
    from `order_status_counts`)."""
    if user.role is Role.CLIENT:
        mine = Order.client_id == user.id
        order_by = (Order.updated_at.desc(), Order.id.desc())
    elif user.role is Role.WRITER:
        mine = Order.writer_id == user.id
        order_by = (Order.deadline.asc(), Order.id.asc())
    elif user.role is Role.EDITOR:
        mine = Order.status == OrderStatus.IN_REVIEW
        order_by = (Order.updated_at.asc(), Order.id.asc())
    else:
        mine = Order.status != OrderStatus.DRAFT
        order_by = (Order.updated_at.desc(), Order.id.desc())
    recent_filter = mine
    if user.role is Role.WRITER:
        recent_filter = sa.and_(mine, Order.status.in_(WRITING_STATUSES))
    recent = list(db.session.scalars(
        _with_relations(sa.select(Order).where(recent_filter)).order_by(*order_by).limit(5)
    ))
    if user.role is Role.MANAGER:
        counts, overdue = agency_counts()
        counts[OrderStatus.DRAFT] = 0  # a client's drafts are not the agency's yet
        summary = HomeSummary(counts=counts, overdue=overdue, recent=recent)
    else:
        summary = HomeSummary(counts=status_counts(mine), overdue=overdue_count(mine),
                              recent=recent)
    if user.role is Role.WRITER:
        summary.pool_size = db.session.scalar(
            sa.select(sa.func.count(Order.id)).where(pool_condition(user))
        ) or 0
    return summary


class PoolShare(NamedTuple):
    tier_id: int
    tier_name: str
    language: str
    count: int


@dataclass
class PoolOffer:
    """What the pool holds for a writer, by level and language, and whether they have the
    languages and levels that let them take anything at all."""

    shares: list[PoolShare]
    has_skills: bool

    @property
    def total(self) -> int:
        return sum(share.count for share in self.shares)


def pool_offer(writer: User) -> PoolOffer:
    """The open orders this writer may take now (pool_condition), counted by tier and
    language: two statements, whatever the size of the pool."""
    rows = db.session.execute(
        sa.select(Order.tier_id, Tier.name, Order.language, sa.func.count(Order.id))
        .join(Tier, Tier.id == Order.tier_id)
        .where(pool_condition(writer))
        .group_by(Order.tier_id, Tier.name, Tier.position, Order.language)
        .order_by(Tier.position, Tier.name, Order.language)
    ).all()
    languages = sa.select(sa.func.count()).select_from(WriterLanguage) \
        .where(WriterLanguage.user_id == writer.id).scalar_subquery()
    tiers = sa.select(sa.func.count()).select_from(writer_tiers) \
        .where(writer_tiers.c.user_id == writer.id).scalar_subquery()
    skills = db.session.execute(sa.select(languages, tiers)).one()
    return PoolOffer(shares=[PoolShare(*row) for row in rows],
                     has_skills=bool(skills[0] and skills[1]))


def catalogue() -> tuple[list[ContentType], list[Tier]]:
    """The active content types and tiers, in the agency's order: what a new client can buy."""
    types = list(db.session.scalars(
        sa.select(ContentType).where(ContentType.active.is_(True))
        .order_by(ContentType.position, ContentType.id)))
    tiers = list(db.session.scalars(
        sa.select(Tier).where(Tier.active.is_(True)).order_by(Tier.position, Tier.id)))
    return types, tiers
