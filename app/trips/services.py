"""What the trip pages read and write, each in one query whatever the number of trips."""

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import NamedTuple

import sqlalchemy as sa
from flask import abort
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, contains_eager

from app.auth_session import MemberRef, SignedIn, lock_account
from app.clock import utcnow
from app.extensions import db
from app.models import (
    Account,
    Address,
    AddressKind,
    AssistanceFile,
    Guarantee,
    Insurer,
    Member,
    Quality,
    Trip,
    TripPurpose,
    TripStatus,
)
from app.models.trips import address_line
from app.models.types import typed_null
from app.trips import events, rules

# The queries every calendar and day page runs are built once, with bound parameters:
# SQLAlchemy then skips their construction and cache-key work on each request. Those that
# read plain columns run on the session's connection, without the ORM's result machinery.
_FAMILY = {"insurer_id": sa.bindparam("insurer_id"), "number": sa.bindparam("number")}

_COVERS = (
    sa.select(Guarantee.kind, Guarantee.starts_on, Guarantee.ends_on)
    .join(AssistanceFile, Guarantee.assistance_file_id == AssistanceFile.id)
    .where(
        AssistanceFile.insurer_id == _FAMILY["insurer_id"],
        AssistanceFile.member_number == _FAMILY["number"],
    )
    .order_by(Guarantee.starts_on)
)
# The children of the family, the account's current addresses and the parent, in one
# round trip: the two lists « Ajouter un trajet » offers, and the details a booking's event
# carries (app/trips/events.py), so that booking reads nothing more. `part` tells the rows
# apart; children come first, by age, then addresses by label, then the parent. The last
# four columns hold each part's details (see `booking_choices`).
_CHILDREN_AND_ADDRESSES = sa.union_all(
    sa.select(
        sa.literal_column("0", sa.Integer).label("part"),
        Member.id.label("id"),
        Member.first_name.label("label"),
        typed_null(Address.kind.type).label("kind"),
        Member.birth_date.label("born"),
        Member.first_name.label("sort_key"),
        Member.last_name.label("detail1"),
        typed_null().label("detail2"),
        typed_null().label("detail3"),
        typed_null().label("detail4"),
    ).where(
        Member.insurer_id == _FAMILY["insurer_id"],
        Member.member_number == _FAMILY["number"],
        Member.quality == Quality.ENFANT,
    ),
    sa.select(
        sa.literal_column("1", sa.Integer),
        Address.id,
        Address.label,
        Address.kind,
        typed_null(sa.Date()),
        Address.label_key,
        Address.street,
        Address.complement,
        Address.postal_code,
        Address.city,
    ).where(Address.account_id == sa.bindparam("account_id"), Address.archived_at.is_(None)),
    sa.select(
        sa.literal_column("2", sa.Integer),
        Account.id,
        Member.first_name,
        typed_null(Address.kind.type),
        typed_null(sa.Date()),
        Member.first_name,
        Member.last_name,
        Account.phone,
        Account.email,
        Insurer.slug,
    )
    .join(Member, Account.member_id == Member.id)
    .join(Insurer, Member.insurer_id == Insurer.id)
    .where(Account.id == sa.bindparam("account_id")),
).order_by("part", "born", "sort_key", "id")
_TRIP_COUNTS = (
    sa.select(Trip.trip_date, sa.func.count())
    .where(
        Trip.account_id == sa.bindparam("account_id"),
        Trip.trip_date.between(sa.bindparam("first"), sa.bindparam("last")),
        Trip.cancelled_at.is_(None),
    )
    .group_by(Trip.trip_date)
)


def _family(member: Member | MemberRef) -> dict:
    return {"insurer_id": member.insurer_id, "number": member.member_number}


def covers_of(member: Member | MemberRef) -> list[rules.Cover]:
    """The periods of the guarantees of the member's assistance files.

    A logged-in request's identity read them already (app/auth_session.py); an ORM member
    costs one query.
    """
    if isinstance(member, MemberRef) and member.read_by_identity:
        rows = member.guarantees
    else:
        rows = db.session.connection().execute(_COVERS, _family(member))
    return [rules.Cover(kind, starts_on, ends_on) for kind, starts_on, ends_on in rows]


class Child(NamedTuple):
    id: int
    first_name: str


class ChildChoice(NamedTuple):
    """A child the form offers, with what a booking's event says of them."""

    id: int
    first_name: str
    last_name: str
    birth_date: date


class AddressChoice(NamedTuple):
    id: int
    label: str
    kind: AddressKind
    place: events.Place


