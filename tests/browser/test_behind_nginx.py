"""Journeys through the production stack (tests/conftest.py: two waitress processes on
PostgreSQL, Redis, nginx), where what nginx answers by itself meets a real browser."""

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import ReimbursementRequest
from tests.browser.test_small_screens import log_in

pytestmark = pytest.mark.browser

NEW_REQUEST = "/remboursements/nouvelle-demande"


def test_documents_too_heavy_for_the_form_get_nginxs_french_page(page, nginx, auth, app, tmp_path):
    """Five scans of 16 MB (80 MB, over the 61 MiB an upload form takes): nginx refuses the
    body before reading it, and Chromium, over HTTP/1.1 as here, shows its French page, not
    a reset connection. Nothing is recorded."""
    auth.create_account()
    scans = []
    for n in range(5):
        scan = tmp_path / f"scan-{n}.pdf"
        scan.write_bytes(b"%PDF-1.4\n" + b"0" * (16 * 1024 * 1024))
        scans.append(scan)
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
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ReimbursementRequest.id))) == 0
