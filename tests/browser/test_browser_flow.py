"""In Chromium: Sophie books a trip, the assistance receives it and confirms it through the
API; she sees « Transmis », then « Confirmé » with the transporter, and gets the e-mail."""

import pytest
from playwright.sync_api import expect

from app.trips.french import long_day
from tests.browser.test_browser_trips import add_trip, first_open_day, log_in, open_month
from tests.conftest import deliver_outbox
from tests.flow_helpers import Serving, make_receiver, send_events_to
from tests.test_trips import SOPHIE, add_addresses

pytestmark = pytest.mark.browser


@pytest.fixture
def sophie(app, auth):
    auth.create_account()
    return add_addresses(app)


@pytest.fixture
def receiver(app, demo):
    receiver = make_receiver()
    serving = Serving(receiver)
    serving.start()
    send_events_to(app, receiver)
    yield receiver
    serving.stop()


def test_from_booking_to_confirme(page, live_server, axe, sophie, receiver, runner, mailbox):
    app = live_server.app
    day = first_open_day()
    log_in(page, live_server)
    page.goto(live_server.url + "/trajets")
    if page.locator(f'a[href="/trajets/{day.isoformat()}"]').count() == 0:
        open_month(page, day.year, day.month)
    page.locator(f'a[href="/trajets/{day.isoformat()}"]').click()
    add_trip(page, "Maxime", "08:30", "Maison (Domicile)", "Collège Victor Hugo (Collège)", "École")
    expect(page.get_by_role("status")).to_contain_text("Trajet ajouté : Maxime")
    expect(page.locator("table.trips")).to_contain_text("Demandé")

    # The worker sends the request; the assistance's endpoint checks its signature.
    assert deliver_outbox(app).delivered == 1
    (event,) = receiver.events()
    assert event["type"] == "trajet.demande"
    number = event["data"]["trip"]
    page.reload()
    expect(page.locator("table.trips")).to_contain_text("Transmis")

    token = runner.invoke(args=["insurer", "token", "demo"]).output.splitlines()[1]
    response = app.test_client().post(
        f"/api/v1/trajets/{number}/statut",
        json={
            "status": "confirme",
            "transporter": {"name": "Taxi Bellecour", "phone": "04 78 12 34 56"},
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200

    page.get_by_role("banner").get_by_role("link", name="Mes trajets").click()
    page.get_by_role("link", name="Liste de mes trajets").click()
    row = page.locator("table.trips tr", has_text=long_day(day))
    expect(row).to_contain_text("Confirmé")
    expect(row).to_contain_text("Taxi Bellecour")
    row.get_by_role("link", name=long_day(day)).click()
    expect(page.locator("dl.data")).to_contain_text(number)
    expect(page.locator("dl.data")).to_contain_text("Confirmé")
    expect(page.get_by_role("link", name="04 78 12 34 56")).to_have_attribute(
        "href", "tel:0478123456"
    )
    axe(page)
    message = mailbox.last(SOPHIE)
    assert message["Subject"] == f"Trajet {number} confirmé"
    assert "Taxi Bellecour" in mailbox.text(message)
