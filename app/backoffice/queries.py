"""What the desk's pages read, always within the staff member's insurers."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import aliased, joinedload, selectinload

from app.auth.rules import normalize_member_number
from app.backoffice import rules
from app.clock import PARIS, utcnow
from app.extensions import db
from app.models import (
    AccessLogEntry,
    Account,
    Address,
    AssistanceFile,
    AuthEvent,
    AuthEventKind,
    Document,
    Member,
    Quality,
    ReimbursementRequest,
    ReimbursementStatus,
    StaffMember,
    Trip,
    UserSession,
)
from app.models.staff import staff_insurers
from app.text import fold_name

HOLDERS = (Quality.ADHERENT, Quality.SOUSCRIPTEUR)
SEARCH_LIMIT = 50
LIST_LIMIT = 500


def _in_scope(column, insurer_ids: frozenset[int] | None):
    return sa.true() if insurer_ids is None else column.in_(insurer_ids)


def account_state(account: Account | None, member: Member) -> str:
    """« Pas de compte », « Non confirmé », « Actif » or « Supprimé »."""
    if account is None:
        return "Supprimé" if member.account_deleted_at is not None else "Pas de compte"
    return "Actif" if account.confirmed_at is not None else "Non confirmé"


# --- Search -------------------------------------------------------------------------------


def search_members(query: str, insurer_ids: frozenset[int] | None) -> list[Member]:
    """Holders by member number (exact), name (prefix, any case or accent) or e-mail."""
    conditions = []
    number = normalize_member_number(query)
    if number is not None:
        conditions.append(Member.member_number == number)
    folded = fold_name(query)
    if folded:
        pattern = rules.like_pattern(folded)
        conditions += [
            Member.last_name_key.like(pattern, escape="\\"),
            Member.first_name_key.like(pattern, escape="\\"),
            (Member.last_name_key + " " + Member.first_name_key).like(pattern, escape="\\"),
            (Member.first_name_key + " " + Member.last_name_key).like(pattern, escape="\\"),
        ]
    email = query.strip().lower()
    if email:
        conditions.append(Account.email.like(rules.like_pattern(email), escape="\\"))
    if not conditions:
        return []
    return list(
        db.session.scalars(
            sa.select(Member)
            .outerjoin(Account, Account.member_id == Member.id)
            .where(
                sa.or_(*conditions),
                Member.quality.in_(HOLDERS),
                _in_scope(Member.insurer_id, insurer_ids),
            )
            .options(
                joinedload(Member.insurer), joinedload(Member.account), selectinload(Member.offers)
            )
            .order_by(Member.last_name_key, Member.first_name_key, Member.id)
            .limit(SEARCH_LIMIT)
        ).unique()
    )


# --- A member's file ----------------------------------------------------------------------


def holder_in_scope(member_id: int, insurer_ids: frozenset[int] | None) -> Member | None:
    return db.session.scalar(
        sa.select(Member)
        .where(
            Member.id == member_id,
            Member.quality.in_(HOLDERS),
            _in_scope(Member.insurer_id, insurer_ids),
        )
        .options(
            joinedload(Member.insurer), joinedload(Member.account), selectinload(Member.offers)
        )
    )


@dataclass
class MemberFile:
    member: Member
    account: Account | None
    family: list[Member]
    files: list[AssistanceFile]
    last_login: datetime | None
    open_sessions: int
    addresses: list[Address]
    trips: list[Trip]
    requests: list[ReimbursementRequest]


def member_file(member: Member) -> MemberFile:
    """Everything the desk sees of a family, in a fixed number of queries."""
    account = member.account
    family = list(
        db.session.scalars(
            sa.select(Member)
            .where(
                Member.insurer_id == member.insurer_id,
                Member.member_number == member.member_number,
                Member.id != member.id,
            )
            .order_by(Member.birth_date)
        )
    )
    files = list(
        db.session.scalars(
            sa.select(AssistanceFile)
            .where(
                AssistanceFile.insurer_id == member.insurer_id,
                AssistanceFile.member_number == member.member_number,
            )
            .options(selectinload(AssistanceFile.guarantees))
            .order_by(AssistanceFile.number)
        )
    )
    last_login, open_sessions, addresses, trips, requests = None, 0, [], [], []
    if account is not None:
        last_login = db.session.scalar(
            sa.select(sa.func.max(AuthEvent.created_at)).where(
                AuthEvent.account_id == account.id, AuthEvent.kind == AuthEventKind.LOGIN
            )
        )
        max_age = timedelta(seconds=current_app.config["PERMANENT_SESSION_LIFETIME"])
        open_sessions = db.session.scalar(
            sa.select(sa.func.count(UserSession.id)).where(
                UserSession.account_id == account.id,
                UserSession.created_at > utcnow() - max_age,
            )
        )
        addresses = list(
            db.session.scalars(
                sa.select(Address)
                .where(Address.account_id == account.id, Address.archived_at.is_(None))
                .order_by(Address.label)
            )
        )
        trips = list(
            db.session.scalars(
                sa.select(Trip)
                .where(Trip.account_id == account.id)
                .options(
                    joinedload(Trip.child),
                    joinedload(Trip.from_address),
                    joinedload(Trip.to_address),
                )
                .order_by(Trip.trip_date.desc(), Trip.trip_time.desc(), Trip.id.desc())
                .limit(LIST_LIMIT)
            )
        )
        requests = list(
            db.session.scalars(
                sa.select(ReimbursementRequest)
                .where(ReimbursementRequest.account_id == account.id)
                .options(
                    joinedload(ReimbursementRequest.assistance_file),
                    selectinload(ReimbursementRequest.documents),
                )
                .order_by(ReimbursementRequest.created_at.desc(), ReimbursementRequest.id.desc())
            )
        )
    return MemberFile(
        member, account, family, files, last_login, open_sessions, addresses, trips, requests
    )


def document_of_member(member: Member, document_id: int) -> Document | None:
    """A document of one of the member's requests; None for anyone else's."""
    if member.account is None:
        return None
    return db.session.scalar(
        sa.select(Document)
        .join(ReimbursementRequest, Document.request_id == ReimbursementRequest.id)
        .where(Document.id == document_id, ReimbursementRequest.account_id == member.account.id)
        .options(joinedload(Document.request))
    )


# --- Reimbursement requests ---------------------------------------------------------------


def request_queue(
    status: ReimbursementStatus | None, insurer_ids: frozenset[int] | None
) -> list[ReimbursementRequest]:
    """Requests oldest first, with their member and file."""
    query = (
        sa.select(ReimbursementRequest)
        .join(AssistanceFile, ReimbursementRequest.assistance_file_id == AssistanceFile.id)
        .where(_in_scope(AssistanceFile.insurer_id, insurer_ids))
        .options(
            joinedload(ReimbursementRequest.assistance_file),
            joinedload(ReimbursementRequest.account).joinedload(Account.member),
        )
        .order_by(ReimbursementRequest.created_at, ReimbursementRequest.id)
        .limit(LIST_LIMIT)
    )
    if status is not None:
        query = query.where(ReimbursementRequest.status == status)
    return list(db.session.scalars(query))


def request_in_scope(
    number: str, insurer_ids: frozenset[int] | None, *, lock: bool = False
) -> ReimbursementRequest | None:
    query = (
        sa.select(ReimbursementRequest)
        .join(AssistanceFile, ReimbursementRequest.assistance_file_id == AssistanceFile.id)
        .where(
            ReimbursementRequest.number == number,
            _in_scope(AssistanceFile.insurer_id, insurer_ids),
        )
        .options(
            joinedload(ReimbursementRequest.assistance_file),
            joinedload(ReimbursementRequest.account).joinedload(Account.member),
            selectinload(ReimbursementRequest.documents),
            selectinload(ReimbursementRequest.history),
        )
    )
    if lock:
        query = query.with_for_update(of=ReimbursementRequest)
    return db.session.scalar(query)


# --- Trips of a day -----------------------------------------------------------------------


@dataclass
class DayTrip:
    trip: Trip
    holder: Member


def trips_of_day(day: date, insurer_ids: frozenset[int] | None) -> list[DayTrip]:
    holder = aliased(Member)
    rows = db.session.execute(
        sa.select(Trip, holder)
        .join(Account, Trip.account_id == Account.id)
        .join(holder, Account.member_id == holder.id)
        .where(Trip.trip_date == day, _in_scope(holder.insurer_id, insurer_ids))
        .options(
            joinedload(Trip.child),
            joinedload(Trip.from_address),
            joinedload(Trip.to_address),
            joinedload(holder.insurer),
        )
        .order_by(Trip.trip_time, holder.last_name_key, Trip.id)
    )
    return [DayTrip(trip, member) for trip, member in rows]


# --- Access log ---------------------------------------------------------------------------


def _paris_midnight_utc(day: date) -> datetime:
    """The start of a Paris day as a stored instant (naive UTC)."""
    return datetime.combine(day, time(), tzinfo=PARIS).astimezone(UTC).replace(tzinfo=None)


def staff_choices(insurer_ids: frozenset[int] | None) -> list[tuple[int, str]]:
    """The staff an administrator may pick in the journal's filter: with a scope, those who
    share one of its insurers and those who see every insurer (whose looks at its members
    the journal shows), never the staff of other insurers only."""
    query = sa.select(StaffMember.id, StaffMember.name, StaffMember.email).order_by(
        StaffMember.name
    )
    if insurer_ids is not None:
        shared = sa.select(staff_insurers.c.staff_id).where(
            staff_insurers.c.insurer_id.in_(insurer_ids)
        )
        scoped = sa.select(staff_insurers.c.staff_id)
        query = query.where(sa.or_(StaffMember.id.in_(shared), StaffMember.id.not_in(scoped)))
    return [(staff_id, f"{name} ({email})") for staff_id, name, email in db.session.execute(query)]


def access_log(
    insurer_ids: frozenset[int] | None,
    *,
    staff_id: int | None = None,
    member_number: str | None = None,
    start: date | None = None,
    end: date | None = None,
    limit: int | None = LIST_LIMIT,
) -> Iterable[AccessLogEntry]:
    """Newest first. An administrator of some insurers reads the rows about their members."""
    query = sa.select(AccessLogEntry).options(joinedload(AccessLogEntry.staff))
    if insurer_ids is not None:
        query = query.where(AccessLogEntry.insurer_id.in_(insurer_ids))
    if staff_id:
        query = query.where(AccessLogEntry.staff_id == staff_id)
    if member_number:
        number = normalize_member_number(member_number) or member_number
        query = query.where(
            AccessLogEntry.member_ref.like(rules.like_pattern(number + " —"), escape="\\")
        )
    if start:
        query = query.where(AccessLogEntry.created_at >= _paris_midnight_utc(start))
    if end:
        query = query.where(AccessLogEntry.created_at < _paris_midnight_utc(end + timedelta(1)))
    query = query.order_by(AccessLogEntry.created_at.desc(), AccessLogEntry.id.desc())
    if limit:
        query = query.limit(limit)
    return db.session.scalars(query)
