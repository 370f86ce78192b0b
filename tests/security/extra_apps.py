"""Apps of their own for the header, proxy and rate-limit tests, on the run's database.

The session app of tests/conftest.py runs with rate limits off and no proxy; a setting read
once when the app is built (PROXY_HOPS, RATELIMIT_*) needs an app built with it. Building one
costs a few milliseconds; it shares the run's database (already migrated by the `app` fixture).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import Flask

from config import Config, TestingConfig
from portal import create_app
from portal.extensions import db
from tests.conftest import PortalClient


@contextmanager
def extra_app(database_url: str, mailbox_dir: str, config: type[Config] = TestingConfig,
              **overrides) -> Iterator[Flask]:
    overrides.setdefault("SQLALCHEMY_DATABASE_URI", database_url)
    app = create_app(config, MAILBOX_DIR=mailbox_dir, **overrides)
    app.test_client_class = PortalClient
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def add_page(app: Flask, path: str, view: Callable, endpoint: str) -> None:
    """A page of the test's own, declared public in the access table when the app has one."""
    app.add_url_rule(path, endpoint, view)
    if "access" in app.extensions:
        from portal.access import declare, public

        declare(app, endpoint, public())


PRODUCTION_CLASS_SETTINGS = ("SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "BASE_URL", "TRUSTED_HOSTS",
                             "RATELIMIT_ENABLED", "RATELIMIT_STORAGE_URI")


def production_environment(monkeypatch, tmp_path, **values: str) -> dict[str, str]:
    """A complete production environment (plus `values`); ProductionConfig gets back what its
    check() writes onto the class when the test ends."""
    from config import ProductionConfig

    for name in PRODUCTION_CLASS_SETTINGS:
        monkeypatch.setattr(ProductionConfig, name, getattr(ProductionConfig, name))
    for name in ("TRUSTED_HOSTS", "RATELIMIT_ENABLED", "PROXY_HOPS"):
        monkeypatch.delenv(name, raising=False)
    settings = {
        "SECRET_KEY": "a-long-random-production-secret",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'production.db'}",
        "BASE_URL": "https://portal.example.com",
        "RATELIMIT_STORAGE_URI": "memory://",
        **values,
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    return settings
