"""The security review's findings on sessions and logins: timing, idle sessions, recent
password entry, confirmation links, stale forms."""

import html
import os
import subprocess
import sys
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from app.auth.routes import LOGIN_FAILED
from app.clock import PARIS
from app.extensions import db
from app.models import Account, Address, UserSession
from tests.conftest import DEFAULT_PASSWORD, csrf_token, submit
from tests.reimbursement_samples import pdf_bytes
from tests.test_reimbursements import nothing_stored, upload, valid_form

SOPHIE = "sophie.martin@example.fr"
IDLE_MESSAGE = "Votre session a expiré après une période d'inactivité. Reconnectez-vous."
MAISON = {
    "label": "Maison",
    "kind": "domicile",
    "street": "12 rue des Lilas",
    "complement": "",
    "postal_code": "75011",
    "city": "Paris",
}


@pytest.fixture(autouse=True)
def morning(time_machine):
    """Every test starts today at 10:00 in Paris, clock frozen (before the demo loads)."""
    moment = datetime.combine(date.today(), time(10, 0), tzinfo=PARIS)
    time_machine.move_to(moment, tick=False)
    return moment


def at(time_machine, moment, minutes: float):
    time_machine.move_to(moment + timedelta(minutes=minutes), tick=False)


def sessions(app) -> list[UserSession]:
    with app.app_context():
        return list(db.session.scalars(sa.select(UserSession)))


def addresses(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(Address.label)))


def text(response) -> str:
    """The page as a reader sees its characters (apostrophes are escaped in the markup)."""
    return html.unescape(response.get_data(as_text=True))


# --- Login timing -------------------------------------------------------------------------


@pytest.fixture
def hashing_work(monkeypatch):
    """Counts argon2 hashes and verifications, whoever calls them."""
    work = {"hash": 0, "verify": 0}
    real_hash, real_verify = PasswordHasher.hash, PasswordHasher.verify

    def counted_hash(self, *args, **kwargs):
        work["hash"] += 1
        return real_hash(self, *args, **kwargs)

    def counted_verify(self, *args, **kwargs):
        work["verify"] += 1
        return real_verify(self, *args, **kwargs)

    monkeypatch.setattr(PasswordHasher, "hash", counted_hash)
    monkeypatch.setattr(PasswordHasher, "verify", counted_verify)
    return work


def _failed_login_work(client, work, email) -> dict:
    before = dict(work)
    response = submit(client, "/connexion", {"email": email, "password": "Mauvais2026!"})
    assert LOGIN_FAILED in text(response)
    return {kind: work[kind] - before[kind] for kind in work}


def test_unknown_and_known_emails_cost_the_same_hashing_work(client, auth, hashing_work):
    auth.create_account()
    # The first unknown e-mail after a start too: the dummy hash was made with the application.
    first = _failed_login_work(client, hashing_work, "personne@example.fr")
    unknown = _failed_login_work(client, hashing_work, "quelqu.un@example.fr")
    known = _failed_login_work(client, hashing_work, SOPHIE)
    assert first == unknown == known == {"hash": 0, "verify": 1}


def test_the_dummy_hash_has_the_parameters_of_real_hashes(app, auth, hashing_work):
    from argon2 import extract_parameters

    from app.auth.passwords import DUMMY_HASH_KEY, hash_password, verify_password

    with app.test_request_context():
        assert verify_password(None, "dummy-password-for-timing") is False
        assert verify_password(None, DEFAULT_PASSWORD) is False
        dummy = app.extensions[DUMMY_HASH_KEY]
        assert extract_parameters(dummy) == extract_parameters(hash_password("Autre2026!"))
    assert hashing_work["hash"] == 1  # the real one: the dummy was made with the application


# --- Idle sessions ------------------------------------------------------------------------


def test_a_session_idle_for_30_minutes_ends_with_a_french_message(
    app, client, auth, time_machine, morning
):
    auth.sophie()
    at(time_machine, morning, 29)
    assert client.get("/mon-espace").status_code == 200
    at(time_machine, morning, 29 + 29)  # 29 minutes since the last page: still open
    assert client.get("/trajets").status_code == 200
    at(time_machine, morning, 29 + 29 + 31)  # written at 58: 31 minutes is past any doubt
    response = client.get("/mon-espace")
    assert response.status_code == 302
    assert response.location == "/connexion?next=%2Fmon-espace"
    page = text(client.get(response.location))
    assert IDLE_MESSAGE in page
    assert "Veuillez vous connecter" not in page
    assert sessions(app) == []  # the ended session's row is gone
    # Logged out for good: the next page asks to log in, without the expiry message.
    again = client.get("/mon-espace", follow_redirects=True)
    assert IDLE_MESSAGE not in text(again)
    assert "Veuillez vous connecter pour accéder à cette page." in text(again)


