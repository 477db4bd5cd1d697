"""The production stack with real processes: two waitress processes of the portal on the
suite's PostgreSQL database, a Redis of their own, nginx in front (deploy/nginx).

Skipped on SQLite (production runs PostgreSQL only), or when redis-server or nginx is
missing; `.ci/run` installs them.
"""

import gzip
import http.client
import json
import re
import select
import shutil
import socket
import ssl
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from app.extensions import db
from app.main.errors import ERRORS
from app.models import Account, Address, AddressKind, Member, Trip
from app.reimbursements.rules import MAX_DOCUMENT_BYTES, MAX_DOCUMENTS
from deploy.drilling.client import Browser
from deploy.drilling.stack import (
    REPOSITORY,
    UNITS,
    Nginx,
    ProductionSite,
    WebProcess,
    app_environment,
    free_port,
    http_status,
    unit_command,
    wait_until,
)
from tests.conftest import DEFAULT_PASSWORD
from tests.test_trips import bookable_day

SOPHIE = "sophie.martin@example.fr"
STANDBY = "Service momentanément indisponible"


def test_the_stack_starts_each_process_with_its_systemd_units_command():
    """The drill and these tests run the units' own `ExecStart=` (paths made local), so a
    change of a unit is what they test; systemd itself does not run on this machine."""
    web = unit_command("cartable-web@.service", "8001")
    assert web[1:] == [
        "--host", "127.0.0.1", "--port", "8001", "--threads", "4",
        "--trusted-proxy", "127.0.0.1", "--trusted-proxy-count", "1",
        "--trusted-proxy-headers", "x-forwarded-for x-forwarded-proto",
        "--clear-untrusted-proxy-headers", "wsgi:app",
    ]  # fmt: skip
    worker = unit_command("cartable-worker.service")
    assert worker[1:] == ["--app", "wsgi", "worker"]
    for command in (web, worker):
        assert shutil.which(command[0]) == command[0]  # the virtualenv's own script
    for unit in UNITS.glob("*.service"):
        text = unit.read_text(encoding="utf-8")
        assert "WorkingDirectory=/srv/cartable\n" in text
        assert "EnvironmentFile=/etc/cartable/cartable.env\n" in text
        assert "Restart=always\n" in text


@pytest.fixture
def one_and_two(processes, redis_server, app, demo):
    """A browser for each process; rate-limit counters start from zero."""
    redis_server.flush()
    first, second = processes
    return Browser("127.0.0.1", first.port), Browser("127.0.0.1", second.port)


@pytest.fixture
def sophie(app, auth):
    """Sophie's account, with a home and a school, in the database."""
    account_id = auth.create_account()
    with app.app_context():
        for label, kind in (("Maison", AddressKind.HOME), ("École", AddressKind.PRIMARY_SCHOOL)):
            db.session.add(
                Address(
                    account_id=account_id,
                    label=label,
                    label_key=label.lower(),
                    kind=kind,
                    street="12 rue des Lilas",
                    postal_code="75011",
                    city="Paris",
                )
            )
        db.session.commit()
    return account_id


def on(process, browser: Browser) -> Browser:
    """The same browser (same cookies) talking to another process."""
    return Browser("127.0.0.1", process.port, cookies=browser.cookies)


def log_entries(process) -> list[dict]:
    lines = process.log.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def request_line(process, request_id: str) -> dict:
    for _ in range(50):  # the line is written once the response is sent
        found = [
            entry
            for entry in log_entries(process)
            if entry.get("request_id") == request_id and "status" in entry
        ]
        if found:
            [entry] = found
            return entry
        time.sleep(0.05)
    raise AssertionError(f"no log line for {request_id}")


# --- Health and logs of a real process -------------------------------------------------------


def test_health_endpoints_of_a_real_process(processes):
    browser = Browser("127.0.0.1", processes[0].port)
    assert (browser.get("/sante").status, browser.get("/sante").text) == (200, "ok\n")
    assert (browser.get("/sante/pret").status, browser.get("/sante/pret").text) == (200, "ok\n")


def test_a_real_process_logs_one_json_line_per_request_with_its_id(processes):
    process = processes[0]
    browser = Browser("127.0.0.1", process.port)
    page = browser.get("/faq", headers={"X-Request-Id": "essai-journal-0001"})
    assert page.headers["x-request-id"] == "essai-journal-0001"
    entry = request_line(process, "essai-journal-0001")
    assert (entry["method"], entry["path"], entry["status"]) == ("GET", "/faq", 200)
    assert entry["client"] == "127.0.0.1"
    assert sum(1 for e in log_entries(process) if e.get("request_id") == "essai-journal-0001") == 1


# --- Shared state across two processes ----------------------------------------------------------


