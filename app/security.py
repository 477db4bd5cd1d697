"""What every request and response goes through: body limits, input hygiene, headers."""

import re

from flask import Flask, Response, abort, current_app, g, request, session
from flask_wtf.csrf import generate_csrf

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ]
)


def frame_ancestors() -> str:
    """Origins allowed to frame the current response: the portal, plus in an insurer's
    context the origins that insurer listed (app/embedding)."""
    from app.embedding.context import frame_ancestors as insurer_origins

    return " ".join(["'self'", *insurer_origins()])


# C0 control characters other than tab, line feed and carriage return: never typed by a
# person, and PostgreSQL refuses NUL in text.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def accepts_uploads(view):
    """Mark a view that receives files: its requests may reach UPLOAD_MAX_CONTENT_LENGTH."""
    view.accepts_uploads = True
    return view


def limit_body_and_refuse_control_characters() -> None:
    """Before anything reads the body (CSRF included): size limit, then text hygiene."""
    view = current_app.view_functions.get(request.endpoint)
    if getattr(view, "accepts_uploads", False):
        request.max_content_length = current_app.config["UPLOAD_MAX_CONTENT_LENGTH"]
    if _CONTROL_CHARACTERS.search(request.path):
        abort(404)
    if request.method == "POST":
        values = [*request.args.values(), *request.form.values()]
    else:
        values = list(request.args.values())
    if any(_CONTROL_CHARACTERS.search(value) for value in values):
        abort(400)


def set_security_headers(response: Response) -> Response:
    response.headers.setdefault(
        "Content-Security-Policy",
        CONTENT_SECURITY_POLICY.replace(
            "frame-ancestors 'self'", "frame-ancestors " + frame_ancestors()
        ),
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.endpoint != "static":
        # Pages, exports and documents may hold personal data: never kept in any cache.
        response.headers.setdefault("Cache-Control", "no-store")
    if current_app.config["PUBLIC_URL"].startswith("https://"):
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


# Signed CSRF tokens by (secret, session's raw token): a session shows the same token on every
# page. Tokens never expire (WTF_CSRF_TIME_LIMIT is None), so signing the raw token again on
# each request only changed its timestamp, at the cost of two HMACs and a serializer.
_signed_csrf_tokens: dict[tuple[str, str], str] = {}
# About 200 bytes each; emptied when full (the next page of each session signs again).
SIGNED_CSRF_TOKENS_KEPT = 10_000


def reuse_signed_csrf_token() -> None:
    """Give Flask-WTF this session's signed token, signed once (on a request with a cookie)."""
    config = current_app.config
    if config["SESSION_COOKIE_NAME"] not in request.cookies:
        return
    # Only a token that never expires may be kept; with CSRF off there is none to give.
    if config.get("WTF_CSRF_TIME_LIMIT", 3600) is not None or not config.get(
        "WTF_CSRF_ENABLED", True
    ):
        return
    field_name = config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    raw = session.get(field_name)
    if not isinstance(raw, str):
        return
    secret = config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
    key = (secret, raw)
    token = _signed_csrf_tokens.get(key)
    if token is None:
        token = generate_csrf()
        if len(_signed_csrf_tokens) >= SIGNED_CSRF_TOKENS_KEPT:
            _signed_csrf_tokens.clear()
        _signed_csrf_tokens[key] = token
    else:
        setattr(g, field_name, token)


def register_request_checks(app: Flask) -> None:
    """Installed before the CSRF check, which reads the body."""
    app.before_request(limit_body_and_refuse_control_characters)
    app.before_request(reuse_signed_csrf_token)


def register(app: Flask) -> None:
    app.after_request(set_security_headers)
