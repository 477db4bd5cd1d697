"""HTTP headers that every response carries."""

from flask import Flask, Response

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
    if response.mimetype == "text/html":
        # Pages may hold personal data: never keep them in a shared cache.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def register(app: Flask) -> None:
    app.after_request(set_security_headers)
