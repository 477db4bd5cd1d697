"""Reimbursement requests, their supporting documents, status history and access log.

Supporting documents are health-related personal data: the files live outside the web
root under a random name, and every view or download is written to `DocumentAccess`.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.clock import utcnow
from app.extensions import db
from app.models.accounts import Account
from app.models.roster import AssistanceFile
from app.models.types import enum_column

# 10 000 € in cents: the most a single request may claim.
MAX_AMOUNT_CENTS = 1_000_000


class ReimbursementStatus(enum.StrEnum):
    RECEIVED = "recue"
    IN_PROGRESS = "en_cours"
    ACCEPTED = "acceptee"
    REFUSED = "refusee"

    @property
    def label(self) -> str:
        return REIMBURSEMENT_STATUS_LABELS[self]

    @property
    def accepts_documents(self) -> bool:
        """Documents can be added while the desk has not decided yet."""
        return self in (ReimbursementStatus.RECEIVED, ReimbursementStatus.IN_PROGRESS)


REIMBURSEMENT_STATUS_LABELS = {
    ReimbursementStatus.RECEIVED: "Reçue",
    ReimbursementStatus.IN_PROGRESS: "En cours",
    ReimbursementStatus.ACCEPTED: "Acceptée",
    ReimbursementStatus.REFUSED: "Refusée",
}


class DocumentAction(enum.StrEnum):
    VIEW = "view"
    DOWNLOAD = "download"


class ReimbursementRequest(db.Model):
    """An expense advanced by the member within an assistance file, claimed back."""

    __tablename__ = "reimbursement_requests"
    __table_args__ = (
        sa.CheckConstraint(
            f"amount_cents > 0 AND amount_cents <= {MAX_AMOUNT_CENTS}", name="amount_range"
        ),
        sa.Index("ix_reimbursement_requests_account_created", "account_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Readable reference given to the member and the desk, e.g. R-2026-000123.
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    # RESTRICT: a roster import must not silently erase a member's claims.
    assistance_file_id: Mapped[int] = mapped_column(
        sa.ForeignKey("assistance_files.id", ondelete="RESTRICT"), index=True
    )
    nature: Mapped[str] = mapped_column(sa.String(200))
    expense_date: Mapped[date]
    amount_cents: Mapped[int]
    holder_name: Mapped[str] = mapped_column(sa.String(140))
    iban: Mapped[str] = mapped_column(sa.String(34))  # compact, upper case
    status: Mapped[ReimbursementStatus] = mapped_column(
        enum_column(ReimbursementStatus, "reimbursement_status"),
        default=ReimbursementStatus.RECEIVED,
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    account: Mapped[Account] = relationship()
    assistance_file: Mapped[AssistanceFile] = relationship()
    documents: Mapped[list[Document]] = relationship(
        back_populates="request",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Document.id",
    )
    history: Mapped[list[StatusChange]] = relationship(
        back_populates="request",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="StatusChange.id",
    )


class Document(db.Model):
    """A supporting document; `original_name` is display text only, never a path."""

    __tablename__ = "reimbursement_documents"
    __table_args__ = (sa.CheckConstraint("size > 0", name="not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        sa.ForeignKey("reimbursement_requests.id", ondelete="CASCADE"), index=True
    )
    original_name: Mapped[str] = mapped_column(sa.String(255))
    stored_name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    media_type: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    request: Mapped[ReimbursementRequest] = relationship(back_populates="documents")


class StatusChange(db.Model):
    """One line of a request's history: its status, when, who, and an optional comment."""

    __tablename__ = "reimbursement_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        sa.ForeignKey("reimbursement_requests.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[ReimbursementStatus] = mapped_column(
        enum_column(ReimbursementStatus, "reimbursement_status")
    )
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # « Assistance » for the desk, or the member's name.
    changed_by: Mapped[str] = mapped_column(sa.String(150))
    comment: Mapped[str | None] = mapped_column(sa.Text)

    request: Mapped[ReimbursementRequest] = relationship(back_populates="history")


class DocumentAccess(db.Model):
    """Access log of health data: who viewed or downloaded which document, when, from where."""

    __tablename__ = "reimbursement_document_accesses"
    __table_args__ = (
        sa.Index("ix_reimbursement_document_accesses_account_at", "account_id", "accessed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    document_id: Mapped[int] = mapped_column(
        sa.ForeignKey("reimbursement_documents.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[DocumentAction] = mapped_column(enum_column(DocumentAction, "document_action"))
    accessed_at: Mapped[datetime] = mapped_column(default=utcnow)
    ip: Mapped[str | None] = mapped_column(sa.String(45))

    document: Mapped[Document] = relationship()
