"""« Mes remboursements » over HTTP: requests, uploads, access checks, e-mails and the CLI."""

import hashlib
import io
import json
import re
import threading
import time as stdlib_time
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from markupsafe import escape
from werkzeug.test import EnvironBuilder

from app.backoffice.services import create_staff
from app.clock import PARIS, today
from app.extensions import db
from app.models import (
    AccessAction,
    AccessLogEntry,
    Account,
    AssistanceFile,
    Document,
    DocumentAccess,
    DocumentAction,
    Insurer,
    ReimbursementRequest,
    ReimbursementStatus,
    StaffRole,
    StatusChange,
)
from app.reimbursements import rules, services
from app.roster.insurers import create_insurer
from tests.conftest import CSRF_PATTERN, Auth, csrf_token, submit
from tests.reimbursement_samples import HTML_BYTES, exe_bytes, jpeg_bytes, pdf_bytes, png_bytes

NEW = "/remboursements/nouvelle-demande"
SOPHIE = "sophie.martin@example.fr"
IBAN_TYPED = "fr76 3000 6000 0112 3456 7890 189"
IBAN = "FR7630006000011234567890189"


# --- Helpers ------------------------------------------------------------------------------


def sophie_file_id(app) -> int:
    with app.app_context():
        return db.session.scalar(
            sa.select(AssistanceFile.id).where(AssistanceFile.number == "DA-2026-0001")
        )


def valid_form(app, **overrides) -> dict:
    return {
        "assistance_file": str(sophie_file_id(app)),
        "nature": "Frais de taxi avancés",
        "expense_date": today().isoformat(),
        "amount": "35,50",
        "holder_name": "Sophie Martin",
        "iban": IBAN_TYPED,
        **overrides,
    }


def upload(content: bytes, name: str, media_type: str = "application/octet-stream"):
    return (io.BytesIO(content), name, media_type)


def post_multipart(client, url: str, data: dict, *, form_url: str | None = None):
    """POST files as a browser does, with the page's CSRF token.

    Bodies over 500 kB are spooled by Werkzeug to a temporary file that nobody closes when
    the application refuses the request early: close it here.
    """
    token = csrf_token(client, form_url or url)
    payload = {"csrf_token": token, **data}
    # Upload forms carry the token in their URL too: it is checked before the body is read.
    builder = EnvironBuilder(
        path=url, method="POST", data=payload, query_string={"csrf_token": token}
    )
    environ = builder.get_environ()
    try:
        return client.open(environ)
    finally:
        environ["wsgi.input"].close()
        builder.close()


def send_request(client, app, files, **overrides):
    return post_multipart(client, NEW, {**valid_form(app, **overrides), "documents": files})


def stored_files(app) -> list[Path]:
    folder = Path(app.config["UPLOAD_FOLDER"])
    return sorted(folder.iterdir()) if folder.exists() else []


