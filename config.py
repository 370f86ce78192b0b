"""Configuration classes, chosen by the PORTAL_ENV environment variable.

Values come from the environment (and a `.env` file beside this one, if present). Development
works with no settings at all; production refuses to start without its secrets and names the
missing variable.
"""

from __future__ import annotations

import logging
import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("PORTAL_INSTANCE_DIR", BASE_DIR / "instance"))

load_dotenv(BASE_DIR / ".env")


class MissingSetting(RuntimeError):
    """A setting production cannot run without is absent from the environment."""


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_int(name: str, default: int) -> int:
    return int(env(name, str(default)))


def env_list(name: str) -> list[str] | None:
    """A comma-separated list, or None when the variable is unset or empty."""
    value = env(name)
    if value is None:
        return None
    return [item.strip() for item in value.split(",") if item.strip()] or None


def env_bool(name: str, default: bool) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _sqlite_default() -> str:
    return f"sqlite:///{INSTANCE_DIR / 'portal.db'}"


def _normalise_database_url(url: str) -> str:
    # Hosting providers hand out postgres:// URLs; SQLAlchemy wants an explicit psycopg 3 driver.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _development_secret_key() -> str:
    """Create the development key once and keep it, so sessions survive a restart."""
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


class Config:
    ENV_NAME = "base"
    DEBUG = False
    TESTING = False

    SECRET_KEY = env("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = _normalise_database_url(env("DATABASE_URL", _sqlite_default()))
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    SQLALCHEMY_RECORD_QUERIES = False

    # Links in emails are built from this, never from the Host header of a request.
    BASE_URL = env("BASE_URL", f"http://127.0.0.1:{env('PORT', '5000')}")
    # Host names the portal answers to (Flask refuses others with 400); ".example.com" also
    # matches its subdomains. None: any host (development, tests). Production defaults to the
    # host of BASE_URL.
    TRUSTED_HOSTS = env_list("TRUSTED_HOSTS")
    # Reverse proxies in front of the app: how many X-Forwarded-For / X-Forwarded-Proto values to
    # trust (ProxyFix). 0 trusts none: the address a limit or the security log sees is the peer's.
    PROXY_HOPS = env_int("PROXY_HOPS", 0)

    # Rate limits (Flask-Limiter, see portal/rate_limits.py). In-memory counters are per process:
    # production needs a shared store, RATELIMIT_STORAGE_URI=redis://host:6379/0.
    RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", True)
    RATELIMIT_STORAGE_URI = env("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_KEY_PREFIX = env("RATELIMIT_KEY_PREFIX", "portal")
    RATELIMIT_STRATEGY = "moving-window"
    RATELIMIT_HEADERS_ENABLED = True  # Retry-After on the 429 page
    # Redis unreachable: count in this process's memory meanwhile rather than fail requests.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    # The limits themselves ("N per minute; M per hour"), by the name portal/rate_limits.py uses.
    RATE_LIMITS = {
        "login_per_address": "30 per minute; 200 per hour",
        # Failed attempts only: from one address on one account (then 429, for that address
        # alone), and on one account from every address (then a password alone no longer
        # opens it: an emailed link does; see portal/rate_limits.py).
        "login_failures_per_account_and_address": "5 per minute; 20 per hour",
        "login_failures_per_account": "10 per hour; 50 per day",
        "login_link_per_address": "10 per minute",
        "signup_per_address": "5 per minute; 20 per hour",
        # One source naming one address: nobody can keep someone else from signing up. What
        # one address receives from every source is capped by SIGNUP_EMAILS_PER_HOUR.
        "signup_per_account_and_address": "3 per hour",
        "signup_confirm_per_address": "10 per minute",
        "reset_request_per_address": "5 per minute; 20 per hour",
        "reset_request_per_account": "3 per hour",  # no inbox flooded with reset links
        "reset_per_address": "10 per minute",
        "invitation_per_manager": "30 per hour",
        "invitation_accept_per_address": "10 per minute",
        "message_per_person": "20 per minute; 300 per hour",
        # Each new address asked for is sent a link: nobody sends the portal's links to
        # strangers by the hundred.
        "email_change_per_person": "5 per hour; 10 per day",
        # Each .zip of a period's texts is built in the request (up to TEXTS_PER_ARCHIVE texts).
        "texts_archive_per_person": "10 per hour; 30 per day",
    }

    AGENCY_NAME = env("AGENCY_NAME", "Agence Plume")
    # The agency's main colour (hexadecimal) and logo (a .png, .jpg, .svg or .webp file; empty:
    # a monogram of its name), checked at start by portal/branding.py.
    AGENCY_COLOR_PRIMARY = env("AGENCY_COLOR_PRIMARY", "#1f5f8b")
    AGENCY_LOGO = env("AGENCY_LOGO", "")
    AGENCY_CURRENCY = env("AGENCY_CURRENCY", "XOF")
    AGENCY_TIMEZONE = env("AGENCY_TIMEZONE", "Africa/Lome")

    # Money (portal/billing). What invoices say of the agency, copied onto each at issue.
    AGENCY_LEGAL_NAME = env("AGENCY_LEGAL_NAME", "")  # default: AGENCY_NAME
    AGENCY_ADDRESS = env("AGENCY_ADDRESS", "")
    AGENCY_TAX_NUMBER = env("AGENCY_TAX_NUMBER", "")  # NIF
    AGENCY_TRADE_REGISTER = env("AGENCY_TRADE_REGISTER", "")  # RCCM
    AGENCY_EMAIL = env("AGENCY_EMAIL", "")
    AGENCY_PHONE = env("AGENCY_PHONE", "")
    # VAT as a percentage ("18", "18.5"): 0 when the agency is not registered for VAT (the
    # invoices then say "VAT not applicable"). Prices include VAT. Read by portal.billing.
    AGENCY_VAT_RATE = env("AGENCY_VAT_RATE", "0")
    AGENCY_VAT_REGIME = env("AGENCY_VAT_REGIME", "")  # a line on the invoices: the tax regime
    # Payment instructions on proformas and due invoices, one line per method (empty: not shown).
    PAYMENT_FLOOZ = env("PAYMENT_FLOOZ", "")  # e.g. "+228 99 00 00 00 (Agence Plume)"
    PAYMENT_MIXX = env("PAYMENT_MIXX", "")
    PAYMENT_BANK = env("PAYMENT_BANK", "")  # bank, account holder, RIB or IBAN
    PAYMENT_CASH = env("PAYMENT_CASH", "")  # where and when cash is taken
    TOPUP_MIN = env_int("TOPUP_MIN", 1_000)
    TOPUP_MAX = env_int("TOPUP_MAX", 50_000_000)
    PAYOUT_THRESHOLD = env_int("PAYOUT_THRESHOLD", 5_000)
    LEDGER_PER_PAGE = 30
    # FedaPay (mobile money in Togo and around): off unless the secret key is set.
    FEDAPAY_SECRET_KEY = env("FEDAPAY_SECRET_KEY")
    FEDAPAY_WEBHOOK_SECRET = env("FEDAPAY_WEBHOOK_SECRET")
    FEDAPAY_ENVIRONMENT = env("FEDAPAY_ENVIRONMENT", "sandbox")  # or "live"
    FEDAPAY_API_URL = env("FEDAPAY_API_URL")  # default: the environment's documented address
    FEDAPAY_WEBHOOK_TOLERANCE = env_int("FEDAPAY_WEBHOOK_TOLERANCE", 300)
    FEDAPAY_TIMEOUT = env_int("FEDAPAY_TIMEOUT", 15)

    BABEL_DEFAULT_LOCALE = env("DEFAULT_LOCALE", "fr")
    BABEL_DEFAULT_TIMEZONE = "UTC"
    LANGUAGES = {"fr": "Français", "en": "English"}

    MAIL_SERVER = env("MAIL_SERVER", "127.0.0.1")
    MAIL_PORT = env_int("MAIL_PORT", 8025)
    MAIL_USE_TLS = env_bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = env_bool("MAIL_USE_SSL", False)
    MAIL_USERNAME = env("MAIL_USERNAME")
    MAIL_PASSWORD = env("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = env("MAIL_DEFAULT_SENDER", "Agence Plume <no-reply@portal.localhost>")
    MAIL_TIMEOUT = env_int("MAIL_TIMEOUT", 10)
    MAIL_MAX_ATTEMPTS = env_int("MAIL_MAX_ATTEMPTS", 8)
    MAIL_RETRY_BASE_SECONDS = env_int("MAIL_RETRY_BASE_SECONDS", 30)
    MAIL_RETRY_MAX_SECONDS = env_int("MAIL_RETRY_MAX_SECONDS", 6 * 3600)
    MAIL_CLAIM_LEASE_SECONDS = env_int("MAIL_CLAIM_LEASE_SECONDS", 300)
    MAIL_BATCH_SIZE = env_int("MAIL_BATCH_SIZE", 200)
    # Rows marked sent together in one commit: after a crash between the relay's answer and
    # that commit, at most this many emails go twice (portal/notifications/dispatcher.py).
    MAIL_GROUP_SIZE = env_int("MAIL_GROUP_SIZE", 25)
    MAIL_WORKER_INTERVAL = float(env("MAIL_WORKER_INTERVAL", "2"))
    # Where the development SMTP sink keeps what it receives (a Maildir), read by the Mailbox page.
    MAILBOX_DIR = env("MAILBOX_DIR", str(INSTANCE_DIR / "mailbox"))
    MAILBOX_PAGE = False

    # Reply by email: notification emails carry reply+<signed token>@REPLY_DOMAIN (default: the
    # BASE_URL host when it is a name, else portal.localhost); `flask mail inbound` receives them.
    REPLY_DOMAIN = env("REPLY_DOMAIN")
    REPLY_TOKEN_DAYS = env_int("REPLY_TOKEN_DAYS", 90)
    INBOUND_HOST = env("INBOUND_HOST", "127.0.0.1")
    INBOUND_PORT = env_int("INBOUND_PORT", 8026)
    INBOUND_MAX_BYTES = env_int("INBOUND_MAX_BYTES", 15 * 1024 * 1024)

    # The reserved .test domain (demo accounts, tests) is refused in production.
    EMAIL_ALLOW_TEST_DOMAINS = env_bool("EMAIL_ALLOW_TEST_DOMAINS", True)

    CONFIRM_EMAIL_MAX_AGE = timedelta(hours=48)
    # Sign-up links one address receives in an hour, whoever asks from wherever: no inbox is
    # flooded from many sources; past it a sign-up is answered alike and sends nothing.
    SIGNUP_EMAILS_PER_HOUR = env_int("SIGNUP_EMAILS_PER_HOUR", 10)
    INVITATION_MAX_AGE = timedelta(days=7)
    RESET_PASSWORD_MAX_AGE = timedelta(hours=1)
    LOGIN_LINK_MAX_AGE = timedelta(minutes=15)

    SESSION_COOKIE_NAME = "portal_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    PERMANENT_SESSION_LIFETIME = timedelta(days=14)
    REMEMBER_COOKIE_NAME = "portal_remember"
    REMEMBER_COOKIE_DURATION = timedelta(days=30)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = False

    WTF_CSRF_ENABLED = True
    # Tokens live as long as the session: a long draft or a slow form must not die after an hour.
    WTF_CSRF_TIME_LIMIT = None

    BOOTSTRAP_SERVE_LOCAL = True
    BOOTSTRAP_BTN_STYLE = "primary"

    # Orders: languages a brief may be written in (code: name in that language).
    ORDER_LANGUAGES = {"fr": "Français", "en": "English"}
    RUSH_WINDOW_HOURS = env_int("RUSH_WINDOW_HOURS", 72)
    RUSH_SURCHARGE_PERCENT = env_int("RUSH_SURCHARGE_PERCENT", 30)
    PREFERRED_WRITER_HOURS = env_int("PREFERRED_WRITER_HOURS", 24)
    AUTO_APPROVE_DAYS = env_int("AUTO_APPROVE_DAYS", 7)
    ORDER_MAX_DAYS_AHEAD = env_int("ORDER_MAX_DAYS_AHEAD", 365)
    ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
    ATTACHMENTS_PER_ORDER = 5
    # Where brief, message and proof files are kept (portal/storage.py): "local" (UPLOAD_DIR)
    # or "s3", an S3-compatible bucket every web node shares. S3 credentials come from boto3's
    # usual places (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile, an instance role).
    STORAGE = (env("STORAGE", "local") or "local").lower()
    UPLOAD_DIR = env("UPLOAD_DIR", str(INSTANCE_DIR / "uploads"))
    S3_BUCKET = env("S3_BUCKET")
    S3_ENDPOINT_URL = env("S3_ENDPOINT_URL")  # unset: AWS; else MinIO, Garage, Scaleway…
    S3_REGION = env("S3_REGION")
    S3_PREFIX = env("S3_PREFIX", "")  # keys' prefix, e.g. "portal/", to share a bucket
    ORDERS_PER_PAGE = 20
    # "My orders" → one .zip of the texts approved in a period: at most this many texts (each
    # is made into a Word file at download time; a longer list asks for a shorter period).
    TEXTS_PER_ARCHIVE = env_int("TEXTS_PER_ARCHIVE", 200)
    WORDS_MIN = 100
    WORDS_MAX = 20_000
    # A delivery with at least this share of its phrases in one other text (an earlier delivery
    # of the agency, or the brief's reference texts) is above the originality threshold
    # (portal/orders/originality.py, `above_threshold`): 0.3 is 30 %.
    ORIGINALITY_REVIEW_THRESHOLD = float(env("ORIGINALITY_REVIEW_THRESHOLD", "0.3"))

    PEOPLE_PER_PAGE = 25

    # Notifications: messages posted in a burst go out as one email once the conversation has
    # been quiet this long, or once the oldest has waited the longest delay.
    MESSAGE_BURST_QUIET_SECONDS = env_int("MESSAGE_BURST_QUIET_SECONDS", 180)
    MESSAGE_BURST_MAX_SECONDS = env_int("MESSAGE_BURST_MAX_SECONDS", 900)
    # How long the one-click settings link of a notification email works.
    PREFERENCES_TOKEN_DAYS = env_int("PREFERENCES_TOKEN_DAYS", 60)
    NOTIFICATIONS_PER_PAGE = 25
    MAX_CONTENT_LENGTH = 12 * 1024 * 1024

    # Backups (`flask backup …`, portal/ops/backup.py): archives in BACKUP_DIR; the mail worker
    # makes the daily one at BACKUP_HOUR of AGENCY_TIMEZONE and keeps the newest archive of each
    # of the last BACKUP_KEEP_DAILY days and of the last BACKUP_KEEP_MONTHLY months.
    BACKUP_DIR = env("BACKUP_DIR", str(INSTANCE_DIR / "backups"))
    BACKUP_DAILY = env_bool("BACKUP_DAILY", True)
    BACKUP_HOUR = env_int("BACKUP_HOUR", 3)
    BACKUP_KEEP_DAILY = env_int("BACKUP_KEEP_DAILY", 7)
    BACKUP_KEEP_MONTHLY = env_int("BACKUP_KEEP_MONTHLY", 12)
    # The mail worker recounts the counters (orders per status, unread messages) once a night,
    # during this hour of AGENCY_TIMEZONE, and logs any drift it corrects (portal/ops/recount.py).
    RECOUNT_HOUR = env_int("RECOUNT_HOUR", 4)
    # Where pg_dump and pg_restore are (Debian's postgresql-client), for a PostgreSQL database.
    PG_BIN_DIR = env("PG_BIN_DIR", "")

    # Readiness (/readyz): the oldest email still waiting in the outbox may be this old before
    # the portal says it is not ready (the SMTP relay has been failing that long).
    READY_OUTBOX_MAX_AGE_SECONDS = env_int("READY_OUTBOX_MAX_AGE_SECONDS", 1800)
    # Metrics (/metrics, Prometheus): answered to these addresses or networks (comma-separated,
    # "10.0.0.0/8" works) or to a request with "Authorization: Bearer METRICS_TOKEN"; anyone
    # else gets 404. Neither set: nobody.
    METRICS_ALLOWED_ADDRESSES = env_list("METRICS_ALLOWED_ADDRESSES") or []
    METRICS_TOKEN = env("METRICS_TOKEN")

    @classmethod
    def check(cls) -> None:
        """Fail fast on missing settings; the base class needs nothing."""


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    DEBUG = True
    MAILBOX_PAGE = True
    # The demo agency's identity and payment instructions (made up), unless set.
    AGENCY_ADDRESS = env("AGENCY_ADDRESS", "12 rue des Cocotiers, Bè, Lomé, Togo")
    AGENCY_TAX_NUMBER = env("AGENCY_TAX_NUMBER", "1000123456")
    AGENCY_TRADE_REGISTER = env("AGENCY_TRADE_REGISTER", "TG-LOM 2024 A 01234")
    AGENCY_EMAIL = env("AGENCY_EMAIL", "compta@agence-plume.test")
    AGENCY_VAT_REGIME = env("AGENCY_VAT_REGIME", "Régime du réel — assujettie à la TVA")
    AGENCY_VAT_RATE = env("AGENCY_VAT_RATE", "18")
    PAYMENT_FLOOZ = env("PAYMENT_FLOOZ", "+228 99 12 34 56 (Agence Plume)")
    PAYMENT_MIXX = env("PAYMENT_MIXX", "+228 90 12 34 56 (Agence Plume)")
    PAYMENT_BANK = env("PAYMENT_BANK", "Banque Atlantique Togo — Agence Plume — "
                                       "RIB TG055 01001 012345678901 23")
    PAYMENT_CASH = env("PAYMENT_CASH", "À l'agence, du lundi au vendredi, de 8 h à 17 h")
    SECRET_KEY = env("SECRET_KEY") or None

    @classmethod
    def check(cls) -> None:
        if not cls.SECRET_KEY:
            cls.SECRET_KEY = _development_secret_key()


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key-not-for-production"  # noqa: S105
    SQLALCHEMY_DATABASE_URI = _normalise_database_url(
        env("TEST_DATABASE_URL", "sqlite:///" + str(INSTANCE_DIR / "test.db"))
    )
    BASE_URL = "http://127.0.0.1:5000"
    MAIL_SERVER = "127.0.0.1"
    MAIL_PORT = 2
    MAIL_TIMEOUT = 3
    MAIL_DEFAULT_SENDER = "Agence Plume <no-reply@portal.test>"
    # Tests send real SMTP to a server on loopback; Flask-Mail would otherwise swallow it.
    MAIL_SUPPRESS_SEND = False
    SQLALCHEMY_RECORD_QUERIES = True
    # The suite logs in hundreds of times from one address; tests/security enable the limits.
    RATELIMIT_ENABLED = False
    RATELIMIT_STORAGE_URI = "memory://"
    TRUSTED_HOSTS = None
    PROXY_HOPS = 0
    # The worker's daily backup runs only in the tests that ask for it.
    BACKUP_DAILY = False
    METRICS_ALLOWED_ADDRESSES: list[str] = []
    METRICS_TOKEN = None


class ProductionConfig(Config):
    ENV_NAME = "production"
    EMAIL_ALLOW_TEST_DOMAINS = env_bool("EMAIL_ALLOW_TEST_DOMAINS", False)
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"

    @classmethod
    def check(cls) -> None:
        required = ["SECRET_KEY", "DATABASE_URL", "BASE_URL"]
        limits_on = env_bool("RATELIMIT_ENABLED", True)
        if limits_on:
            required.append("RATELIMIT_STORAGE_URI")
        storage = (env("STORAGE", "local") or "local").lower()
        if storage not in {"local", "s3"}:
            raise MissingSetting(f"STORAGE must be local or s3, not {storage!r}")
        if storage == "s3":
            required.append("S3_BUCKET")
        missing = [name for name in required if not env(name)]
        if missing:
            raise MissingSetting(
                "Production needs these environment variables: " + ", ".join(missing)
            )
        cls.SECRET_KEY = env("SECRET_KEY")
        cls.SQLALCHEMY_DATABASE_URI = _normalise_database_url(env("DATABASE_URL"))
        cls.BASE_URL = env("BASE_URL")
        base_host = urlsplit(cls.BASE_URL).hostname
        if not base_host:
            raise MissingSetting(f"BASE_URL must be an absolute URL (https://…): {cls.BASE_URL!r}")
        cls.TRUSTED_HOSTS = env_list("TRUSTED_HOSTS") or [base_host]
        cls.RATELIMIT_ENABLED = limits_on
        cls.RATELIMIT_STORAGE_URI = env("RATELIMIT_STORAGE_URI", "memory://")
        cls.STORAGE, cls.S3_BUCKET = storage, env("S3_BUCKET")
        log = logging.getLogger("portal.config")
        if not limits_on:
            log.warning("RATELIMIT_ENABLED is off: logins, sign-ups and resets are not throttled.")
        elif cls.RATELIMIT_STORAGE_URI.startswith("memory://"):
            # Allowed on purpose (a single-process install), but said at every start.
            log.warning("RATELIMIT_STORAGE_URI=memory:// counts per process: with several "
                        "workers each one allows the full limit. Use redis://… in production.")


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def select_config(name: str | None = None) -> type[Config]:
    """The configuration class named by `name`, else by PORTAL_ENV, else development."""
    key = (name or env("PORTAL_ENV", "development")).lower()
    try:
        return CONFIGS[key]
    except KeyError:
        raise MissingSetting(
            f"PORTAL_ENV={key!r} is not one of: {', '.join(sorted(CONFIGS))}"
        ) from None
