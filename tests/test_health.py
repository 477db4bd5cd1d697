"""Health checks, the database-down page and the request log (in process; the same with real
processes behind nginx is in tests/test_deploy.py)."""

import json
import logging
import re
import time

import pytest

from app import create_app
from app.requestlog import JsonFormatter, log_handler
from config import TestingConfig
from tests.conftest import free_port


@pytest.fixture
def app_without_database(app_config):
    """The application pointed at a PostgreSQL port where nothing listens."""
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/cartable"
    return create_app(TestingConfig, **{**app_config, "SQLALCHEMY_DATABASE_URI": url})


def test_sante_answers_ok_while_the_process_runs(client):
    response = client.get("/sante")
    assert response.status_code == 200
    assert response.get_data(as_text=True).strip() == "ok"


def test_sante_pret_answers_ok_when_the_database_answers(client):
    response = client.get("/sante/pret")
    assert response.status_code == 200
    assert response.get_data(as_text=True).strip() == "ok"


def test_sante_pret_answers_503_when_the_database_does_not(app_without_database):
    client = app_without_database.test_client()
    assert client.get("/sante").status_code == 200
    response = client.get("/sante/pret")
    assert response.status_code == 503
    assert "base de données injoignable" in response.get_data(as_text=True)


def test_a_page_without_database_is_a_french_503_page_without_traceback(app_without_database):
    client = app_without_database.test_client()
    response = client.get("/inscription")
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "Service momentanément indisponible" in page
    assert '<html lang="fr">' in page
    assert "Traceback" not in page and "OperationalError" not in page


def test_every_response_names_its_request_id_and_keeps_a_valid_given_one(client):
    own = client.get("/").headers["X-Request-Id"]
    assert len(own) == 32
    assert client.get("/").headers["X-Request-Id"] != own
    given = "0123456789abcdef0123456789abcdef"
    assert client.get("/", headers={"X-Request-Id": given}).headers["X-Request-Id"] == given


@pytest.mark.parametrize("forged", ["x" * 65, "abc", "id with spaces", "identifiant-été"])
def test_a_malformed_request_id_is_replaced(client, forged):
    answered = client.get("/", headers={"X-Request-Id": forged}).headers["X-Request-Id"]
    assert answered != forged
    assert len(answered) == 32


def test_one_log_line_per_request_with_its_request_id(client, caplog):
    caplog.set_level(logging.INFO, logger="cartable.requests")
    response = client.get("/faq", headers={"X-Request-Id": "req-0001-abcdef"})
    client.get("/page-qui-n-existe-pas", headers={"X-Request-Id": "req-0002-abcdef"})
    lines = [r for r in caplog.records if r.name == "cartable.requests"]
    assert [(r.getMessage(), r.request["status"]) for r in lines] == [
        ("GET /faq 200", 200),
        ("GET /page-qui-n-existe-pas 404", 404),
    ]
    assert response.headers["X-Request-Id"] == "req-0001-abcdef"
    formatted = [json.loads(JsonFormatter().format(r)) for r in lines]
    assert [f["request_id"] for f in formatted] == ["req-0001-abcdef", "req-0002-abcdef"]
    assert formatted[0]["path"] == "/faq" and formatted[0]["method"] == "GET"


def test_the_log_never_holds_an_e_mailed_link_token(client, caplog):
    caplog.set_level(logging.INFO, logger="cartable.requests")
    client.get("/mot-de-passe-oublie/un-jeton-secret-de-lien")
    [line] = [r for r in caplog.records if r.name == "cartable.requests"]
    assert "un-jeton-secret" not in line.getMessage()
    assert line.getMessage().startswith("GET /mot-de-passe-oublie/<token>")


def test_a_line_break_in_a_path_cannot_forge_a_text_log_line(client, caplog, capsys):
    """`%0A` in a path is a line break in the path the log writes: the text format writes it
    as `\\n`, so the forged request stays on its own request's line."""
    handler = log_handler("text")
    logger = logging.getLogger("cartable.requests")
    logger.addHandler(handler)
    forged = "2026-05-18 10:00:00 INFO [deadbeef] POST /gestion/connexion 302"
    try:
        caplog.set_level(logging.INFO, logger="cartable.requests")
        client.get("/trajets/x%0A" + forged.replace(" ", "%20") + "%0D")
    finally:
        logger.removeHandler(handler)
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "GET /trajets/x\\n" + forged + "\\r 404" in line


@pytest.mark.parametrize(
    ("encoded", "written"),
    [("%C2%85", "\\x85"), ("%E2%80%A8", "\\u2028"), ("%0B", "\\x0b"), ("%1B%5B2J", "\\x1b[2J")],
)
def test_other_line_breaks_and_terminal_escapes_are_written_escaped(
    client, caplog, capsys, encoded, written
):
    """What splits lines for other readers (NEL, Unicode's line separator, a vertical tab) or
    drives a terminal (ESC) is escaped as well."""
    handler = log_handler("text")
    logger = logging.getLogger("cartable.requests")
    logger.addHandler(handler)
    try:
        caplog.set_level(logging.INFO, logger="cartable.requests")
        client.get(f"/faq/x{encoded}y")
    finally:
        logger.removeHandler(handler)
    [line] = capsys.readouterr().err.strip().splitlines()
    assert f"/faq/x{written}y" in line


