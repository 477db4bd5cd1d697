"""The support desk's back-office under /gestion: staff logins, member files, requests,
trips of the day and the access log."""

from flask import Blueprint, Flask, Response

from app.backoffice.session import is_staff_path

bp = Blueprint("backoffice", __name__)

from app.backoffice import routes, session  # noqa: E402, F401


def _never_framed(response: Response) -> Response:
    """No /gestion page is ever shown in a frame, an insurer's included."""
    from flask import request

    from app.security import CONTENT_SECURITY_POLICY

    if is_staff_path(request.path):
        policy = response.headers.get("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        parts = [p for p in policy.split("; ") if not p.startswith("frame-ancestors")]
        response.headers["Content-Security-Policy"] = "; ".join([*parts, "frame-ancestors 'none'"])
        response.headers["X-Frame-Options"] = "DENY"
    return response


def install(app: Flask) -> None:
    """The staff cookie under /gestion, and its frame policy (every response, errors too)."""
    session.install(app)
    app.after_request(_never_framed)
