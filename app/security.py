"""What every request and response goes through: body limits, input hygiene, headers."""

import re

from flask import Flask, Response, abort, current_app, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from app.read_only import READ_METHODS

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


# Where nginx asks whether an upload may be sent, before it reads its body (main.upload_check).
UPLOAD_CHECK_PATH = "/verification-envoi"


def cross_site_unsafe_request() -> bool:
    """Whether another site sent this request other than as a navigation by GET or HEAD
    (its form posted here, say), as the browser says in its Fetch Metadata: the browser then
    kept its `SameSite=Lax` cookies back. nginx's check of an upload, a GET, stands for the
    upload's POST.

    `Sec-Fetch-Dest` is not looked at: an insurer's frame opened by its site (a cross-site
    navigation into an iframe) must get its partitioned cookie, and a browser refuses a Lax
    cookie from a cross-site frame anyway. Browsers that send no `Sec-Fetch-Site` (Safari
    before 16.4) count as same-site, as before."""
    if request.headers.get("Sec-Fetch-Site") != "cross-site":
        return False
    if request.path.startswith(UPLOAD_CHECK_PATH + "/"):
        return True
    navigation = request.headers.get("Sec-Fetch-Mode") == "navigate"
    return not (navigation and request.method in READ_METHODS)


def csrf_field_name() -> str:
    """The form field (and `g` key) of Flask-WTF's CSRF token."""
    return current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")


def accepts_uploads(view):
    """Mark a view that receives files: its requests may reach UPLOAD_MAX_CONTENT_LENGTH."""
    view.accepts_uploads = True
    return view


def upload_sender_refusal(token: str | None) -> tuple[int, str] | None:
    """Why an upload's POST is refused before its body is read, if it is: (401, "") from a
    visitor who is not logged in, (403, Flask-WTF's reason) without the page's CSRF token
    in its URL."""
    if not current_user.is_authenticated:
        return 401, ""
    if current_app.config.get("WTF_CSRF_ENABLED", True):
        try:
            validate_csrf(token)
        except ValidationError as error:
            return 403, error.args[0]
    return None


def upload_refusal() -> Response | None:
    """An upload's POST must come from a logged-in member and carry the page's CSRF token in
    its URL (upload forms put it there): anything else is refused before the body, up to
    UPLOAD_MAX_CONTENT_LENGTH, is read. nginx asks the same first (`main.upload_check`)."""
    refusal = upload_sender_refusal(request.args.get(csrf_field_name()))
    if refusal is None:
        return None
    status, reason = refusal
    if status == 401:
        return current_app.login_manager.unauthorized()
    raise CSRFError(reason)


def limit_body_and_refuse_control_characters() -> Response | None:
    """Before anything reads the body (CSRF included): uploads' senders, size limit, then
    text hygiene."""
    view = current_app.view_functions.get(request.endpoint)
    if getattr(view, "accepts_uploads", False) and request.method == "POST":
        refusal = upload_refusal()
        if refusal is not None:
            return refusal
        request.max_content_length = current_app.config["UPLOAD_MAX_CONTENT_LENGTH"]
    if _CONTROL_CHARACTERS.search(request.path):
        abort(404)
    if request.method == "POST":
        values = [*request.args.values(), *request.form.values()]
    else:
        values = list(request.args.values())
    if any(_CONTROL_CHARACTERS.search(value) for value in values):
        abort(400)
    return None


_SAME_FOR_EVERY_RESPONSE = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)


def set_security_headers(response: Response) -> Response:
    """The headers every response carries, unless its view set its own (one look at the
    headers already there, rather than one per header added)."""
    headers = [
        (
            "Content-Security-Policy",
            CONTENT_SECURITY_POLICY.replace(
                "frame-ancestors 'self'", "frame-ancestors " + frame_ancestors()
            ),
        ),
        *_SAME_FOR_EVERY_RESPONSE,
    ]
    if request.endpoint != "static":
        # Pages, exports and documents may hold personal data: never kept in any cache.
        headers.append(("Cache-Control", "no-store"))
    if current_app.config["PUBLIC_URL"].startswith("https://"):
        headers.append(("Strict-Transport-Security", "max-age=31536000"))
    present = {name.lower() for name in response.headers.keys()}
    for name, value in headers:
        if name.lower() not in present:
            response.headers.add(name, value)
    return response


def register_request_checks(app: Flask) -> None:
    """Installed before the CSRF check, which reads the body."""
    app.before_request(limit_body_and_refuse_control_characters)


def register(app: Flask) -> None:
    app.after_request(set_security_headers)
    # Forms written by hand (a lone button, an upload's URL) name the token field as
    # Flask-WTF's forms do.
    app.jinja_env.globals["csrf_field_name"] = csrf_field_name
