"""Login identities, their sessions and the audit trail of authentication events."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.clock import utcnow
from app.extensions import db
from app.models.roster import Member
from app.models.types import LoginSessionColumns, enum_column


class Account(db.Model):
    """A login identity, linked to exactly one registering member."""

    __tablename__ = "accounts"
    __table_args__ = (sa.CheckConstraint("email = lower(email)", name="email_lower_case"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(
        sa.ForeignKey("members.id", ondelete="RESTRICT"), unique=True
    )
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    pending_email: Mapped[str | None] = mapped_column(sa.String(254))
    phone: Mapped[str] = mapped_column(sa.String(20))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Bumped each time a link of that kind is e-mailed, so that older links stop working.
    confirm_nonce: Mapped[int] = mapped_column(default=0, server_default="0")
    reset_nonce: Mapped[int] = mapped_column(default=0, server_default="0")

    member: Mapped[Member] = relationship(back_populates="account", lazy="joined")
    sessions: Mapped[list[UserSession]] = relationship(
        back_populates="account", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None


class UserSession(LoginSessionColumns, db.Model):
    """A logged-in browser; deleting the row logs that browser out. It ends after
    SESSION_IDLE_MINUTES without a request (last_seen_at)."""

    __tablename__ = "user_sessions"

    account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    # The login, or the latest time the password was typed again in this session.
    password_entered_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_agent: Mapped[str | None] = mapped_column(sa.String(255))

    account: Mapped[Account] = relationship(back_populates="sessions")


class AuthEventKind(enum.StrEnum):
    REGISTER = "register"
    CONFIRM = "confirm"
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGIN_REFUSED_OFFER = "login_refused_offer"
    LOGOUT = "logout"
    RESET_REQUESTED = "reset_requested"
    RESET = "reset"
    PASSWORD_CHANGED = "password_changed"
    EMAIL_CHANGED = "email_changed"
    ACCOUNT_DELETED = "account_deleted"


class AuthEvent(db.Model):
    """Audit trail of authentication events: who, what, when, from where; never a secret."""

    __tablename__ = "auth_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[AuthEventKind] = mapped_column(enum_column(AuthEventKind, "auth_event_kind"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    ip: Mapped[str | None] = mapped_column(sa.String(45))
