"""« Ajouter à mon agenda » in Chromium: the trip page's button downloads the .ics file."""

from datetime import datetime, time, timedelta

import pytest
from icalendar import Calendar
from playwright.sync_api import expect

from app import clock
from tests.browser.test_small_screens import log_in
from tests.test_trips import SOPHIE, add_addresses, add_trip, child_id

pytestmark = pytest.mark.browser


@pytest.fixture
def trip(app, auth):
    auth.create_account()
    addresses = add_addresses(app)
    day = clock.today() + timedelta(days=6)
    trip_id = add_trip(
        app,
        SOPHIE,
        child_id(app, "Maxime"),
        day,
        time(8, 30),
        addresses["Maison"],
        addresses["Collège Victor Hugo"],
    )
    return trip_id, day


def test_sophie_adds_a_trip_to_her_calendar(page, live_server, axe, trip, tmp_path):
    trip_id, day = trip
    log_in(page, live_server)
    page.goto(f"{live_server.url}/trajets/trajet/{trip_id}")
    button = page.get_by_role("link", name="Ajouter à mon agenda")
    expect(button).to_be_visible()
    axe(page)

    with page.expect_download() as waiting:
        button.click()
    download = waiting.value
    assert download.suggested_filename == f"trajet-{day.isoformat()}-{trip_id}.ics"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    (event,) = Calendar.from_ical(saved.read_bytes()).events
    assert str(event["SUMMARY"]) == "Trajet de Maxime : Maison → Collège Victor Hugo"
    assert event.start == datetime.combine(day, time(8, 30), tzinfo=clock.PARIS)
    expect(page).to_have_url(f"{live_server.url}/trajets/trajet/{trip_id}")
