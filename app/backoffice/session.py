"""Under /gestion the signed session is another cookie: `cartable_staff`, Path=/gestion.

The member's cookie (`cartable_session`, Path=/) reaches /gestion too, but is never read
there: a staff page opens with the staff cookie only, so a member's login means nothing to
it. The staff cookie is never sent outside /gestion, so it means nothing to member pages.
"""

from flask import Flask, Request, has_request_context, request
from flask.sessions import SecureCookieSession
from itsdangerous import BadSignature

from app.backoffice.rules import SESSION_MAX
from app.embedding.session import EmbeddingSessionInterface

STAFF_COOKIE_NAME = "cartable_staff"
STAFF_PATH = "/gestion"


def is_staff_path(path: str) -> bool:
    return path == STAFF_PATH or path.startswith(STAFF_PATH + "/")


def staff_request() -> bool:
    return has_request_context() and is_staff_path(request.path)


class StaffAwareSessionInterface(EmbeddingSessionInterface):
    """The portal's session interface, with the staff cookie's name and path under /gestion."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """The staff cookie is read for up to 10 hours (the longest staff session), not the
        members' lifetime; each staff session's own limits are checked on its row."""
        if not is_staff_path(request.path):
            if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
                # A visitor without a cookie (Flask's own outcome): no serializer to build.
                return self.session_class()
            return super().open_session(app, request)
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(STAFF_COOKIE_NAME)
        if not value:
            return self.session_class()
        try:
            data = serializer.loads(value, max_age=int(SESSION_MAX.total_seconds()))
        except BadSignature:
            return self.session_class()
        return self.session_class(data)

    def get_cookie_name(self, app: Flask) -> str:
        return STAFF_COOKIE_NAME if staff_request() else super().get_cookie_name(app)

    def get_cookie_path(self, app: Flask) -> str:
        if staff_request():
            return request.script_root + STAFF_PATH
        return super().get_cookie_path(app)

    def get_cookie_samesite(self, app: Flask) -> str | None:
        return "Lax" if staff_request() else super().get_cookie_samesite(app)

    def get_cookie_partitioned(self, app: Flask) -> bool:
        return False if staff_request() else super().get_cookie_partitioned(app)

    def get_cookie_httponly(self, app: Flask) -> bool:
        return True if staff_request() else super().get_cookie_httponly(app)


def install(app: Flask) -> None:
    app.session_interface = StaffAwareSessionInterface()
