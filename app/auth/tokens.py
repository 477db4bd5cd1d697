"""Single-use links for e-mail confirmation, e-mail change and password reset.

A link carries the account id and a fingerprint of the account's state for that purpose
(password hash, e-mail, confirmation, and a counter bumped at each new link). Once the
state moves on (password set, e-mail confirmed, a newer link sent) the fingerprint no
longer matches: the link is refused as used or superseded.
"""

import enum
import hashlib
import hmac

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.extensions import db
from app.models import Account


class Purpose(enum.StrEnum):
    CONFIRM = "confirm"
    EMAIL_CHANGE = "email-change"
    RESET = "reset"


class TokenError(Exception):
    """A link that cannot be used; `message` says why, in French. `used_by` is the account
    of a genuine link that was used or superseded (None for an invalid or expired one)."""

    def __init__(self, message: str, used_by: Account | None = None):
        super().__init__(message)
        self.message = message
        self.used_by = used_by


EXPIRED_MESSAGE = "Ce lien a expiré. Vous pouvez en demander un nouveau."
INVALID_MESSAGE = "Ce lien n'est pas valide. Vérifiez qu'il a été copié en entier."
USED_MESSAGE = (
    "Ce lien a déjà été utilisé ou a été remplacé par un lien plus récent. "
    "Utilisez le dernier e-mail reçu ou demandez un nouveau lien."
)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="cartable-links")


def _fingerprint(account: Account, purpose: Purpose) -> str:
    if purpose is Purpose.RESET:
        state = f"{account.password_hash}|{account.email}|{account.reset_nonce}"
    elif purpose is Purpose.CONFIRM:
        state = f"{account.email}|{account.confirmed_at}|{account.confirm_nonce}"
    else:
        state = f"{account.email}|{account.pending_email}|{account.confirm_nonce}"
    return hashlib.sha256(f"{purpose}|{account.id}|{state}".encode()).hexdigest()[:32]


def make_token(account: Account, purpose: Purpose) -> str:
    """A new link for `purpose`; older links of the same purpose stop working.

    The caller commits: the counter bump is what supersedes the previous link.
    """
    if purpose is Purpose.RESET:
        account.reset_nonce += 1
    else:
        account.confirm_nonce += 1
    return _serializer().dumps(
        {"a": account.id, "p": str(purpose), "f": _fingerprint(account, purpose)}
    )


def read_token(token: str, purpose: Purpose) -> Account:
    """The account a link is for, or TokenError with the reason in French."""
    max_age = current_app.config["TOKEN_MAX_AGE_SECONDS"]
    try:
        data = _serializer().loads(token, max_age=max_age)
    except SignatureExpired as error:
        raise TokenError(EXPIRED_MESSAGE) from error
    except BadSignature as error:
        raise TokenError(INVALID_MESSAGE) from error
    if not isinstance(data, dict) or data.get("p") != str(purpose):
        raise TokenError(INVALID_MESSAGE)
    account = db.session.get(Account, data.get("a")) if isinstance(data.get("a"), int) else None
    if account is None:
        raise TokenError(INVALID_MESSAGE)
    if not hmac.compare_digest(str(data.get("f")), _fingerprint(account, purpose)):
        raise TokenError(USED_MESSAGE, used_by=account)
    return account
