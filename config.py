"""Configuration read from the environment (and a local `.env` in development)."""

import os
import secrets
from pathlib import Path

from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"

load_dotenv(BASE_DIR / ".env")


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _development_secret_key() -> str:
    """Generate once, then reuse, a secret key kept in `instance/`."""
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _database_url(default: str) -> str:
    return _with_driver(os.environ.get("DATABASE_URL", default))


def _with_driver(url: str) -> str:
    # Hosting platforms still hand out the old scheme; SQLAlchemy wants the driver named.
    if url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgres://")
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY")
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
    SQLALCHEMY_DATABASE_URI = _database_url(f"sqlite:///{INSTANCE_DIR / 'cartable.db'}")

    MAIL_SERVER = os.environ.get("MAIL_SERVER")  # None: e-mails go to the console
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USE_TLS = _bool("MAIL_USE_TLS")
    MAIL_USE_SSL = _bool("MAIL_USE_SSL")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = os.environ.get(
        "MAIL_DEFAULT_SENDER", "Cartable <ne-pas-repondre@cartable.example>"
    )

    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = False
    # Redis unreachable: each process counts in its own memory until Redis answers again
    # (README, « Déploiement »), rather than refusing every login or counting nothing.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    LOGIN_LIMIT_PER_IP = "20 per 10 minutes"
    LOGIN_LIMIT_PER_ACCOUNT = "5 per 10 minutes"
    API_LIMIT_PER_TOKEN = "120 per minute"  # noqa: S105 - a rate, not a secret
    # How long the worker keeps a claimed outbox row before another worker may take it.
    OUTBOX_LEASE_SECONDS = int(os.environ.get("OUTBOX_LEASE_SECONDS", "300"))
    # Delivered outbox rows are erased after this many days: a trip event holds a child's
    # name, birth date and addresses, kept only as long as the support desk may need to show
    # what the assistance was told.
    OUTBOX_RETENTION_DAYS = int(os.environ.get("OUTBOX_RETENTION_DAYS", "90"))

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = PUBLIC_URL.startswith("https://")
    SESSION_COOKIE_NAME = "cartable_session"
    PERMANENT_SESSION_LIFETIME = 60 * 60 * 8  # a login lasts 8 h at most
    # A member's session also ends after this many minutes without a request.
    SESSION_IDLE_MINUTES = int(os.environ.get("SESSION_IDLE_MINUTES", "30"))
    # « Mes données » wants a password typed this recently (a new e-mail and deleting the
    # account ask for it every time, in their own forms).
    RECENT_PASSWORD_MINUTES = 5
    # The server decides how long a login lasts (UserSession rows): no need to re-sign and
    # re-send the cookie on every response.
    SESSION_REFRESH_EACH_REQUEST = False

    # Links sent by e-mail (confirmation, reset) stop working after this delay.
    TOKEN_MAX_AGE_SECONDS = 60 * 60

    # A form's token expires with the longest a session may last.
    WTF_CSRF_TIME_LIMIT = PERMANENT_SESSION_LIFETIME
    # Any request body; views marked `accepts_uploads` (documents) may reach the second.
    MAX_CONTENT_LENGTH = 1024 * 1024
    UPLOAD_MAX_CONTENT_LENGTH = 60 * 1024 * 1024
    MAX_FORM_MEMORY_SIZE = 100 * 1024

    # The FAQ's questions by theme are kept rendered and compared with the database at most
    # this often: a `flask faq load` shows on /faq within this delay, on every process.
    FAQ_RECHECK_SECONDS = 10

    # `text` for a person reading the console, `json` for a log collector.
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")

    UPLOAD_FOLDER = os.environ.get("UPLOAD_FOLDER", str(INSTANCE_DIR / "uploads"))
    PORT = int(os.environ.get("PORT", "8000"))


class DevelopmentConfig(Config):
    SECRET_KEY = Config.SECRET_KEY or _development_secret_key()


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105 - tests only
    SQLALCHEMY_DATABASE_URI = _database_url("sqlite://")
    PUBLIC_URL = "http://portail.test"
    SESSION_COOKIE_SECURE = False
    MAIL_SERVER = None
    # Tests send to a real SMTP server on loopback; Flask-Mail would otherwise drop mail.
    MAIL_SUPPRESS_SEND = False
    RATELIMIT_STORAGE_URI = "memory://"
    # Fast hashes keep the suite quick; production keeps argon2's defaults.
    ARGON2_PARAMETERS = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}


class ProductionConfig(Config):
    @classmethod
    def check(cls) -> None:
        """Refuse to start on a configuration that would be unsafe in production."""
        reasons = production_refusals(os.environ)
        if reasons:
            raise RuntimeError("\n".join(reasons))


def production_refusals(environ) -> list[str]:
    """Why these settings cannot serve in production: one line per reason (none: fine)."""
    reasons = []
    if not environ.get("SECRET_KEY"):
        reasons.append("SECRET_KEY must be set in production.")
    if not environ.get("PUBLIC_URL", "").startswith("https://"):
        reasons.append(
            "PUBLIC_URL must start with https:// in production: "
            "links in e-mails and cookies need TLS."
        )
    database_url = environ.get("DATABASE_URL")
    if not database_url:
        reasons.append("DATABASE_URL must be set in production.")
    elif not _with_driver(database_url).startswith("postgresql"):
        reasons.append(
            "DATABASE_URL must be a PostgreSQL URL in production (postgresql+psycopg://…)."
        )
    if not environ.get("MAIL_SERVER"):
        reasons.append(
            "MAIL_SERVER must be set in production: without it, the worker writes e-mails "
            "(password reset links included) to its log instead of sending them."
        )
    if not environ.get("RATELIMIT_STORAGE_URI", "").startswith(("redis://", "rediss://")):
        reasons.append(
            "RATELIMIT_STORAGE_URI must be redis:// in production: "
            "login limits must be shared by every process."
        )
    return reasons


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    return CONFIGS[os.environ.get("CARTABLE_ENV", "development")]


def listen_host(environ) -> str:
    """Where `python wsgi.py` listens: this machine only in development; in production,
    HOST may name another interface (behind the reverse proxy)."""
    if environ.get("CARTABLE_ENV") == "production":
        return environ.get("HOST", "127.0.0.1")
    return "127.0.0.1"