def test_login_on_one_process_is_valid_on_the_other(one_and_two, sophie, processes):
    first, _ = one_and_two
    assert first.log_in(SOPHIE, DEFAULT_PASSWORD).status == 302
    page = on(processes[1], first).get("/mon-espace")
    assert page.status == 200
    assert SOPHIE in page.text


def test_logout_on_one_process_ends_the_session_on_the_other(one_and_two, sophie, processes):
    first, _ = one_and_two
    first.log_in(SOPHIE, DEFAULT_PASSWORD)
    copied = on(processes[1], Browser("127.0.0.1", 0, cookies=dict(first.cookies)))
    assert copied.get("/mon-espace").status == 200
    assert first.post("/deconnexion", {}, form_page=first.get("/mon-espace")).status == 302
    page = copied.get("/mon-espace")
    assert page.status == 302
    assert "/connexion" in page.location


def test_password_change_on_one_process_ends_other_sessions_on_the_other(
    one_and_two, sophie, processes
):
    first, second = one_and_two
    first.log_in(SOPHIE, DEFAULT_PASSWORD)
    second.log_in(SOPHIE, DEFAULT_PASSWORD)
    assert second.get("/mon-espace").status == 200
    changed = first.post(
        "/mon-espace/mot-de-passe",
        {
            "current_password": DEFAULT_PASSWORD,
            "password": "Nouveau2026x",
            "password_confirm": "Nouveau2026x",
        },
    )
    assert changed.status == 302
    page = second.get("/mon-espace")
    assert page.status == 302 and "/connexion" in page.location
    assert on(processes[1], first).get("/mon-espace").status == 200


def test_the_login_failure_limit_counts_across_both_processes(one_and_two, sophie):
    first, second = one_and_two
    for attempt in range(5):
        browser = first if attempt % 2 == 0 else second
        page = browser.log_in(SOPHIE, "Mauvais2026!")
        assert page.status == 200, attempt
        assert "incorrect" in page.text
    # Three failures on the first process, two on the second: both refuse the sixth.
    for browser in (first, second):
        refused = browser.log_in(SOPHIE, DEFAULT_PASSWORD)
        assert refused.status == 429
        assert "Trop de tentatives" in refused.text


def test_without_redis_logins_work_and_the_limit_counts_in_the_process(
    database_url, workdir, app, demo, sophie
):
    """Redis unreachable: rate limits fall back to the process's memory (README)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("production runs on PostgreSQL: set TEST_DATABASE_URL")
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    environment = app_environment(database_url=database_url, redis_url=nowhere, workdir=workdir)
    process = WebProcess(workdir, "web-sans-redis", environment)
    process.start()
    try:
        browser = Browser("127.0.0.1", process.port)
        for _ in range(5):
            page = browser.log_in(SOPHIE, "Mauvais2026!")
            assert (page.status, "incorrect" in page.text) == (200, True)
        refused = browser.log_in(SOPHIE, DEFAULT_PASSWORD)
        assert refused.status == 429 and "Trop de tentatives" in refused.text
        other = Browser("127.0.0.1", process.port)
        assert other.log_in("inconnu@example.fr", "Mauvais2026!").status == 200
    finally:
        process.stop()


def test_a_change_through_one_process_shows_at_once_on_the_other(
    app, one_and_two, sophie, processes
):
    first, second = one_and_two
    first.log_in(SOPHIE, DEFAULT_PASSWORD)
    second.log_in(SOPHIE, DEFAULT_PASSWORD)
    day = bookable_day()
    path = f"/trajets/{day.isoformat()}"
    # Both processes render the day, and its calendar, before the change.
    for browser in (first, second):
        assert "Maxime" not in browser.get(path).text.split("Ajouter un trajet")[0]
        browser.get(f"/trajets?mois={day:%Y-%m}")
    with app.app_context():
        maxime = db.session.scalar(sa.select(Member.id).where(Member.first_name == "Maxime"))
        home, school = db.session.scalars(sa.select(Address.id).order_by(Address.id)).all()
    booked = first.post(
        path,
        {
            "child": maxime,
            "hour": "08:30",
            "from_address": home,
            "to_address": school,
            "purpose": "ecole",
        },
    )
    assert booked.status == 302, booked.text
    shown = second.get(path).text
    assert "8h30" in shown and "Maxime" in shown
    with app.app_context():
        trip_id = db.session.scalar(sa.select(Trip.id))
    cancelled = second.post(f"/trajets/trajet/{trip_id}/annuler", {})
    assert cancelled.status == 302
    trip_page = first.get(f"/trajets/trajet/{trip_id}").text
    assert "Annulé" in trip_page


def test_an_account_deleted_through_one_process_is_gone_on_the_other(
    app, one_and_two, sophie, processes
):
    first, second = one_and_two
    first.log_in(SOPHIE, DEFAULT_PASSWORD)
    second.log_in(SOPHIE, DEFAULT_PASSWORD)
    deleted = first.post("/mon-espace/supprimer", {"password": DEFAULT_PASSWORD})
    assert deleted.status == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Account)) == 0
    page = second.get("/mon-espace")
    assert page.status == 302 and "/connexion" in page.location


# --- nginx in front: forwarded headers, request id, static files, stand-by page ---------------


def test_nginx_and_the_application_log_the_same_request_id(nginx, processes):
    page = Browser.of(nginx.url).get("/faq", headers={"X-Request-Id": "forge-par-le-client"})
    request_id = page.headers["x-request-id"]
    assert len(request_id) == 32 and request_id != "forge-par-le-client"
    assert any(request_id in line for line in _access_lines(nginx))
    logged = [e for p in processes for e in log_entries(p) if e.get("request_id") == request_id]
    assert [entry["path"] for entry in logged] == ["/faq"]


def _access_lines(nginx):
    for _ in range(50):
        if nginx.access_log.exists() and nginx.access_log.read_text():
            return nginx.access_log.read_text().splitlines()
        time.sleep(0.05)
    return []


def test_nginx_logs_neither_e_mailed_tokens_nor_query_strings(nginx, processes):
    """An e-mailed link's token (a password reset) and an upload's CSRF token in its address
    stay out of nginx's access log; the paths are there, as the application logs them."""
    browser = Browser.of(nginx.url)
    browser.get("/mot-de-passe-oublie/jeton-secret-de-reinitialisation")
    browser.get("/remboursements/nouvelle-demande?csrf_token=jeton-secret-du-formulaire")
    expected = (
        "GET /mot-de-passe-oublie/<token> HTTP/1.1",
        "GET /remboursements/nouvelle-demande HTTP/1.1",
    )
    for _ in range(50):  # nginx writes a line once its answer is sent
        logged = "\n".join(_access_lines(nginx))
        if all(line in logged for line in expected):
            break
        time.sleep(0.05)
    for line in expected:
        assert line in logged
    assert "jeton-secret" not in logged


