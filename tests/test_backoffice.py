"""The support desk's back-office (/gestion): staff accounts, second factor, sessions, scope,
pages, CSV exports and the access log."""

import csv
import io
import re
from datetime import date, datetime, time, timedelta

import pyotp
import pytest
import sqlalchemy as sa

from app.auth.passwords import hash_password
from app.backoffice import rules
from app.clock import PARIS, utcnow
from app.extensions import db
from app.models import (
    AccessAction,
    AccessLogEntry,
    Account,
    Insurer,
    Member,
    ReimbursementRequest,
    ReimbursementStatus,
    StaffMember,
    StaffRecoveryCode,
    StaffRole,
    StaffSession,
    Trip,
    TripPurpose,
    TripStatus,
    UserSession,
)
from tests.conftest import DEFAULT_PASSWORD, csrf_token, submit
from tests.reimbursement_samples import pdf_bytes
from tests.test_reimbursements import send_request, upload
from tests.test_trips import add_addresses, add_trip, child_id

NOW = datetime(2026, 5, 18, 10, 0, 5, tzinfo=PARIS)
STAFF_PASSWORD = "Gestion2026!"
SOPHIE = "sophie.martin@example.fr"
AGENT = "agent@mutuelle-demo.fr"
MANAGER = "gestion@mutuelle-demo.fr"
ADMIN = "admin@assistance.fr"
OUTSIDER = "agent@autre-mutuelle.fr"
LOGIN = "/gestion/connexion"
SESSION_ENDED = "Votre session a expiré ou vous n&#39;êtes pas connecté."


@pytest.fixture(autouse=True)
def frozen_clock(time_machine):
    """Runs before the demo fixture, so the demo's dates are relative to NOW."""
    time_machine.move_to(NOW, tick=False)
    return time_machine


# --- Helpers ------------------------------------------------------------------------------


def add_staff(app, email, role, insurers=("demo",), name=None) -> tuple[str, list[str]]:
    """An enrolled staff account written directly: its TOTP secret and recovery codes."""
    secret = pyotp.random_base32()
    codes = rules.new_recovery_codes()
    with app.app_context():
        scope = list(db.session.scalars(sa.select(Insurer).where(Insurer.slug.in_(insurers))))
        staff = StaffMember(
            email=email,
            name=name or email.split("@")[0].title(),
            role=role,
            password_hash=hash_password(STAFF_PASSWORD),
            totp_secret=secret,
            totp_confirmed_at=utcnow(),
            insurers=scope,
        )
        db.session.add(staff)
        db.session.flush()
        db.session.add_all(
            StaffRecoveryCode(staff_id=staff.id, code_hash=rules.hash_recovery_code(code))
            for code in codes
        )
        db.session.commit()
    return secret, codes


def current_code(secret: str) -> str:
    return pyotp.TOTP(secret).now()


def staff_login(client, email, code, password=STAFF_PASSWORD):
    return submit(client, LOGIN, {"email": email, "password": password, "code": code})


def log_rows(app, action: AccessAction | None = None) -> list[AccessLogEntry]:
    with app.app_context():
        query = sa.select(AccessLogEntry).order_by(AccessLogEntry.id)
        if action is not None:
            query = query.where(AccessLogEntry.action == action)
        rows = list(db.session.scalars(query))
        db.session.expunge_all()
        return rows


def member_id(app, number="AB123456") -> int:
    with app.app_context():
        return db.session.scalar(
            sa.select(Member.id).where(
                Member.member_number == number, Member.quality.in_(["adherent", "souscripteur"])
            )
        )


def add_other_insurer(app) -> None:
    with app.app_context():
        db.session.add(Insurer(slug="autre", name="Autre Mutuelle"))
        db.session.commit()


@pytest.fixture
def desk(app, auth):
    """The demo roster, and a logged-in client per role (agent, gestionnaire, admin)."""
    add_other_insurer(app)
    clients = {}
    for email, role, insurers in (
        (AGENT, StaffRole.AGENT, ("demo",)),
        (MANAGER, StaffRole.MANAGER, ("demo",)),
        (ADMIN, StaffRole.ADMIN, ()),
        (OUTSIDER, StaffRole.ADMIN, ("autre",)),
    ):
        secret, _ = add_staff(app, email, role, insurers)
        client = app.test_client()
        response = staff_login(client, email, current_code(secret))
        assert response.status_code == 302, response.get_data(as_text=True)
        clients[role if email != OUTSIDER else "outsider"] = client
    return clients


@pytest.fixture
def filed(app, client, auth, mailbox):
    """Sophie logged in on `client`, with one request holding a PDF."""
    auth.sophie()
    response = send_request(client, app, [upload(pdf_bytes(), "reçu taxi.pdf", "application/pdf")])
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        return db.session.scalar(sa.select(ReimbursementRequest.number))


