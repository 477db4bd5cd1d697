"""The session cookie's attributes follow the context (CHIPS inside an insurer's frame).

Outside a frame the cookie is what the configuration says (`SameSite=Lax`), in an
insurer's context opened at top level too. In an insurer's context opened inside a frame
(`Sec-Fetch-Dest: iframe`) it is `Secure; SameSite=None; Partitioned`: a cross-site frame
may then keep it even where third-party cookies are blocked, because the browser files it under the
insurer's top-level site (Cookies Having Independent Partitioned State).
"""

from flask import Flask, g, has_request_context, request
from flask import session as current_session
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from werkzeug.wrappers import Response

from app.embedding.context import FRAMED_KEY
from app.security import cross_site_unsafe_request


def in_context(current: SessionMixin | None = None) -> bool:
    """Whether the session is an insurer's context inside its frame."""
    if current is None:
        if not has_request_context():
            return False
        current = current_session
    return bool(current.get(FRAMED_KEY))


def send_cookie_alone() -> None:
    """This response's session cookie goes without the expiry of the unpartitioned one
    (nginx passes a single `Set-Cookie` on, main.upload_check): the next response that sets
    the cookie sends that expiry (there, the page that shows the message)."""
    g.session_cookie_alone = True


class EmbeddingSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, with per-context cookie attributes."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return True if in_context() else super().get_cookie_secure(app)

    def get_cookie_samesite(self, app: Flask) -> str | None:
        return "None" if in_context() else super().get_cookie_samesite(app)

    def get_cookie_partitioned(self, app: Flask) -> bool:
        return True if in_context() else super().get_cookie_partitioned(app)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if cross_site_unsafe_request() and not request.cookies.get(self.get_cookie_name(app)):
            # Another site's request came without the visitor's cookie, which the browser
            # kept back: a new one (the login page's message) would replace it, and log a
            # member out. The browser keeps its own, and the message is not shown.
            if session.accessed:
                response.vary.add("Cookie")
            return
        sending = self.should_set_cookie(app, session)
        if not sending and (session or not session.modified):
            # Nothing to send (Flask's own outcome): spare the cookie's seven attributes,
            # which Flask computes first and each of which looks at the context here.
            if session.accessed:
                response.vary.add("Cookie")
            return
        if in_context(session) and sending and not g.get("session_cookie_alone"):
            # A browser keeps a partitioned and an unpartitioned cookie of the same name side
            # by side, and sends the older first: after a top-level visit outside any context,
            # the unpartitioned one would hide the context. Expire it before setting ours.
            response.delete_cookie(
                self.get_cookie_name(app),
                domain=self.get_cookie_domain(app),
                path=self.get_cookie_path(app),
                secure=super().get_cookie_secure(app),
                httponly=self.get_cookie_httponly(app),
                samesite=super().get_cookie_samesite(app),
            )
        super().save_session(app, session, response)


def install(app: Flask) -> None:
    app.session_interface = EmbeddingSessionInterface()