def test_the_idle_delay_comes_from_the_configuration(make_app, auth, time_machine, morning):
    app = make_app(SESSION_IDLE_MINUTES=5)
    client = app.test_client()
    auth.create_account()
    assert submit(client, "/connexion", {"email": SOPHIE, "password": DEFAULT_PASSWORD})
    at(time_machine, morning, 4)
    assert client.get("/mon-espace").status_code == 200
    at(time_machine, morning, 10)
    assert client.get("/mon-espace").status_code == 302


def test_a_request_between_two_activity_writes_still_counts(make_app, auth, time_machine, morning):
    """Activity is written at most once a minute: a page 54 s after the last write is not
    written, yet the session lasts its whole idle delay after that page, not after the
    write; it ends within the next minute."""
    app = make_app(SESSION_IDLE_MINUTES=5)
    client = app.test_client()
    auth.create_account()
    assert submit(client, "/connexion", {"email": SOPHIE, "password": DEFAULT_PASSWORD})
    at(time_machine, morning, 0.9)  # not written: under a minute since the login
    assert client.get("/mon-espace").status_code == 200
    at(time_machine, morning, 0.9 + 4.9)  # 4.9 minutes since that page, 5.8 since the write
    assert client.get("/trajets").status_code == 200
    at(time_machine, morning, 5.8 + 6)  # written at 5.8
    assert client.get("/mon-espace").status_code == 302


@pytest.mark.parametrize(
    ("environ", "minutes"), [({}, "30"), ({"SESSION_IDLE_MINUTES": "12"}, "12")]
)
def test_the_idle_delay_defaults_to_30_minutes_and_reads_the_environment(environ, minutes):
    import config

    env = {k: v for k, v in os.environ.items() if k != "SESSION_IDLE_MINUTES"}
    printed = subprocess.run(  # noqa: S603 - a fresh interpreter reads the environment
        [sys.executable, "-c", "import config; print(config.Config.SESSION_IDLE_MINUTES)"],
        cwd=config.BASE_DIR,
        env={**env, **environ},
        capture_output=True,
        text=True,
        check=True,
    )
    assert printed.stdout.strip() == minutes


def test_an_expired_public_page_shows_the_message_and_the_connexion_button(
    client, auth, time_machine, morning
):
    auth.sophie()
    at(time_machine, morning, 31)
    page = text(client.get("/"))
    assert IDLE_MESSAGE in page
    assert "Connexion" in page


def test_activity_is_written_at_most_once_a_minute(app, client, auth, time_machine, morning):
    auth.sophie()
    [opened] = sessions(app)
    at(time_machine, morning, 0.5)
    client.get("/mon-espace")
    assert sessions(app)[0].last_seen_at == opened.last_seen_at  # less than a minute: no write
    at(time_machine, morning, 2)
    client.get("/mon-espace")
    assert sessions(app)[0].last_seen_at == opened.last_seen_at + timedelta(minutes=2)


def test_pages_read_within_the_minute_write_nothing(client, auth, count_queries, time_machine):
    auth.sophie()
    with count_queries() as counter:
        assert client.get("/mon-espace").status_code == 200
    assert not [s for s in counter.statements if s.lstrip().upper().startswith("UPDATE")]


def test_an_expired_session_posting_a_form_writes_nothing(app, client, auth, time_machine, morning):
    auth.sophie()
    token = csrf_token(client, "/adresses/ajouter")
    at(time_machine, morning, 45)
    response = client.post("/adresses/ajouter", data={"csrf_token": token, **MAISON})
    assert response.status_code == 302
    assert response.location.startswith("/connexion")
    assert IDLE_MESSAGE in text(client.get(response.location))
    assert addresses(app) == []


# --- Recent password entry ----------------------------------------------------------------

CONFIRM_URL = "/mon-espace/confirmer-mot-de-passe"
EXPORT_URL = "/mon-espace/mes-donnees"


def test_my_data_within_5_minutes_of_the_login_downloads_at_once(
    client, auth, time_machine, morning
):
    auth.sophie()
    at(time_machine, morning, 4)
    response = client.get(EXPORT_URL)
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]