def test_the_access_log_hides_the_token_of_every_e_mailed_link(app):
    """nginx's map lists the routes whose last part is a token: every such route of the
    application is in it (a new e-mailed link must be added there too)."""
    config = (UNITS.parent / "nginx" / "cartable-http.conf").read_text(encoding="utf-8")
    pattern = re.search(r'"~(\^\(\?<route>.*\$)" "\$\{route\}<token>";', config).group(1)
    hides = re.compile(pattern.replace("(?<route>", "(?P<route>"))
    token_routes = [rule.rule for rule in app.url_map.iter_rules() if "<token>" in rule.rule]
    assert len(token_routes) >= 4
    for route in token_routes:
        address = route.replace("<token>", "AbC-123_xyz")
        assert hides.fullmatch(address), route
        assert hides.sub(r"\g<route><token>", address) == route
    assert not hides.fullmatch("/trajets/2026-12-07")


FORGED = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}


def _logged_request(processes, request_id):
    for _ in range(50):
        for process in processes:
            found = [e for e in log_entries(process) if e.get("request_id") == request_id]
            if found:
                return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no log line for {request_id}")


def test_forged_forwarded_headers_through_nginx_change_nothing(nginx, processes):
    page = Browser.of(nginx.url).get("/faq", headers=FORGED)
    entry = _logged_request(processes, page.headers["x-request-id"])
    # nginx replaced both headers with what it saw: the client's address, plain http.
    assert (entry["client"], entry["scheme"]) == ("127.0.0.1", "http")


def test_forged_forwarded_headers_from_a_client_that_is_not_nginx_change_nothing(processes):
    process = processes[0]
    browser = Browser("127.0.0.1", process.port, source_address="127.0.0.2")
    page = browser.get("/faq", headers={**FORGED, "X-Request-Id": "direct-non-nginx-0001"})
    assert page.status == 200
    entry = request_line(process, "direct-non-nginx-0001")
    assert (entry["client"], entry["scheme"]) == ("127.0.0.2", "http")


def test_forged_forwarded_for_does_not_evade_the_login_limit_per_address(
    nginx, redis_server, app, demo
):
    redis_server.flush()
    browser = Browser.of(nginx.url)
    answers = []
    for attempt in range(21):  # LOGIN_LIMIT_PER_IP: 20 per 10 minutes
        headers = {"X-Forwarded-For": f"198.51.100.{attempt + 1}"}
        form = browser.get("/connexion", headers=headers)
        email = f"inconnu{attempt}@example.fr"
        answers.append(
            browser.post(
                "/connexion", {"email": email, "password": "Mauvais2026!"}, form, headers=headers
            ).status
        )
    assert answers == [200] * 20 + [429]
    redis_server.flush()


