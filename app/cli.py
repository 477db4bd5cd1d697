"""Command-line commands (`flask --app wsgi ...`)."""

from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TypeVar

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from app.api.cli import insurer_token_command
from app.backoffice.cli import staff_cli
from app.cli_support import fail, insurer_or_fail, open_file_or_fail
from app.clock import today
from app.demo import load_demo
from app.embedding.cli import add_insurer_commands
from app.extensions import db
from app.outbox.cli import outbox_cli, worker_command
from app.reimbursements.cli import reimbursements_cli
from app.roster import (
    MAX_BYTES,
    FilesSummary,
    PeopleSummary,
    RosterImportError,
    Tally,
    import_assistance_files,
    import_people,
)
from app.roster.csvfile import format_date, too_big_message
from app.roster.insurers import InsurerError, create_insurer
from app.trips.cli import trips_cli

T = TypeVar("T")


@click.command("demo")
@with_appcontext
def demo_command():
    """Load (or refresh) the demo insurer and its roster, dates relative to today."""
    insurer = load_demo(
        today(),
        Path(current_app.config["UPLOAD_FOLDER"]),
        flow_folder=Path(current_app.instance_path) / "flux-demo",
    )
    click.echo(f"Données de démonstration chargées : {insurer.name} ({insurer.slug}).")
    if insurer.flow_channel == "folder":
        click.echo(f"Événements des trajets déposés dans : {insurer.flow_target}")


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


def _open_feed(path: Path) -> BinaryIO:
    return open_file_or_fail(
        path, what="un fichier CSV", max_bytes=MAX_BYTES, too_big=too_big_message(MAX_BYTES)
    )


def _refused(error: RosterImportError) -> None:
    bad_lines = error.bad_lines
    heading = "Import refusé : rien n'a été importé."
    if bad_lines:
        heading = (
            f"Import refusé : {bad_lines} ligne{_s(bad_lines)} en erreur, "
            "rien n'a été importé. Corrigez le fichier puis relancez la commande."
        )
    messages = [heading, *(str(e) for e in error.errors)]
    hidden = bad_lines - error.shown_bad_lines
    if hidden > 0:
        messages.append(
            f"… et {hidden} autre{_s(hidden)} ligne{_s(hidden)} en erreur, non affichée"
            f"{_s(hidden)} : l'option --errors FICHIER les écrit toutes."
        )
    fail(*messages)


def _s(count: int) -> str:
    return "s" if count > 1 else ""


def _tally(tally: Tally, feminine: bool, updated_note: str = "") -> str:
    """« 2 créées, 1 mise à jour, 0 inchangée » with French agreement."""
    e = "e" if feminine else ""
    updated_s = _s(tally.updated) if feminine else ""
    return (
        f"{tally.created} créé{e}{_s(tally.created)}, "
        f"{tally.updated} mis{e}{updated_s} à jour{updated_note}, "
        f"{tally.unchanged} inchangé{e}{_s(tally.unchanged)}"
    )


def _seconds(seconds: float) -> str:
    return f"{seconds:.1f}".replace(".", ",") + " s"


def _import(run: Callable[[BinaryIO], T], path: Path, errors_path: Path | None) -> T:
    """Run an import on the opened feed; a refusal prints why and stops."""
    with _open_feed(path) as feed:
        try:
            return run(feed)
        except RosterImportError as error:
            _refused(error)
        except OSError as error:  # the --errors file could not be written
            fail(f"Impossible d'écrire « {errors_path} » : {error.strerror}.")


_DRY_RUN = click.option(
    "--dry-run",
    is_flag=True,
    help="Vérifie le fichier et affiche le bilan sans rien enregistrer.",
)
_ERRORS = click.option(
    "--errors",
    "errors_path",
    metavar="FICHIER",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Écrit toutes les lignes en erreur dans ce fichier CSV (numéro, motif, ligne).",
)


def _heading(what: str, insurer, dry_run: bool) -> str:
    if dry_run:
        return (
            f"Simulation de l'import {what} de {insurer.name} ({insurer.slug}) : "
            "rien n'a été enregistré."
        )
    return f"Import {what} de {insurer.name} ({insurer.slug}) terminé."


