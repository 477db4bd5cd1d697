"""Trip events reach the assistance: booked, changed, cancelled; signed webhooks to a real
receiver on loopback, in order per trip, retried until delivered; or files in a folder."""

import base64
import json
import socket
import threading
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Account, Address, Insurer, OutboxMessage, Trip, TripPurpose, TripStatus
from app.models.trips import trip_number
from app.outbox.channels import signature_headers
from app.trips.assistance import find_trip
from tests.conftest import DEFAULT_PASSWORD, csrf_token, deliver_outbox, submit
from tests.flow_helpers import (
    Serving,
    event_bodies,
    make_receiver,
    outbox_rows,
    send_events_to,
)
from tests.test_trips import DAY_URL, NOW, add_addresses, child_id, form, text

SOPHIE = "sophie.martin@example.fr"


@pytest.fixture(autouse=True)
def frozen_clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def sophie(app, auth):
    auth.sophie()
    return add_addresses(app)


@pytest.fixture
def receiver(app, demo):
    """The assistance's endpoint, serving in a thread, stopped after the test."""
    receiver = make_receiver()
    serving = Serving(receiver)
    serving.start()
    send_events_to(app, receiver)
    receiver.serving = serving
    yield receiver
    serving.stop()


def book(client, app, child="Maxime", hour="08:30", origin="Maison", to="Collège Victor Hugo"):
    response = submit(
        client, DAY_URL, form(child_id(app, child), hour, *address_ids(app, origin, to))
    )
    assert response.status_code == 302, text(response)
    return int(response.headers["Location"].rsplit("#trajet-", 1)[1])


def address_ids(app, *labels):
    with app.app_context():
        found = dict(db.session.execute(sa.select(Address.label, Address.id)).tuples().all())
    return [found[label] for label in labels]


def trip_row(app, trip_id) -> Trip:
    with app.app_context():
        trip = db.session.get(Trip, trip_id)
        db.session.expunge(trip)
        return trip


# --- The events written -------------------------------------------------------------------


def test_booking_writes_a_request_event_with_everything_a_transporter_needs(
    app, client, sophie, count_queries, monkeypatch
):
    def no_network(*args, **kwargs):
        raise AssertionError("the booking request opened a network connection")

    data = form(
        child_id(app, "Maxime"), "08:30", *address_ids(app, "Maison", "Collège Victor Hugo")
    )
    data["csrf_token"] = csrf_token(client, DAY_URL)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    with count_queries() as counted:
        response = client.post(DAY_URL, data=data)
    monkeypatch.undo()
    assert response.status_code == 302
    trip_id = int(response.headers["Location"].rsplit("#trajet-", 1)[1])
    inserts = [s for s in counted.statements if s.lstrip().upper().startswith("INSERT")]
    assert [s.split()[2].strip('"') for s in inserts] == ["trips", "outbox"]
    # The event adds one statement to the booking: its outbox row, in the trip's transaction.
    # What it carries (child, addresses, parent, insurer) comes from the choices the page
    # reads anyway. The others: identity, day's trips, choices, busy hours, slot check and
    # the trip; nothing is read back once the trip is saved (the message uses the form).
    assert counted.count == 7
    assert counted.statements[-2:] == inserts

    trip = trip_row(app, trip_id)
    (row,) = outbox_rows(app, "event")
    body = json.loads(row.payload)
    assert body["id"] == row.message_id
    assert body["type"] == "trajet.demande"
    assert body["occurred_at"] == "2026-05-18T10:00:00+02:00"
    assert body["data"] == {
        "trip": f"T-2026-{trip_id:06d}",
        "insurer": "demo",
        "member_number": "AB123456",
        "guarantee": "Conduite à l'école",
        "motive": "École",
        "date": "2026-05-21",
        "time": "08:30",
        "child": {
            "first_name": "Maxime",
            "last_name": "MARTIN",
            "birth_date": body["data"]["child"]["birth_date"],
        },
        "from": {
            "label": "Maison",
            "line1": "12 rue des Lilas",
            "line2": "",
            "postcode": "75011",
            "city": "Paris",
        },
        "to": {
            "label": "Collège Victor Hugo",
            "line1": "40 avenue Parmentier",
            "line2": "",
            "postcode": "75011",
            "city": "Paris",
        },
        "parent": {
            "first_name": "Sophie",
            "last_name": "MARTIN",
            "phone": "06 12 34 56 78",
            "email": SOPHIE,
        },
    }
    assert body["data"]["child"]["birth_date"].startswith("2014-")
    assert trip.number == f"T-2026-{trip_id:06d}"
    assert trip.status is TripStatus.REQUESTED
    page = text(client.get(f"/trajets/trajet/{trip_id}"))
    assert f"T-2026-{trip_id:06d}" in page and "Demandé" in page


