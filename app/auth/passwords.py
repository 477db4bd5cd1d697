"""Password hashing with argon2id (argon2-cffi)."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, current_app

DUMMY_HASH_KEY = "cartable_dummy_hash"
DUMMY_PASSWORD = "dummy-password-for-timing"  # noqa: S105 - what the dummy hash hides, nothing


def _hasher(config=None) -> PasswordHasher:
    """argon2id with the application's parameters (`ARGON2_PARAMETERS`, cheaper in tests)."""
    parameters = (config or current_app.config).get("ARGON2_PARAMETERS") or {}
    return PasswordHasher(**parameters)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def init_app(app: Flask) -> None:
    """Compute the dummy hash with the application's parameters, once, at start-up.

    An unknown e-mail is checked against it, so that it costs one verification, exactly as
    a known e-mail does: the response time does not tell which e-mails have an account, not
    even the first time after a start.
    """
    app.extensions[DUMMY_HASH_KEY] = _hasher(app.config).hash(DUMMY_PASSWORD)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; with no hash, still spend the time of a check (no timing oracle)."""
    hasher = _hasher()
    try:
        verified = hasher.verify(password_hash or current_app.extensions[DUMMY_HASH_KEY], password)
    except (VerificationError, InvalidHashError):
        return False
    return verified and password_hash is not None
