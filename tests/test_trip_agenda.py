"""« Ajouter à mon agenda »: a trip's .ics file, read back with the icalendar package."""

from datetime import datetime, time, timedelta

import pytest
from icalendar import Calendar

from app.clock import PARIS
from app.extensions import db
from app.models import Trip
from app.trips import agenda
from tests.test_trips import (
    DAY,
    NOW,
    SOPHIE,
    add_addresses,
    add_trip,
    child_id,
    text,
)


@pytest.fixture(autouse=True)
def frozen_clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def sophie(app, auth):
    auth.sophie()
    return add_addresses(app)


@pytest.fixture
def trip_id(app, sophie) -> int:
    """Maxime, Thursday 21 May 2026 at 8:30, from « Maison » to « Collège Victor Hugo »."""
    maxime = child_id(app, "Maxime")
    return add_trip(
        app, SOPHIE, maxime, DAY, time(8, 30), sophie["Maison"], sophie["Collège Victor Hugo"]
    )


def download(client, trip_id: int):
    response = client.get(f"/trajets/trajet/{trip_id}/agenda.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="trajet-2026-05-21-{trip_id}.ics"'
    )
    return Calendar.from_ical(response.data)


def the_event(calendar: Calendar):
    (event,) = calendar.events
    return event


def test_trip_page_offers_the_calendar_file(client, trip_id):
    page = text(client.get(f"/trajets/trajet/{trip_id}"))
    assert (
        f'<a class="button button-secondary" href="/trajets/trajet/{trip_id}/agenda.ics" '
        "download>Ajouter à mon agenda</a>"
    ) in page


def test_calendar_file_reads_back_with_paris_time_summary_addresses_and_alarm(client, trip_id):
    calendar = download(client, trip_id)
    event = the_event(calendar)

    assert str(event["SUMMARY"]) == "Trajet de Maxime : Maison → Collège Victor Hugo"
    assert event.start == datetime(2026, 5, 21, 8, 30, tzinfo=PARIS)
    assert event["DTSTART"].params["TZID"] == "Europe/Paris"
    assert event.end - event.start == timedelta(minutes=30)
    (timezone,) = calendar.timezones
    assert timezone.tz_name == "Europe/Paris"
    # The VTIMEZONE gives summer time on that day: 8:30 in Paris is 6:30 UTC.
    assert event.start.astimezone(timezone.to_tz()).utcoffset() == timedelta(hours=2)
    description = str(event["DESCRIPTION"])
    assert "Départ : Maison, 12 rue des Lilas, 75011 Paris" in description
    assert "Destination : Collège Victor Hugo, 40 avenue Parmentier, 75011 Paris" in description
    assert f"http://portail.test/trajets/trajet/{trip_id}" in description
    assert str(event["STATUS"]) == "CONFIRMED"

    (alarm,) = event.walk("VALARM")
    assert str(alarm["ACTION"]) == "DISPLAY"
    rings_at = event.start + alarm["TRIGGER"].dt
    assert rings_at == datetime(2026, 5, 20, 19, 0, tzinfo=PARIS)
    assert "Trajet de Maxime" in str(alarm["DESCRIPTION"])


def test_uid_is_stable_and_a_changed_trip_has_a_higher_sequence(app, client, trip_id, frozen_clock):
    first = the_event(download(client, trip_id))
    frozen_clock.shift(timedelta(minutes=5))
    second = the_event(download(client, trip_id))
    assert str(first["UID"]) == str(second["UID"]) == f"trajet-{trip_id}@portail.test"
    assert second["SEQUENCE"] == first["SEQUENCE"] == 0
    assert second["DTSTAMP"].dt > first["DTSTAMP"].dt

    with app.app_context():
        trip = db.session.get(Trip, trip_id)
        trip.trip_time = time(9, 0)
        db.session.commit()
    changed = the_event(download(client, trip_id))
    assert str(changed["UID"]) == str(first["UID"])
    assert changed["SEQUENCE"] > first["SEQUENCE"]
    assert changed.start == datetime(2026, 5, 21, 9, 0, tzinfo=PARIS)


def test_other_trips_have_their_own_uid(app, client, sophie, trip_id):
    other = add_trip(
        app,
        SOPHIE,
        child_id(app, "Franck"),
        DAY,
        time(9, 30),
        sophie["Maison"],
        sophie["École Jules Ferry"],
    )
    event = the_event(download(client, other))
    assert str(event["UID"]) == f"trajet-{other}@portail.test"
    assert str(event["SUMMARY"]) == "Trajet de Franck : Maison → École Jules Ferry"


def test_a_cancelled_trip_downloads_as_cancelled_without_alarm_nor_button(app, client, trip_id):
    with app.app_context():
        db.session.get(Trip, trip_id).cancelled_at = NOW.replace(tzinfo=None)
        db.session.commit()
    assert "Ajouter à mon agenda" not in text(client.get(f"/trajets/trajet/{trip_id}"))
    event = the_event(download(client, trip_id))
    assert str(event["STATUS"]) == "CANCELLED"
    assert event.walk("VALARM") == []


def test_only_the_owner_downloads_the_calendar_file(client, other_client, auth, trip_id):
    auth.karim(other_client)
    response = other_client.get(f"/trajets/trajet/{trip_id}/agenda.ics")
    assert response.status_code == 404
    assert "Trajet de Maxime" not in text(response)


@pytest.mark.parametrize(
    "url", ["/trajets/trajet/999999/agenda.ics", "/trajets/trajet/abc/agenda.ics"]
)
def test_unknown_trip_gives_404(client, sophie, url):
    assert client.get(url).status_code == 404


def test_calendar_file_needs_login(app, trip_id):
    anonymous = app.test_client()
    response = anonymous.get(f"/trajets/trajet/{trip_id}/agenda.ics")
    assert response.status_code == 302
    assert "/connexion" in response.headers["Location"]


def test_reminder_counts_a_change_of_summer_time_in_the_night():
    # The night of 28 to 29 March 2026 loses an hour: 19:00 to 8:30 is 12 h 30 of real time.
    start = datetime(2026, 3, 29, 8, 30, tzinfo=PARIS)
    assert agenda.reminder_before(start) == timedelta(hours=12, minutes=30)
    assert agenda.reminder_before(datetime(2026, 5, 21, 8, 30, tzinfo=PARIS)) == timedelta(
        hours=13, minutes=30
    )
