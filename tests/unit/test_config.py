"""Configuration comes from the environment: development works with nothing set, production
refuses to start without its secrets and says which one is missing."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from flask_migrate import upgrade

import config
from config import (
    Config,
    DevelopmentConfig,
    MissingSetting,
    ProductionConfig,
    TestingConfig,
    _normalise_database_url,
    select_config,
)
from portal import create_app
from portal.accounts.models import Role, User
from portal.auth.passwords import hash_password
from portal.extensions import db

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_SETTINGS = ("SECRET_KEY", "DATABASE_URL", "BASE_URL", "RATELIMIT_STORAGE_URI")


@pytest.fixture
def production_env(monkeypatch, tmp_path):
    """A complete production environment; ProductionConfig gets its attributes back afterwards
    (check() writes what it read onto the class)."""
    for name in ("SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "BASE_URL", "TRUSTED_HOSTS",
                 "RATELIMIT_ENABLED", "RATELIMIT_STORAGE_URI", "STORAGE", "S3_BUCKET"):
        monkeypatch.setattr(ProductionConfig, name, getattr(ProductionConfig, name))
    for name in ("RATELIMIT_ENABLED", "STORAGE", "S3_BUCKET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("TRUSTED_HOSTS", raising=False)
    values = {
        "SECRET_KEY": "a-long-random-production-secret",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'production.db'}",
        "BASE_URL": "https://portal.example.com",
        # Per-process counters, so no test shares them (tests/security checks Redis).
        "RATELIMIT_STORAGE_URI": "memory://",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.mark.parametrize("missing", [
    *[(name,) for name in PRODUCTION_SETTINGS],
    ("SECRET_KEY", "BASE_URL"),
    PRODUCTION_SETTINGS,
])
def test_production_names_every_missing_variable(production_env, monkeypatch, missing):
    for name in missing:
        if len(missing) == 1:
            monkeypatch.setenv(name, "")  # set but empty counts as missing
        else:
            monkeypatch.delenv(name)
    with pytest.raises(MissingSetting) as refused:
        ProductionConfig.check()
    named = re.findall(r"[A-Z_]{6,}", str(refused.value))
    assert sorted(named) == sorted(missing)


def test_production_refuses_to_create_the_app_without_its_secrets(production_env, monkeypatch):
    monkeypatch.delenv("SECRET_KEY")
    with pytest.raises(MissingSetting, match="SECRET_KEY"):
        create_app(ProductionConfig)


def test_production_reads_its_settings_from_the_environment(production_env):
    ProductionConfig.check()
    read = {
        "SECRET_KEY": ProductionConfig.SECRET_KEY,
        "DATABASE_URL": ProductionConfig.SQLALCHEMY_DATABASE_URI,
        "BASE_URL": ProductionConfig.BASE_URL,
        "RATELIMIT_STORAGE_URI": ProductionConfig.RATELIMIT_STORAGE_URI,
    }
    assert read == production_env


def test_production_on_s3_refuses_to_start_without_a_bucket(production_env, monkeypatch):
    monkeypatch.setenv("STORAGE", "s3")
    with pytest.raises(MissingSetting, match="S3_BUCKET"):
        create_app(ProductionConfig)
    monkeypatch.setenv("S3_BUCKET", "agence-plume-files")
    ProductionConfig.check()
    assert (ProductionConfig.STORAGE, ProductionConfig.S3_BUCKET) == ("s3", "agence-plume-files")


def test_production_refuses_an_unknown_storage(production_env, monkeypatch):
    monkeypatch.setenv("STORAGE", "ftp")
    with pytest.raises(MissingSetting, match="STORAGE"):
        ProductionConfig.check()


@pytest.mark.parametrize(("given", "expected"), [
    ("postgres://u:p@db.example.com:5432/portal", "postgresql+psycopg://u:p@db.example.com:5432/portal"),
    ("postgresql://u@db/portal", "postgresql+psycopg://u@db/portal"),
    ("postgresql+psycopg://u@db/portal", "postgresql+psycopg://u@db/portal"),
    ("sqlite:////srv/portal/portal.db", "sqlite:////srv/portal/portal.db"),
])
def test_database_urls_are_normalised(given, expected):
    assert _normalise_database_url(given) == expected


def test_a_hosting_providers_postgres_url_works_in_production(production_env, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://portal:secret@db.internal/portal")
    ProductionConfig.check()
    assert ProductionConfig.SQLALCHEMY_DATABASE_URI == (
        "postgresql+psycopg://portal:secret@db.internal/portal"
    )


def test_the_production_app_sends_secure_cookies_and_hsts(production_env):
    app = create_app(ProductionConfig)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == production_env["DATABASE_URL"]
    assert app.config["SECRET_KEY"] == production_env["SECRET_KEY"]
    with app.app_context():
        upgrade()
        db.session.add(User(email="boss@example.com", display_name="Boss", role=Role.MANAGER,
                            password_hash=hash_password("a long production password 7")))
        db.session.commit()
    client = app.test_client()
    https = {"base_url": "https://portal.example.com"}

    page = client.get("/login", **https)
    assert page.status_code == 200
    assert page.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    [session_cookie] = [c for c in page.headers.getlist("Set-Cookie")
                        if c.startswith("portal_session=")]
    assert "Secure" in session_cookie and "HttpOnly" in session_cookie
    assert "SameSite=Lax" in session_cookie

    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    # Over HTTPS, Flask-WTF also wants a same-origin Referer, as a browser sends it.
    response = client.post("/login", data={
        "csrf_token": token, "email": "boss@example.com",
        "password": "a long production password 7", "remember": "y",
    }, headers={"Referer": "https://portal.example.com/login"}, **https)
    assert response.status_code == 302, response.text
    cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    assert "Secure" in cookies["portal_remember"] and "HttpOnly" in cookies["portal_remember"]
    assert "Secure" in cookies["portal_session"]
    with app.app_context():
        db.engine.dispose()


def test_the_test_app_sends_no_hsts(client):
    page = client.get("/login")
    assert "Strict-Transport-Security" not in page.headers


def test_development_creates_a_secret_key_once_and_keeps_it(monkeypatch, tmp_path):
    instance = tmp_path / "instance"
    monkeypatch.setattr(config, "INSTANCE_DIR", instance)
    monkeypatch.setattr(DevelopmentConfig, "SECRET_KEY", None)

    DevelopmentConfig.check()
    key = DevelopmentConfig.SECRET_KEY
    stored = instance / "secret_key"
    assert stored.read_text().strip() == key
    assert len(key) >= 40
    assert stored.stat().st_mode & 0o777 == 0o600

    # A restart reads the same key back, so sessions survive it.
    monkeypatch.setattr(DevelopmentConfig, "SECRET_KEY", None)
    app = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'd.db'}")
    assert app.config["SECRET_KEY"] == key
    assert app.debug
    assert app.instance_path == str(instance)  # one instance folder, wherever it is
    assert list(instance.iterdir()) == [stored]


def test_development_uses_a_secret_key_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path / "instance")
    monkeypatch.setattr(DevelopmentConfig, "SECRET_KEY", "given-by-the-environment")
    DevelopmentConfig.check()
    assert DevelopmentConfig.SECRET_KEY == "given-by-the-environment"
    assert not (tmp_path / "instance").exists()


def test_defaults_with_nothing_in_the_environment(tmp_path):
    names = ("AGENCY_CURRENCY", "DEFAULT_LOCALE", "AGENCY_TIMEZONE", "DATABASE_URL", "BASE_URL",
             "SECRET_KEY", "PORTAL_ENV", "PORTAL_INSTANCE_DIR", "MAIL_PORT")
    env = {k: v for k, v in os.environ.items() if k not in names}
    env["PORTAL_INSTANCE_DIR"] = str(tmp_path)
    script = (
        "import json, config; c = config.select_config(); "
        "print(json.dumps({'name': c.ENV_NAME, 'currency': c.AGENCY_CURRENCY, "
        "'locale': c.BABEL_DEFAULT_LOCALE, 'timezone': c.AGENCY_TIMEZONE, "
        "'db': c.SQLALCHEMY_DATABASE_URI, 'mail_port': c.MAIL_PORT, "
        "'secure': c.SESSION_COOKIE_SECURE}))"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                            capture_output=True, text=True, check=True)
    values = json.loads(result.stdout)
    assert values == {
        "name": "development", "currency": "XOF", "locale": "fr", "timezone": "Africa/Lome",
        "db": f"sqlite:///{tmp_path / 'portal.db'}", "mail_port": 8025, "secure": False,
    }


def test_the_classes_carry_the_agency_defaults():
    for cls in (Config, DevelopmentConfig, TestingConfig, ProductionConfig):
        assert cls.AGENCY_CURRENCY == "XOF"
        assert cls.BABEL_DEFAULT_LOCALE == "fr"
    assert ProductionConfig.SESSION_COOKIE_SECURE and ProductionConfig.REMEMBER_COOKIE_SECURE
    assert not ProductionConfig.EMAIL_ALLOW_TEST_DOMAINS


def test_select_config(monkeypatch):
    monkeypatch.delenv("PORTAL_ENV", raising=False)
    assert select_config() is DevelopmentConfig
    assert select_config("Production") is ProductionConfig
    monkeypatch.setenv("PORTAL_ENV", "testing")
    assert select_config() is TestingConfig
    with pytest.raises(MissingSetting, match="staging"):
        select_config("staging")
