"""Password hashing with argon2id (argon2-cffi)."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app


def _hasher() -> PasswordHasher:
    parameters = current_app.config.get("ARGON2_PARAMETERS") or {}
    return PasswordHasher(**parameters)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; with no hash, still spend the time of a check (no timing oracle)."""
    hasher = _hasher()
    if password_hash is None:
        password_hash = current_app.extensions.setdefault(
            "cartable_dummy_hash", hasher.hash("dummy-password-for-timing")
        )
        try:
            hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            pass
        return False
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
