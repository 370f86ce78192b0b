"""Fixtures: the app on a fresh database, HTTP clients per role, a real SMTP server on loopback,
a live server and Chromium through Playwright.

The database is SQLite in a temporary file unless TEST_DATABASE_URL names a PostgreSQL server:
then a new database is created on it for this run and dropped at the end.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from config import TestingConfig
from portal import create_app
from portal.extensions import db
from tests.factories import Factory

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _fresh_postgres(url: str) -> tuple[str, callable]:
    base = sa.engine.make_url(url)
    name = f"portal_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), drop


def new_database_url(tmp_path_factory) -> tuple[str, callable]:
    """A URL to an empty database of the kind this run tests, and how to remove it."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if url.startswith(("postgresql", "postgres")):
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://"):]
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        return _fresh_postgres(url)
    path = tmp_path_factory.mktemp("db") / f"{uuid.uuid4().hex[:8]}.db"
    return f"sqlite:///{path}", lambda: None


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url, drop = new_database_url(tmp_path_factory)
    yield url
    drop()


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory) -> Flask:
    app = create_app(
        TestingConfig,
        SQLALCHEMY_DATABASE_URI=database_url,
        MAILBOX_DIR=str(tmp_path_factory.mktemp("maildir")),
    )
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
        db.engine.dispose()
    return app


def status_counts_disagree() -> str | None:
    """What `order_status_counts` says against `SELECT status, count(*) … GROUP BY status`;
    None when they agree (a status at zero may have a row or none)."""
    from portal.orders.models import Order, OrderStatusCount

    counted = {status: n for status, n in db.session.execute(
        sa.select(OrderStatusCount.status, OrderStatusCount.count)) if n}
    real = dict(db.session.execute(
        sa.select(Order.status, sa.func.count()).group_by(Order.status)).all())
    if counted == real:
        return None
    return f"order_status_counts {counted} but the orders are {real}"


def writer_loads_disagree() -> str | None:
    """What `writer_loads` says against each writer's orders being written and under review
    counted; None when they agree (a writer with none may have a row of zeros or none)."""
    from portal.orders.models import Order, OrderStatus, WriterLoad

    S = OrderStatus
    stored = {row.writer_id: (row.writing, row.review) for row in db.session.execute(
        sa.select(WriterLoad)).scalars() if row.writing or row.review}
    real = {writer: (writing, review) for writer, writing, review in db.session.execute(
        sa.select(Order.writer_id,
                  sa.func.count().filter(Order.status.in_([S.IN_PROGRESS, S.REVISION_REQUESTED])),
                  sa.func.count().filter(Order.status == S.DELIVERED))
        .where(Order.writer_id.is_not(None)).group_by(Order.writer_id)) if writing or review}
    if stored == real:
        return None
    return f"writer_loads {stored} but the orders are {real}"