# --- nginx refuses an upload that the application would refuse, before reading its body -----

NEW_REQUEST = "/remboursements/nouvelle-demande"


def _upload_answer(
    nginx,
    path: str,
    browser: Browser | None,
    method: str = "POST",
    size: int = 60 * 1024 * 1024,
    extra: dict[str, str] | None = None,
) -> tuple[int, dict] | None:
    """Announce a body of `size` bytes to `path` through nginx (with the `extra` request
    headers), send its first 64 KB only, and read what nginx answers meanwhile: (status,
    headers), or None when it waits or closes without an answer."""
    answer = _early_answer(nginx, path, browser, method, size, extra)
    return None if answer is None else answer[:2]


def _early_answer(
    nginx,
    path: str,
    browser: Browser | None,
    method: str,
    size: int,
    extra: dict[str, str] | None = None,
) -> tuple[int, dict, str] | None:
    """As `_upload_answer`, with the answer's body (read up to its Content-Length)."""
    head = [
        f"{method} {path} HTTP/1.1",
        f"Host: 127.0.0.1:{nginx.port}",
        "Content-Type: multipart/form-data; boundary=limite",
        f"Content-Length: {size}",
        "Connection: close",
        *(f"{name}: {value}" for name, value in (extra or {}).items()),
    ]
    if browser is not None and browser.cookies:
        head.append("Cookie: " + browser.cookie_header())
    with socket.create_connection(("127.0.0.1", nginx.port), timeout=5) as connection:
        connection.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + b"-" * 65536)
        answer = b""
        try:
            answer = connection.recv(65536)
            while b"\r\n\r\n" not in answer or len(_body(answer)) < _length(answer):
                more = connection.recv(65536)
                if not more:
                    break
                answer += more
        except TimeoutError:
            pass
    if not answer:
        return None
    status_line, *lines = answer.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    fields = (line.partition(":") for line in lines)
    headers = {name.lower(): value.strip() for name, _, value in fields}
    return int(status_line.split()[1]), headers, _body(answer).decode("utf-8")


def _body(answer: bytes) -> bytes:
    return answer.partition(b"\r\n\r\n")[2]


def _length(answer: bytes) -> int:
    found = re.search(rb"(?im)^content-length:\s*(\d+)", answer.partition(b"\r\n\r\n")[0])
    return int(found.group(1)) if found else 0


def _logged(processes, method: str, path: str, status: int | None = None) -> int:
    """How many such requests the web processes have answered."""
    return sum(
        1
        for process in processes
        for entry in log_entries(process)
        if (entry.get("method"), entry.get("path")) == (method, path)
        and status in (None, entry.get("status"))
    )


CHECK = f"/verification-envoi{NEW_REQUEST}"


def test_nginx_answers_an_anonymous_upload_with_the_login_page_before_its_body(
    nginx, processes, app, demo
):
    checked = _logged(processes, "GET", CHECK, 401)
    answer = _upload_answer(nginx, NEW_REQUEST, None)
    assert answer is not None, "nginx waited for the 60 MB body"
    status, headers = answer
    assert status == 303
    assert headers["location"].startswith("/connexion?next=")
    assert headers["cache-control"] == "no-store"
    assert _logged(processes, "GET", CHECK, 401) == checked + 1  # the application said so
    # The application's message comes with its cookie, as when it answers itself.
    login = Browser.of(nginx.url)
    login.store_cookie(headers["set-cookie"])
    assert (
        "Veuillez vous connecter pour accéder à cette page." in login.get(headers["location"]).text
    )


def test_nginx_answers_another_sites_upload_without_a_cookie(nginx, processes, app, demo):
    """Another site's form posted to an upload form comes without the member's Lax cookie:
    the login page, and no cookie that would replace the member's (app/security.py,
    cross_site_unsafe_request)."""
    crossing = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}
    answer = _upload_answer(nginx, NEW_REQUEST, None, extra=crossing)
    assert answer is not None, "nginx waited for the 60 MB body"
    status, headers = answer
    assert status == 303 and headers["location"].startswith("/connexion?next=")
    assert "set-cookie" not in headers


