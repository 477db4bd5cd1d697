"""The database side of a feed import: one transaction, temporary tables, errors in SQL.

A feed is read once, line by line; its valid lines go to a temporary table in batches
(PostgreSQL: `COPY`; SQLite: `executemany`) and its bad lines to another, so memory stays
the same whatever the file's size. The checks that need the whole file (duplicates,
identities) and the writes are set-based SQL on those tables, all in one transaction:
a refused feed, or a dry run, rolls everything back.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, TextIO, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.roster.csvfile import (
    CONCURRENT_MESSAGE,
    SHOWN_BAD_LINES,
    LineError,
    RosterImportError,
    UnreadableRecord,
    open_text,
    records,
)

ERRORS = "roster_errors"
# Lines read before their rows and errors are sent to the database: a few megabytes.
BATCH_LINES = 10_000
# Where line-by-line errors are kept in a line's order; checks on the whole file come after.
LINE_CHECKS = 0
ERRORS_HEADER = ("ligne", "erreur", "contenu")

T = TypeVar("T")


class FeedImport:
    """One import: the feed's text, its temporary tables and its transaction.

    Used as a context manager: leaving it normally commits (or rolls back a dry run);
    a refusal rolls back, after writing every error to `errors_path` when given.
    """

    def __init__(
        self,
        session: Session,
        source: bytes | BinaryIO,
        *,
        dry_run: bool = False,
        errors_path: Path | None = None,
        max_bytes: int | None = None,
    ):
        self.session = session
        self.source = io.BytesIO(source) if isinstance(source, bytes) else source
        self.dry_run = dry_run
        self.errors_path = errors_path
        self.max_bytes = max_bytes
        self.started = time.perf_counter()
        self.connection = session.connection()
        self.postgresql = self.connection.dialect.name == "postgresql"
        self.tables: list[str] = []
        self.lines = 0
        self._errors_written = False
        self._sequence = 0

    # --- Transaction -------------------------------------------------------------------

    def __enter__(self) -> FeedImport:
        self.create(ERRORS, "line INTEGER, seq INTEGER NOT NULL, message TEXT NOT NULL")
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        if error is None:
            self._write_errors(())  # an accepted file: the errors file has its header only
            self._drop_tables()
            if self.dry_run:
                self.session.rollback()
            else:
                try:
                    self.session.commit()
                except IntegrityError:
                    self.session.rollback()
                    raise RosterImportError([LineError(None, CONCURRENT_MESSAGE)]) from None
            return False
        if isinstance(error, RosterImportError) and not self._errors_written:
            errors = sorted(error.errors, key=lambda e: (e.line is not None, e.line or 0))
            self._write_errors((e.line, e.message) for e in errors)
        self.session.rollback()
        if isinstance(error, IntegrityError):
            raise RosterImportError([LineError(None, CONCURRENT_MESSAGE)]) from None
        return False

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started

    # --- Temporary tables ----------------------------------------------------------------

    def create(self, name: str, columns: str) -> None:
        """A temporary table of this import (gone at the end of the transaction)."""
        self.connection.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
        suffix = " ON COMMIT DROP" if self.postgresql else ""
        self.connection.exec_driver_sql(f"CREATE TEMPORARY TABLE {name} ({columns}){suffix}")
        self.tables.append(name)

    def create_as(self, name: str, query: str, **params) -> None:
        """A temporary table filled by a query."""
        self.connection.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
        suffix = " ON COMMIT DROP" if self.postgresql else ""
        self.execute(f"CREATE TEMPORARY TABLE {name}{suffix} AS {query}", **params)
        self.tables.append(name)

    def index(self, table: str, *columns: str) -> None:
        """An index for the joins on a temporary table: without it, a planner that expects
        few rows on one side scans the whole table for each of them."""
        self.connection.exec_driver_sql(
            f"CREATE INDEX {table}_{'_'.join(columns)} ON {table} ({', '.join(columns)})"
        )

    def analyze(self, *tables: str) -> None:
        """Statistics for PostgreSQL's planner: autovacuum never visits temporary tables."""
        for table in tables:
            self.connection.exec_driver_sql(f"ANALYZE {table}")

    def _drop_tables(self) -> None:
        # SQLite keeps temporary tables for the connection's life; PostgreSQL drops them at
        # commit, but a dry run or a refusal ends in a rollback that does it as well.
        for name in reversed(self.tables):
            self.connection.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
        self.tables.clear()

    def execute(self, query: str, **params) -> sa.CursorResult:
        return self.connection.execute(sa.text(query), params)

    def stream(self, query: str, **params) -> sa.CursorResult:
        """Rows fetched a batch at a time (a server-side cursor on PostgreSQL)."""
        return self.connection.execute(
            sa.text(query), params, execution_options={"yield_per": BATCH_LINES}
        )

    def scalar(self, query: str, **params):
        return self.connection.execute(sa.text(query), params).scalar()

    # --- Loading the feed ----------------------------------------------------------------

    def load(
        self,
        parse: Callable[[TextIO], Iterable[T | LineError]],
        table: str,
        columns: Sequence[str],
        row_of: Callable[[T], tuple],
    ) -> int:
        """Read the feed with `parse`, sending the valid lines (as `row_of` gives them) to
        `table` and the errors to the errors table, in batches.

        Returns the number of data lines read, good and bad.
        """
        text = open_text(self.source, self.max_bytes)
        try:
            return self._load(parse(text), table, columns, row_of)
        finally:
            text.detach()

    def _load(self, items, table, columns, row_of) -> int:
        rows: list[tuple] = []
        errors: list[tuple] = []
        last_line = None
        for item in items:
            line = item.line
            if line != last_line:
                last_line = line
                self.lines += 1
                if self.lines % BATCH_LINES == 0:
                    self.insert(table, columns, rows)
                    self.insert(ERRORS, ("line", "seq", "message"), errors)
                    rows, errors = [], []
            if isinstance(item, LineError):
                self._sequence += 1
                errors.append((item.line, LINE_CHECKS + self._sequence, item.message))
            else:
                rows.append(row_of(item))
        self.insert(table, columns, rows)
        self.insert(ERRORS, ("line", "seq", "message"), errors)
        return self.lines

    def insert(self, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
        if not rows:
            return
        names = ", ".join(columns)
        if self.postgresql:
            driver = self.connection.connection.driver_connection
            with (
                driver.cursor() as cursor,
                cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(columns))
            self.connection.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)

    # --- Errors ----------------------------------------------------------------------------

    def add_errors(self, query: str, **params) -> None:
        """Errors found by a query on the whole file: it selects (line, seq, message)."""
        self.execute(f"INSERT INTO {ERRORS} (line, seq, message) {query}", **params)

    def insert_errors(self, rows: list[tuple[int, int, str]]) -> None:
        """Errors found in Python on the whole file: (line, seq, message) rows."""
        self.insert(ERRORS, ("line", "seq", "message"), rows)

    def raise_errors(self) -> None:
        """Refuse the feed when any line is bad: the first bad lines' errors and the count."""
        bad_lines, errors = self.execute(
            f"SELECT COUNT(DISTINCT line), COUNT(*) FROM {ERRORS}"
        ).one()
        if not errors:
            return
        shown = self.execute(
            f"SELECT line, message FROM {ERRORS} WHERE line IS NULL OR line IN "
            f"(SELECT DISTINCT line FROM {ERRORS} WHERE line IS NOT NULL "
            "ORDER BY line LIMIT :shown) ORDER BY line, seq",
            shown=SHOWN_BAD_LINES,
        ).all()
        if self.errors_path is not None:
            with self.stream(
                f"SELECT line, message FROM {ERRORS} "
                "ORDER BY CASE WHEN line IS NULL THEN 0 ELSE 1 END, line, seq"
            ) as ordered:
                self._write_errors(ordered)
        self._errors_written = True
        raise RosterImportError([LineError(line, message) for line, message in shown], bad_lines)

    def _write_errors(self, errors: Iterable[tuple[int | None, str]]) -> None:
        """Every error as CSV (line, reason, the line as written), in the order of lines."""
        self._errors_written = True
        if self.errors_path is None:
            return
        text = None
        try:
            text = open_text(self.source, self.max_bytes)
            originals = _originals(text)
        except RosterImportError:
            originals = iter(())
        try:
            with self.errors_path.open("w", encoding="utf-8-sig", newline="") as out:
                writer = csv.writer(out, delimiter=";")
                writer.writerow(ERRORS_HEADER)
                current: tuple[int, str] | None = (0, "")
                for line, message in errors:
                    original = ""
                    if line is not None:
                        while current is not None and current[0] < line:
                            current = next(originals, None)
                        if current is not None and current[0] == line:
                            original = current[1]
                    writer.writerow((line or "", message, original))
        finally:
            if text is not None:
                text.detach()


def _originals(text: TextIO) -> Iterator[tuple[int, str]]:
    """Each record's first line number and its text as written, until one is unreadable."""
    try:
        for line, _, original in records(text, keep_raw=True):
            yield line, original
    except UnreadableRecord:
        return