def test_my_data_asks_for_the_password_again_after_5_minutes(client, auth, time_machine, morning):
    auth.sophie()
    at(time_machine, morning, 6)
    response = client.get(EXPORT_URL)
    assert response.status_code == 302
    assert response.location == CONFIRM_URL + "?next=/mon-espace/mes-donnees"
    page = text(client.get(response.location))
    assert "Pour votre sécurité, saisissez à nouveau votre mot de passe" in page
    assert "sophie.martin@example.fr" not in page
    wrong = submit(client, response.location, {"password": "Mauvais2026!"})
    assert wrong.status_code == 200
    assert "Le mot de passe saisi n'est pas le bon." in text(wrong)
    assert client.get(EXPORT_URL).status_code == 302  # still not recent
    right = submit(client, response.location, {"password": DEFAULT_PASSWORD})
    assert right.status_code == 302
    assert right.location == EXPORT_URL
    download = client.get(EXPORT_URL)
    assert download.status_code == 200
    assert '"adresse_email": "sophie.martin@example.fr"' in text(download)
    at(time_machine, morning, 6 + 6)
    assert client.get(EXPORT_URL).status_code == 302  # five minutes, then asked again


def test_password_confirmation_follows_only_a_path_of_this_site(
    client, auth, time_machine, morning
):
    auth.sophie()
    at(time_machine, morning, 6)
    url = CONFIRM_URL + "?next=https://pirate.example/"
    response = submit(client, url, {"password": DEFAULT_PASSWORD})
    assert response.location == "/mon-espace"


def test_password_confirmation_is_per_session(
    app, client, other_client, auth, time_machine, morning
):
    auth.sophie()
    other = type(auth)(app, other_client)
    at(time_machine, morning, 6)
    assert other.login().status_code == 302
    assert other_client.get(EXPORT_URL).status_code == 200  # its login is recent
    assert client.get(EXPORT_URL).status_code == 302  # this one's is not