def test_nginx_answers_an_anonymous_upload_inside_an_insurers_frame_too(nginx, app, demo):
    framed = Browser.of(nginx.url)
    framed.get("/e/demo", headers={"Sec-Fetch-Dest": "iframe"})
    answer = _upload_answer(nginx, NEW_REQUEST, framed)
    assert answer is not None, "nginx waited for the 60 MB body"
    status, headers = answer
    assert status == 303 and headers["location"].startswith("/connexion?next=")
    assert "Partitioned" in headers["set-cookie"]  # the cookie that holds the message
    framed.store_cookie(headers["set-cookie"])
    page = framed.get(headers["location"])
    assert "Veuillez vous connecter pour accéder à cette page." in page.text


def test_nginx_sends_a_tokenless_upload_back_to_its_form_before_its_body(nginx, processes, sophie):
    browser = Browser.of(nginx.url)
    assert browser.log_in(SOPHIE, DEFAULT_PASSWORD).status == 302
    checked = _logged(processes, "GET", CHECK, 403)
    for query in ("", "?csrf_token=faux.jeton"):
        answer = _upload_answer(nginx, NEW_REQUEST + query, browser)
        assert answer is not None, "nginx waited for the 60 MB body"
        status, headers = answer
        assert (status, headers["location"]) == (303, NEW_REQUEST)
        browser.store_cookie(headers["set-cookie"])
        page = browser.get(NEW_REQUEST)
        assert "Le formulaire a expiré ou n'a pas pu être vérifié" in page.text.replace(
            "&#39;", "'"
        )
    assert _logged(processes, "GET", CHECK, 403) == checked + 2


def test_nginx_passes_an_upload_with_the_pages_token_on_to_the_application(
    nginx, processes, sophie
):
    browser = Browser.of(nginx.url)
    assert browser.log_in(SOPHIE, DEFAULT_PASSWORD).status == 302
    form = browser.get(NEW_REQUEST)
    assert form.status == 200
    token = form.csrf_token()
    received = _logged(processes, "POST", NEW_REQUEST)
    page = browser.request(
        "POST", f"{NEW_REQUEST}?csrf_token={token}", {"csrf_token": token, "nature": "Taxi"}
    )
    # The application read the form: it answers with its own field errors.
    assert page.status == 200
    assert "Ce champ est obligatoire." in page.text
    assert _logged(processes, "POST", NEW_REQUEST) == received + 1
    # The check is internal to nginx.
    assert Browser.of(nginx.url).get(CHECK).status == 404


def test_nginx_refuses_other_bodies_before_reading_them(nginx, processes, app, demo):
    """Other methods to an upload form, and bodies over 2 MiB anywhere else (the
    application takes 1 MiB at most): nginx answers at once."""
    status, headers, page = _early_answer(nginx, NEW_REQUEST, None, "PUT", 60 * 1024 * 1024)
    assert status == 405 and "<h1>Action non permise</h1>" in page
    assert headers["cache-control"] == "no-store"
    for size in (3 * 1024 * 1024, 1024**4):
        status, _, page = _early_answer(nginx, "/connexion", None, "POST", size)
        assert status == 413 and "<h1>Envoi trop volumineux</h1>" in page


def test_nginx_answers_documents_over_the_upload_limit_in_french_at_once(nginx, processes, sophie):
    """A member who picks files heavier than an upload form takes (61 MiB) gets nginx's 413
    before the body is read: the French page, which says the form's limits."""
    browser = Browser.of(nginx.url)
    assert browser.log_in(SOPHIE, DEFAULT_PASSWORD).status == 302
    token = browser.get(NEW_REQUEST).csrf_token()
    received = _logged(processes, "POST", NEW_REQUEST)
    path = f"{NEW_REQUEST}?csrf_token={token}"
    answer = _early_answer(nginx, path, browser, "POST", 80 * 1024 * 1024)
    assert answer is not None, "nginx waited for the 80 MB body"
    status, headers, page = answer
    assert status == 413
    assert headers["content-type"].startswith("text/html")
    assert headers["cache-control"] == "no-store"
    assert '<html lang="fr">' in page and "<h1>Envoi trop volumineux</h1>" in page
    # The form's limits, as the application's rules say them.
    limits = f"au plus {MAX_DOCUMENTS} fichiers, de {MAX_DOCUMENT_BYTES // 1024**2} Mo chacun"
    assert limits in " ".join(page.split())
    assert _logged(processes, "POST", NEW_REQUEST) == received  # nothing reached a process


def _curl_with_http2() -> str:
    """curl's path; the test is skipped when curl cannot speak HTTP/2."""
    curl = shutil.which("curl")
    if (
        curl is None
        or "HTTP2"
        not in subprocess.run(
            [curl, "--version"], capture_output=True, text=True, check=True
        ).stdout
    ):
        pytest.skip("curl with HTTP/2 is missing (apt-get install -y curl)")
    return curl


