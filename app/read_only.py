"""Pages that only read run without a transaction on PostgreSQL.

A reading page gains nothing from a transaction: under PostgreSQL's default isolation (read
committed) each statement sees its own snapshot anyway. What it costs is two round trips to
the server, the BEGIN psycopg sends before the first statement and the ROLLBACK that ends
the request: as many as the page's own statements, and the server's CPU besides.

A view marked `@read_only` runs, for GET and HEAD, with its session's connection in
psycopg's autocommit mode: no BEGIN is sent, and the closing rollback has nothing to do.
The connection goes back to the pool as it came (transactions on). Any write through that
session is refused, on SQLite too: a view that starts writing must drop the mark. The
identity's own writes (`auth_session._write_apart`) run on a connection of their own, in a
transaction. SQLite has no round trips to save: its connections are left alone.
"""

from flask import current_app, has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction
from sqlalchemy.pool import Pool

from app.extensions import db

READS = frozenset({"GET", "HEAD"})
_MARK = "cartable_read_only"  # in the pooled connection's `info`


class WriteInReadOnlyView(RuntimeError):
    """A view marked `@read_only` tried to write: a programming error, not bad input."""


def read_only(view):
    """Mark a view whose GET and HEAD requests only read the database."""
    view.read_only = True
    return view


def _reading_request() -> bool:
    if not has_request_context() or request.method not in READS:
        return False
    view = current_app.view_functions.get(request.endpoint)
    return getattr(view, "read_only", False)


def _without_transaction(session: Session, _transaction: SessionTransaction, connection) -> None:
    """The session has just taken its connection, before any statement: in a reading
    request on PostgreSQL, switch psycopg to autocommit."""
    if connection.dialect.name == "postgresql" and _reading_request():
        connection.connection.dbapi_connection.autocommit = True
        connection.info[_MARK] = True


def _restore(dbapi_connection, record) -> None:
    """Back in the pool: the next request gets transactions again."""
    if record.info.pop(_MARK, False) and dbapi_connection is not None:
        dbapi_connection.autocommit = False


def _refuse(what: str):
    raise WriteInReadOnlyView(
        f"{request.endpoint} is marked @read_only but {what}: drop the mark (app/read_only.py)."
    )


def _refuse_flush(_session: Session, _context, _instances) -> None:
    if _reading_request():
        _refuse("flushes changes")


def _refuse_statement(state: ORMExecuteState) -> None:
    if (state.is_insert or state.is_update or state.is_delete) and _reading_request():
        _refuse("runs " + type(state.statement).__name__)


def init_app() -> None:
    """Listen on the request session (Flask-SQLAlchemy's scoped session) and the pool."""
    if not event.contains(db.session, "after_begin", _without_transaction):
        event.listen(db.session, "after_begin", _without_transaction)
        event.listen(db.session, "before_flush", _refuse_flush)
        event.listen(db.session, "do_orm_execute", _refuse_statement)
        event.listen(Pool, "checkin", _restore)
