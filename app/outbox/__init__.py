"""Messages the portal owes, written as outbox rows in the caller's transaction.

Nothing here talks to the network: `add_email` and `add_event` add a row to the current
session, and the caller's commit writes it with the change that caused it. The worker
(`app/outbox/worker.py`, `flask --app wsgi worker`) delivers the rows.
"""

import json
import secrets

from app.extensions import db
from app.models import OutboxMessage


def new_message_id() -> str:
    """A stable, unique id: the webhook-id of every delivery of the message."""
    return "msg_" + secrets.token_hex(12)


def add_email(to: str, subject: str, text: str, html: str) -> OutboxMessage:
    """Queue a rendered e-mail in the current transaction."""
    row = OutboxMessage(
        message_id=new_message_id(),
        kind="email",
        summary=f"e-mail à {to} : {subject}"[:200],
        payload=json.dumps({"to": to, "subject": subject, "text": text, "html": html}),
    )
    db.session.add(row)
    return row


def add_event(
    message_id: str, event_type: str, insurer_id: int, trip_id: int, body: str, summary: str
) -> OutboxMessage:
    """Queue an event for an insurer's assistance in the current transaction.

    `body` is the JSON text sent as is, every time: the signature covers these bytes.
    """
    row = OutboxMessage(
        message_id=message_id,
        kind="event",
        event_type=event_type,
        insurer_id=insurer_id,
        trip_id=trip_id,
        summary=summary[:200],
        payload=body,
    )
    db.session.add(row)
    return row
