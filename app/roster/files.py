"""The assistance files feed: files opened by the desk for a family, and their guarantees.

`numero_adherent;numero_dossier;garantie;debut;fin`, one line per file and guarantee. A
file is identified by (insurer, file number) and belongs to one family (member number);
a guarantee by (file, kind).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO, NamedTuple, TextIO

from sqlalchemy.orm import Session

from app.models import GuaranteeKind, Insurer
from app.roster.csvfile import (
    LineChecker,
    LineError,
    RosterImportError,
    Tally,
    open_text,
    read_rows,
    word_key,
)
from app.roster.staging import FeedImport

COLUMNS = ("numero_adherent", "numero_dossier", "garantie", "debut", "fin")
LABELS = {
    "numero_adherent": "numéro adhérent",
    "numero_dossier": "numéro de dossier",
    "garantie": "garantie",
    "debut": "début de garantie",
    "fin": "fin de garantie",
}
FILE_NUMBER_LENGTH = 64
GUARANTEES = {word_key(kind.label): kind for kind in GuaranteeKind} | {
    word_key(kind.value): kind for kind in GuaranteeKind
}
GUARANTEE_CHOICES = " ou ".join(f"« {kind.label} »" for kind in GuaranteeKind)
_FILE_NUMBER = re.compile(r"[A-Z0-9]+(?:[-/._ ][A-Z0-9]+)*")
_SPACES = re.compile(r"\s+")


class GuaranteeLine(NamedTuple):
    """A valid line of the assistance files feed."""

    line: int
    member_number: str
    file_number: str
    kind: GuaranteeKind
    starts_on: date
    ends_on: date


@dataclass
class FilesSummary:
    """What an assistance files feed did (or, in a dry run, would do)."""

    lines: int = 0
    families: int = 0
    files: Tally = field(default_factory=Tally)
    guarantees: Tally = field(default_factory=Tally)
    dry_run: bool = False
    seconds: float = 0.0


def read_assistance_files(
    text: TextIO, *, max_lines: int | None = None
) -> Iterator[GuaranteeLine | LineError]:
    """Each valid line of an assistance files feed, or the reasons a line is bad.

    Only what one line shows is checked here; what needs the whole file or the database
    (a line repeated, a file given to two families, an unknown family) is checked in the
    database (`import_assistance_files`).
    """
    for row in read_rows(text, COLUMNS, max_lines=max_lines):
        if isinstance(row, LineError):
            yield row
            continue
        errors: list[LineError] = []
        check = LineChecker(row, LABELS, errors)
        member_number = check.member_number("numero_adherent")
        file_number = _file_number(check)
        kind = _kind(check)
        period = check.period("debut", "fin", "de la garantie")
        if check.ok:
            yield GuaranteeLine(row.line, member_number, file_number, kind, *period)
        else:
            yield from errors


def parse_assistance_files(
    data: bytes, *, max_bytes: int | None = None, max_lines: int | None = None
) -> list[GuaranteeLine]:
    """Every line of a small feed held in memory, or RosterImportError listing every bad
    line (line by line checks only)."""
    text = open_text(io.BytesIO(data), len(data) if max_bytes is None else max_bytes)
    lines, errors = [], []
    for item in read_assistance_files(text, max_lines=max_lines):
        (errors if isinstance(item, LineError) else lines).append(item)
    if errors:
        raise RosterImportError(errors)
    return lines


@lru_cache(maxsize=65_536)
def _clean_file_number(raw: str) -> tuple[str, bool]:
    number = _SPACES.sub(" ", raw).upper()
    return number, number.isascii() and _FILE_NUMBER.fullmatch(number) is not None


def _file_number(check: LineChecker) -> str | None:
    """File numbers in capitals, single spaces: « da-2026-0001 » is « DA-2026-0001 »."""
    raw = check.text("numero_dossier", FILE_NUMBER_LENGTH)
    if raw is None:
        return None
    number, valid = _clean_file_number(raw)
    if not valid:
        check.fail(
            f"numéro de dossier invalide « {raw} » (lettres sans accents, chiffres et "
            "séparateurs - / . _)."
        )
    return number


@lru_cache(maxsize=1_024)
def _kind_of(raw: str) -> GuaranteeKind | None:
    return GUARANTEES.get(word_key(raw))


def _kind(check: LineChecker) -> GuaranteeKind | None:
    raw = check.text("garantie", 100)
    if raw is None:
        return None
    kind = _kind_of(raw)
    if kind is None:
        check.fail(f"garantie inconnue « {raw} » (attendu : {GUARANTEE_CHOICES}).")
    return kind


# --- Importing into the database -------------------------------------------------------------

STAGED = "roster_files"
STAGED_COLUMNS = ("line", "member_number", "file_number", "kind", "starts_on", "ends_on")
# Order of a line's errors found on the whole file (after those of the line itself).
_IN_FILE, _UNKNOWN_FAMILY, _OTHER_FAMILY = 1, 2, 3


def _staged_row(line: GuaranteeLine) -> tuple:
    return (
        line.line,
        line.member_number,
        line.file_number,
        line.kind.value,
        line.starts_on.isoformat(),
        line.ends_on.isoformat(),
    )


def import_assistance_files(
    session: Session,
    insurer: Insurer,
    source: bytes | BinaryIO,
    *,
    dry_run: bool = False,
    errors_path: Path | None = None,
    max_bytes: int | None = None,
    max_lines: int | None = None,
) -> FilesSummary:
    """Import an assistance files feed for an insurer, all or nothing, and commit.

    Every line is checked first, also against the database: the family must be in the
    insurer's roster, and a file number already given to another family is refused; any bad
    line raises RosterImportError and writes nothing. Then files are created and guarantees
    upserted by kind (same kind: new dates). Nothing is deleted; a second run changes
    nothing. `dry_run` writes nothing.
    """
    summary = FilesSummary(dry_run=dry_run)
    with FeedImport(
        session, source, dry_run=dry_run, errors_path=errors_path, max_bytes=max_bytes
    ) as feed:
        feed.create(
            STAGED,
            "line INTEGER NOT NULL, member_number TEXT NOT NULL, file_number TEXT NOT NULL, "
            "kind TEXT NOT NULL, starts_on DATE NOT NULL, ends_on DATE NOT NULL",
        )
        summary.lines = feed.load(
            lambda text: read_assistance_files(text, max_lines=max_lines),
            STAGED,
            STAGED_COLUMNS,
            _staged_row,
        )
        feed.index(STAGED, "file_number", "kind")
        feed.index(STAGED, "member_number")
        feed.analyze(STAGED)
        _check(feed, insurer.id)
        feed.raise_errors()
        _count(feed, insurer.id, summary)
        if not dry_run:
            _write(feed, insurer.id)
    summary.seconds = feed.seconds
    return summary


def _check(feed: FeedImport, insurer_id: int) -> None:
    """Lines repeating an earlier one, giving a file to two families (in the file or against
    the database), or naming a family missing from the insurer's roster."""
    feed.add_errors(
        f"""
        WITH lines AS (
          SELECT line, member_number, file_number, kind,
            FIRST_VALUE(line) OVER same_file AS file_first,
            FIRST_VALUE(member_number) OVER same_file AS file_member
          FROM {STAGED}
          WINDOW same_file AS (PARTITION BY file_number ORDER BY line)
        )
        SELECT line, {_IN_FILE}, CAST(:file AS TEXT) || file_number
          || CAST(:given_to AS TEXT) || file_member || CAST(:at_line AS TEXT)
          || CAST(file_first AS TEXT) || '.'
        FROM lines WHERE member_number <> file_member
        UNION ALL
        SELECT line, {_IN_FILE}, CAST(:repeated AS TEXT) || CAST(kind_first AS TEXT) || '.'
        FROM (
          SELECT line, MIN(line) OVER (PARTITION BY file_number, kind) AS kind_first
          FROM lines WHERE member_number = file_member
        ) AS same_kind
        WHERE line > kind_first
        """,
        file="le dossier « ",
        given_to=" » est rattaché au numéro adhérent ",
        at_line=" à la ligne ",
        repeated="ligne en double : même dossier et même garantie qu'à la ligne ",
    )
    feed.add_errors(
        f"""
        SELECT line, {_UNKNOWN_FAMILY}, CAST(:number AS TEXT) || member_number
          || CAST(:missing AS TEXT)
        FROM {STAGED} AS s
        WHERE NOT EXISTS (
          SELECT 1 FROM members AS m
          WHERE m.insurer_id = :insurer AND m.member_number = s.member_number
        )
        UNION ALL
        SELECT s.line, {_OTHER_FAMILY}, CAST(:file AS TEXT) || s.file_number
          || CAST(:taken AS TEXT) || f.member_number || ').'
        FROM {STAGED} AS s
        JOIN assistance_files AS f ON f.insurer_id = :insurer AND f.number = s.file_number
        WHERE f.member_number <> s.member_number
        """,
        insurer=insurer_id,
        number="numéro adhérent « ",
        missing=" » absent du fichier des personnes de cette mutuelle (importez-le d'abord).",
        file="le dossier « ",
        taken=" » est déjà rattaché à une autre famille (numéro adhérent ",
    )


