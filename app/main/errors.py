"""French error pages."""

from functools import cache
from pathlib import Path
from urllib.parse import urlencode

from flask import (
    Flask,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
)
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from app.extensions import db
from app.security import CONTENT_SECURITY_POLICY, csrf_field_name

ERRORS = {
    400: ("Requête invalide", "La requête envoyée n'a pas pu être comprise."),
    403: ("Accès refusé", "Vous n'avez pas accès à cette page."),
    404: ("Page introuvable", "La page demandée n'existe pas ou n'est plus disponible."),
    405: ("Action non permise", "Cette action n'est pas permise sur cette page."),
    413: (
        "Envoi trop volumineux",
        "Les données envoyées dépassent la taille autorisée. Réduisez la taille des fichiers "
        "et réessayez.",
    ),
    429: (
        "Trop de tentatives",
        "Trop de tentatives en peu de temps. Pour votre sécurité, veuillez patienter "
        "quelques minutes avant de réessayer.",
    ),
    500: (
        "Erreur du service",
        "Une erreur est survenue de notre côté. Veuillez réessayer dans quelques instants.",
    ),
}


FORM_REFUSED = "Le formulaire a expiré ou n'a pas pu être vérifié. Rechargez la page et réessayez."
FORM_EXPIRED = (
    "Ce formulaire a expiré : rien n'a été enregistré. Vérifiez vos informations et "
    "envoyez-le à nouveau."
)
# Flask-WTF's reason for a token older than WTF_CSRF_TIME_LIMIT.
STALE_FORM_REASON = "The CSRF token has expired."
# Its reason for a token posted without its pair in the session: the cookie that held the
# pair was not sent (another site's POST, cookies blocked) or has expired first (Flask
# drops a cookie older than the session's lifetime, the same 8 h as the token).
SESSION_TOKEN_MISSING = "The CSRF session token is missing."  # noqa: S105 - a reason, not a secret


def render_error(code: int, message: str | None = None, form_url: str | None = None):
    title, default_message = ERRORS[code]
    if request.path.startswith("/api/"):
        # The insurers' API speaks JSON, errors included.
        return jsonify(error=message or default_message), code
    return (
        render_template(
            "errors/error.html",
            title=title,
            message=message or default_message,
            form_url=form_url,
        ),
        code,
    )


# The page nginx also shows when no process answers (static/errors/indisponible.html).
UNAVAILABLE_PAGE = Path("errors") / "indisponible.html"
# A database restart takes a few seconds: the browser may try again after this many.
RETRY_AFTER_SECONDS = 5


API_UNAVAILABLE = "Service momentanément indisponible. Réessayez dans quelques secondes."


@cache
def _unavailable_html(static_folder: str) -> str:
    return (Path(static_folder) / UNAVAILABLE_PAGE).read_text(encoding="utf-8")


def database_unavailable(error: SQLAlchemyError) -> Response:
    """503 with the static French page: no template, since rendering the layout reads the
    signed-in account and the insurer in context from the database that does not answer."""
    current_app.logger.warning("Base de données injoignable : %s", error.__class__.__name__)
    try:
        db.session.rollback()
    except SQLAlchemyError:
        db.session.remove()
    if request.path.startswith("/api/"):
        response = jsonify(error=API_UNAVAILABLE)
        response.status_code = 503
    else:
        response = Response(
            _unavailable_html(current_app.static_folder), status=503, mimetype="text/html"
        )
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    # Set here: the usual header would look up the insurer in context, in the database.
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


def register(app: Flask) -> None:
    # Connection refused, dropped or pool exhausted: the database, not the request, failed.
    for error in (OperationalError, InterfaceError, PoolTimeoutError):
        app.register_error_handler(error, database_unavailable)

    for code in ERRORS:
        if code == 500:
            continue
        app.register_error_handler(code, lambda error, code=code: render_error(code))

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        db.session.rollback()
        form_page = request.url_rule and "GET" in request.url_rule.methods
        if form_page and left_open_too_long(error.description):
            # A page left open too long: the same form again, blank, with a fresh token.
            flash(FORM_EXPIRED, "error")
            return redirect(_same_page_without_token(), code=303)
        # The form's own page (same URL, read with GET): nothing was written.
        return render_error(
            400, FORM_REFUSED, form_url=_same_page_without_token() if form_page else None
        )

    @app.errorhandler(500)
    def internal_error(error):
        db.session.rollback()
        return render_error(500)


def left_open_too_long(reason: str) -> bool:
    """Whether a refused form was sent by this browser's own page, left open too long: its
    token expired, or its session cookie did (the cookie came back, its pair gone with it).
    A POST without the cookie (another site's, which SameSite keeps it from) gets the plain
    refusal: answering it with a message in a new session would replace the member's
    cookie, and log them out."""
    if reason == STALE_FORM_REASON:
        return True
    cookie = current_app.config["SESSION_COOKIE_NAME"]
    return reason == SESSION_TOKEN_MISSING and cookie in request.cookies


def _same_page_without_token() -> str:
    """The URL of the form's page, without the token an upload form puts in its URL."""
    field = csrf_field_name()
    query = [(name, value) for name, value in request.args.items(multi=True) if name != field]
    return request.path + ("?" + urlencode(query) if query else "")