def document_id(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.text("SELECT id FROM reimbursement_documents"))


# --- Staff accounts from the command line -------------------------------------------------


def test_staff_add_sends_a_single_use_invitation_valid_48_hours(app, runner, demo, mailbox):
    result = runner.invoke(
        args=[
            "staff",
            "add",
            AGENT,
            "--name",
            "Nadia Benali",
            "--role",
            "agent",
            "--insurer",
            "demo",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Invitation envoyée à agent@mutuelle-demo.fr" in result.output
    message = mailbox.last(AGENT)
    assert "gestion" in message["Subject"]
    link = next(link for link in mailbox.links(message) if "/gestion/invitation/" in link)
    listing = runner.invoke(args=["staff", "list"]).output
    assert "Nadia Benali" in listing and "demo" in listing and "invitation en attente" in listing

    client = app.test_client()
    path = link.removeprefix("http://portail.test")
    page = client.get(path).get_data(as_text=True)
    assert "Bienvenue, Nadia Benali" in page
    weak = submit(client, path, {"password": "abc", "password_confirm": "abc"})
    assert "au minimum 8 caractères" in weak.get_data(as_text=True)
    done = submit(client, path, {"password": STAFF_PASSWORD, "password_confirm": STAFF_PASSWORD})
    assert done.headers["Location"] == "/gestion/double-authentification"
    page = client.get("/gestion/double-authentification").get_data(as_text=True)
    secret = re.search(r'<code id="cle-secrete">([A-Z2-7]+)</code>', page).group(1)
    assert "<svg" in page and "QR code à scanner" in page
    wrong = submit(client, "/gestion/double-authentification", {"code": "000000"})
    assert "Ce code n&#39;est pas le bon" in wrong.get_data(as_text=True)
    codes_page = submit(
        client, "/gestion/double-authentification", {"code": current_code(secret)}
    ).get_data(as_text=True)
    codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", codes_page)
    assert len(set(codes)) == 10
    with app.app_context():
        stored = set(db.session.scalars(sa.select(StaffRecoveryCode.code_hash)))
    assert stored == {rules.hash_recovery_code(code) for code in codes}
    assert not stored & set(codes)

    # The link is spent; a fresh browser cannot use it again.
    again = app.test_client().get(path)
    assert again.status_code == 400
    assert "déjà été utilisée" in again.get_data(as_text=True)
    assert "actif" in runner.invoke(args=["staff", "list"]).output


def test_invitation_link_expires_after_48_hours(app, runner, demo, mailbox, frozen_clock):
    runner.invoke(args=["staff", "add", AGENT, "--name", "Nadia", "--role", "agent"])
    link = next(x for x in mailbox.links(mailbox.last(AGENT)) if "/gestion/invitation/" in x)
    path = link.removeprefix("http://portail.test")
    frozen_clock.move_to(NOW + timedelta(hours=47), tick=False)
    assert app.test_client().get(path).status_code == 200
    frozen_clock.move_to(NOW + timedelta(hours=49), tick=False)
    response = app.test_client().get(path)
    assert response.status_code == 400
    assert "Ce lien a expiré" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["staff", "add", "pas-une-adresse", "--name", "X", "--role", "agent"], "invalide"),
        (["staff", "add", AGENT, "--name", "X", "--role", "chef"], "chef"),
        (["staff", "add", AGENT, "--name", "X", "--role", "agent", "--insurer", "zz"], "zz"),
        (["staff", "disable", "personne@example.fr"], "Aucun compte du personnel"),
    ],
    ids=["bad-email", "bad-role", "unknown-insurer", "unknown-staff"],
)
def test_staff_commands_refuse_bad_input_in_french(app, runner, demo, args, message):
    result = runner.invoke(args=args)
    assert result.exit_code != 0
    assert message in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(StaffMember.id))) == 0


def test_staff_add_refuses_an_address_already_used(app, runner, demo):
    add_staff(app, AGENT, StaffRole.AGENT)
    result = runner.invoke(args=["staff", "add", AGENT, "--name", "Autre", "--role", "admin"])
    assert result.exit_code == 1
    assert "utilise déjà l'adresse" in result.output


def test_staff_disable_ends_sessions_and_logins(app, runner, demo, desk):
    result = runner.invoke(args=["staff", "disable", AGENT])
    assert result.exit_code == 0, result.output
    response = desk[StaffRole.AGENT].get("/gestion/adherents")
    assert response.headers["Location"] == LOGIN
    assert "désactivé" in runner.invoke(args=["staff", "list"]).output