def _count(feed: FeedImport, insurer_id: int, summary: FilesSummary) -> None:
    files, created, updated, lines, guarantees_created, guarantees_updated, families = feed.execute(
        f"""
            SELECT COUNT(*), SUM(new_file), SUM(CASE WHEN new_file = 0 AND changed > 0
              THEN 1 ELSE 0 END), SUM(lines), SUM(created), SUM(updated),
              COUNT(DISTINCT member_number)
            FROM (
              SELECT s.file_number, MIN(s.member_number) AS member_number,
                MAX(CASE WHEN f.id IS NULL THEN 1 ELSE 0 END) AS new_file,
                COUNT(*) AS lines,
                SUM(CASE WHEN g.id IS NULL THEN 1 ELSE 0 END) AS created,
                SUM(CASE WHEN g.starts_on <> s.starts_on OR g.ends_on <> s.ends_on
                  THEN 1 ELSE 0 END) AS updated,
                SUM(CASE WHEN g.id IS NULL OR g.starts_on <> s.starts_on
                  OR g.ends_on <> s.ends_on THEN 1 ELSE 0 END) AS changed
              FROM {STAGED} AS s
              LEFT JOIN assistance_files AS f
                ON f.insurer_id = :insurer AND f.number = s.file_number
              LEFT JOIN guarantees AS g ON g.assistance_file_id = f.id AND g.kind = s.kind
              GROUP BY s.file_number
            ) AS per_file
            """,
        insurer=insurer_id,
    ).one()
    created, updated = created or 0, updated or 0
    summary.families = families
    summary.files = Tally(created, updated, files - created - updated)
    guarantees_created, guarantees_updated = guarantees_created or 0, guarantees_updated or 0
    summary.guarantees = Tally(
        guarantees_created, guarantees_updated, lines - guarantees_created - guarantees_updated
    )


