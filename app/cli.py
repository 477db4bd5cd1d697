"""Command-line commands (`flask --app wsgi ...`)."""

import click
from flask import Flask

from app.clock import today
from app.demo import load_demo


@click.command("demo")
def demo_command():
    """Load (or refresh) the demo insurer and its roster, dates relative to today."""
    insurer = load_demo(today())
    click.echo(f"Données de démonstration chargées : {insurer.name} ({insurer.slug}).")


@click.command("setup")
@click.pass_context
def setup_command(context):
    """Everything `make run` needs after the migrations: demo data and site content."""
    context.invoke(demo_command)


def register(app: Flask) -> None:
    """Attach every command group to the application."""
    app.cli.add_command(demo_command)
    app.cli.add_command(setup_command)
