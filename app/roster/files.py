"""The assistance files feed: files opened by the desk for a family, and their guarantees.

`numero_adherent;numero_dossier;garantie;debut;fin`, one line per file and guarantee. A
file is identified by (insurer, file number) and belongs to one family (member number);
a guarantee by (file, kind).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from app.models import AssistanceFile, Guarantee, GuaranteeKind, Insurer, Member
from app.roster.csvfile import (
    MAX_BYTES,
    MAX_LINES,
    LineChecker,
    LineError,
    RosterImportError,
    Tally,
    chunks,
    read_rows,
    word_key,
    write_all_or_nothing,
)

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


@dataclass(frozen=True)
class GuaranteeLine:
    """A valid line of the assistance files feed."""

    line: int
    member_number: str
    file_number: str
    kind: GuaranteeKind
    starts_on: date
    ends_on: date


@dataclass
class FilesSummary:
    files: Tally = field(default_factory=Tally)
    guarantees: Tally = field(default_factory=Tally)


def parse_assistance_files(
    data: bytes, *, max_bytes: int = MAX_BYTES, max_lines: int = MAX_LINES
) -> list[GuaranteeLine]:
    """Every line of an assistance files feed, or RosterImportError listing every bad line."""
    rows, errors = read_rows(data, COLUMNS, max_bytes=max_bytes, max_lines=max_lines)
    lines: list[GuaranteeLine] = []
    for row in rows:
        check = LineChecker(row, LABELS, errors)
        member_number = check.member_number("numero_adherent")
        file_number = _file_number(check)
        kind = _kind(check)
        period = check.period("debut", "fin", "de la garantie")
        if check.ok:
            lines.append(GuaranteeLine(row.line, member_number, file_number, kind, *period))
    errors.extend(_conflicts(lines))
    if errors:
        raise RosterImportError(errors)
    return lines


def _file_number(check: LineChecker) -> str | None:
    """File numbers in capitals, single spaces: « da-2026-0001 » is « DA-2026-0001 »."""
    raw = check.text("numero_dossier", FILE_NUMBER_LENGTH)
    if raw is None:
        return None
    number = _SPACES.sub(" ", raw).upper()
    if not number.isascii() or not _FILE_NUMBER.fullmatch(number):
        check.fail(
            f"numéro de dossier invalide « {raw} » (lettres sans accents, chiffres et "
            "séparateurs - / . _)."
        )
    return number


def _kind(check: LineChecker) -> GuaranteeKind | None:
    raw = check.text("garantie", 100)
    if raw is None:
        return None
    kind = GUARANTEES.get(word_key(raw))
    if kind is None:
        check.fail(f"garantie inconnue « {raw} » (attendu : {GUARANTEE_CHOICES}).")
    return kind


def _conflicts(lines: list[GuaranteeLine]) -> list[LineError]:
    """Lines that repeat an earlier one or give an earlier file to another family."""
    errors = []
    first_guarantee: dict[tuple[str, GuaranteeKind], GuaranteeLine] = {}
    first_file: dict[str, GuaranteeLine] = {}
    for line in lines:
        earlier = first_file.setdefault(line.file_number, line)
        if earlier.member_number != line.member_number:
            errors.append(
                LineError(
                    line.line,
                    f"le dossier « {line.file_number} » est rattaché au numéro adhérent "
                    f"{earlier.member_number} à la ligne {earlier.line}.",
                )
            )
            continue
        earlier = first_guarantee.setdefault((line.file_number, line.kind), line)
        if earlier is not line:
            errors.append(
                LineError(
                    line.line,
                    "ligne en double : même dossier et même garantie qu'à la ligne "
                    f"{earlier.line}.",
                )
            )
    return errors


def import_assistance_files(
    session: Session,
    insurer: Insurer,
    data: bytes,
    *,
    max_bytes: int = MAX_BYTES,
    max_lines: int = MAX_LINES,
) -> FilesSummary:
    """Import an assistance files feed for an insurer, all or nothing, and commit.

    Every line is checked first, also against the database: the family must be in the
    insurer's roster, and a file number already given to another family is refused. Then
    files are created and guarantees upserted by kind (same kind: new dates). Nothing is
    deleted; a second run changes nothing.
    """
    lines = parse_assistance_files(data, max_bytes=max_bytes, max_lines=max_lines)
    files = _existing_files(session, insurer.id, sorted({line.file_number for line in lines}))
    families = _known_families(session, insurer.id, sorted({line.member_number for line in lines}))
    errors = []
    for line in lines:
        if line.member_number not in families:
            errors.append(
                LineError(
                    line.line,
                    f"numéro adhérent « {line.member_number} » absent du fichier des "
                    "personnes de cette mutuelle (importez-le d'abord).",
                )
            )
        file = files.get(line.file_number)
        if file is not None and file.member_number != line.member_number:
            errors.append(
                LineError(
                    line.line,
                    f"le dossier « {line.file_number} » est déjà rattaché à une autre "
                    f"famille (numéro adhérent {file.member_number}).",
                )
            )
    if errors:
        raise RosterImportError(errors)
    return write_all_or_nothing(session, lambda: _write(session, insurer.id, lines, files))


def _existing_files(session: Session, insurer_id: int, numbers: list[str]) -> dict:
    files: dict[str, AssistanceFile] = {}
    for chunk in chunks(numbers):
        query = (
            sa.select(AssistanceFile)
            .where(AssistanceFile.insurer_id == insurer_id, AssistanceFile.number.in_(chunk))
            .options(selectinload(AssistanceFile.guarantees))
        )
        files.update((file.number, file) for file in session.scalars(query))
    return files


def _known_families(session: Session, insurer_id: int, numbers: list[str]) -> set[str]:
    known: set[str] = set()
    for chunk in chunks(numbers):
        query = (
            sa.select(Member.member_number)
            .where(Member.insurer_id == insurer_id, Member.member_number.in_(chunk))
            .distinct()
        )
        known.update(session.scalars(query))
    return known


def _write(
    session: Session,
    insurer_id: int,
    lines: list[GuaranteeLine],
    files: dict[str, AssistanceFile],
) -> FilesSummary:
    summary = FilesSummary()
    created: set[str] = set()
    changed: set[str] = set()
    for line in lines:
        file = files.get(line.file_number)
        if file is None:
            file = AssistanceFile(
                insurer_id=insurer_id, member_number=line.member_number, number=line.file_number
            )
            session.add(file)
            files[line.file_number] = file
            created.add(line.file_number)
        guarantee = next((g for g in file.guarantees if g.kind is line.kind), None)
        if guarantee is None:
            file.guarantees.append(
                Guarantee(kind=line.kind, starts_on=line.starts_on, ends_on=line.ends_on)
            )
            summary.guarantees.created += 1
            changed.add(line.file_number)
        elif (guarantee.starts_on, guarantee.ends_on) != (line.starts_on, line.ends_on):
            guarantee.starts_on, guarantee.ends_on = line.starts_on, line.ends_on
            summary.guarantees.updated += 1
            changed.add(line.file_number)
        else:
            summary.guarantees.unchanged += 1
    numbers = {line.file_number for line in lines}
    summary.files.created = len(created)
    summary.files.updated = len(changed - created)
    summary.files.unchanged = len(numbers - created - changed)
    session.flush()
    return summary
