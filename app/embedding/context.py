"""The insurer in context: set by `/e/<slug>`, kept in the session for the rest of the visit.

The session holds the insurer's slug under `SESSION_KEY`. Logging in and out renew the
session (`session.clear()`), but the context belongs to the visit, not to the login: it is
put back at the end of such a request, so a frame never loses its insurer (and with it the
right to be framed) on the way from the login form to « Mon Espace » or back.
"""

import sqlalchemy as sa
from flask import Flask, g, has_request_context, request, session
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Account, Insurer

SESSION_KEY = "mutuelle"
# Set when the insurer's link was opened inside a frame: only then does the cookie need
# `SameSite=None; Partitioned` (app/embedding/session.py).
FRAMED_KEY = "mutuelle_cadre"
OTHER_INSURER_MESSAGE = (
    "Ce portail est réservé aux adhérents de {name}. Connectez-vous depuis le site de votre "
    "mutuelle."
)


def find_insurer(slug: str) -> Insurer | None:
    """The insurer of a slug with its embedding origins (two queries), or None."""
    return db.session.scalar(
        sa.select(Insurer).options(selectinload(Insurer.origins)).where(Insurer.slug == slug)
    )


def current_insurer() -> Insurer | None:
    """The insurer whose context this request is in, loaded once per request, or None."""
    if not has_request_context():
        return None
    if "embedding_insurer" not in g:
        slug = g.get("embedding_slug")
        g.embedding_insurer = find_insurer(slug) if slug else None
    return g.embedding_insurer


def enter(insurer: Insurer, *, framed: bool) -> None:
    """Put the rest of the visit in the insurer's context, inside its frame or not."""
    session[SESSION_KEY] = insurer.slug
    if framed:
        session[FRAMED_KEY] = True
    else:
        session.pop(FRAMED_KEY, None)
    g.embedding_session_slug, g.embedding_session_framed = insurer.slug, framed
    show(insurer)


def opened_in_a_frame() -> bool:
    """Whether the browser says this request loads a frame (Fetch Metadata); a browser that
    does not say is treated as a top-level visit, which keeps the ordinary cookie."""
    return request.headers.get("Sec-Fetch-Dest") == "iframe"


def leave() -> None:
    """End the insurer's context: the portal's own pages and cookie from now on."""
    session.pop(SESSION_KEY, None)
    session.pop(FRAMED_KEY, None)
    g.embedding_slug = g.embedding_session_slug = None
    g.embedding_session_framed = False
    g.embedding_insurer = None


def show(insurer: Insurer) -> None:
    """This response only is in the insurer's context (a page whose URL names the insurer)."""
    g.embedding_slug = insurer.slug
    g.embedding_insurer = insurer


def frame_ancestors() -> list[str]:
    """Origins besides the portal's own allowed to frame this response."""
    if not has_request_context() or request.endpoint == "static":
        return []  # style sheets and scripts are not framed: spare the query
    insurer = current_insurer()
    return [origin.origin for origin in insurer.origins] if insurer else []


def may_log_in(account: Account) -> bool:
    """Whether the account belongs to the insurer in context (always, outside a context)."""
    insurer = current_insurer()
    return insurer is None or account.member.insurer_id == insurer.id


def other_insurer_message() -> str:
    """What a member of another insurer is told; it reveals nothing about their account."""
    return OTHER_INSURER_MESSAGE.format(name=current_insurer().name)


def registration_insurers(all_insurers) -> list[Insurer]:
    """The insurers a new account may belong to: only the one in context, if any.

    `all_insurers` is called outside a context only.
    """
    insurer = current_insurer()
    return [insurer] if insurer is not None else all_insurers()


def _remember_context() -> None:
    g.embedding_slug = g.embedding_session_slug = session.get(SESSION_KEY)
    g.embedding_session_framed = bool(session.get(FRAMED_KEY))


def _keep_context_across_renewal(response):
    slug = g.get("embedding_session_slug")
    if slug and SESSION_KEY not in session:
        session[SESSION_KEY] = slug
        if g.get("embedding_session_framed"):
            session[FRAMED_KEY] = True
    return response


def _template_context() -> dict:
    return {
        "embedding": current_insurer(),
        "embedding_framed": has_request_context() and bool(session.get(FRAMED_KEY)),
    }


def install(app: Flask) -> None:
    app.before_request(_remember_context)
    app.after_request(_keep_context_across_renewal)
    app.context_processor(_template_context)
