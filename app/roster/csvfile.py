"""Reading an insurer's CSV feed: encoding, size limits, header row, fields and dates.

The feed is `;`-separated with a header row, in UTF-8 (with or without BOM) or
Windows-1252; dates are written JJ/MM/AAAA. Line numbers are those a spreadsheet shows:
the header is line 1.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.auth.rules import normalize_member_number
from app.text import fold_name

# One insurer's whole roster fits well below these; larger feeds are split into several files.
MAX_BYTES = 20 * 1024 * 1024
MAX_LINES = 100_000

MEMBER_NUMBER_LENGTH = 32
DATE_HINT = "format attendu JJ/MM/AAAA"
CONCURRENT_MESSAGE = (
    "Les mêmes données ont été modifiées pendant l'import ; rien n'a été importé, "
    "relancez la commande."
)
_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_FIRST_YEAR, _LAST_YEAR = 1900, 2200
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class LineError:
    """One reason a line (or, without a line, the whole file) is refused."""

    line: int | None
    message: str

    def __str__(self) -> str:
        return f"Ligne {self.line} : {self.message}" if self.line else self.message


class RosterImportError(Exception):
    """The feed was refused; nothing was written. `errors` are sorted by line."""

    def __init__(self, errors: Sequence[LineError]):
        self.errors = sorted(errors, key=lambda error: error.line or 0)
        super().__init__("\n".join(str(error) for error in self.errors))


@dataclass
class Tally:
    """What an import did to one kind of record."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass(frozen=True)
class Row:
    """A data line of the feed: its line number and its fields by column name, trimmed."""

    line: int
    fields: dict[str, str]

    def __getitem__(self, column: str) -> str:
        return self.fields[column]


def word_key(text: str) -> str:
    """Fold a header or label to lower-case ASCII words joined by `_`: « Numéro adhérent »
    and `numero_adherent` give the same key."""
    return _NOT_ALNUM.sub("_", fold_name(text)).strip("_")


def decode(data: bytes) -> str:
    """The feed's text: strict UTF-8 (a BOM is dropped) first, else Windows-1252."""
    if b"\x00" in data:
        raise RosterImportError(
            [
                LineError(
                    None,
                    "Le fichier n'est pas un fichier CSV en texte (octets nuls) : "
                    "enregistrez-le en UTF-8 ou en Windows-1252.",
                )
            ]
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as error:
        raise RosterImportError(
            [
                LineError(
                    None,
                    "Le fichier n'est ni en UTF-8 ni en Windows-1252 "
                    f"(octet illisible en position {error.start}) : enregistrez-le en UTF-8.",
                )
            ]
        ) from None


def too_big_message(max_bytes: int = MAX_BYTES) -> str:
    return (
        f"Le fichier est trop volumineux ({_megabytes(max_bytes)} au plus) : "
        "découpez-le en plusieurs fichiers."
    )


def _megabytes(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):g} Mo"
    return f"{size} octets"


def _thousands(number: int) -> str:
    return f"{number:,}".replace(",", "\u202f")


def read_rows(
    data: bytes,
    columns: Sequence[str],
    *,
    max_bytes: int = MAX_BYTES,
    max_lines: int = MAX_LINES,
) -> tuple[list[Row], list[LineError]]:
    """Split the feed into rows keyed by column name, with the lines that could not be split.

    The header may name the columns in any order, with accents or capitals; blank lines
    (empty or only separators) and empty cells after the last column are ignored. A wrong
    header, an unreadable encoding or a file over the limits refuses the whole file at once.
    """
    if len(data) > max_bytes:
        raise RosterImportError([LineError(None, too_big_message(max_bytes))])
    text = decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";", strict=True)
    rows: list[Row] = []
    errors: list[LineError] = []
    positions: dict[str, int] | None = None
    data_lines = 0
    start = 1  # the line the next record starts on: quoted fields may span lines
    try:
        for record in reader:
            line, start = start, reader.line_num + 1
            if not any(value.strip() for value in record):
                continue
            if positions is None:
                positions = _header_positions(record, columns, line)
                continue
            data_lines += 1
            if data_lines > max_lines:
                raise RosterImportError(
                    [
                        LineError(
                            None,
                            f"Le fichier dépasse {_thousands(max_lines)} lignes de données : "
                            "découpez-le en plusieurs fichiers.",
                        )
                    ]
                )
            # Spreadsheets often end every line with empty cells (`…;31/12/2026;;`).
            while len(record) > len(columns) and not record[-1].strip():
                record.pop()
            if len(record) != len(columns):
                errors.append(
                    LineError(
                        line,
                        f"{len(record)} colonne{_plural(len(record))} au lieu de "
                        f"{len(columns)} (séparateur attendu : « ; »).",
                    )
                )
                continue
            rows.append(
                Row(line, {name: record[index].strip() for name, index in positions.items()})
            )
    except csv.Error:
        errors.append(
            LineError(start, "ligne illisible (guillemet non refermé ou champ trop long).")
        )
        raise RosterImportError(errors) from None
    if positions is None:
        raise RosterImportError([LineError(None, "Le fichier est vide.")])
    if data_lines == 0:
        raise RosterImportError(
            [LineError(None, "Le fichier ne contient aucune ligne après l'en-tête.")]
        )
    return rows, errors


