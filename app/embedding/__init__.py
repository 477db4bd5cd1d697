"""Insurers embed the portal in an iframe: entry link, context, branding, framing, cookies.

`/e/<slug>` puts the visit in the insurer's context (stored in the session, see `context`).
In that context every HTML response may be framed by the insurer's origins (CSP
`frame-ancestors`, via `app.security.frame_ancestors`), the session cookie is
`Secure; SameSite=None; Partitioned` so it survives third-party cookie blocking (CHIPS, see
`session`), the pages wear the insurer's logo and colour, and only its members register
or log in. Registering the blueprint installs all of it (`record_once` below).
"""

from flask import Blueprint

bp = Blueprint("embedding", __name__)


@bp.record_once
def _install(state) -> None:
    from app.embedding import context, session

    session.install(state.app)
    context.install(state.app)


from app.embedding import routes  # noqa: E402, F401
