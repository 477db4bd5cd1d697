"""Revocable sessions: the cookie holds a random token whose hash is a `UserSession` row.

Logging out deletes the row, so a copied cookie is worthless afterwards; a password
change deletes every other row of the account.
"""

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, request, session
from flask_login import LoginManager, login_user, logout_user

from app.clock import utcnow
from app.extensions import db
from app.models import Account, AuthEvent, AuthEventKind, UserSession


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def client_ip() -> str | None:
    return request.remote_addr if request else None


def record_event(kind: AuthEventKind, account: Account | None = None) -> None:
    """Add an audit row (committed with the caller's transaction)."""
    db.session.add(AuthEvent(kind=kind, account_id=account.id if account else None, ip=client_ip()))


# Built once: every logged-in request runs it, and a prepared statement skips SQLAlchemy's
# per-call construction and cache-key work.
_ACCOUNT_OF_SESSION = (
    sa.select(Account)
    .join(UserSession, UserSession.account_id == Account.id)
    .where(UserSession.token_hash == sa.bindparam("token_hash"))
    .where(UserSession.created_at > sa.bindparam("opened_after"))
)


def load_account(token: str) -> Account | None:
    """Flask-Login's user loader: one query for the session row and its account."""
    if not token or len(token) > 128:
        return None
    max_age = timedelta(seconds=current_app.config["PERMANENT_SESSION_LIFETIME"])
    account = db.session.scalar(
        _ACCOUNT_OF_SESSION,
        {"token_hash": _hash(token), "opened_after": utcnow() - max_age},
    )
    if account is not None:
        account.current_session_token = token
    return account


def init_login_manager(login_manager: LoginManager) -> None:
    login_manager.user_loader(load_account)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Veuillez vous connecter pour accéder à cette page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"


def start_session(account: Account) -> None:
    """Log the account in on this browser, with a fresh session row and cookie."""
    token = secrets.token_urlsafe(32)
    user_agent = (request.user_agent.string or "")[:255]
    db.session.add(
        UserSession(
            account_id=account.id,
            token_hash=_hash(token),
            ip=client_ip(),
            user_agent=user_agent,
        )
    )
    record_event(AuthEventKind.LOGIN, account)
    db.session.commit()
    # A new session identifier on login: whatever the cookie held before is dropped.
    session.clear()
    session.permanent = True
    account.current_session_token = token
    login_user(account)


def end_session(account: Account) -> None:
    """Log this browser out and make its cookie useless."""
    token = account.current_session_token
    if token:
        db.session.execute(sa.delete(UserSession).where(UserSession.token_hash == _hash(token)))
    record_event(AuthEventKind.LOGOUT, account)
    db.session.commit()
    logout_user()
    session.clear()


def end_other_sessions(account: Account) -> None:
    """Log out every other browser of the account (after a password change)."""
    query = sa.delete(UserSession).where(UserSession.account_id == account.id)
    if account.current_session_token:
        query = query.where(UserSession.token_hash != _hash(account.current_session_token))
    db.session.execute(query)


def end_all_sessions(account: Account) -> None:
    db.session.execute(sa.delete(UserSession).where(UserSession.account_id == account.id))
