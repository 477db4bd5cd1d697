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


class WebhookReceiver:
    """The assistance's end of the trip flow: records each event's id (`webhook-id`), as
    many times as it comes, and answers 200; it can be down for a while (port kept)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[str] = []
        self.lock = threading.Lock()
        self.server = None
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/evenements"

    def start(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                with receiver.lock:
                    receiver.received.append(self.headers.get("webhook-id", ""))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def ids(self) -> list[str]:
        with self.lock:
            return list(self.received)
