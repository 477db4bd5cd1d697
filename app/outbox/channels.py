"""How each kind of message leaves: SMTP (or the console), a signed webhook, a folder.

Every channel raises `DeliveryError` with a short French reason when a message did not
leave; the worker records it and tries again later.
"""

import base64
import http.client
import json
import os
import secrets
import smtplib
import socket
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app
from flask_mail import Message
from standardwebhooks import Webhook

from app.extensions import mail

# A webhook answer must come within this many seconds; later, the delivery failed.
WEBHOOK_TIMEOUT = 10
SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix the spec gives secrets


class DeliveryError(Exception):
    """A message did not leave; `endpoint_down` when nothing else to that place can either;
    `unsettled` when the insurer's settings stop it (no channel, or one that may not be
    used): it waits for them, however long, instead of being given up after a day."""

    def __init__(self, reason: str, *, endpoint_down: bool = False, unsettled: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.endpoint_down = endpoint_down or unsettled
        self.unsettled = unsettled


# --- E-mail -------------------------------------------------------------------------------


# « Service not available, closing transmission channel »: the server is going away.
SMTP_CLOSING = 421
# Seconds an SMTP server may take to answer each step. Flask-Mail gives smtplib no
# timeout: a server that takes the connection and never answers held the worker, and its
# batch's lease, for ever.
SMTP_TIMEOUT = 30


_DEFAULT_TIMEOUT = threading.Lock()


def _open_smtp():
    """Flask-Mail's connection, its socket made with SMTP_TIMEOUT: smtplib takes the
    process's default timeout when it connects, and keeps it for the connection. The
    default is the process's, set for that moment only and under a lock; the worker is one
    thread, and a socket another thread would open meanwhile only gets a timeout."""
    connection = mail.connect()
    with _DEFAULT_TIMEOUT:
        previous = socket.getdefaulttimeout()
        socket.setdefaulttimeout(SMTP_TIMEOUT)
        try:
            connection.__enter__()
        finally:
            socket.setdefaulttimeout(previous)
    return connection


class Mailer:
    """Sends a batch's e-mails over one SMTP connection, opened at the first one."""

    def __init__(self):
        self.connection = None

    def send(self, payload: str) -> None:
        email = json.loads(payload)
        if not current_app.config.get("MAIL_SERVER"):
            # Without a mail server, the worker's console is the development mailbox.
            print(
                f"\n===== E-mail à {email['to']} =====\nSujet : {email['subject']}\n\n"
                f"{email['text']}\n===== Fin de l'e-mail =====\n",
                flush=True,
            )
            return
        message = Message(
            subject=email["subject"],
            recipients=[email["to"]],
            body=email["text"],
            html=email["html"],
        )
        try:
            if self.connection is None:
                self.connection = _open_smtp()
            self.connection.send(message)
        except smtplib.SMTPRecipientsRefused as error:
            # This message was refused: the next ones can go, unless the server is closing
            # (421, and smtplib has closed the connection). The reason goes to the log and
            # the row without the address (the server's text names it).
            codes = sorted({code for code, _ in error.recipients.values()})
            self._refused(f"destinataire refusé (code {', '.join(map(str, codes))})", codes)
        except smtplib.SMTPDataError as error:
            self._refused(f"message refusé (code {error.smtp_code})", [error.smtp_code])
        except OSError as error:  # connection refused, timeout, SMTP errors (subclasses)
            self.close()
            raise DeliveryError(f"serveur d'e-mail : {error}", endpoint_down=True) from error

    def _refused(self, reason: str, codes: list[int]) -> None:
        closing = SMTP_CLOSING in codes
        if closing:
            self.close()
        raise DeliveryError(f"serveur d'e-mail : {reason}", endpoint_down=closing)

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.__exit__(None, None, None)
            except OSError:
                pass  # the server went away: nothing left to close politely
            self.connection = None


# --- Webhooks (Standard Webhooks) ---------------------------------------------------------


def new_webhook_secret() -> str:
    """« whsec_ » and 32 random bytes in base64, as the Standard Webhooks spec describes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signature_headers(secret: str, message_id: str, sent_at: datetime, body: str) -> dict:
    """The three headers of the spec; the signature covers `id.timestamp.body`.

    `sent_at` must be aware: the library reads it as UTC.
    """
    sent_at = sent_at.astimezone(UTC)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, sent_at, body),
    }


class WebhookClient:
    """Posts events, keeping one connection per endpoint open for the batch (keep-alive)."""

    def __init__(self):
        self.connections: dict[tuple[str, str, int], http.client.HTTPConnection] = {}

    def _connection(self, url) -> http.client.HTTPConnection:
        key = (url.scheme, url.hostname, url.port)
        if key not in self.connections:
            kind = (
                http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
            )
            self.connections[key] = kind(url.hostname, url.port, timeout=WEBHOOK_TIMEOUT)
        return self.connections[key]

    def post(self, url_text: str, secret: str, message_id: str, sent_at: datetime, body: str):
        url = urlsplit(url_text)
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        headers = {
            "Content-Type": "application/json",
            **signature_headers(secret, message_id, sent_at, body),
        }
        connection = self._connection(url)
        try:
            try:
                connection.request("POST", path, body=body.encode(), headers=headers)
                response = connection.getresponse()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # A kept connection the server closed meanwhile: one fresh try.
                connection.close()
                connection.request("POST", path, body=body.encode(), headers=headers)
                response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            raise DeliveryError(f"webhook injoignable : {error}", endpoint_down=True) from error
        if response.will_close:
            connection.close()
        if not 200 <= response.status < 300:
            raise DeliveryError(f"webhook : réponse HTTP {response.status}")

    def close(self) -> None:
        for connection in self.connections.values():
            connection.close()
        self.connections.clear()


# --- Folder (an SFTP drop) ----------------------------------------------------------------


def event_file_name(message_id: str, body: str) -> str:
    """`<occurred_at>-<id>.json`, the instant in ISO 8601's basic form (no « : », which some
    file systems and SFTP servers refuse), so that names sort in time order."""
    occurred_at = datetime.fromisoformat(json.loads(body)["occurred_at"])
    return f"{occurred_at.strftime('%Y%m%dT%H%M%S%z')}-{message_id}.json"


def write_event_file(folder: str, message_id: str, body: str) -> Path:
    """Write the event's file atomically: a temporary name in the same folder, then rename.

    A reader of the folder never sees a half-written file; a repeat replaces the file with
    the same content.
    """
    target_dir = Path(folder)
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / event_file_name(message_id, body)
        handle, temporary = tempfile.mkstemp(dir=target_dir, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(body.encode())
                file.flush()
                os.fsync(file.fileno())
            os.chmod(temporary, 0o644)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as error:
        raise DeliveryError(
            f"dossier « {folder} » : {error.strerror}", endpoint_down=True
        ) from error
    return target
