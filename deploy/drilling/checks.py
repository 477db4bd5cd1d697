"""What the drill checks after each fault: the answers the load got, and the database and
the mailbox against what the load was told."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from deploy.drilling.load import Record


@dataclass
class Answers:
    """The load's requests of one phase."""

    gets: int = 0
    posts: int = 0
    failed_gets: int = 0
    failed_posts: int = 0
    unclear: int = 0  # errors without a readable French page
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def failed_post_share(self) -> float:
        return self.failed_posts / self.posts if self.posts else 0.0


def answers(record: Record, phase: str) -> Answers:
    counted = Answers()
    with record.lock:
        sent = [item for item in record.sent if item.phase == phase]
    for item in sent:
        is_get = item.method == "GET"
        counted.gets += is_get
        counted.posts += not is_get
        if item.failed:
            counted.failed_gets += is_get
            counted.failed_posts += not is_get
            counted.unclear += not item.clear
            counted.statuses[item.status] = counted.statuses.get(item.status, 0) + 1
    return counted


@dataclass
class Holdings:
    """The database (and mailbox) compared with what the load was told."""

    acknowledged: int = 0
    lost: list[str] = field(default_factory=list)  # acknowledged, not in the database
    doubled: list[str] = field(default_factory=list)  # one booking, several rows
    unasked: list[str] = field(default_factory=list)  # rows no booking of the load asked for
    half_written: list[str] = field(default_factory=list)
    kept_after_error: int = 0  # a booking answered with an error, saved all the same
    accounts_lost: list[str] = field(default_factory=list)
    mails_missing: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        found = []
        for name, items in (
            ("perdu", self.lost),
            ("en double", self.doubled),
            ("jamais demandé", self.unasked),
            ("incomplet", self.half_written),
            ("compte perdu", self.accounts_lost),
            ("e-mail manquant", self.mails_missing),
        ):
            if items:
                found.append(f"{len(items)} {name}")
        return found


_TRIPS = sa.text(
    """
    SELECT t.child_id, t.trip_date, t.trip_time, t.account_id, child.member_number,
           parent.member_number, origin.account_id, destination.account_id
    FROM trips t
    JOIN accounts a ON a.id = t.account_id
    JOIN members parent ON parent.id = a.member_id
    LEFT JOIN members child ON child.id = t.child_id
    LEFT JOIN addresses origin ON origin.id = t.from_address_id
    LEFT JOIN addresses destination ON destination.id = t.to_address_id
    WHERE t.cancelled_at IS NULL
    """
)


def _key(child_id, day, hour) -> str:
    """A trip's key, from dates and times or from their ISO text (SQLite's raw rows)."""
    return f"enfant {child_id} le {str(day)[:10]} à {str(hour)[:5]}"


def holdings(engine: sa.Engine, record: Record, mailbox_addresses: set[str] | None) -> Holdings:
    """Every acknowledged booking is in the database once, no row came from nowhere, every
    row is whole; every acknowledged registration has its account (and its e-mail)."""
    found = Holdings()
    # What the load had been told before the database is read: a booking answered while
    # the check reads was not acknowledged yet when the rows were taken, and counts as not
    # answered (the next check sees it whole).
    with record.lock:
        bookings = [
            (_key(b.child_id, b.day, b.hour), b.status, b.acknowledged) for b in record.bookings
        ]
        registrations = [(r.email, r.acknowledged) for r in record.registrations]
    with engine.connect() as connection:
        rows = connection.execute(_TRIPS).all()
        emails = set(connection.execute(sa.text("SELECT email FROM accounts")).scalars())
    in_database: dict[str, int] = {}
    for child_id, day, hour, account_id, child_number, parent_number, origin, destination in rows:
        key = _key(child_id, day, hour)
        in_database[key] = in_database.get(key, 0) + 1
        if child_number != parent_number or origin != account_id or destination != account_id:
            found.half_written.append(key)
    asked = {key: (status, acknowledged) for key, status, acknowledged in bookings}
    found.acknowledged = sum(1 for _, _, acknowledged in bookings if acknowledged)
    for key, (status, acknowledged) in asked.items():
        count = in_database.get(key, 0)
        if acknowledged and count == 0:
            found.lost.append(key)
        if count > 1:
            found.doubled.append(key)
        if status is not None and not acknowledged and count:
            found.kept_after_error += 1
    found.unasked = [key for key in in_database if key not in asked]
    for email, acknowledged in registrations:
        if acknowledged and email not in emails:
            found.accounts_lost.append(email)
        if mailbox_addresses is not None and acknowledged and email not in mailbox_addresses:
            found.mails_missing.append(email)
    return found


@dataclass
class Deliveries:
    """The outbox (e-mails and trip events, issue 11) against what the receivers got."""

    events: int = 0
    received: int = 0
    repeats: int = 0  # the same event id received again (allowed: receivers drop repeats)
    events_missing: list[str] = field(default_factory=list)  # in the outbox, never received
    trips_without_event: list[str] = field(default_factory=list)
    pending: int = 0  # rows the worker still owes

    @property
    def problems(self) -> list[str]:
        found = []
        if self.events_missing:
            found.append(f"{len(self.events_missing)} événement(s) jamais reçu(s)")
        if self.trips_without_event:
            found.append(f"{len(self.trips_without_event)} trajet(s) sans événement")
        return found


def has_outbox(engine: sa.Engine) -> bool:
    return "outbox" in sa.inspect(engine).get_table_names()


def pending_messages(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(
            sa.text("SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL")
        ).scalar_one()


def deliveries(engine: sa.Engine, received_ids: list[str]) -> Deliveries:
    """Every trip has its request event; every event reached the receiver, once per id."""
    found = Deliveries()
    with engine.connect() as connection:
        events = set(
            connection.execute(
                sa.text("SELECT message_id FROM outbox WHERE kind = 'event'")
            ).scalars()
        )
        found.trips_without_event = [
            str(trip_id)
            for trip_id in connection.execute(
                sa.text(
                    "SELECT t.id FROM trips t WHERE NOT EXISTS (SELECT 1 FROM outbox o "
                    "WHERE o.trip_id = t.id AND o.kind = 'event')"
                )
            ).scalars()
        ]
    found.pending = pending_messages(engine)
    received = set(received_ids)
    found.events = len(events)
    found.received = len(received)
    found.repeats = len(received_ids) - len(received)
    found.events_missing = sorted(events - received)
    return found