def _header_positions(record: list[str], columns: Sequence[str], line: int) -> dict[str, int]:
    while record and not record[-1].strip():
        record = record[:-1]
    keys = [word_key(value) for value in record]
    missing = [column for column in columns if column not in keys]
    unknown = [value.strip() for value, key in zip(record, keys, strict=True) if key not in columns]
    repeated = sorted({key for key in keys if key in columns and keys.count(key) > 1})
    if not (missing or unknown or repeated):
        return {column: keys.index(column) for column in columns}
    problems = []
    if missing:
        problems.append("colonnes manquantes : " + ", ".join(missing))
    if unknown:
        problems.append("colonnes inconnues : " + ", ".join(f"« {value} »" for value in unknown))
    if repeated:
        problems.append("colonnes en double : " + ", ".join(repeated))
    hint = ""
    if len(record) == 1 and ("," in record[0] or "\t" in record[0]):
        hint = " Le séparateur doit être le point-virgule « ; »."
    raise RosterImportError(
        [
            LineError(
                line,
                f"en-tête attendu « {';'.join(columns)} » ({' ; '.join(problems)}).{hint}",
            )
        ]
    )


def _plural(count: int) -> str:
    return "s" if count > 1 else ""


def parse_date(value: str) -> date | None:
    """A JJ/MM/AAAA date (leading zeros optional), or None when it is not a real date."""
    match = _DATE.fullmatch(value)
    if match is None:
        return None
    day, month, year = (int(part) for part in match.groups())
    if not _FIRST_YEAR <= year <= _LAST_YEAR:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _date_problem(raw: str) -> str:
    match = _DATE.fullmatch(raw)
    if match is None:
        return DATE_HINT
    if not _FIRST_YEAR <= int(match[3]) <= _LAST_YEAR:
        return f"année hors de la période {_FIRST_YEAR} à {_LAST_YEAR}"
    return "date inexistante"


def format_date(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def chunks(values: Sequence, size: int = 500) -> Iterator[Sequence]:
    """Slices of at most `size` values, to keep `IN (...)` lists within database limits."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


class LineChecker:
    """Collects a line's problems while its fields are read, in French."""

    def __init__(self, row: Row, labels: dict[str, str], errors: list[LineError]):
        self.row = row
        self.labels = labels
        self.errors = errors
        self.ok = True

    def fail(self, message: str) -> None:
        self.ok = False
        self.errors.append(LineError(self.row.line, message))

    def text(self, column: str, max_length: int) -> str | None:
        value = self.row[column]
        if not value:
            self.fail(f"le champ « {self.labels[column]} » est vide.")
            return None
        if len(value) > max_length:
            self.fail(f"le champ « {self.labels[column]} » dépasse {max_length} caractères.")
            return None
        return value

    def member_number(self, column: str) -> str | None:
        """A member number as registration reads it: spaces dropped, capitals."""
        raw = self.text(column, MEMBER_NUMBER_LENGTH + 20)
        if raw is None:
            return None
        number = normalize_member_number(raw)
        if number is None or len(number) > MEMBER_NUMBER_LENGTH:
            self.fail(
                f"numéro adhérent invalide « {raw} » (lettres et chiffres uniquement, "
                f"{MEMBER_NUMBER_LENGTH} au plus)."
            )
            return None
        return number

    def date(self, column: str) -> date | None:
        raw = self.text(column, 20)
        if raw is None:
            return None
        value = parse_date(raw)
        if value is None:
            reason = _date_problem(raw)
            self.fail(f"{self.labels[column]} invalide « {raw} » ({reason}).")
        return value

    def period(self, start_column: str, end_column: str, what: str) -> tuple[date, date] | None:
        starts_on, ends_on = self.date(start_column), self.date(end_column)
        if starts_on is None or ends_on is None:
            return None
        if ends_on < starts_on:
            self.fail(
                f"la fin {what} ({format_date(ends_on)}) précède son début "
                f"({format_date(starts_on)})."
            )
            return None
        return starts_on, ends_on


T = TypeVar("T")


def write_all_or_nothing(session: Session, write: Callable[[], T]) -> T:
    """Run `write` and commit; a clash with a simultaneous import rolls everything back."""
    try:
        result = write()
        session.commit()
    except IntegrityError:
        session.rollback()
        raise RosterImportError([LineError(None, CONCURRENT_MESSAGE)]) from None
    return result