def _write(feed: FeedImport, insurer_id: int) -> None:
    """Apply the feed: new files, then guarantees inserted or given their new dates."""
    feed.execute(
        f"""
        INSERT INTO assistance_files (insurer_id, member_number, number)
        SELECT DISTINCT :insurer, member_number, file_number FROM {STAGED} AS s
        WHERE NOT EXISTS (
          SELECT 1 FROM assistance_files AS f
          WHERE f.insurer_id = :insurer AND f.number = s.file_number
        )
        """,
        insurer=insurer_id,
    )
    feed.execute(
        f"""
        INSERT INTO guarantees (assistance_file_id, kind, starts_on, ends_on)
        SELECT f.id, s.kind, s.starts_on, s.ends_on
        FROM {STAGED} AS s
        JOIN assistance_files AS f ON f.insurer_id = :insurer AND f.number = s.file_number
        LEFT JOIN guarantees AS g ON g.assistance_file_id = f.id AND g.kind = s.kind
        WHERE g.id IS NULL OR g.starts_on <> s.starts_on OR g.ends_on <> s.ends_on
        ON CONFLICT (assistance_file_id, kind)
        DO UPDATE SET starts_on = excluded.starts_on, ends_on = excluded.ends_on
        """,
        insurer=insurer_id,
    )
