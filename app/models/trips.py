"""The family's addresses and the school trips booked between them."""

from __future__ import annotations

import enum
from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.clock import paris_year, utcnow
from app.extensions import db
from app.models.roster import Member
from app.models.types import enum_column


class AddressKind(enum.StrEnum):
    HOME = "domicile"
    PRIMARY_SCHOOL = "ecole_primaire"
    MIDDLE_SCHOOL = "college"
    HIGH_SCHOOL = "lycee"
    OTHER = "autre"

    @property
    def label(self) -> str:
        return ADDRESS_KIND_LABELS[self]


ADDRESS_KIND_LABELS = {
    AddressKind.HOME: "Domicile",
    AddressKind.PRIMARY_SCHOOL: "École primaire",
    AddressKind.MIDDLE_SCHOOL: "Collège",
    AddressKind.HIGH_SCHOOL: "Lycée",
    AddressKind.OTHER: "Autre",
}


class TripPurpose(enum.StrEnum):
    SCHOOL = "ecole"
    EXAM = "examen"

    @property
    def label(self) -> str:
        return TRIP_PURPOSE_LABELS[self]


TRIP_PURPOSE_LABELS = {TripPurpose.SCHOOL: "École", TripPurpose.EXAM: "Examen"}


class TripStatus(enum.StrEnum):
    """Where the trip stands with the assistance (PRODUCT.md, « Trip statuses »)."""

    REQUESTED = "demande"  # booked, not yet sent
    SENT = "transmis"  # the assistance received it
    CONFIRMED = "confirme"  # a transporter is assigned
    DONE = "realise"
    CANCELLED = "annule"  # by the parent
    CANCELLED_BY_ASSISTANCE = "annule_assistance"

    @property
    def label(self) -> str:
        return TRIP_STATUS_LABELS[self]


TRIP_STATUS_LABELS = {
    TripStatus.REQUESTED: "Demandé",
    TripStatus.SENT: "Transmis",
    TripStatus.CONFIRMED: "Confirmé",
    TripStatus.DONE: "Réalisé",
    TripStatus.CANCELLED: "Annulé",
    TripStatus.CANCELLED_BY_ASSISTANCE: "Annulé par l'assistance",
}


class Address(db.Model):
    """A complete postal address of the family; archived, never erased, once trips used it."""

    __tablename__ = "addresses"
    __table_args__ = (
        # « Intitulé » is unique among the account's current addresses.
        sa.Index(
            "uq_addresses_account_label",
            "account_id",
            "label_key",
            unique=True,
            sqlite_where=sa.text("archived_at IS NULL"),
            postgresql_where=sa.text("archived_at IS NULL"),
        ),
        sa.CheckConstraint("length(postal_code) = 5", name="postal_code_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(sa.String(100))
    # The label folded (case, accents, spaces) so that « Maison » and « maison » collide.
    label_key: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[AddressKind] = mapped_column(enum_column(AddressKind, "address_kind"))
    street: Mapped[str] = mapped_column(sa.String(200))
    complement: Mapped[str | None] = mapped_column(sa.String(200))
    postal_code: Mapped[str] = mapped_column(sa.String(5))
    city: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    archived_at: Mapped[datetime | None]

    @property
    def one_line(self) -> str:
        return address_line(self.street, self.complement, self.postal_code, self.city)


def address_line(street: str, complement: str | None, postal_code: str, city: str) -> str:
    """« 12 rue des Lilas, Bâtiment B, 75011 Paris »: an address on one line."""
    parts = [street, complement, f"{postal_code} {city}"]
    return ", ".join(part for part in parts if part)


class Trip(db.Model):
    """One child, one date and hour (Paris local time), from one address to another."""

    __tablename__ = "trips"
    __table_args__ = (
        # One child cannot have two trips at the same time (cancelled trips excepted).
        sa.Index(
            "uq_trips_child_when",
            "child_id",
            "trip_date",
            "trip_time",
            unique=True,
            sqlite_where=sa.text("cancelled_at IS NULL"),
            postgresql_where=sa.text("cancelled_at IS NULL"),
        ),
        sa.Index("ix_trips_account_date", "account_id", "trip_date"),
        # The support desk's trips of a day, every family's (backoffice/queries.py).
        sa.Index("ix_trips_date_time", "trip_date", "trip_time"),
        sa.CheckConstraint("from_address_id <> to_address_id", name="distinct_addresses"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    child_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id", ondelete="CASCADE"))
    trip_date: Mapped[date]
    trip_time: Mapped[time]
    purpose: Mapped[TripPurpose] = mapped_column(enum_column(TripPurpose, "trip_purpose"))
    from_address_id: Mapped[int] = mapped_column(
        sa.ForeignKey("addresses.id", ondelete="CASCADE"), index=True
    )
    to_address_id: Mapped[int] = mapped_column(
        sa.ForeignKey("addresses.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    cancelled_at: Mapped[datetime | None]
    status: Mapped[TripStatus] = mapped_column(
        enum_column(TripStatus, "trip_status"),
        default=TripStatus.REQUESTED,
        server_default=TripStatus.REQUESTED.value,
    )
    # Set by the assistance (API or `flask trips set-status`).
    transporter_name: Mapped[str | None] = mapped_column(sa.String(200))
    transporter_phone: Mapped[str | None] = mapped_column(sa.String(20))
    status_reason: Mapped[str | None] = mapped_column(sa.String(500))
    status_changed_at: Mapped[datetime | None]

    child: Mapped[Member] = relationship()
    from_address: Mapped[Address] = relationship(foreign_keys=[from_address_id])
    to_address: Mapped[Address] = relationship(foreign_keys=[to_address_id])

    @property
    def number(self) -> str:
        return trip_number(self.id, self.created_at)


def trip_number(trip_id: int, created_at: datetime) -> str:
    """The public number « T-2026-000042 »: the booking's year in Paris and the trip's id."""
    return f"T-{paris_year(created_at)}-{trip_id:06d}"