def _post_over_http2(port: int, path: str, body: Path) -> tuple[int, str]:
    """POST `body` to `path` over HTTP/2 (h2c with prior knowledge, nginx's second port) as a
    browser does: DATA frames as flow control allows, until the answer is complete or the
    stream reset. (status, page).

    nginx answers before the body is sent, then resets the stream (RFC 9113, 8.1, a
    complete answer ends an unfinished request). curl 7.88 (Debian 12) loses the answer
    to that reset while it is still sending (exit 92): now and then on a quiet machine,
    every time on a busy one. h2 (python-hyper) keeps what it received."""
    pytest.importorskip("h2", reason="h2 is missing (pip install -r requirements-dev.txt)")
    import h2.config  # noqa: PLC0415 - the test is skipped without it
    import h2.connection  # noqa: PLC0415
    import h2.events  # noqa: PLC0415

    connection = h2.connection.H2Connection(
        h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
    )
    connection.initiate_connection()
    stream = connection.get_next_available_stream_id()
    connection.send_headers(
        stream,
        [
            (":method", "POST"),
            (":scheme", "http"),
            (":authority", f"127.0.0.1:{port}"),
            (":path", path),
            ("content-type", "application/octet-stream"),
            ("content-length", str(body.stat().st_size)),
        ],
    )
    status, page, finished, sending = 0, bytearray(), False, True
    ends = (h2.events.StreamEnded, h2.events.StreamReset)
    with socket.create_connection(("127.0.0.1", port)) as channel, body.open("rb") as source:
        while not finished:
            window = connection.local_flow_control_window(stream) if sending else 0
            if window > 0:
                chunk = source.read(min(window, connection.max_outbound_frame_size))
                if chunk:
                    connection.send_data(stream, chunk)
                else:
                    connection.end_stream(stream)
                    sending = False
            channel.sendall(connection.data_to_send())
            readable, _, _ = select.select([channel], [], [], 0 if window > 0 else 30)
            if not readable:
                if window > 0:
                    continue
                pytest.fail(f"no answer from nginx within 30 s to POST {path}")
            received = channel.recv(65536)
            if not received:
                break
            for event in connection.receive_data(received):
                if isinstance(event, h2.events.ResponseReceived):
                    status, sending = int(dict(event.headers)[":status"]), False
                elif isinstance(event, h2.events.DataReceived):
                    page += event.data
                    connection.acknowledge_received_data(event.flow_controlled_length, stream)
                elif isinstance(event, ends) and event.stream_id == stream:
                    finished = True
                elif isinstance(event, h2.events.ConnectionTerminated):
                    finished = True
    return status, page.decode()


def test_over_http2_as_in_production_nginx_refuses_heavy_bodies_in_french(nginx, tmp_path):
    """Production speaks HTTP/2 (deploy/nginx/cartable.conf), where nginx sends its 413
    page before it has discarded the body: the error pages' location must take any body,
    or the page would be refused again (nginx's English 413)."""
    heavy = tmp_path / "documents.bin"
    with heavy.open("wb") as sparse:
        sparse.truncate(80 * 1024 * 1024)
    for path in (NEW_REQUEST, "/connexion"):
        status, page = _post_over_http2(nginx.http2_port, path, heavy)
        assert status == 413 and "<h1>Envoi trop volumineux</h1>" in page, path


def test_nginx_does_not_tell_its_version(nginx):
    """Neither in its headers nor on the error pages nginx writes itself (its 404 to an
    outside request for the upload check)."""
    page = Browser.of(nginx.url).get("/faq")
    assert page.headers["server"] == "nginx"
    refused = Browser.of(nginx.url).get(CHECK)
    assert refused.status == 404 and refused.headers["server"] == "nginx"
    assert "<center>nginx</center>" in refused.text


def test_the_production_site_sends_plain_http_to_https(production_site):
    """deploy/nginx/cartable.conf itself: a plain HTTP request, whatever its method, is sent
    to the same address over HTTPS."""
    for method in ("GET", "POST"):
        connection = http.client.HTTPConnection("127.0.0.1", production_site.http_port, timeout=10)
        try:
            connection.request(
                method, "/trajets?mois=2027-01", headers={"Host": ProductionSite.SERVER_NAME}
            )
            answer = connection.getresponse()
        finally:
            connection.close()
        assert answer.status == 301, method
        assert answer.headers["Location"] == (
            f"https://{ProductionSite.SERVER_NAME}/trajets?mois=2027-01"
        )
        assert answer.headers["Server"] == "nginx"  # no version there either


