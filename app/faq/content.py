"""The FAQ's source file (`content/faq.toml`) and its loading into the database."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from app.clock import utcnow
from app.extensions import db
from app.models import FaqEntry, FaqTheme

CONTENT_FILE = Path(__file__).resolve().parent / "content" / "faq.toml"
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class ContentError(ValueError):
    """The FAQ file is not usable; the message says where, in French for the operator."""


@dataclass(frozen=True)
class Question:
    slug: str
    question: str
    answer: str
    keywords: str = ""


@dataclass(frozen=True)
class Theme:
    slug: str
    title: str
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class LoadReport:
    created: int
    updated: int
    deleted: int
    total: int


def _text(table: dict, key: str, where: str, required: bool = True) -> str:
    value = table.get(key, "")
    if not isinstance(value, str):
        raise ContentError(f"{where} : « {key} » doit être un texte.")
    value = value.strip()
    if required and not value:
        raise ContentError(f"{where} : « {key} » est vide ou absent.")
    return value


def _slug(table: dict, where: str, seen: set[str]) -> str:
    slug = _text(table, "slug", where)
    if not SLUG.match(slug):
        raise ContentError(f"{where} : slug « {slug} » invalide (minuscules, chiffres, tirets).")
    if slug in seen:
        raise ContentError(f"{where} : slug « {slug} » déjà utilisé.")
    seen.add(slug)
    return slug


def parse(source: str) -> list[Theme]:
    """Themes and questions of a TOML text, checked (slugs unique and well formed)."""
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as error:
        raise ContentError(f"Fichier FAQ illisible : {error}") from error
    themes, theme_slugs, question_slugs = [], set(), set()
    for number, table in enumerate(data.get("themes", []), start=1):
        where = f"thème n° {number}"
        slug = _slug(table, where, theme_slugs)
        questions = []
        for q_number, item in enumerate(table.get("questions", []), start=1):
            q_where = f"{where}, question n° {q_number}"
            questions.append(
                Question(
                    slug=_slug(item, q_where, question_slugs),
                    question=_text(item, "question", q_where),
                    answer=_text(item, "answer", q_where),
                    keywords=_text(item, "keywords", q_where, required=False),
                )
            )
        themes.append(Theme(slug, _text(table, "title", where), tuple(questions)))
    if not question_slugs:
        raise ContentError("Le fichier FAQ ne contient aucune question.")
    return themes


def read(path: Path = CONTENT_FILE) -> list[Theme]:
    return parse(path.read_text(encoding="utf-8"))


def load(themes: list[Theme]) -> LoadReport:
    """Make the database hold exactly these themes and questions, matched by slug.

    Running it again with the same content changes nothing (ids and dates kept); a
    question removed from the file is removed from the database.
    """
    existing_themes = {t.slug: t for t in db.session.scalars(sa.select(FaqTheme))}
    existing_entries = {e.slug: e for e in db.session.scalars(sa.select(FaqEntry))}
    created = updated = 0
    wanted_themes = set()
    wanted_entries = set()
    for theme_position, theme in enumerate(themes):
        wanted_themes.add(theme.slug)
        row = existing_themes.get(theme.slug)
        if row is None:
            row = FaqTheme(slug=theme.slug, title=theme.title, position=theme_position)
            db.session.add(row)
        else:
            row.title, row.position = theme.title, theme_position
        for position, question in enumerate(theme.questions):
            wanted_entries.add(question.slug)
            values = {
                "theme": row,
                "question": question.question,
                "answer": question.answer,
                "keywords": question.keywords,
                "position": position,
            }
            entry = existing_entries.get(question.slug)
            if entry is None:
                db.session.add(FaqEntry(slug=question.slug, **values))
                created += 1
            elif any(getattr(entry, key) != value for key, value in values.items()):
                for key, value in values.items():
                    setattr(entry, key, value)
                entry.updated_at = utcnow()
                updated += 1
    removed = [e for slug, e in existing_entries.items() if slug not in wanted_entries]
    for entry in removed:
        db.session.delete(entry)
    for slug, theme_row in existing_themes.items():
        if slug not in wanted_themes:
            db.session.delete(theme_row)
    db.session.commit()
    return LoadReport(created, updated, len(removed), len(wanted_entries))