class Choices(NamedTuple):
    """What « Ajouter un trajet » and « Modifier » offer, and who books."""

    children: list[ChildChoice]
    addresses: list[AddressChoice]
    family: events.Family


def booking_choices(member: Member | MemberRef, account: Account | SignedIn) -> Choices:
    """The children of the member's contract (the only people a trip can be booked for),
    the account's current addresses (archived ones only live on in past trips) and the
    parent's details, in one query."""
    rows = db.session.connection().execute(
        _CHILDREN_AND_ADDRESSES, {**_family(member), "account_id": account.id}
    )
    children, addresses, family = [], [], None
    for part, row_id, label, kind, born, _, *details in rows:
        if part == 0:
            children.append(ChildChoice(row_id, label, details[0], born))
        elif part == 1:
            addresses.append(AddressChoice(row_id, label, kind, events.Place(label, *details)))
        else:
            last_name, phone, email, slug = details
            family = events.Family(
                member.insurer_id, slug, member.member_number, label, last_name, phone, email
            )
    return Choices(children, addresses, family)


def booked_content(trip: Trip, choices: Choices) -> events.TripContent:
    """A trip just booked or changed, described from its page's choices (no query)."""
    child = next(child for child in choices.children if child.id == trip.child_id)
    places = {address.id: address.place for address in choices.addresses}
    return events.TripContent(
        trip.id,
        trip.created_at,
        trip.trip_date,
        trip.trip_time,
        trip.purpose,
        family=choices.family,
        child=events.Person(child.first_name, child.last_name),
        child_birth_date=child.birth_date,
        origin=places[trip.from_address_id],
        destination=places[trip.to_address_id],
    )


def assistance_phone(member: Member | MemberRef) -> str | None:
    """The member's insurer's assistance phone: the identity read it (app/auth_session.py);
    an ORM member costs one query."""
    if isinstance(member, MemberRef) and member.read_by_identity:
        return member.insurer_phone
    return db.session.scalar(sa.select(Insurer.phone).where(Insurer.id == member.insurer_id))


def trip_counts(account: Account, first: date, last: date) -> dict[date, int]:
    """How many live trips each day of a period holds (one grouped query)."""
    rows = db.session.connection().execute(
        _TRIP_COUNTS, {"account_id": account.id, "first": first, "last": last}
    )
    return {day: count for day, count in rows}


def _trips_query(account: Account | SignedIn):
    """The account's trips with their child and both addresses, joined in the same query."""
    origin, destination = aliased(Address), aliased(Address)
    return (
        sa.select(Trip)
        .join(Trip.child)
        .join(origin, Trip.from_address)
        .join(destination, Trip.to_address)
        .options(
            contains_eager(Trip.child),
            contains_eager(Trip.from_address.of_type(origin)),
            contains_eager(Trip.to_address.of_type(destination)),
        )
        .where(Trip.account_id == account.id)
        .order_by(Trip.trip_date, Trip.trip_time, Member.first_name)
    )


class Place(NamedTuple):
    label: str
    one_line: str


class DayTrip(NamedTuple):
    """A live trip as the day page shows and checks it: plain values, no ORM object."""

    id: int
    account_id: int
    child_id: int
    trip_date: date
    trip_time: time
    purpose: TripPurpose
    from_address_id: int
    to_address_id: int
    child: Child
    from_address: Place
    to_address: Place
    status: TripStatus
    transporter_name: str | None
    transporter_phone: str | None


def _place_columns(address) -> list:
    return [address.label, address.street, address.complement, address.postal_code, address.city]


def _place(label: str, street: str, complement: str | None, postal_code: str, city: str) -> Place:
    return Place(label, address_line(street, complement, postal_code, city))


_ORIGIN, _DESTINATION = aliased(Address), aliased(Address)
_TRIPS_OF_DAY = (
    sa.select(
        Trip.id,
        Trip.account_id,
        Trip.child_id,
        Trip.trip_date,
        Trip.trip_time,
        Trip.purpose,
        Trip.from_address_id,
        Trip.to_address_id,
        Member.first_name,
        *_place_columns(_ORIGIN),
        *_place_columns(_DESTINATION),
        Trip.status,
        Trip.transporter_name,
        Trip.transporter_phone,
    )
    .join(Member, Trip.child_id == Member.id)
    .join(_ORIGIN, Trip.from_address_id == _ORIGIN.id)
    .join(_DESTINATION, Trip.to_address_id == _DESTINATION.id)
    .where(
        Trip.account_id == sa.bindparam("account_id"),
        Trip.trip_date == sa.bindparam("day"),
        Trip.cancelled_at.is_(None),
    )
    .order_by(Trip.trip_time, Member.first_name)
)


