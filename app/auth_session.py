"""Revocable sessions: the cookie holds a random token whose hash is a `UserSession` row.

Logging out deletes the row, so a copied cookie is worthless afterwards; a password
change deletes every other row of the account.
"""

import hashlib
import secrets
from datetime import date, timedelta
from typing import NamedTuple

import sqlalchemy as sa
from flask import abort, current_app, g, request, session
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from app.clock import utcnow
from app.extensions import db
from app.models import (
    Account,
    AssistanceFile,
    AuthEvent,
    AuthEventKind,
    Guarantee,
    GuaranteeKind,
    Member,
    UserSession,
)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def client_ip() -> str | None:
    return request.remote_addr if request else None


def record_event(kind: AuthEventKind, account: "Account | SignedIn | None" = None) -> None:
    """Add an audit row (committed with the caller's transaction)."""
    db.session.add(AuthEvent(kind=kind, account_id=account.id if account else None, ip=client_ip()))


class GuaranteePeriod(NamedTuple):
    kind: GuaranteeKind
    starts_on: date
    ends_on: date


class MemberRef(NamedTuple):
    """What a logged-in request knows of the account's member: the keys of the family, and
    the guarantees of its assistance files (what the member may book), read with the
    identity since the trip pages need them on every view."""

    id: int
    insurer_id: int
    member_number: str
    guarantees: tuple[GuaranteePeriod, ...] | None = None  # None: not read


class SignedIn(UserMixin):
    """The identity of a logged-in request, read in one query without the ORM.

    Every logged-in page loads it, and views reach it through `signed_in()`; most only need
    the ids. Views that change the account or show more of it load the stored `Account`
    with `current_account()`.
    """

    def __init__(self, account_id: int, member: MemberRef, session_token: str) -> None:
        self.id = account_id
        self.member = member
        self.session_token = session_token

    def get_id(self) -> str:
        """Flask-Login stores the session token, never the account id, in the cookie."""
        return self.session_token


# Built once: every logged-in request runs it, and a prepared statement skips SQLAlchemy's
# per-call construction and cache-key work. A row per guarantee of the member's assistance
# files (one row with no guarantee when there is none): one query, where a second one for
# the guarantees would cost each trip page a round trip.
_IDENTITY_OF_SESSION = (
    sa.select(
        Account.id,
        Member.id,
        Member.insurer_id,
        Member.member_number,
        Guarantee.kind,
        Guarantee.starts_on,
        Guarantee.ends_on,
    )
    .join(UserSession, UserSession.account_id == Account.id)
    .join(Member, Member.id == Account.member_id)
    .outerjoin(
        AssistanceFile,
        sa.and_(
            AssistanceFile.insurer_id == Member.insurer_id,
            AssistanceFile.member_number == Member.member_number,
        ),
    )
    .outerjoin(Guarantee, Guarantee.assistance_file_id == AssistanceFile.id)
    .where(UserSession.token_hash == sa.bindparam("token_hash"))
    .where(UserSession.created_at > sa.bindparam("opened_after"))
    .order_by(Guarantee.starts_on, Guarantee.id)
)


def load_account(token: str) -> SignedIn | None:
    """Flask-Login's user loader: one query for the session row, its account, its member
    and the member's guarantees."""
    if not token or len(token) > 128:
        return None
    max_age = timedelta(seconds=current_app.config["PERMANENT_SESSION_LIFETIME"])
    rows = (
        db.session.connection()
        .execute(
            _IDENTITY_OF_SESSION,
            {"token_hash": _hash(token), "opened_after": utcnow() - max_age},
        )
        .all()
    )
    if not rows:
        return None
    account_id, member_id, insurer_id, member_number = rows[0][:4]
    guarantees = tuple(GuaranteePeriod(*row[4:]) for row in rows if row[4] is not None)
    member = MemberRef(member_id, insurer_id, member_number, guarantees)
    return SignedIn(account_id, member, token)


def signed_in() -> SignedIn:
    """The identity of this logged-in request (views behind `login_required` only)."""
    return current_user._get_current_object()


def current_account() -> Account:
    """The stored `Account` of this request, for the views that change it or show its
    details."""
    account = db.session.get(Account, signed_in().id)
    if account is None:  # deleted by another request since the identity was read
        abort(404)
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
    forget_session()
    session.permanent = True
    member = account.member
    login_user(
        SignedIn(account.id, MemberRef(member.id, member.insurer_id, member.member_number), token)
    )


def end_session() -> None:
    """Log this browser out and make its cookie useless."""
    identity = signed_in()
    db.session.execute(
        sa.delete(UserSession).where(UserSession.token_hash == _hash(identity.session_token))
    )
    record_event(AuthEventKind.LOGOUT, identity)
    db.session.commit()
    logout_user()
    forget_session()


def forget_session() -> None:
    """Empty the session cookie, and the CSRF token this request signed from it."""
    session.clear()
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)


def end_other_sessions(account: Account) -> None:
    """Log out every browser of the account but this request's, when it is the account's
    own (after a password or e-mail change)."""
    query = sa.delete(UserSession).where(UserSession.account_id == account.id)
    if current_user.is_authenticated and signed_in().id == account.id:
        query = query.where(UserSession.token_hash != _hash(signed_in().session_token))
    db.session.execute(query)


def end_all_sessions(account: Account) -> None:
    db.session.execute(sa.delete(UserSession).where(UserSession.account_id == account.id))
