"""The worker: claims due outbox rows, delivers them, records what happened.

A batch is claimed in one short transaction (`UPDATE … WHERE id IN (SELECT … FOR UPDATE
SKIP LOCKED) RETURNING`): each claimed row gets a lease, so that another worker skips it
while it is being delivered, and takes it again if this worker dies (the repeat carries
the same message id). SQLite has no SKIP LOCKED but takes one writer at a time, so the
same statement claims there too. The deliveries happen outside any transaction; their
outcomes are written in a second one.

A trip's events leave in the order they were written: a row is claimable only when no
earlier row of its trip is still owed (a dead one no longer holds the others back).
"""

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import aliased

from app import clock
from app.extensions import db
from app.models import Insurer, OutboxMessage, Trip, TripStatus
from app.outbox.channels import DeliveryError, Mailer, WebhookClient, write_event_file
from app.outbox.flow import normalize_webhook_url

log = logging.getLogger("cartable.outbox")

BATCH_SIZE = 100
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)
# After this long of failures (from the first of them), a row is marked dead with its last
# error.
GIVE_UP_AFTER = timedelta(hours=24)
# An idle worker looks for new rows this often: a message leaves within 2 s of its commit.
POLL_SECONDS = 0.5
# A running worker erases the delivered rows past their retention this often.
PURGE_EVERY_SECONDS = 3600
PURGE_BATCH = 5000
# A webhook set in plain http across a network before https was required: an event names a
# child, its addresses and the parent's phone, so it waits until an https address is set.
NOT_HTTPS = (
    "le webhook de cette mutuelle n'est pas en https : rien n'est envoyé en clair "
    "(réglez --flow-webhook https://…)"
)
# Events whose delivery means the assistance has the trip (« Transmis »).
TRIP_REQUESTS = ("trajet.demande", "trajet.modifie")


def retry_delay(attempts: int) -> timedelta:
    """Wait before the next try after `attempts` failures: 1 min, doubling, at most 1 h."""
    return min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_RETRY)


@dataclass
class Tally:
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: "Tally") -> None:
        self.delivered += other.delivered
        self.failed += other.failed
        self.dead += other.dead
        self.errors += other.errors


_CANDIDATE, _EARLIER = aliased(OutboxMessage), aliased(OutboxMessage)