def test_a_new_invitation_ends_the_staff_members_open_sessions(app, runner, demo, desk):
    """A new invitation follows a lost phone or a leaked password: the old password and
    second factor stop working, and so does a session opened with them."""
    assert desk[StaffRole.AGENT].get("/gestion/adherents").status_code == 200
    result = runner.invoke(args=["staff", "invite", AGENT])
    assert result.exit_code == 0, result.output
    response = desk[StaffRole.AGENT].get("/gestion/adherents")
    assert response.headers["Location"] == LOGIN


# --- Logging in ---------------------------------------------------------------------------


def test_login_sets_the_staff_cookie_under_gestion_only(app, demo):
    secret, _ = add_staff(app, AGENT, StaffRole.AGENT)
    client = app.test_client()
    response = staff_login(client, AGENT, current_code(secret))
    assert response.headers["Location"] == "/gestion/adherents"
    cookie = next(
        c for c in response.headers.getlist("Set-Cookie") if c.startswith("cartable_staff=")
    )
    assert "Path=/gestion" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert not any(
        c.startswith("cartable_session=") for c in response.headers.getlist("Set-Cookie")
    )
    assert [row.action for row in log_rows(app)] == [AccessAction.LOGIN]
    page = client.get("/gestion/adherents").get_data(as_text=True)
    assert "Rechercher un adhérent" in page


@pytest.mark.parametrize("field", ["email", "password", "code"])
def test_a_wrong_factor_gives_one_generic_message(app, demo, field):
    secret, _ = add_staff(app, AGENT, StaffRole.AGENT)
    data = {"email": AGENT, "password": STAFF_PASSWORD, "code": current_code(secret)}
    data[field] = {"email": "x@example.fr", "password": "Mauvais2026", "code": "123456"}[field]
    response = submit(app.test_client(), LOGIN, data)
    assert response.status_code == 200
    assert "Adresse e-mail, mot de passe ou code incorrect." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(StaffSession.id))) == 0


def test_a_totp_code_cannot_be_replayed(app, demo):
    secret, _ = add_staff(app, AGENT, StaffRole.AGENT)
    code = current_code(secret)
    assert staff_login(app.test_client(), AGENT, code).status_code == 302
    replay = staff_login(app.test_client(), AGENT, code)
    assert replay.status_code == 200
    assert "code incorrect" in replay.get_data(as_text=True)


def test_codes_of_the_previous_and_next_steps_are_accepted(app, demo):
    secret, _ = add_staff(app, AGENT, StaffRole.AGENT)
    totp = pyotp.TOTP(secret)
    earlier = totp.at(NOW - timedelta(seconds=30))
    assert staff_login(app.test_client(), AGENT, earlier).status_code == 302
    too_old = totp.at(NOW - timedelta(seconds=60))
    assert staff_login(app.test_client(), AGENT, too_old).status_code == 200


def test_a_recovery_code_works_once(app, demo):
    _, codes = add_staff(app, AGENT, StaffRole.AGENT)
    assert staff_login(app.test_client(), AGENT, codes[3].upper()).status_code == 302
    again = staff_login(app.test_client(), AGENT, codes[3])
    assert again.status_code == 200
    assert "code incorrect" in again.get_data(as_text=True)
    with app.app_context():
        used = db.session.scalar(
            sa.select(sa.func.count(StaffRecoveryCode.id)).where(
                StaffRecoveryCode.used_at.is_not(None)
            )
        )
    assert used == 1


def test_five_failures_lock_the_account_15_minutes_and_warn_its_owner(
    app, demo, mailbox, frozen_clock
):
    secret, _ = add_staff(app, AGENT, StaffRole.AGENT)
    for attempt in range(5):
        frozen_clock.move_to(NOW + timedelta(minutes=2 * attempt), tick=False)
        response = staff_login(app.test_client(), AGENT, "000000")
    assert "verrouillé pendant 15 minutes" in response.get_data(as_text=True)
    message = mailbox.last(AGENT)
    assert "verrouillé" in message["Subject"]
    # The right code does not open a locked account.
    frozen_clock.move_to(NOW + timedelta(minutes=20), tick=False)
    locked = staff_login(app.test_client(), AGENT, current_code(secret))
    assert "verrouillé" in locked.get_data(as_text=True)
    frozen_clock.move_to(NOW + timedelta(minutes=24), tick=False)
    assert staff_login(app.test_client(), AGENT, current_code(secret)).status_code == 302
    assert len(log_rows(app, AccessAction.LOGIN_FAILED)) == 5


def test_four_failures_spread_over_more_than_15_minutes_do_not_lock(app, demo, frozen_clock):
    secret, _ = add_staff(app, AGENT, StaffRole.AGENT)
    for attempt in range(6):
        frozen_clock.move_to(NOW + timedelta(minutes=4 * attempt), tick=False)
        staff_login(app.test_client(), AGENT, "000000")
    frozen_clock.move_to(NOW + timedelta(minutes=25), tick=False)
    assert staff_login(app.test_client(), AGENT, current_code(secret)).status_code == 302


