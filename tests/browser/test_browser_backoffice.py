"""The desk's journey in Chromium: from the invitation to a processed request, axe-core on
every /gestion page."""

import re
import time

import pyotp
import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import ReimbursementRequest, ReimbursementStatus, StaffRole
from tests.conftest import Auth
from tests.reimbursement_samples import pdf_bytes
from tests.test_backoffice import STAFF_PASSWORD, add_staff
from tests.test_reimbursements import send_request, upload

pytestmark = pytest.mark.browser

NADIA = "agent@mutuelle-demo.fr"
MANAGER = "gestion@mutuelle-demo.fr"
ADMIN = "admin@assistance.fr"
SOPHIE = "sophie.martin@example.fr"


def next_step_code(secret: str) -> str:
    """The code of the next 30-second step: never the one the enrolment just used."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def log_in(page, url, email, code):
    page.goto(url + "/gestion/connexion")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(STAFF_PASSWORD)
    page.get_by_label("Code de vérification").fill(code)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rechercher un adhérent")


def test_from_invitation_to_a_processed_request(
    browser, browser_context_args, page, live_server, demo, axe, mailbox
):
    app, url = live_server.app, live_server.url
    # Sophie has filed a request (through the member pages, outside the browser).
    member = app.test_client()
    Auth(app, member).sophie()
    assert send_request(member, app, [upload(pdf_bytes(), "reçu taxi.pdf", "application/pdf")])
    with app.app_context():
        number = db.session.scalar(sa.select(ReimbursementRequest.number))

    # An administrator creates Nadia's account from the command line.
    result = app.test_cli_runner().invoke(
        args=["staff", "add", NADIA, "--name", "Nadia Benali", "--role", "agent"]
        + ["--insurer", "demo"]
    )
    assert result.exit_code == 0, result.output
    link = next(x for x in mailbox.links(mailbox.last(NADIA)) if "/gestion/invitation/" in x)

    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Bienvenue, Nadia Benali")
    axe(page)
    page.get_by_label("Mot de passe", exact=True).fill(STAFF_PASSWORD)
    page.get_by_label("Confirmation du mot de passe").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Enregistrer le mot de passe").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Activer la double authentification")
    expect(page.locator(".qr-code svg")).to_be_visible()
    axe(page)
    secret = page.locator("#cle-secrete").inner_text()
    page.get_by_label("Code à 6 chiffres").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Activer la double authentification").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vos codes de secours")
    expect(page.locator(".recovery-codes li")).to_have_count(10)
    axe(page)

    page.get_by_role("link", name="Se connecter à la gestion").click()
    axe(page)
    page.get_by_label("Adresse e-mail").fill(NADIA)
    page.get_by_label("Mot de passe").fill(STAFF_PASSWORD)
    page.get_by_label("Code de vérification").fill(next_step_code(secret))
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rechercher un adhérent")
    axe(page)

    # A member calls: Nadia finds Sophie and opens her file.
    page.get_by_label("Numéro adhérent, nom ou adresse e-mail").fill("martin")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_role("cell", name="Actif")).to_be_visible()
    axe(page)
    page.get_by_role("link", name="MARTIN Sophie").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("MARTIN Sophie")
    main = page.get_by_role("main")
    expect(main).to_contain_text("Conduite à l'école")
    expect(main).to_contain_text("Maxime")
    expect(main.get_by_role("link", name="reçu taxi.pdf")).to_be_visible()
    axe(page)
    page.get_by_role("link", name="Trajets du jour").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Trajets du")
    axe(page)
    page.get_by_role("link", name="Remboursements").click()
    axe(page)
    page.get_by_role("link", name=number).click()
    expect(page.get_by_role("heading", name="Changer le statut")).to_have_count(0)
    axe(page)

    # Her colleague, gestionnaire, processes the request.
    manager_secret, _ = add_staff(app, MANAGER, StaffRole.MANAGER)
    colleague = browser.new_context(**browser_context_args).new_page()
    try:
        log_in(colleague, url, MANAGER, pyotp.TOTP(manager_secret).now())
        colleague.get_by_role("link", name="Remboursements").click()
        colleague.get_by_label("Statut").select_option("recue")
        colleague.get_by_role("button", name="Filtrer").click()
        colleague.get_by_role("link", name=number).click()
        expect(colleague.get_by_role("link", name="reçu taxi.pdf")).to_be_visible()
        axe(colleague)
        colleague.get_by_label("Nouveau statut").select_option(label="Acceptée")
        colleague.get_by_label("Commentaire").fill("Virement sous 5 jours.")
        colleague.get_by_role("button", name="Enregistrer le statut").click()
        expect(colleague.get_by_role("status")).to_contain_text("Statut « Acceptée » enregistré")
        axe(colleague)
    finally:
        colleague.context.close()
    message = mailbox.last(SOPHIE)
    assert number in message["Subject"] and "Acceptée" in message["Subject"]
    with app.app_context():
        status = db.session.scalar(sa.select(ReimbursementRequest.status))
    assert status is ReimbursementStatus.ACCEPTED

    # The administrator reads who looked at Sophie's file.
    admin_secret, _ = add_staff(app, ADMIN, StaffRole.ADMIN, insurers=())
    submit_logout = page.get_by_role("button", name=re.compile("Déconnexion"))
    submit_logout.click()
    log_in(page, url, ADMIN, pyotp.TOTP(admin_secret).now())
    page.get_by_role("link", name="Journal").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Journal des accès")
    rows = page.get_by_role("row").filter(has_text="Dossier consulté")
    expect(rows).to_contain_text("Nadia Benali")
    expect(rows).to_contain_text("AB123456 — MARTIN Sophie")
    axe(page)