def _claim_statement(now: datetime, lease_until: datetime, limit: int):
    # A trip's events leave in order: a row is due only when it is the trip's first one
    # still owed. Written as a per-row lookup of that first id (the `(trip_id, id)` index
    # answers it at once) rather than « no earlier row owed »: without fresh statistics, as
    # after a burst of events, PostgreSQL planned that anti-join as a scan of every owed
    # row for each candidate (10,000 owed events: 0.1 s a claim instead of 2 ms).
    first_owed = (
        sa.select(sa.func.min(_EARLIER.id))
        .where(
            _EARLIER.trip_id == _CANDIDATE.trip_id,
            _EARLIER.delivered_at.is_(None),
            _EARLIER.dead_at.is_(None),
        )
        .scalar_subquery()
    )
    due = (
        sa.select(_CANDIDATE.id)
        .where(
            _CANDIDATE.delivered_at.is_(None),
            _CANDIDATE.dead_at.is_(None),
            _CANDIDATE.due_at <= now,
            sa.or_(_CANDIDATE.locked_until.is_(None), _CANDIDATE.locked_until < now),
            sa.or_(_CANDIDATE.trip_id.is_(None), _CANDIDATE.id == first_owed),
        )
        .order_by(_CANDIDATE.due_at, _CANDIDATE.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # ignored by SQLite, which has one writer
    )
    return (
        sa.update(OutboxMessage)
        .where(OutboxMessage.id.in_(due))
        .values(locked_until=lease_until)
        .returning(
            OutboxMessage.id,
            OutboxMessage.message_id,
            OutboxMessage.kind,
            OutboxMessage.event_type,
            OutboxMessage.insurer_id,
            OutboxMessage.trip_id,
            OutboxMessage.payload,
            OutboxMessage.attempts,
            OutboxMessage.failing_since,
            OutboxMessage.locked_until,
        )
    )


def _without_waiting_for_disk() -> None:
    """PostgreSQL: this transaction's commit does not wait for its WAL to reach the disk.

    The worker writes only leases and delivery records. Should the database crash before
    they are on disk, a lease is simply taken again and a delivery repeated (same id):
    the outbox may repeat, never lose, so two disk flushes per batch are not worth waiting.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))


def claim(limit: int = BATCH_SIZE) -> list:
    """Take up to `limit` due rows for this worker, in one committed transaction."""
    _without_waiting_for_disk()
    now = clock.utcnow()
    lease = timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])
    rows = db.session.execute(
        _claim_statement(now, now + lease, limit),
        execution_options={"synchronize_session": False},
    ).all()
    db.session.commit()
    return sorted(rows, key=lambda row: row.id)


class Channels:
    """The open connections of one worker (SMTP, webhooks), reused from batch to batch."""

    def __init__(self):
        self.mailer = Mailer()
        self.webhooks = WebhookClient()

    def close(self) -> None:
        self.mailer.close()
        self.webhooks.close()


def _channels_of(rows) -> dict[int, tuple[str | None, str | None, str | None]]:
    ids = {row.insurer_id for row in rows if row.kind == "event"}
    if not ids:
        return {}
    found = db.session.execute(
        sa.select(Insurer.id, Insurer.flow_channel, Insurer.flow_target, Insurer.flow_secret).where(
            Insurer.id.in_(ids)
        )
    )
    return {insurer_id: (channel, target, secret) for insurer_id, channel, target, secret in found}


def _deliver(row, channels: Channels, insurers: dict) -> None:
    if row.kind == "email":
        channels.mailer.send(row.payload)
        return
    channel, target, secret = insurers.get(row.insurer_id, (None, None, None))
    if channel == "webhook" and normalize_webhook_url(target) is None:
        raise DeliveryError(NOT_HTTPS, unsettled=True)
    if channel == "webhook":
        channels.webhooks.post(target, secret, row.message_id, clock.now(), row.payload)
    elif channel == "folder":
        write_event_file(target, row.message_id, row.payload)
    else:
        raise DeliveryError(
            "aucun canal de livraison n'est configuré pour cette mutuelle", unsettled=True
        )


def delivered_email(payload: str) -> str:
    """What an e-mail's row keeps once delivered: to whom and its subject. Its text held
    links that still work for a while (a password reset, an invitation) and the details of
    a request; the outbox has no more use for them, and a database or a backup must not
    give them away."""
    email = json.loads(payload)
    return json.dumps({"to": email["to"], "subject": email["subject"]})


def deliver_batch(channels: Channels, limit: int = BATCH_SIZE) -> tuple[int, Tally]:
    """Claim a batch, deliver it, record the outcomes: (rows claimed, what happened)."""
    rows = claim(limit)
    tally = Tally()
    if not rows:
        return 0, tally
    insurers = _channels_of(rows)
    # No transaction stays open while the network is waited for.
    db.session.commit()
    lease = current_app.config["OUTBOX_LEASE_SECONDS"]
    deadline = time.monotonic() + lease / 2
    delivered, failed, released, requested_trips, sent_emails = [], [], [], [], []
    # Places found down in this batch: their other rows fail at once, without a try each.
    down: dict[object, str] = {}
    for row in rows:
        place = "smtp" if row.kind == "email" else row.insurer_id
        if time.monotonic() > deadline:
            released.append({"id": row.id, "locked_until": None})
            continue
        try:
            if place in down:
                raise DeliveryError(down[place])
            _deliver(row, channels, insurers)
        except DeliveryError as error:
            if error.endpoint_down:
                down[place] = error.reason
            now = clock.utcnow()
            attempts = row.attempts + 1
            failing_since = None if error.unsettled else (row.failing_since or now)
            gives_up = failing_since is not None and now - failing_since >= GIVE_UP_AFTER
            failed.append(
                {
                    "id": row.id,
                    "attempts": attempts,
                    "last_error": error.reason,
                    "locked_until": None,
                    "due_at": now + retry_delay(attempts),
                    "dead_at": now if gives_up else None,
                    "failing_since": failing_since,
                }
            )
            tally.failed += 1
            tally.dead += gives_up
            tally.errors.append(error.reason)
            log.warning("message %s not delivered: %s", row.message_id, error.reason)
        else:
            delivered.append(
                {
                    "id": row.id,
                    "attempts": row.attempts + 1,
                    "delivered_at": clock.utcnow(),
                    "locked_until": None,
                    "last_error": None,
                }
            )
            if row.event_type in TRIP_REQUESTS:
                requested_trips.append(row.trip_id)
            if row.kind == "email":
                sent_emails.append({"id": row.id, "payload": delivered_email(row.payload)})
    _without_waiting_for_disk()
    # Only rows still under this batch's lease: a delivery that outlived it (a slow
    # endpoint) was taken again by another worker, whose outcome must not be overwritten.
    ours = sa.update(OutboxMessage).where(OutboxMessage.locked_until == rows[0].locked_until)
    # The e-mails' redaction first: the outcomes below end the lease it is matched on.
    for outcome in (sent_emails, delivered, failed, released):
        if outcome:
            db.session.execute(ours, outcome, execution_options={"synchronize_session": None})
    if requested_trips:
        # Not while a later version of the trip is still owed (the parent changed it while
        # this one was on its way): the assistance does not have the trip as it is yet. The
        # trips are locked first, so that the UPDATE's own snapshot sees the change that a
        # parent's request was committing meanwhile (PostgreSQL reads the NOT EXISTS in the
        # snapshot its statement started with).
        db.session.execute(
            sa.select(Trip.id)
            .where(Trip.id.in_(requested_trips))
            .order_by(Trip.id)
            .with_for_update()
        )
        later_owed = sa.exists().where(
            OutboxMessage.trip_id == Trip.id,
            OutboxMessage.event_type.in_(TRIP_REQUESTS),
            OutboxMessage.delivered_at.is_(None),
            OutboxMessage.dead_at.is_(None),
        )
        db.session.execute(
            sa.update(Trip)
            .where(Trip.id.in_(requested_trips), Trip.status == TripStatus.REQUESTED, ~later_owed)
            .values(status=TripStatus.SENT, status_changed_at=clock.utcnow()),
            execution_options={"synchronize_session": False},
        )
    db.session.commit()
    tally.delivered = len(delivered)
    return len(rows), tally


def deliver_due(limit: int = BATCH_SIZE) -> Tally:
    """Deliver every row due now, batch after batch, then return (`worker --once`)."""
    channels = Channels()
    total = Tally()
    try:
        while True:
            claimed, tally = deliver_batch(channels, limit)
            total.add(tally)
            if not claimed:
                return total
    finally:
        channels.close()
        db.session.remove()


@dataclass
class Revived:
    """What `revive_dead` did: rows put back in the queue, and dead trip events left dead
    because a later event of their trip has left or will."""

    revived: list[str] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # named, but no dead row: nothing done


_DEAD, _LATER = aliased(OutboxMessage), aliased(OutboxMessage)


def revive_dead(message_ids: list[str] | None = None) -> Revived:
    """Put dead rows back in the queue (those named, or all): due now, with a new day of
    tries (no failure yet). A trip event stays dead when a later event of its trip was
    delivered or is still owed: that one carries the whole trip, and the older one must
    not arrive after it; and when it is older than OUTBOX_RETENTION_DAYS, since such a later
    event may have been erased. A named id that is no dead row (`unknown`) changes
    nothing at all. Commits."""
    retention = timedelta(days=current_app.config["OUTBOX_RETENTION_DAYS"])
    later = (
        sa.exists()
        .where(_LATER.trip_id == _DEAD.trip_id, _LATER.id > _DEAD.id, _LATER.dead_at.is_(None))
        .correlate(_DEAD)
    )
    # Past the retention, a later event may have been delivered and erased since.
    superseded = sa.or_(
        later, sa.and_(_DEAD.trip_id.is_not(None), _DEAD.created_at < clock.utcnow() - retention)
    )
    query = (
        sa.select(_DEAD.id, _DEAD.message_id, superseded)
        .where(_DEAD.dead_at.is_not(None))
        .order_by(_DEAD.id)
        .with_for_update(of=_DEAD)
    )
    if message_ids is not None:
        query = query.where(_DEAD.message_id.in_(message_ids))
    outcome, revived_ids = Revived(), []
    for row_id, message_id, later_went in db.session.execute(query):
        if later_went:
            outcome.superseded.append(message_id)
        else:
            outcome.revived.append(message_id)
            revived_ids.append(row_id)
    found = {*outcome.revived, *outcome.superseded}
    outcome.unknown = [message_id for message_id in message_ids or [] if message_id not in found]
    if outcome.unknown:
        db.session.rollback()
        return Revived(unknown=outcome.unknown)
    if revived_ids:
        now = clock.utcnow()
        db.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id.in_(revived_ids))
            .values(dead_at=None, attempts=0, due_at=now, failing_since=None, locked_until=None),
            execution_options={"synchronize_session": False},
        )
    db.session.commit()
    return outcome


def purge_batch(batch: int = PURGE_BATCH) -> int:
    """Erase up to `batch` rows delivered more than OUTBOX_RETENTION_DAYS ago, in one short
    transaction; how many. Owed and dead rows stay: the first are still to be delivered,
    the second wait for someone to look at them."""
    retention = timedelta(days=current_app.config["OUTBOX_RETENTION_DAYS"])
    oldest = (
        sa.select(OutboxMessage.id)
        .where(
            OutboxMessage.delivered_at.is_not(None),
            OutboxMessage.delivered_at < clock.utcnow() - retention,
        )
        .limit(batch)
    )
    result = db.session.execute(
        sa.delete(OutboxMessage).where(OutboxMessage.id.in_(oldest.scalar_subquery())),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()
    return result.rowcount


def purge_delivered(batch: int = PURGE_BATCH) -> int:
    """Erase every delivered row past its retention, `batch` at a time; how many."""
    erased = 0
    while (count := purge_batch(batch)) == batch:
        erased += count
    return erased + count


def run_forever(stop: threading.Event, limit: int = BATCH_SIZE, poll: float = POLL_SECONDS):
    """Deliver rows as they come due until `stop` is set (`flask worker`); when idle, erase
    the delivered rows past their retention, a batch per idle pass until none is left, then
    again PURGE_EVERY_SECONDS later."""
    channels = Channels()
    purge_at = time.monotonic()
    try:
        while not stop.is_set():
            try:
                claimed, _ = deliver_batch(channels, limit)
                # One batch per idle pass: deliveries and a stop come between batches.
                if not claimed and time.monotonic() >= purge_at:
                    if purge_batch(PURGE_BATCH) < PURGE_BATCH:
                        purge_at = time.monotonic() + PURGE_EVERY_SECONDS
            except sa.exc.OperationalError:
                # The database went away: wait and try again, nothing was lost.
                log.exception("outbox: database unavailable")
                db.session.rollback()
                claimed = 0
                stop.wait(5)
            if not claimed:
                channels.close()  # idle: do not hold connections the servers will drop
                stop.wait(poll)
    finally:
        channels.close()
        db.session.remove()