# --- Sessions -----------------------------------------------------------------------------


def test_member_session_opens_no_staff_page(client, auth):
    auth.sophie()
    for path in ("/gestion/adherents", "/gestion/remboursements", "/gestion/journal"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"] == LOGIN


def test_staff_session_opens_no_member_page(app, desk):
    client = desk[StaffRole.ADMIN]
    assert client.get_cookie("cartable_staff", path="/gestion") is not None
    assert client.get_cookie("cartable_session") is None
    for path in ("/mon-espace", "/trajets", "/remboursements"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/connexion")


def test_idle_staff_session_ends_after_15_minutes(app, desk, frozen_clock):
    client = desk[StaffRole.AGENT]
    frozen_clock.move_to(NOW + timedelta(minutes=14), tick=False)
    assert client.get("/gestion/adherents").status_code == 200
    frozen_clock.move_to(NOW + timedelta(minutes=28), tick=False)
    assert client.get("/gestion/adherents").status_code == 200
    frozen_clock.move_to(NOW + timedelta(minutes=44), tick=False)
    response = client.get("/gestion/adherents", follow_redirects=True)
    assert SESSION_ENDED in response.get_data(as_text=True)


def test_staff_session_lasts_10_hours_at_most(app, desk, frozen_clock):
    client = desk[StaffRole.AGENT]
    for minutes in range(10, 600, 10):
        frozen_clock.move_to(NOW + timedelta(minutes=minutes), tick=False)
        assert client.get("/gestion/").status_code == 302
    frozen_clock.move_to(NOW + timedelta(minutes=599), tick=False)
    assert client.get("/gestion/adherents").status_code == 200
    frozen_clock.move_to(NOW + timedelta(minutes=601), tick=False)
    assert client.get("/gestion/adherents").headers["Location"] == LOGIN


def test_an_expired_session_posting_a_form_changes_nothing(app, desk, filed, frozen_clock):
    client = desk[StaffRole.MANAGER]
    token = csrf_token(client, f"/gestion/remboursements/{filed}")
    frozen_clock.move_to(NOW + timedelta(minutes=16), tick=False)
    response = client.post(
        f"/gestion/remboursements/{filed}",
        data={"csrf_token": token, "status": "acceptee", "comment": "OK"},
        follow_redirects=True,
    )
    assert SESSION_ENDED in response.get_data(as_text=True)
    with app.app_context():
        status = db.session.scalar(sa.select(ReimbursementRequest.status))
    assert status is ReimbursementStatus.RECEIVED
    assert log_rows(app, AccessAction.STATUS_CHANGED) == []


def test_logout_ends_the_staff_session(app, desk):
    client = desk[StaffRole.AGENT]
    response = submit(client, "/gestion/deconnexion", form_url="/gestion/adherents")
    assert response.headers["Location"] == LOGIN
    assert client.get("/gestion/adherents").headers["Location"] == LOGIN
    assert log_rows(app, AccessAction.LOGOUT)


def test_gestion_pages_are_never_framed_even_in_an_insurer_context(app, demo):
    client = app.test_client()
    client.get("/e/demo")
    for path in (LOGIN, "/gestion/adherents", "/gestion/inconnue"):
        response = client.get(path)
        policy = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy
        assert "localhost:8001" not in policy
        assert response.headers["X-Frame-Options"] == "DENY"
    assert "Mutuelle Démo" not in client.get(LOGIN).get_data(as_text=True)


# --- Search and member file ---------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    ["martin", "MARTIN", "Martin Sophie", "sophie", "AB123456", "ab 123456", "sophie.martin@"],
)
def test_search_finds_sophie_by_number_name_or_email(app, auth, desk, query):
    auth.create_account()
    response = desk[StaffRole.AGENT].get("/gestion/adherents", query_string={"q": query})
    page = response.get_data(as_text=True)
    assert "MARTIN Sophie" in page
    assert "Mutuelle Démo" in page and "AB123456" in page
    assert "Actif" in page
    assert "Maxime" not in page  # children are shown in the holder's file


def test_search_ignores_accents_and_shows_account_states(app, desk):
    client = desk[StaffRole.AGENT]
    page = client.get("/gestion/adherents", query_string={"q": "helene"}).get_data(as_text=True)
    assert "LEROY Hélène" in page and "Pas de compte" in page
    page = client.get("/gestion/adherents", query_string={"q": "dupont"}).get_data(as_text=True)
    assert "DUPONT Karim" in page and "Pas de compte" in page


@pytest.mark.parametrize("query", ["%", "_", "%a", "m_rtin", "x" * 5000])
def test_search_treats_wildcards_literally_and_refuses_long_queries(app, desk, query):
    response = desk[StaffRole.AGENT].get("/gestion/adherents", query_string={"q": query})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "MARTIN Sophie" not in page
    if len(query) > 100:
        assert "La recherche ne peut pas dépasser 100 caractères." in page
        assert log_rows(app, AccessAction.SEARCH) == []


def test_member_file_shows_family_guarantees_account_trips_and_requests(app, desk, filed):
    maxime = child_id(app, "Maxime")
    addresses = add_addresses(app)
    add_trip(
        app,
        SOPHIE,
        maxime,
        date(2026, 5, 21),
        time(8, 30),
        addresses["Maison"],
        addresses["École Jules Ferry"],
    )
    sophie = member_id(app)
    page = desk[StaffRole.AGENT].get(f"/gestion/adherents/{sophie}").get_data(as_text=True)
    for text in (
        "MARTIN Sophie",
        "AB123456",
        "Maxime",
        "Franck",
        "Conduite à l&#39;école",
        "Transport aux examens scolaires",
        SOPHIE,
        "06 12 34 56 78",
        "Sessions ouvertes",
        "12 rue des Lilas",
        "21/05/2026",
        "08:30",
        filed,
        "reçu taxi.pdf",
        "Fermer toutes les sessions",
    ):
        assert text in page, text
    rows = log_rows(app, AccessAction.MEMBER_VIEWED)
    assert [(r.member_id, r.member_ref) for r in rows] == [(sophie, "AB123456 — MARTIN Sophie")]


def test_opening_a_document_is_logged(app, desk, filed):
    sophie = member_id(app)
    response = desk[StaffRole.AGENT].get(
        f"/gestion/adherents/{sophie}/justificatifs/{document_id(app)}"
    )
    assert response.status_code == 200
    assert response.data == pdf_bytes()
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    rows = log_rows(app, AccessAction.DOCUMENT_OPENED)
    assert [(r.member_id, r.detail) for r in rows] == [(sophie, f"{filed} : reçu taxi.pdf")]


def test_resend_confirmation_and_close_sessions(app, auth, desk, mailbox):
    auth.create_account(confirmed=False)
    auth.karim(client=app.test_client())
    sophie, karim = member_id(app), member_id(app, "CD789012")
    agent = desk[StaffRole.AGENT]
    page = agent.get(f"/gestion/adherents/{sophie}").get_data(as_text=True)
    assert "Non confirmé" in page
    response = submit(
        agent,
        f"/gestion/adherents/{sophie}/renvoyer-confirmation",
        form_url=f"/gestion/adherents/{sophie}",
    )
    assert response.status_code == 302
    assert "Confirmez" in mailbox.last(SOPHIE)["Subject"]
    submit(
        agent, f"/gestion/adherents/{karim}/fermer-sessions", form_url=f"/gestion/adherents/{karim}"
    )
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(UserSession.id))) == 0
    assert [r.member_id for r in log_rows(app, AccessAction.CONFIRMATION_RESENT)] == [sophie]
    assert [r.member_id for r in log_rows(app, AccessAction.SESSIONS_CLOSED)] == [karim]


