"""Configuration: production refuses unsafe settings, development keeps a generated key."""

import socket

import pytest

import config
from app import create_app
from app.extensions import db
from tests.conftest import submit


def test_production_refuses_to_start_without_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://db.example/cartable")
    monkeypatch.setenv("PUBLIC_URL", "https://cartable.example")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(config.ProductionConfig)


def test_production_refuses_to_start_without_database_url(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("PUBLIC_URL", "https://cartable.example")
    with pytest.raises(RuntimeError, match="DATABASE_URL"):
        create_app(config.ProductionConfig)


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


def test_connections_are_pinged_only_on_a_database_server(app):
    """PostgreSQL may drop an idle connection: pre-ping finds it; SQLite has no server."""
    with app.app_context():
        engine = db.engine
    expected = engine.dialect.name != "sqlite"
    assert engine.pool._pre_ping is expected