def test_change_sends_the_whole_trip_again_and_cancellation_the_reason(app, client, sophie):
    trip_id = book(client, app)
    change = form(
        child_id(app, "Maxime"), "09:15", *address_ids(app, "Maison", "École Jules Ferry")
    )
    response = submit(
        client,
        f"/trajets/trajet/{trip_id}/modifier",
        {**change, "day": "2026-05-21"},
    )
    assert response.status_code == 302, text(response)
    response = submit(client, f"/trajets/trajet/{trip_id}/annuler", {})
    assert response.status_code == 302
    requested, changed, cancelled = event_bodies(app)
    assert [requested["type"], changed["type"], cancelled["type"]] == [
        "trajet.demande",
        "trajet.modifie",
        "trajet.annule",
    ]
    assert len({requested["id"], changed["id"], cancelled["id"]}) == 3
    assert changed["data"]["time"] == "09:15"
    assert changed["data"]["to"]["label"] == "École Jules Ferry"
    assert cancelled["data"]["trip"] == requested["data"]["trip"]
    assert cancelled["data"]["reason"] == "Annulé par le parent"
    assert changed["data"]["rearrange"] is True
    # The change told the trip from its form's choices, the cancellation read it back from
    # the database: both say the same.
    assert {key: value for key, value in cancelled["data"].items() if key != "reason"} == {
        key: value for key, value in changed["data"].items() if key != "rearrange"
    }
    assert trip_row(app, trip_id).status is TripStatus.CANCELLED
    listing = text(client.get("/trajets/mes-trajets"))
    cancelled_part = listing[listing.index("<h2>Annulés</h2>") :]
    assert "Annulé" in cancelled_part and "trip-status-annule" in cancelled_part


# --- Webhooks -----------------------------------------------------------------------------


def edit_address(client, address_id: int, label: str, kind: str, street: str, **more):
    data = {"label": label, "kind": kind, "street": street, "complement": "", **more}
    data.setdefault("postal_code", "75011")
    data.setdefault("city", "Paris")
    return submit(client, f"/adresses/{address_id}/modifier", data)


def confirm(app, trip_id: int) -> None:
    """The assistance confirmed the trip with a transporter."""
    with app.app_context():
        trip = db.session.get(Trip, trip_id)
        trip.status = TripStatus.CONFIRMED
        trip.transporter_name, trip.transporter_phone = "Taxi Bleu", "01 40 00 00 00"
        db.session.commit()


def test_a_corrected_address_sends_its_trips_again_with_the_new_place(app, client, sophie):
    """The transporter must go to the corrected place: every trip still changeable that
    uses it is sent whole again (`trajet.modifie`) and arranged anew (« Demandé »)."""
    first = book(client, app, hour="08:30")
    book(client, app, hour="16:30", origin="Collège Victor Hugo", to="Maison")
    confirm(app, first)
    response = edit_address(client, sophie["Maison"], "Maison", "domicile", "7 rue des Roses")
    assert response.status_code == 302, text(response)
    requested_first, requested_second, *changed = event_bodies(app)
    assert [body["type"] for body in changed] == ["trajet.modifie", "trajet.modifie"]
    by_trip = {body["data"]["trip"]: body["data"] for body in changed}
    assert by_trip[requested_first["data"]["trip"]]["from"]["line1"] == "7 rue des Roses"
    assert by_trip[requested_second["data"]["trip"]]["to"]["line1"] == "7 rue des Roses"
    # Only the place changed in what the transporter reads.
    again = by_trip[requested_first["data"]["trip"]]
    assert again.pop("rearrange") is True
    assert {**again, "from": requested_first["data"]["from"]} == requested_first["data"]
    trip = trip_row(app, first)
    assert trip.status is TripStatus.REQUESTED and trip.transporter_name is None
    page = text(client.get(response.headers["Location"]))
    assert (
        "Les 2 trajets à venir qui utilisent cette adresse sont envoyés de nouveau à "
        "l&#39;assistance, avec l&#39;adresse modifiée : ils repassent à l&#39;état « Demandé »."
    ) in page


def test_a_renamed_address_sends_nothing_and_keeps_the_confirmation(app, client, sophie):
    """The label or the kind alone is not where the transporter goes."""
    trip_id = book(client, app)
    confirm(app, trip_id)
    response = edit_address(client, sophie["Maison"], "Appartement", "autre", "12 rue des Lilas")
    assert response.status_code == 302, text(response)
    assert [body["type"] for body in event_bodies(app)] == ["trajet.demande"]
    assert trip_row(app, trip_id).status is TripStatus.CONFIRMED
    assert "envoyé de nouveau" not in text(client.get(response.headers["Location"]))