def test_a_deleted_account_reads_supprime(app, client, auth, desk):
    auth.sophie()
    submit(client, "/mon-espace/supprimer", {"password": DEFAULT_PASSWORD})
    page = (
        desk[StaffRole.AGENT]
        .get("/gestion/adherents", query_string={"q": "martin"})
        .get_data(as_text=True)
    )
    assert "Supprimé" in page


# --- Scope --------------------------------------------------------------------------------


def test_another_insurers_staff_gets_404_on_every_page_and_action(app, desk, filed):
    outsider = desk["outsider"]
    sophie = member_id(app)
    document = document_id(app)
    for path in (
        f"/gestion/adherents/{sophie}",
        f"/gestion/adherents/{sophie}/justificatifs/{document}",
        f"/gestion/remboursements/{filed}",
        f"/gestion/remboursements/{filed}/justificatifs/{document}",
    ):
        assert outsider.get(path).status_code == 404, path
    token = csrf_token(outsider, "/gestion/adherents")
    for path in (
        f"/gestion/adherents/{sophie}/renvoyer-confirmation",
        f"/gestion/adherents/{sophie}/fermer-sessions",
        f"/gestion/remboursements/{filed}",
    ):
        response = outsider.post(
            path, data={"csrf_token": token, "status": "acceptee", "comment": "x"}
        )
        assert response.status_code == 404, path
    search = outsider.get("/gestion/adherents", query_string={"q": "martin"})
    assert "MARTIN Sophie" not in search.get_data(as_text=True)
    assert filed not in outsider.get("/gestion/remboursements").get_data(as_text=True)
    with app.app_context():
        status = db.session.scalar(sa.select(ReimbursementRequest.status))
        assert db.session.scalar(sa.select(sa.func.count(UserSession.id))) == 1
    assert status is ReimbursementStatus.RECEIVED
    assert log_rows(app, AccessAction.MEMBER_VIEWED) == []
    assert log_rows(app, AccessAction.DOCUMENT_OPENED) == []


