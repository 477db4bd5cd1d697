"""Every Flask extension object, bound to the application in `create_app`."""

import select
import sqlite3

import psycopg
from flask import request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, event, exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import Pool

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
READS = frozenset({"GET", "HEAD", "OPTIONS"})


@limiter.request_filter
def _reads_are_never_limited() -> bool:
    """Every limit counts POSTs (`methods=["POST"]`): a read need not look them up."""
    return request.method in READS


@event.listens_for(Engine, "connect")
def _enforce_sqlite_foreign_keys(dbapi_connection, connection_record):
    """SQLite ignores foreign keys (and ON DELETE) unless asked, connection by connection."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


@event.listens_for(Pool, "checkout")
def _drop_connections_the_server_ended(dbapi_connection, connection_record, connection_proxy):
    """A pooled PostgreSQL connection the server has ended (a restart, `pg_terminate_backend`,
    `idle_session_timeout`) is replaced before a request uses it.

    Between two requests the server sends nothing on a connection unless it ends it: its
    last message and the end of the stream make the socket readable. One non-blocking poll
    tells, where SQLAlchemy's `pool_pre_ping` costs a round trip to the server on each
    request (about 70 µs of CPU and 95 µs of waiting here: 4 to 7 % of a member's page). A
    readable socket is discarded even if it held only a notice: the pool reconnects. What a
    poll cannot see, a server host that went away without closing its connections (a power
    cut), fails the one request that uses such a connection first, where the ping would
    have replaced it; SQLAlchemy then renews the whole pool. SQLite files have no server.
    """
    if not isinstance(dbapi_connection, psycopg.Connection):
        return
    if not (dbapi_connection.closed or dbapi_connection.broken):
        poller = select.poll()
        poller.register(dbapi_connection.fileno(), select.POLLIN)
        if not poller.poll(0):
            return
    raise exc.DisconnectionError("PostgreSQL ended this connection while it was pooled")
