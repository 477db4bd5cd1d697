"""`flask --app wsgi reimbursements set-status NUMBER STATUS --comment ...` for the desk."""

import click
from flask import current_app
from flask.cli import AppGroup

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
def set_status_command(number: str, status: str, comment: str):
    """Move request NUMBER to STATUS (recue, en-cours, acceptee, refusee) and e-mail the member."""
    new_status = rules.parse_status(status)
    if new_status is None:
        raise click.BadParameter(
            f"« {status} » n'est pas un statut connu : {rules.STATUS_CHOICES_TEXT}.",
            param_hint="STATUS",
        )
    reimbursement = services.find_by_number(number)
    if reimbursement is None:
        raise click.ClickException(f"Aucune demande de remboursement ne porte le numéro {number}.")
    # The e-mail's link is built from PUBLIC_URL, but url_for needs a request context.
    with current_app.test_request_context():
        services.set_status(reimbursement, new_status, comment.strip())
    account = reimbursement.account
    click.echo(
        f"Demande {reimbursement.number} : statut « {new_status.label} » enregistré, "
        f"e-mail à {account.email} mis en file d'envoi."
    )