def test_a_forged_member_id_of_a_child_or_unknown_is_404(app, desk):
    agent = desk[StaffRole.AGENT]
    assert agent.get(f"/gestion/adherents/{child_id(app, 'Maxime')}").status_code == 404
    assert agent.get("/gestion/adherents/999999").status_code == 404
    assert agent.get("/gestion/adherents/99999999999999999999").status_code == 404


# --- Reimbursement requests ---------------------------------------------------------------


def test_agent_reads_a_request_but_is_refused_the_status_form(app, desk, filed):
    agent = desk[StaffRole.AGENT]
    page = agent.get(f"/gestion/remboursements/{filed}").get_data(as_text=True)
    assert filed in page and "reçu taxi.pdf" in page
    assert "Changer le statut" not in page
    # An agent does not process requests: the IBAN's end only, as the member sees it.
    with app.app_context():
        iban = db.session.scalar(sa.select(ReimbursementRequest.iban))
    assert iban not in page and f"IBAN masqué, se terminant par {iban[-4:]}" in page
    manager_page = desk[StaffRole.MANAGER].get(f"/gestion/remboursements/{filed}")
    assert iban in manager_page.get_data(as_text=True)
    token = csrf_token(agent, "/gestion/adherents")
    response = agent.post(
        f"/gestion/remboursements/{filed}",
        data={"csrf_token": token, "status": "acceptee", "comment": "OK"},
    )
    assert response.status_code == 403
    with app.app_context():
        assert db.session.scalar(sa.select(ReimbursementRequest.status)) == (
            ReimbursementStatus.RECEIVED
        )


def test_manager_sets_a_status_and_the_member_is_emailed(app, desk, filed, mailbox):
    manager = desk[StaffRole.MANAGER]
    queue = manager.get("/gestion/remboursements?statut=recue").get_data(as_text=True)
    assert filed in queue
    response = submit(
        manager,
        f"/gestion/remboursements/{filed}",
        {"status": "acceptee", "comment": "Virement sous 5 jours."},
    )
    assert response.status_code == 302
    message = mailbox.last(SOPHIE)
    assert filed in message["Subject"] and "Acceptée" in message["Subject"]
    assert "Virement sous 5 jours." in mailbox.text(message)
    with app.app_context():
        reimbursement = db.session.scalar(sa.select(ReimbursementRequest))
        assert reimbursement.status is ReimbursementStatus.ACCEPTED
        assert reimbursement.history[-1].comment == "Virement sous 5 jours."
    rows = log_rows(app, AccessAction.STATUS_CHANGED)
    assert [r.detail for r in rows] == [f"{filed} : Acceptée"]
    assert filed not in manager.get("/gestion/remboursements?statut=recue").get_data(as_text=True)


def test_the_same_status_again_needs_a_comment_for_the_member(app, desk, filed, mailbox):
    """It would e-mail the member « … est maintenant : Reçue » for nothing; with a comment it
    tells something, and goes."""
    manager = desk[StaffRole.MANAGER]
    response = submit(manager, f"/gestion/remboursements/{filed}", {"status": "recue"})
    assert response.status_code == 200
    assert (
        "La demande est déjà « Reçue » : choisissez un autre statut, ou écrivez un commentaire "
        "pour l&#39;adhérent."
    ) in response.get_data(as_text=True)
    assert log_rows(app, AccessAction.STATUS_CHANGED) == []
    with app.app_context():
        assert len(db.session.scalar(sa.select(ReimbursementRequest)).history) == 1
    response = submit(
        manager,
        f"/gestion/remboursements/{filed}",
        {"status": "recue", "comment": "Il manque la facture."},
    )
    assert response.status_code == 302
    assert "Il manque la facture." in mailbox.text(mailbox.last(SOPHIE))


def test_unknown_status_says_so_and_a_bad_status_posted_changes_nothing(app, desk, filed):
    manager = desk[StaffRole.MANAGER]
    page = manager.get("/gestion/remboursements?statut=payee").get_data(as_text=True)
    assert "Statut inconnu" in page and filed in page
    token = csrf_token(manager, f"/gestion/remboursements/{filed}")
    before = len(log_rows(app))
    response = manager.post(
        f"/gestion/remboursements/{filed}", data={"csrf_token": token, "status": "payee"}
    )
    assert response.status_code == 200
    assert "Choisissez un statut de la liste." in response.get_data(as_text=True)
    # The request is shown again whole with the form's error: that look is logged too.
    rows = log_rows(app)[before:]
    assert [row.action for row in rows] == [AccessAction.REQUEST_VIEWED]
    assert rows[0].detail == filed
    with app.app_context():
        assert db.session.scalar(sa.select(ReimbursementRequest.status)) == (
            ReimbursementStatus.RECEIVED
        )


