"""Insurers and what their roster feeds bring: members, offers, assistance files."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.clock import utcnow
from app.extensions import db
from app.models.types import enum_column


class Quality(enum.StrEnum):
    """A person's role on the insurance contract, as the roster names it."""

    ADHERENT = "adherent"
    SOUSCRIPTEUR = "souscripteur"
    CONJOINT = "conjoint"
    ENFANT = "enfant"

    @property
    def label(self) -> str:
        return QUALITY_LABELS[self]

    @property
    def can_register(self) -> bool:
        return self in (Quality.ADHERENT, Quality.SOUSCRIPTEUR)


QUALITY_LABELS = {
    Quality.ADHERENT: "Adhérent",
    Quality.SOUSCRIPTEUR: "Souscripteur",
    Quality.CONJOINT: "Conjoint",
    Quality.ENFANT: "Enfant",
}


class GuaranteeKind(enum.StrEnum):
    SCHOOL = "conduite_ecole"
    EXAM = "transport_examens"

    @property
    def label(self) -> str:
        return GUARANTEE_LABELS[self]


GUARANTEE_LABELS = {
    GuaranteeKind.SCHOOL: "Conduite à l'école",
    GuaranteeKind.EXAM: "Transport aux examens scolaires",
}


class Insurer(db.Model):
    __tablename__ = "insurers"
    __table_args__ = (
        sa.CheckConstraint(
            "(logo_stored_name IS NULL) = (logo_media_type IS NULL)", name="logo_pair"
        ),
        sa.CheckConstraint(
            "logo_media_type IN ('image/png', 'image/svg+xml')", name="logo_media_type"
        ),
        sa.CheckConstraint("flow_channel IN ('webhook', 'folder')", name="flow_channel"),
        sa.CheckConstraint("(flow_channel IS NULL) = (flow_target IS NULL)", name="flow_pair"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Branding shown in the insurer's context (see app/embedding): assistance e-mail, primary
    # colour `#rrggbb`, logo file stored under UPLOAD_FOLDER with its media type.
    email: Mapped[str | None] = mapped_column(sa.String(254))
    primary_color: Mapped[str | None] = mapped_column(sa.String(7))
    logo_stored_name: Mapped[str | None] = mapped_column(sa.String(64))
    logo_media_type: Mapped[str | None] = mapped_column(sa.String(32))
    # Where trip events go (app/outbox/flow.py): `webhook` to an URL, signed with `flow_secret`
    # (« whsec_… », kept to sign), or `folder` to a directory; none: they wait.
    flow_channel: Mapped[str | None] = mapped_column(sa.String(16))
    flow_target: Mapped[str | None] = mapped_column(sa.String(500))
    flow_secret: Mapped[str | None] = mapped_column(sa.String(100))

    origins: Mapped[list[InsurerOrigin]] = relationship(
        back_populates="insurer", cascade="all, delete-orphan", order_by="InsurerOrigin.origin"
    )

    def __repr__(self) -> str:
        return f"<Insurer {self.slug}>"


class InsurerOrigin(db.Model):
    """A web origin (`scheme://host[:port]`) allowed to embed the insurer's portal."""

    __tablename__ = "insurer_origins"
    __table_args__ = (sa.UniqueConstraint("insurer_id", "origin"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    insurer_id: Mapped[int] = mapped_column(sa.ForeignKey("insurers.id", ondelete="CASCADE"))
    origin: Mapped[str] = mapped_column(sa.String(255))

    insurer: Mapped[Insurer] = relationship(back_populates="origins")


def age_on(born: date, day: date) -> int:
    """Age in whole years on `day` of a person born on `born`."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


class Member(db.Model):
    """A person of an insurer's roster; the family shares the member number."""

    __tablename__ = "members"
    __table_args__ = (
        sa.UniqueConstraint(
            "insurer_id", "member_number", "last_name_key", "first_name_key", "birth_date"
        ),
        sa.Index("ix_members_lookup", "insurer_id", "member_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    insurer_id: Mapped[int] = mapped_column(sa.ForeignKey("insurers.id", ondelete="CASCADE"))
    member_number: Mapped[str] = mapped_column(sa.String(32))
    quality: Mapped[Quality] = mapped_column(enum_column(Quality, "quality"))
    last_name: Mapped[str] = mapped_column(sa.String(100))
    first_name: Mapped[str] = mapped_column(sa.String(100))
    # Names folded for matching (no case, accents, hyphens or repeated spaces).
    last_name_key: Mapped[str] = mapped_column(sa.String(100))
    first_name_key: Mapped[str] = mapped_column(sa.String(100))
    birth_date: Mapped[date]
    # When the member deleted their account: the desk then reads « Supprimé ».
    account_deleted_at: Mapped[datetime | None]

    insurer: Mapped[Insurer] = relationship()
    offers: Mapped[list[Offer]] = relationship(
        back_populates="member", cascade="all, delete-orphan", order_by="Offer.starts_on"
    )
    account: Mapped[Account | None] = relationship(back_populates="member")  # noqa: F821

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def age_on(self, day: date) -> int:
        return age_on(self.birth_date, day)


class Offer(db.Model):
    """The subscription that gives a member access to the service, between two dates."""

    __tablename__ = "offers"
    __table_args__ = (
        sa.UniqueConstraint("member_id", "starts_on"),
        sa.CheckConstraint("ends_on >= starts_on", name="period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id", ondelete="CASCADE"))
    starts_on: Mapped[date]
    ends_on: Mapped[date]

    member: Mapped[Member] = relationship(back_populates="offers")


class AssistanceFile(db.Model):
    """An assistance file opened by the desk for a family (its member number)."""

    __tablename__ = "assistance_files"
    __table_args__ = (
        sa.UniqueConstraint("insurer_id", "number"),
        sa.Index("ix_assistance_files_family", "insurer_id", "member_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    insurer_id: Mapped[int] = mapped_column(sa.ForeignKey("insurers.id", ondelete="CASCADE"))
    member_number: Mapped[str] = mapped_column(sa.String(32))
    number: Mapped[str] = mapped_column(sa.String(64))

    guarantees: Mapped[list[Guarantee]] = relationship(
        back_populates="assistance_file",
        cascade="all, delete-orphan",
        order_by="Guarantee.starts_on",
    )


class Guarantee(db.Model):
    __tablename__ = "guarantees"
    __table_args__ = (
        sa.UniqueConstraint("assistance_file_id", "kind"),
        sa.CheckConstraint("ends_on >= starts_on", name="period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assistance_file_id: Mapped[int] = mapped_column(
        sa.ForeignKey("assistance_files.id", ondelete="CASCADE")
    )
    kind: Mapped[GuaranteeKind] = mapped_column(enum_column(GuaranteeKind, "guarantee_kind"))
    starts_on: Mapped[date]
    ends_on: Mapped[date]

    assistance_file: Mapped[AssistanceFile] = relationship(back_populates="guarantees")

    def covers(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on
