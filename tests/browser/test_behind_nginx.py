"""Journeys through the production stack (tests/conftest.py: two waitress processes on
PostgreSQL, Redis, nginx), where what nginx answers by itself meets a real browser: over
HTTP/1.1 on the test stack's site, and over TLS and HTTP/2 on the production site itself."""

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.embedding.settings import Changes, update_insurer
from app.extensions import db
from app.models import Insurer, ReimbursementRequest
from tests.browser.test_browser_reimbursements import fill_request
from tests.browser.test_embedding import HostPage, serve_host_page
from tests.browser.test_small_screens import log_in
from tests.conftest import DEFAULT_PASSWORD
from tests.reimbursement_samples import pdf_bytes

pytestmark = pytest.mark.browser

NEW_REQUEST = "/remboursements/nouvelle-demande"
PROTOCOL = "performance.getEntriesByType('navigation')[0].nextHopProtocol"


def strict_tls_context(browser, browser_context_args):
    """A context under the application's own CSP, trusting the site's throwaway
    certificate."""
    args = {key: value for key, value in browser_context_args.items() if key != "bypass_csp"}
    return browser.new_context(**args, ignore_https_errors=True)


def heavy_scans(folder) -> list:
    """Five scans of 16 MB: 80 MB, over the 61 MiB an upload form takes."""
    scans = []
    for n in range(5):
        scan = folder / f"scan-{n}.pdf"
        scan.write_bytes(b"%PDF-1.4\n" + b"0" * (16 * 1024 * 1024))
        scans.append(scan)
    return scans


def requests_recorded(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(ReimbursementRequest.id)))


def test_documents_too_heavy_for_the_form_get_nginxs_french_page(page, nginx, auth, app, tmp_path):
    """nginx refuses the body before reading it, and Chromium, over HTTP/1.1 as here, shows
    its French page, not a reset connection. Nothing is recorded."""
    auth.create_account()
    scans = heavy_scans(tmp_path)
    log_in(page, nginx)
    page.goto(nginx.url + NEW_REQUEST)
    page.get_by_label("Justificatifs").set_input_files(scans)
    with page.expect_response(lambda answer: NEW_REQUEST in answer.url) as sent:
        page.get_by_role("button", name="Envoyer ma demande").click()
    assert sent.value.status == 413
    expect(page.get_by_role("heading", level=1)).to_have_text("Envoi trop volumineux")
    expect(page.get_by_text("au plus 5 fichiers, de 10 Mo chacun au maximum")).to_be_visible()
    page.get_by_role("link", name="Mes remboursements").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes remboursements")
    assert requests_recorded(app) == 0


def test_over_tls_and_http2_a_request_goes_through_and_too_heavy_documents_do_not(
    browser, browser_context_args, production_site, auth, app, tmp_path
):
    """The production site as written (deploy/nginx/cartable.conf), as browsers meet it:
    TLS and HTTP/2, under the application's own CSP. Sophie's request with a PDF crosses
    nginx's check and reaches a process; then five scans of 16 MB get nginx's early 413,
    sent before the body over HTTP/2, and Chromium shows the French page."""
    auth.create_account()
    context = strict_tls_context(browser, browser_context_args)
    page = context.new_page()
    try:
        log_in(page, production_site)
        assert page.evaluate(PROTOCOL) == "h2"
        page.goto(production_site.url + NEW_REQUEST)
        fill_request(
            page, [{"name": "reçu.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()}]
        )
        expect(page.get_by_role("status")).to_contain_text("est enregistrée")
        assert page.evaluate(PROTOCOL) == "h2"
        assert requests_recorded(app) == 1

        page.goto(production_site.url + NEW_REQUEST)
        with page.expect_response(lambda answer: NEW_REQUEST in answer.url) as sent:
            fill_request(page, heavy_scans(tmp_path))
        assert sent.value.status == 413
        expect(page.get_by_role("heading", level=1)).to_have_text("Envoi trop volumineux")
        assert page.evaluate(PROTOCOL) == "h2"
        assert requests_recorded(app) == 1
    finally:
        context.close()


@pytest.fixture
def insurer_site(production_site) -> Iterator[HostPage]:
    """An insurer's site over TLS on https://localhost:<port>: a site other than the portal's
    127.0.0.1, both on loopback (Chromium keeps a public site from framing loopback
    addresses)."""
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(production_site.certificate, production_site.key)
    with serve_host_page("localhost", tls) as site:
        yield site


def test_inside_an_insurers_frame_over_tls_sophie_logs_in_and_reads_her_trips(
    browser, browser_context_args, production_site, insurer_site, auth, app, demo
):
    """The insurer's frame as production serves it: another site, over HTTPS, frames the
    portal through nginx over TLS and HTTP/2. The frame's session cookie is partitioned
    under that site, the CSP lets it frame the portal, and a form sent inside the frame
    passes the referrer check over HTTPS."""
    auth.create_account()
    with app.app_context():
        insurer = db.session.scalar(sa.select(Insurer).where(Insurer.slug == "demo"))
        changes = Changes(add_origins=[insurer_site.origin])
        update_insurer(db.session, insurer, changes, Path(app.config["UPLOAD_FOLDER"]))
    portal = production_site.url
    insurer_site.body[0] = (
        '<!doctype html><html lang="fr"><head><meta charset="utf-8">'
        "<title>Mutuelle Démo</title></head><body><h1>Mutuelle Démo</h1>"
        f'<iframe data-cartable src="{portal}/e/demo" title="Cartable"'
        ' style="width:100%;height:900px"></iframe></body></html>'
    )
    context = strict_tls_context(browser, browser_context_args)
    page = context.new_page()
    try:
        page.goto(insurer_site.url)
        frame = page.frame_locator("iframe[data-cartable]")
        expect(frame.get_by_role("banner")).to_contain_text("Mutuelle Démo")
        [cookie] = [c for c in context.cookies() if c["name"] == "cartable_session"]
        assert cookie["secure"] and cookie["sameSite"] == "None"
        assert cookie.get("partitionKey") == "https://localhost"

        frame.get_by_role("banner").get_by_role("link", name="Connexion").click()
        frame.get_by_label("Adresse e-mail").fill("sophie.martin@example.fr")
        frame.get_by_label("Mot de passe", exact=True).fill(DEFAULT_PASSWORD)
        frame.get_by_role("button", name="Se connecter").click()
        expect(frame.get_by_role("heading", level=1)).to_have_text("Mon Espace")
        frame.get_by_role("banner").get_by_role("link", name="Mes trajets").click()
        expect(frame.get_by_role("heading", level=1)).to_have_text("Mes trajets")
        expect(frame.get_by_role("banner")).to_contain_text("Mutuelle Démo")
        portal_frame = next(f for f in page.frames if f.url.startswith(portal))
        assert portal_frame.evaluate(PROTOCOL) == "h2"
        assert page.url == insurer_site.url  # the insurer's page never left the screen
    finally:
        context.close()
