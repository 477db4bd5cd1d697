"""Reimbursement operations that touch the database and the disk; e-mails go to the outbox."""

import logging
import secrets
from datetime import UTC, date, datetime, time

import sqlalchemy as sa
from flask import url_for
from sqlalchemy.orm import joinedload, selectinload

from app.auth_session import MemberRef
from app.clock import PARIS, today, utcnow
from app.email import public_url, send_email
from app.extensions import db
from app.models import (
    Account,
    AssistanceFile,
    Document,
    DocumentAccess,
    DocumentAction,
    Member,
    ReimbursementRequest,
    ReimbursementStatus,
    StatusChange,
)
from app.reimbursements import rules, storage
from app.reimbursements.storage import Upload

log = logging.getLogger("cartable.reimbursements")

DESK = "Assistance"


def assistance_files_of(member: Member | MemberRef) -> list[AssistanceFile]:
    """The assistance files of the member's family, with their guarantees."""
    return list(
        db.session.scalars(
            sa.select(AssistanceFile)
            .where(
                AssistanceFile.insurer_id == member.insurer_id,
                AssistanceFile.member_number == member.member_number,
            )
            .options(selectinload(AssistanceFile.guarantees))
            .order_by(AssistanceFile.number)
        )
    )


def first_guarantee_start(file: AssistanceFile) -> date | None:
    """The day the file's earliest guarantee starts: no expense can predate it."""
    return min((g.starts_on for g in file.guarantees), default=None)


def requests_of(account_id: int) -> list[ReimbursementRequest]:
    """The account's requests, newest first, with their assistance file."""
    return list(
        db.session.scalars(
            sa.select(ReimbursementRequest)
            .where(ReimbursementRequest.account_id == account_id)
            .options(joinedload(ReimbursementRequest.assistance_file))
            .order_by(ReimbursementRequest.created_at.desc(), ReimbursementRequest.id.desc())
        )
    )


def request_of(account_id: int, number: str) -> ReimbursementRequest | None:
    """One of the account's requests by its number, with documents and history; else None."""
    return db.session.scalar(
        sa.select(ReimbursementRequest)
        .where(
            ReimbursementRequest.account_id == account_id,
            ReimbursementRequest.number == number,
        )
        .options(
            joinedload(ReimbursementRequest.assistance_file),
            selectinload(ReimbursementRequest.documents),
            selectinload(ReimbursementRequest.history),
        )
    )


def document_of(account: Account, number: str, document_id: int) -> Document | None:
    """A document of one of the account's requests; None for anyone else's."""
    return db.session.scalar(
        sa.select(Document)
        .join(ReimbursementRequest, Document.request_id == ReimbursementRequest.id)
        .where(
            Document.id == document_id,
            ReimbursementRequest.number == number,
            ReimbursementRequest.account_id == account.id,
        )
    )


def hold_quotas(account_id: int) -> None:
    """Make the account's uploads wait for one another until this transaction ends, so that
    its limits are counted on committed figures: two requests sent at the same moment cannot
    both pass as the 20th of the day, nor both fit in the last megabytes, nor two
    completions both add the 5th document.

    A write to the account's row rather than SELECT … FOR UPDATE: it locks that row on
    PostgreSQL and takes the database's write lock on SQLite, where FOR UPDATE does not
    exist. It changes nothing; the commit or the rollback that ends the request frees it.
    Taken after the upload's body is read (not while a slow sender streams it), and before
    any other row of the account is locked, as deleting the account locks its row first.
    """
    accounts = Account.__table__
    db.session.connection().execute(
        sa.update(accounts).where(accounts.c.id == account_id).values(id=accounts.c.id)
    )


def requests_sent_today(account_id: int) -> int:
    """How many requests the account filed today (Paris day)."""
    midnight = datetime.combine(today(), time(0), tzinfo=PARIS)
    since = midnight.astimezone(UTC).replace(tzinfo=None)
    return db.session.scalar(
        sa.select(sa.func.count(ReimbursementRequest.id)).where(
            ReimbursementRequest.account_id == account_id,
            ReimbursementRequest.created_at >= since,
        )
    )


