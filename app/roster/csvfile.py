"""Reading an insurer's CSV feed as a stream: encoding, header row, fields and dates.

The feed is `;`-separated with a header row, in UTF-8 (with or without BOM) or
Windows-1252; dates are written JJ/MM/AAAA. Line numbers are those a spreadsheet shows:
the header is line 1. A feed is read line by line, never whole: a first pass over the
bytes chooses the encoding, a second one yields the rows.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import BinaryIO, NamedTuple, TextIO

from app.auth.rules import normalize_member_number
from app.text import fold_name

# Far above a large mutuelle's daily roster (2.5 million lines are about 200 Mo); memory no
# longer grows with the file, these only stop a runaway file.
MAX_BYTES = 2 * 1024 * 1024 * 1024
MAX_LINES = 10_000_000
# A physical line longer than this is not a roster line (a field is 100 characters at most).
MAX_LINE_CHARS = 100_000
# How many bad lines a refusal shows; the others are counted (and written by --errors).
SHOWN_BAD_LINES = 100

MEMBER_NUMBER_LENGTH = 32
DATE_HINT = "format attendu JJ/MM/AAAA"
CONCURRENT_MESSAGE = (
    "Les mêmes données ont été modifiées pendant l'import ; rien n'a été importé, "
    "relancez la commande."
)
UNREADABLE_LINE = "ligne illisible (guillemet non refermé ou champ trop long)."
_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_FIRST_YEAR, _LAST_YEAR = 1900, 2200
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
# Bytes that Windows-1252 leaves undefined.
_NOT_CP1252 = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
_CHUNK = 1024 * 1024
# Roster values repeat (offer dates, first names, qualities): their checks are kept, bounded.
_CACHED = 65_536


@dataclass(frozen=True)
class LineError:
    """One reason a line (or, without a line, the whole file) is refused."""

    line: int | None
    message: str

    def __str__(self) -> str:
        return f"Ligne {self.line} : {self.message}" if self.line else self.message


class RosterImportError(Exception):
    """The feed was refused; nothing was written.

    `errors` are those of the first bad lines (all of them for a small file), sorted by
    line; `bad_lines` counts every bad line of the file.
    """

    def __init__(self, errors: Sequence[LineError], bad_lines: int | None = None):
        self.errors = sorted(errors, key=lambda error: error.line or 0)
        if bad_lines is None:
            bad_lines = len({error.line for error in self.errors if error.line is not None})
        self.bad_lines = bad_lines
        super().__init__("\n".join(str(error) for error in self.errors))

    @property
    def shown_bad_lines(self) -> int:
        return len({error.line for error in self.errors if error.line is not None})


@dataclass
class Tally:
    """What an import did to one kind of record."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


class Row(NamedTuple):
    """A data line of the feed: its line number and its fields by column name, trimmed."""

    line: int
    fields: dict[str, str]


def word_key(text: str) -> str:
    """Fold a header or label to lower-case ASCII words joined by `_`: « Numéro adhérent »
    and `numero_adherent` give the same key."""
    return _NOT_ALNUM.sub("_", fold_name(text)).strip("_")


def _refused(message: str) -> RosterImportError:
    return RosterImportError([LineError(None, message)])


def feed_encoding(stream: BinaryIO, max_bytes: int | None = None) -> str:
    """The feed's encoding, read chunk by chunk: strict UTF-8 (a BOM is dropped), else
    Windows-1252. Refuses a binary file (NUL bytes), an unreadable one or one too big."""
    max_bytes = MAX_BYTES if max_bytes is None else max_bytes
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8_error = cp1252_error = None
    position = 0
    while chunk := stream.read(_CHUNK):
        if b"\x00" in chunk:
            raise _refused(
                "Le fichier n'est pas un fichier CSV en texte (octets nuls) : "
                "enregistrez-le en UTF-8 ou en Windows-1252."
            )
        if utf8_error is None:
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                utf8_error = position - pending + error.start
        if cp1252_error is None and (bad := _NOT_CP1252.search(chunk)):
            cp1252_error = position + bad.start()
        position += len(chunk)
        if position > max_bytes:
            raise _refused(too_big_message(max_bytes))
    if utf8_error is None:
        try:
            decoder.decode(b"", final=True)
            return "utf-8-sig"
        except UnicodeDecodeError:
            utf8_error = position
    if cp1252_error is None:
        return "cp1252"
    raise _refused(
        "Le fichier n'est ni en UTF-8 ni en Windows-1252 "
        f"(octet illisible en position {cp1252_error}) : enregistrez-le en UTF-8."
    )