def test_the_production_site_serves_the_portal_over_tls_with_http2(production_site, processes):
    """Over TLS, with the site's certificate, HTTP/2 for browsers that offer it (curl) and
    HTTP/1.1 for the others (Python's http.client). The application learns from nginx that
    the request came over HTTPS (its log line says so); answers carry HSTS and Secure
    cookies."""
    name, port = ProductionSite.SERVER_NAME, production_site.port
    done = subprocess.run(
        [_curl_with_http2(), "--http2", "-sS", "--cacert", str(production_site.certificate),
         "--resolve", f"{name}:{port}:127.0.0.1", "-D", "-", "-o", "/dev/null",
         "-w", "protocol=%{http_version}", f"https://{name}:{port}/connexion"],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    head = done.stdout.lower()
    assert head.startswith("http/2 200"), done.stdout
    assert done.stdout.endswith("protocol=2")
    assert "strict-transport-security: max-age=31536000" in head
    (cookie,) = [line for line in head.splitlines() if line.startswith("set-cookie:")]
    assert "; secure" in cookie and "; httponly" in cookie
    # One id, nginx's: not the application's echo of it beside.
    (request_id,) = re.findall(r"^x-request-id: (\w+)", head, re.MULTILINE)
    assert _logged_request(processes, request_id)["scheme"] == "https"

    tls = ssl.create_default_context(cafile=production_site.certificate)
    page = Browser.of(production_site.url, tls=tls).get("/connexion")
    assert page.status == 200 and "<h1>Connexion</h1>" in page.text
    assert page.headers["strict-transport-security"] == "max-age=31536000"


def _negotiated_suite(site, version: ssl.TLSVersion, suites: str | None = None) -> str:
    """The cipher suite the site agrees to with a client offering only `version` (and only
    `suites` when given); ssl.SSLError when it agrees to none."""
    context = ssl.create_default_context(cafile=site.certificate)
    context.minimum_version = context.maximum_version = version
    if suites is not None:
        context.set_ciphers(suites)
    with socket.create_connection(("127.0.0.1", site.port), timeout=10) as connection:
        with context.wrap_socket(connection, server_hostname="127.0.0.1") as tls:
            return tls.cipher()[0]


def test_the_production_site_speaks_tls_with_forward_secrecy_only(production_site):
    """TLS 1.3, or TLS 1.2 with an ephemeral key exchange and authenticated encryption: a
    client that offers only CBC suites, or only RSA key exchange, is refused."""
    assert _negotiated_suite(production_site, ssl.TLSVersion.TLSv1_3).startswith("TLS_")
    assert _negotiated_suite(production_site, ssl.TLSVersion.TLSv1_2) in {
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-RSA-CHACHA20-POLY1305",
    }
    for weak in ("ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA384", "AES128-GCM-SHA256"):
        with pytest.raises(ssl.SSLError):
            _negotiated_suite(production_site, ssl.TLSVersion.TLSv1_2, weak)


def test_over_https_on_another_port_than_443_forms_are_taken(production_site, sophie):
    """Flask-WTF compares a form's referrer with the host over HTTPS: nginx passes the port
    the browser used along with the host, or every form of a site on another port than 443
    (a staging site, this one) would be refused."""
    tls = ssl.create_default_context(cafile=production_site.certificate)
    browser = Browser.of(production_site.url, tls=tls)
    assert browser.log_in(SOPHIE, DEFAULT_PASSWORD).status == 302
    assert "<h1>Mon Espace</h1>" in browser.get("/mon-espace").text


def test_nginx_refusal_pages_say_what_the_application_says():
    """nginx's own 405 and 413 pages carry the application's title and message for them
    (app/main/errors.py), as its stand-by page carries the application's 503 page."""
    pages = REPOSITORY / "app" / "static" / "errors"
    config = (UNITS.parent / "nginx" / "cartable-proxy.conf").read_text(encoding="utf-8")
    for code, name in ((405, "action-non-permise.html"), (413, "trop-volumineux.html")):
        text = " ".join((pages / name).read_text(encoding="utf-8").split())
        title, message = ERRORS[code]
        assert f"<title>{title} · Cartable</title>" in text and f"<h1>{title}</h1>" in text
        assert message in text, name
        # Once for the whole site, once more in the upload location (which has its own).
        assert config.count(f"error_page {code} /static/errors/{name};") == 2


def test_nginx_checks_every_upload_address_of_the_application(app):
    """The nginx location that checks uploads first matches the addresses of the views that
    accept uploads, and only those (a new upload form must be added there too)."""
    config = (UNITS.parent / "nginx" / "cartable-proxy.conf").read_text(encoding="utf-8")
    checked = re.compile(re.search(r"location ~ (\^/remboursements\S*\$) \{", config).group(1))
    uploads = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if getattr(app.view_functions[rule.endpoint], "accepts_uploads", False)
    ]
    assert len(uploads) == 2
    for route in uploads:
        assert checked.fullmatch(re.sub(r"<[^>]+>", "R-2026-000123", route)), route
    for other in ("/remboursements", "/remboursements/R-2026-000123", "/mon-espace"):
        assert not checked.fullmatch(other), other