def stored_bytes(account_id: int) -> int:
    """The size of every document the account's requests hold."""
    return db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Document.size), 0))
        .join(ReimbursementRequest, Document.request_id == ReimbursementRequest.id)
        .where(ReimbursementRequest.account_id == account_id)
    )


def create_request(
    account: Account,
    *,
    assistance_file: AssistanceFile,
    nature: str,
    expense_date: date,
    amount_cents: int,
    holder_name: str,
    iban: str,
    uploads: list[Upload],
) -> ReimbursementRequest:
    """Record a validated request and store its documents, all or nothing; the
    acknowledgement e-mail is queued in the same transaction. Commits."""
    reimbursement = ReimbursementRequest(
        # Replaced by the readable number once the row has its id (same transaction).
        number="tmp-" + secrets.token_hex(8),
        account_id=account.id,
        assistance_file=assistance_file,
        nature=nature,
        expense_date=expense_date,
        amount_cents=amount_cents,
        holder_name=holder_name,
        iban=iban,
        status=ReimbursementStatus.RECEIVED,
    )
    reimbursement.history.append(
        StatusChange(status=ReimbursementStatus.RECEIVED, changed_by=account.member.full_name)
    )
    pairs = [(upload, storage.new_document(upload)) for upload in uploads]
    reimbursement.documents.extend(document for _, document in pairs)
    db.session.add(reimbursement)
    with storage.committing(pairs):
        reimbursement.number = rules.request_number(today().year, reimbursement.id)
        send_acknowledgement(account, reimbursement)
    return reimbursement


def add_documents(
    account: Account, reimbursement: ReimbursementRequest, uploads: list[Upload]
) -> None:
    """« Compléter ma demande »: store more documents and note it in the history. Commits."""
    pairs = [(upload, storage.new_document(upload)) for upload in uploads]
    reimbursement.documents.extend(document for _, document in pairs)
    count = len(pairs)
    reimbursement.history.append(
        StatusChange(
            status=reimbursement.status,
            changed_by=account.member.full_name,
            comment=f"{count} justificatif{'s' if count > 1 else ''} "
            f"ajouté{'s' if count > 1 else ''}.",
        )
    )
    reimbursement.updated_at = utcnow()
    with storage.committing(pairs):
        pass  # rows flushed and files written: nothing else to do before the commit


def set_status(
    reimbursement: ReimbursementRequest,
    status: ReimbursementStatus,
    comment: str | None,
    changed_by: str = DESK,
) -> StatusChange:
    """The desk moves a request to a status; the history keeps it, the member is e-mailed
    (queued with the change). Commits; needs a request context for the e-mail's link."""
    change = StatusChange(status=status, changed_by=changed_by, comment=comment or None)
    reimbursement.status = status
    reimbursement.history.append(change)
    send_status_change(reimbursement.account, reimbursement, change)
    db.session.commit()
    return change


def record_access(account: Account, document: Document, action: DocumentAction, ip: str | None):
    """Write who opened which health document, how and from where. Commits."""
    db.session.add(
        DocumentAccess(account_id=account.id, document_id=document.id, action=action, ip=ip)
    )
    db.session.commit()


# --- E-mails ------------------------------------------------------------------------------


def _link(reimbursement: ReimbursementRequest) -> str:
    return public_url(url_for("reimbursements.detail", number=reimbursement.number))


def send_acknowledgement(account: Account, reimbursement: ReimbursementRequest) -> None:
    """E-mail the member that the request was received, with its number (the caller commits)."""
    send_email(
        account.email,
        f"Demande de remboursement {reimbursement.number} reçue",
        "reimbursement_received",
        account=account,
        reimbursement=reimbursement,
        amount=rules.format_amount(reimbursement.amount_cents),
        link=_link(reimbursement),
    )


def send_status_change(
    account: Account, reimbursement: ReimbursementRequest, change: StatusChange
) -> None:
    """E-mail the member the request's new status and the desk's comment (the caller commits)."""
    send_email(
        account.email,
        f"Demande de remboursement {reimbursement.number} : {change.status.label}",
        "reimbursement_status",
        account=account,
        reimbursement=reimbursement,
        change=change,
        amount=rules.format_amount(reimbursement.amount_cents),
        link=_link(reimbursement),
    )