def count_rows(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def only_request(app) -> ReimbursementRequest:
    with app.app_context():
        reimbursement = db.session.scalars(
            sa.select(ReimbursementRequest).options(
                sa.orm.selectinload(ReimbursementRequest.documents),
                sa.orm.selectinload(ReimbursementRequest.history),
            )
        ).one()
        db.session.expunge_all()
        return reimbursement


@pytest.fixture
def filed(app, client, auth, mailbox):
    """Sophie logged in, with one request holding a PDF and a JPEG."""
    auth.sophie()
    response = send_request(
        client,
        app,
        [
            upload(pdf_bytes(), "reçu taxi.pdf", "application/pdf"),
            upload(jpeg_bytes(), "photo-reçu.jpg", "image/jpeg"),
        ],
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return only_request(app)


def nothing_stored(app) -> None:
    assert stored_files(app) == []
    for model in (ReimbursementRequest, Document, StatusChange):
        assert count_rows(app, model) == 0


# --- Filing a request ---------------------------------------------------------------------


def test_sophie_files_a_request_with_a_pdf_and_a_phone_photo(app, client, filed, mailbox):
    reimbursement = filed
    assert reimbursement.number == f"R-{today().year}-{reimbursement.id:06d}"
    assert reimbursement.amount_cents == 3550
    assert reimbursement.iban == IBAN
    assert reimbursement.nature == "Frais de taxi avancés"
    assert reimbursement.expense_date == today()
    assert reimbursement.status is ReimbursementStatus.RECEIVED
    assert [h.status for h in reimbursement.history] == [ReimbursementStatus.RECEIVED]
    assert reimbursement.history[0].changed_by == "Sophie MARTIN"

    documents = reimbursement.documents
    assert [(d.original_name, d.media_type) for d in documents] == [
        ("reçu taxi.pdf", "application/pdf"),
        ("photo-reçu.jpg", "image/jpeg"),
    ]
    on_disk = {path.name: path.read_bytes() for path in stored_files(app)}
    assert set(on_disk) == {d.stored_name for d in documents}
    for document, content in zip(documents, (pdf_bytes(), jpeg_bytes()), strict=True):
        assert on_disk[document.stored_name] == content
        assert document.size == len(content)
        assert document.sha256 == hashlib.sha256(content).hexdigest()
        assert len(document.stored_name) == 32 and "reçu" not in document.stored_name
    # Outside the web root.
    static = Path(app.static_folder).resolve()
    assert static not in Path(app.config["UPLOAD_FOLDER"]).resolve().parents

    message = mailbox.last(SOPHIE)
    assert reimbursement.number in message["Subject"]
    text = mailbox.text(message)
    assert reimbursement.number in text and "35,50" in text
    assert f"http://portail.test/remboursements/{reimbursement.number}" in mailbox.links(message)
    assert reimbursement.number in mailbox.html(message)

    listing = client.get("/remboursements").get_data(as_text=True)
    assert reimbursement.number in listing
    assert "Reçue" in listing
    assert rules.format_amount(3550) in listing


def test_detail_shows_documents_history_and_a_masked_iban(app, client, filed):
    page = client.get(f"/remboursements/{filed.number}").get_data(as_text=True)
    assert "reçu taxi.pdf" in page and "photo-reçu.jpg" in page
    assert "Reçue" in page and "Sophie MARTIN" in page
    assert "0189" in page
    assert IBAN not in page and "FR76 3000" not in page and "3000 6000" not in page
    assert "Compléter ma demande" in page


@pytest.mark.parametrize(
    ("content", "name", "media_type"),
    [
        (pdf_bytes(), "facture.pdf", "application/pdf"),
        (jpeg_bytes(), "IMG_2041.JPG", "image/jpeg"),
        (png_bytes(), "capture.png", "image/png"),
        # The browser's type and the extension do not matter, only the content does.
        (png_bytes(), "scan", "image/png"),
        (jpeg_bytes(), "photo.png", "image/jpeg"),
    ],
    ids=["pdf", "jpeg", "png", "png-without-extension", "jpeg-named-png"],
)
def test_each_accepted_format_is_recognised_by_content(
    app, client, auth, content, name, media_type
):
    auth.sophie()
    response = send_request(client, app, [upload(content, name, "application/octet-stream")])
    assert response.status_code == 302
    (document,) = only_request(app).documents
    assert document.media_type == media_type
    assert document.original_name == name


ELEVEN_MB = 11 * 1024 * 1024


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            [upload(exe_bytes(), "facture.pdf", "application/pdf")],
            "Le fichier « facture.pdf » n'est pas un PDF, une image JPEG ou une image PNG",
        ),
        (
            [upload(HTML_BYTES, "photo.png", "image/png")],
            "Le fichier « photo.png » n'est pas un PDF, une image JPEG ou une image PNG",
        ),
        ([upload(b"", "vide.pdf", "application/pdf")], "Le fichier « vide.pdf » est vide."),
        (
            [upload(pdf_bytes() + b"0" * ELEVEN_MB, "lourd.pdf", "application/pdf")],
            "Le fichier « lourd.pdf » dépasse la taille maximale de 10 Mo.",
        ),
        (
            [upload(pdf_bytes(), f"recu-{n}.pdf", "application/pdf") for n in range(6)],
            "Vous pouvez joindre au plus 5 justificatifs par demande.",
        ),
        # One bad file among good ones: the whole request is refused.
        (
            [
                upload(pdf_bytes(), "bon.pdf", "application/pdf"),
                upload(exe_bytes(), "programme.pdf", "application/pdf"),
            ],
            "Le fichier « programme.pdf » n'est pas un PDF",
        ),
        ([], rules.DOCUMENTS_REQUIRED_MESSAGE),
    ],
    ids=["exe-as-pdf", "html-as-png", "empty", "11-mb", "six-files", "one-bad-of-two", "none"],
)
def test_refused_uploads_leave_nothing_behind(app, client, auth, mailbox, files, message):
    auth.sophie()
    response = send_request(client, app, files)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert escape(message) in page
    assert 'id="documents-erreur"' in page and 'aria-invalid="true"' in page
    nothing_stored(app)
    assert mailbox.to(SOPHIE) == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("amount", "abc", rules.AMOUNT_FORMAT_MESSAGE),
        ("amount", "0", rules.AMOUNT_POSITIVE_MESSAGE),
        ("amount", "10 000,01", rules.AMOUNT_MAX_MESSAGE),
        ("iban", "FR76 3000 6000 0112 3456 7890 188", rules.IBAN_CHECKSUM_MESSAGE),
        ("iban", "FR76300060", rules.IBAN_LENGTH_MESSAGE),
        ("expense_date", "demain", "Saisissez une date valide, par exemple 14/03/2026."),
        # Blank but sent (a crafted form or a text fallback): missing, not a 500.
        ("expense_date", " ", "Ce champ est obligatoire."),
        ("expense_date", "\xa0", "Ce champ est obligatoire."),
        ("nature", "  ", "Ce champ est obligatoire."),
        ("holder_name", "", "Ce champ est obligatoire."),
        ("assistance_file", "999999", "Choisissez l'un de vos dossiers d'assistance."),
        # Not an id at all, or none (a crafted form): the same French message.
        ("assistance_file", "pas-un-dossier", "Choisissez l'un de vos dossiers d'assistance."),
        ("assistance_file", "", "Choisissez l'un de vos dossiers d'assistance."),
    ],
)
def test_invalid_fields_are_explained_in_french_next_to_them(
    app, client, auth, field, value, message
):
    auth.sophie()
    files = [upload(pdf_bytes(), "recu.pdf", "application/pdf")]
    response = send_request(client, app, files, **{field: value})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'id="{field}-erreur"' in page
    assert escape(message) in page
    nothing_stored(app)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("amount", "a" * 21, rules.AMOUNT_FORMAT_MESSAGE),
        ("iban", "FR76" + "3" * 60, rules.IBAN_FORMAT_MESSAGE),
    ],
)
def test_an_overlong_value_gets_one_message(app, client, auth, field, value, message):
    """Its length's, not the format's check's as well."""
    auth.sophie()
    files = [upload(pdf_bytes(), "recu.pdf", "application/pdf")]
    page = send_request(client, app, files, **{field: value}).get_data(as_text=True)
    shown = re.search(rf'<p class="error" id="{field}-erreur">(.*?)</p>', page).group(1)
    assert shown == str(escape(message))
    nothing_stored(app)