def _lines(summary: PeopleSummary | FilesSummary) -> str:
    return f"Lignes lues : {summary.lines} ; famille{_s(summary.families)} : {summary.families}."


@roster_cli.command(
    "import",
    help="Importe le fichier des personnes d'une mutuelle (CSV « ; » : numero_adherent;"
    "qualite;nom;prenom;date_naissance;offre_debut;offre_fin). Tout ou rien. Le fichier est "
    "la liste complète des personnes : l'offre des absents prend fin à la date de l'import.",
)
@click.argument("slug")
@click.argument("path", metavar="FICHIER", type=click.Path(path_type=Path))
@click.option(
    "--partial",
    is_flag=True,
    help="Le fichier ne contient que des changements : aucune offre n'est arrêtée.",
)
@click.option(
    "--allow-mass-end",
    is_flag=True,
    help="Accepte d'arrêter l'offre de plus de 10 % des personnes de la mutuelle.",
)
@_DRY_RUN
@_ERRORS
def roster_import_command(
    slug: str,
    path: Path,
    partial: bool,
    allow_mass_end: bool,
    dry_run: bool,
    errors_path: Path | None,
):
    """Import a people file (members and offers), all or nothing."""
    insurer = insurer_or_fail(slug)
    summary = _import(
        lambda feed: import_people(
            db.session,
            insurer,
            feed,
            today=today(),
            partial=partial,
            allow_mass_end=allow_mass_end,
            dry_run=dry_run,
            errors_path=errors_path,
        ),
        path,
        errors_path,
    )
    note = ""
    if summary.corrected:
        corrected = _s(summary.corrected)
        note = f" (dont {summary.corrected} identité{corrected} corrigée{corrected})"
    people = f"Personnes : {_tally(summary.people, feminine=True, updated_note=note)}"
    if summary.partial:
        people += " ; fichier partiel : aucune offre arrêtée."
    elif summary.ended:
        people += (
            f", {summary.ended} sortie{_s(summary.ended)} (absente{_s(summary.ended)} du "
            f"fichier : offre arrêtée au {format_date(summary.ended_on)})."
        )
    else:
        people += ", 0 sortie."
    click.echo(_heading("des personnes", insurer, dry_run))
    click.echo(_lines(summary))
    click.echo(people)
    click.echo(f"Offres : {_tally(summary.offers, feminine=True)}.")
    click.echo(f"Durée : {_seconds(summary.seconds)}.")


@roster_cli.command(
    "import-files",
    help="Importe les dossiers d'assistance d'une mutuelle (CSV « ; » : numero_adherent;"
    "numero_dossier;garantie;debut;fin). Tout ou rien.",
)
@click.argument("slug")
@click.argument("path", metavar="FICHIER", type=click.Path(path_type=Path))
@_DRY_RUN
@_ERRORS
def roster_import_files_command(slug: str, path: Path, dry_run: bool, errors_path: Path | None):
    """Import an assistance files feed (files and guarantees), all or nothing."""
    insurer = insurer_or_fail(slug)
    summary = _import(
        lambda feed: import_assistance_files(
            db.session, insurer, feed, dry_run=dry_run, errors_path=errors_path
        ),
        path,
        errors_path,
    )
    click.echo(_heading("des dossiers d'assistance", insurer, dry_run))
    click.echo(_lines(summary))
    click.echo(f"Dossiers : {_tally(summary.files, feminine=False)}.")
    click.echo(f"Garanties : {_tally(summary.guarantees, feminine=True)}.")
    click.echo(f"Durée : {_seconds(summary.seconds)}.")


def register(app: Flask) -> None:
    """Attach every command group to the application."""
    app.cli.add_command(demo_command)
    app.cli.add_command(setup_command)
    app.cli.add_command(insurer_cli)
    add_insurer_commands(insurer_cli)  # insurer set / show (app/embedding)
    insurer_cli.add_command(insurer_token_command)
    app.cli.add_command(roster_cli)
    app.cli.add_command(reimbursements_cli)
    app.cli.add_command(worker_command)
    app.cli.add_command(outbox_cli)
    app.cli.add_command(trips_cli)
    app.cli.add_command(staff_cli)
