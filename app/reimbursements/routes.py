"""« Mes remboursements »: list, new request, detail, completion, documents."""

from datetime import UTC

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask_login import login_required

from app.auth_session import client_ip, current_account, signed_in
from app.clock import PARIS, today
from app.extensions import db
from app.former_addresses import redirect_slash_to_index
from app.models import DocumentAction, Insurer
from app.read_only import read_only
from app.reimbursements import bp, rules, services, storage
from app.reimbursements.forms import CompletionForm, ReimbursementForm
from app.security import accepts_uploads, frame_ancestors

RECEIVED = (
    "Votre demande {number} est enregistrée. Un accusé de réception vous est envoyé à {email}."
)


def _local(stored):
    """A stored naive-UTC instant, in Paris time."""
    return stored.replace(tzinfo=UTC).astimezone(PARIS)


@bp.context_processor
def helpers():
    return {
        "local_time": _local,
        "format_amount": rules.format_amount,
        "format_size": rules.format_size,
        "mask_iban": rules.mask_iban,
        "max_documents": rules.MAX_DOCUMENTS,
    }


redirect_slash_to_index(bp)


@bp.get("")
@read_only
@login_required
def index():
    """« Mes remboursements »: my requests and their status."""
    identity = signed_in()
    files = services.assistance_files_of(identity.member)
    return render_template(
        "reimbursements/index.html",
        requests=services.requests_of(identity.id),
        files=files,
        # Named only when there is no file to ask for (reimbursements/_no_file.html).
        insurer=None if files else db.session.get(Insurer, identity.member.insurer_id),
    )


@bp.route("/nouvelle-demande", methods=["GET", "POST"])
@login_required
@accepts_uploads
def new():
    """« Nouvelle demande »: expense, amount, IBAN and documents for one assistance file."""
    account = current_account()
    files = services.assistance_files_of(account.member)
    if not files:
        return render_template("reimbursements/no_file.html", insurer=account.member.insurer)
    form = ReimbursementForm(files=files, today=today(), account_id=account.id)  # reads a POST
    if form.is_submitted():
        services.hold_quotas(account.id)  # the limits are counted with no other upload running
    if form.validate_on_submit():
        reimbursement = services.create_request(
            account,
            assistance_file=form.chosen_file,
            nature=form.nature.data,
            expense_date=form.expense_date.data,
            amount_cents=form.amount_cents,
            holder_name=form.holder_name.data,
            iban=form.iban_compact,
            uploads=form.uploads,
        )
        flash(RECEIVED.format(number=reimbursement.number, email=account.email), "success")
        return redirect(url_for(".detail", number=reimbursement.number))
    return render_template("reimbursements/new.html", form=form, files=files)


@bp.get("/<number>")
@read_only
@login_required
def detail(number: str):
    """One request: what was declared, its documents and its status history."""
    reimbursement = services.request_of(signed_in().id, number) or abort(404)
    return render_template("reimbursements/detail.html", reimbursement=reimbursement)


@bp.route("/<number>/completer", methods=["GET", "POST"])
@login_required
@accepts_uploads
def complete(number: str):
    """« Compléter ma demande »: more documents, while the request is Reçue or En cours."""
    account = current_account()
    form = CompletionForm(account_id=account.id)  # reads a POST
    if form.is_submitted():  # before the request is read: its documents count too
        services.hold_quotas(account.id)
    reimbursement = services.request_of(account.id, number) or abort(404)
    if not reimbursement.status.accepts_documents:
        flash(
            f"Cette demande est « {reimbursement.status.label} » : elle ne peut plus être "
            "complétée.",
            "error",
        )
        return redirect(url_for(".detail", number=number))
    form.existing_documents = len(reimbursement.documents)
    if form.validate_on_submit():
        services.add_documents(account, reimbursement, form.uploads)
        flash("Vos justificatifs ont été ajoutés à la demande.", "success")
        return redirect(url_for(".detail", number=number))
    return render_template("reimbursements/complete.html", form=form, reimbursement=reimbursement)


def _serve(number: str, document_id: int, action: DocumentAction):
    account = current_account()
    document = services.document_of(account, number, document_id) or abort(404)
    path = storage.path_of(document)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        current_app.logger.error("stored document %s is missing", document.stored_name)
        abort(404)
    services.record_access(account, document, action, client_ip())
    return storage.document_response(
        document, data, view=action is DocumentAction.VIEW, frame_ancestors=frame_ancestors()
    )


@bp.get("/<number>/justificatifs/<int:document_id>")
@login_required
def view_document(number: str, document_id: int):
    """Open a document in the browser (PDF and images); the access is logged."""
    return _serve(number, document_id, DocumentAction.VIEW)


@bp.get("/<number>/justificatifs/<int:document_id>/telecharger")
@login_required
def download_document(number: str, document_id: int):
    """Download a document; the access is logged."""
    return _serve(number, document_id, DocumentAction.DOWNLOAD)