def decode(data: bytes) -> str:
    """The text of a small feed held in memory (see `feed_encoding`)."""
    return data.decode(feed_encoding(io.BytesIO(data), max_bytes=len(data)))


def open_text(stream: BinaryIO, max_bytes: int | None = None) -> TextIO:
    """The feed as text, from its start, in the encoding `feed_encoding` chose.

    The caller keeps the binary stream: detach the wrapper (`text.detach()`) when done.
    """
    stream.seek(0)
    encoding = feed_encoding(stream, max_bytes)
    stream.seek(0)
    return io.TextIOWrapper(stream, encoding=encoding, newline="")


def too_big_message(max_bytes: int = MAX_BYTES) -> str:
    return (
        f"Le fichier est trop volumineux ({_megabytes(max_bytes)} au plus) : "
        "découpez-le en plusieurs fichiers."
    )


def _megabytes(size: int) -> str:
    if size >= 1024 * 1024 * 1024:
        return f"{size / (1024 * 1024 * 1024):g} Go"
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):g} Mo"
    return f"{size} octets"


def thousands(number: int) -> str:
    return f"{number:,}".replace(",", "\u202f")


class _LineTooLong(Exception):
    pass


class UnreadableRecord(Exception):
    """A record the CSV reader cannot split (unclosed quote, huge field or line)."""

    def __init__(self, line: int):
        self.line = line
        super().__init__(line)


def _physical_lines(text: TextIO, raw: list[str] | None) -> Iterator[str]:
    """The text's lines, endings kept, none longer than MAX_LINE_CHARS; with `raw`, each
    line is also kept there until the caller takes it."""
    while line := text.readline(MAX_LINE_CHARS + 1):
        if len(line) > MAX_LINE_CHARS:
            raise _LineTooLong
        if raw is not None:
            raw.append(line)
        yield line


def records(text: TextIO, *, keep_raw: bool = False) -> Iterator[tuple[int, list[str], str]]:
    """Every CSV record of the text with the line it starts on, and with `keep_raw` its
    original text (a quoted field may span lines). Raises UnreadableRecord."""
    raw: list[str] | None = [] if keep_raw else None
    reader = csv.reader(_physical_lines(text, raw), delimiter=";", strict=True)
    start = 1  # the line the next record starts on
    try:
        for record in reader:
            line, start = start, reader.line_num + 1
            original = ""
            if raw is not None:
                original = "".join(raw).rstrip("\r\n")
                raw.clear()
            yield line, record, original
    except (csv.Error, _LineTooLong):
        raise UnreadableRecord(start) from None


def read_rows(
    text: TextIO, columns: Sequence[str], *, max_lines: int | None = None
) -> Iterator[Row | LineError]:
    """Split the feed into rows keyed by column name, and the lines that could not be split.

    The header may name the columns in any order, with accents or capitals; blank lines
    (empty or only separators) and empty cells after the last column are ignored. A wrong
    header, an empty file or one over the line limit refuses the whole file at once
    (RosterImportError); an unreadable line is the last thing yielded.
    """
    max_lines = MAX_LINES if max_lines is None else max_lines
    names: list[str] | None = None  # the columns in the file's order
    width = len(columns)
    data_lines = 0
    try:
        for line, record, _ in records(text):
            if not any(value.strip() for value in record):
                continue
            if names is None:
                positions = _header_positions(record, columns, line)
                names = sorted(positions, key=positions.__getitem__)
                continue
            data_lines += 1
            if data_lines > max_lines:
                raise _refused(
                    f"Le fichier dépasse {thousands(max_lines)} lignes de données : "
                    "découpez-le en plusieurs fichiers."
                )
            # Spreadsheets often end every line with empty cells (`…;31/12/2026;;`).
            while len(record) > width and not record[-1].strip():
                record.pop()
            if len(record) != width:
                yield LineError(
                    line,
                    f"{len(record)} colonne{_plural(len(record))} au lieu de "
                    f"{width} (séparateur attendu : « ; »).",
                )
                continue
            yield Row(line, dict(zip(names, map(str.strip, record), strict=True)))
    except UnreadableRecord as unreadable:
        yield LineError(unreadable.line, UNREADABLE_LINE)
        return
    if names is None:
        raise _refused("Le fichier est vide.")
    if data_lines == 0:
        raise _refused("Le fichier ne contient aucune ligne après l'en-tête.")


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


@lru_cache(maxsize=_CACHED)
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
        value = self.row.fields[column]
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
