"""Shared fixtures: the application on a migrated database, a real SMTP server, helpers.

The schema is built once per run from the Alembic migrations; every test starts from
empty tables. `TEST_DATABASE_URL` runs the suite on PostgreSQL instead of SQLite.
"""

import os
import re
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from app import create_app
from app.auth.passwords import hash_password
from app.clock import today, utcnow
from app.demo import load_demo
from app.extensions import db, limiter
from app.models import Account, Member
from app.outbox import worker
from app.outbox.worker import Tally
from config import TestingConfig
from deploy.drilling.stack import Nginx, ProductionSite, Redis, WebProcess, app_environment

DEFAULT_PASSWORD = "Cartable2026!"


# --- Database -----------------------------------------------------------------------------


def _drop_everything(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(sa.text("DROP SCHEMA public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
        else:
            metadata = sa.MetaData()
            metadata.reflect(connection)
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            metadata.drop_all(connection)
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """A database migrated once for the whole run (SQLite file or TEST_DATABASE_URL)."""
    url = os.environ.get("TEST_DATABASE_URL") or (
        f"sqlite:///{tmp_path_factory.mktemp('db') / 'cartable-test.db'}"
    )
    _drop_everything(url)
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()
    return url


def _empty_tables() -> None:
    existing = set(sa.inspect(db.engine).get_table_names())
    tables = [t for t in reversed(db.metadata.sorted_tables) if t.name in existing]
    with db.engine.begin() as connection:
        if db.engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(table.delete())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- E-mail -------------------------------------------------------------------------------


@dataclass
class Mailbox:
    """What the SMTP server received, oldest first.

    E-mails leave through the outbox: reading the mailbox first runs the worker once
    (`deliver`, set by the `app` fixture), as `flask worker --once` would.
    """

    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    deliver: Callable[[], object] | None = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        message = message_from_bytes(envelope.content, policy=policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()

    def all(self) -> list[EmailMessage]:
        """Every message received, after the outbox was delivered."""
        if self.deliver is not None:
            self.deliver()
        with self.lock:
            return list(self.messages)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.all() if address in m["X-Envelope-To"]]

    def last(self, address: str | None = None) -> EmailMessage:
        messages = self.to(address) if address else self.all()
        assert messages, f"no e-mail received for {address or 'anyone'}"
        return messages[-1]

    @staticmethod
    def text(message: EmailMessage) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()

    @staticmethod
    def html(message: EmailMessage) -> str:
        return message.get_body(preferencelist=("html",)).get_content()

    def links(self, message: EmailMessage) -> list[str]:
        return re.findall(r"https?://[^\s<>\"']+", self.text(message))


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[Controller, Mailbox]]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, mailbox
    controller.stop()


@pytest.fixture
def mailbox(smtp_server) -> Mailbox:
    controller, mailbox = smtp_server
    mailbox.clear()
    yield mailbox
    mailbox.deliver = None


# --- Application --------------------------------------------------------------------------


@pytest.fixture
def app_config(database_url, smtp_server, tmp_path) -> dict:
    """Settings of the test application; a test module may override this fixture."""
    controller, _ = smtp_server
    return {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": controller.port,
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
    }


def deliver_outbox(app) -> Tally:
    """Run the worker once, as `flask --app wsgi worker --once` does."""
    with app.app_context():
        return worker.deliver_due()


@pytest.fixture
def app(app_config, mailbox):
    app = create_app(TestingConfig, **app_config)
    with app.app_context():
        limiter.reset()
    mailbox.deliver = lambda: deliver_outbox(app)
    yield app
    with app.app_context():
        db.session.remove()
        _empty_tables()
        db.engine.dispose()


@pytest.fixture
def make_app(app_config):
    """Build extra applications on the test database; their connections close afterwards."""
    apps = []

    def build(**overrides):
        extra = create_app(TestingConfig, **{**app_config, **overrides})
        apps.append(extra)
        return extra

    yield build
    for extra in apps:
        with extra.app_context():
            db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def demo(app):
    """The demo insurer and roster of PRODUCT.md, relative to today."""
    with app.app_context():
        insurer = load_demo(today())
        return insurer.id


# --- Forms and accounts -------------------------------------------------------------------

CSRF_PATTERN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, url: str) -> str:
    response = client.get(url)
    match = CSRF_PATTERN.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {url} ({response.status_code})"
    return match.group(1)


def submit(client, url: str, data: dict | None = None, *, form_url: str | None = None, **kwargs):
    """POST a form the way a browser does: with the CSRF token of the page that shows it."""
    payload = {"csrf_token": csrf_token(client, form_url or url), **(data or {})}
    return client.post(url, data=payload, **kwargs)


class Auth:
    """Accounts and logins for tests."""

    def __init__(self, app, client):
        self.app = app
        self.client = client

    def create_account(
        self,
        member_number: str = "AB123456",
        first_name: str = "Sophie",
        email: str = "sophie.martin@example.fr",
        password: str = DEFAULT_PASSWORD,
        phone: str = "06 12 34 56 78",
        confirmed: bool = True,
    ) -> int:
        """An account for a member of the roster, created directly in the database."""
        with self.app.app_context():
            member = db.session.scalar(
                sa.select(Member).where(
                    Member.member_number == member_number,
                    Member.first_name == first_name,
                )
            )
            assert member is not None, f"no roster member {member_number} {first_name}"
            account = Account(
                member_id=member.id,
                email=email,
                phone=phone,
                password_hash=hash_password(password),
                confirmed_at=utcnow() if confirmed else None,
            )
            db.session.add(account)
            db.session.commit()
            return account.id

    def login(self, email: str = "sophie.martin@example.fr", password: str = DEFAULT_PASSWORD):
        return submit(self.client, "/connexion", {"email": email, "password": password})

    def logout(self):
        return submit(self.client, "/deconnexion", form_url="/mon-espace")

    def sophie(self):
        """Sophie Martin (AB123456), registered and logged in."""
        self.create_account()
        response = self.login()
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    def karim(self, client=None):
        """Karim Dupont (CD789012), registered and logged in on `client` (default: ours)."""
        self.create_account("CD789012", "Karim", email="karim.dupont@example.fr")
        auth = Auth(self.app, client or self.client)
        response = auth.login("karim.dupont@example.fr")
        assert response.status_code == 302
        return response


@pytest.fixture
def auth(app, client, demo) -> Auth:
    return Auth(app, client)


@pytest.fixture
def other_client(app):
    """A second browser, for access checks from another account."""
    return app.test_client()


# --- The production stack -----------------------------------------------------------------
# Real processes for tests/test_deploy.py and the browser journeys behind nginx: two
# waitress processes of the portal on the suite's PostgreSQL database, a Redis of their
# own, nginx in front (deploy/nginx). Started once per test module; skipped on SQLite, or
# when redis-server or nginx is missing (`.ci/run` installs them).


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("stack")


@pytest.fixture(scope="module")
def redis_server(workdir):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is missing (apt-get install -y redis-server)")
    server = Redis(workdir)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def processes(database_url, redis_server, workdir):
    """Two waitress processes, as the systemd unit starts them."""
    if not database_url.startswith("postgresql"):
        pytest.skip("production runs on PostgreSQL: set TEST_DATABASE_URL")
    environment = app_environment(
        database_url=database_url, redis_url=redis_server.url, workdir=workdir
    )
    started = [WebProcess(workdir, f"web-{n}", environment) for n in (1, 2)]
    try:
        for process in started:
            process.start(wait=False)
        for process in started:
            process.wait_ready()
        yield started
    finally:
        for process in started:
            process.stop()


def _skip_without_nginx() -> None:
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        pytest.skip("nginx is missing (apt-get install -y nginx)")


@pytest.fixture(scope="module")
def nginx(processes, workdir):
    _skip_without_nginx()
    server = Nginx(workdir, [process.port for process in processes])
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def production_site(processes, workdir):
    """The production site file itself (deploy/nginx/cartable.conf): TLS and HTTP/2, with a
    throwaway certificate, and the redirect from plain HTTP."""
    _skip_without_nginx()
    if shutil.which("openssl") is None:
        pytest.skip("openssl is missing (apt-get install -y openssl)")
    server = ProductionSite(workdir, [process.port for process in processes])
    server.start()
    yield server
    server.stop()


# --- Query counting -----------------------------------------------------------------------


class QueryCounter:
    def __init__(self):
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app):
    """Context manager factory counting the SQL statements run inside it."""
    from contextlib import contextmanager

    @contextmanager
    def counting():
        counter = QueryCounter()
        with app.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            sa.event.remove(engine, "before_cursor_execute", counter)

    return counting
