"""`flask --app wsgi insurer set` and `insurer show`: an insurer's branding and embedding."""

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from app.cli_support import fail, insurer_or_fail, read_file_or_fail
from app.email import public_url
from app.embedding import rules
from app.embedding.settings import Changes, update_insurer
from app.extensions import db
from app.models import Insurer
from app.outbox.flow import normalize_webhook_url
from app.roster.insurers import InsurerError


def _read_logo(path: Path) -> bytes:
    return read_file_or_fail(
        path, what="une image", max_bytes=rules.MAX_LOGO_BYTES, too_big=rules.LOGO_TOO_BIG_MESSAGE
    )


def _describe(insurer: Insurer) -> None:
    none = "(aucun)"
    click.echo(f"Mutuelle : {insurer.name} ({insurer.slug})")
    click.echo(f"Téléphone d'assistance : {insurer.phone or none}")
    click.echo(f"E-mail d'assistance : {insurer.email or none}")
    click.echo(f"Couleur principale : {insurer.primary_color or '(couleur de Cartable)'}")
    click.echo(f"Logo : {insurer.logo_media_type or none}")
    origins = ", ".join(origin.origin for origin in insurer.origins) or none
    click.echo(f"Origines autorisées : {origins}")
    flow = {"webhook": "webhook signé", "folder": "dossier"}.get(insurer.flow_channel)
    click.echo(
        f"Flux des trajets : {flow} {insurer.flow_target}"
        if flow
        else "Flux des trajets : (aucun : les événements attendent)"
    )
    if insurer.flow_channel == "webhook" and normalize_webhook_url(insurer.flow_target) is None:
        click.echo(
            "Attention : ce webhook n'est pas en https ; les événements attendent qu'une "
            "adresse https soit réglée (--flow-webhook https://…)."
        )
    click.echo(f"Lien d'accès : {public_url('/e/' + insurer.slug)}")
    click.echo(f"Intégration : {public_url('/e/' + insurer.slug + '/integration')}")


@click.command(
    "set",
    help="Modifie une mutuelle : nom, assistance, couleur, logo, origines autorisées à "
    "intégrer le portail. Une valeur vide (« » ) efface le téléphone, l'e-mail ou la couleur.",
)
@click.argument("slug")
@click.option("--name", help="Nom affiché.")
@click.option("--phone", help="Numéro de l'assistance, par exemple « 01 23 45 67 89 ».")
@click.option("--email", help="Adresse e-mail de l'assistance.")
@click.option(
    "--color",
    help="Couleur principale, par exemple #1F4E8C ; un texte blanc doit s'y lire (contraste "
    "4,5:1 au moins).",
)
@click.option(
    "--logo",
    type=click.Path(path_type=Path),
    help="Logo : image PNG ou SVG (256 Ko au plus ; SVG sans script ni ressource externe).",
)
@click.option("--remove-logo", is_flag=True, help="Retire le logo.")
@click.option(
    "--origin",
    "origins",
    multiple=True,
    help="Origine à autoriser, par exemple https://www.mutuelle.fr (option répétable).",
)
@click.option(
    "--remove-origin", "removed_origins", multiple=True, help="Origine à retirer (répétable)."
)
@click.option(
    "--flow-webhook",
    metavar="URL",
    help="Envoie les événements des trajets à cette adresse https (http seulement sur cette "
    "machine : 127.0.0.1, ::1, localhost), signés (Standard Webhooks) ; le secret de "
    "signature est affiché une seule fois.",
)
@click.option(
    "--flow-folder",
    metavar="DOSSIER",
    help="Dépose les événements des trajets dans ce dossier, un fichier JSON chacun.",
)
@click.option(
    "--rotate-flow-secret",
    is_flag=True,
    help="Crée un nouveau secret de signature du webhook (l'ancien cesse de valoir).",
)
@with_appcontext
def insurer_set_command(
    slug,
    name,
    phone,
    email,
    color,
    logo,
    remove_logo,
    origins,
    removed_origins,
    flow_webhook,
    flow_folder,
    rotate_flow_secret,
):
    """Change an insurer's branding, assistance contact and embedding origins."""
    if logo is not None and remove_logo:
        fail("Choisissez entre --logo et --remove-logo.")
    insurer = insurer_or_fail(slug)
    changes = Changes(
        name=name,
        phone=phone,
        email=email,
        color=color,
        logo=_read_logo(logo) if logo is not None else None,
        remove_logo=remove_logo,
        add_origins=origins,
        remove_origins=removed_origins,
        flow_webhook=flow_webhook,
        flow_folder=flow_folder,
        rotate_flow_secret=rotate_flow_secret,
    )
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    try:
        secret = update_insurer(db.session, insurer, changes, folder)
    except InsurerError as error:
        fail("Modification refusée : rien n'a été changé.", *error.messages)
    click.echo("Mutuelle modifiée.")
    _describe(insurer)
    if secret:
        click.echo(
            f"Secret de signature du webhook (affiché cette seule fois, à transmettre à "
            f"l'assistance) : {secret}"
        )


@click.command("show", help="Affiche les réglages d'une mutuelle et son lien d'intégration.")
@click.argument("slug")
@with_appcontext
def insurer_show_command(slug):
    """Print an insurer's settings and its embedding links."""
    _describe(insurer_or_fail(slug))


def add_insurer_commands(group: click.Group) -> None:
    """Attach `set` and `show` to the `insurer` command group of app/cli.py."""
    group.add_command(insurer_set_command)
    group.add_command(insurer_show_command)
