"""The outbox: e-mails are rows written with the change, the worker sends them, retries,
gives up after 24 h, and `flask outbox show` tells what happened."""

import json
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from app.clock import PARIS
from app.extensions import db
from app.models import Insurer, OutboxMessage
from app.outbox import add_email, add_event, channels, new_message_id, worker
from app.outbox.channels import DeliveryError, Mailer
from tests.conftest import Auth, Mailbox, deliver_outbox, free_port, submit
from tests.flow_helpers import outbox_rows
from tests.reimbursement_samples import pdf_bytes
from tests.test_auth import SOPHIE as SOPHIE_FORM
from tests.test_reimbursements import send_request, upload

NOW = datetime(2026, 5, 18, 10, 0, tzinfo=PARIS)
SOPHIE = "sophie.martin@example.fr"


@pytest.fixture(autouse=True)
def frozen_clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


def utc(moment: datetime) -> datetime:
    """An aware instant as the database stores it: naive UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def received(mailbox: Mailbox) -> list:
    """What the SMTP server holds now, without running the worker."""
    with mailbox.lock:
        return list(mailbox.messages)


def test_registration_writes_the_email_with_the_account_and_sends_nothing_itself(
    app, client, demo, mailbox
):
    response = submit(client, "/inscription", SOPHIE_FORM)
    assert response.status_code == 200
    assert "sophie.martin@example.fr" in response.get_data(as_text=True)
    # The request did not talk to the SMTP server: the e-mail waits in the outbox.
    assert received(mailbox) == []
    (row,) = outbox_rows(app, "email")
    email = json.loads(row.payload)
    assert email["to"] == SOPHIE
    assert email["subject"] == "Confirmez votre inscription à Cartable"
    assert row.delivered_at is None

    tally = deliver_outbox(app)
    assert (tally.delivered, tally.failed) == (1, 0)
    message = mailbox.last(SOPHIE)
    assert message["Subject"] == "Confirmez votre inscription à Cartable"
    assert "/inscription/confirmer/" in mailbox.text(message)
    (row,) = outbox_rows(app, "email")
    assert row.delivered_at is not None and row.attempts == 1
    # The row keeps to whom and what, not the text: its link still works for a while.
    assert json.loads(row.payload) == {
        "to": SOPHIE,
        "subject": "Confirmez votre inscription à Cartable",
    }
    # Delivered rows are not sent again.
    assert deliver_outbox(app).delivered == 0
    assert len(mailbox.to(SOPHIE)) == 1


def test_a_rolled_back_change_leaves_no_email(app, demo, mailbox):
    with app.app_context():
        add_email(SOPHIE, "Sujet", "texte", "<p>texte</p>")
        db.session.rollback()
    assert outbox_rows(app) == []


@pytest.fixture
def smtp_down_then_up(app_config):
    """A port where no SMTP server listens yet; `start()` opens one there (stopped after)."""
    port = free_port()
    mailbox = Mailbox()
    controllers = []

    def start() -> Mailbox:
        controller = Controller(mailbox, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)
        return mailbox

    yield port, start
    for controller in controllers:
        controller.stop()


def test_smtp_down_then_up_every_email_arrives_and_pages_answered_meanwhile(
    app, make_app, demo, smtp_down_then_up, frozen_clock, runner
):
    port, start_smtp = smtp_down_then_up
    down = make_app(MAIL_PORT=port)
    client = down.test_client()
    # Registration, password reset and a reimbursement request while the server is down.
    karim = {
        **SOPHIE_FORM,
        "member_number": "CD789012",
        "first_name": "Karim",
        "last_name": "DUPONT",
        "email": "karim.dupont@example.fr",
    }
    response = submit(client, "/inscription", karim)
    assert response.status_code == 200
    assert "karim.dupont@example.fr" in response.get_data(as_text=True)
    auth = Auth(down, client)
    auth.create_account()
    response = submit(client, "/mot-de-passe-oublie", {"email": SOPHIE})
    assert response.status_code == 200
    assert auth.login().status_code == 302
    filed = send_request(client, down, [upload(pdf_bytes(), "reçu.pdf", "application/pdf")])
    assert filed.status_code == 302, filed.get_data(as_text=True)
    assert "est enregistrée" in client.get(filed.headers["Location"]).get_data(as_text=True)

    # The worker cannot reach the server: nothing is lost, each row waits a minute.
    tally = deliver_outbox(down)
    assert (tally.delivered, tally.failed) == (0, 3)
    rows = outbox_rows(down, "email")
    assert all(row.attempts == 1 and row.last_error for row in rows)
    assert {row.due_at for row in rows} == {utc(NOW) + timedelta(minutes=1)}

    mailbox = start_smtp()
    assert deliver_outbox(down).delivered == 0  # not due yet: retried after one minute
    frozen_clock.shift(timedelta(minutes=1))
    tally = deliver_outbox(down)
    assert (tally.delivered, tally.failed) == (3, 0)
    subjects = sorted(message["Subject"] for message in received(mailbox))
    assert subjects[0] == "Choisissez un nouveau mot de passe"
    assert subjects[1] == "Confirmez votre inscription à Cartable"
    assert subjects[2].startswith("Demande de remboursement ") and subjects[2].endswith(" reçue")


def _failing_row(app) -> int:
    with app.app_context():
        row = add_email(SOPHIE, "Sujet", "texte", "<p>texte</p>")
        db.session.commit()
        return row.id


def test_a_row_that_waited_gets_a_whole_day_of_failures_before_it_is_given_up(
    make_app, demo, frozen_clock
):
    """Written two days ago (it waited behind an earlier event of its trip, or for its
    insurer's settings): its first failure starts its day, it is not given up at once."""
    down = make_app(MAIL_PORT=free_port())
    row_id = _failing_row(down)
    frozen_clock.move_to(NOW + timedelta(days=2), tick=False)
    assert deliver_outbox(down).dead == 0
    frozen_clock.move_to(NOW + timedelta(days=2, hours=23), tick=False)
    assert deliver_outbox(down).dead == 0
    frozen_clock.move_to(NOW + timedelta(days=3, hours=1), tick=False)
    assert deliver_outbox(down).dead == 1
    with down.app_context():
        row = db.session.get(OutboxMessage, row_id)
        assert row.failing_since == utc(NOW + timedelta(days=2))


def test_an_smtp_server_that_never_answers_is_given_up_after_its_timeout(
    make_app, demo, monkeypatch
):
    """It takes the connection and says nothing: the worker stops waiting, counts the
    server as down and keeps the e-mail for later, instead of hanging with its lease."""
    monkeypatch.setattr(channels, "SMTP_TIMEOUT", 0.5)
    silent = socket.create_server(("127.0.0.1", 0))
    silent_app = make_app(MAIL_PORT=silent.getsockname()[1])
    _failing_row(silent_app)
    outcome = []
    delivering = threading.Thread(target=lambda: outcome.append(deliver_outbox(silent_app)))
    try:
        delivering.start()
        delivering.join(timeout=10)
        assert not delivering.is_alive(), "the worker is still waiting for the SMTP server"
    finally:
        silent.close()
        delivering.join()
    (tally,) = outcome
    assert (tally.delivered, tally.failed, tally.dead) == (0, 1, 0)
    assert tally.errors[0].startswith("serveur d'e-mail : ") and "timed out" in tally.errors[0]
    assert socket.getdefaulttimeout() is None


def test_retries_wait_one_minute_doubling_up_to_an_hour_then_the_row_dies_after_a_day(
    make_app, demo, frozen_clock, runner
):
    down = make_app(MAIL_PORT=free_port())
    row_id = _failing_row(down)
    waits = []
    for _ in range(40):
        deliver_outbox(down)
        with down.app_context():
            row = db.session.get(OutboxMessage, row_id)
            if row.dead_at is not None:
                break
            waits.append(row.due_at - utc(datetime.now(PARIS)))
            frozen_clock.move_to(row.due_at.replace(tzinfo=UTC), tick=False)
    minutes = [wait.total_seconds() / 60 for wait in waits]
    assert minutes[:7] == [1, 2, 4, 8, 16, 32, 60]
    assert set(minutes[7:]) == {60}
    with down.app_context():
        row = db.session.get(OutboxMessage, row_id)
        assert row.dead_at - row.failing_since >= timedelta(hours=24)
        assert row.failing_since == row.created_at  # it failed at its first try
        assert "serveur d'e-mail" in row.last_error
        attempts = row.attempts
    # A dead row is never tried again, and `outbox show --dead` lists it with its error.
    assert deliver_outbox(down).failed == 0
    result = down.test_cli_runner().invoke(args=["outbox", "show", "--dead"])
    assert result.exit_code == 0
    assert "abandonné" in result.output
    assert f"essais : {attempts}" in result.output
    assert "dernière erreur : serveur d'e-mail" in result.output
    assert "e-mail à sophie.martin@example.fr : Sujet" in result.output


def test_worker_once_and_outbox_show_from_the_command_line(app, demo, mailbox, runner):
    assert runner.invoke(args=["outbox", "show"]).output.strip() == "La file est vide."
    with app.app_context():
        add_email(SOPHIE, "Bienvenue", "texte", "<p>texte</p>")
        db.session.commit()
    shown = runner.invoke(args=["outbox", "show"]).output
    assert "à envoyer" in shown and "e-mail à sophie.martin@example.fr : Bienvenue" in shown
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0
    assert "Envoyés : 1 ; en échec : 0 (dont 0 abandonnés)." in result.output
    assert received(mailbox)[0]["Subject"] == "Bienvenue"
    assert "délivré" in runner.invoke(args=["outbox", "show"]).output
    assert runner.invoke(args=["outbox", "show", "--dead"]).output.strip() == (
        "Aucun message abandonné."
    )


def test_a_running_worker_sends_within_two_seconds_of_the_commit(app, demo, mailbox, time_machine):
    time_machine.move_to(datetime.now(PARIS), tick=True)
    stop = threading.Event()

    def run():
        with app.app_context():
            worker.run_forever(stop)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        with app.app_context():
            add_email(SOPHIE, "Tout de suite", "texte", "<p>texte</p>")
            db.session.commit()
        committed = time.monotonic()
        while not received(mailbox) and time.monotonic() - committed < 5:
            time.sleep(0.05)
        elapsed = time.monotonic() - committed
    finally:
        stop.set()
        thread.join()
    assert received(mailbox)[0]["Subject"] == "Tout de suite"
    assert elapsed < 2


def test_two_claims_never_take_the_same_row(app, demo):
    with app.app_context():
        for number in range(5):
            add_email(SOPHIE, f"Sujet {number}", "texte", "<p>texte</p>")
        db.session.commit()
        first = worker.claim(limit=3)
        second = worker.claim(limit=3)
        third = worker.claim(limit=3)
        db.session.remove()
    assert len(first) == 3 and len(second) == 2 and third == []
    assert not {row.id for row in first} & {row.id for row in second}
    with app.app_context():
        leased = db.session.scalars(sa.select(OutboxMessage.locked_until)).all()
    assert all(leased)


class RefusingEveryRecipient:
    """An SMTP server that refuses every recipient, naming the address, as servers do."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"


def test_a_refused_recipient_is_logged_without_the_address(app, make_app, caplog):
    """The server's refusal names the address: the row's error and the log give its code."""
    controller = Controller(RefusingEveryRecipient(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        refusing = make_app(MAIL_PORT=controller.port)
        with refusing.app_context():
            add_email("inconnue@example.fr", "Sujet", "Texte", "<p>Texte</p>")
            db.session.commit()
            tally = worker.deliver_due()
    finally:
        controller.stop()
    assert (tally.delivered, tally.failed) == (0, 1)
    (row,) = outbox_rows(app, "email")
    assert row.last_error == "serveur d'e-mail : destinataire refusé (code 550)"
    assert "inconnue@example.fr" not in caplog.text


class ClosingAtEveryRecipient:
    """An SMTP server going away: 421 to the recipient (smtplib then closes the line)."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        return "421 4.3.2 Service not available, closing transmission channel"


def test_a_server_closing_on_a_recipient_counts_as_down_and_is_left(app, make_app):
    """421 is the server going away, not this message refused: the connection is dropped
    (the next batch opens a new one) and the batch's other e-mails wait for it."""
    controller = Controller(ClosingAtEveryRecipient(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        closing = make_app(MAIL_PORT=controller.port)
        payload = json.dumps({"to": "a@example.fr", "subject": "S", "text": "T", "html": "H"})
        with closing.app_context():
            mailer = Mailer()
            with pytest.raises(DeliveryError) as refused:
                mailer.send(payload)
    finally:
        controller.stop()
    assert refused.value.endpoint_down
    assert refused.value.reason == "serveur d'e-mail : destinataire refusé (code 421)"
    assert mailer.connection is None


# --- Retention ----------------------------------------------------------------------------


def aged_rows(app, **ages: dict) -> dict[str, int]:
    """One e-mail row per name, its timestamps set `days` before now: delivered, dead or
    still owed."""
    ids = {}
    with app.app_context():
        for name, age in ages.items():
            add_email(SOPHIE, name, "texte", "<p>texte</p>")
            db.session.flush()
            row = db.session.scalar(sa.select(OutboxMessage).order_by(OutboxMessage.id.desc()))
            moment = utc(NOW - timedelta(days=age["days"]))
            row.created_at = moment - timedelta(minutes=1)
            if age["state"] == "delivered":
                row.delivered_at = moment
            elif age["state"] == "dead":
                row.dead_at = moment
            ids[name] = row.id
        db.session.commit()
    return ids


def remaining(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(sa.select(OutboxMessage.summary)))


def test_delivered_rows_are_erased_after_their_retention_and_owed_or_dead_ones_stay(
    app, demo, runner
):
    """A delivered trip event holds a child's name and addresses: it is kept 90 days
    (`OUTBOX_RETENTION_DAYS`), then erased. A row still owed, or dead, is never erased."""
    aged_rows(
        app,
        old=dict(days=91, state="delivered"),
        recent=dict(days=89, state="delivered"),
        owed=dict(days=200, state="owed"),
        dead=dict(days=200, state="dead"),
    )
    result = runner.invoke(args=["outbox", "purge"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Messages délivrés depuis plus de 90 jours effacés : 1."
    assert {summary.rsplit(" : ", 1)[1] for summary in remaining(app)} == {
        "recent",
        "owed",
        "dead",
    }
    assert runner.invoke(args=["outbox", "purge"]).output.strip().endswith("effacés : 0.")


def test_the_purge_erases_in_batches_until_none_is_left(app, demo):
    aged_rows(app, **{f"old {n}": dict(days=100, state="delivered") for n in range(5)})
    with app.app_context():
        assert worker.purge_delivered(batch=2) == 5
    assert remaining(app) == set()


def test_a_running_worker_erases_old_delivered_rows_when_idle(app, demo, mailbox, monkeypatch):
    """A batch per idle pass, until none is left."""
    monkeypatch.setattr(worker, "PURGE_BATCH", 2)
    aged_rows(app, **{f"old {n}": dict(days=120, state="delivered") for n in range(5)})
    stop = threading.Event()

    def run():
        with app.app_context():
            worker.run_forever(stop, poll=0.05)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while remaining(app) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join()
    assert remaining(app) == set()


# --- Dead rows, revived -------------------------------------------------------------------


def trip_events(app, *states: str, trip_id: int = 7) -> list[str]:
    """A trip's events in order, each `delivered`, `dead` or `owed`; their message ids."""
    ids = []
    with app.app_context():
        insurer_id = db.session.scalar(sa.select(Insurer.id))
        for number, state in enumerate(states):
            row = add_event(new_message_id(), "trajet.modifie", insurer_id, trip_id, "{}", "x")
            row.attempts = number
            if state == "delivered":
                row.delivered_at = utc(NOW)
            elif state == "dead":
                row.dead_at = utc(NOW)
            ids.append(row.message_id)
        db.session.commit()
    return ids


def row_of(app, message_id: str) -> OutboxMessage:
    with app.app_context():
        query = sa.select(OutboxMessage).where(OutboxMessage.message_id == message_id)
        row = db.session.scalar(query)
        db.session.expunge(row)
        return row


def test_a_dead_email_is_put_back_in_the_queue_and_delivered(
    make_app, app, demo, mailbox, frozen_clock
):
    """The SMTP server was down for more than a day: once it is back, the operator revives
    the row, which gets a new day of tries and leaves at the next pass."""
    down = make_app(MAIL_PORT=free_port())
    row_id = _failing_row(down)
    deliver_outbox(down)
    frozen_clock.move_to(NOW + timedelta(hours=25), tick=False)
    deliver_outbox(down)
    with app.app_context():
        message_id = db.session.get(OutboxMessage, row_id).message_id
    assert row_of(app, message_id).dead_at is not None
    result = app.test_cli_runner().invoke(args=["outbox", "retry", message_id])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Remis en file : 1."
    row = row_of(app, message_id)
    assert (row.dead_at, row.attempts, row.failing_since) == (None, 0, None)
    assert row.created_at == utc(NOW)  # when it was written: the e-mail's own history
    assert deliver_outbox(app).delivered == 1
    assert received(mailbox)[0]["Subject"] == "Sujet"


def test_a_dead_trip_event_is_left_dead_when_a_later_one_of_its_trip_went(
    app, demo, runner, frozen_clock
):
    """The later event carries the whole trip: the older one must not arrive after it.
    Past the retention, a later one may have been delivered and erased."""
    superseded, _ = trip_events(app, "dead", "delivered", trip_id=7)
    before_owed, _ = trip_events(app, "dead", "owed", trip_id=9)
    alone, waiting = trip_events(app, "dead", "dead", trip_id=8)
    frozen_clock.move_to(NOW - timedelta(days=91), tick=False)
    (too_old,) = trip_events(app, "dead", trip_id=10)
    frozen_clock.move_to(NOW, tick=False)
    result = runner.invoke(args=["outbox", "retry", "--all"])
    assert result.exit_code == 0, result.output
    reason = (
        "(un événement plus récent du même trajet est parti ou partira avec le trajet entier, "
        "ou l'événement a dépassé la durée de conservation)."
    )
    left = sorted([superseded, before_owed, too_old], key=lambda m: row_of(app, m).id)
    assert result.output.splitlines() == [
        "Remis en file : 2.",
        *(f"Laissé abandonné : {message_id} {reason}" for message_id in left),
    ]
    for message_id in left:
        assert row_of(app, message_id).dead_at is not None
    assert row_of(app, alone).dead_at is None and row_of(app, waiting).dead_at is None


def test_retry_of_named_rows_revives_those_only(app, demo, runner):
    first, second = trip_events(app, "dead", trip_id=11), trip_events(app, "dead", trip_id=12)
    result = runner.invoke(args=["outbox", "retry", first[0]])
    assert result.output.strip() == "Remis en file : 1."
    assert row_of(app, first[0]).dead_at is None
    assert row_of(app, second[0]).dead_at is not None


@pytest.mark.parametrize(
    "arguments, message",
    [
        ([], "Nommez les messages à remettre en file (msg_…), ou --all pour tous."),
        (["--all", "msg_x"], "Nommez les messages à remettre en file (msg_…), ou --all pour tous."),
        (["msg_inconnu"], "« msg_inconnu » n'est pas un message abandonné."),
    ],
)
def test_retry_refuses_bad_input_and_changes_nothing(app, demo, runner, arguments, message):
    (dead,) = trip_events(app, "dead")
    named = [dead if argument == "msg_x" else argument for argument in arguments]
    if arguments == ["msg_inconnu"]:
        named.append(dead)  # a dead row named beside an unknown one is not revived either
    result = runner.invoke(args=["outbox", "retry", *named])
    assert result.exit_code == 1
    assert message in result.output
    assert row_of(app, dead).dead_at is not None