def test_a_corrected_address_leaves_locked_trips_as_sent(app, client, auth, sophie, frozen_clock):
    """A trip less than 48 h ahead keeps the place the transporter has: no event for it."""
    trip_id = book(client, app)  # Thursday 21 May at 8:30
    frozen_clock.move_to(NOW + timedelta(days=2), tick=False)  # Wednesday 10:00: locked
    auth.login()  # the session ended after 30 idle minutes
    response = edit_address(client, sophie["Maison"], "Maison", "domicile", "7 rue des Roses")
    assert response.status_code == 302, text(response)
    assert [body["type"] for body in event_bodies(app)] == ["trajet.demande"]
    assert trip_row(app, trip_id).from_address_id == sophie["Maison"]


def edit_contact(client, phone: str, email: str = SOPHIE, password: str = ""):
    data = {"email": email, "phone": phone, "current_password": password}
    return submit(client, "/mon-espace/modifier", data)


def test_a_new_phone_reaches_the_assistance_with_the_trips_to_come(app, client, sophie):
    """The transporter calls the parent: every trip still changeable is sent whole again
    with the new phone. Where and when it goes is unchanged: a confirmed trip keeps its
    status and its transporter."""
    first, second = book(client, app, hour="08:30"), book(client, app, hour="16:30")
    confirm(app, first)
    assert "vos trajets prévus dans plus de 48 heures" in " ".join(
        text(client.get("/mon-espace/modifier")).split()
    )
    response = edit_contact(client, "07.98.76.54.32")
    assert response.status_code == 302, text(response)
    *requested, again_first, again_second = event_bodies(app)
    assert [body["type"] for body in (again_first, again_second)] == ["trajet.modifie"] * 2
    for before, after in zip(requested, (again_first, again_second), strict=True):
        # Only the parent's details: the assistance keeps the transporter it arranged.
        assert after["data"].pop("rearrange") is False
        assert after["data"]["parent"]["phone"] == "07 98 76 54 32"
        parent = {**after["data"]["parent"], "phone": "06 12 34 56 78"}
        assert {**after["data"], "parent": parent} == before["data"]
    trip = trip_row(app, first)
    assert trip.status is TripStatus.CONFIRMED and trip.transporter_name == "Taxi Bleu"
    assert trip_row(app, second).status is TripStatus.REQUESTED
    page = text(client.get(response.headers["Location"]))
    assert (
        "Les 2 trajets prévus dans plus de 48 heures sont envoyés de nouveau à l&#39;assistance "
        "avec vos nouvelles coordonnées."
    ) in page


def test_the_same_phone_written_otherwise_sends_nothing(app, client, sophie):
    book(client, app)
    response = edit_contact(client, "+33 6 12 34 56 78")
    assert response.status_code == 302, text(response)
    assert [body["type"] for body in event_bodies(app)] == ["trajet.demande"]
    assert "envoyé de nouveau" not in text(client.get(response.headers["Location"]))


def test_a_confirmed_new_email_reaches_the_assistance_with_the_trips_to_come(
    app, client, sophie, mailbox
):
    """The address is sent once confirmed, not when it is typed: until then it is not the
    parent's."""
    book(client, app)
    response = edit_contact(
        client, "06 12 34 56 78", "sophie.nouvelle@example.fr", DEFAULT_PASSWORD
    )
    assert response.status_code == 302, text(response)
    assert [body["type"] for body in event_bodies(app)] == ["trajet.demande"]
    link = mailbox.links(mailbox.last("sophie.nouvelle@example.fr"))[0]
    response = submit(client, link.removeprefix("http://portail.test"))
    assert response.status_code == 302
    requested, again = event_bodies(app)
    assert again["type"] == "trajet.modifie"
    assert again["data"]["parent"]["email"] == "sophie.nouvelle@example.fr"
    assert again["data"]["rearrange"] is False
    page = text(client.get(response.headers["Location"]))
    assert (
        "1 trajet prévu dans plus de 48 heures est envoyé de nouveau à l&#39;assistance avec "
        "vos nouvelles coordonnées."
    ) in page


def test_a_new_phone_leaves_locked_trips_as_sent_and_says_whom_to_call(
    app, client, auth, sophie, frozen_clock
):
    """A trip less than 48 h ahead is the transporter's already: no event, and the parent
    is told to call the assistance."""
    book(client, app)  # Thursday 21 May at 8:30
    frozen_clock.move_to(NOW + timedelta(days=2), tick=False)  # Wednesday 10:00: locked
    auth.login()  # the session ended after 30 idle minutes
    response = edit_contact(client, "07 98 76 54 32")
    assert response.status_code == 302, text(response)
    assert [body["type"] for body in event_bodies(app)] == ["trajet.demande"]
    page = text(client.get(response.headers["Location"]))
    assert (
        "1 trajet déjà transmis au transporteur garde vos anciennes coordonnées : si besoin, "
        "contactez l&#39;assistance au 01 23 45 67 89."
    ) in page


