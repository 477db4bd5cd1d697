"""The outbox: every message the portal owes (e-mails, trip events), and insurers' API tokens.

A row is written in the same transaction as the change that causes it; the worker
(app/outbox/worker.py) delivers it, retries it and records what happened.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import utcnow
from app.extensions import db

PENDING = sa.text("delivered_at IS NULL AND dead_at IS NULL")
TRIP_PENDING = sa.text("delivered_at IS NULL AND dead_at IS NULL AND trip_id IS NOT NULL")
DELIVERED = sa.text("delivered_at IS NOT NULL")


class OutboxMessage(db.Model):
    """One message owed: an e-mail (kind `email`) or an event for an insurer (`event`).

    `message_id` is stable: a repeat of a delivery carries the same one (the webhook-id).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('email', 'event')", name="kind"),
        sa.Index(
            "ix_outbox_pending", "due_at", "id", sqlite_where=PENDING, postgresql_where=PENDING
        ),
        sa.Index(
            "ix_outbox_trip_pending",
            "trip_id",
            "id",
            sqlite_where=TRIP_PENDING,
            postgresql_where=TRIP_PENDING,
        ),
        # The retention purge (app/outbox/worker.py) finds the delivered rows by their age.
        sa.Index(
            "ix_outbox_delivered",
            "delivered_at",
            sqlite_where=DELIVERED,
            postgresql_where=DELIVERED,
        ),
    )

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True
    )
    message_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    insurer_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("insurers.id", ondelete="SET NULL")
    )
    # Not a foreign key: the event of a trip outlives the trip (an account erased).
    trip_id: Mapped[int | None]
    event_type: Mapped[str | None] = mapped_column(sa.String(32))  # « trajet.demande »…
    summary: Mapped[str] = mapped_column(sa.String(200))  # what `outbox show` prints
    payload: Mapped[str] = mapped_column(sa.Text)  # JSON: the e-mail, or the event's body
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    # The first failure of the current run of failures: the row is given up a day after
    # it. A row waiting behind an earlier one of its trip, or for its insurer's settings,
    # is not failing.
    failing_since: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    delivered_at: Mapped[datetime | None]
    dead_at: Mapped[datetime | None]

    @property
    def state(self) -> str:
        if self.delivered_at is not None:
            return "délivré"
        if self.dead_at is not None:
            return "abandonné"
        if self.attempts:
            return "en attente de nouvel essai"
        return "à envoyer"


class ApiToken(db.Model):
    """A bearer token an insurer's assistance uses on /api/; only its hash is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed: the command line (app/api/cli.py) lists an insurer's tokens.
    insurer_id: Mapped[int] = mapped_column(
        sa.ForeignKey("insurers.id", ondelete="CASCADE"), index=True
    )
    # The token's first characters, printed with it, name it for `--revoke`.
    prefix: Mapped[str] = mapped_column(sa.String(16), unique=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