def test_expense_date_in_the_future_or_before_the_file_is_refused(app, client, auth):
    auth.sophie()

    def files():
        return [upload(pdf_bytes(), "recu.pdf", "application/pdf")]

    tomorrow = (today() + timedelta(days=1)).isoformat()
    page = send_request(client, app, files(), expense_date=tomorrow).get_data(as_text=True)
    assert escape(rules.DATE_FUTURE_MESSAGE) in page
    # The demo file's guarantees start two days ago.
    before = today() - timedelta(days=3)
    page = send_request(client, app, files(), expense_date=before.isoformat()).get_data(
        as_text=True
    )
    start = (today() - timedelta(days=2)).strftime("%d/%m/%Y")
    assert f"votre dossier d&#39;assistance, le {start}." in page
    nothing_stored(app)
    # The French way of typing a date works too.
    response = send_request(client, app, files(), expense_date=today().strftime("%d/%m/%Y"))
    assert response.status_code == 302


def test_pages_state_no_quotes_and_no_health_costs(client, auth):
    auth.sophie()
    for url in ("/remboursements", NEW):
        page = client.get(url).get_data(as_text=True)
        assert "Cette plateforme ne réalise pas de devis." in page
        assert "ne couvre pas les frais de santé" in page
        assert "assureur ou mutuelle santé" in page


def test_form_has_the_expected_labels(client, auth):
    auth.sophie()
    page = client.get(NEW).get_data(as_text=True)
    for label in (
        "Dossier d&#39;assistance",
        "Nature de la dépense",
        "Date de la dépense",
        "Montant",
        "Titulaire du compte",
        "IBAN",
        "Justificatifs",
    ):
        assert f">{label}</label>" in page
    assert 'type="file"' in page and "multiple" in page
    assert 'enctype="multipart/form-data"' in page


def test_member_without_assistance_file_is_given_the_assistance_phone(app, client, auth):
    with app.app_context():
        db.session.execute(
            sa.delete(AssistanceFile).where(AssistanceFile.member_number == "AB123456")
        )
        db.session.commit()
    auth.sophie()
    for url in ("/remboursements", NEW):
        page = client.get(url).get_data(as_text=True)
        assert "Vous n'avez pas de dossier d'assistance" in page
        assert "01 23 45 67 89" in page
        assert 'href="tel:0123456789"' in page
    assert "Nouvelle demande</a>" not in client.get("/remboursements").get_data(as_text=True)
    token = csrf_token(client, "/remboursements")
    client.post(f"{NEW}?csrf_token={token}", data={"csrf_token": token, "nature": "Taxi"})
    nothing_stored(app)


# --- Documents ----------------------------------------------------------------------------


def test_owner_views_and_downloads_documents_and_each_access_is_logged(app, client, filed):
    pdf, jpeg = filed.documents
    base = f"/remboursements/{filed.number}/justificatifs"

    view = client.get(f"{base}/{pdf.id}")
    assert view.status_code == 200
    assert view.data == pdf_bytes()
    assert view.mimetype == "application/pdf"
    assert view.headers["Content-Disposition"].startswith("inline")
    assert view.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in view.headers["Cache-Control"]

    download = client.get(f"{base}/{jpeg.id}/telecharger")
    assert download.status_code == 200
    assert download.data == jpeg_bytes()
    assert download.mimetype == "image/jpeg"
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment")
    assert "filename*=UTF-8''photo-re%C3%A7u.jpg" in disposition
    assert download.headers["X-Content-Type-Options"] == "nosniff"

    with app.app_context():
        log = db.session.scalars(sa.select(DocumentAccess).order_by(DocumentAccess.id)).all()
        assert [(a.document_id, a.action) for a in log] == [
            (pdf.id, DocumentAction.VIEW),
            (jpeg.id, DocumentAction.DOWNLOAD),
        ]
        assert {a.account_id for a in log} == {filed.account_id}
        assert all(a.ip == "127.0.0.1" and a.accessed_at is not None for a in log)


def test_another_account_gets_404_everywhere(app, client, filed, auth, other_client):
    auth.karim(other_client)
    base = f"/remboursements/{filed.number}"
    urls = [base, f"{base}/completer"]
    for document in filed.documents:
        urls += [
            f"{base}/justificatifs/{document.id}",
            f"{base}/justificatifs/{document.id}/telecharger",
        ]
    for url in urls:
        assert other_client.get(url).status_code == 404, url
    response = post_multipart(
        other_client,
        f"{base}/completer",
        {"documents": [upload(pdf_bytes(), "x.pdf")]},
        form_url="/remboursements",
    )
    assert response.status_code == 404
    listing = other_client.get("/remboursements").get_data(as_text=True)
    assert filed.number not in listing
    assert count_rows(app, DocumentAccess) == 0
    assert len(only_request(app).documents) == 2
    assert len(stored_files(app)) == 2