def test_a_new_phone_sends_the_trips_still_changeable_and_names_the_locked_ones(
    app, client, auth, sophie, frozen_clock
):
    book(client, app, hour="08:30")  # Thursday 21 May
    changeable = book(client, app, hour="16:30")
    frozen_clock.move_to(NOW + timedelta(days=1, hours=2), tick=False)  # Tuesday 12:00
    auth.login()  # the session ended after 30 idle minutes
    response = edit_contact(client, "07 98 76 54 32")
    assert response.status_code == 302, text(response)
    _, _, changed = event_bodies(app)
    assert changed["type"] == "trajet.modifie"
    assert changed["data"]["trip"] == trip_row(app, changeable).number
    page = " ".join(text(client.get(response.headers["Location"])).split())
    assert (
        "1 trajet prévu dans plus de 48 heures est envoyé de nouveau à l&#39;assistance avec "
        "vos nouvelles coordonnées."
    ) in page
    assert (
        "1 trajet déjà transmis au transporteur garde vos anciennes coordonnées : si besoin, "
        "contactez l&#39;assistance au 01 23 45 67 89."
    ) in page


def test_a_trip_cancelled_during_a_phone_change_is_not_sent_again(
    app, client, sophie, database_url
):
    """The trips are locked before they are read: one the parent cancels in another tab
    meanwhile is left cancelled, not told of the new phone."""
    trip_id = book(client, app)
    cancellation = (
        sa.update(Trip)
        .where(Trip.id == trip_id)
        .values(cancelled_at=datetime(2026, 5, 18, 8, 0), status=TripStatus.CANCELLED)
    )
    with another_tab_writing(database_url, cancellation):
        response = edit_contact(client, "07 98 76 54 32")
    assert response.status_code == 302
    assert [body["type"] for body in event_bodies(app)] == ["trajet.demande"]