def trips_of_day(account: Account, day: date) -> list[DayTrip]:
    """The live trips of one day, with their child and both addresses (one query)."""
    rows = db.session.connection().execute(_TRIPS_OF_DAY, {"account_id": account.id, "day": day})
    return [
        # The trip's 8 columns, the child's first name, 5 columns per address, the status.
        DayTrip(
            *row[:8],
            child=Child(row.child_id, row.first_name),
            from_address=_place(*row[9:14]),
            to_address=_place(*row[14:19]),
            status=row.status,
            transporter_name=row.transporter_name,
            transporter_phone=row.transporter_phone,
        )
        for row in rows
    ]


def all_trips(account: Account) -> list[Trip]:
    """Every trip of the account, cancelled ones included, oldest first."""
    return list(db.session.scalars(_trips_query(account)))


# « Mes trajets » shows this many past trips, the most recent; the export holds them all.
PAST_LIMIT = 50


@dataclass
class TripList:
    upcoming: list[Trip]  # live trips not started yet, soonest first
    past: list[Trip]  # live trips over, most recent first, at most PAST_LIMIT
    past_total: int  # how many past trips there are in all
    cancelled: list[Trip]


def trip_list(account: Account, now: datetime) -> TripList:
    """« Mes trajets » in two queries whatever the history: past trips are not all loaded."""
    today = now.date()
    # Live trips from today on, and the cancelled ones.
    recent = db.session.scalars(
        _trips_query(account).where(sa.or_(Trip.trip_date >= today, Trip.cancelled_at.is_not(None)))
    )
    upcoming, started_today, cancelled = [], [], []
    for trip in recent:
        if trip.cancelled_at is not None:
            cancelled.append(trip)
        elif rules.hours_between(now, trip.trip_date, trip.trip_time).total_seconds() > 0:
            upcoming.append(trip)
        else:
            started_today.append(trip)
    # The most recent live trips before today, with how many there are in all.
    older = db.session.execute(
        _trips_query(account)
        .add_columns(sa.func.count().over())
        .where(Trip.cancelled_at.is_(None), Trip.trip_date < today)
        .order_by(None)
        .order_by(Trip.trip_date.desc(), Trip.trip_time.desc(), Member.first_name.desc())
        .limit(PAST_LIMIT)
    ).all()
    started_today.reverse()  # the most recent first
    past = started_today + [trip for trip, _ in older]
    past_total = len(started_today) + (older[0][1] if older else 0)
    return TripList(upcoming, past[:PAST_LIMIT], past_total, cancelled)


def trip_or_404(account: Account, trip_id: int, *, lock: bool = False) -> Trip:
    """One of the account's trips; another account's trip does not exist for this one.
    With `lock`, its row is held until the transaction ends (a change or a cancellation:
    the assistance's status waits, or is waited for)."""
    query = _trips_query(account).where(Trip.id == trip_id)
    if lock:
        query = query.with_for_update(of=Trip)
    trip = db.session.scalar(query)
    if trip is None:
        abort(404)
    return trip


def busy_slots(child_ids, day: date, except_trip: Trip | None = None):
    """(child, day, hour) of the children's live trips on a day, a trip being changed aside."""
    query = sa.select(Trip.child_id, Trip.trip_date, Trip.trip_time).where(
        Trip.child_id.in_(list(child_ids)), Trip.trip_date == day, Trip.cancelled_at.is_(None)
    )
    if except_trip is not None:
        query = query.where(Trip.id != except_trip.id)
    return set(db.session.execute(query).tuples())


def live_trip_at(child_id: int, day: date, hour) -> Trip | None:
    return db.session.scalar(
        sa.select(Trip).where(
            Trip.child_id == child_id,
            Trip.trip_date == day,
            Trip.trip_time == hour,
            Trip.cancelled_at.is_(None),
        )
    )


@dataclass
class Saved:
    trip_id: int
    existing: Trip | None  # the same trip, already there (a form sent twice); None: booked


def same_trip(trip: Trip, account: Account, booking: rules.Booking) -> bool:
    return (
        trip.account_id == account.id
        and trip.from_address_id == booking.from_address_id
        and trip.to_address_id == booking.to_address_id
        and trip.purpose == booking.purpose
    )


