"""The people file: members of an insurer's roster and their offers.

`numero_adherent;qualite;nom;prenom;date_naissance;offre_debut;offre_fin`, one line per
person and offer. A person is identified by (insurer, member number, folded last name,
folded first name, birth date); an offer by (person, start date).

By default the file is the insurer's whole roster: a person missing from it has left the
mutuelle, and their offer ends on the import date (the person stays, with their trips and
requests). A partial file (`partial=True`) only brings changes and ends nobody.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from itertools import groupby
from pathlib import Path
from typing import BinaryIO, NamedTuple, TextIO

from sqlalchemy.orm import Session

from app.models import Insurer, Quality
from app.models.roster import QUALITY_LABELS
from app.roster.csvfile import (
    LineChecker,
    LineError,
    RosterImportError,
    Tally,
    format_date,
    open_text,
    read_rows,
    word_key,
)
from app.roster.staging import FeedImport
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
# A full file may end at most this share of the insurer's people with a running offer.
MASS_END_SHARE = 0.10

QUALITIES = {word_key(quality.label): quality for quality in Quality} | {
    word_key(quality.value): quality for quality in Quality
}
QUALITY_CHOICES = "Adhérent, Souscripteur, Conjoint ou Enfant"
# Letters of any alphabet, spaces, hyphens, apostrophes and dots (« O'NEIL », « ST. JOHN »).
_NAME = re.compile(r"[^\W\d_]+(?:[\s\-'’.]+[^\W\d_]+)*\.?")
_SPACES = re.compile(r"\s+")
# Names, qualities and dates repeat from line to line: their checks are kept, bounded.
_CACHED = 65_536

PersonKey = tuple[str, str, str, date]


class PersonLine(NamedTuple):
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
    """What a people file did (or, in a dry run, would do)."""

    lines: int = 0
    families: int = 0
    people: Tally = field(default_factory=Tally)
    # Among the updated people: a birth date or a first name corrected.
    corrected: int = 0
    # People missing from a full file whose offer was ended on `ended_on`.
    ended: int = 0
    offers: Tally = field(default_factory=Tally)
    partial: bool = False
    dry_run: bool = False
    ended_on: date | None = None
    seconds: float = 0.0


# --- Reading the file, line by line ---------------------------------------------------------


def read_people(
    text: TextIO, *, today: date, max_lines: int | None = None
) -> Iterator[PersonLine | LineError]:
    """Each valid line of a people file, or the reasons a line is bad, in the file's order.

    Only what one line shows is checked here; what needs the whole file (a line repeated,
    a person's identity) is checked in the database (`import_people`).
    """
    for row in read_rows(text, COLUMNS, max_lines=max_lines):
        if isinstance(row, LineError):
            yield row
            continue
        errors: list[LineError] = []
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
            key = (number, _folded(last_name), _folded(first_name), birth_date)
            yield PersonLine(
                row.line, number, quality, last_name, first_name, birth_date, *period, key
            )
        else:
            yield from errors


def parse_people(
    data: bytes, *, today: date, max_bytes: int | None = None, max_lines: int | None = None
) -> list[PersonLine]:
    """Every line of a small people file held in memory, or RosterImportError listing
    every bad line (line by line checks only)."""
    text = open_text(io.BytesIO(data), len(data) if max_bytes is None else max_bytes)
    lines, errors = [], []
    for item in read_people(text, today=today, max_lines=max_lines):
        (errors if isinstance(item, LineError) else lines).append(item)
    if errors:
        raise RosterImportError(errors)
    return lines


@lru_cache(maxsize=_CACHED)
def _quality_of(raw: str) -> Quality | None:
    return QUALITIES.get(word_key(raw))


def _quality(check: LineChecker) -> Quality | None:
    raw = check.text("qualite", 40)
    if raw is None:
        return None
    quality = _quality_of(raw)
    if quality is None:
        check.fail(f"qualité inconnue « {raw} » (attendu : {QUALITY_CHOICES}).")
    return quality


@lru_cache(maxsize=_CACHED)
def _folded(name: str) -> str:
    return fold_name(name)


@lru_cache(maxsize=_CACHED)
def _clean_name(raw: str) -> tuple[str, bool]:
    """The name with single spaces, and whether it is made of letters only."""
    name = _SPACES.sub(" ", unicodedata.normalize("NFC", raw))
    valid = _NAME.fullmatch(name) is not None and len(_folded(name)) <= NAME_LENGTH
    return name, valid


def _name(check: LineChecker, column: str) -> str | None:
    raw = check.text(column, NAME_LENGTH)
    if raw is None:
        return None
    name, valid = _clean_name(raw)
    if not valid:
        check.fail(
            f"{LABELS[column]} invalide « {raw} » (lettres, espaces, tirets et "
            "apostrophes uniquement)."
        )
    return name


# --- Identity corrections -------------------------------------------------------------------


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: letters inserted, removed or replaced to turn `a` into `b`."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, letter in enumerate(a, 1):
        current = [i]
        for j, other in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (letter != other))
            )
        previous = current
    return previous[-1]


def is_spelling_correction(old: str, new: str) -> bool:
    """Whether two folded first names differ by a typing mistake (« maxine » and
    « maxime »), not by being two names (« lea » and « louis »): at most two letters, and
    at most one for every three letters of the shorter name."""
    allowed = min(2, max(1, min(len(old), len(new)) // 3))
    return edit_distance(old, new) <= allowed


# --- Importing into the database -------------------------------------------------------------

STAGED = "roster_people"
PERSONS = "roster_persons"
MATCHES = "roster_matches"
ABSENT = "roster_absent"
STAGED_COLUMNS = (
    "line",
    "member_number",
    "quality",
    "last_name",
    "first_name",
    "last_name_key",
    "first_name_key",
    "birth_date",
    "offer_starts_on",
    "offer_ends_on",
)
PERSON_KEY = ("member_number", "last_name_key", "first_name_key", "birth_date")
# Order of a line's errors found on the whole file (after those of the line itself).
_REPEATED, _AMBIGUOUS_PERSON, _AMBIGUOUS_MEMBER = 1, 2, 3


def _staged_row(line: PersonLine) -> tuple:
    return (
        line.line,
        line.member_number,
        line.quality.value,
        line.last_name,
        line.first_name,
        line.key[1],
        line.key[2],
        line.birth_date.isoformat(),
        line.offer_starts_on.isoformat(),
        line.offer_ends_on.isoformat(),
    )


def import_people(
    session: Session,
    insurer: Insurer,
    source: bytes | BinaryIO,
    *,
    today: date,
    partial: bool = False,
    allow_mass_end: bool = False,
    dry_run: bool = False,
    errors_path: Path | None = None,
    max_bytes: int | None = None,
    max_lines: int | None = None,
) -> PeopleSummary:
    """Import a people file for an insurer, all or nothing, and commit.

    Every line is checked first: any bad line raises RosterImportError and writes nothing
    (`errors_path` then receives every error as CSV). Then people are matched by identity
    (a corrected birth date or first name updates the person when unambiguous), created or
    updated, and offers upserted by start date (same start: new end). Unless `partial`, the
    people missing from the file have their offers ended on `today`; more than 10 % of the
    insurer's people is refused unless `allow_mass_end`. Nothing is deleted but offers not
    yet started of people who left; a second run changes nothing. `dry_run` writes nothing.
    """
    summary = PeopleSummary(partial=partial, dry_run=dry_run, ended_on=None if partial else today)
    with FeedImport(
        session, source, dry_run=dry_run, errors_path=errors_path, max_bytes=max_bytes
    ) as feed:
        feed.create(
            STAGED,
            "line INTEGER NOT NULL, member_number TEXT NOT NULL, quality TEXT NOT NULL, "
            "last_name TEXT NOT NULL, first_name TEXT NOT NULL, last_name_key TEXT NOT NULL, "
            "first_name_key TEXT NOT NULL, birth_date DATE NOT NULL, "
            "offer_starts_on DATE NOT NULL, offer_ends_on DATE NOT NULL",
        )
        summary.lines = feed.load(
            lambda text: read_people(text, today=today, max_lines=max_lines),
            STAGED,
            STAGED_COLUMNS,
            _staged_row,
        )
        feed.index(STAGED, *PERSON_KEY)
        feed.analyze(STAGED)
        _check_repeated_lines(feed)
        _resolve_people(feed, insurer.id)
        feed.raise_errors()
        _count(feed, insurer.id, today, summary)
        if not partial:
            _stop_mass_end(feed, insurer.id, today, summary, allow_mass_end)
        if not dry_run:
            _write(feed, insurer.id, today, partial)
    summary.seconds = feed.seconds
    return summary


def _quality_label(column: str) -> str:
    cases = " ".join(f"WHEN '{q.value}' THEN '{label}'" for q, label in QUALITY_LABELS.items())
    return f"CASE {column} {cases} END"


def _check_repeated_lines(feed: FeedImport) -> None:
    """A line repeating an earlier one (same person and offer start), or giving the same
    person another quality."""
    person = ", ".join(PERSON_KEY)
    feed.add_errors(
        f"""
        SELECT line, {_REPEATED},
          CASE WHEN line > offer_first
            THEN CAST(:repeated AS TEXT) || CAST(offer_first AS TEXT) || '.'
            ELSE CAST(:quality AS TEXT) || {_quality_label("quality")}
              || CAST(:of_line AS TEXT) || CAST(person_first AS TEXT)
              || ' (« ' || {_quality_label("person_quality")} || CAST(:same AS TEXT)
          END
        FROM (
          SELECT line, quality,
            MIN(line) OVER (PARTITION BY {person}, offer_starts_on) AS offer_first,
            FIRST_VALUE(line) OVER same_person AS person_first,
            FIRST_VALUE(quality) OVER same_person AS person_quality
          FROM {STAGED}
          WINDOW same_person AS (PARTITION BY {person} ORDER BY line)
        ) AS checked
        WHERE line > offer_first OR quality <> person_quality
        """,
        repeated="ligne en double : même personne et même début d'offre qu'à la ligne ",
        quality="qualité « ",
        of_line=" » différente de celle de la ligne ",
        same=" ») pour la même personne.",
    )


def _resolve_people(feed: FeedImport, insurer_id: int) -> None:
    """One row per person of the file, with the member it is (exactly, or corrected)."""
    person = ", ".join(PERSON_KEY)
    matches = " AND ".join(f"m.{column} = p.{column}" for column in PERSON_KEY)
    feed.create_as(
        PERSONS,
        f"""
        SELECT p.line, p.member_number, p.quality, p.last_name, p.first_name,
          p.last_name_key, p.first_name_key, p.birth_date, m.id AS member_id, 0 AS corrected
        FROM (
          SELECT *, ROW_NUMBER() OVER (PARTITION BY {person} ORDER BY line) AS rank
          FROM {STAGED}
        ) AS p
        LEFT JOIN members AS m ON m.insurer_id = :insurer AND {matches}
        WHERE p.rank = 1
        """,
        insurer=insurer_id,
    )
    feed.index(PERSONS, "member_id")
    feed.index(PERSONS, *PERSON_KEY)
    feed.analyze(PERSONS)
    _match_corrections(feed, insurer_id)


def _match_corrections(feed: FeedImport, insurer_id: int) -> None:
    """A person of the file unknown as written may be a member of the same family whose
    birth date or first name was corrected, if no line of the file names that member."""
    feed.create(MATCHES, "line INTEGER NOT NULL, member_id INTEGER NOT NULL")
    candidates = feed.stream(
        f"""
            SELECT p.line, p.first_name_key, p.birth_date, m.id, m.first_name_key, m.birth_date
            FROM {PERSONS} AS p
            JOIN members AS m ON m.insurer_id = :insurer
              AND m.member_number = p.member_number AND m.last_name_key = p.last_name_key
              AND (m.first_name_key = p.first_name_key OR m.birth_date = p.birth_date)
            WHERE p.member_id IS NULL
              AND NOT EXISTS (SELECT 1 FROM {PERSONS} AS q WHERE q.member_id = m.id)
        """,
        insurer=insurer_id,
    )
    found: list[tuple[int, int]] = []
    for line, first_name, birth_date, member_id, old_first_name, old_birth_date in candidates:
        same_birth = str(birth_date) == str(old_birth_date)
        if not same_birth or is_spelling_correction(old_first_name, first_name):
            found.append((line, member_id))
        if len(found) >= 5_000:
            feed.insert(MATCHES, ("line", "member_id"), found)
            found = []
    feed.insert(MATCHES, ("line", "member_id"), found)
    if not feed.scalar(f"SELECT COUNT(*) FROM {MATCHES}"):
        return
    _refuse_ambiguous(feed)
    feed.execute(
        f"""
        UPDATE {PERSONS} SET member_id = found.member_id, corrected = 1
        FROM {MATCHES} AS found WHERE found.line = {PERSONS}.line
        """
    )


def _refuse_ambiguous(feed: FeedImport) -> None:
    """A line several members could be, or a member several lines could be, is refused."""
    described = f"""
        SELECT found.line, found.member_id, p.member_number, m.first_name, m.last_name,
          m.birth_date
        FROM {MATCHES} AS found
        JOIN {PERSONS} AS p ON p.line = found.line
        JOIN members AS m ON m.id = found.member_id
    """
    several_members = feed.execute(
        f"""{described}
        WHERE found.line IN (SELECT line FROM {MATCHES} GROUP BY line HAVING COUNT(*) > 1)
        ORDER BY found.line, m.birth_date, m.first_name"""
    )
    errors = []
    for line, rows in groupby(several_members, key=lambda row: row.line):
        rows = list(rows)
        who = " ou ".join(_who(row) for row in rows)
        errors.append(
            (
                line,
                _AMBIGUOUS_PERSON,
                f"identité ambiguë : cette ligne peut corriger {who}, de la famille "
                f"{rows[0].member_number} ; précisez le prénom et la date de naissance.",
            )
        )
    several_lines = feed.execute(
        f"""{described}
        WHERE found.member_id IN
          (SELECT member_id FROM {MATCHES} GROUP BY member_id HAVING COUNT(*) > 1)
        ORDER BY found.member_id, found.line"""
    )
    for _, rows in groupby(several_lines, key=lambda row: row.member_id):
        rows = list(rows)
        numbers = [str(row.line) for row in rows]
        listed = ", ".join(numbers[:-1]) + " et " + numbers[-1]
        for row in rows:
            errors.append(
                (
                    row.line,
                    _AMBIGUOUS_MEMBER,
                    f"identité ambiguë : les lignes {listed} peuvent toutes corriger "
                    f"{_who(row)} ; une seule personne peut l'être.",
                )
            )
    feed.insert_errors(errors)


def _who(row) -> str:
    born = (
        row.birth_date if isinstance(row.birth_date, date) else date.fromisoformat(row.birth_date)
    )
    return f"{row.first_name} {row.last_name} (né(e) le {format_date(born)})"


def _count(feed: FeedImport, insurer_id: int, today: date, summary: PeopleSummary) -> None:
    persons, families, created, updated, corrected = feed.execute(
        f"""
        SELECT COUNT(*), COUNT(DISTINCT p.member_number),
          SUM(CASE WHEN p.member_id IS NULL THEN 1 ELSE 0 END),
          SUM(CASE WHEN p.corrected = 1 OR m.quality <> p.quality
            OR m.last_name <> p.last_name OR m.first_name <> p.first_name THEN 1 ELSE 0 END),
          SUM(p.corrected)
        FROM {PERSONS} AS p LEFT JOIN members AS m ON m.id = p.member_id
        """
    ).one()
    summary.families = families
    summary.people = Tally(created or 0, updated or 0, persons - (created or 0) - (updated or 0))
    summary.corrected = corrected or 0
    same_person = " AND ".join(f"p.{column} = s.{column}" for column in PERSON_KEY)
    lines, created, updated = feed.execute(
        f"""
        SELECT COUNT(*), SUM(CASE WHEN o.id IS NULL THEN 1 ELSE 0 END),
          SUM(CASE WHEN o.ends_on <> s.offer_ends_on THEN 1 ELSE 0 END)
        FROM {STAGED} AS s
        JOIN {PERSONS} AS p ON {same_person}
        LEFT JOIN offers AS o ON o.member_id = p.member_id AND o.starts_on = s.offer_starts_on
        """
    ).one()
    summary.offers = Tally(created or 0, updated or 0, lines - (created or 0) - (updated or 0))


def _stop_mass_end(
    feed: FeedImport, insurer_id: int, today: date, summary: PeopleSummary, allowed: bool
) -> None:
    """Count the people a full file ends; refuse a file that would end too many of them."""
    running = """
        FROM offers AS o JOIN members AS m ON m.id = o.member_id
        WHERE m.insurer_id = :insurer AND o.ends_on > :today
    """
    feed.create_as(
        ABSENT,
        f"""
        SELECT DISTINCT o.member_id {running}
          AND NOT EXISTS (SELECT 1 FROM {PERSONS} AS p WHERE p.member_id = o.member_id)
        """,
        insurer=insurer_id,
        today=today.isoformat(),
    )
    summary.ended = feed.scalar(f"SELECT COUNT(*) FROM {ABSENT}")
    if not summary.ended or allowed:
        return
    active = feed.scalar(
        f"SELECT COUNT(DISTINCT o.member_id) {running}",
        insurer=insurer_id,
        today=today.isoformat(),
    )
    if summary.ended <= MASS_END_SHARE * active:
        return
    share = round(100 * summary.ended / active)
    people = "personne" if summary.ended == 1 else "personnes"
    raise RosterImportError(
        [
            LineError(
                None,
                f"Le fichier mettrait fin à l'offre de {summary.ended} {people} sur {active} "
                f"({share} %), absentes du fichier : c'est plus de "
                f"{round(100 * MASS_END_SHARE)} % des personnes de la mutuelle. Si le fichier "
                "est bien complet, relancez avec --allow-mass-end ; s'il ne contient que "
                "des changements, relancez avec --partial.",
            )
        ]
    )


def _write(feed: FeedImport, insurer_id: int, today: date, partial: bool) -> None:
    """Apply the file: people updated then created, offers upserted, absent people ended."""
    feed.execute(
        f"""
        UPDATE members SET quality = p.quality, last_name = p.last_name,
          first_name = p.first_name, last_name_key = p.last_name_key,
          first_name_key = p.first_name_key, birth_date = p.birth_date
        FROM {PERSONS} AS p
        WHERE members.id = p.member_id AND (p.corrected = 1 OR members.quality <> p.quality
          OR members.last_name <> p.last_name OR members.first_name <> p.first_name)
        """
    )
    feed.execute(
        f"""
        INSERT INTO members (insurer_id, member_number, quality, last_name, first_name,
          last_name_key, first_name_key, birth_date)
        SELECT :insurer, member_number, quality, last_name, first_name, last_name_key,
          first_name_key, birth_date
        FROM {PERSONS} WHERE member_id IS NULL
        """,
        insurer=insurer_id,
    )
    # Every person of the file is now a member under the file's spelling: offers join on it.
    same_member = " AND ".join(f"m.{column} = s.{column}" for column in PERSON_KEY)
    feed.execute(
        f"""
        INSERT INTO offers (member_id, starts_on, ends_on)
        SELECT m.id, s.offer_starts_on, s.offer_ends_on
        FROM {STAGED} AS s
        JOIN members AS m ON m.insurer_id = :insurer AND {same_member}
        LEFT JOIN offers AS o ON o.member_id = m.id AND o.starts_on = s.offer_starts_on
        WHERE o.id IS NULL OR o.ends_on <> s.offer_ends_on
        ON CONFLICT (member_id, starts_on) DO UPDATE SET ends_on = excluded.ends_on
        """,
        insurer=insurer_id,
    )
    if partial:
        return
    absent = f"member_id IN (SELECT member_id FROM {ABSENT})"
    # Offers running past the import date end on it; those not started yet never will.
    feed.execute(
        f"UPDATE offers SET ends_on = :today "
        f"WHERE {absent} AND starts_on <= :today AND ends_on > :today",
        today=today.isoformat(),
    )
    feed.execute(
        f"DELETE FROM offers WHERE {absent} AND starts_on > :today", today=today.isoformat()
    )