# --- Trips of the day and CSV -------------------------------------------------------------


def test_trips_of_the_day_and_csv_with_formulas_neutralised(app, desk, auth):
    auth.create_account()
    addresses = add_addresses(app)
    with app.app_context():
        db.session.execute(
            sa.text(
                "UPDATE addresses SET street = '=HYPERLINK(\"http://x\")' WHERE label = 'Maison'"
            )
        )
        db.session.commit()
    add_trip(
        app,
        SOPHIE,
        child_id(app, "Maxime"),
        date(2026, 5, 21),
        time(8, 30),
        addresses["Maison"],
        addresses["École Jules Ferry"],
        TripPurpose.SCHOOL,
    )
    agent = desk[StaffRole.AGENT]
    page = agent.get("/gestion/trajets?jour=2026-05-21").get_data(as_text=True)
    assert "Maxime MARTIN" in page and "08:30" in page and "Demandé" in page
    assert "Aucun trajet" in agent.get("/gestion/trajets?jour=2026-05-22").get_data(as_text=True)
    assert "Aucun trajet" in desk["outsider"].get("/gestion/trajets?jour=2026-05-21").get_data(
        as_text=True
    )
    response = agent.get("/gestion/trajets.csv?jour=2026-05-21")
    assert response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:2] == ["Date", "Heure"]
    assert rows[1][4] == "Maxime MARTIN"
    assert rows[1][5].startswith("'=HYPERLINK")
    assert {r.action for r in log_rows(app)} >= {
        AccessAction.TRIPS_VIEWED,
        AccessAction.TRIPS_EXPORTED,
    }


@pytest.mark.parametrize("day", ["2026-13-01", "demain", "2026-5-1", "x" * 500])
def test_a_bad_day_gets_a_french_message(app, desk, day):
    page = desk[StaffRole.AGENT].get("/gestion/trajets", query_string={"jour": day})
    assert page.status_code == 200
    assert "Date invalide" in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+33 6", "'+33 6"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("Maison", "Maison"),
        (None, ""),
    ],
)
def test_spreadsheet_safe_neutralises_formula_cells(value, safe):
    assert rules.spreadsheet_safe(value) == safe


# --- Access log ---------------------------------------------------------------------------


def test_admin_reads_and_filters_the_access_log_and_others_are_refused(app, desk, filed):
    sophie = member_id(app)
    desk[StaffRole.AGENT].get(f"/gestion/adherents/{sophie}")
    admin = desk[StaffRole.ADMIN]
    page = admin.get("/gestion/journal").get_data(as_text=True)
    assert "Dossier consulté" in page and "AB123456 — MARTIN Sophie" in page
    with app.app_context():
        agent_id = db.session.scalar(sa.select(StaffMember.id).where(StaffMember.email == AGENT))
        admin_id = db.session.scalar(sa.select(StaffMember.id).where(StaffMember.email == ADMIN))
    filtered = admin.get(f"/gestion/journal?staff={admin_id}&member=AB123456").get_data(
        as_text=True
    )
    assert "Dossier consulté" not in filtered
    filtered = admin.get(f"/gestion/journal?staff={agent_id}&member=AB123456").get_data(
        as_text=True
    )
    assert "Dossier consulté" in filtered
    future = admin.get("/gestion/journal?start=2026-05-19").get_data(as_text=True)
    assert "Dossier consulté" not in future
    bad = admin.get("/gestion/journal?start=hier").get_data(as_text=True)
    assert "Saisissez une date valide" in bad
    anyone = admin.get("/gestion/journal?staff=quelqu-un").get_data(as_text=True)
    assert "coerce" not in anyone and "Dossier consulté" in anyone  # read as « Tous »
    exported = admin.get("/gestion/journal.csv?member=AB123456")
    assert exported.data.startswith(b"\xef\xbb\xbf")
    text = exported.data.decode("utf-8-sig")
    assert "Dossier consulté;AB123456 — MARTIN Sophie" in text
    assert desk[StaffRole.AGENT].get("/gestion/journal").status_code == 403
    assert desk[StaffRole.MANAGER].get("/gestion/journal.csv").status_code == 403
    # An administrator of another insurer reads nothing about Sophie.
    other = desk["outsider"].get("/gestion/journal").get_data(as_text=True)
    assert "MARTIN Sophie" not in other
    # Its staff filter names its own insurer's staff and those who see every insurer, not
    # the staff of Mutuelle Démo only (the agent, the gestionnaire).
    assert OUTSIDER in other and ADMIN in other
    assert AGENT not in other and MANAGER not in other
    assert AGENT in page and OUTSIDER in page  # the national administrator's filter: everyone


