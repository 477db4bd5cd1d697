"""« Mes remboursements » in Chromium: Sophie files a request with real files; axe-core checks."""

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.clock import today
from app.extensions import db
from app.models import ReimbursementRequest
from tests.conftest import DEFAULT_PASSWORD
from tests.reimbursement_samples import HTML_BYTES, jpeg_bytes, pdf_bytes

pytestmark = pytest.mark.browser

SOPHIE = "sophie.martin@example.fr"


def log_in_as_sophie(page, live_server, auth):
    auth.create_account()
    page.goto(live_server.url + "/connexion")
    page.get_by_label("Adresse e-mail").fill(SOPHIE)
    page.get_by_label("Mot de passe", exact=True).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("link", name="Mes remboursements").first).to_be_visible()


def fill_request(page, files):
    page.get_by_label("Nature de la dépense").fill("Frais de taxi avancés")
    page.get_by_label("Date de la dépense").fill(today().isoformat())
    page.get_by_label("Montant").fill("35,50")
    page.get_by_label("Titulaire du compte").fill("Sophie Martin")
    page.get_by_label("IBAN").fill("fr76 3000 6000 0112 3456 7890 189")
    page.get_by_label("Justificatifs").set_input_files(files)
    page.get_by_role("button", name="Envoyer ma demande").click()


def test_sophie_files_a_request_with_a_pdf_and_a_phone_photo(page, live_server, auth, axe, mailbox):
    log_in_as_sophie(page, live_server, auth)
    page.get_by_role("link", name="Mes remboursements").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes remboursements")
    main = page.get_by_role("main")
    expect(main).to_contain_text("Cette plateforme ne réalise pas de devis.")
    expect(main).to_contain_text("ne couvre pas les frais de santé")
    expect(main).to_contain_text("Vous n'avez encore fait aucune demande de remboursement.")
    axe(page)

    main.get_by_role("link", name="Nouvelle demande").click()
    expect(page.get_by_label("Dossier d'assistance")).to_have_value(re.compile(r"\d+"))
    expect(page.get_by_label("Dossier d'assistance").locator("option:checked")).to_have_text(
        "DA-2026-0001"
    )
    axe(page)
    fill_request(
        page,
        [
            {"name": "reçu taxi.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()},
            {"name": "IMG_2041.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes()},
        ],
    )

    with live_server.app.app_context():
        number = db.session.scalar(sa.select(ReimbursementRequest.number))
    assert number is not None and number.startswith(f"R-{today().year}-")
    expect(page.get_by_role("status")).to_contain_text(f"Votre demande {number} est enregistrée")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Demande de remboursement {number}")
    details = page.get_by_role("main")
    expect(details).to_contain_text("Reçue")
    expect(details).to_contain_text("35,50\u00a0€")
    expect(details).to_contain_text("0189")
    expect(details).not_to_contain_text("FR76")
    for name in ("reçu taxi.pdf", "IMG_2041.jpg"):
        expect(details.get_by_role("link", name=f"Voir {name}")).to_be_visible()
        expect(details.get_by_role("link", name=f"Télécharger {name}")).to_be_visible()
    expect(details.get_by_role("link", name="Compléter ma demande")).to_be_visible()
    axe(page)

    # The phone photo opens as a real image, decoded by Chromium.
    photo = details.get_by_role("link", name="Voir IMG_2041.jpg")
    width = page.evaluate(
        """async (url) => {
            const image = new Image();
            image.src = url;
            await image.decode();
            return image.naturalWidth;
        }""",
        photo.get_attribute("href"),
    )
    assert width == 8
    # The PDF receipt is downloaded under its original name.
    with page.expect_download() as download_info:
        details.get_by_role("link", name="Télécharger reçu taxi.pdf").click()
    download = download_info.value
    assert download.suggested_filename == "reçu taxi.pdf"
    assert Path(download.path()).read_bytes() == pdf_bytes()

    message = mailbox.last(SOPHIE)
    assert number in message["Subject"]
    assert f"{live_server.url}/remboursements/{number}" in mailbox.links(message)

    page.get_by_role("link", name="Mes remboursements").first.click()
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=number))
    expect(row).to_contain_text("Reçue")
    expect(row).to_contain_text("Frais de taxi avancés")
    axe(page)


def test_a_disguised_file_is_refused_next_to_the_field(page, live_server, auth, axe):
    log_in_as_sophie(page, live_server, auth)
    page.goto(live_server.url + "/remboursements/nouvelle-demande")
    fill_request(page, [{"name": "photo.png", "mimeType": "image/png", "buffer": HTML_BYTES}])
    field = page.get_by_label("Justificatifs")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#documents-erreur")).to_contain_text(
        "Le fichier « photo.png » n'est pas un PDF, une image JPEG ou une image PNG"
    )
    # What was typed is kept; the files must be chosen again.
    expect(page.get_by_label("Montant")).to_have_value("35,50")
    axe(page)
    with live_server.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ReimbursementRequest.id))) == 0


def test_another_sites_form_posted_to_the_upload_form_leaves_sophie_logged_in(
    page, live_server, auth
):
    """Another site's page posts a form to the upload form: Chromium keeps Sophie's
    SameSite=Lax cookie back, the portal answers with the login page, and sets no cookie
    that would replace hers (a logout by another site)."""
    log_in_as_sophie(page, live_server, auth)
    target = live_server.url + "/remboursements/nouvelle-demande"
    trap = (
        '<!doctype html><html lang="en"><title>Other site</title>'
        f'<form method="post" action="{target}" enctype="multipart/form-data">'
        '<input type="hidden" name="nature" value="x"><button>Go</button></form></html>'
    )
    page.route(
        "http://autre-site.test/**",
        lambda route: route.fulfill(body=trap, content_type="text/html"),
    )
    page.goto("http://autre-site.test/piege")
    with page.expect_response(target) as posted:
        page.get_by_role("button", name="Go").click()
    assert "cookie" not in posted.value.request.all_headers()  # kept back by the browser
    assert posted.value.status in (302, 303)
    assert posted.value.header_value("set-cookie") is None
    page.goto(live_server.url + "/mon-espace")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon Espace")
