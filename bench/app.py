"""The portal as production runs it, for the harness's own in-process work (schema, SQL counts,
mail, contention) and for the environment of the gunicorn server."""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path

from bench import WORK_DIR

INSTANCE_DIR = WORK_DIR / "instance"
_SECRET = secrets.token_urlsafe(32)


def production_env(database_url: str, base_url: str) -> dict[str, str]:
    """What production needs (it refuses to start without SECRET_KEY, DATABASE_URL, BASE_URL
    and RATELIMIT_STORAGE_URI), plus an instance folder of the benchmark's own. Rate limits are
    off: every virtual user logs in from 127.0.0.1, which the login limit would stop."""
    return {
        "PORTAL_ENV": "production",
        "SECRET_KEY": _SECRET,
        "DATABASE_URL": database_url,
        "BASE_URL": base_url,
        "RATELIMIT_STORAGE_URI": "memory://",
        # The in-process probes use the test client, whose Host is localhost.
        "TRUSTED_HOSTS": "127.0.0.1,localhost",
        "RATELIMIT_ENABLED": "0",
        "PORTAL_INSTANCE_DIR": str(INSTANCE_DIR),
        "MAILBOX_DIR": str(INSTANCE_DIR / "mailbox"),
        "UPLOAD_DIR": str(INSTANCE_DIR / "uploads"),
    }


@contextmanager
def _environment(values: dict[str, str]):
    """`values` in os.environ for the time of the block only (the harness also runs inside the
    test suite, whose other tests read PORTAL_ENV and friends)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def make_app(database_url: str, **overrides):
    """create_app() with the production configuration on `database_url`."""
    from portal import create_app

    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    with _environment(production_env(database_url, "http://127.0.0.1:5000")), \
            _class_settings_kept():
        return create_app("production", SQLALCHEMY_DATABASE_URI=_driver_url(database_url),
                          **overrides)


@contextmanager
def _class_settings_kept():
    """ProductionConfig.check() writes what it read onto the class (limits off, here): inside
    the test suite that would outlive the harness, so the class gets its settings back once
    the app has copied them."""
    from config import ProductionConfig

    before = {name: value for name, value in vars(ProductionConfig).items() if name.isupper()}
    try:
        yield
    finally:
        for name in [n for n in vars(ProductionConfig) if n.isupper() and n not in before]:
            delattr(ProductionConfig, name)
        for name, value in before.items():
            setattr(ProductionConfig, name, value)


def _driver_url(url: str) -> str:
    from bench.data import normalise_url

    return normalise_url(url)


def migrate(database_url: str) -> None:
    """The schema, from the migrations: what `flask db upgrade` runs."""
    from flask_migrate import upgrade

    from portal.extensions import db

    app = make_app(database_url)
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()


def ensure_instance() -> Path:
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    return INSTANCE_DIR
