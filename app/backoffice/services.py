"""Staff accounts, invitations, logins and sessions, and the access log's rows."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, g, request, session, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.auth.passwords import hash_password, verify_password
from app.auth.tokens import EXPIRED_MESSAGE, INVALID_MESSAGE, TokenError
from app.backoffice import rules
from app.clock import now, utcnow
from app.email import public_url, send_email
from app.extensions import db
from app.models import (
    AccessAction,
    AccessLogEntry,
    Insurer,
    Member,
    StaffMember,
    StaffRecoveryCode,
    StaffRole,
    StaffSession,
)

SESSION_TOKEN_KEY = "staff_token"  # noqa: S105 - a session key, not a secret
ENROLMENT_KEY = "staff_enrolment"

USED_INVITATION = (
    "Cette invitation a déjà été utilisée ou a été remplacée par une plus récente. "
    "Demandez une nouvelle invitation à un administrateur."
)
LOGIN_FAILED = "Adresse e-mail, mot de passe ou code incorrect."
LOCKED = (
    "Après 5 tentatives échouées, ce compte est verrouillé pendant 15 minutes. "
    "Son titulaire a été prévenu par e-mail."
)


class StaffError(Exception):
    """A refused staff operation; the message is French."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def client_ip() -> str | None:
    return request.remote_addr


# --- Accounts and invitations -------------------------------------------------------------


def staff_by_email(email: str) -> StaffMember | None:
    return db.session.scalar(sa.select(StaffMember).where(StaffMember.email == email.lower()))


def create_staff(email: str, name: str, role: StaffRole, insurers: list[Insurer]) -> StaffMember:
    """A new staff account, not yet usable: its owner follows the invitation. Flushes."""
    if staff_by_email(email) is not None:
        raise StaffError(f"Un compte du personnel utilise déjà l'adresse {email}.")
    staff = StaffMember(email=email.lower(), name=name, role=role, insurers=insurers)
    db.session.add(staff)
    db.session.flush()
    return staff


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="cartable-staff-invite")


def _fingerprint(staff: StaffMember) -> str:
    state = f"{staff.id}|{staff.email}|{staff.password_hash}|{staff.invitation_nonce}"
    return hashlib.sha256(state.encode()).hexdigest()[:32]


def send_invitation(staff: StaffMember) -> None:
    """E-mail a new invitation (older ones stop working; a new password and second factor
    will be asked, and open sessions end: a new invitation follows a lost phone or a
    password that leaked). The caller commits after this call."""
    staff.invitation_nonce += 1
    staff.password_hash = None
    staff.totp_secret = None
    staff.totp_confirmed_at = None
    _end_sessions(staff)
    db.session.flush()
    token = _serializer().dumps({"s": staff.id, "f": _fingerprint(staff)})
    send_email(
        staff.email,
        "Votre accès à la gestion de Cartable",
        "staff_invitation",
        staff=staff,
        link=public_url(url_for("backoffice.invitation", token=token)),
    )


def read_invitation(token: str) -> StaffMember:
    """The staff member an invitation link is for, or TokenError with the French reason."""
    try:
        data = _serializer().loads(token, max_age=rules.INVITATION_MAX_AGE_SECONDS)
    except SignatureExpired as error:
        raise TokenError(EXPIRED_MESSAGE) from error
    except BadSignature as error:
        raise TokenError(INVALID_MESSAGE) from error
    staff_id = data.get("s") if isinstance(data, dict) else None
    staff = db.session.get(StaffMember, staff_id) if isinstance(staff_id, int) else None
    if staff is None or staff.disabled_at is not None:
        raise TokenError(INVALID_MESSAGE)
    if not hmac.compare_digest(str(data.get("f")), _fingerprint(staff)):
        raise TokenError(USED_INVITATION)
    return staff


def choose_password(staff: StaffMember, password: str) -> None:
    """The invitation's first step: the password, and a fresh secret to enrol. Commits."""
    staff.password_hash = hash_password(password)
    staff.totp_secret = rules.new_totp_secret()
    staff.totp_confirmed_at = None
    staff.totp_last_step = 0
    db.session.commit()
    session[ENROLMENT_KEY] = staff.id


def enrolling_staff() -> StaffMember | None:
    """The staff member between the invitation's password and their first code, if any."""
    staff_id = session.get(ENROLMENT_KEY)
    staff = db.session.get(StaffMember, staff_id) if isinstance(staff_id, int) else None
    if staff is None or staff.disabled_at is not None or staff.totp_confirmed_at is not None:
        return None
    return staff if staff.totp_secret else None


def confirm_second_factor(staff: StaffMember, code: str) -> list[str] | None:
    """The enrolment's code checked: ten recovery codes (shown once), or None. Commits."""
    step = rules.accepted_totp_step(staff.totp_secret, code, now(), staff.totp_last_step)
    if step is None:
        return None
    staff.totp_last_step = step
    staff.totp_confirmed_at = utcnow()
    db.session.execute(sa.delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_id == staff.id))
    codes = rules.new_recovery_codes()
    db.session.add_all(
        StaffRecoveryCode(staff_id=staff.id, code_hash=rules.hash_recovery_code(code))
        for code in codes
    )
    db.session.commit()
    session.pop(ENROLMENT_KEY, None)
    return codes


