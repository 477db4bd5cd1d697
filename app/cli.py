"""Command-line commands (`flask --app wsgi ...`)."""

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from app.cli_support import fail, insurer_or_fail, read_file_or_fail
from app.clock import today
from app.demo import load_demo
from app.embedding.cli import add_insurer_commands
from app.extensions import db
from app.reimbursements.cli import reimbursements_cli
from app.roster import MAX_BYTES, RosterImportError, Tally, import_assistance_files, import_people
from app.roster.csvfile import too_big_message
from app.roster.insurers import InsurerError, create_insurer


@click.command("demo")
@with_appcontext
def demo_command():
    """Load (or refresh) the demo insurer and its roster, dates relative to today."""
    insurer = load_demo(today(), Path(current_app.config["UPLOAD_FOLDER"]))
    click.echo(f"Données de démonstration chargées : {insurer.name} ({insurer.slug}).")


@click.command("setup")
@with_appcontext
@click.pass_context
def setup_command(context):
    """Everything `make run` needs after the migrations: demo data and site content."""
    context.invoke(demo_command)
    from app.faq.cli import load_command as faq_load_command

    context.invoke(faq_load_command)


# --- Insurers and their roster feeds ------------------------------------------------------

insurer_cli = AppGroup("insurer", help="Mutuelles : création.")
roster_cli = AppGroup(
    "roster", help="Fichiers envoyés par les mutuelles : personnes et dossiers d'assistance."
)


@insurer_cli.command(
    "add",
    help="Crée une mutuelle. SLUG : identifiant de l'adresse /e/SLUG (minuscules, chiffres, "
    "tirets) ; NAME : nom affiché.",
)
@click.argument("slug")
@click.argument("name")
@click.option("--phone", help="Numéro de l'assistance, par exemple « 01 23 45 67 89 ».")
@click.option(
    "--origin",
    "origins",
    multiple=True,
    help="Origine autorisée à intégrer le portail, par exemple https://www.mutuelle.fr "
    "(option répétable).",
)
def insurer_add_command(slug: str, name: str, phone: str | None, origins: tuple[str, ...]):
    """Create an insurer with its assistance phone and embedding origins."""
    try:
        insurer = create_insurer(db.session, slug, name, phone=phone, origins=origins)
    except InsurerError as error:
        fail(*error.messages)
    click.echo(f"Mutuelle créée : {insurer.name} ({insurer.slug}).")
    for origin in insurer.origins:
        click.echo(f"Origine autorisée : {origin.origin}")


def _read_feed(path: Path) -> bytes:
    return read_file_or_fail(
        path, what="un fichier CSV", max_bytes=MAX_BYTES, too_big=too_big_message(MAX_BYTES)
    )


def _refused(error: RosterImportError) -> None:
    bad_lines = len({e.line for e in error.errors if e.line is not None})
    heading = "Import refusé : rien n'a été importé."
    if bad_lines:
        heading = (
            f"Import refusé : {bad_lines} ligne{'s' if bad_lines > 1 else ''} en erreur, "
            "rien n'a été importé. Corrigez le fichier puis relancez la commande."
        )
    fail(heading, *(str(e) for e in error.errors))


def _tally(tally: Tally, feminine: bool) -> str:
    """« 2 créées, 1 mise à jour, 0 inchangée » with French agreement."""
    e = "e" if feminine else ""

    def s(count: int) -> str:
        return "s" if count > 1 else ""

    updated_s = s(tally.updated) if feminine else ""
    return (
        f"{tally.created} créé{e}{s(tally.created)}, "
        f"{tally.updated} mis{e}{updated_s} à jour, "
        f"{tally.unchanged} inchangé{e}{s(tally.unchanged)}"
    )


@roster_cli.command(
    "import",
    help="Importe le fichier des personnes d'une mutuelle (CSV « ; » : numero_adherent;"
    "qualite;nom;prenom;date_naissance;offre_debut;offre_fin). Tout ou rien.",
)
@click.argument("slug")
@click.argument("path", metavar="FICHIER", type=click.Path(path_type=Path))
def roster_import_command(slug: str, path: Path):
    """Import a people file (members and offers), all or nothing."""
    insurer = insurer_or_fail(slug)
    try:
        summary = import_people(db.session, insurer, _read_feed(path), today=today())
    except RosterImportError as error:
        _refused(error)
    click.echo(f"Import des personnes de {insurer.name} ({insurer.slug}) terminé.")
    click.echo(f"Personnes : {_tally(summary.people, feminine=True)}.")
    click.echo(f"Offres : {_tally(summary.offers, feminine=True)}.")


@roster_cli.command(
    "import-files",
    help="Importe les dossiers d'assistance d'une mutuelle (CSV « ; » : numero_adherent;"
    "numero_dossier;garantie;debut;fin). Tout ou rien.",
)
@click.argument("slug")
@click.argument("path", metavar="FICHIER", type=click.Path(path_type=Path))
def roster_import_files_command(slug: str, path: Path):
    """Import an assistance files feed (files and guarantees), all or nothing."""
    insurer = insurer_or_fail(slug)
    try:
        summary = import_assistance_files(db.session, insurer, _read_feed(path))
    except RosterImportError as error:
        _refused(error)
    click.echo(f"Import des dossiers d'assistance de {insurer.name} ({insurer.slug}) terminé.")
    click.echo(f"Dossiers : {_tally(summary.files, feminine=False)}.")
    click.echo(f"Garanties : {_tally(summary.guarantees, feminine=True)}.")


def register(app: Flask) -> None:
    """Attach every command group to the application."""
    app.cli.add_command(demo_command)
    app.cli.add_command(setup_command)
    app.cli.add_command(insurer_cli)
    add_insurer_commands(insurer_cli)  # insurer set / show (app/embedding)
    app.cli.add_command(roster_cli)
    app.cli.add_command(reimbursements_cli)
