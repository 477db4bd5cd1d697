"""Journeys through the production stack (tests/conftest.py: two waitress processes on
PostgreSQL, Redis, nginx), where what nginx answers by itself meets a real browser: over
HTTP/1.1 on the test stack's site, and over TLS and HTTP/2 on the production site itself."""

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import ReimbursementRequest
from tests.browser.test_browser_reimbursements import fill_request
from tests.browser.test_small_screens import log_in
from tests.reimbursement_samples import pdf_bytes

pytestmark = pytest.mark.browser

NEW_REQUEST = "/remboursements/nouvelle-demande"


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
    args = {key: value for key, value in browser_context_args.items() if key != "bypass_csp"}
    context = browser.new_context(**args, ignore_https_errors=True)  # a throwaway certificate
    page = context.new_page()
    try:
        log_in(page, production_site)
        protocol = "performance.getEntriesByType('navigation')[0].nextHopProtocol"
        assert page.evaluate(protocol) == "h2"
        page.goto(production_site.url + NEW_REQUEST)
        fill_request(
            page, [{"name": "reçu.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()}]
        )
        expect(page.get_by_role("status")).to_contain_text("est enregistrée")
        assert page.evaluate(protocol) == "h2"
        assert requests_recorded(app) == 1

        page.goto(production_site.url + NEW_REQUEST)
        with page.expect_response(lambda answer: NEW_REQUEST in answer.url) as sent:
            fill_request(page, heavy_scans(tmp_path))
        assert sent.value.status == 413
        expect(page.get_by_role("heading", level=1)).to_have_text("Envoi trop volumineux")
        assert page.evaluate(protocol) == "h2"
        assert requests_recorded(app) == 1
    finally:
        context.close()