def test_anonymous_visitor_is_sent_to_the_login_page(app, filed, auth):
    anonymous = app.test_client()
    base = f"/remboursements/{filed.number}"
    document = filed.documents[0]
    for url in (
        "/remboursements",
        NEW,
        base,
        f"{base}/completer",
        f"{base}/justificatifs/{document.id}",
        f"{base}/justificatifs/{document.id}/telecharger",
    ):
        response = anonymous.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/connexion"), url
    assert count_rows(app, DocumentAccess) == 0


def test_the_list_opens_at_remboursements_and_the_old_address_redirects(client, filed):
    response = client.get("/remboursements")
    assert response.status_code == 200
    assert "Mes remboursements" in response.get_data(as_text=True)
    assert filed.number in response.get_data(as_text=True)
    old = client.get("/remboursements/")
    assert old.status_code == 301
    assert old.headers["Location"] == "/remboursements"
    assert client.get("/remboursements/?page=2").headers["Location"] == "/remboursements?page=2"
    # The navigation and « Mon Espace » link to the address that answers directly.
    assert 'href="/remboursements"' in client.get("/mon-espace").get_data(as_text=True)


def test_missing_file_on_disk_is_a_404_not_a_500(app, client, filed):
    document = filed.documents[0]
    (Path(app.config["UPLOAD_FOLDER"]) / document.stored_name).unlink()
    response = client.get(f"/remboursements/{filed.number}/justificatifs/{document.id}")
    assert response.status_code == 404
    assert count_rows(app, DocumentAccess) == 0


# --- Completing a request -----------------------------------------------------------------


def complete(client, number, files):
    return post_multipart(client, f"/remboursements/{number}/completer", {"documents": files})


def test_completion_adds_documents_up_to_five_in_total(app, client, filed):
    page = client.get(f"/remboursements/{filed.number}/completer").get_data(as_text=True)
    assert "Vous pouvez encore en ajouter 3." in page

    response = complete(client, filed.number, [upload(png_bytes(), "ordonnance.png")])
    assert response.status_code == 302
    reimbursement = only_request(app)
    assert [d.original_name for d in reimbursement.documents][-1] == "ordonnance.png"
    assert reimbursement.history[-1].comment == "1 justificatif ajouté."
    assert reimbursement.status is ReimbursementStatus.RECEIVED
    assert len(stored_files(app)) == 3

    def pages(count):
        return [upload(pdf_bytes(), f"page-{n}.pdf") for n in range(count)]

    page = complete(client, filed.number, pages(3)).get_data(as_text=True)
    assert (
        escape(
            "Cette demande compte déjà 3 justificatif(s) sur 5 : vous pouvez en ajouter 2 au plus."
        )
        in page
    )
    assert len(stored_files(app)) == 3

    bad = [upload(pdf_bytes(), "ok.pdf"), upload(b"", "vide.png")]
    page = complete(client, filed.number, bad).get_data(as_text=True)
    assert escape("Le fichier « vide.png » est vide.") in page
    assert len(stored_files(app)) == 3
    assert count_rows(app, Document) == 3

    assert complete(client, filed.number, pages(2)).status_code == 302
    assert count_rows(app, Document) == 5
    page = client.get(f"/remboursements/{filed.number}").get_data(as_text=True)
    assert "Compléter ma demande" not in page
    page = complete(client, filed.number, [upload(pdf_bytes(), "sixieme.pdf")]).get_data(
        as_text=True
    )
    assert escape(rules.DOCUMENTS_FULL_MESSAGE) in page
    assert len(stored_files(app)) == 5


# --- Status changes by the desk -----------------------------------------------------------


MANAGER = "gestion@mutuelle-demo.fr"


def add_staff(email: str, name: str, role: StaffRole, insurers: list, *, enrolled=True):
    """A staff account as `flask staff add` makes it, its invitation followed or not."""
    staff = create_staff(email, name, role, insurers)
    if enrolled:
        staff.password_hash, staff.totp_confirmed_at = "argon2-haché", datetime(2026, 5, 1)


@pytest.fixture
def desk(app, demo):
    """A gestionnaire of Mutuelle Démo, an agent, and a gestionnaire who never enrolled."""
    with app.app_context():
        insurer = db.session.scalar(sa.select(Insurer).where(Insurer.slug == "demo"))
        add_staff(MANAGER, "Nadia Benali", StaffRole.MANAGER, [insurer])
        add_staff("agent@mutuelle-demo.fr", "Léo Martin", StaffRole.AGENT, [insurer])
        add_staff("invite@mutuelle-demo.fr", "Invité", StaffRole.MANAGER, [], enrolled=False)
        db.session.commit()


def set_status(runner, *args: str):
    return runner.invoke(args=["reimbursements", "set-status", *args, "--staff", MANAGER])


