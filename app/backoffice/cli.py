"""`flask --app wsgi staff add|list|disable|invite`: the desk's accounts."""

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from app.auth.validators import normalize_email
from app.backoffice import services
from app.cli_support import fail, insurer_or_fail
from app.extensions import db
from app.models import StaffMember, StaffRole

staff_cli = AppGroup("staff", help="Comptes du personnel de l'assistance (/gestion).")


def _invite(staff: StaffMember, done: str) -> None:
    """Queue the invitation e-mail (the outbox) with the staff row, then commit."""
    with current_app.test_request_context():
        services.send_invitation(staff)
    db.session.commit()
    click.echo(f"{done} Invitation envoyée à {staff.email} (lien valable 48 heures).")


@staff_cli.command(
    "add",
    help="Crée un compte du personnel et lui envoie une invitation (valable 48 h). Sans "
    "--insurer, le compte voit toutes les mutuelles.",
)
@click.argument("email")
@click.option("--name", required=True, help="Prénom et nom, par exemple « Nadia Benali ».")
@click.option(
    "--role",
    required=True,
    type=click.Choice([role.value for role in StaffRole]),
    help="agent, gestionnaire ou admin.",
)
@click.option(
    "--insurer",
    "insurers",
    multiple=True,
    help="Identifiant (slug) d'une mutuelle que le compte voit (option répétable).",
)
def add_command(email: str, name: str, role: str, insurers: tuple[str, ...]):
    """Create a staff account and e-mail its invitation."""
    address = normalize_email(email)
    if address is None:
        fail(f"Adresse e-mail invalide : « {email} ».")
    name = " ".join(name.split())
    if not name or len(name) > 150:
        fail("Le nom est obligatoire (150 caractères au plus).")
    scope = [insurer_or_fail(slug) for slug in dict.fromkeys(insurers)]
    try:
        staff = services.create_staff(address, name, StaffRole(role), scope)
    except services.StaffError as error:
        fail(str(error))
    _invite(staff, f"Compte créé : {staff.name} ({staff.role.label}).")


@staff_cli.command(
    "invite", help="Envoie une nouvelle invitation (mot de passe et code à refaire)."
)
@click.argument("email")
def invite_command(email: str):
    """Send a new invitation; the previous password and second factor stop working."""
    staff = services.staff_by_email(email)
    if staff is None or staff.disabled_at is not None:
        fail(f"Aucun compte actif du personnel ne porte l'adresse {email}.")
    _invite(staff, "")


@staff_cli.command("list", help="Liste les comptes du personnel.")
def list_command():
    """List staff accounts with their role, insurers and state."""
    staff_members = db.session.scalars(sa.select(StaffMember).order_by(StaffMember.email))
    count = 0
    for staff in staff_members:
        count += 1
        scope = ", ".join(i.slug for i in staff.insurers) or "toutes les mutuelles"
        if staff.disabled_at is not None:
            state = "désactivé"
        elif staff.is_enrolled:
            state = "actif"
        else:
            state = "invitation en attente"
        click.echo(f"{staff.email}\t{staff.name}\t{staff.role.value}\t{scope}\t{state}")
    if count == 0:
        click.echo("Aucun compte du personnel.")


@staff_cli.command("disable", help="Désactive un compte du personnel et ferme ses sessions.")
@click.argument("email")
def disable_command(email: str):
    """Disable a staff account: no more logins, its sessions end."""
    staff = services.staff_by_email(email)
    if staff is None:
        fail(f"Aucun compte du personnel ne porte l'adresse {email}.")
    if staff.disabled_at is not None:
        fail(f"Le compte {staff.email} est déjà désactivé.")
    services.disable(staff)
    db.session.commit()
    click.echo(f"Compte désactivé : {staff.email}. Ses sessions sont fermées.")
