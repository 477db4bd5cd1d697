"""The support desk's own accounts, their sessions and second factor, and the access log.

Staff are never members: their own table, their own sessions and cookie (app/backoffice).
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.clock import utcnow
from app.extensions import db
from app.models.roster import Insurer
from app.models.types import LoginSessionColumns, enum_column


class StaffRole(enum.StrEnum):
    AGENT = "agent"
    MANAGER = "gestionnaire"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return STAFF_ROLE_LABELS[self]

    @property
    def processes_requests(self) -> bool:
        return self in (StaffRole.MANAGER, StaffRole.ADMIN)

    @property
    def reads_access_log(self) -> bool:
        return self is StaffRole.ADMIN


STAFF_ROLE_LABELS = {
    StaffRole.AGENT: "Agent",
    StaffRole.MANAGER: "Gestionnaire",
    StaffRole.ADMIN: "Administrateur",
}

staff_insurers = sa.Table(
    "staff_insurers",
    db.metadata,
    sa.Column("staff_id", sa.ForeignKey("staff_members.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("insurer_id", sa.ForeignKey("insurers.id", ondelete="CASCADE"), primary_key=True),
)


class StaffMember(db.Model):
    """A person of the assistance desk; with no insurer listed, they see every insurer."""

    __tablename__ = "staff_members"
    __table_args__ = (sa.CheckConstraint("email = lower(email)", name="email_lower_case"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(150))
    role: Mapped[StaffRole] = mapped_column(enum_column(StaffRole, "staff_role"))
    # Set by the invitation's password form; no login before it and the second factor.
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    totp_confirmed_at: Mapped[datetime | None]
    # The last 30-second step whose code was accepted: that code and older ones are refused.
    totp_last_step: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    # Bumped by each invitation, so that an older invitation link stops working.
    invitation_nonce: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None]

    insurers: Mapped[list[Insurer]] = relationship(
        secondary=staff_insurers, order_by=Insurer.name, lazy="selectin"
    )

    @property
    def insurer_ids(self) -> frozenset[int] | None:
        """The insurers in scope, or None for every insurer (the assistance's own staff)."""
        return frozenset(i.id for i in self.insurers) if self.insurers else None

    @property
    def is_enrolled(self) -> bool:
        return self.password_hash is not None and self.totp_confirmed_at is not None


class StaffRecoveryCode(db.Model):
    """A single-use recovery code, stored as a SHA-256 of its 50 random bits."""

    __tablename__ = "staff_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(
        sa.ForeignKey("staff_members.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    used_at: Mapped[datetime | None]


class StaffSession(LoginSessionColumns, db.Model):
    """A staff login on one browser; the cookie `cartable_staff` holds its random token."""

    __tablename__ = "staff_sessions"

    staff_id: Mapped[int] = mapped_column(
        sa.ForeignKey("staff_members.id", ondelete="CASCADE"), index=True
    )

    staff: Mapped[StaffMember] = relationship(lazy="joined")


class AccessAction(enum.StrEnum):
    LOGIN = "connexion"
    LOGIN_FAILED = "connexion_refusee"
    LOGOUT = "deconnexion"
    SEARCH = "recherche"
    MEMBER_VIEWED = "dossier_consulte"
    DOCUMENT_OPENED = "justificatif_ouvert"
    REQUEST_VIEWED = "demande_consultee"
    REQUESTS_VIEWED = "demandes_consultees"
    STATUS_CHANGED = "statut_modifie"
    CONFIRMATION_RESENT = "confirmation_renvoyee"
    SESSIONS_CLOSED = "sessions_fermees"
    TRIPS_VIEWED = "trajets_consultes"
    TRIPS_EXPORTED = "trajets_exportes"
    LOG_EXPORTED = "journal_exporte"

    @property
    def label(self) -> str:
        return ACCESS_ACTION_LABELS[self]


ACCESS_ACTION_LABELS = {
    AccessAction.LOGIN: "Connexion",
    AccessAction.LOGIN_FAILED: "Connexion refusée",
    AccessAction.LOGOUT: "Déconnexion",
    AccessAction.SEARCH: "Recherche d'adhérents",
    AccessAction.MEMBER_VIEWED: "Dossier consulté",
    AccessAction.DOCUMENT_OPENED: "Justificatif ouvert",
    AccessAction.REQUEST_VIEWED: "Demande de remboursement consultée",
    AccessAction.REQUESTS_VIEWED: "File des demandes de remboursement consultée",
    AccessAction.STATUS_CHANGED: "Statut de demande modifié",
    AccessAction.CONFIRMATION_RESENT: "E-mail de confirmation renvoyé",
    AccessAction.SESSIONS_CLOSED: "Sessions de l'adhérent fermées",
    AccessAction.TRIPS_VIEWED: "Trajets du jour consultés",
    AccessAction.TRIPS_EXPORTED: "Trajets du jour exportés",
    AccessAction.LOG_EXPORTED: "Journal exporté",
}


class AccessLogEntry(db.Model):
    """Who of the desk looked at what, when, from where: insert only.

    The member is kept as an id and a readable reference, with no foreign key: the log
    outlives roster changes, and on PostgreSQL a trigger refuses any UPDATE or DELETE.
    """

    __tablename__ = "access_log"
    __table_args__ = (
        sa.Index("ix_access_log_staff_at", "staff_id", "created_at"),
        sa.Index("ix_access_log_member_at", "member_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_members.id", ondelete="RESTRICT"))
    action: Mapped[AccessAction] = mapped_column(enum_column(AccessAction, "access_action"))
    insurer_id: Mapped[int | None]
    member_id: Mapped[int | None]
    member_ref: Mapped[str | None] = mapped_column(sa.String(250))
    detail: Mapped[str | None] = mapped_column(sa.String(250))
    ip: Mapped[str | None] = mapped_column(sa.String(45))

    staff: Mapped[StaffMember] = relationship()
