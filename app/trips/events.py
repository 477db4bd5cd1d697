"""The events a trip sends to its insurer's assistance: `trajet.demande`, `trajet.modifie`,
`trajet.annule`. Each is an outbox row written with the change; the worker delivers it.

The body carries everything a transporter needs, taken when the event is written, so that
a later change of an address or of the account does not rewrite what was already said. A
booking builds it from what its page already read (the choices of « Ajouter un trajet »
carry the details); a change or a cancellation reads it in one query.
"""

import json
from datetime import date, datetime, time
from typing import NamedTuple

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


class Place(NamedTuple):
    """An address as the transporter reads it."""

    label: str
    street: str
    complement: str | None
    postal_code: str
    city: str


class Person(NamedTuple):
    first_name: str
    last_name: str


class Family(NamedTuple):
    """The parent who books, and the insurer's file the trip is charged to."""

    insurer_id: int
    insurer_slug: str
    member_number: str
    first_name: str
    last_name: str
    phone: str
    email: str


class TripContent(NamedTuple):
    """Everything an event says of a trip, taken when the event is written."""

    trip_id: int
    created_at: datetime
    day: date
    hour: time
    purpose: TripPurpose
    family: Family
    child: Person
    child_birth_date: date
    origin: Place
    destination: Place


_CHILD, _PARENT = aliased(Member), aliased(Member)
_ORIGIN, _DESTINATION = aliased(Address), aliased(Address)


def _place_columns(address) -> list:
    return [address.label, address.street, address.complement, address.postal_code, address.city]


_CONTENTS = (
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
        *_place_columns(_ORIGIN),
        *_place_columns(_DESTINATION),
    )
    .join(_CHILD, Trip.child_id == _CHILD.id)
    .join(_ORIGIN, Trip.from_address_id == _ORIGIN.id)
    .join(_DESTINATION, Trip.to_address_id == _DESTINATION.id)
    .join(Account, Trip.account_id == Account.id)
    .join(_PARENT, Account.member_id == _PARENT.id)
    .join(Insurer, _PARENT.insurer_id == Insurer.id)
)
_CONTENTS_OF = _CONTENTS.where(Trip.id.in_(sa.bindparam("trip_ids", expanding=True))).order_by(
    Trip.trip_date, Trip.trip_time, Trip.id
)


def _content(row) -> TripContent:
    return TripContent(
        *row[:5],
        family=Family(*row[5:12]),
        child=Person(*row[12:14]),
        child_birth_date=row[14],
        origin=Place(*row[15:20]),
        destination=Place(*row[20:25]),
    )


def read_contents(trip_ids: list[int]) -> list[TripContent]:
    """Stored trips' contents, in date order, in one query (a cancellation, the trips an
    address change moves, an account's trips to come)."""
    rows = db.session.connection().execute(_CONTENTS_OF, {"trip_ids": trip_ids})
    return [_content(row) for row in rows]


def _place(place: Place) -> dict:
    return {
        "label": place.label,
        "line1": place.street,
        "line2": place.complement or "",
        "postcode": place.postal_code,
        "city": place.city,
    }


def queue_trip_event(content: TripContent, event_type: str, *, rearrange: bool = True) -> None:
    """Add the trip's event to the outbox (the caller commits): one statement, the row.

    A `trajet.modifie` says whether the trip must be arranged anew (`rearrange`: where,
    when or who changed, and the portal shows it « Demandé » again) or only carries the
    parent's new phone or e-mail (the trip keeps its transporter)."""
    family = content.family
    number = trip_number(content.trip_id, content.created_at)
    data = {
        "trip": number,
        "insurer": family.insurer_slug,
        "member_number": family.member_number,
        "guarantee": GUARANTEE_OF_PURPOSE[content.purpose],
        "motive": content.purpose.label,
        "date": content.day.isoformat(),
        "time": content.hour.strftime("%H:%M"),
        "child": {
            "first_name": content.child.first_name,
            "last_name": content.child.last_name,
            "birth_date": content.child_birth_date.isoformat(),
        },
        "from": _place(content.origin),
        "to": _place(content.destination),
        "parent": {
            "first_name": family.first_name,
            "last_name": family.last_name,
            "phone": family.phone,
            "email": family.email,
        },
    }
    if event_type == CANCELLED:
        data["reason"] = CANCELLED_BY_PARENT
    if event_type == CHANGED:
        data["rearrange"] = rearrange
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
        family.insurer_id,
        content.trip_id,
        json.dumps(body, ensure_ascii=False),
        summary=f"{event_type} {number} pour {family.insurer_slug}",
    )
