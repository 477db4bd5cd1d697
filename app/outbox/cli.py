"""`flask --app wsgi worker [--once]`, `flask --app wsgi outbox show [--dead]`,
`flask --app wsgi outbox retry` and `flask --app wsgi outbox purge`."""

import signal
import threading

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from app.cli_support import fail
from app.extensions import db
from app.models import OutboxMessage
from app.outbox import worker

outbox_cli = AppGroup("outbox", help="File d'envoi : e-mails et événements des trajets.")

SHOW_LIMIT = 200


@click.command("worker", help="Envoie les e-mails et les événements en attente, en continu.")
@click.option("--once", is_flag=True, help="Envoie ce qui est dû maintenant, puis s'arrête.")
@with_appcontext
def worker_command(once: bool):
    """Deliver the outbox: continuously, or once (cron, tests)."""
    if once:
        tally = worker.deliver_due()
        click.echo(
            f"Envoyés : {tally.delivered} ; en échec : {tally.failed} "
            f"(dont {tally.dead} abandonnés)."
        )
        return
    stop = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: stop.set())
    click.echo("Envoi des messages en attente (Ctrl+C pour arrêter).")
    worker.run_forever(stop)
    click.echo("Envoi arrêté.")


@outbox_cli.command(
    "purge", help="Efface les messages délivrés depuis plus de OUTBOX_RETENTION_DAYS jours."
)
@with_appcontext
def outbox_purge_command():
    """Erase the delivered rows past their retention now (the worker does it every hour)."""
    erased = worker.purge_delivered()
    days = current_app.config["OUTBOX_RETENTION_DAYS"]
    click.echo(f"Messages délivrés depuis plus de {days} jours effacés : {erased}.")


@outbox_cli.command(
    "retry",
    help="Remet en file des messages abandonnés : ceux nommés (identifiants msg_…), "
    "ou tous avec --all.",
)
@click.argument("message_ids", nargs=-1)
@click.option("--all", "every_dead", is_flag=True, help="Tous les messages abandonnés.")
@with_appcontext
def outbox_retry_command(message_ids: tuple[str, ...], every_dead: bool):
    """Revive dead rows once what stopped them is mended (an endpoint back, a setting)."""
    if bool(message_ids) == every_dead:
        fail("Nommez les messages à remettre en file (msg_…), ou --all pour tous.")
    outcome = worker.revive_dead(list(message_ids) if message_ids else None)
    if outcome.unknown:
        fail(*(f"« {unknown} » n'est pas un message abandonné." for unknown in outcome.unknown))
    click.echo(f"Remis en file : {len(outcome.revived)}.")
    for message_id in outcome.superseded:
        click.echo(
            f"Laissé abandonné : {message_id} (un événement plus récent du même trajet est "
            "parti ou partira avec le trajet entier, ou l'événement a dépassé la durée de "
            "conservation)."
        )


def _when(value) -> str:
    return value.strftime("%d/%m/%Y %H:%M:%S UTC") if value else "-"


@outbox_cli.command("show", help="Liste les messages de la file avec leur état.")
@click.option("--dead", is_flag=True, help="Seulement les messages abandonnés.")
@with_appcontext
def outbox_show_command(dead: bool):
    """List outbox rows, most recent first, with their state and last error."""
    query = sa.select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(SHOW_LIMIT)
    if dead:
        query = query.where(OutboxMessage.dead_at.is_not(None))
    rows = list(db.session.scalars(query))
    if not rows:
        click.echo("Aucun message abandonné." if dead else "La file est vide.")
        return
    for row in rows:
        click.echo(
            f"{row.message_id}  {row.state}  essais : {row.attempts}  "
            f"créé : {_when(row.created_at)}  {row.summary}"
        )
        if row.delivered_at is None:
            click.echo(f"    prochain essai : {_when(row.due_at) if not row.dead_at else '-'}")
        if row.last_error:
            click.echo(f"    dernière erreur : {row.last_error}")
