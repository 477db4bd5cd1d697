"""Configuration: production refuses unsafe settings, development keeps a generated key."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import config
from app import create_app
from tests.conftest import free_port, submit

PRODUCTION = {
    "SECRET_KEY": "x" * 40,
    "PUBLIC_URL": "https://cartable.example",
    "DATABASE_URL": "postgresql+psycopg://db.example/cartable",
    "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/2",
    "MAIL_SERVER": "smtp.example.fr",
}


def _production_env(monkeypatch, **changes):
    for name, value in {**PRODUCTION, **changes}.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY must be set in production."),
        ({"DATABASE_URL": None}, "DATABASE_URL must be set in production."),
        (
            {"DATABASE_URL": "sqlite:///instance/cartable.db"},
            "DATABASE_URL must be a PostgreSQL URL in production (postgresql+psycopg://…).",
        ),
        (
            {"PUBLIC_URL": None},
            "PUBLIC_URL must start with https:// in production: "
            "links in e-mails and cookies need TLS.",
        ),
        (
            {"PUBLIC_URL": "http://cartable.example"},
            "PUBLIC_URL must start with https:// in production: "
            "links in e-mails and cookies need TLS.",
        ),
        (
            {"MAIL_SERVER": None},
            "MAIL_SERVER must be set in production: without it, the worker writes e-mails "
            "(password reset links included) to its log instead of sending them.",
        ),
        (
            {"RATELIMIT_STORAGE_URI": None},
            "RATELIMIT_STORAGE_URI must be redis:// in production: "
            "login limits must be shared by every process.",
        ),
        (
            {"RATELIMIT_STORAGE_URI": "memory://"},
            "RATELIMIT_STORAGE_URI must be redis:// in production: "
            "login limits must be shared by every process.",
        ),
    ],
)
def test_production_refuses_to_start_with_a_one_line_reason(monkeypatch, changes, reason):
    _production_env(monkeypatch, **changes)
    with pytest.raises(RuntimeError) as refusal:
        create_app(config.ProductionConfig)
    assert str(refusal.value) == reason


def test_production_names_every_reason_at_once(monkeypatch):
    _production_env(
        monkeypatch,
        PUBLIC_URL="http://cartable.example",
        DATABASE_URL="sqlite://",
        RATELIMIT_STORAGE_URI="memory://",
    )
    with pytest.raises(RuntimeError) as refusal:
        create_app(config.ProductionConfig)
    lines = str(refusal.value).splitlines()
    assert [line.split()[0] for line in lines] == [
        "PUBLIC_URL",
        "DATABASE_URL",
        "RATELIMIT_STORAGE_URI",
    ]


def test_production_accepts_https_postgresql_and_redis(monkeypatch):
    _production_env(monkeypatch, DATABASE_URL="postgres://db.example/cartable")
    assert config.production_refusals(dict(PRODUCTION)) == []
    config.ProductionConfig.check()  # no refusal


@pytest.mark.parametrize(
    ("environ", "host"),
    [
        ({}, "127.0.0.1"),
        ({"HOST": "0.0.0.0"}, "127.0.0.1"),  # noqa: S104 - the value refused
        ({"CARTABLE_ENV": "development", "HOST": "0.0.0.0"}, "127.0.0.1"),  # noqa: S104
        ({"CARTABLE_ENV": "production", "HOST": "10.0.0.5"}, "10.0.0.5"),
        ({"CARTABLE_ENV": "production"}, "127.0.0.1"),
    ],
)
def test_development_server_listens_on_loopback_only(environ, host):
    assert config.listen_host(environ) == host


def _listening_addresses(port: int) -> list[str]:
    """The local addresses (hex, as /proc/net/tcp writes them) listening on `port`."""
    rows = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return [row[1] for row in rows if row[3] == "0A" and row[1].endswith(f":{port:04X}")]


def test_python_wsgi_in_development_listens_on_loopback_even_when_host_says_otherwise(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "CARTABLE_ENV": "development",
        "HOST": "0.0.0.0",  # noqa: S104 - the value refused
        "PORT": str(port),
        "SECRET_KEY": "x" * 40,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'wsgi.db'}",
    }
    server = subprocess.Popen(  # noqa: S603 - our own entry point
        [sys.executable, "wsgi.py"],
        cwd=config.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        announced = server.stdout.readline()
        assert announced.startswith(f"Cartable est servi sur http://127.0.0.1:{port} ")
        for _ in range(100):
            if _listening_addresses(port):
                break
            time.sleep(0.05)
        assert _listening_addresses(port) == [f"0100007F:{port:04X}"]  # never 0.0.0.0
    finally:
        server.terminate()
        server.wait(timeout=10)
        server.stdout.close()


def test_development_secret_key_is_generated_once_into_instance(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    first = config._development_secret_key()
    assert len(first) >= 40
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert config._development_secret_key() == first


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_url_names_the_driver(monkeypatch, url, expected):
    monkeypatch.setenv("DATABASE_URL", url)
    assert config._database_url("sqlite://") == expected


def test_session_cookie_is_secure_when_served_over_https(make_app):
    app = make_app(SESSION_COOKIE_SECURE=True)
    client = app.test_client()
    response = client.get("/connexion")
    assert "Secure" in response.headers["Set-Cookie"]


def _redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_reachable(), reason="Redis absent sur 127.0.0.1:6379")
def test_login_limits_are_shared_through_redis(make_app, demo, auth):
    import redis

    store = redis.Redis(host="127.0.0.1", port=6379, db=15)
    store.flushdb()
    first = make_app(RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/15")
    second = make_app(RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/15")
    try:
        for _ in range(5):
            submit(
                first.test_client(),
                "/connexion",
                {"email": "sophie.martin@example.fr", "password": "Mauvais2026!"},
            )
        assert any(b"login:sophie.martin@example.fr" in key for key in store.keys())
        # Another process sharing Redis sees the same counter.
        response = submit(
            second.test_client(),
            "/connexion",
            {"email": "sophie.martin@example.fr", "password": "Mauvais2026!"},
        )
        assert response.status_code == 429
    finally:
        store.flushdb()
