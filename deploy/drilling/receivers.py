"""The drill's own SMTP server: it records every message, and can be down for a while."""

from __future__ import annotations

import threading
from email import message_from_bytes, policy

from deploy.drilling.stack import free_port


class Mailbox:
    """An SMTP server on loopback (aiosmtpd) that keeps the recipients of what it got."""

    def __init__(self) -> None:
        self.port = free_port()
        self.recipients: list[str] = []
        self.subjects: list[str] = []
        self.lock = threading.Lock()
        self.controller = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.recipients.extend(envelope.rcpt_tos)
            self.subjects.append(str(message["Subject"]))
        return "250 Message accepted for delivery"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def addresses(self) -> set[str]:
        with self.lock:
            return set(self.recipients)