def test_deleting_the_account_cancels_its_trips_to_come_with_the_assistance(app, client, sophie):
    """The trips go with the account: the assistance is told of each (`trajet.annule`),
    after its request, and the events outlive the trips."""
    first, second = book(client, app, hour="08:30"), book(client, app, hour="16:30")
    page = text(client.get("/mon-espace/supprimer"))
    assert "vos trajets à venir seront annulés auprès de l'assistance" in " ".join(page.split())
    response = submit(client, "/mon-espace/supprimer", {"password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    bodies = event_bodies(app)
    assert [body["type"] for body in bodies] == [
        "trajet.demande",
        "trajet.demande",
        "trajet.annule",
        "trajet.annule",
    ]
    assert [body["data"]["trip"] for body in bodies[2:]] == [
        body["data"]["trip"] for body in bodies[:2]
    ]
    assert {body["data"]["reason"] for body in bodies[2:]} == {"Annulé par le parent"}
    with app.app_context():
        assert db.session.get(Trip, first) is None and db.session.get(Trip, second) is None
        trip_ids = db.session.scalars(sa.select(OutboxMessage.trip_id)).all()
    assert sorted(trip_ids) == sorted([first, second, first, second])


@contextmanager
def another_tab_writing(database_url: str, statement):
    """Another tab's (or the assistance's) transaction: `statement` written but committed
    only half a second after the block starts, while this test's request runs. PostgreSQL
    only: SQLite has one writer at a time."""
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks need PostgreSQL (TEST_DATABASE_URL)")
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as other:
            other.execute(statement)
            committing = threading.Timer(0.5, other.commit)
            committing.start()
            yield
            committing.join()
    finally:
        engine.dispose()


def another_tabs_booking(app, sophie):
    """The statement of a booking made in another tab: Maxime on Friday 22 May at 8:30."""
    with app.app_context():
        account = db.session.scalar(sa.select(Account.id))
    return sa.insert(Trip).values(
        account_id=account,
        child_id=child_id(app, "Maxime"),
        trip_date=date(2026, 5, 22),
        trip_time=time(8, 30),
        from_address_id=sophie["Maison"],
        to_address_id=sophie["Collège Victor Hugo"],
        purpose=TripPurpose.SCHOOL,
        status=TripStatus.REQUESTED,
        created_at=datetime(2026, 5, 18, 8, 0),
        status_changed_at=datetime(2026, 5, 18, 8, 0),
    )


def test_a_trip_booked_in_another_tab_during_the_deletion_is_cancelled_too(
    app, client, sophie, database_url
):
    """Another tab's booking has written its trip but not committed when the deletion
    starts: the deletion waits for it (the account's row is locked first), then cancels it
    with the others, instead of erasing it unannounced."""
    with another_tab_writing(database_url, another_tabs_booking(app, sophie)):
        response = submit(client, "/mon-espace/supprimer", {"password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert [body["type"] for body in event_bodies(app)] == ["trajet.annule"]


def test_a_trip_booked_in_another_tab_during_a_phone_change_gets_the_new_phone(
    app, client, sophie, database_url
):
    """The phone change waits for the booking that names the account (its row is locked
    first), then tells the assistance of that trip too."""
    with another_tab_writing(database_url, another_tabs_booking(app, sophie)):
        response = edit_contact(client, "07 98 76 54 32")
    assert response.status_code == 302
    (changed,) = event_bodies(app)
    assert changed["type"] == "trajet.modifie"
    assert changed["data"]["date"] == "2026-05-22"
    assert changed["data"]["parent"]["phone"] == "07 98 76 54 32"


def test_a_trip_cancelled_during_an_address_change_is_not_sent_again(
    app, client, sophie, database_url
):
    """The parent cancels a trip in another tab while correcting its address: the address
    change waits for the cancellation (the trips' rows are locked), then leaves the trip
    cancelled, rather than making it « Demandé » again with a trajet.modifie."""
    trip_id = book(client, app)
    cancellation = (
        sa.update(Trip)
        .where(Trip.id == trip_id)
        .values(cancelled_at=datetime(2026, 5, 18, 8, 0), status=TripStatus.CANCELLED)
    )
    with another_tab_writing(database_url, cancellation):
        response = edit_address(client, sophie["Maison"], "Maison", "domicile", "7 rue des Roses")
    assert response.status_code == 302
    assert [body["type"] for body in event_bodies(app)] == ["trajet.demande"]
    assert trip_row(app, trip_id).status is TripStatus.CANCELLED


def test_a_change_racing_the_assistances_cancellation_waits_and_is_refused(
    app, client, sophie, database_url
):
    """The assistance's cancellation has written the trip but not committed when the parent
    sends a change: the change waits for the trip's row (locked), then finds it cancelled
    (409), instead of making it « Demandé » again and sending a trajet.modifie."""
    trip_id = book(client, app)
    change = form(
        child_id(app, "Maxime"), "09:15", *address_ids(app, "Maison", "Collège Victor Hugo")
    )
    token = csrf_token(client, f"/trajets/trajet/{trip_id}/modifier")
    cancellation = (
        sa.update(Trip)
        .where(Trip.id == trip_id)
        .values(
            cancelled_at=datetime(2026, 5, 18, 8, 0),
            status=TripStatus.CANCELLED_BY_ASSISTANCE,
            status_reason="Route barrée",
        )
    )
    with another_tab_writing(database_url, cancellation):
        response = client.post(
            f"/trajets/trajet/{trip_id}/modifier",
            data={**change, "day": "2026-05-21", "csrf_token": token},
        )
    assert response.status_code == 409
    assert [body["type"] for body in event_bodies(app)] == ["trajet.demande"]
    assert trip_row(app, trip_id).status is TripStatus.CANCELLED_BY_ASSISTANCE


def test_an_account_whose_trip_was_sent_to_the_transporter_waits_for_the_assistance(
    app, client, auth, sophie, frozen_clock
):
    """Less than 48 h ahead, a trip is the assistance's to cancel: the account cannot go
    before, and the page says whom to call."""
    book(client, app)  # Thursday 21 May at 8:30
    frozen_clock.move_to(NOW + timedelta(days=2), tick=False)  # Wednesday 10:00: locked
    auth.login()  # the session ended after 30 idle minutes
    page = " ".join(text(client.get("/mon-espace/supprimer")).split())
    assert (
        "Un trajet prévu dans moins de 48 heures a déjà été transmis au transporteur : pour "
        "l'annuler, contactez l'assistance au"
    ) in page
    assert "Vous pourrez ensuite supprimer votre compte." in page
    assert 'name="password"' not in page
    token = csrf_token(client, "/mon-espace")
    response = client.post(
        "/mon-espace/supprimer", data={"csrf_token": token, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Account.id))) == 1
    assert [body["type"] for body in event_bodies(app)] == ["trajet.demande"]


def test_a_trip_booked_in_the_first_hour_of_the_year_in_paris_carries_that_year(
    app, client, sophie
):
    """The number's year is the booking's year in Paris: 00:30 on 1 January 2027 in Paris is
    still 2026 in UTC, as the trip's creation is stored. The assistance's lookup by number
    agrees."""
    trip_id = book(client, app)
    with app.app_context():
        trip = db.session.get(Trip, trip_id)
        trip.created_at = datetime(2026, 12, 31, 23, 30)  # UTC: 00:30 in Paris
        db.session.commit()
        assert trip.number == f"T-2027-{trip_id:06d}"
        assert find_trip(f"T-2027-{trip_id:06d}") == trip
        assert find_trip(f"T-2026-{trip_id:06d}") is None
        assert trip_number(trip_id, datetime(2026, 6, 30, 22, 30)) == f"T-2026-{trip_id:06d}"


def test_signature_matches_the_specification_test_vector():
    """The example of the Standard Webhooks specification, signed by our channel."""
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    sent_at = datetime.fromtimestamp(1614265330, UTC)
    headers = signature_headers(
        secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", sent_at, '{"test": 2432232314}'
    )
    assert headers == {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }


def test_a_delivered_request_makes_the_trip_transmis_for_the_parent(app, client, sophie, receiver):
    trip_id = book(client, app)
    assert deliver_outbox(app).delivered == 1
    (delivery,) = receiver.accepted
    assert receiver.bad_signatures == 0
    assert delivery.event["type"] == "trajet.demande"
    assert delivery.message_id == delivery.event["id"]
    assert delivery.timestamp == str(int(NOW.timestamp()))
    assert trip_row(app, trip_id).status is TripStatus.SENT
    assert "Transmis" in text(client.get(f"/trajets/trajet/{trip_id}"))
    assert "Transmis" in text(client.get(DAY_URL))
    assert "Transmis" in text(client.get("/trajets/mes-trajets"))


def test_a_trip_is_transmis_only_once_its_latest_version_is_delivered(
    app, client, sophie, receiver, frozen_clock
):
    """The parent changed the trip while its request was on its way: the request arrives,
    the change fails; the assistance does not have the trip as it is, so it stays
    « Demandé » until the change arrives too."""
    trip_id = book(client, app)
    change = form(
        child_id(app, "Maxime"), "09:15", *address_ids(app, "Maison", "Collège Victor Hugo")
    )
    response = submit(
        client, f"/trajets/trajet/{trip_id}/modifier", {**change, "day": "2026-05-21"}
    )
    assert response.status_code == 302, text(response)
    receiver.answer = lambda event: 200 if event["type"] == "trajet.demande" else 500
    tally = deliver_outbox(app)
    assert (tally.delivered, tally.failed) == (1, 1)
    assert trip_row(app, trip_id).status is TripStatus.REQUESTED
    receiver.answer = lambda event: 200
    frozen_clock.move_to(NOW + timedelta(minutes=2), tick=False)
    assert deliver_outbox(app).delivered == 1
    assert trip_row(app, trip_id).status is TripStatus.SENT


def test_a_delivery_that_outlives_its_lease_does_not_overwrite_the_next_workers(
    make_app, app, client, sophie, receiver, time_machine
):
    """The first worker's delivery hangs past its 1 s lease; a second worker takes the row
    again and delivers it. The first one's late failure must not be written over that."""
    time_machine.move_to(NOW, tick=True)
    short = make_app(OUTBOX_LEASE_SECONDS=1)
    book(client, app)
    second_done, calls = threading.Event(), []

    def answer(event):
        calls.append(event["id"])
        if len(calls) == 1:  # the first worker's: answered once the second one is done
            second_done.wait(10)
            return 500
        return 200

    receiver.answer = answer
    first = threading.Thread(target=deliver_outbox, args=(short,))
    first.start()
    first.join(timeout=1.5)  # the lease is over
    assert deliver_outbox(short).delivered == 1
    second_done.set()
    first.join()
    (row,) = outbox_rows(app, "event")
    assert row.delivered_at is not None
    assert row.last_error is None and row.attempts == 1 and row.dead_at is None


def test_500_three_times_then_200_is_delivered_once_after_four_attempts(
    app, client, sophie, receiver, frozen_clock
):
    answers = iter([500, 500, 500, 200, 200])
    receiver.answer = lambda event: next(answers)
    book(client, app)
    for wait in (0, 1, 2, 4):  # minutes: the backoff after each failure
        frozen_clock.shift(timedelta(minutes=wait))
        deliver_outbox(app)
    frozen_clock.shift(timedelta(hours=2))
    assert deliver_outbox(app).delivered == 0
    (row,) = outbox_rows(app, "event")
    assert row.attempts == 4 and row.delivered_at is not None
    assert len(receiver.refused) == 3
    assert receiver.ids() == [row.message_id]  # accepted once
    # Every try carried the same id, each signed anew and checked by the receiver.
    assert {d.message_id for d in receiver.refused} == {row.message_id}
    assert receiver.bad_signatures == 0


def test_receiver_down_loses_nothing_and_everything_arrives_once_it_is_up(
    app, client, sophie, receiver, frozen_clock
):
    receiver.serving.stop()
    first = book(client, app)
    second = book(client, app, child="Franck", hour="09:30", to="École Jules Ferry")
    tally = deliver_outbox(app)
    assert (tally.delivered, tally.failed) == (0, 2)
    assert all("injoignable" in row.last_error for row in outbox_rows(app, "event"))
    receiver.serving.start()
    frozen_clock.shift(timedelta(minutes=1))
    assert deliver_outbox(app).delivered == 2
    trips = sorted(event["data"]["trip"] for event in receiver.events())
    assert trips == sorted(trip_row(app, t).number for t in (first, second))
    frozen_clock.shift(timedelta(hours=3))
    deliver_outbox(app)
    assert len(receiver.accepted) == 2


def test_a_trips_events_keep_their_order_while_other_trips_go_through(
    app, client, sophie, receiver, frozen_clock
):
    refused_once = []

    def answer(event):
        # The assistance refuses Maxime's request the first time it sees it.
        if (
            event["type"] == "trajet.demande"
            and event["data"]["child"]["first_name"] == ("Maxime")
            and not refused_once
        ):
            refused_once.append(event["id"])
            return 503
        return 200

    receiver.answer = answer
    maxime = book(client, app)
    assert deliver_outbox(app).failed == 1
    # Meanwhile Sophie cancels Maxime's trip and books one for Franck.
    assert submit(client, f"/trajets/trajet/{maxime}/annuler", {}).status_code == 302
    book(client, app, child="Franck", hour="09:30", to="École Jules Ferry")
    tally = deliver_outbox(app)
    assert tally.delivered == 1  # Franck's request went at once; the cancellation waits
    assert [e["data"]["child"]["first_name"] for e in receiver.events()] == ["Franck"]
    frozen_clock.shift(timedelta(minutes=1))
    # The request, retried; then, in a following batch, the cancellation it held back.
    assert deliver_outbox(app).delivered == 2
    maxime_events = [e for e in receiver.events() if e["data"]["child"]["first_name"] == "Maxime"]
    assert [e["type"] for e in maxime_events] == ["trajet.demande", "trajet.annule"]
    assert maxime_events[0]["id"] == refused_once[0]
    # A cancelled trip stays « Annulé » when its request is delivered afterwards.
    assert trip_row(app, maxime).status is TripStatus.CANCELLED


def test_a_wrong_secret_is_refused_by_the_receiver_and_retried(app, client, sophie, receiver):
    with app.app_context():
        insurer = db.session.scalar(sa.select(Insurer).where(Insurer.slug == "demo"))
        insurer.flow_secret = (
            "whsec_" + base64.b64encode(b"another secret of 32 bytes......").decode()
        )
        db.session.commit()
    book(client, app)
    assert deliver_outbox(app).failed == 1
    assert receiver.bad_signatures == 1 and receiver.accepted == []
    (row,) = outbox_rows(app, "event")
    assert row.last_error == "webhook : réponse HTTP 401"


def test_an_insurer_without_a_channel_keeps_its_events_waiting(app, client, sophie, frozen_clock):
    """However long: they are not given up after a day like a failing delivery."""
    book(client, app)
    assert deliver_outbox(app).failed == 1
    frozen_clock.move_to(NOW + timedelta(days=3), tick=False)
    assert deliver_outbox(app).failed == 1
    (row,) = outbox_rows(app, "event")
    assert row.delivered_at is None and row.dead_at is None and row.attempts == 2
    assert "aucun canal" in row.last_error


# --- Folder -------------------------------------------------------------------------------


def test_folder_channel_writes_one_json_file_per_event_atomically(
    app, client, sophie, runner, tmp_path
):
    drop = tmp_path / "sftp" / "demo"
    result = runner.invoke(args=["insurer", "set", "demo", "--flow-folder", str(drop)])
    assert result.exit_code == 0, result.output
    assert f"Flux des trajets : dossier {drop}" in result.output
    trip_id = book(client, app)
    submit(client, f"/trajets/trajet/{trip_id}/annuler", {})
    assert deliver_outbox(app).delivered == 2  # the request, then its cancellation
    requested, cancelled = outbox_rows(app, "event")
    files = sorted(path.name for path in drop.iterdir())
    assert files == sorted(
        f"20260518T100000+0200-{row.message_id}.json" for row in (requested, cancelled)
    )
    written = json.loads((drop / f"20260518T100000+0200-{cancelled.message_id}.json").read_text())
    assert written == json.loads(cancelled.payload)
    # No temporary file is left behind.
    assert not [path for path in drop.iterdir() if path.name.startswith(".")]


def test_folder_that_cannot_be_written_keeps_the_event(app, client, sophie, tmp_path):
    blocker = tmp_path / "un-fichier"
    blocker.write_text("pas un dossier")
    with app.app_context():
        insurer = db.session.scalar(sa.select(Insurer).where(Insurer.slug == "demo"))
        insurer.flow_channel, insurer.flow_target = "folder", str(blocker / "sous-dossier")
        db.session.commit()
    book(client, app)
    assert deliver_outbox(app).failed == 1
    (row,) = outbox_rows(app, "event")
    assert row.last_error.startswith("dossier ")


# --- Insurer settings ----------------------------------------------------------------------


def test_webhook_secret_is_printed_once_and_rotated_on_demand(app, demo, runner):
    result = runner.invoke(
        args=["insurer", "set", "demo", "--flow-webhook", "https://assistance.example/hooks"]
    )
    assert result.exit_code == 0, result.output
    assert "Flux des trajets : webhook signé https://assistance.example/hooks" in result.output
    secret = result.output.split("l'assistance) : ")[1].split()[0]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    with app.app_context():
        insurer = db.session.scalar(sa.select(Insurer).where(Insurer.slug == "demo"))
        assert insurer.flow_secret == secret
    # Shown never again: not by `show`, not when the URL changes.
    assert secret not in runner.invoke(args=["insurer", "show", "demo"]).output
    moved = runner.invoke(args=["insurer", "set", "demo", "--flow-webhook", "http://127.0.0.1:9/x"])
    assert moved.exit_code == 0 and "whsec_" not in moved.output
    rotated = runner.invoke(args=["insurer", "set", "demo", "--rotate-flow-secret"])
    assert rotated.exit_code == 0
    new_secret = rotated.output.split("l'assistance) : ")[1].split()[0]
    assert new_secret.startswith("whsec_") and new_secret != secret


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--flow-webhook", "ftp://assistance.example/x"],
            "doit commencer par https://",
        ),
        (["--flow-webhook", "javascript:alert(1)"], "doit commencer par https://"),
        (["--flow-webhook", "https://"], "doit commencer par https://"),
        # Events name a child and its addresses: no plain http across a network.
        (["--flow-webhook", "http://assistance.example/x"], "http:// seulement sur cette machine"),
        (["--flow-webhook", "https://a.example", "--flow-folder", "/tmp/x"], "Choisissez entre"),
        (["--rotate-flow-secret"], "ne sert qu'à une mutuelle livrée par webhook"),
    ],
)
def test_bad_flow_settings_are_refused_in_french_and_change_nothing(
    app, demo, runner, args, message
):
    result = runner.invoke(args=["insurer", "set", "demo", *args])
    assert result.exit_code == 1
    assert "Modification refusée : rien n'a été changé." in result.output
    assert message in result.output
    with app.app_context():
        insurer = db.session.scalar(sa.select(Insurer).where(Insurer.slug == "demo"))
        assert (insurer.flow_channel, insurer.flow_target, insurer.flow_secret) == (None,) * 3