def test_desk_moves_the_status_and_the_member_is_told(app, client, filed, runner, mailbox, desk):
    result = set_status(runner, filed.number, "en-cours")
    assert result.exit_code == 0, result.output
    assert "« En cours »" in result.output
    # In the access log, as the back-office's form does.
    with app.app_context():
        (logged,) = db.session.scalars(sa.select(AccessLogEntry)).all()
        assert logged.action is AccessAction.STATUS_CHANGED
        assert logged.detail == f"{filed.number} : En cours" and logged.member_id is not None

    comment = "Virement de 35,50 € effectué ce jour."
    result = set_status(runner, filed.number.lower(), "Acceptée", "--comment", comment)
    assert result.exit_code == 0, result.output

    reimbursement = only_request(app)
    assert reimbursement.status is ReimbursementStatus.ACCEPTED
    assert [(h.status, h.changed_by, h.comment) for h in reimbursement.history] == [
        (ReimbursementStatus.RECEIVED, "Sophie MARTIN", None),
        (ReimbursementStatus.IN_PROGRESS, "Assistance", None),
        (ReimbursementStatus.ACCEPTED, "Assistance", comment),
    ]

    messages = mailbox.to(SOPHIE)
    assert len(messages) == 3  # acknowledgement, en cours, acceptée
    last = messages[-1]
    assert filed.number in last["Subject"] and "Acceptée" in last["Subject"]
    assert comment in mailbox.text(last)
    assert f"http://portail.test/remboursements/{filed.number}" in mailbox.links(last)

    page = client.get(f"/remboursements/{filed.number}").get_data(as_text=True)
    assert "Acceptée" in page and comment in page and "Assistance" in page
    # Decided: no more documents.
    assert "Compléter ma demande" not in page
    response = client.get(f"/remboursements/{filed.number}/completer")
    assert response.status_code == 302
    follow = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "ne peut plus être complétée" in follow


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["R-2026-999999", "acceptee"], "Aucune demande de remboursement ne porte le numéro"),
        (["{number}", "validee"], "n'est pas un statut connu"),
        (["{number}", "recue"], "La demande est déjà « Reçue » : choisissez un autre statut"),
        (["{number}", "acceptee", "--staff", "agent@mutuelle-demo.fr"], "est agent"),
        (["{number}", "acceptee", "--staff", "inconnu@example.fr"], "Aucun membre actif"),
        (["{number}", "acceptee", "--staff", "invite@mutuelle-demo.fr"], "Aucun membre actif"),
        (["{number}", "acceptee", "--staff", "autre@mutuelle-autre.fr"], "ne porte le numéro"),
    ],
)
def test_set_status_refuses_bad_input_and_staff_who_may_not(
    app, filed, runner, mailbox, desk, args, message
):
    with app.app_context():
        other = create_insurer(db.session, "autre", "Mutuelle Autre")
        add_staff("autre@mutuelle-autre.fr", "Autre", StaffRole.MANAGER, [other])
        db.session.commit()
    args = [a.format(number=filed.number) for a in args]
    if "--staff" not in args:
        args += ["--staff", MANAGER]
    result = runner.invoke(args=["reimbursements", "set-status", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert only_request(app).status is ReimbursementStatus.RECEIVED
    assert len(mailbox.to(SOPHIE)) == 1


# --- Robustness ---------------------------------------------------------------------------


def test_failed_commit_removes_the_files_already_written(app, client, auth, monkeypatch):
    auth.sophie()
    files = [upload(pdf_bytes(), "a.pdf"), upload(png_bytes(), "b.png")]
    token = csrf_token(client, NEW)
    written = []
    real_commit = db.session.commit

    def failing_commit():
        written.extend(stored_files(app))
        raise sa.exc.OperationalError("COMMIT", {}, Exception("disk full"))

    monkeypatch.setattr(db.session, "commit", failing_commit)
    response = client.post(
        f"{NEW}?csrf_token={token}",
        data={"csrf_token": token, **valid_form(app), "documents": files},
        content_type="multipart/form-data",
    )
    monkeypatch.setattr(db.session, "commit", real_commit)
    # The database failed, not the request: the French stand-by page, nothing half-kept.
    assert response.status_code == 503
    assert "Service momentanément indisponible" in response.get_data(as_text=True)
    assert len(written) == 2  # the files were on disk when the commit failed…
    nothing_stored(app)  # …and are gone, with the rows


def test_oversized_body_gets_the_french_413_page(app, client, auth):
    auth.sophie()
    too_big = app.config["UPLOAD_MAX_CONTENT_LENGTH"] + 1024
    enormous = upload(b"%PDF" + b"0" * too_big, "enorme.pdf")
    response = post_multipart(client, NEW, {"documents": [enormous]})
    assert response.status_code == 413
    assert "Envoi trop volumineux" in response.get_data(as_text=True)
    nothing_stored(app)


def test_five_full_size_documents_fit_in_one_request(app):
    overhead = 1024 * 1024  # the other fields and the multipart boundaries
    assert (
        app.config["UPLOAD_MAX_CONTENT_LENGTH"]
        >= rules.MAX_DOCUMENTS * rules.MAX_DOCUMENT_BYTES + overhead
    )


def test_pages_run_a_fixed_number_of_queries(app, client, auth, count_queries):
    auth.sophie()
    files = [upload(pdf_bytes(), "a.pdf")]
    assert send_request(client, app, files).status_code == 302
    number = only_request(app).number

    def queries(url):
        with count_queries() as counter:
            assert client.get(url).status_code == 200
        return counter.count

    list_one, detail_one = queries("/remboursements"), queries(f"/remboursements/{number}")
    # The identity, the files and their guarantees, the requests; the identity, the request,
    # its documents, its history. Neither loads the stored account.
    assert (list_one, detail_one) == (4, 4)
    for _ in range(3):
        assert send_request(client, app, [upload(pdf_bytes(), "a.pdf")] * 1).status_code == 302
    for _ in range(2):
        assert complete(client, number, [upload(png_bytes(), "b.png")]).status_code == 302
    assert queries("/remboursements") == list_one
    assert queries(f"/remboursements/{number}") == detail_one


def test_data_export_includes_requests_and_document_accesses(app, client, filed):
    client.get(f"/remboursements/{filed.number}/justificatifs/{filed.documents[0].id}")
    data = json.loads(client.get("/mon-espace/mes-donnees").get_data(as_text=True))
    section = data["remboursements"]
    (exported,) = section["demandes"]
    assert exported["numero"] == filed.number
    assert exported["montant_euros"] == "35.50"
    assert exported["iban"] == IBAN
    assert exported["statut"] == "Reçue"
    assert [d["nom"] for d in exported["justificatifs"]] == ["reçu taxi.pdf", "photo-reçu.jpg"]
    assert section["consultations_des_justificatifs"][0]["action"] == "consultation"


def test_deleting_the_account_erases_requests_and_their_files(app, client, filed):
    assert len(stored_files(app)) == 2
    response = submit(client, "/mon-espace/supprimer", {"password": "Cartable2026!"})
    assert response.status_code == 302
    assert stored_files(app) == []
    assert count_rows(app, ReimbursementRequest) == 0
    assert count_rows(app, Document) == 0


# --- Uploads refused before their body is read ---------------------------------------------

SIXTY_MB = 60 * 1024 * 1024


class CountingBody:
    """A request body of `size` bytes made on demand, counting what the application reads
    (seeking, which the test client does to measure the body, reads nothing)."""

    def __init__(self, size: int):
        self.size = size
        self.position = 0
        self.bytes_read = 0

    def read(self, count: int | None = -1) -> bytes:
        left = self.size - self.position
        count = left if count is None or count < 0 else min(count, left)
        self.position += count
        self.bytes_read += count
        return b"0" * count

    def readline(self, limit: int | None = -1) -> bytes:
        return self.read(limit if limit and limit > 0 else 64 * 1024)

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = 0) -> int:
        self.position = {0: 0, 1: self.position, 2: self.size}[whence] + offset
        return self.position


def post_body(client, url: str, size: int = SIXTY_MB) -> tuple:
    """POST `size` bytes of multipart body to `url`; the response and how much was read."""
    body = CountingBody(size)
    environ = EnvironBuilder(path=url.split("?")[0], method="POST").get_environ()
    environ.update(
        {
            "QUERY_STRING": url.partition("?")[2],
            "wsgi.input": body,
            "CONTENT_TYPE": "multipart/form-data; boundary=limite",
            "CONTENT_LENGTH": str(size),
        }
    )
    return client.open(environ), body.bytes_read


def test_an_anonymous_60_mb_upload_is_refused_before_its_body_is_read(app, filed):
    anonymous = app.test_client()
    for url in (NEW, f"/remboursements/{filed.number}/completer"):
        response, bytes_read = post_body(anonymous, url)
        assert response.status_code == 302, url
        assert response.location.startswith("/connexion"), url
        assert bytes_read == 0, url


@pytest.mark.parametrize("query", ["", "?csrf_token=", "?csrf_token=faux.jeton"])
def test_an_upload_without_the_pages_csrf_token_is_refused_before_its_body_is_read(
    app, client, filed, query
):
    for url in (NEW, f"/remboursements/{filed.number}/completer"):
        response, bytes_read = post_body(client, url + query)
        assert response.status_code == 400, url
        assert "Le formulaire a expiré ou n'a pas pu être vérifié" in response.get_data(
            as_text=True
        ).replace("&#39;", "'")
        assert bytes_read == 0, url
    assert count_rows(app, ReimbursementRequest) == 1


def test_an_upload_with_the_pages_csrf_token_is_read(client, filed):
    """The counter above does count: the same body with the token in its URL is read."""
    token = csrf_token(client, NEW)
    _, bytes_read = post_body(client, f"{NEW}?csrf_token={token}", size=200 * 1024)
    assert bytes_read > 0


def test_upload_forms_carry_their_csrf_token_in_their_url(client, filed):
    for url in (NEW, f"/remboursements/{filed.number}/completer"):
        page = client.get(url).get_data(as_text=True)
        token = CSRF_PATTERN.search(page).group(1)  # the form's own hidden field
        assert f'action="?csrf_token={token}"' in page, url


# nginx asks the application first, without the body (deploy/nginx/cartable-proxy.conf).
CHECK = "/verification-envoi"


def test_the_check_nginx_makes_refuses_an_anonymous_upload_with_the_login_page(app, filed):
    anonymous = app.test_client()
    for url in (NEW, f"/remboursements/{filed.number}/completer"):
        response = anonymous.get(f"{CHECK}{url}?csrf_token=jeton-de-la-page")
        assert response.status_code == 401, url
        assert response.location.startswith("/connexion?next="), url
        assert "jeton" not in response.location  # back to the form, without its token
        # nginx passes the answer's cookie on: the login page says why.
        login = anonymous.get(response.location).get_data(as_text=True)
        assert "Veuillez vous connecter pour accéder à cette page." in login


@pytest.mark.parametrize("query", ["", "?csrf_token=", "?csrf_token=faux.jeton"])
def test_the_check_nginx_makes_sends_a_tokenless_upload_back_to_its_form(app, client, filed, query):
    for url in (NEW, f"/remboursements/{filed.number}/completer"):
        response = client.get(CHECK + url + query)
        assert (response.status_code, response.location) == (403, url)
        page = client.get(url).get_data(as_text=True).replace("&#39;", "'")
        assert "Le formulaire a expiré ou n'a pas pu être vérifié" in page


def test_the_check_nginx_makes_says_when_a_form_was_left_open_too_long(auth, client):
    """Logging in renews the session: a token of an earlier page has no pair in it."""
    auth.sophie()
    response = client.get(f"{CHECK}{NEW}?csrf_token=jeton-d-avant-la-connexion")
    assert (response.status_code, response.location) == (403, NEW)
    page = client.get(NEW).get_data(as_text=True).replace("&#39;", "'")
    assert "Ce formulaire a expiré : rien n'a été enregistré." in page


def test_the_check_nginx_makes_sends_one_cookie_inside_an_insurers_frame(app, filed):
    """nginx passes a single Set-Cookie on: inside a frame, the partitioned cookie that
    holds the message goes alone (the next page expires the unpartitioned one)."""
    framed = app.test_client()
    framed.get("/e/demo", headers={"Sec-Fetch-Dest": "iframe"})
    response = framed.get(CHECK + NEW)
    assert response.status_code == 401
    [cookie] = response.headers.getlist("Set-Cookie")
    assert "Partitioned" in cookie and "SameSite=None" in cookie
    login = framed.get(response.location)
    assert "Veuillez vous connecter pour accéder à cette page." in login.get_data(as_text=True)
    # The page that shows the message sends the expiry. (The test client keeps one cookie
    # a name: it cannot hold the two a browser may keep side by side.)
    assert len(login.headers.getlist("Set-Cookie")) == 2


def test_the_check_nginx_makes_sends_one_cookie_to_a_member_inside_a_frame(app, auth, filed):
    framed = app.test_client()
    framed.get("/e/demo", headers={"Sec-Fetch-Dest": "iframe"})
    assert Auth(app, framed).login().status_code == 302
    assert framed.get(NEW).status_code == 200  # the form, and its token in the session
    response = framed.get(f"{CHECK}{NEW}?csrf_token=faux.jeton")
    assert (response.status_code, response.location) == (403, NEW)
    [cookie] = response.headers.getlist("Set-Cookie")
    assert "Partitioned" in cookie
    page = framed.get(NEW).get_data(as_text=True).replace("&#39;", "'")
    assert "Le formulaire a expiré ou n'a pas pu être vérifié" in page


def test_the_check_nginx_makes_lets_an_upload_with_the_pages_token_through(client, filed):
    token = csrf_token(client, NEW)
    for url in (NEW, f"/remboursements/{filed.number}/completer"):
        assert client.get(f"{CHECK}{url}?csrf_token={token}").status_code == 204, url
    # Any other address is the application's to answer, whoever asks.
    for url in ("/trajets/2026-05-21", "/nulle-part", "/remboursements"):
        assert client.get(CHECK + url).status_code == 204, url
        assert client.application.test_client().get(CHECK + url).status_code == 204, url


# --- Quotas -------------------------------------------------------------------------------


def sophies_request(app, account_id: int, number: str) -> ReimbursementRequest:
    """A request of Sophie's as the form would file it, to be added to the session."""
    return ReimbursementRequest(
        number=number,
        account_id=account_id,
        assistance_file_id=sophie_file_id(app),
        nature="Taxi",
        expense_date=today(),
        amount_cents=1000,
        holder_name="Sophie Martin",
        iban=IBAN,
    )


def add_requests(app, count: int, *, document_size: int | None = None) -> None:
    """Requests filed earlier by Sophie, written directly (with one document each)."""
    with app.app_context():
        account_id = db.session.scalar(sa.select(Account.id).where(Account.email == SOPHIE))
        for index in range(count):
            reimbursement = sophies_request(app, account_id, f"R-TEST-{index:06d}")
            if document_size:
                reimbursement.documents.append(
                    Document(
                        original_name="gros.pdf",
                        stored_name=f"test-{index:06d}",
                        media_type="application/pdf",
                        size=document_size,
                        sha256="0" * 64,
                    )
                )
            db.session.add(reimbursement)
        db.session.commit()


def test_twenty_requests_a_day_then_a_french_message(app, client, auth, time_machine):
    time_machine.move_to(datetime.combine(today(), time(9, 0), tzinfo=PARIS), tick=False)
    auth.sophie()
    add_requests(app, 19)
    assert send_request(client, app, [upload(pdf_bytes(), "a.pdf")]).status_code == 302
    assert count_rows(app, ReimbursementRequest) == 20
    response = send_request(client, app, [upload(pdf_bytes(), "b.pdf")])
    assert response.status_code == 200
    assert escape(rules.DAILY_REQUESTS_MESSAGE) in response.get_data(as_text=True)
    assert count_rows(app, ReimbursementRequest) == 20
    assert len(stored_files(app)) == 1
    # The next morning in Paris, the member may send again.
    time_machine.move_to(datetime.combine(today(), time(0, 5), tzinfo=PARIS) + timedelta(days=1))
    auth.login()
    assert send_request(client, app, [upload(pdf_bytes(), "c.pdf")]).status_code == 302
    assert count_rows(app, ReimbursementRequest) == 21


def _sophie_id(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Account.id).where(Account.email == SOPHIE))