def test_static_files_come_from_nginx_with_long_cache_headers_when_versioned(nginx):
    browser = Browser.of(nginx.url)
    page = browser.get("/")
    [css] = [part.split('"')[0] for part in page.text.split('href="')[1:] if "cartable.css" in part]
    assert "?v=" in css
    versioned = browser.get(css)
    assert versioned.status == 200
    assert versioned.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "x-request-id" not in versioned.headers or versioned.headers["x-request-id"]
    bare = browser.get("/static/embed.js")
    assert bare.headers["cache-control"] == "public, max-age=3600"
    assert page.headers["cache-control"] == "no-store"


def _gzipped(url: str, path: str) -> tuple[dict[str, str], bytes]:
    """What nginx answers a browser that accepts gzip: headers, and the body as sent."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
    try:
        connection.request("GET", path, headers={"Accept-Encoding": "gzip"})
        response = connection.getresponse()
        headers: dict[str, str] = {}
        for name, value in response.getheaders():  # Vary comes twice: the app's, nginx's
            headers[name.lower()] = ", ".join(filter(None, [headers.get(name.lower()), value]))
        return headers, response.read()
    finally:
        connection.close()


def test_nginx_compresses_pages_and_static_text_for_browsers_that_ask(nginx):
    headers, body = _gzipped(nginx.url, "/faq")
    assert headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in headers["vary"]
    page = gzip.decompress(body).decode("utf-8")
    assert "Questions fréquentes" in page and len(body) < len(page.encode()) / 2
    headers, body = _gzipped(nginx.url, "/static/css/cartable.css")
    assert headers["content-encoding"] == "gzip"
    assert b"{" in gzip.decompress(body)
    # A client that does not ask gets the page as it is.
    assert "Questions fréquentes" in Browser.of(nginx.url).get("/faq").text


def test_a_check_the_application_cannot_answer_lets_the_upload_go_on(
    workdir, redis_server, database_url
):
    """The database down: the check's answer is the application's 503, not a missing
    process. nginx sends the upload on, and the application answers it itself (its own
    stand-by page), as it would without nginx."""
    if not database_url.startswith("postgresql"):
        pytest.skip("production runs on PostgreSQL: set TEST_DATABASE_URL")
    unreachable = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test"
    environment = app_environment(
        database_url=unreachable, redis_url=redis_server.url, workdir=workdir
    )
    process = WebProcess(workdir, "web-without-database", environment)
    process.start(wait=False)
    server = Nginx(workdir / "unsure", [process.port])
    try:
        wait_until(lambda: http_status(f"http://127.0.0.1:{process.port}/sante") == 200, 60, "web")
        (workdir / "unsure").mkdir(exist_ok=True)
        server.start()
        # A member's cookie: the check must read the session's row, and cannot.
        signer = Flask(__name__)
        signer.secret_key = environment["SECRET_KEY"]
        serializer = SecureCookieSessionInterface().get_signing_serializer(signer)
        browser = Browser.of(server.url)
        browser.cookies["cartable_session"] = serializer.dumps({"_user_id": "jeton"})
        answer = _early_answer(server, NEW_REQUEST, browser, "POST", 65536)
    finally:
        server.stop()
        process.stop()
    assert answer is not None
    status, headers, page = answer
    assert (status, headers["retry-after"]) == (503, "5") and STANDBY in page
    assert _logged([process], "GET", CHECK, 503) == 1
    assert _logged([process], "POST", NEW_REQUEST, 503) == 1  # the upload went on


def test_nginx_shows_the_french_stand_by_page_when_no_process_answers(workdir):
    if shutil.which("nginx") is None and not shutil.os.path.exists("/usr/sbin/nginx"):
        pytest.skip("nginx is missing (apt-get install -y nginx)")
    (workdir / "dead").mkdir(exist_ok=True)
    server = Nginx(workdir / "dead", [free_port()])
    server.start()
    try:
        page = Browser.of(server.url).get("/trajets")
        # An upload too: its check finds no process, and the page comes before the body.
        upload = _early_answer(server, NEW_REQUEST, None, "POST", 60 * 1024 * 1024)
    finally:
        server.stop()
    assert page.status == 502
    assert STANDBY in page.text and '<html lang="fr">' in page.text
    assert page.headers["cache-control"] == "no-store"
    assert upload is not None, "nginx waited for the 60 MB body"
    status, headers, text = upload
    assert (status, headers["cache-control"]) == (502, "no-store")
    assert STANDBY in text
