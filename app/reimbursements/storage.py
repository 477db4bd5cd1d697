"""Supporting documents on disk: inspected in memory, written under a random name, erased.

Files live in `UPLOAD_FOLDER` (outside the web root, a mounted volume in production). They
are written only once the whole request validated and its rows are flushed; if the commit
fails, what was written is removed, so a failed request leaves nothing behind.
"""

import hashlib
import io
import logging
import os
import secrets
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import sqlalchemy as sa
from flask import Response, current_app, send_file
from werkzeug.datastructures import FileStorage

from app.extensions import db
from app.models import Account, Document, ReimbursementRequest
from app.reimbursements import rules

log = logging.getLogger("cartable.reimbursements")

_CHUNK = 64 * 1024


@dataclass
class Upload:
    """A file of the form, inspected: what it is (by content), its size and digest."""

    stream: BinaryIO
    name: str
    size: int
    media_type: str | None
    sha256: str

    @property
    def problem(self) -> str | None:
        return rules.document_problem(self.name, self.size, self.media_type)


def inspect(storage: FileStorage) -> Upload:
    """Read one uploaded file through: its type from its first bytes, its size and SHA-256."""
    stream = storage.stream
    stream.seek(0)
    head = stream.read(rules.SNIFF_BYTES)
    digest = hashlib.sha256(head)
    size = len(head)
    # Past the limit there is nothing more to learn: stop reading, the file is refused.
    while size <= rules.MAX_DOCUMENT_BYTES and (chunk := stream.read(_CHUNK)):
        digest.update(chunk)
        size += len(chunk)
    return Upload(
        stream=stream,
        name=rules.display_name(storage.filename or ""),
        size=size,
        media_type=rules.detect_media_type(head),
        sha256=digest.hexdigest(),
    )


def folder() -> Path:
    path = Path(current_app.config["UPLOAD_FOLDER"])
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def path_of(document: Document) -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"]) / document.stored_name


def new_document(upload: Upload) -> Document:
    """The row for an inspected upload, with a fresh random stored name (nothing written yet)."""
    return Document(
        original_name=upload.name,
        stored_name=secrets.token_hex(16),
        media_type=upload.media_type,
        size=upload.size,
        sha256=upload.sha256,
    )


def _write(upload: Upload, destination: Path) -> None:
    upload.stream.seek(0)
    # O_EXCL: a random name never overwrites anything, even if the unthinkable collision happens.
    descriptor = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as target:
        shutil.copyfileobj(upload.stream, target, _CHUNK)


def remove(names: Iterable[str]) -> None:
    base = Path(current_app.config["UPLOAD_FOLDER"])
    for name in names:
        try:
            (base / name).unlink(missing_ok=True)
        except OSError:
            log.exception("could not remove the stored document %s", name)


@contextmanager
def committing(pairs: list[tuple[Upload, Document]]) -> Iterator[None]:
    """Flush the rows, write the files, run the caller's block, commit; undo all on failure."""
    written: list[str] = []
    try:
        db.session.flush()
        base = folder()
        for upload, document in pairs:
            _write(upload, base / document.stored_name)
            written.append(document.stored_name)
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        remove(written)
        raise


# --- Account deletion ---------------------------------------------------------------------
# The database erases an account's requests and documents by ON DELETE CASCADE; the files
# must go too, once (and only if) the deletion is committed.

_PENDING_KEY = "reimbursement_files_to_remove"


def _collect_files_of_deleted_accounts(session, flush_context, instances) -> None:
    account_ids = [obj.id for obj in session.deleted if isinstance(obj, Account)]
    if not account_ids:
        return
    with session.no_autoflush:
        names = session.scalars(
            sa.select(Document.stored_name)
            .join(ReimbursementRequest, Document.request_id == ReimbursementRequest.id)
            .where(ReimbursementRequest.account_id.in_(account_ids))
        ).all()
    session.info.setdefault(_PENDING_KEY, []).extend(names)


def _remove_after_commit(session) -> None:
    names = session.info.pop(_PENDING_KEY, None)
    if names:
        remove(names)


def _forget_after_rollback(session, previous_transaction) -> None:
    session.info.pop(_PENDING_KEY, None)


def register_cleanup() -> None:
    """Remove the stored files of deleted accounts after the deletion is committed."""
    if sa.event.contains(db.session, "before_flush", _collect_files_of_deleted_accounts):
        return
    sa.event.listen(db.session, "before_flush", _collect_files_of_deleted_accounts)
    sa.event.listen(db.session, "after_commit", _remove_after_commit)
    sa.event.listen(db.session, "after_soft_rollback", _forget_after_rollback)


# A stored document is shown on its own: no script, its image or PDF only, never cached.
DOCUMENT_CSP = "default-src 'none'; img-src 'self'; object-src 'self'; frame-ancestors {}"
# Only types a browser shows safely are opened in the page; anything else is downloaded.
INLINE_MEDIA_TYPES = frozenset(rules.ACCEPTED_MEDIA_TYPES)


def document_response(
    document: Document, data: bytes, *, view: bool, frame_ancestors: str
) -> Response:
    """A document's bytes: shown in the browser when viewed and displayable, else a download."""
    inline = view and document.media_type in INLINE_MEDIA_TYPES
    response = send_file(
        io.BytesIO(data),
        mimetype=document.media_type,
        as_attachment=not inline,
        download_name=document.original_name,
        conditional=False,
        etag=False,
        max_age=0,
    )
    response.headers["Cache-Control"] = "no-store, private"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = DOCUMENT_CSP.format(frame_ancestors)
    return response
