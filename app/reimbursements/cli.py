"""`flask --app wsgi reimbursements set-status NUMBER STATUS --staff EMAIL [--comment ...]`
for the desk."""

import click
from flask import current_app
from flask.cli import AppGroup

from app.backoffice.queries import request_in_scope
from app.backoffice.services import log, staff_by_email
from app.cli_support import fail
from app.models import AccessAction
from app.reimbursements import rules, services

reimbursements_cli = AppGroup("reimbursements", help="Demandes de remboursement.")


@reimbursements_cli.command(
    "set-status",
    help="Passe la demande NUMBER au statut STATUS (recue, en-cours, acceptee ou refusee, "
    "accents acceptés), l'inscrit dans l'historique et prévient l'adhérent par e-mail.",
)
@click.argument("number")
@click.argument("status")
@click.option("--comment", default="", help="Commentaire visible par l'adhérent.")
@click.option(
    "--staff",
    "staff_email",
    required=True,
    help="Adresse du gestionnaire ou de l'administrateur qui décide (inscrit au journal).",
)
def set_status_command(number: str, status: str, comment: str, staff_email: str):
    """Move request NUMBER to STATUS (recue, en-cours, acceptee, refusee) and e-mail the member,
    in the name of a staff member who processes requests: the access log records it, as it
    does the back-office's form."""
    staff = staff_by_email(staff_email.strip())
    if staff is None or staff.disabled_at is not None or not staff.is_enrolled:
        fail(f"Aucun membre actif de la gestion n'a l'adresse « {staff_email} ».")
    if not staff.role.processes_requests:
        fail(
            f"{staff.name} est {staff.role.label.lower()} : seuls les gestionnaires et les "
            "administrateurs changent le statut d'une demande."
        )
    new_status = rules.parse_status(status)
    if new_status is None:
        raise click.BadParameter(
            f"« {status} » n'est pas un statut connu : {rules.STATUS_CHOICES_TEXT}.",
            param_hint="STATUS",
        )
    normalized = rules.normalize_request_number(number)
    # Locked, as the back-office's form does: two changes at once are one after the other.
    reimbursement = normalized and request_in_scope(normalized, staff.insurer_ids, lock=True)
    if not reimbursement:
        raise click.ClickException(f"Aucune demande de remboursement ne porte le numéro {number}.")
    holder = reimbursement.account.member
    problem = rules.same_status_problem(reimbursement.status, new_status, comment.strip())
    if problem:
        fail(problem)
    # The e-mail's link is built from PUBLIC_URL, but url_for needs a request context.
    with current_app.test_request_context():
        detail = f"{reimbursement.number} : {new_status.label}"
        log(AccessAction.STATUS_CHANGED, member=holder, detail=detail, staff=staff)
        services.set_status(reimbursement, new_status, comment.strip())
    account = reimbursement.account
    click.echo(
        f"Demande {reimbursement.number} : statut « {new_status.label} » enregistré, "
        f"e-mail à {account.email} mis en file d'envoi."
    )
