"""What the assistance does to trips (API, `flask trips set-status`): find one of its
insurer's trips by public number, apply a status, e-mail the parent when it matters."""

from datetime import timedelta
from typing import NamedTuple

import sqlalchemy as sa
from flask import url_for
from sqlalchemy.orm import joinedload

from app import clock
from app.clock import paris_year, utcnow
from app.email import public_url, send_email
from app.extensions import db
from app.models import Account, Insurer, Member, Trip, TripStatus
from app.trips import rules
from app.trips.french import long_day
from app.trips.statuses import (
    NOT_YET_DONE_MESSAGE,
    SETTLED,
    SETTLED_MESSAGE,
    StatusUpdate,
    parse_trip_number,
)


def find_trip(number: str, insurer_id: int | None = None) -> Trip | None:
    """The trip of a public number (of this insurer's members only, when one is given),
    its row locked until the transaction ends: a status is read and written while the
    parent's cancellation, or the same status sent twice at once, waits."""
    parsed = parse_trip_number(number)
    if parsed is None:
        return None
    year, trip_id = parsed
    query = (
        sa.select(Trip)
        .join(Account, Trip.account_id == Account.id)
        .join(Member, Account.member_id == Member.id)
        .where(Trip.id == trip_id)
        .options(
            joinedload(Trip.child),
            joinedload(Trip.from_address),
            joinedload(Trip.to_address),
        )
        .with_for_update(of=Trip)
    )
    if insurer_id is not None:
        query = query.where(Member.insurer_id == insurer_id)
    trip = db.session.scalar(query)
    if trip is None or paris_year(trip.created_at) != year:
        return None
    return trip


class Applied(NamedTuple):
    changed: bool
    refused: str | None = None  # why the trip cannot take this status


def _same(trip: Trip, update: StatusUpdate) -> bool:
    if trip.status is not update.status:
        return False
    if update.status is TripStatus.CONFIRMED:
        return (trip.transporter_name, trip.transporter_phone) == (
            update.transporter_name,
            update.transporter_phone,
        )
    return True


def _not_started(trip: Trip) -> bool:
    return rules.hours_between(clock.now(), trip.trip_date, trip.trip_time) > timedelta(0)


def apply_status(trip: Trip, update: StatusUpdate) -> Applied:
    """Give the trip the assistance's status; the same status again changes nothing.

    « Confirmé » and « Annulé par l'assistance » e-mail the parent, in the same
    transaction. Needs a request context (the e-mail's link). Commits when it changes.
    """
    if _same(trip, update):
        return Applied(False)
    if trip.status in SETTLED:
        return Applied(False, SETTLED_MESSAGE.format(label=trip.status.label))
    if update.status is TripStatus.DONE and _not_started(trip):
        day, hour = trip.trip_date.strftime("%d/%m/%Y"), rules.format_hour(trip.trip_time)
        return Applied(False, NOT_YET_DONE_MESSAGE.format(day=day, hour=hour))
    now = utcnow()
    trip.status = update.status
    trip.status_changed_at = now
    if update.status is TripStatus.CONFIRMED:
        trip.transporter_name = update.transporter_name
        trip.transporter_phone = update.transporter_phone
        _email_parent(trip, "trip_confirmed", f"Trajet {trip.number} confirmé")
    elif update.status is TripStatus.CANCELLED_BY_ASSISTANCE:
        # The child's hour is free again, as after a parent's cancellation.
        trip.cancelled_at = now
        trip.status_reason = update.reason
        _email_parent(trip, "trip_cancelled", f"Trajet {trip.number} annulé par l'assistance")
    db.session.commit()
    return Applied(True)


def _email_parent(trip: Trip, template: str, subject: str) -> None:
    account = db.session.get(Account, trip.account_id)
    insurer_phone = db.session.scalar(
        sa.select(Insurer.phone)
        .join(Member, Member.insurer_id == Insurer.id)
        .where(Member.id == account.member_id)
    )
    send_email(
        account.email,
        subject,
        template,
        trip=trip,
        first_name=db.session.get(Member, account.member_id).first_name,
        day=long_day(trip.trip_date),
        hour=rules.format_hour(trip.trip_time),
        assistance_phone=insurer_phone,
        link=public_url(url_for("trips.trip", trip_id=trip.id)),
    )


def trip_state(trip: Trip) -> dict:
    """The trip as the API answers it."""
    transporter = None
    if trip.status is TripStatus.CONFIRMED:
        transporter = {"name": trip.transporter_name, "phone": trip.transporter_phone}
    return {
        "trip": trip.number,
        "status": trip.status.value,
        "status_label": trip.status.label,
        "date": trip.trip_date.isoformat(),
        "time": trip.trip_time.strftime("%H:%M"),
        "transporter": transporter,
        "reason": trip.status_reason,
    }
