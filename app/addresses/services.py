"""Reading and changing the account's addresses; the rules themselves live in `rules`."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import abort
from sqlalchemy.orm import selectinload

from app.addresses import rules
from app.clock import utcnow
from app.extensions import db
from app.models import Address, AddressKind, Trip
from app.trips import services as trip_services


def current_addresses(account_id: int) -> Sequence[Address]:
    """The account's addresses that are not deleted, in label order (one query)."""
    return db.session.scalars(
        sa.select(Address)
        .where(Address.account_id == account_id, Address.archived_at.is_(None))
        .order_by(Address.label_key, Address.id)
    ).all()


def address_or_404(account_id: int, address_id: int) -> Address:
    """One current address of the account; another account's, or a deleted one, is a 404."""
    address = db.session.scalar(
        sa.select(Address).where(
            Address.id == address_id,
            Address.account_id == account_id,
            Address.archived_at.is_(None),
        )
    )
    if address is None:
        abort(404)
    return address


def label_taken(account_id: int, label: str, except_id: int | None = None) -> bool:
    """Whether another current address of the account already has this « Intitulé »."""
    query = sa.select(Address.id).where(
        Address.account_id == account_id,
        Address.label_key == rules.label_key(label),
        Address.archived_at.is_(None),
    )
    if except_id is not None:
        query = query.where(Address.id != except_id)
    return db.session.scalar(query.limit(1)) is not None


def _uses(address: Address):
    return sa.or_(Trip.from_address_id == address.id, Trip.to_address_id == address.id)


def _started(now: datetime):
    """Trips whose Paris date and hour are over (`rules.is_past`, in SQL)."""
    today, hour = now.date(), now.time().replace(tzinfo=None)
    return sa.or_(Trip.trip_date < today, sa.and_(Trip.trip_date == today, Trip.trip_time <= hour))


def trips_ahead(address: Address, now: datetime, *, lock: bool = False) -> Sequence[Trip]:
    """The live trips from or to the address dated today or later, oldest first.

    Only these matter for deleting or editing an address; past trips are never loaded.
    With `lock`, their rows are held until the transaction ends: a trip cancelled meanwhile
    (another tab, the assistance) is no longer among them, rather than sent again.
    """
    query = (
        sa.select(Trip)
        .where(_uses(address), Trip.cancelled_at.is_(None), Trip.trip_date >= now.date())
        .options(
            selectinload(Trip.child),
            selectinload(Trip.from_address),
            selectinload(Trip.to_address),
        )
        .order_by(Trip.trip_date, Trip.trip_time, Trip.id)
    )
    if lock:
        query = query.with_for_update(of=Trip)
    return db.session.scalars(query).all()


def past_trip_count(address: Address, now: datetime) -> int:
    """How many trips that took place (not cancelled) used the address."""
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Trip)
        .where(_uses(address), Trip.cancelled_at.is_(None), _started(now))
    )


def used_in_the_past(address: Address, now: datetime) -> bool:
    """Whether a past trip, cancelled or not, shows this address in the history."""
    query = sa.select(Trip.id).where(_uses(address), _started(now)).limit(1)
    return db.session.scalar(query) is not None


def use_of(trip: Trip) -> rules.TripUse:
    return rules.TripUse(trip.trip_date, trip.trip_time, trip.cancelled_at is not None)


def upcoming_trips(trips: Sequence[Trip], now: datetime) -> list[Trip]:
    return [trip for trip in trips if rules.is_upcoming(use_of(trip), now)]


def imminent_trips(trips: Sequence[Trip], now: datetime) -> list[Trip]:
    return [trip for trip in trips if rules.is_imminent(use_of(trip), now)]


def values_of(form) -> dict:
    """The form's values, normalised as they are stored."""
    return {
        "label": form.label.data,
        "label_key": rules.label_key(form.label.data),
        "kind": AddressKind(form.kind.data),
        "street": form.street.data,
        "complement": form.complement.data or None,
        "postal_code": rules.normalize_postal_code(form.postal_code.data),
        "city": form.city.data,
    }


def fill(address: Address, form) -> None:
    for name, value in values_of(form).items():
        setattr(address, name, value)


def create(account_id: int, form) -> Address:
    address = Address(account_id=account_id)
    fill(address, form)
    db.session.add(address)
    db.session.flush()
    return address


@dataclass(frozen=True)
class Edited:
    """An edited address, how many locked trips kept its previous version, and how many
    changeable trips were sent again to the assistance with the new place."""

    address: Address
    kept_by_imminent_trips: int = 0
    sent_again: int = 0


def update(address: Address, form, now: datetime) -> Edited:
    """Change an address; past and locked trips keep the old one.

    When a past trip (history) or a locked trip (less than 48 h ahead, already sent to the
    transporter) uses the address, the old row is archived and a new one takes its place;
    only the trips still changeable (48 h or more ahead, not cancelled) move to it.
    Otherwise the address is changed in place. When the place itself changed (not only its
    label or kind), the changeable trips are sent again to the assistance
    (`trajet.modifie`): the transporter must go to the new place. The caller commits.
    """
    values = values_of(form)
    if all(getattr(address, name) == value for name, value in values.items()):
        return Edited(address)
    moved = any(getattr(address, name) != values[name] for name in rules.PLACE_FIELDS)
    ahead = trips_ahead(address, now, lock=True)
    uses = [use_of(trip) for trip in ahead]
    changeable = [
        trip for trip, use in zip(ahead, uses, strict=True) if rules.is_changeable(use, now)
    ]
    resent = changeable if moved else []
    if not rules.edit_needs_new_version(uses, now) and not used_in_the_past(address, now):
        fill(address, form)
        trip_services.send_again(resent)
        return Edited(address, sent_again=len(resent))
    address.archived_at = utcnow()
    # The label must be free before the new version takes it (partial unique index).
    db.session.flush()
    replacement = Address(account_id=address.account_id)
    fill(replacement, form)
    db.session.add(replacement)
    db.session.flush()
    for trip in changeable:
        if trip.from_address_id == address.id:
            trip.from_address_id = replacement.id
        if trip.to_address_id == address.id:
            trip.to_address_id = replacement.id
    trip_services.send_again(resent)
    kept = sum(rules.is_imminent(use, now) for use in uses)
    return Edited(replacement, kept, len(resent))


def archive(address: Address) -> None:
    """Delete an address for the user; trips that used it still show it."""
    address.archived_at = utcnow()