def test_two_uploads_at_once_are_counted_one_after_the_other(app, auth, time_machine):
    """While one upload holds the account's quotas, the next waits for its commit and then
    counts it: two requests sent at once cannot both pass as the 20th of the day (without
    the hold, the second would count 19 while the first is being saved)."""
    time_machine.move_to(datetime.combine(today(), time(9, 0), tzinfo=PARIS), tick=False)
    auth.sophie()
    add_requests(app, 19)
    account_id = _sophie_id(app)
    held, waiting = threading.Event(), threading.Event()
    seen: dict[str, float] = {}

    def first():
        with app.app_context():
            services.hold_quotas(account_id)
            seen["first count"] = services.requests_sent_today(account_id)
            held.set()
            waiting.wait(10)
            stdlib_time.sleep(0.3)  # the second is now waiting for the hold
            db.session.add(sophies_request(app, account_id, "R-TEST-RACE"))
            seen["committed at"] = stdlib_time.monotonic()
            db.session.commit()

    def second():
        held.wait(10)
        with app.app_context():
            waiting.set()
            services.hold_quotas(account_id)
            seen["held at"] = stdlib_time.monotonic()
            seen["second count"] = services.requests_sent_today(account_id)
            db.session.rollback()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert seen["first count"] == 19
    assert seen["held at"] >= seen["committed at"]
    assert seen["second count"] == 20


