"""Reading and changing the account's addresses; the rules themselves live in `rules`."""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from flask import abort
from sqlalchemy.orm import selectinload

from app.addresses import rules
from app.clock import utcnow
from app.extensions import db
from app.models import Address, AddressKind, Trip


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


def trips_using(address: Address) -> Sequence[Trip]:
    """Every trip from or to the address, oldest first, with what a listing shows."""
    return db.session.scalars(
        sa.select(Trip)
        .where(sa.or_(Trip.from_address_id == address.id, Trip.to_address_id == address.id))
        .options(
            selectinload(Trip.child),
            selectinload(Trip.from_address),
            selectinload(Trip.to_address),
        )
        .order_by(Trip.trip_date, Trip.trip_time, Trip.id)
    ).all()


def use_of(trip: Trip) -> rules.TripUse:
    return rules.TripUse(trip.trip_date, trip.trip_time, trip.cancelled_at is not None)


def upcoming_trips(trips: Sequence[Trip], now: datetime) -> list[Trip]:
    return [trip for trip in trips if rules.is_upcoming(use_of(trip), now)]


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


def update(address: Address, form, now: datetime) -> Address:
    """Change an address; when past trips used it, they keep the old one as history.

    In that case the old row is archived and a new one takes its place for the trips still
    to come, so the transporter gets the corrected address and history stays true.
    """
    values = values_of(form)
    if all(getattr(address, name) == value for name, value in values.items()):
        return address
    trips = trips_using(address)
    if not rules.edit_needs_new_version([use_of(t) for t in trips], now):
        fill(address, form)
        return address
    address.archived_at = utcnow()
    # The label must be free before the new version takes it (partial unique index).
    db.session.flush()
    replacement = Address(account_id=address.account_id)
    fill(replacement, form)
    db.session.add(replacement)
    db.session.flush()
    for trip in trips:
        if rules.is_past(use_of(trip), now) or trip.cancelled_at is not None:
            continue
        if trip.from_address_id == address.id:
            trip.from_address_id = replacement.id
        if trip.to_address_id == address.id:
            trip.to_address_id = replacement.id
    return replacement


def archive(address: Address) -> None:
    """Delete an address for the user; trips that used it still show it."""
    address.archived_at = utcnow()
