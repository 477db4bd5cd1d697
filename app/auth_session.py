"""Revocable sessions: the cookie holds a random token whose hash is a `UserSession` row.

Logging out deletes the row, so a copied cookie is worthless afterwards; a password
change deletes every other row of the account.
"""

import hashlib
import secrets
from datetime import date, datetime, timedelta
from functools import wraps
from typing import NamedTuple

import sqlalchemy as sa
from flask import abort, current_app, flash, g, redirect, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_login.utils import login_url

from app.clock import utcnow
from app.extensions import db
from app.models import (
    Account,
    AssistanceFile,
    AuthEvent,
    AuthEventKind,
    Guarantee,
    GuaranteeKind,
    Insurer,
    Member,
    UserSession,
)
from app.security import csrf_field_name


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
    """What a logged-in request knows of the account's member: the keys of the family, the
    guarantees of its assistance files (what the member may book) and its insurer's
    assistance phone (what the trip pages give when nothing can be booked), read with the
    identity since the trip pages need them on every view."""

    id: int
    insurer_id: int
    member_number: str
    guarantees: tuple[GuaranteePeriod, ...] | None = None  # None: not read
    insurer_phone: str | None = None  # read with the guarantees

    @property
    def read_by_identity(self) -> bool:
        """Whether the guarantees and the phone were read (not at login: `start_session`)."""
        return self.guarantees is not None


class SignedIn(UserMixin):
    """The identity of a logged-in request, read in one query without the ORM.

    Every logged-in page loads it, and views reach it through `signed_in()`; most only need
    the ids. Views that change the account or show more of it load the stored `Account`
    with `current_account()`.
    """

    def __init__(
        self,
        account_id: int,
        member: MemberRef,
        session_token: str,
        session_id: int | None = None,
        password_entered_at: datetime | None = None,
    ) -> None:
        self.id = account_id
        self.member = member
        self.session_token = session_token
        self.session_id = session_id
        self.password_entered_at = password_entered_at

    def get_id(self) -> str:
        """Flask-Login stores the session token, never the account id, in the cookie."""
        return self.session_token


# Built once: every logged-in request runs it, and a prepared statement skips SQLAlchemy's
# per-call construction and cache-key work. A row per guarantee of the member's assistance
# files (one row with no guarantee when there is none): one query, where a second one for
# the guarantees would cost each trip page a round trip.
_IDENTITY_OF_SESSION = (
    sa.select(
        UserSession.id,
        UserSession.created_at,
        UserSession.last_seen_at,
        UserSession.password_entered_at,
        Account.id,
        Member.id,
        Member.insurer_id,
        Member.member_number,
        Insurer.phone,
        Guarantee.kind,
        Guarantee.starts_on,
        Guarantee.ends_on,
    )
    .join(UserSession, UserSession.account_id == Account.id)
    .join(Member, Member.id == Account.member_id)
    .join(Insurer, Insurer.id == Member.insurer_id)
    .outerjoin(
        AssistanceFile,
        sa.and_(
            AssistanceFile.insurer_id == Member.insurer_id,
            AssistanceFile.member_number == Member.member_number,
        ),
    )
    .outerjoin(Guarantee, Guarantee.assistance_file_id == AssistanceFile.id)
    .where(UserSession.token_hash == sa.bindparam("token_hash"))
    .order_by(Guarantee.starts_on, Guarantee.id)
)


# Activity is written at most this often: a page view costs no write in between.
ACTIVITY_RESOLUTION = timedelta(minutes=1)
IDLE_MESSAGE = "Votre session a expiré après une période d'inactivité. Reconnectez-vous."
LIFETIME_MESSAGE = (
    "Votre session a expiré : une connexion dure au plus {hours} heures. Reconnectez-vous."
)


def session_expiry(
    opened_at: datetime,
    last_seen_at: datetime,
    now: datetime,
    *,
    idle: timedelta,
    lifetime: timedelta,
) -> str | None:
    """Why a login session has ended at `now` (the message for its owner), or None.

    `last_seen_at` is written at most once per ACTIVITY_RESOLUTION, so the last request may
    have come up to that much later: the session is idle only once `idle` has passed since
    then too. It ends between `idle` and `idle` + ACTIVITY_RESOLUTION after the last request,
    never before."""
    if now - opened_at >= lifetime:
        return LIFETIME_MESSAGE.format(hours=round(lifetime.total_seconds() / 3600))
    if now - last_seen_at >= idle + ACTIVITY_RESOLUTION:
        return IDLE_MESSAGE
    return None