def every_row(engine: sa.Engine, only: dict[str, set[str]] | None = None
              ) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table the database has (read from the database, not the models), as
    text, sorted: two databases with the same data give the same answer. `only`: just those
    tables and, of each, those columns."""
    found = {}
    with engine.connect() as conn:
        for name in sorted(sa.inspect(conn).get_table_names()):
            if only is not None and name not in only:
                continue
            table = sa.Table(name, sa.MetaData(), autoload_with=conn)
            columns = [c for c in table.columns if only is None or c.name in only[name]]
            rows = conn.execute(sa.select(*columns)).all()
            found[name] = sorted(tuple(str(value) for value in row) for row in rows)
    return found


def head_revision() -> str:
    """The newest revision of migrations/ (whatever later issues add)."""
    from alembic.script import ScriptDirectory

    from portal import ROOT

    return ScriptDirectory(str(ROOT / "migrations")).get_current_head()


def counters_disagree() -> list[str]:
    """Every counter the portal keeps against what it counts: orders per status, each writer's
    open work, and each person's unread messages per order (read_markers.unread against the
    definition)."""
    from portal.accounts.models import User
    from portal.messaging.models import ReadMarker
    from portal.messaging.queries import recount_unread

    problems = [found for found in (status_counts_disagree(), writer_loads_disagree()) if found]
    for user in db.session.scalars(sa.select(User)):
        kept = dict(db.session.execute(
            sa.select(ReadMarker.order_id, ReadMarker.unread)
            .where(ReadMarker.user_id == user.id, ReadMarker.unread > 0)).all())
        real = recount_unread(user)
        if kept != real:
            problems.append(f"unread of user {user.id}: kept {kept}, counted {real}")
    ledgers = ledgers_disagree()
    return [*problems, ledgers] if ledgers else problems
def ledgers_disagree() -> str | None:
    """Companies whose stored balance or reserved amount differ from their ledger's sums
    (portal.billing.ledger); None when every one agrees."""
    from portal.billing.ledger import disagreements

    found = disagreements()
    return f"stored (balance, held) against the ledger's sums: {found}" if found else None


def empty_database(app: Flask) -> None:
    """Empty every table (the schema stays), and on PostgreSQL start every sequence again, as
    after each test: for a module that builds its world once, or a test that starts over."""
    with app.app_context():
        db.session.remove()
        tables = list(reversed(db.metadata.sorted_tables))
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                _empty_postgres(conn, tables)
            else:
                for table in tables:
                    conn.execute(table.delete())


def _empty_postgres(conn: sa.Connection, tables: list[sa.Table]) -> None:
    """TRUNCATE only the tables that hold rows, and restart only the sequences that were used:
    the same end as truncating every table with RESTART IDENTITY, which costs about 85 ms per
    test whatever the test wrote (against about 5 ms on SQLite), minutes over the suite."""
    holding = conn.execute(sa.union_all(*(
        sa.select(sa.literal(t.name)).where(sa.exists().select_from(t)) for t in tables
    ))).scalars().all()
    used = conn.execute(sa.text(
        "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) FROM pg_sequences "
        "WHERE schemaname = current_schema() AND last_value IS NOT NULL")).scalars().all()
    if holding:
        names = ", ".join(f'"{name}"' for name in holding)
        conn.execute(sa.text(f"TRUNCATE {names} CASCADE"))
    for sequence in used:
        conn.execute(sa.text(f"ALTER SEQUENCE {sequence} RESTART"))


def check_and_empty(app: Flask) -> None:
    """The end of a test: the counts of orders per status and each writer's open work must
    agree with the orders, and every company's stored balance with its ledger; then every
    table is emptied. A module whose
    tests share a module-scoped world calls it once, at the world's end (and replaces the
    per-test `_clean_database` with one that does nothing)."""
    with app.app_context():
        db.session.remove()
        disagreement = (status_counts_disagree() or writer_loads_disagree()
                        or ledgers_disagree())
        db.session.remove()
    empty_database(app)
    assert disagreement is None, disagreement


@pytest.fixture(autouse=True)
def _clean_database(request, app):
    """Every test starts with empty tables (the schema stays), and ends with check_and_empty."""
    yield
    check_and_empty(app)


# --- SQL statements -----------------------------------------------------------------------


@contextmanager
def counted_statements(app: Flask, *, parameters: bool = False) -> Iterator[list]:
    """Every SQL statement the app sends to its database inside the block, in order (with
    `parameters`, as (statement, parameters) pairs). Budgets of pages are counted with it."""
    found: list = []
    with app.app_context():
        engine = db.engine

    def record(_conn, _cursor, statement, sent, *_args):
        found.append((statement, sent) if parameters else statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield found
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def statements_of(app: Flask, client: FlaskClient, url: str, **kwargs) -> list[str]:
    """The SQL statements of one GET of `url` (keyword arguments go to the client's get), which
    must answer 200."""
    with counted_statements(app) as found:
        response = client.get(url, **kwargs)
    assert response.status_code == 200, f"{url} answered {response.status_code}"
    return found


@pytest.fixture
def ctx(app):
    """An app context for database work inside a test. Requests made through the test client
    must not run inside it (they would share its session and Flask-Login's cached user)."""

    @contextmanager
    def open_context():
        with app.app_context():
            yield db.session

    return open_context


@pytest.fixture
def factory(app) -> Factory:
    return Factory(app)


# --- HTTP clients -------------------------------------------------------------------------

CSRF_RE = re.compile(r'name="(?:[a-z]+-)?csrf_token" type="hidden" value="([^"]+)"')


class PortalClient(FlaskClient):
    """The test client with helpers that submit forms the way a browser does (CSRF included)."""

    def csrf_token(self, page: str | None = None) -> str:
        response = self.get(page or "/login", follow_redirects=True)
        match = CSRF_RE.search(response.get_data(as_text=True))
        assert match, f"no CSRF token on {page or '/login'}"
        return match.group(1)

    def submit(self, url: str, data: dict | None = None, *, page: str | None = None, **kwargs):
        """POST `data` to `url` with a CSRF token taken from `page` (default: `url` itself for a
        form page, or the home page)."""
        payload = dict(data or {})
        payload.setdefault("csrf_token", self.csrf_token(page or url))
        return self.post(url, data=payload, **kwargs)

    def login(self, email: str, password: str, remember: bool = False, **kwargs):
        data = {"email": email, "password": password}
        if remember:
            data["remember"] = "y"
        return self.submit("/login", data, **kwargs)


@pytest.fixture
def client(app) -> PortalClient:
    app.test_client_class = PortalClient
    return app.test_client()


@pytest.fixture
def make_client(app):
    def make() -> PortalClient:
        app.test_client_class = PortalClient
        return app.test_client()

    return make


@pytest.fixture
def login_as(make_client, factory):
    """A client logged in as a new user of that role: login_as("manager")."""

    def login(role_or_user, **kwargs) -> PortalClient:
        user = factory.user(role=role_or_user, **kwargs) if isinstance(role_or_user, str) \
            else role_or_user
        client = make_client()
        response = client.login(user.email, Factory.PASSWORD)
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        client.user = user
        return client

    return login


# --- SMTP on loopback ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """A real SMTP server on loopback that keeps what it receives."""

    def __init__(self, app: Flask) -> None:
        from aiosmtpd.controller import Controller

        self.app = app
        self.messages: list = []
        self.lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.running = False

    async def handle_DATA(self, server, session, envelope):
        import email
        from email import policy

        message = email.message_from_bytes(envelope.content, policy=policy.default)
        message.raw_bytes = envelope.content  # as they crossed SMTP, for what parsing hides
        with self.lock:
            self.messages.append(message)
        return "250 OK"

    def start(self) -> None:
        self.controller.start()
        self.running = True

    def stop(self) -> None:
        if self.running:
            self.controller.stop()
            self.running = False

    def deliver(self):
        """Run one dispatcher pass, as the mail worker would, and return its report."""
        from portal.notifications.dispatcher import send_pending

        with self.app.app_context():
            return send_pending()

    def to(self, address: str) -> list:
        return [m for m in self.messages if address in str(m["To"])]

    def last_to(self, address: str):
        found = self.to(address)
        assert found, f"no email to {address}; got {[str(m['To']) for m in self.messages]}"
        return found[-1]

    @staticmethod
    def text(message) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()

    @staticmethod
    def html(message) -> str:
        return message.get_body(preferencelist=("html",)).get_content()

    @classmethod
    def link(cls, message, contains: str = "/") -> str:
        """The first portal link in the plain-text part whose path contains `contains`."""
        for url in re.findall(r"https?://\S+", cls.text(message)):
            if contains in url:
                return url
        raise AssertionError(f"no link with {contains!r} in:\n{cls.text(message)}")

    @classmethod
    def path(cls, message, contains: str = "/") -> str:
        from urllib.parse import urlsplit

        return urlsplit(cls.link(message, contains)).path


@contextmanager
def relay(app: Flask, handler_class: type[Mailbox] = Mailbox) -> Iterator[Mailbox]:
    """A real SMTP server of `handler_class` (a Mailbox, or one that refuses or watches) on
    loopback, that the app sends to meanwhile."""
    box = handler_class(app)
    box.start()
    previous = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = box.port
    try:
        yield box
    finally:
        app.config["MAIL_PORT"] = previous
        box.stop()


@pytest.fixture
def mailbox(app):
    with relay(app) as box:
        yield box


# --- processes of the portal and the services they share ----------------------------------


class Processes:
    """Processes of the portal a test starts for real (web nodes, mail workers), each writing
    to a log of its own under `folder`. Every wait polls a condition until a deadline and fails
    with the logs, at once if one of the processes exited meanwhile; nothing sleeps blindly."""

    def __init__(self, folder: Path, wait_seconds: float = 45) -> None:
        self.folder = folder
        self.wait_seconds = wait_seconds
        self.started: list[tuple[str, subprocess.Popen, Path]] = []

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = self.folder / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(command, cwd=Path(__file__).resolve().parents[1],
                                       env={**env, "PYTHONUNBUFFERED": "1"}, stdout=out,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        self.started.append((name, process, log))
        return process

    def flask(self, name: str, *arguments: str, env: dict[str, str]) -> subprocess.Popen:
        """`flask --app portal <arguments>` with this interpreter."""
        return self.start(name, [sys.executable, "-m", "flask", "--app", "portal", *arguments],
                          env)

    def log(self, name: str) -> str:
        return next(log.read_text(errors="replace") for n, _p, log in self.started if n == name)

    def logs(self) -> str:
        return "\n".join(f"--- {name} ---\n{log.read_text(errors='replace')[-3000:]}"
                         for name, _process, log in self.started if log.exists())

    def wait_for(self, condition, what: str, *, watch: list[subprocess.Popen] | None = None
                 ) -> None:
        """Poll `condition` until it holds; fail if a process in `watch` (default: every one
        started) exits first, or after wait_seconds."""
        watched = watch if watch is not None else [p for _n, p, _l in self.started]
        deadline = time.monotonic() + self.wait_seconds
        while time.monotonic() < deadline:
            if condition():
                return
            gone = [p for p in watched if p.poll() is not None]
            if gone:
                pytest.fail(f"a process exited ({gone[0].returncode}) before {what}\n"
                            + self.logs())
            time.sleep(0.05)
        pytest.fail(f"still waiting for {what} after {self.wait_seconds} s\n" + self.logs())

    def stop_all(self) -> None:
        for _name, process, _log in self.started:
            if process.poll() is None:
                process.terminate()
        for _name, process, _log in self.started:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@pytest.fixture
def processes(tmp_path):
    started = Processes(tmp_path)
    yield started
    started.stop_all()


@pytest.fixture(scope="session")
def s3_endpoint():
    """moto's S3 server on a free loopback port, with throwaway credentials in the
    environment, where boto3 reads them in production too (and processes a test starts)."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "portal-tests")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "portal-tests-secret")
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION"):
            patch.delenv(name, raising=False)
        yield f"http://127.0.0.1:{port}"
    server.stop()


# --- live server and browser --------------------------------------------------------------


class LiveServer:
    def __init__(self, app: Flask) -> None:
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture(scope="session")
def live_server(app):
    server = LiveServer(app)
    server.start()
    previous = app.config["BASE_URL"]
    app.config["BASE_URL"] = server.url
    yield server
    app.config["BASE_URL"] = previous
    server.stop()


def chromium_path() -> str | None:
    for candidate in (os.environ.get("PORTAL_CHROMIUM"), "/usr/bin/chromium",
                      "/usr/bin/chromium-browser"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(scope="session")
def browser():
    require = os.environ.get("PORTAL_REQUIRE_BROWSER") == "1"
    try:  # here, not at the top: the suite is collected, and runs, without Playwright
        from playwright.sync_api import sync_playwright
    except ImportError:
        if require:
            pytest.fail("PORTAL_REQUIRE_BROWSER=1 but Playwright is not installed "
                        "(pip install -e '.[dev]')")
        pytest.skip("Playwright is not installed (pip install -e '.[dev]'; "
                    "PORTAL_REQUIRE_BROWSER=1 makes this a failure)")
    from playwright.sync_api import expect

    # Assertions wait as long as actions do (the contexts' 10 s): on a loaded CI machine a page
    # checked by axe can take more than Playwright's default 5 s to settle.
    expect.set_options(timeout=10_000)
    executable = chromium_path()
    playwright = sync_playwright().start()
    try:
        if executable:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        else:
            try:
                browser = playwright.chromium.launch(args=CHROMIUM_ARGS)
            except Exception as exc:
                reason = ("no Chromium: install Debian's chromium (/usr/bin/chromium) or run "
                          f"'playwright install chromium' ({type(exc).__name__})")
                if require:
                    pytest.fail(f"PORTAL_REQUIRE_BROWSER=1 but {reason}")
                pytest.skip(reason)
        yield browser
        browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def new_page(browser, live_server):
    """Open pages in fresh browser contexts (one per person); all close after the test."""
    contexts = []

    def open_page(locale: str = "fr-FR", **options):
        # options go to the browser context: a phone's viewport, is_mobile, has_touch…
        context = browser.new_context(base_url=live_server.url, locale=locale, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()