def test_every_look_writes_its_log_row(app, desk, filed):
    sophie = member_id(app)
    agent = desk[StaffRole.AGENT]
    before = len(log_rows(app))
    for path, action in (
        ("/gestion/adherents?q=martin", AccessAction.SEARCH),
        (f"/gestion/adherents/{sophie}", AccessAction.MEMBER_VIEWED),
        (f"/gestion/remboursements/{filed}", AccessAction.REQUEST_VIEWED),
        (
            f"/gestion/remboursements/{filed}/justificatifs/{document_id(app)}",
            AccessAction.DOCUMENT_OPENED,
        ),
        ("/gestion/trajets", AccessAction.TRIPS_VIEWED),
        ("/gestion/remboursements?statut=recue", AccessAction.REQUESTS_VIEWED),
    ):
        assert agent.get(path).status_code == 200
        rows = log_rows(app)
        assert len(rows) == before + 1, path
        assert rows[-1].action is action
        assert rows[-1].ip == "127.0.0.1"
        before += 1


def test_access_log_refuses_update_and_delete_on_postgresql(app, desk):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the trigger exists on PostgreSQL only")
        for statement in ("UPDATE access_log SET detail = 'x'", "DELETE FROM access_log"):
            with pytest.raises(sa.exc.DBAPIError, match="insert-only"):
                db.session.execute(sa.text(statement))
            db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count(AccessLogEntry.id))) == 4


def test_member_file_and_lists_run_a_fixed_number_of_queries(app, desk, filed, count_queries):
    """More trips, requests or documents do not add statements to the pages."""
    maxime, franck = child_id(app, "Maxime"), child_id(app, "Franck")
    addresses = add_addresses(app)
    home, school = addresses["Maison"], addresses["École Jules Ferry"]
    add_trip(app, SOPHIE, maxime, date(2026, 5, 21), time(8, 30), home, school)
    agent = desk[StaffRole.AGENT]
    sophie = member_id(app)
    paths = (
        f"/gestion/adherents/{sophie}",
        "/gestion/adherents?q=martin",
        "/gestion/remboursements",
        "/gestion/trajets?jour=2026-05-21",
    )

    def counts() -> list[int]:
        found = []
        for path in paths:
            with count_queries() as counter:
                assert agent.get(path).status_code == 200
            found.append(counter.count)
        return found

    before = counts()
    for hour in (9, 10, 11):
        add_trip(app, SOPHIE, franck, date(2026, 5, 21), time(hour, 0), home, school)
    with app.app_context():
        reimbursement = db.session.scalar(sa.select(ReimbursementRequest))
        db.session.add(
            ReimbursementRequest(
                number="R-2026-999999",
                account_id=reimbursement.account_id,
                assistance_file_id=reimbursement.assistance_file_id,
                nature="Taxi",
                expense_date=date(2026, 5, 1),
                amount_cents=1000,
                holder_name="Sophie Martin",
                iban=reimbursement.iban,
            )
        )
        db.session.commit()
    assert counts() == before


def test_staff_cookie_is_secure_under_https(make_app, app, demo):
    secure_app = make_app(PUBLIC_URL="https://portail.example", SESSION_COOKIE_SECURE=True)
    secret, _ = add_staff(app, AGENT, StaffRole.AGENT)
    client = secure_app.test_client()
    response = staff_login(client, AGENT, current_code(secret))
    cookie = next(
        c for c in response.headers.getlist("Set-Cookie") if c.startswith("cartable_staff=")
    )
    assert "Secure" in cookie and "Path=/gestion" in cookie


def test_the_desk_sees_the_trip_status_and_transporter_from_the_assistance(app, auth, desk):
    auth.create_account()
    addresses = add_addresses(app)
    trip_id = add_trip(
        app,
        SOPHIE,
        child_id(app, "Maxime"),
        date(2026, 5, 21),
        time(8, 30),
        addresses["Maison"],
        addresses["École Jules Ferry"],
        TripPurpose.SCHOOL,
    )
    with app.app_context():
        trip = db.session.get(Trip, trip_id)
        trip.status = TripStatus.CONFIRMED
        trip.transporter_name = "Taxi Bellecour"
        trip.transporter_phone = "04 78 00 00 00"
        holder_id = db.session.get(Account, trip.account_id).member_id
        db.session.commit()
    agent = desk[StaffRole.AGENT]
    day = agent.get("/gestion/trajets?jour=2026-05-21").get_data(as_text=True)
    assert "Confirmé (Taxi Bellecour, 04 78 00 00 00)" in day
    page = agent.get(f"/gestion/adherents/{holder_id}").get_data(as_text=True)
    assert "Confirmé (Taxi Bellecour, 04 78 00 00 00)" in page