def load_account(token: str) -> SignedIn | None:
    """Flask-Login's user loader: one query for the session row, its account, its member
    and the member's guarantees. An idle or too old session ends here."""
    if not token or len(token) > 128:
        return None
    rows = db.session.connection().execute(_IDENTITY_OF_SESSION, {"token_hash": _hash(token)}).all()
    if not rows:
        return None
    session_id, opened_at, last_seen_at, password_entered_at = rows[0][:4]
    account_id, member_id, insurer_id, member_number, insurer_phone = rows[0][4:9]
    now, config = utcnow(), current_app.config
    expired = session_expiry(
        opened_at,
        last_seen_at,
        now,
        idle=timedelta(minutes=config["SESSION_IDLE_MINUTES"]),
        lifetime=timedelta(seconds=config["PERMANENT_SESSION_LIFETIME"]),
    )
    if expired:
        _end_expired_session(session_id, expired)
        return None
    if now - last_seen_at >= ACTIVITY_RESOLUTION:
        _write_apart(
            sa.update(UserSession).where(UserSession.id == session_id).values(last_seen_at=now)
        )
    guarantees = tuple(GuaranteePeriod(*row[9:]) for row in rows if row[9] is not None)
    member = MemberRef(member_id, insurer_id, member_number, guarantees, insurer_phone)
    return SignedIn(account_id, member, token, session_id, password_entered_at)


def _write_apart(statement) -> None:
    """Run a statement in a transaction of its own: the identity is read before the view
    runs, whose own transaction may end in a rollback."""
    with db.engine.begin() as connection:
        connection.execute(statement)


def _end_expired_session(session_id: int, message: str) -> None:
    """Delete the ended session's row, empty the cookie and tell its owner why."""
    _write_apart(sa.delete(UserSession).where(UserSession.id == session_id))
    forget_session()
    g.session_expired = True
    flash(message, "info")


def unauthorized(next_url: str | None = None):
    """A page needs a login: to the login page, which says why (expired, or not logged in),
    then back to `next_url` (this request's page by default)."""
    if not g.get("session_expired"):
        flash(current_app.login_manager.login_message, "info")
    manager = current_app.login_manager
    return redirect(login_url(manager.login_view, next_url=next_url or request.url))


def password_is_recent() -> bool:
    """Whether the password was typed in this session less than RECENT_PASSWORD_MINUTES ago."""
    entered_at = getattr(current_user, "password_entered_at", None)
    recent = timedelta(minutes=current_app.config["RECENT_PASSWORD_MINUTES"])
    return entered_at is not None and utcnow() - entered_at < recent


def record_password_entry() -> None:
    """The password was just typed again in this session (committed by the caller)."""
    db.session.execute(
        sa.update(UserSession)
        .where(UserSession.id == signed_in().session_id)
        .values(password_entered_at=utcnow())
    )


def recent_password_required(view):
    """A view holding or changing what matters most asks for the password again when it
    was last typed more than RECENT_PASSWORD_MINUTES ago."""

    @wraps(view)
    def checked(*args, **kwargs):
        if not password_is_recent():
            target = request.full_path.removesuffix("?")
            return redirect(url_for("account.confirm_password", next=target))
        return view(*args, **kwargs)

    return checked


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


def lock_account(account_id: int) -> None:
    """Hold the account's row until the transaction ends (PostgreSQL; SQLite has one writer
    at a time): a trip booked meanwhile, whose row names the account, waits for it."""
    db.session.execute(sa.select(Account.id).where(Account.id == account_id).with_for_update())


def init_login_manager(login_manager: LoginManager) -> None:
    login_manager.user_loader(load_account)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Veuillez vous connecter pour accéder à cette page."
    login_manager.login_message_category = "info"
    login_manager.unauthorized_handler(unauthorized)
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
    g.pop(csrf_field_name(), None)


def end_other_sessions(account: Account) -> None:
    """Log out every browser of the account but this request's, when it is the account's
    own (after a password or e-mail change)."""
    query = sa.delete(UserSession).where(UserSession.account_id == account.id)
    if current_user.is_authenticated and signed_in().id == account.id:
        query = query.where(UserSession.token_hash != _hash(signed_in().session_token))
    db.session.execute(query)


def end_all_sessions(account: Account) -> None:
    db.session.execute(sa.delete(UserSession).where(UserSession.account_id == account.id))
