"""Insurers' API tokens: printed once, kept as a SHA-256 hash, several per insurer, revocable.

A token is 32 random bytes: a hash without salt is enough (nothing to guess), and it lets
each request find its token in one indexed query.
"""

import hashlib
import secrets

import sqlalchemy as sa

from app.clock import utcnow
from app.extensions import db
from app.models import ApiToken

TOKEN_PREFIX = "cart_"  # noqa: S105 - a visible marker, not a secret
PREFIX_LENGTH = 13  # « cart_ » and 8 characters: names the token in `insurer token --revoke`


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(insurer_id: int) -> tuple[ApiToken, str]:
    """A new token for the insurer: (its row, the token itself, to print once). Commits."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        insurer_id=insurer_id, prefix=token[:PREFIX_LENGTH], token_hash=token_hash(token)
    )
    db.session.add(row)
    db.session.commit()
    return row, token


def insurer_of_token(token: str) -> int | None:
    """The insurer a live token belongs to, or None."""
    if not token or len(token) > 200:
        return None
    return db.session.scalar(
        sa.select(ApiToken.insurer_id).where(
            ApiToken.token_hash == token_hash(token), ApiToken.revoked_at.is_(None)
        )
    )


def tokens_of(insurer_id: int) -> list[ApiToken]:
    return list(
        db.session.scalars(
            sa.select(ApiToken).where(ApiToken.insurer_id == insurer_id).order_by(ApiToken.id)
        )
    )


def revoke(insurer_id: int, prefix: str) -> ApiToken | None:
    """Revoke the insurer's token named by its first characters. Commits."""
    row = db.session.scalar(
        sa.select(ApiToken).where(
            ApiToken.insurer_id == insurer_id, ApiToken.prefix == prefix[:PREFIX_LENGTH]
        )
    )
    if row is None:
        return None
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.commit()
    return row
