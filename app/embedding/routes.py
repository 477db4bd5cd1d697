"""The insurer's entry link, its cookie check, its integration page, theme and logo."""

from pathlib import Path

from flask import current_app, redirect, render_template, session, url_for
from flask_login import current_user

from app.auth_session import signed_in
from app.email import public_url
from app.embedding import bp, context, rules
from app.main.errors import render_error
from app.models import Insurer

UNKNOWN_INSURER = (
    "Ce lien ne correspond à aucune mutuelle. Vérifiez l'adresse donnée par votre mutuelle, "
    "ou passez par son site."
)
# The logo is an image: a browser opening it directly must not run or load anything.
LOGO_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


def _insurer_or_404(slug: str) -> Insurer:
    insurer = context.find_insurer(slug)
    if insurer is None:
        raise _NotFound()
    return insurer


class _NotFound(Exception):
    pass


@bp.errorhandler(_NotFound)
def _unknown_insurer(error):
    return render_error(404, UNKNOWN_INSURER)


@bp.get("/e/<slug>")
def enter(slug: str):
    """The insurer's link: the rest of the visit is in its context, once the cookie came back."""
    insurer = _insurer_or_404(slug)
    if current_user.is_authenticated and signed_in().member.insurer_id != insurer.id:
        # A member of another insurer is not this portal's user. A GET must not log anyone
        # out (any page could link here), so the page offers the logout button instead.
        return render_template("embedding/other_insurer.html", insurer=insurer), 403
    context.enter(insurer, framed=context.opened_in_a_frame())
    return redirect(url_for("embedding.check", slug=insurer.slug))


@bp.post("/e/<slug>/quitter")
def leave(slug: str):
    """« Quitter l'espace … »: back to the portal's own pages (offered at top level)."""
    context.leave()
    return redirect(url_for("main.index"))


@bp.get("/e/<slug>/verification")
def check(slug: str):
    """Whether the session cookie came back; if the browser dropped it, say what to do."""
    insurer = _insurer_or_404(slug)
    if session.get(context.SESSION_KEY) == insurer.slug:
        return redirect(url_for("main.index"))
    # No context in the session, but this page belongs to the insurer's frame all the same.
    context.show(insurer)
    return render_template("embedding/cookies_blocked.html", insurer=insurer)


@bp.get("/e/<slug>/integration")
def integration(slug: str):
    """For the insurer's web team: the snippet that embeds the portal in their pages."""
    insurer = _insurer_or_404(slug)
    return render_template(
        "embedding/integration.html",
        insurer=insurer,
        frame_url=public_url(url_for("embedding.enter", slug=insurer.slug)),
        script_url=public_url(url_for("static", filename="embed.js")),
    )


@bp.get("/e/<slug>/theme.css")
def theme(slug: str):
    """The insurer's colours as CSS variables (inline styles are forbidden by the CSP)."""
    insurer = _insurer_or_404(slug)
    css = ""
    if insurer.primary_color:
        primary = insurer.primary_color
        css = f":root {{ --primary: {primary}; --primary-dark: {rules.darken(primary)}; }}\n"
    response = current_app.response_class(css, mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.get("/e/<slug>/logo")
def logo(slug: str):
    """The insurer's logo (PNG, or SVG sanitised when it was set)."""
    insurer = _insurer_or_404(slug)
    if not insurer.logo_stored_name:
        raise _NotFound()
    path = Path(current_app.config["UPLOAD_FOLDER"]) / insurer.logo_stored_name
    try:
        content = path.read_bytes()  # at most MAX_LOGO_BYTES
    except FileNotFoundError:
        raise _NotFound() from None
    response = current_app.response_class(content, mimetype=insurer.logo_media_type)
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["Content-Security-Policy"] = LOGO_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