def create_trip(account: Account, booking: rules.Booking, choices: Choices) -> Saved | None:
    """Book a checked trip; a second submission of the same form gives back the first trip.

    Two statements: the trip and its `trajet.demande` in the outbox, built from the page's
    choices. Returns None when another trip of the child took that hour meanwhile (a race
    the database's unique index settles).
    """
    existing = live_trip_at(booking.child_id, booking.day, booking.hour)
    if existing is not None:
        return Saved(existing.id, existing) if same_trip(existing, account, booking) else None
    trip = Trip(
        account_id=account.id,
        child_id=booking.child_id,
        trip_date=booking.day,
        trip_time=booking.hour,
        from_address_id=booking.from_address_id,
        to_address_id=booking.to_address_id,
        purpose=booking.purpose,
    )
    db.session.add(trip)
    try:
        db.session.flush()
        trip_id = trip.id
        events.queue_trip_event(booked_content(trip, choices), events.REQUESTED)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        existing = live_trip_at(booking.child_id, booking.day, booking.hour)
        if existing is not None and same_trip(existing, account, booking):
            return Saved(existing.id, existing)
        return None
    return Saved(trip_id, None)


def update_trip(trip: Trip, booking: rules.Booking, choices: Choices) -> bool:
    """Apply a checked change, arrange the trip anew and send it whole again; False when the
    child's new hour was taken meanwhile."""
    trip.child_id = booking.child_id
    trip.trip_date = booking.day
    trip.trip_time = booking.hour
    trip.from_address_id = booking.from_address_id
    trip.to_address_id = booking.to_address_id
    trip.purpose = booking.purpose
    _arrange_anew(trip)
    try:
        db.session.flush()
        events.queue_trip_event(booked_content(trip, choices), events.CHANGED)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def _arrange_anew(trip: Trip) -> None:
    """A changed trip is « Demandé » again: the assistance arranges it anew, and a
    transporter it had confirmed is no longer shown."""
    trip.status = TripStatus.REQUESTED
    trip.transporter_name = trip.transporter_phone = None
    trip.status_changed_at = utcnow()


def send_again(trips: list[Trip]) -> None:
    """Trips another change moved (the address they use, corrected): each is arranged anew
    and sent whole again (`trajet.modifie`), in one query for their contents. The caller
    commits."""
    for trip in trips:
        _arrange_anew(trip)
    _tell_assistance(trips, events.CHANGED)


def cancel_trip(trip: Trip) -> None:
    """The parent cancels: the assistance is told (`trajet.annule`)."""
    cancel_trips([trip])
    db.session.commit()


def cancel_trips(trips: list[Trip]) -> None:
    """Cancel the parent's trips and tell the assistance of each (`trajet.annule`), their
    contents read in one query. The caller commits."""
    for trip in trips:
        trip.cancelled_at = trip.status_changed_at = utcnow()
        trip.status = TripStatus.CANCELLED
    _tell_assistance(trips, events.CANCELLED)


def _tell_assistance(trips: list[Trip], event_type: str, *, rearrange: bool = True) -> None:
    """Queue each changed trip's event, its content read back in one query."""
    if not trips:
        return
    db.session.flush()
    for content in events.read_contents([trip.id for trip in trips]):
        events.queue_trip_event(content, event_type, rearrange=rearrange)


class ContactSent(NamedTuple):
    """Trips told of the parent's new phone or e-mail, and trips less than 48 h ahead that
    keep the former ones."""

    sent_again: int
    kept: int


def send_new_contact(account_id: int, now: datetime) -> ContactSent:
    """The parent's phone or e-mail changed: the assistance and the transporter reach the
    parent through them. Each trip still changeable is sent whole again (`trajet.modifie`)
    with the new details; where and when it goes is unchanged, so it keeps its status and
    its transporter. A trip less than 48 h ahead is the assistance's (the transporter has
    it): it is not sent, and counted. The account's row is locked first, so that a trip
    being booked in another tab is waited for and told too; then the trips, so that one
    cancelled meanwhile is not sent again. The caller commits."""
    lock_account(account_id)
    trips = trips_to_come(account_id, now, lock=True)
    changeable = [
        trip for trip in trips if not rules.is_locked(now, trip.trip_date, trip.trip_time)
    ]
    _tell_assistance(changeable, events.CHANGED, rearrange=False)
    return ContactSent(len(changeable), len(trips) - len(changeable))


def trips_to_come(account_id: int, now: datetime, *, lock: bool = False) -> list[Trip]:
    """The account's trips not cancelled and not started yet, in date order; with `lock`,
    their rows are held until the transaction ends."""
    query = (
        sa.select(Trip)
        .where(
            Trip.account_id == account_id,
            Trip.cancelled_at.is_(None),
            Trip.trip_date >= now.date(),
        )
        .order_by(Trip.trip_date, Trip.trip_time, Trip.id)
    )
    if lock:
        query = query.with_for_update()
    trips = db.session.scalars(query).all()
    return [trip for trip in trips if rules.starts_at(trip.trip_date, trip.trip_time) > now]