def disable(staff: StaffMember) -> None:
    """No more logins; open sessions end. The caller commits."""
    staff.disabled_at = utcnow()
    _end_sessions(staff)


def _end_sessions(staff: StaffMember) -> None:
    db.session.execute(sa.delete(StaffSession).where(StaffSession.staff_id == staff.id))


# --- Login --------------------------------------------------------------------------------


@dataclass
class LoginResult:
    staff: StaffMember | None = None
    error: str | None = None


def _second_factor_ok(staff: StaffMember, code: str) -> bool:
    """A current TOTP code never used before, or an unused recovery code (then spent)."""
    step = rules.accepted_totp_step(staff.totp_secret, code, now(), staff.totp_last_step)
    if step is not None:
        # Conditional, so that two logins racing with one code cannot both pass.
        spent = db.session.execute(
            sa.update(StaffMember)
            .where(StaffMember.id == staff.id, StaffMember.totp_last_step < step)
            .values(totp_last_step=step)
        )
        return spent.rowcount == 1
    if not rules.looks_like_recovery_code(code):
        return False
    spent = db.session.execute(
        sa.update(StaffRecoveryCode)
        .where(
            StaffRecoveryCode.staff_id == staff.id,
            StaffRecoveryCode.code_hash == rules.hash_recovery_code(code),
            StaffRecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    return spent.rowcount == 1


def authenticate(email: str, password: str, code: str) -> LoginResult:
    """Check the three factors; log the attempt; lock after 5 failures in 15 minutes.

    Commits the attempt's rows (a failure is recorded even though the login fails).
    """
    staff = staff_by_email(email)
    if staff is None or not staff.is_enrolled or staff.disabled_at is not None:
        verify_password(None, password)  # the same time as a real check
        return LoginResult(error=LOGIN_FAILED)
    current = utcnow()
    if staff.locked_until is not None and staff.locked_until > current:
        return LoginResult(error=LOCKED)
    if verify_password(staff.password_hash, password) and _second_factor_ok(staff, code):
        staff.locked_until = None
        return LoginResult(staff=staff)
    db.session.rollback()  # a recovery code is only spent by a successful login
    log(AccessAction.LOGIN_FAILED, staff=staff)
    failures = db.session.scalar(
        sa.select(sa.func.count(AccessLogEntry.id)).where(
            AccessLogEntry.staff_id == staff.id,
            AccessLogEntry.action == AccessAction.LOGIN_FAILED,
            AccessLogEntry.created_at > current - rules.FAILURE_WINDOW,
            # Failures before the end of a previous lock do not count twice.
            AccessLogEntry.created_at >= (staff.locked_until or current - rules.FAILURE_WINDOW),
        )
    )
    if rules.should_lock(failures):
        staff.locked_until = current + rules.LOCK_DURATION
        send_email(
            staff.email,
            "Votre accès à la gestion de Cartable est verrouillé",
            "staff_locked",
            staff=staff,
            minutes=int(rules.LOCK_DURATION / timedelta(minutes=1)),
            ip=client_ip(),
        )
        db.session.commit()
        return LoginResult(error=LOCKED)
    db.session.commit()
    return LoginResult(error=LOGIN_FAILED)


def start_session(staff: StaffMember) -> None:
    """A new staff session row and cookie (whatever the cookie held before is dropped)."""
    token = secrets.token_urlsafe(32)
    db.session.add(StaffSession(staff_id=staff.id, token_hash=_hash(token), ip=client_ip()))
    log(AccessAction.LOGIN, staff=staff)
    db.session.commit()
    session.clear()
    session[SESSION_TOKEN_KEY] = token


def load_session() -> StaffSession | None:
    """This request's live staff session (its idle clock restarted), or None."""
    token = session.get(SESSION_TOKEN_KEY)
    if not isinstance(token, str) or len(token) > 128:
        return None
    row = db.session.scalar(sa.select(StaffSession).where(StaffSession.token_hash == _hash(token)))
    current = utcnow()
    if row is None or row.staff.disabled_at is not None:
        return None
    if not rules.session_is_alive(row.created_at, row.last_seen_at, current):
        db.session.delete(row)
        db.session.commit()
        return None
    row.last_seen_at = current
    db.session.commit()
    return row


def end_session() -> None:
    """Log this browser out of the back-office."""
    row = g.get("staff_session")
    if row is not None:
        log(AccessAction.LOGOUT)
        db.session.delete(row)
        db.session.commit()
    session.clear()


def current_staff() -> StaffMember:
    return g.staff_session.staff


# --- Access log ---------------------------------------------------------------------------


def member_ref(member: Member) -> str:
    return f"{member.member_number} — {member.last_name} {member.first_name}"


def log(
    action: AccessAction,
    member: Member | None = None,
    detail: str | None = None,
    staff: StaffMember | None = None,
) -> None:
    """Add a row to the access log; the caller's commit writes it with what it records."""
    staff = staff or current_staff()
    db.session.add(
        AccessLogEntry(
            staff_id=staff.id,
            action=action,
            insurer_id=member.insurer_id if member else None,
            member_id=member.id if member else None,
            member_ref=member_ref(member) if member else None,
            detail=detail[:250] if detail else None,
            ip=client_ip(),
        )
    )
