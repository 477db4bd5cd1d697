"""« Ajouter à mon agenda »: one trip as an iCalendar file (RFC 5545), with no Flask in it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from icalendar import Alarm, Calendar, Event

from app.clock import PARIS

PRODUCT_ID = "-//Cartable//Trajets scolaires//FR"
# The ride's length is not known: half an hour shows the trip as a block in a day view.
SHOWN_DURATION = timedelta(minutes=30)
# The reminder rings the evening before the trip, at this Paris hour.
REMINDER_HOUR = time(19, 0)


@dataclass(frozen=True)
class TripEvent:
    """What the calendar file says of one trip."""

    trip_id: int
    child: str
    day: date
    hour: time
    from_label: str
    from_line: str
    to_label: str
    to_line: str
    cancelled: bool
    # How many times the trip was changed (any growing integer): calendars replace the
    # event they hold under the same UID by one with a higher sequence.
    sequence: int
    trip_url: str


def uid(trip_id: int, domain: str) -> str:
    """The same for every download of one trip, so that a second one updates the event."""
    return f"trajet-{trip_id}@{domain}"


def summary(event: TripEvent) -> str:
    """« Trajet de Maxime : Maison → Collège Victor Hugo »."""
    return f"Trajet de {event.child} : {event.from_label} → {event.to_label}"


def description(event: TripEvent) -> str:
    return (
        f"Départ : {event.from_label}, {event.from_line}\n"
        f"Destination : {event.to_label}, {event.to_line}\n"
        f"Détail du trajet : {event.trip_url}"
    )


def reminder_before(start: datetime) -> timedelta:
    """How long before the trip the evening before's reminder rings: real time elapsed, so
    that a change of summer time in the night counts (in UTC: two times of one zone would
    subtract as wall-clock times)."""
    evening = datetime.combine(start.date() - timedelta(days=1), REMINDER_HOUR, tzinfo=PARIS)
    return start.astimezone(UTC) - evening.astimezone(UTC)


def calendar_file(event: TripEvent, *, domain: str, stamp: datetime) -> bytes:
    """The .ics file of one trip: Europe/Paris times with their VTIMEZONE, a stable UID, the
    addresses in the description and an alarm the evening before."""
    start = datetime.combine(event.day, event.hour, tzinfo=PARIS)
    trip = Event.new(
        uid=uid(event.trip_id, domain),
        stamp=stamp,
        start=start,
        end=start + SHOWN_DURATION,
        sequence=event.sequence,
        summary=summary(event),
        description=description(event),
        location=f"{event.from_label}, {event.from_line}",
        status="CANCELLED" if event.cancelled else "CONFIRMED",
        url=event.trip_url,
    )
    if not event.cancelled:
        trip.add_component(
            Alarm.new_display(
                description=f"Demain : {summary(event)}",
                trigger=-reminder_before(start),
            )
        )
    # The calendar's own UID is stable too: Calendar.new would draw a random one each time.
    calendar = Calendar.new(
        prodid=PRODUCT_ID, method="PUBLISH", uid=f"agenda-{trip.uid}", subcomponents=[trip]
    )
    calendar.add_missing_timezones(
        first_date=event.day - timedelta(days=366), last_date=event.day + timedelta(days=366)
    )
    return calendar.to_ical()
