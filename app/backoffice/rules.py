"""The desk's rules as plain functions: second factor, recovery codes, lock, search, CSV."""

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

import pyotp

TOTP_DIGITS = 6
TOTP_INTERVAL = 30
RECOVERY_CODE_COUNT = 10
# 10 characters of base 32: 50 random bits each, enough for a plain SHA-256 at rest.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"

LOCK_AFTER_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCK_DURATION = timedelta(minutes=15)
SESSION_IDLE = timedelta(minutes=15)
SESSION_MAX = timedelta(hours=10)
INVITATION_MAX_AGE_SECONDS = 48 * 60 * 60

SEARCH_MAX_LENGTH = 100
SEARCH_TOO_LONG = f"La recherche ne peut pas dépasser {SEARCH_MAX_LENGTH} caractères."


def new_totp_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    """What the authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name="Cartable Gestion")


def totp_step(when: datetime) -> int:
    """The 30-second step of an instant (RFC 6238's T)."""
    return int(when.timestamp()) // TOTP_INTERVAL


def accepted_totp_step(secret: str, code: str, when: datetime, last_step: int) -> int | None:
    """The step a six-digit code belongs to (now, or one step either side), or None.

    A code of a step already used (`last_step` or older) is refused: it cannot be replayed.
    """
    code = "".join(code.split())
    if len(code) != TOTP_DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp_step(when)
    for step in (current - 1, current, current + 1):
        if step > last_step and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_recovery_codes() -> list[str]:
    """Ten codes such as `k7mq2-xt9pd`, shown once to their owner."""
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def hash_recovery_code(code: str) -> str:
    """The stored form of a recovery code, whatever its case, spaces or dash."""
    compact = "".join(code.split()).replace("-", "").lower()
    return hashlib.sha256(compact.encode()).hexdigest()


def looks_like_recovery_code(code: str) -> bool:
    compact = "".join(code.split()).replace("-", "").lower()
    return len(compact) == 10 and all(c in _RECOVERY_ALPHABET for c in compact)


def should_lock(recent_failures: int) -> bool:
    """Whether the failures in the last 15 minutes (this one included) lock the account."""
    return recent_failures >= LOCK_AFTER_FAILURES


def session_is_alive(created_at: datetime, last_seen_at: datetime, now: datetime) -> bool:
    """A staff session ends after 15 idle minutes, and 10 hours after the login at most."""
    return now - last_seen_at < SESSION_IDLE and now - created_at < SESSION_MAX


def like_pattern(text: str) -> str:
    """A LIKE prefix pattern matching `text` literally (`%` and `_` are escaped with `\\`)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


# Characters that make a spreadsheet read a cell as a formula (OWASP's CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text: a formula-like start gets a quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text
