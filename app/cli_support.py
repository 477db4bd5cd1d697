"""What every command-line command shares: French failures and insurer lookup."""

import click
import sqlalchemy as sa

from app.extensions import db
from app.models import Insurer


def fail(*messages: str) -> None:
    """Print the French reasons on stderr and stop with exit code 1."""
    for message in messages:
        click.echo(message, err=True)
    raise click.exceptions.Exit(1)


def insurer_or_fail(slug: str) -> Insurer:
    """The insurer of a slug, or a French failure naming the command that creates it."""
    insurer = db.session.scalar(sa.select(Insurer).where(Insurer.slug == slug))
    if insurer is None:
        fail(
            f"Mutuelle inconnue : « {slug} ». Créez-la d'abord avec "
            "« flask --app wsgi insurer add »."
        )
    return insurer
