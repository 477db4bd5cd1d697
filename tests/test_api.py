"""The assistance's API: statuses back with bearer tokens; what the parent sees and reads."""

import hashlib
import json
from datetime import datetime

import pytest
import sqlalchemy as sa

from app.clock import PARIS
from app.extensions import db
from app.models import ApiToken, Trip, TripStatus
from app.roster.insurers import create_insurer
from tests.conftest import submit
from tests.flow_helpers import outbox_rows
from tests.test_flow import address_ids, another_tab_writing, book, trip_row
from tests.test_trips import NOW, add_addresses, child_id, form, text

SOPHIE = "sophie.martin@example.fr"
TAXI = {"name": "Taxi Bellecour", "phone": "04 78 12 34 56"}


@pytest.fixture(autouse=True)
def frozen_clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def sophie(app, auth):
    auth.sophie()
    return add_addresses(app)


def new_token(runner, slug="demo") -> str:
    result = runner.invoke(args=["insurer", "token", slug])
    assert result.exit_code == 0, result.output
    return result.output.splitlines()[1]


@pytest.fixture
def token(runner, demo) -> str:
    return new_token(runner)


@pytest.fixture
def trip(app, client, sophie) -> Trip:
    return trip_row(app, book(client, app))


def post_status(client, number, body, token=None, **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(f"/api/v1/trajets/{number}/statut", json=body, headers=headers, **kwargs)


def emails_of_trips(app) -> list[dict]:
    return [
        json.loads(row.payload)
        for row in outbox_rows(app, "email")
        if json.loads(row.payload)["subject"].startswith("Trajet ")
    ]


def test_token_is_printed_once_and_stored_hashed(app, runner, demo):
    token = new_token(runner)
    assert token.startswith("cart_") and len(token) > 40
    with app.app_context():
        row = db.session.scalar(sa.select(ApiToken))
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert row.prefix == token[:13]
    second = new_token(runner)
    assert second != token
    result = runner.invoke(args=["insurer", "token", "demo"])
    assert f"{token[:13]}…" in result.output and f"{second[:13]}…" in result.output


def test_confirmation_shows_the_transporter_to_the_parent_and_emails_her(
    app, client, trip, token, mailbox
):
    response = post_status(client, trip.number, {"status": "confirme", "transporter": TAXI}, token)
    assert response.status_code == 200
    assert response.get_json() == {
        "trip": trip.number,
        "status": "confirme",
        "status_label": "Confirmé",
        "date": "2026-05-21",
        "time": "08:30",
        "transporter": TAXI,
        "reason": None,
    }
    # No session and no cookie on the API.
    assert "Set-Cookie" not in response.headers
    for url in (f"/trajets/trajet/{trip.id}", "/trajets/2026-05-21", "/trajets/mes-trajets"):
        page = text(client.get(url))
        assert "Confirmé" in page, url
        assert "Taxi Bellecour" in page and "04 78 12 34 56" in page, url
    message = mailbox.last(SOPHIE)
    assert message["Subject"] == f"Trajet {trip.number} confirmé"
    body = mailbox.text(message)
    assert "Taxi Bellecour" in body and "04 78 12 34 56" in body
    assert f"http://portail.test/trajets/trajet/{trip.id}" in body

    # The same status again changes nothing and sends no second e-mail.
    again = post_status(client, trip.number, {"status": "confirme", "transporter": TAXI}, token)
    assert again.status_code == 200 and again.get_json() == response.get_json()
    assert len(emails_of_trips(app)) == 1
    assert len(mailbox.to(SOPHIE)) == 1


def test_cancellation_by_the_assistance_shows_the_reason_and_its_phone(
    app, client, trip, token, mailbox
):
    reason = "Aucun transporteur disponible ce jour-là."
    response = post_status(client, trip.number, {"status": "annule", "reason": reason}, token)
    assert response.status_code == 200
    assert response.get_json()["status"] == "annule_assistance"
    saved = trip_row(app, trip.id)
    assert saved.status is TripStatus.CANCELLED_BY_ASSISTANCE
    assert saved.cancelled_at is not None  # Maxime's 8:30 is free again
    for url in (f"/trajets/trajet/{trip.id}", "/trajets/mes-trajets"):
        page = text(client.get(url)).replace("&#39;", "'")
        assert "Annulé par l'assistance" in page, url
        assert reason.replace("'", "'") in page and "01 23 45 67 89" in page, url
    message = mailbox.last(SOPHIE)
    assert message["Subject"] == f"Trajet {trip.number} annulé par l'assistance"
    assert reason in mailbox.text(message) and "01 23 45 67 89" in mailbox.text(message)
    # Repeated: nothing changes; another status for a cancelled trip is refused.
    assert (
        post_status(client, trip.number, {"status": "annule", "reason": reason}, token).status_code
        == 200
    )
    refused = post_status(client, trip.number, {"status": "realise"}, token)
    assert refused.status_code == 409
    assert "Annulé par l'assistance" in refused.get_json()["error"]
    assert len(emails_of_trips(app)) == 1


def test_done_only_once_the_trip_has_started_then_listed_as_realise(
    app, client, auth, trip, token, frozen_clock
):
    early = post_status(client, trip.number, {"status": "realise"}, token)
    assert early.status_code == 409
    assert early.get_json()["error"] == (
        "Ce trajet n'a pas encore eu lieu (le 21/05/2026 à 8h30) : il ne peut pas encore "
        "être « Réalisé »."
    )
    assert trip_row(app, trip.id).status is TripStatus.REQUESTED
    frozen_clock.move_to(datetime(2026, 5, 21, 8, 30, tzinfo=PARIS), tick=False)
    response = post_status(client, trip.number, {"status": "realise"}, token)
    assert response.status_code == 200 and response.get_json()["status_label"] == "Réalisé"
    auth.login()  # the session ended after 30 idle minutes
    assert "Réalisé" in text(client.get(f"/trajets/trajet/{trip.id}"))


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({"status": "annule", "reason": "Route\x00barrée"}, "reason"),
        ({"status": "annule", "reason": "Route \ud800 barrée"}, "reason"),  # lone surrogate
        (
            {"status": "confirme", "transporter": {**TAXI, "name": "Taxi\x7fBleu"}},
            "transporter.name",
        ),
    ],
)
def test_invalid_characters_in_a_text_are_a_field_error_not_a_500(
    app, client, trip, token, body, key
):
    response = post_status(client, trip.number, body, token)
    assert response.status_code == 422
    assert response.get_json()["fields"] == {key: "Ce champ contient des caractères non valides."}
    assert trip_row(app, trip.id).status is TripStatus.REQUESTED


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer cart_not-a-token"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer "},
    ],
)
def test_without_a_valid_token_the_answer_is_401(app, client, trip, headers):
    response = client.post(
        f"/api/v1/trajets/{trip.number}/statut",
        json={"status": "confirme", "transporter": TAXI},
        headers=headers,
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Jeton d'accès absent ou invalide" in response.get_json()["error"]
    assert trip_row(app, trip.id).status is TripStatus.REQUESTED


def test_a_revoked_token_no_longer_works(app, client, trip, token, runner):
    result = runner.invoke(args=["insurer", "token", "demo", "--revoke", token[:13]])
    assert result.exit_code == 0 and "révoqué" in result.output
    assert post_status(client, trip.number, {"status": "realise"}, token).status_code == 401
    unknown = runner.invoke(args=["insurer", "token", "demo", "--revoke", "cart_nothing"])
    assert unknown.exit_code == 1 and "Aucun jeton" in unknown.output


def test_another_insurers_token_and_unknown_trips_get_404(app, client, trip, token, runner):
    with app.app_context():
        create_insurer(db.session, "autre", "Autre Mutuelle")
    other = new_token(runner, "autre")
    response = post_status(client, trip.number, {"status": "realise"}, other)
    assert response.status_code == 404
    assert response.get_json() == {"error": "Aucun trajet de votre mutuelle ne porte ce numéro."}
    assert trip_row(app, trip.id).status is TripStatus.REQUESTED
    # A trip that does not exist, a number of the wrong year, and a malformed one.
    missing = trip.number[:-6] + f"{trip.id + 1000:06d}"
    wrong_year = "T-2025-" + trip.number[-6:]
    for number in (missing, wrong_year, "T-2026-42", "nimporte-quoi"):
        assert post_status(client, number, {"status": "realise"}, token).status_code == 404


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "status", "Le statut est obligatoire"),
        ({"status": "livre"}, "status", "Statut inconnu : « livre »"),
        ({"status": 3}, "status", "Ce champ doit être un texte."),
        ({"status": "confirme"}, "transporter.name", "Le nom du transporteur est obligatoire."),
        (
            {"status": "confirme", "transporter": {"name": "Taxi", "phone": "12345"}},
            "transporter.phone",
            "numéro français à 10 chiffres",
        ),
        (
            {"status": "confirme", "transporter": {"name": "Taxi", "phone": "+44 20 7946 0958"}},
            "transporter.phone",
            "numéro français à 10 chiffres",
        ),
        (
            {"status": "confirme", "transporter": {"name": "x" * 201, "phone": "0478123456"}},
            "transporter.name",
            "au plus 200 caractères",
        ),
        ({"status": "confirme", "transporter": "Taxi"}, "transporter", "doit être un objet"),
        ({"status": "annule"}, "reason", "Une annulation doit indiquer sa raison."),
        (
            {"status": "annule", "reason": "   "},
            "reason",
            "Une annulation doit indiquer sa raison.",
        ),
        ({"status": "annule", "reason": "x" * 501}, "reason", "au plus 500 caractères"),
    ],
)
def test_each_bad_field_gets_422_naming_it_and_nothing_changes(
    app, client, trip, token, body, field, message
):
    response = post_status(client, trip.number, body, token)
    assert response.status_code == 422
    assert message in response.get_json()["fields"][field]
    saved = trip_row(app, trip.id)
    assert saved.status is TripStatus.REQUESTED and saved.transporter_name is None
    assert emails_of_trips(app) == []


