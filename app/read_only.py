"""Pages that only read run without a transaction on PostgreSQL.

A reading page gains nothing from a transaction: under PostgreSQL's default isolation (read
committed) each statement sees its own snapshot anyway. What it costs is two round trips to
the server, the BEGIN psycopg sends before the first statement and the ROLLBACK that ends
the request: as many as the page's own statements, and the server's CPU besides.

A view marked `@read_only` runs, for GET and HEAD, with its session's connection in
psycopg's autocommit mode: no BEGIN is sent, and the closing rollback has nothing to do.
The connection goes back to the pool as it came (transactions on). Any INSERT, UPDATE,
DELETE or MERGE on that connection is refused before it is sent, ORM flush or Core
statement alike, on SQLite too: a view that starts writing must drop the mark. Savepoints
(`begin_nested`) need a transaction: not in such a view either. The identity's own writes
(`auth_session._write_apart`) run on a connection of their own, in a transaction. SQLite
has no round trips to save: its connections stay transactional.
"""

from flask import current_app, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.pool import Pool

from app.extensions import db

READ_METHODS = frozenset({"GET", "HEAD"})
# The session connection's execution option naming the marked view. It stays on that
# connection: a connection of its own (`auth_session._write_apart`) may write, even where
# both share one driver connection (in-memory SQLite's single one).
_MARK = "cartable_read_only"
_AUTOCOMMIT = "cartable_autocommit"  # in the pooled connection's `info`, until check-in
_WRITES = ("INSERT", "UPDATE", "DELETE", "MERGE")


class WriteInReadOnlyView(RuntimeError):
    """A view marked `@read_only` tried to write: a programming error, not bad input."""


def read_only(view):
    """Mark a view whose GET and HEAD requests only read the database."""
    view.read_only = True
    return view


def _reading_request() -> bool:
    if not has_request_context() or request.method not in READ_METHODS:
        return False
    view = current_app.view_functions.get(request.endpoint)
    return getattr(view, "read_only", False)


def _without_transaction(_session: Session, _transaction: SessionTransaction, connection) -> None:
    """The request's session has just taken its connection, before any statement: in a
    reading request, mark it (writes are refused) and, on PostgreSQL, switch psycopg to
    autocommit."""
    if not _reading_request():
        return
    connection.execution_options(**{_MARK: request.endpoint})
    if connection.dialect.name == "postgresql":
        connection.connection.dbapi_connection.autocommit = True
        connection.info[_AUTOCOMMIT] = True


def _refuse_writes(connection, _cursor, statement: str, _parameters, context, _many) -> None:
    endpoint = connection.get_execution_options().get(_MARK)
    if endpoint is None:
        return
    compiled_write = context is not None and (
        context.isinsert or context.isupdate or context.isdelete
    )
    if compiled_write or statement.lstrip()[:6].upper().startswith(_WRITES):
        raise WriteInReadOnlyView(
            f"{endpoint} is marked @read_only but runs {statement.split()[0]}: "
            "drop the mark (app/read_only.py)."
        )


def _restore(dbapi_connection, record) -> None:
    """Back in the pool: the next request gets transactions again (a connection that will
    not take the setting is thrown away rather than handed out in autocommit)."""
    if not record.info.pop(_AUTOCOMMIT, False) or dbapi_connection is None:
        return
    try:
        dbapi_connection.autocommit = False
    except Exception:  # whatever the driver raises, the connection goes
        record.invalidate()


def init_app() -> None:
    """Listen on the request session (Flask-SQLAlchemy's scoped session), every engine's
    statements and every pool's check-ins."""
    if not event.contains(db.session, "after_begin", _without_transaction):
        event.listen(db.session, "after_begin", _without_transaction)
        event.listen(Engine, "before_cursor_execute", _refuse_writes)
        event.listen(Pool, "checkin", _restore)