def test_log_format_json_writes_one_json_object_per_line(client, caplog, capsys):
    handler = log_handler("json")
    logger = logging.getLogger("cartable.requests")
    logger.addHandler(handler)
    try:
        caplog.set_level(logging.INFO, logger="cartable.requests")
        client.get("/", headers={"X-Request-Id": "req-json-000001"})
    finally:
        logger.removeHandler(handler)
    [line] = capsys.readouterr().err.strip().splitlines()
    entry = json.loads(line)
    assert entry["request_id"] == "req-json-000001"
    assert (entry["method"], entry["path"], entry["status"]) == ("GET", "/", 200)


def test_a_connection_the_database_dropped_during_a_request_does_not_spoil_its_answer(
    make_app, database_url
):
    """A PostgreSQL restart ends the connections in use: the answer already made is sent,
    and the dead connection is thrown away (its rollback at teardown fails)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("a server that drops connections: PostgreSQL")
    import sqlalchemy as sa

    from app.extensions import db

    app = make_app()
    admin = sa.create_engine(database_url)

    def dropped_under_the_view():
        pid = db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        with admin.begin() as connection:
            connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        return "réponse déjà prête"

    app.add_url_rule("/essai-coupure", view_func=dropped_under_the_view)
    try:
        response = app.test_client().get("/essai-coupure")
        assert (response.status_code, response.get_data(as_text=True)) == (
            200,
            "réponse déjà prête",
        )
        assert app.test_client().get("/sante/pret").status_code == 200
    finally:
        admin.dispose()


def _backend_pid_route(app) -> None:
    """A page answering the PostgreSQL backend of the connection it was given."""
    import sqlalchemy as sa

    from app.extensions import db

    app.add_url_rule(
        "/essai-connexion",
        view_func=lambda: str(db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar()),
    )


def test_a_pooled_connection_the_server_ended_is_replaced_before_a_page_uses_it(
    make_app, database_url
):
    """A restart or pg_terminate_backend ends a connection waiting in the pool: the next
    page gets a new one and answers normally, with no ping to the server on each page."""
    if not database_url.startswith("postgresql"):
        pytest.skip("a server that ends connections: PostgreSQL")
    import sqlalchemy as sa

    app = make_app()
    _backend_pid_route(app)
    client = app.test_client()
    first = client.get("/essai-connexion").get_data(as_text=True)
    assert client.get("/essai-connexion").get_data(as_text=True) == first  # kept in the pool
    admin = sa.create_engine(database_url)
    try:
        with admin.begin() as connection:
            connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": int(first)})
            for _ in range(100):  # the backend is gone once it no longer shows
                alive = connection.execute(
                    sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                    {"pid": int(first)},
                ).scalar()
                if not alive:
                    break
                time.sleep(0.02)
    finally:
        admin.dispose()
    response = client.get("/essai-connexion")
    assert response.status_code == 200
    assert response.get_data(as_text=True) not in ("", first)


def test_the_server_is_not_pinged_before_each_page(app, database_url, monkeypatch):
    """No pre-ping round trip on PostgreSQL (nor on SQLite): a page sends its own statements."""
    from app.extensions import db

    _backend_pid_route(app)
    client = app.test_client()
    with app.app_context():
        dialect = db.engine.dialect
    pings = []
    monkeypatch.setattr(dialect, "do_ping", lambda connection: pings.append(connection) or True)
    if database_url.startswith("postgresql"):
        for _ in range(3):
            assert client.get("/essai-connexion").status_code == 200
    else:
        for _ in range(3):
            assert client.get("/sante/pret").status_code == 200
    assert pings == []


def test_static_urls_carry_their_files_version_except_the_pasted_script(app, client):
    page = client.get("/").get_data(as_text=True)
    with app.test_request_context():
        from flask import url_for

        css = url_for("static", filename="css/cartable.css")
        embed = url_for("static", filename="embed.js")
    assert re.fullmatch(r"/static/css/cartable\.css\?v=[0-9a-f]{12}", css)
    assert f'href="{css}"' in page
    assert embed == "/static/embed.js"
    with client.get(css) as response:
        assert response.status_code == 200


def test_the_api_without_database_answers_a_json_503(app_without_database):
    client = app_without_database.test_client()
    response = client.post(
        "/api/v1/trajets/T-2026-000001/statut",
        json={"status": "realise"},
        headers={"Authorization": "Bearer cart_inconnu"},
    )
    assert response.status_code == 503
    assert response.is_json
    assert "indisponible" in response.get_json()["error"]
