"""The events a trip sends to its insurer's assistance: `trajet.demande`, `trajet.modifie`,
`trajet.annule`. Each is an outbox row written with the change; the worker delivers it.

The body carries everything a transporter needs, read in one query when the event is
written, so that a later change of an address or of the account does not rewrite what was
already said.
"""

import json

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from app import clock, outbox
from app.extensions import db
from app.models import GUARANTEE_LABELS, Account, Address, GuaranteeKind, Insurer, Member, Trip
from app.models.trips import TripPurpose, trip_number

REQUESTED = "trajet.demande"
CHANGED = "trajet.modifie"
CANCELLED = "trajet.annule"
CANCELLED_BY_PARENT = "Annulé par le parent"

# The guarantee each purpose of trip calls on.
GUARANTEE_OF_PURPOSE = {
    TripPurpose.SCHOOL: GUARANTEE_LABELS[GuaranteeKind.SCHOOL],
    TripPurpose.EXAM: GUARANTEE_LABELS[GuaranteeKind.EXAM],
}

_CHILD, _PARENT = aliased(Member), aliased(Member)
_ORIGIN, _DESTINATION = aliased(Address), aliased(Address)


def _address_columns(address) -> list:
    return [address.label, address.street, address.complement, address.postal_code, address.city]


_CONTENT = (
    sa.select(
        Trip.id,
        Trip.created_at,
        Trip.trip_date,
        Trip.trip_time,
        Trip.purpose,
        Insurer.id,
        Insurer.slug,
        _PARENT.member_number,
        _PARENT.first_name,
        _PARENT.last_name,
        Account.phone,
        Account.email,
        _CHILD.first_name,
        _CHILD.last_name,
        _CHILD.birth_date,
        *_address_columns(_ORIGIN),
        *_address_columns(_DESTINATION),
    )
    .join(_CHILD, Trip.child_id == _CHILD.id)
    .join(_ORIGIN, Trip.from_address_id == _ORIGIN.id)
    .join(_DESTINATION, Trip.to_address_id == _DESTINATION.id)
    .join(Account, Trip.account_id == Account.id)
    .join(_PARENT, Account.member_id == _PARENT.id)
    .join(Insurer, _PARENT.insurer_id == Insurer.id)
    .where(Trip.id == sa.bindparam("trip_id"))
)


def _place(label, street, complement, postal_code, city) -> dict:
    return {
        "label": label,
        "line1": street,
        "line2": complement or "",
        "postcode": postal_code,
        "city": city,
    }


def queue_trip_event(trip_id: int, event_type: str) -> None:
    """Add the trip's event to the outbox (the caller commits); the trip must be flushed."""
    row = db.session.connection().execute(_CONTENT, {"trip_id": trip_id}).one()
    (trip_id, created_at, day, hour, purpose, insurer_id, insurer_slug) = row[:7]
    member_number, parent_first, parent_last, phone, email = row[7:12]
    child_first, child_last, child_born = row[12:15]
    number = trip_number(trip_id, created_at)
    data = {
        "trip": number,
        "insurer": insurer_slug,
        "member_number": member_number,
        "guarantee": GUARANTEE_OF_PURPOSE[purpose],
        "motive": purpose.label,
        "date": day.isoformat(),
        "time": hour.strftime("%H:%M"),
        "child": {
            "first_name": child_first,
            "last_name": child_last,
            "birth_date": child_born.isoformat(),
        },
        "from": _place(*row[15:20]),
        "to": _place(*row[20:25]),
        "parent": {
            "first_name": parent_first,
            "last_name": parent_last,
            "phone": phone,
            "email": email,
        },
    }
    if event_type == CANCELLED:
        data["reason"] = CANCELLED_BY_PARENT
    message_id = outbox.new_message_id()
    body = {
        "id": message_id,
        "type": event_type,
        "occurred_at": clock.now().isoformat(timespec="seconds"),
        "data": data,
    }
    outbox.add_event(
        message_id,
        event_type,
        insurer_id,
        trip_id,
        json.dumps(body, ensure_ascii=False),
        summary=f"{event_type} {number} pour {insurer_slug}",
    )
