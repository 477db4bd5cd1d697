"""Command-line commands (`flask --app wsgi ...`)."""

import click
from flask import Flask
from flask.cli import with_appcontext

from app.clock import today
from app.demo import load_demo


@click.command("demo")
@with_appcontext
def demo_command():
    """Load (or refresh) the demo insurer and its roster, dates relative to today."""
    insurer = load_demo(today())
    click.echo(f"Données de démonstration chargées : {insurer.name} ({insurer.slug}).")


@click.command("setup")
@with_appcontext
@click.pass_context
def setup_command(context):
    """Everything `make run` needs after the migrations: demo data and site content."""
    context.invoke(demo_command)
    from app.faq.cli import load_command as faq_load_command

    context.invoke(faq_load_command)


def register(app: Flask) -> None:
    """Attach every command group to the application."""
    app.cli.add_command(demo_command)
    app.cli.add_command(setup_command)