def test_a_request_and_a_completion_count_their_quotas_under_the_hold(app, client, auth):
    auth.sophie()
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(" ".join(statement.split()).lower())

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        filed = send_request(client, app, [upload(pdf_bytes(), "a.pdf")])
        request_statements = list(statements)
        statements.clear()
        completed = complete(
            client, filed.location.rsplit("/", 1)[1], [upload(pdf_bytes(), "b.pdf")]
        )
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert filed.status_code == completed.status_code == 302
    for run in (request_statements, statements):
        hold = next(i for i, sql in enumerate(run) if sql.startswith("update accounts set id"))
        sums = [i for i, sql in enumerate(run) if "sum(reimbursement_documents.size)" in sql]
        assert sums and all(hold < i for i in sums), "\n".join(sql[:90] for sql in run)
    # A completion holds the account before it reads the request: the account's row is always
    # locked first, as deleting the account does (no lock-order deadlock between the two).
    post = max(i for i, sql in enumerate(statements) if sql.startswith("select user_sessions"))
    statements = statements[post:]  # the completion's POST (its page was read before)
    hold = next(i for i, sql in enumerate(statements) if sql.startswith("update accounts"))
    reads = [
        i for i, sql in enumerate(statements) if sql.startswith("select reimbursement_requests")
    ]
    assert reads and hold < reads[0]
    assert not [sql for sql in statements if "for update" in sql]
    hold = next(i for i, sql in enumerate(request_statements) if sql.startswith("update accounts"))
    daily = "count(reimbursement_requests.id)"
    counts = [i for i, sql in enumerate(request_statements) if daily in sql]
    assert counts and all(hold < i for i in counts)


