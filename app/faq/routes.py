"""Views of the FAQ and of the information pages; answers come from the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby
from typing import NamedTuple

import sqlalchemy as sa
from flask import (
    abort,
    current_app,
    g,
    get_flashed_messages,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.orm import contains_eager

from app.auth_session import signed_in
from app.clock import now
from app.email import public_url
from app.embedding.context import current_insurer
from app.extensions import db
from app.faq import bp
from app.faq.render import render_text
from app.faq.search import QUERY_MAX_LENGTH, Document, rank
from app.models import FaqEntry, FaqTheme, Insurer
from app.read_only import read_only
from app.security import csrf_field_name

# The information pages and the answers each one is built from, in reading order.
HEALTH_DATA_SLUGS = (
    "donnees-de-sante",
    "hebergement-des-donnees",
    "acces-aux-donnees",
    "mon-compte-et-mes-donnees",
)
BROWSERS_SLUGS = ("navigateurs-recommandes",)
COOKIES_SLUGS = ("desactiver-les-cookies",)
SCOPE_SLUGS = ("ce-que-couvre-la-plateforme", "devis", "trajet-examen")


@dataclass
class ThemeGroup:
    theme: FaqTheme | Theme
    entries: list[FaqEntry] | list[Question]


class Theme(NamedTuple):
    slug: str
    title: str


class Question(NamedTuple):
    slug: str
    question: str
    answer: str


# What the questions by theme show, in display order: plain rows, compared as they are.
_QUESTIONS_BY_THEME = (
    sa.select(FaqTheme.slug, FaqTheme.title, FaqEntry.slug, FaqEntry.question, FaqEntry.answer)
    .join(FaqEntry.theme)
    .order_by(FaqTheme.position, FaqTheme.id, FaqEntry.position, FaqEntry.id)
)
_KEPT_THEMES = "cartable_faq_themes"
# Kept parts and pages are per application root and « Tout afficher »: a bound of entries,
# should a server ever hand out many roots (as for the layout's URLs, app/urls.py).
_KEPT_BOUND = 64


def _keep(kept: dict, key: tuple, value: tuple) -> None:
    """Keep `value` under `key`: a new key only while the bound allows."""
    if key in kept or len(kept) < _KEPT_BOUND:
        kept[key] = value


class _KeptThemes(NamedTuple):
    content: tuple[tuple, ...]  # the rows it was rendered from
    part: Markup
    read_at: datetime  # when `content` was last compared with the database


def themes_part(show_all: bool = False) -> Markup:
    """Every question by theme, rendered. It is the same for every visitor and holds no
    personal data, so it is kept (one per application root) under the content it was
    rendered from. That content is read again (as plain rows on the session's connection:
    the ORM's result machinery cost 8 % of the page) once `FAQ_RECHECK_SECONDS` have passed:
    any change of a question, an answer, a theme or their order (`flask faq load`) shows
    within that delay, and in between the page runs no statement at all. `show_all` (« Tout
    afficher ») is kept apart: every answer open."""
    kept = current_app.extensions.setdefault(_KEPT_THEMES, {})
    key = (request.script_root, show_all)
    version = kept.get(key)
    moment = now()
    delay = timedelta(seconds=current_app.config["FAQ_RECHECK_SECONDS"])
    if version is not None and timedelta(0) <= moment - version.read_at < delay:
        return version.part
    content = tuple(tuple(row) for row in db.session.connection().execute(_QUESTIONS_BY_THEME))
    if version is None or version.content != content:
        groups = [
            ThemeGroup(Theme(*theme), [Question(*row[2:]) for row in rows])
            for theme, rows in groupby(content, key=lambda row: row[:2])
        ]
        html = render_template("faq/_themes.html", groups=groups, level=2, show_all=show_all)
        version = _KeptThemes(content, Markup(html), moment)  # noqa: S704 - autoescaped template
    if not current_app.jinja_env.auto_reload:  # development: a template edit shows at once
        _keep(kept, key, version._replace(read_at=moment))
    return version.part


_KEPT_PAGES = "cartable_faq_pages"


class _KeptPage(NamedTuple):
    themes: Markup  # the questions by theme it shows: `themes_part`'s current version
    body: bytes  # the page as sent, encoded once (UTF-8: Flask's response charset)


def _shared_visit() -> bool:
    """Whether this request sees the FAQ as every visitor does: not logged in, outside any
    insurer's context, with no message waiting to be shown (read here, the layout shows it
    all the same)."""
    return (
        not current_user.is_authenticated
        and current_insurer() is None
        and not get_flashed_messages()
    )


def _questions_page(show_all: bool) -> str | bytes:
    """The FAQ without a search. A shared visit's page is the same for every such visitor
    and holds no personal data: it is kept, per application root and « Tout afficher »,
    with the questions by theme it was rendered with, and rendered again once they change
    (`themes_part`). A rendering that signed a CSRF token or wrote into the session belongs
    to its visitor, and is never kept; nor is a member's page or an insurer's."""
    themes = themes_part(show_all)
    shared = _shared_visit()
    kept = current_app.extensions.setdefault(_KEPT_PAGES, {})
    key = (request.script_root, show_all)
    page = kept.get(key) if shared else None
    if page is not None and page.themes is themes:
        return page.body
    html = render_template("faq/index.html", query="", themes=themes, show_all=show_all)
    personal = session.modified or csrf_field_name() in g
    if shared and not (personal or current_app.jinja_env.auto_reload):
        _keep(kept, key, _KeptPage(themes, html.encode()))
    return html


def all_entries() -> list[FaqEntry]:
    """Every question with its theme, in display order: one query."""
    return list(
        db.session.scalars(
            sa.select(FaqEntry)
            .join(FaqEntry.theme)
            .options(contains_eager(FaqEntry.theme))
            .order_by(FaqTheme.position, FaqTheme.id, FaqEntry.position, FaqEntry.id)
        )
    )


def group_by_theme(entries: list[FaqEntry]) -> list[ThemeGroup]:
    """Consecutive entries of one theme together (entries come sorted by theme)."""
    return [ThemeGroup(theme, list(items)) for theme, items in groupby(entries, lambda e: e.theme)]


def assistance_insurer() -> Insurer | None:
    """The mutuelle whose assistance to suggest: the member's, else the one whose context
    (iframe) the visit is in, else the only one served; None for the general advice."""
    if current_user.is_authenticated:
        return db.session.get(Insurer, signed_in().member.insurer_id)
    insurer = current_insurer()  # loaded once per request: the CSP header needs it anyway
    if insurer is not None:
        return insurer
    insurers = db.session.scalars(sa.select(Insurer).order_by(Insurer.id).limit(2)).all()
    return insurers[0] if len(insurers) == 1 else None


def _document(entry: FaqEntry) -> Document:
    return Document(entry.slug, entry.question, entry.answer, entry.theme.title, entry.keywords)


@bp.get("/faq")
@read_only
def index():
    """The questions grouped by theme; with `q`, the answers ranked for that search; with
    `tout=1`, every answer open (« Tout afficher » without JavaScript)."""
    query = " ".join(request.args.get("q", "")[:QUERY_MAX_LENGTH].split())
    show_all = request.args.get("tout") == "1"
    if not query:
        return _questions_page(show_all)
    entries = all_entries()
    by_slug = {entry.slug: entry for entry in entries}
    hits = rank([_document(entry) for entry in entries], query)
    results = [(by_slug[hit.key], hit.matched) for hit in hits]
    return render_template(
        "faq/index.html",
        groups=group_by_theme(entries),
        query=query,
        show_all=show_all,
        results=results,
        insurer=None if results else assistance_insurer(),
    )


@bp.get("/faq/<slug>")
@read_only
def answer(slug: str):
    """One answer on its own page, with its permanent address to share."""
    entries = all_entries()
    entry = next((e for e in entries if e.slug == slug), None)
    if entry is None:
        abort(404)
    siblings = [e for e in entries if e.theme_id == entry.theme_id and e.id != entry.id]
    return render_template(
        "faq/answer.html",
        entry=entry,
        siblings=siblings,
        permalink=public_url(url_for("faq.answer", slug=entry.slug)),
    )


def _info_page(template: str, slugs: tuple[str, ...], **context):
    """An information page built from these answers, in this order: one query."""
    rows = db.session.scalars(sa.select(FaqEntry).where(FaqEntry.slug.in_(slugs))).all()
    by_slug = {row.slug: row for row in rows}
    entries = [by_slug[slug] for slug in slugs if slug in by_slug]
    return render_template(template, entries=entries, **context)


@bp.get("/infos/donnees-de-sante")
@read_only
def health_data():
    """Health data, its certified host (HDS) and who can read it."""
    return _info_page("faq/infos/health_data.html", HEALTH_DATA_SLUGS)


@bp.get("/infos/navigateurs")
@read_only
def browsers():
    """The browsers the portal is made for."""
    return _info_page("faq/infos/browsers.html", BROWSERS_SLUGS)


@bp.get("/infos/cookies")
@read_only
def cookies():
    """The one cookie the portal sets, and how to disable cookies in each browser."""
    return _info_page(
        "faq/infos/cookies.html",
        COOKIES_SLUGS,
        session_cookie=current_app.config["SESSION_COOKIE_NAME"],
    )


@bp.get("/infos/perimetre")
@read_only
def scope():
    """What the platform covers, and what it does not (quotes, health costs)."""
    return _info_page("faq/infos/scope.html", SCOPE_SLUGS)


@bp.app_template_filter("faq_text")
def faq_text_filter(text: str, matched=()):
    """`{{ entry.answer | faq_text(matched) }}`: escaped text, links, highlighted terms."""
    return render_text(text, matched)


@bp.app_template_filter("tel_href")
def tel_href(phone: str) -> str:
    """`01 23 45 67 89` → `tel:+33123456789` (a French number as the insurer gives it)."""
    digits = "".join(c for c in phone if c.isdigit())
    if phone.strip().startswith("+"):
        return "tel:+" + digits
    if len(digits) == 10 and digits.startswith("0"):
        return "tel:+33" + digits[1:]
    return "tel:" + digits
