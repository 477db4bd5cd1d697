"""Password hashing with argon2id (argon2-cffi)."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

DUMMY_HASH_KEY = "cartable_dummy_hash"


def _hasher() -> PasswordHasher:
    parameters = current_app.config.get("ARGON2_PARAMETERS") or {}
    return PasswordHasher(**parameters)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash with the application's parameters, computed once per application.

    An unknown e-mail is checked against it, so that it costs one verification, exactly as
    a known e-mail does: the response time does not tell which e-mails have an account.
    """
    dummy = current_app.extensions.get(DUMMY_HASH_KEY)
    if dummy is None:
        dummy = current_app.extensions[DUMMY_HASH_KEY] = hasher.hash("dummy-password-for-timing")
    return dummy


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; with no hash, still spend the time of a check (no timing oracle)."""
    hasher = _hasher()
    try:
        verified = hasher.verify(password_hash or _dummy_hash(hasher), password)
    except (VerificationError, InvalidHashError):
        return False
    return verified and password_hash is not None
