"""`flask --app wsgi insurer token SLUG [--revoke PREFIXE]`: the assistance's API tokens."""

import click
from flask.cli import with_appcontext

from app.api import tokens
from app.cli_support import fail, insurer_or_fail


def _when(value) -> str:
    return value.strftime("%d/%m/%Y %H:%M UTC")


@click.command(
    "token",
    help="Crée un jeton d'accès à l'API pour l'assistance d'une mutuelle (affiché une seule "
    "fois), ou le révoque avec --revoke suivi de son début (« cart_… », 13 caractères).",
)
@click.argument("slug")
@click.option("--revoke", metavar="PREFIXE", help="Révoque le jeton qui commence ainsi.")
@with_appcontext
def insurer_token_command(slug: str, revoke: str | None):
    """Create an API token for an insurer, or revoke one."""
    insurer = insurer_or_fail(slug)
    if revoke is not None:
        row = tokens.revoke(insurer.id, revoke.strip())
        if row is None:
            fail(f"Aucun jeton de {insurer.name} ne commence par « {revoke} ».")
        click.echo(f"Jeton {row.prefix}… révoqué le {_when(row.revoked_at)}.")
    else:
        row, token = tokens.create_token(insurer.id)
        click.echo(f"Jeton d'accès à l'API pour {insurer.name} (affiché cette seule fois) :")
        click.echo(token)
        click.echo("À envoyer dans l'en-tête « Authorization: Bearer <jeton> ».")
    live = [t for t in tokens.tokens_of(insurer.id) if t.revoked_at is None]
    click.echo(f"Jetons en service : {', '.join(t.prefix + '…' for t in live) or '(aucun)'}")