def test_a_plain_http_webhook_set_before_the_https_rule_gets_no_new_secret(app, demo, runner):
    """An insurer set with http:// across a network before the rule: rotating its secret
    would not make it safe, so it is refused until an https address is set."""
    with app.app_context():
        insurer = db.session.scalar(sa.select(Insurer).where(Insurer.slug == "demo"))
        insurer.flow_channel, insurer.flow_target = "webhook", "http://assistance.example/x"
        insurer.flow_secret = "whsec_ancien"
        db.session.commit()
    result = runner.invoke(args=["insurer", "set", "demo", "--rotate-flow-secret"])
    assert result.exit_code == 1
    assert "doit commencer par https://" in result.output
    with app.app_context():
        insurer = db.session.scalar(sa.select(Insurer).where(Insurer.slug == "demo"))
        assert insurer.flow_secret == "whsec_ancien"


def test_events_wait_rather_than_go_to_a_plain_http_webhook_set_before_the_rule(
    app, client, sophie, runner, frozen_clock
):
    """Nothing naming a child crosses a network in clear: the event waits, without a try
    and however long, and `insurer show` says why."""
    book(client, app)
    with app.app_context():
        insurer = db.session.scalar(sa.select(Insurer).where(Insurer.slug == "demo"))
        insurer.flow_channel, insurer.flow_target = "webhook", "http://assistance.example/x"
        insurer.flow_secret = "whsec_ancien"
        db.session.commit()
    assert deliver_outbox(app).failed == 1
    frozen_clock.move_to(NOW + timedelta(days=3), tick=False)
    assert deliver_outbox(app).failed == 1
    (row,) = outbox_rows(app, "event")
    assert row.delivered_at is None and row.dead_at is None and row.attempts == 2
    assert "n'est pas en https : rien n'est envoyé en clair" in row.last_error
    shown = runner.invoke(args=["insurer", "show", "demo"]).output
    assert "Attention : ce webhook n'est pas en https" in shown


def test_folder_that_is_a_file_is_refused(app, demo, runner, tmp_path):
    target = tmp_path / "fichier.txt"
    target.write_text("x")
    result = runner.invoke(args=["insurer", "set", "demo", "--flow-folder", str(target)])
    assert result.exit_code == 1
    assert "n'est pas un dossier utilisable : c'est un fichier" in result.output


def test_demo_setup_drops_the_demo_events_in_a_folder(app, runner, tmp_path):
    from app.demo import load_demo

    with app.app_context():
        insurer = load_demo(NOW.date(), flow_folder=tmp_path / "flux-demo")
        assert (insurer.flow_channel, insurer.flow_target) == (
            "folder",
            str((tmp_path / "flux-demo").resolve()),
        )


def test_outbox_rows_of_events_name_their_trip(app, client, sophie):
    trip_id = book(client, app)
    with app.app_context():
        row = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "event"))
        assert (row.trip_id, row.event_type) == (trip_id, "trajet.demande")
        assert row.summary == f"trajet.demande T-2026-{trip_id:06d} pour demo"
