"""The drill's own checks: a loss, a double, a row nobody asked for and a half-written trip
are each reported; and the whole drill, run with one confirmed trip erased on purpose,
reports « 1 perdu » and fails."""

import os
import re
import shutil
import subprocess
import sys
from datetime import time

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Account, Address, AddressKind, Member, Trip
from deploy.drilling import checks
from deploy.drilling.drill import Phase, table
from deploy.drilling.load import BookingAttempt, Record, Registration
from deploy.drilling.stack import REPOSITORY
from tests.conftest import submit
from tests.test_trips import bookable_day


@pytest.fixture
def booked(app, auth, client):
    """Sophie, logged in, books two trips through the portal; the load's record of them."""
    auth.sophie()
    with app.app_context():
        account_id = db.session.scalar(sa.select(Account.id))
        for label, kind in (("Maison", AddressKind.HOME), ("École", AddressKind.PRIMARY_SCHOOL)):
            db.session.add(
                Address(
                    account_id=account_id,
                    label=label,
                    label_key=label.lower(),
                    kind=kind,
                    street="12 rue des Lilas",
                    postal_code="75011",
                    city="Paris",
                )
            )
        db.session.commit()
        maxime = db.session.scalar(sa.select(Member.id).where(Member.first_name == "Maxime"))
        home, school = db.session.scalars(sa.select(Address.id).order_by(Address.id)).all()
    day = bookable_day()
    record = Record()
    for hour in (time(8, 30), time(16, 30)):
        attempt = BookingAttempt("aucune panne", 0, maxime, day, hour)
        record.add(attempt)
        response = submit(
            client,
            f"/trajets/{day.isoformat()}",
            {
                "child": maxime,
                "hour": hour.strftime("%H:%M"),
                "from_address": home,
                "to_address": school,
                "purpose": "ecole",
            },
        )
        attempt.status = response.status_code
        attempt.acknowledged = response.status_code == 302 and "#trajet-" in response.location
    assert all(attempt.acknowledged for attempt in record.bookings)
    return record


def holdings(app, record, mailbox=None):
    with app.app_context():
        return checks.holdings(db.engine, record, mailbox)


def test_everything_confirmed_and_held_is_no_problem(app, booked):
    found = holdings(app, booked)
    assert found.acknowledged == 2
    assert found.problems == []


def test_a_confirmed_trip_missing_from_the_database_is_reported_lost(app, booked):
    with app.app_context():
        db.session.execute(sa.delete(Trip).where(Trip.trip_time == time(16, 30)))
        db.session.commit()
    found = holdings(app, booked)
    assert len(found.lost) == 1 and "16:30" in found.lost[0]
    assert found.problems == ["1 perdu"]


def test_a_booking_answered_while_the_check_reads_is_not_reported_lost(app, booked):
    """The load's threads go on during a check: a booking in flight when the check takes
    the load's record, committed and answered while it reads the database, was lost in a
    full drill's table (« 1 perdu » on one fault, 0 at the end)."""
    in_flight = booked.bookings[-1]
    in_flight.status, in_flight.acknowledged = None, False
    with app.app_context():
        db.session.execute(sa.delete(Trip).where(Trip.trip_time == in_flight.hour))
        db.session.commit()

        def answered_meanwhile(*_args):
            in_flight.status, in_flight.acknowledged = 302, True

        sa.event.listen(db.engine, "before_cursor_execute", answered_meanwhile)
        try:
            found = checks.holdings(db.engine, booked, None)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", answered_meanwhile)
    assert in_flight.acknowledged  # the load was told, after the record was taken
    assert found.problems == [] and found.acknowledged == 1
    assert holdings(app, booked).problems == ["1 perdu"]  # taken after: the trip is missing


def test_a_trip_the_load_never_asked_for_is_reported(app, booked):
    booked.bookings.pop()
    assert holdings(app, booked).problems == ["1 jamais demandé"]


def test_a_trip_with_another_accounts_address_is_reported_half_written(app, booked, auth):
    auth.create_account("CD789012", "Karim", email="karim.dupont@example.fr")
    with app.app_context():
        karim = db.session.scalar(
            sa.select(Account.id).where(Account.email == "karim.dupont@example.fr")
        )
        other = Address(
            account_id=karim,
            label="Ailleurs",
            label_key="ailleurs",
            kind=AddressKind.HOME,
            street="1 rue Autre",
            postal_code="69001",
            city="Lyon",
        )
        db.session.add(other)
        db.session.flush()
        trip = db.session.scalar(sa.select(Trip).where(Trip.trip_time == time(8, 30)))
        trip.from_address_id = other.id
        db.session.commit()
    assert holdings(app, booked).problems == ["1 incomplet"]


def test_a_confirmed_registration_without_account_or_e_mail_is_reported(app, booked):
    booked.add(Registration("aucune panne", "sophie.martin@example.fr", 200, True))
    booked.add(Registration("aucune panne", "absent@example.fr", 200, True))
    found = holdings(app, booked, mailbox={"sophie.martin@example.fr"})
    assert found.accounts_lost == ["absent@example.fr"]
    assert found.mails_missing == ["absent@example.fr"]


def test_the_table_shows_a_loss_as_a_failure(app, booked):
    with app.app_context():
        db.session.execute(sa.delete(Trip).where(Trip.trip_time == time(8, 30)))
        db.session.commit()
    phase = Phase("au total", checks.answers(booked, "aucune panne"), holdings(app, booked))
    phase.problems = phase.holdings.problems
    printed = table([phase])
    assert "1 perdu, 0 en double, 0 incomplet" in printed
    assert "ÉCHEC : 1 perdu" in printed


def _processes_mentioning(path: str) -> list[str]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    command = cmdline.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if path in command:
                found.append(command)
    return found


def test_the_drill_reports_a_trip_lost_on_purpose_and_stops_all_it_started(database_url):
    """The whole drill, short, with 3 families; one confirmed trip erased before the end."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the production stack: run with TEST_DATABASE_URL on PostgreSQL")
    for binary in ("nginx", "redis-server"):
        if shutil.which(binary) is None and not os.path.exists(f"/usr/sbin/{binary}"):
            pytest.skip(f"{binary} is missing")
    result = subprocess.run(
        [sys.executable, "deploy/drill", "--court", "--familles", "3", "--perte-injectee",
         "--garder"],
        cwd=REPOSITORY, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    output = result.stdout + result.stderr
    kept = re.search(r"Journaux : (\S+)", output)
    assert kept, output
    try:
        assert result.returncode == 1, output
        assert "perte injectée" in output
        assert output.strip().splitlines()[-1].startswith("1 perdu"), output
        assert re.search(r"au total .*ÉCHEC : 1 perdu", output), output
        assert _processes_mentioning(kept.group(1)) == []
    finally:
        shutil.rmtree(kept.group(1), ignore_errors=True)