def test_200_mb_of_documents_at_most_then_a_french_message(app, client, auth):
    auth.sophie()
    add_requests(app, 2, document_size=rules.MAX_STORED_BYTES // 2 - 50 * 1024)
    small = pdf_bytes()
    assert len(small) < 50 * 1024
    filed = send_request(client, app, [upload(small, "petit.pdf")])
    assert filed.status_code == 302
    response = send_request(client, app, [upload(small + b"0" * 100 * 1024, "gros.pdf")])
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    message = rules.STORAGE_LEFT_MESSAGE.split(" (")[0]
    assert escape(message) in page
    assert "il vous reste" in page
    assert 'id="documents-erreur"' in page
    assert count_rows(app, ReimbursementRequest) == 3
    number = filed.location.rsplit("/", 1)[1]
    response = complete(client, number, [upload(small + b"0" * 100 * 1024, "gros.pdf")])
    assert escape(message) in response.get_data(as_text=True)
    assert count_rows(app, Document) == 3


def test_quota_rules():
    assert rules.daily_requests_problem(19) is None
    assert rules.daily_requests_problem(20) == rules.DAILY_REQUESTS_MESSAGE
    assert rules.storage_problem(rules.MAX_STORED_BYTES - 10, 10) is None
    message = rules.storage_problem(rules.MAX_STORED_BYTES - 1024 * 1024, 2 * 1024 * 1024)
    assert message.startswith("Vos justificatifs dépasseraient 200 Mo au total")
    assert "il vous reste 1,0 Mo" in message
    assert rules.storage_problem(rules.MAX_STORED_BYTES, 1) == rules.STORAGE_FULL_MESSAGE
