"""`flask --app wsgi trips set-status T-… STATUS`: for assistances without the API."""

import click
from flask import current_app
from flask.cli import AppGroup

from app.cli_support import fail
from app.trips import assistance
from app.trips.statuses import STATUS_CHOICES_TEXT, read_status_update

trips_cli = AppGroup("trips", help="Trajets : statut donné par l'assistance.")


@trips_cli.command(
    "set-status",
    help=f"Donne au trajet NUMERO (T-AAAA-NNNNNN) le statut STATUT ({STATUS_CHOICES_TEXT}) "
    "et prévient le parent par e-mail quand il est confirmé ou annulé.",
)
@click.argument("number", metavar="NUMERO")
@click.argument("status", metavar="STATUT")
@click.option("--transporter-name", help="Nom du transporteur (obligatoire pour confirme).")
@click.option("--transporter-phone", help="Téléphone du transporteur (obligatoire pour confirme).")
@click.option("--reason", help="Raison de l'annulation (obligatoire pour annule).")
def set_status_command(number, status, transporter_name, transporter_phone, reason):
    """Give a trip the assistance's status, as the API does."""
    update, problems = read_status_update(status, transporter_name, transporter_phone, reason)
    if update is None:
        fail("Statut refusé : rien n'a été changé.", *problems.values())
    trip = assistance.find_trip(number.strip())
    if trip is None:
        fail(f"Aucun trajet ne porte le numéro « {number} ».")
    # The e-mail's link is built from PUBLIC_URL, but url_for needs a request context.
    with current_app.test_request_context():
        applied = assistance.apply_status(trip, update)
    if applied.refused:
        fail(applied.refused)
    if not applied.changed:
        click.echo(f"Trajet {trip.number} : déjà « {trip.status.label} », rien n'a changé.")
        return
    click.echo(f"Trajet {trip.number} : statut « {trip.status.label} » enregistré.")
