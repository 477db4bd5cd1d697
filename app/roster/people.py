"""The people file: members of an insurer's roster and their offers.

`numero_adherent;qualite;nom;prenom;date_naissance;offre_debut;offre_fin`, one line per
person and offer. A person is identified by (insurer, member number, folded last name,
folded first name, birth date); an offer by (person, start date).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from app.models import Insurer, Member, Offer, Quality
from app.roster.csvfile import (
    MAX_BYTES,
    MAX_LINES,
    LineChecker,
    LineError,
    RosterImportError,
    Tally,
    chunks,
    format_date,
    read_rows,
    word_key,
    write_all_or_nothing,
)
from app.text import fold_name

COLUMNS = (
    "numero_adherent",
    "qualite",
    "nom",
    "prenom",
    "date_naissance",
    "offre_debut",
    "offre_fin",
)
LABELS = {
    "numero_adherent": "numéro adhérent",
    "qualite": "qualité",
    "nom": "nom",
    "prenom": "prénom",
    "date_naissance": "date de naissance",
    "offre_debut": "début d'offre",
    "offre_fin": "fin d'offre",
}
NAME_LENGTH = 100

QUALITIES = {word_key(quality.label): quality for quality in Quality} | {
    word_key(quality.value): quality for quality in Quality
}
QUALITY_CHOICES = "Adhérent, Souscripteur, Conjoint ou Enfant"
# Letters of any alphabet, spaces, hyphens, apostrophes and dots (« O'NEIL », « ST. JOHN »).
_NAME = re.compile(r"[^\W\d_]+(?:[\s\-'’.]+[^\W\d_]+)*\.?")
_SPACES = re.compile(r"\s+")

PersonKey = tuple[str, str, str, date]


@dataclass(frozen=True)
class PersonLine:
    """A valid line of the people file."""

    line: int
    member_number: str
    quality: Quality
    last_name: str
    first_name: str
    birth_date: date
    offer_starts_on: date
    offer_ends_on: date
    # (member number, folded last name, folded first name, birth date): who the line is about.
    key: PersonKey


@dataclass
class PeopleSummary:
    people: Tally = field(default_factory=Tally)
    offers: Tally = field(default_factory=Tally)


def parse_people(
    data: bytes, *, today: date, max_bytes: int = MAX_BYTES, max_lines: int = MAX_LINES
) -> list[PersonLine]:
    """Every line of a people file, or RosterImportError listing every bad line."""
    rows, errors = read_rows(data, COLUMNS, max_bytes=max_bytes, max_lines=max_lines)
    lines: list[PersonLine] = []
    for row in rows:
        check = LineChecker(row, LABELS, errors)
        number = check.member_number("numero_adherent")
        quality = _quality(check)
        last_name = _name(check, "nom")
        first_name = _name(check, "prenom")
        birth_date = check.date("date_naissance")
        if birth_date is not None and birth_date > today:
            check.fail(f"date de naissance dans le futur « {format_date(birth_date)} ».")
        period = check.period("offre_debut", "offre_fin", "de l'offre")
        if check.ok:
            key = (number, fold_name(last_name), fold_name(first_name), birth_date)
            lines.append(
                PersonLine(
                    row.line, number, quality, last_name, first_name, birth_date, *period, key
                )
            )
    errors.extend(_conflicts(lines))
    if errors:
        raise RosterImportError(errors)
    return lines


def _quality(check: LineChecker) -> Quality | None:
    raw = check.text("qualite", 40)
    if raw is None:
        return None
    quality = QUALITIES.get(word_key(raw))
    if quality is None:
        check.fail(f"qualité inconnue « {raw} » (attendu : {QUALITY_CHOICES}).")
    return quality


def _name(check: LineChecker, column: str) -> str | None:
    raw = check.text(column, NAME_LENGTH)
    if raw is None:
        return None
    name = _SPACES.sub(" ", unicodedata.normalize("NFC", raw))
    if not _NAME.fullmatch(name) or len(fold_name(name)) > NAME_LENGTH:
        check.fail(
            f"{LABELS[column]} invalide « {raw} » (lettres, espaces, tirets et "
            "apostrophes uniquement)."
        )
    return name


def _conflicts(lines: list[PersonLine]) -> list[LineError]:
    """Lines that repeat an earlier one (same person, same offer start) or contradict it."""
    errors = []
    first_offer: dict[tuple[PersonKey, date], PersonLine] = {}
    first_person: dict[PersonKey, PersonLine] = {}
    for line in lines:
        earlier = first_offer.setdefault((line.key, line.offer_starts_on), line)
        if earlier is not line:
            errors.append(
                LineError(
                    line.line,
                    "ligne en double : même personne et même début d'offre qu'à la ligne "
                    f"{earlier.line}.",
                )
            )
            continue
        person = first_person.setdefault(line.key, line)
        if person.quality is not line.quality:
            errors.append(
                LineError(
                    line.line,
                    f"qualité « {line.quality.label} » différente de celle de la ligne "
                    f"{person.line} (« {person.quality.label} ») pour la même personne.",
                )
            )
    return errors


def import_people(
    session: Session,
    insurer: Insurer,
    data: bytes,
    *,
    today: date,
    max_bytes: int = MAX_BYTES,
    max_lines: int = MAX_LINES,
) -> PeopleSummary:
    """Import a people file for an insurer, all or nothing, and commit.

    Validates every line first: any bad line raises RosterImportError and writes nothing.
    Then creates unknown people, updates their quality and spelling, and upserts offers by
    start date (same start: new end). Nothing is deleted; a second run changes nothing.
    """
    lines = parse_people(data, today=today, max_bytes=max_bytes, max_lines=max_lines)
    return write_all_or_nothing(session, lambda: _write(session, insurer.id, lines))


def _existing_members(session: Session, insurer_id: int, numbers: list[str]) -> dict:
    members: dict[PersonKey, Member] = {}
    for chunk in chunks(numbers):
        query = (
            sa.select(Member)
            .where(Member.insurer_id == insurer_id, Member.member_number.in_(chunk))
            .options(selectinload(Member.offers))
        )
        for member in session.scalars(query):
            key = (member.member_number, member.last_name_key, member.first_name_key)
            members[(*key, member.birth_date)] = member
    return members


def _write(session: Session, insurer_id: int, lines: list[PersonLine]) -> PeopleSummary:
    members = _existing_members(session, insurer_id, sorted({line.member_number for line in lines}))
    summary = PeopleSummary()
    seen: set[PersonKey] = set()
    for line in lines:
        member = members.get(line.key)
        if line.key not in seen:
            seen.add(line.key)
            if member is None:
                member = Member(
                    insurer_id=insurer_id,
                    member_number=line.member_number,
                    last_name_key=line.key[1],
                    first_name_key=line.key[2],
                    birth_date=line.birth_date,
                )
                session.add(member)
                members[line.key] = member
                summary.people.created += 1
            elif (member.quality, member.last_name, member.first_name) != (
                line.quality,
                line.last_name,
                line.first_name,
            ):
                summary.people.updated += 1
            else:
                summary.people.unchanged += 1
            # Assigned only on change: an untouched object costs nothing at flush time.
            if member.quality is not line.quality:
                member.quality = line.quality
            if member.last_name != line.last_name:
                member.last_name = line.last_name
            if member.first_name != line.first_name:
                member.first_name = line.first_name
        _upsert_offer(member, line, summary.offers)
    session.flush()
    return summary


def _upsert_offer(member: Member, line: PersonLine, tally: Tally) -> None:
    offer = next((o for o in member.offers if o.starts_on == line.offer_starts_on), None)
    if offer is None:
        member.offers.append(Offer(starts_on=line.offer_starts_on, ends_on=line.offer_ends_on))
        tally.created += 1
    elif offer.ends_on != line.offer_ends_on:
        offer.ends_on = line.offer_ends_on
        tally.updated += 1
    else:
        tally.unchanged += 1