# Stricter than « Mes données »: a new e-mail and deleting the account want the password
# every time, just after logging in as well as later.
@pytest.mark.parametrize("minutes", [0, 6])
def test_changing_the_email_asks_for_the_password_every_time(
    app, client, auth, mailbox, time_machine, morning, minutes
):
    auth.sophie()
    at(time_machine, morning, minutes)
    change = {"email": "sophie.nouvelle@example.fr", "phone": "06 12 34 56 78"}
    response = submit(client, "/mon-espace/modifier", change)
    assert response.status_code == 200
    assert "saisissez votre mot de passe actuel" in text(response)
    assert mailbox.to("sophie.nouvelle@example.fr") == []
    response = submit(
        client, "/mon-espace/modifier", {**change, "current_password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302
    assert mailbox.to("sophie.nouvelle@example.fr")


@pytest.mark.parametrize("minutes", [0, 6])
def test_deleting_the_account_asks_for_the_password_every_time(
    app, client, auth, time_machine, morning, minutes
):
    auth.sophie()
    at(time_machine, morning, minutes)
    response = submit(client, "/mon-espace/supprimer", {"password": ""})
    assert response.status_code == 200
    assert 'id="password-erreur"' in text(response)
    assert len(sessions(app)) == 1
    response = submit(client, "/mon-espace/supprimer", {"password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert sessions(app) == []


# --- Confirmation links -------------------------------------------------------------------

REGISTRATION = {
    "member_number": "AB123456",
    "first_name": "Sophie",
    "last_name": "MARTIN",
    "email": SOPHIE,
    "phone": "06 12 34 56 78",
    "password": DEFAULT_PASSWORD,
    "password_confirm": DEFAULT_PASSWORD,
}


def emailed_path(mailbox, address: str) -> str:
    return mailbox.links(mailbox.last(address))[0].removeprefix("http://portail.test")


def confirmed_at(app, email=SOPHIE):
    with app.app_context():
        return db.session.scalar(sa.select(Account.confirmed_at).where(Account.email == email))


def test_opening_the_confirmation_link_only_shows_a_button(app, client, demo, mailbox):
    submit(client, "/inscription", REGISTRATION)
    link = emailed_path(mailbox, SOPHIE)
    for _ in range(3):  # a mail scanner, a preview, the owner
        page = client.get(link)
        assert page.status_code == 200
        assert "Confirmer mon adresse e-mail" in text(page)
        assert '<form method="post"' in text(page)
    assert confirmed_at(app) is None
    login = submit(client, "/connexion", {"email": SOPHIE, "password": DEFAULT_PASSWORD})
    assert LOGIN_FAILED in text(login)
    assert submit(client, link).status_code == 302
    assert confirmed_at(app) is not None
    login = submit(client, "/connexion", {"email": SOPHIE, "password": DEFAULT_PASSWORD})
    assert login.status_code == 302


def test_a_confirmation_post_without_csrf_token_confirms_nothing(app, client, demo, mailbox):
    submit(client, "/inscription", REGISTRATION)
    link = emailed_path(mailbox, SOPHIE)
    client.get(link)
    response = client.post(link)
    assert response.status_code == 400
    assert "Le formulaire a expiré ou n'a pas pu être vérifié" in text(response)
    assert confirmed_at(app) is None


def test_a_confirmation_link_opened_twice_says_it_is_done(app, client, other_client, demo, mailbox):
    submit(client, "/inscription", REGISTRATION)
    link = emailed_path(mailbox, SOPHIE)
    assert submit(client, link).status_code == 302
    first = confirmed_at(app)
    for browser in (client, other_client):
        response = browser.get(link)
        assert response.status_code == 302
        page = text(browser.get(response.location))
        assert "Votre adresse e-mail est déjà confirmée. Vous pouvez vous connecter." in page
    assert submit(other_client, link, form_url="/connexion").status_code == 302
    assert confirmed_at(app) == first


def test_opening_the_new_address_link_changes_nothing_until_the_button(app, client, auth, mailbox):
    auth.sophie()
    change = {
        "email": "sophie.nouvelle@example.fr",
        "phone": "06 12 34 56 78",
        "current_password": DEFAULT_PASSWORD,
    }
    submit(client, "/mon-espace/modifier", change)
    link = emailed_path(mailbox, "sophie.nouvelle@example.fr")
    page = client.get(link)
    assert "Confirmer mon adresse e-mail" in text(page)
    assert "sophie.nouvelle@example.fr" in text(page)
    assert confirmed_at(app, "sophie.nouvelle@example.fr") is None  # no such account yet
    assert submit(client, link).status_code == 302
    assert confirmed_at(app, "sophie.nouvelle@example.fr") is not None
    assert client.get(link).status_code == 400  # used


# --- Stale forms --------------------------------------------------------------------------

FORM_EXPIRED = (
    "Ce formulaire a expiré : rien n'a été enregistré. Vérifiez vos informations et "
    "envoyez-le à nouveau."
)


def test_a_stale_registration_form_comes_back_with_a_french_message(
    make_app, demo, mailbox, time_machine, morning
):
    app = make_app(WTF_CSRF_TIME_LIMIT=3600)
    client = app.test_client()
    token = csrf_token(client, "/inscription")
    at(time_machine, morning, 61)
    response = client.post("/inscription", data={"csrf_token": token, **REGISTRATION})
    assert response.status_code == 303
    assert response.location == "/inscription"
    page = text(client.get(response.location))
    assert FORM_EXPIRED in page
    assert "Créer mon compte" in page  # the form again
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Account.id))) == 0
    assert mailbox.messages == []
    # With the fresh token of the page shown again, the form goes through.
    assert submit(client, "/inscription", REGISTRATION).status_code == 200
    assert mailbox.to(SOPHIE)


def test_a_stale_form_of_a_member_writes_nothing(make_app, auth, time_machine, morning):
    app = make_app(WTF_CSRF_TIME_LIMIT=600)
    client = app.test_client()
    auth.create_account()
    submit(client, "/connexion", {"email": SOPHIE, "password": DEFAULT_PASSWORD})
    token = csrf_token(client, "/adresses/ajouter")
    at(time_machine, morning, 11)
    response = client.post("/adresses/ajouter", data={"csrf_token": token, **MAISON})
    assert response.status_code == 303
    assert response.location == "/adresses/ajouter"
    page = text(client.get(response.location))
    assert FORM_EXPIRED in page
    assert "Intitulé" in page
    assert addresses(app) == []


def test_a_stale_upload_form_writes_nothing_and_comes_back_with_the_message(
    make_app, auth, time_machine, morning
):
    """A complete request with its document, sent after the token expired: the token is
    refused before the body is read, the form comes back (without the stale token in its
    address) with the French message, and no request, document or file is written."""
    app = make_app(WTF_CSRF_TIME_LIMIT=600)
    client = app.test_client()
    auth.create_account()
    submit(client, "/connexion", {"email": SOPHIE, "password": DEFAULT_PASSWORD})
    url = "/remboursements/nouvelle-demande"
    token = csrf_token(client, url)
    at(time_machine, morning, 11)
    form = {**valid_form(app), "csrf_token": token}
    form["documents"] = [upload(pdf_bytes(), "reçu taxi.pdf", "application/pdf")]
    response = client.post(f"{url}?csrf_token={token}", data=form)
    assert response.status_code == 303
    assert response.location == url
    page = text(client.get(response.location))
    assert FORM_EXPIRED in page
    assert "Nature de la dépense" in page  # the form again
    nothing_stored(app)


def test_a_form_without_token_is_still_a_plain_refusal(client, demo):
    response = client.post("/inscription", data=REGISTRATION)
    assert response.status_code == 400
    assert "Le formulaire a expiré ou n'a pas pu être vérifié" in text(response)
