"""Changing an insurer's settings (`flask insurer set`): every value checked, then committed.

Nothing is written when one value is refused: the French reasons come back together in an
`InsurerError`. A new logo is written under a fresh random name before the commit and the
old file removed after it, so a failed change leaves the previous logo in place.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from app.auth.validators import normalize_email
from app.embedding import rules
from app.models import Insurer, InsurerOrigin
from app.outbox import flow
from app.outbox.channels import new_webhook_secret
from app.roster.insurers import (
    NAME_LENGTH,
    NAME_MESSAGE,
    ORIGIN_MESSAGE,
    PHONE_MESSAGE,
    InsurerError,
    normalize_origin,
    normalize_phone,
)

log = logging.getLogger("cartable.embedding")

EMAIL_MESSAGE = (
    "L'adresse e-mail d'assistance « {email} » est invalide, par exemple assistance@mutuelle.fr."
)
ORIGIN_UNKNOWN_MESSAGE = "L'origine « {origin} » n'est pas dans la liste de cette mutuelle."


@dataclass
class Changes:
    """What to change; None leaves a value as it is, "" clears an optional one."""

    name: str | None = None
    phone: str | None = None
    email: str | None = None
    color: str | None = None
    logo: bytes | None = None
    remove_logo: bool = False
    add_origins: Iterable[str] = field(default_factory=tuple)
    remove_origins: Iterable[str] = field(default_factory=tuple)
    # Trip events: to a webhook (signed with a secret made here) or into a folder.
    flow_webhook: str | None = None
    flow_folder: str | None = None
    rotate_flow_secret: bool = False


def _optional(raw: str | None, normalize, message: str, messages: list[str]):
    """(changed, value): an empty string clears the value."""
    if raw is None:
        return False, None
    if not raw.strip():
        return True, None
    value = normalize(raw)
    if value is None:
        messages.append(message)
    return True, value


def _flow_changes(insurer: Insurer, changes: Changes, messages: list[str]):
    """(channel, target, new secret) to set, or None when the delivery does not change."""
    if changes.flow_webhook is not None and changes.flow_folder is not None:
        messages.append(flow.BOTH_MESSAGE)
        return None
    if changes.flow_webhook is not None:
        url = flow.normalize_webhook_url(changes.flow_webhook)
        if url is None:
            messages.append(flow.WEBHOOK_URL_MESSAGE.format(url=changes.flow_webhook))
            return None
        fresh = changes.rotate_flow_secret or insurer.flow_secret is None
        return "webhook", url, new_webhook_secret() if fresh else None
    if changes.flow_folder is not None:
        problem = flow.folder_problem(changes.flow_folder)
        if problem:
            messages.append(problem)
            return None
        if changes.rotate_flow_secret:
            messages.append(flow.ROTATE_MESSAGE)
            return None
        return "folder", str(Path(changes.flow_folder).expanduser().resolve()), None
    if changes.rotate_flow_secret:
        if insurer.flow_channel != "webhook":
            messages.append(flow.ROTATE_MESSAGE)
            return None
        if flow.normalize_webhook_url(insurer.flow_target) is None:
            # Set before webhooks had to be https: a new secret would not make it safe.
            messages.append(flow.WEBHOOK_URL_MESSAGE.format(url=insurer.flow_target))
            return None
        return "webhook", insurer.flow_target, new_webhook_secret()
    return None


def update_insurer(
    session: Session, insurer: Insurer, changes: Changes, folder: Path
) -> str | None:
    """Apply the changes and commit; InsurerError with every reason when one is refused.

    Returns the new webhook secret when one was made: the only time it is shown.
    """
    messages: list[str] = []
    flow_change = _flow_changes(insurer, changes, messages)
    name = None
    if changes.name is not None:
        name = " ".join(changes.name.split())
        if not name or len(name) > NAME_LENGTH:
            messages.append(NAME_MESSAGE)
    phone = _optional(
        changes.phone, normalize_phone, PHONE_MESSAGE.format(phone=changes.phone), messages
    )
    email = _optional(
        changes.email, normalize_email, EMAIL_MESSAGE.format(email=changes.email), messages
    )
    color = (False, None)
    if changes.color is not None:
        problem = rules.color_problem(changes.color) if changes.color.strip() else None
        if problem:
            messages.append(problem)
        color = (True, rules.normalize_color(changes.color))
    logo = None
    if changes.logo is not None:
        try:
            logo = rules.check_logo(changes.logo)
        except rules.LogoError as error:
            messages.append(str(error))
    current = {origin.origin: origin for origin in insurer.origins}
    added, removed = [], []
    for raw in changes.add_origins:
        origin = normalize_origin(raw)
        if origin is None:
            messages.append(ORIGIN_MESSAGE.format(origin=raw))
        elif origin not in current and origin not in added:
            added.append(origin)
    for raw in changes.remove_origins:
        origin = normalize_origin(raw)
        if origin not in current:
            messages.append(ORIGIN_UNKNOWN_MESSAGE.format(origin=raw))
        elif origin not in added:
            removed.append(current[origin])
    if messages:
        raise InsurerError(messages)

    if name is not None:
        insurer.name = name
    if phone[0]:
        insurer.phone = phone[1]
    if email[0]:
        insurer.email = email[1]
    if color[0]:
        insurer.primary_color = color[1]
    for origin in removed:
        insurer.origins.remove(origin)
    insurer.origins.extend(InsurerOrigin(origin=origin) for origin in added)
    new_secret = None
    if flow_change is not None:
        insurer.flow_channel, insurer.flow_target, new_secret = flow_change
        if new_secret:
            insurer.flow_secret = new_secret

    old_logo = insurer.logo_stored_name
    written = None
    if logo is not None:
        written = _write_logo(folder, logo)
        insurer.logo_stored_name, insurer.logo_media_type = written, logo.media_type
    elif changes.remove_logo:
        insurer.logo_stored_name = insurer.logo_media_type = None
    try:
        session.commit()
    except BaseException:
        session.rollback()
        if written:
            _remove(folder, written)
        raise
    if old_logo and old_logo != insurer.logo_stored_name:
        _remove(folder, old_logo)
    return new_secret


def _write_logo(folder: Path, logo: rules.Logo) -> str:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    name = f"logo-{secrets.token_hex(16)}.{logo.extension}"
    descriptor = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as target:
        target.write(logo.content)
    return name


def _remove(folder: Path, name: str) -> None:
    try:
        (folder / name).unlink(missing_ok=True)
    except OSError:
        log.exception("could not remove the logo %s", name)