def test_a_body_that_is_not_a_json_object_gets_422(app, client, trip, token):
    for data in ("pas du json", "[1, 2]", ""):
        response = client.post(
            f"/api/v1/trajets/{trip.number}/statut",
            data=data,
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 422
        assert response.get_json()["fields"] == {
            "body": "Le corps de la requête doit être un objet JSON."
        }


def test_a_five_megabyte_body_is_refused_in_json(app, client, trip, token):
    body = json.dumps({"status": "annule", "reason": "x" * (5 * 1024 * 1024)})
    response = client.post(
        f"/api/v1/trajets/{trip.number}/statut",
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 413
    assert "taille autorisée" in response.get_json()["error"]
    assert trip_row(app, trip.id).status is TripStatus.REQUESTED


def test_the_api_has_a_rate_limit_per_token(make_app, app, trip, runner, token):
    limited = make_app(API_LIMIT_PER_TOKEN="3 per minute", RATELIMIT_ENABLED=True)
    client = limited.test_client()
    confirmed = {"status": "confirme", "transporter": TAXI}
    statuses = [post_status(client, trip.number, confirmed, token).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert "Trop de tentatives" in post_status(client, trip.number, {}, token).get_json()["error"]
    # Another token has its own budget.
    other = new_token(runner)
    assert post_status(client, trip.number, confirmed, other).status_code == 200


def test_a_changed_trip_is_requested_again_without_its_transporter(app, client, trip, token):
    post_status(client, trip.number, {"status": "confirme", "transporter": TAXI}, token)
    change = form(
        child_id(app, "Maxime"), "09:15", *address_ids(app, "Maison", "École Jules Ferry")
    )
    response = submit(
        client, f"/trajets/trajet/{trip.id}/modifier", {**change, "day": "2026-05-21"}
    )
    assert response.status_code == 302
    saved = trip_row(app, trip.id)
    assert saved.status is TripStatus.REQUESTED and saved.transporter_name is None
    assert "Taxi Bellecour" not in text(client.get(f"/trajets/trajet/{trip.id}"))


# --- The command line, for assistances without the API ---------------------------------------


def test_set_status_from_the_command_line(app, client, trip, runner, mailbox):
    result = runner.invoke(
        args=[
            "trips",
            "set-status",
            trip.number,
            "confirme",
            "--transporter-name",
            "Taxi Bellecour",
            "--transporter-phone",
            "+33 4 78 12 34 56",
        ]
    )
    assert result.exit_code == 0, result.output
    assert f"Trajet {trip.number} : statut « Confirmé » enregistré." in result.output
    assert trip_row(app, trip.id).transporter_phone == "04 78 12 34 56"
    assert mailbox.last(SOPHIE)["Subject"] == f"Trajet {trip.number} confirmé"
    again = runner.invoke(
        args=[
            "trips",
            "set-status",
            trip.number,
            "confirme",
            "--transporter-name",
            "Taxi Bellecour",
            "--transporter-phone",
            "04 78 12 34 56",
        ]
    )
    assert again.exit_code == 0 and "rien n'a changé" in again.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["T-2026-999999", "realise"], "Aucun trajet ne porte le numéro « T-2026-999999 »."),
        (["{number}", "livre"], "Statut inconnu : « livre »"),
        (["{number}", "confirme", "--transporter-name", "Taxi"], "numéro français à 10 chiffres"),
        (["{number}", "annule"], "Une annulation doit indiquer sa raison."),
    ],
)
def test_set_status_refuses_bad_input_in_french(app, trip, runner, args, message):
    result = runner.invoke(
        args=["trips", "set-status", *[a.format(number=trip.number) for a in args]]
    )
    assert result.exit_code == 1
    assert message in result.output
    assert trip_row(app, trip.id).status is TripStatus.REQUESTED


def test_parent_page_of_another_account_stays_404(app, client, trip, other_client, auth):
    auth.karim(other_client)
    assert other_client.get(f"/trajets/trajet/{trip.id}").status_code == 404


def test_a_confirmation_racing_the_parents_cancellation_waits_and_is_refused(
    app, client, trip, token, database_url
):
    """The parent's cancellation has written the trip but not committed when the status
    arrives: the API waits for the trip's row, then sees it cancelled (409), instead of
    making a cancelled trip « Confirmé » and e-mailing the parent about it."""
    cancellation = (
        sa.update(Trip)
        .where(Trip.id == trip.id)
        .values(cancelled_at=datetime(2026, 5, 18, 8, 0), status=TripStatus.CANCELLED)
    )
    confirmed = {"status": "confirme", "transporter": TAXI}
    with another_tab_writing(database_url, cancellation):
        response = post_status(client, trip.number, confirmed, token)
    assert response.status_code == 409
    assert trip_row(app, trip.id).status is TripStatus.CANCELLED
    assert emails_of_trips(app) == []
