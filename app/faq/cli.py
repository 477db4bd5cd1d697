"""`flask --app wsgi faq load`: bring the FAQ file's content into the database."""

import click

from app.faq import bp, content


@bp.cli.command("load")
def load_command():
    """Load (or update) the FAQ from app/faq/content/faq.toml; running it twice changes nothing."""
    try:
        report = content.load(content.read())
    except content.ContentError as error:
        raise click.ClickException(str(error)) from error
    click.echo(
        f"FAQ chargée : {report.total} questions ({report.created} ajoutées, "
        f"{report.updated} modifiées, {report.deleted} supprimées)."
    )
