"""Every Flask extension object, bound to the application in `create_app`."""

import sqlite3
from collections.abc import Callable
from functools import wraps
from typing import NamedTuple

from flask import request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names, so that Alembic migrations work the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
mail = Mail()
limiter = Limiter(key_func=get_remote_address)

# Methods that read: no limit of the portal counts them.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@limiter.request_filter
def _reading_is_never_limited() -> bool:
    """Every rate limit counts form posts (logins, sign-ups, password checks), none a read.

    Skipping the limiter for reads spares its bookkeeping on every page view. A test checks
    that each declared limit names POST only, so no read limit can be silently skipped.
    """
    return request.method in SAFE_METHODS


class PostLimit(NamedTuple):
    """A rate limit on a view's form posts (see `limit_posts`)."""

    value: str | Callable[[], str]
    key_func: Callable[[], str] | None = None
    deduct_when: Callable | None = None


def limit_posts(*limits: PostLimit | str):
    """Rate limits on a view's form posts; its reads go straight to the view.

    The request filter above already spares reads the limiter's middleware, but a view
    decorated with `limiter.limit` still runs the limiter's checks on every GET: this keeps
    the login and sign-up pages as light as any other read.
    """

    def decorate(view):
        limited = view
        for limit in reversed(limits):
            limit = PostLimit(limit) if isinstance(limit, str) else limit
            limited = limiter.limit(
                limit.value,
                key_func=limit.key_func,
                deduct_when=limit.deduct_when,
                methods=["POST"],
            )(limited)

        @wraps(view)
        def dispatch(*args, **kwargs):
            return (view if request.method in SAFE_METHODS else limited)(*args, **kwargs)

        return dispatch

    return decorate


@event.listens_for(Engine, "connect")
def _enforce_sqlite_foreign_keys(dbapi_connection, connection_record):
    """SQLite ignores foreign keys (and ON DELETE) unless asked, connection by connection."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
