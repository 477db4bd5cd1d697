"""A real webhook receiver on loopback and helpers for the trip-flow tests.

The receiver is a small WSGI application served in a thread: it checks each delivery's
Standard Webhooks signature with the insurer's secret and answers what the test scripts.
"""

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import sqlalchemy as sa
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from app.extensions import db
from app.models import Insurer, OutboxMessage
from app.outbox.channels import new_webhook_secret
from tests.conftest import free_port


@dataclass
class Delivery:
    message_id: str
    timestamp: str
    event: dict


@dataclass
class Receiver:
    """What the assistance's endpoint received; `answer(event)` gives each HTTP status."""

    secret: str
    port: int
    answer: Callable[[dict], int] = lambda event: 200
    accepted: list[Delivery] = field(default_factory=list)  # answered 2xx
    refused: list[Delivery] = field(default_factory=list)  # answered otherwise
    bad_signatures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/cartable/evenements"

    def __call__(self, environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {
            name: environ.get("HTTP_" + name.upper().replace("-", "_"), "")
            for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
        }
        try:
            event = Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError:
            with self.lock:
                self.bad_signatures += 1
            start_response("401 Unauthorized", [("Content-Type", "text/plain")])
            return [b"bad signature"]
        delivery = Delivery(headers["webhook-id"], headers["webhook-timestamp"], event)
        status = self.answer(event)
        with self.lock:
            (self.accepted if 200 <= status < 300 else self.refused).append(delivery)
        start_response(f"{status} Status", [("Content-Type", "text/plain")])
        return [b"ok"]

    def ids(self) -> list[str]:
        with self.lock:
            return [delivery.message_id for delivery in self.accepted]

    def events(self) -> list[dict]:
        with self.lock:
            return [delivery.event for delivery in self.accepted]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):  # the tests' output stays readable
        pass


class Serving:
    """Serves a receiver on its port in a thread until `stop()`; can start again."""

    def __init__(self, receiver: Receiver):
        self.receiver = receiver
        self.server = None
        self.thread = None

    def start(self) -> None:
        self.server = make_server(
            "127.0.0.1",
            self.receiver.port,
            self.receiver,
            server_class=_ThreadingServer,
            handler_class=_QuietHandler,
        )
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join()
            self.server = None


def make_receiver() -> Receiver:
    return Receiver(secret=new_webhook_secret(), port=free_port())


def send_events_to(app, receiver: Receiver, slug: str = "demo") -> None:
    """Point the insurer's flow at the receiver, with the receiver's secret."""
    with app.app_context():
        insurer = db.session.scalar(sa.select(Insurer).where(Insurer.slug == slug))
        insurer.flow_channel, insurer.flow_target = "webhook", receiver.url
        insurer.flow_secret = receiver.secret
        db.session.commit()


def outbox_rows(app, kind: str | None = None) -> list[OutboxMessage]:
    with app.app_context():
        query = sa.select(OutboxMessage).order_by(OutboxMessage.id)
        if kind:
            query = query.where(OutboxMessage.kind == kind)
        rows = list(db.session.scalars(query))
        db.session.expunge_all()
        return rows


def event_bodies(app) -> list[dict]:
    return [json.loads(row.payload) for row in outbox_rows(app, "event")]
