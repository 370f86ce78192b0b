"""The agency portal: create_app() builds the Flask application."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, abort, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, SecurityError

import config as settings
from config import Config, select_config
from portal import security_log
from portal.extensions import babel, csrf, db, login_manager, mail, migrate

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: type[Config] | str | None = None, **overrides) -> Flask:
    config_class = config if isinstance(config, type) else select_config(config)
    config_class.check()
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder="static",
        # The same folder as the database, secret key and mailbox (PORTAL_INSTANCE_DIR).
        instance_path=str(settings.INSTANCE_DIR),
    )
    app.config.from_object(config_class)
    app.config.update(overrides)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    from portal import access, branding, layout
    from portal.cli import register as register_cli
    from portal.ops import metrics
    from portal.rate_limits import init_rate_limits

    register_proxy(app)
    register_extensions(app)
    register_blueprints(app)
    branding.init_app(app)  # the agency's colour and logo; a bad setting stops the start
    init_rate_limits(app)
    access.init_app(app)  # who may use each endpoint (portal/access.py), before every view
    register_session_loader(app)
    layout.init_app(app)
    register_error_handlers(app)
    register_security_headers(app)
    register_request_guards(app)
    metrics.init_app(app)  # requests counted and timed for Prometheus
    register_cli(app)
    logging.getLogger("portal").setLevel(logging.INFO)
    register_jobs(app)
    return app


def register_proxy(app: Flask) -> None:
    """Behind PROXY_HOPS reverse proxies, take the client's address and scheme from the
    X-Forwarded-For / X-Forwarded-Proto values they add (never more than that many: a client
    can send its own). The Host header is not taken from X-Forwarded-Host."""
    hops = app.config["PROXY_HOPS"]
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0,
                                x_prefix=0)


def register_extensions(app: Flask) -> None:
    from portal.i18n import install_template_gettext, select_locale, select_timezone

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    login_manager.init_app(app)
    mail.init_app(app)
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        timezone_selector=select_timezone,
        default_translation_directories=str(Path(__file__).parent / "translations"),
    )
    install_template_gettext(app)
    from flask_bootstrap import Bootstrap5

    Bootstrap5(app)

    with app.app_context():
        _configure_sqlite(db.engine)


def _configure_sqlite(engine: sa.Engine) -> None:
    if engine.dialect.name != "sqlite":
        return
    from portal.billing.months import local_month

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        # SQLite's own lower() folds ASCII letters only: "Élodie" would never match "élodie"
        # in the people and writer searches. Python's folds every letter; no index uses lower().
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)
        # Months in the agency's zone (portal.billing.months.month_of): SQLite has no zones.
        dbapi_connection.create_function("portal_local_month", 2, local_month,
                                         deterministic=True)


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def register_blueprints(app: Flask) -> None:
    from werkzeug.routing import IntegerConverter

    from portal.forms import MAX_DB_INT

    class DatabaseInteger(IntegerConverter):
        """`<int:…>` in URLs: ids beyond what the database holds are a 404, not a crash."""

        def __init__(self, map, fixed_digits=0, min=None, max=MAX_DB_INT, signed=False):
            super().__init__(map, fixed_digits, min, max, signed)

    app.url_map.converters["int"] = DatabaseInteger
    from portal import billing, signals
    from portal.accounts.views import bp as accounts_bp
    from portal.agency.views import bp as agency_bp
    from portal.auth.views import bp as auth_bp
    from portal.billing.earnings_views import bp as earnings_bp
    from portal.billing.finance_views import bp as finance_bp
    from portal.billing.views import bp as billing_bp
    from portal.main.views import bp as main_bp
    from portal.messaging import models as _messaging_models  # noqa: F401 - tables
    from portal.messaging.views import bp as messaging_bp
    from portal.notifications import inbox as _inbox  # noqa: F401 - tables
    from portal.notifications.views import bp as notifications_bp
    from portal.ops.views import bp as ops_bp
    from portal.orders.views import bp as orders_bp
    from portal.style_guides.views import bp as style_guides_bp
    from portal.writing.views import bp as writing_bp

    for blueprint in (main_bp, auth_bp, accounts_bp, notifications_bp, orders_bp, messaging_bp,
                      writing_bp, agency_bp, ops_bp, billing_bp, finance_bp, earnings_bp,
                      style_guides_bp):
        app.register_blueprint(blueprint)
    billing.init_app(app)
    signals.connect_receivers()


def register_session_loader(app: Flask) -> None:
    from portal.accounts.models import User

    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(identity: str):
        user_id, _sep, token = identity.partition(":")
        if not user_id.isdigit() or not token:
            return None
        user = db.session.get(User, int(user_id))
        # A rotated token (logout elsewhere, new password, deactivation) ends this session.
        if user is None or not user.active or user.session_token != token:
            return None
        return user


def register_error_handlers(app: Flask) -> None:
    def render_error(code: int, title: str, message: str):
        return render_template("errors/error.html", code=code, title=title, message=message), code

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        db.session.rollback()
        security_log.access_refused("csrf", detail=error.description)
        if request.is_json:  # a script's call (the editor's autosave) reads JSON, not a page
            return jsonify(ok=False, reason="csrf", error=_(
                "Your session has expired: log in again in another tab; your text is kept "
                "here.")), 400
        return render_error(
            400,
            _("This form has expired"),
            _("For your security the form could not be accepted. Go back, reload the page "
              "and send it again."),
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        db.session.rollback()
        if isinstance(error, SecurityError) or request.host == "":
            # A Host outside TRUSTED_HOSTS (or none that can be read): no link of the layout can
            # be built for it, so the answer is a plain one.
            security_log.record("host_refused", host=request.headers.get("Host"))
            return _("Bad request"), 400, {"Content-Type": "text/plain; charset=utf-8"}
        messages = {
            400: (_("Bad request"), _("The request could not be understood.")),
            403: (_("Not allowed"), _("You are not allowed to see this page.")),
            404: (_("Page not found"), _("This page does not exist, or you may not see it.")),
            405: (_("Not allowed"), _("This address does not accept this kind of request.")),
            413: (_("Too large"), _("What you sent is larger than the portal accepts.")),
            429: (_("Too many attempts"), _("Please wait a little before trying again.")),
        }
        title, message = messages.get(error.code, (error.name, _("Something went wrong.")))
        response = render_error(error.code or 500, title, message)
        if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            return response[0], response[1], {"Allow": ", ".join(error.valid_methods)}
        return response

    @app.errorhandler(Exception)
    def server_error(error: Exception):
        db.session.rollback()
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return render_error(
            500,
            _("Something went wrong"),
            _("The error has been recorded. Please try again in a moment."),
        )


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'; frame-src 'self'; frame-ancestors 'none'"
)


# Files the same for everyone, which browsers may keep: static files and the brand's stylesheet
# and logo (portal/branding.py).
CACHED_ENDPOINTS = frozenset({"static", "bootstrap.static", "brand.stylesheet", "brand.logo"})


# The forms our scripts post as JSON (quote.js, workspace.js). Every other form takes form
# data only, where the checks on field names (StrictForm) and on value types hold.
JSON_ENDPOINTS = frozenset({"orders.quote", "writing.save_draft"})
# Endpoints that read and check their raw body themselves (a payment provider's signed
# notification, whose JSON is nested): no form reads them.
RAW_BODY_ENDPOINTS = frozenset({"billing.fedapay_webhook"})


def register_request_guards(app: Flask) -> None:
    def readable(value) -> bool:
        """A form value as JSON may carry it: a flat scalar, never a list or an object; text
        without NUL (PostgreSQL cannot hold it) or lone surrogates (they cannot be encoded);
        numbers finite (1e999 and NaN parse as floats)."""
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return False
            return "\x00" not in value
        if isinstance(value, float):
            return math.isfinite(value)
        return value is None or isinstance(value, bool | int)

    @app.before_request
    def json_bodies_are_flat_objects():
        # Forms read a JSON body as a mapping of fields; anything else is a malformed request.
        if request.method == "POST" and request.is_json \
                and request.endpoint not in RAW_BODY_ENDPOINTS:
            try:
                body = request.get_json(silent=True)
            except RecursionError:  # nested deeper than the parser goes
                body = None
            if (request.endpoint not in JSON_ENDPOINTS or not isinstance(body, dict)
                    or not all(readable(value) for value in body.values())):
                return jsonify({"ok": False, "reason": "malformed",
                                "message": _("The request could not be understood.")}), 400
        return None

    @app.before_request
    def no_nul_characters():
        # A NUL in an address, a query or a form field is never typed by a person and
        # PostgreSQL cannot store or compare it: the request is malformed.
        fields = [request.path, *(value for pair in request.args.lists() for value in
                                  (pair[0], *pair[1]))]
        if request.method == "POST" and not request.is_json:
            fields += [value for pair in request.form.lists() for value in (pair[0], *pair[1])]
        if any("\x00" in value for value in fields):
            abort(400)
        return None


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        if app.config["SESSION_COOKIE_SECURE"]:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        # Nothing the portal generates is kept by a browser or a proxy cache: pages behind login
        # hold private work, and public ones carry a CSRF token or a link's token. Static
        # files (CSS, JS) keep their own caching.
        if request.endpoint not in CACHED_ENDPOINTS \
                and "no-store" not in headers.get("Cache-Control", ""):
            headers["Cache-Control"] = "no-store"
        return response


def register_jobs(app: Flask) -> None:
    """Periodic work the mail worker runs between its passes; each job commits its own work.
    The list is shared by every app of the process, so a job is added once."""
    from portal.billing.figures import fold
    from portal.billing.jobs import run_billing_jobs
    from portal.notifications.service import run_notification_jobs
    from portal.notifications.worker import PERIODIC_JOBS
    from portal.ops.backup import run_daily_backup
    from portal.ops.recount import run_nightly_recount
    from portal.orders.jobs import run_order_jobs

    known = {name for name, _every, _job in PERIODIC_JOBS}
    for name, every, job in (
        ("orders", 60.0, run_order_jobs),
        ("notifications", 30.0, run_notification_jobs),
        # Look every five minutes whether the day's archive (BACKUP_HOUR) or the night's
        # recount (RECOUNT_HOUR) is due.
        ("backup", 300.0, run_daily_backup),
        ("recount", 300.0, run_nightly_recount),
        ("billing", 3600.0, run_billing_jobs),
        ("figures", 60.0, fold),
    ):
        if name not in known:
            PERIODIC_JOBS.append((name, every, job))
