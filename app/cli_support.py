"""What every command-line command shares: French failures, file reading, insurer lookup."""

from pathlib import Path
from typing import BinaryIO

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


def read_file_or_fail(path: Path, *, what: str, max_bytes: int, too_big: str) -> bytes:
    """The file's bytes, or a French failure for a missing, unreadable or oversized file.

    The size is checked before the file is read whole; `what` names the file expected
    (« un fichier CSV », « une image »).
    """
    try:
        if path.is_dir():
            fail(f"« {path} » est un dossier, pas {what}.")
        if path.stat().st_size > max_bytes:
            fail(too_big)
        return path.read_bytes()
    except FileNotFoundError:
        fail(f"Fichier introuvable : « {path} ».")
    except OSError as error:
        fail(f"Impossible de lire « {path} » : {error.strerror}.")


def open_file_or_fail(path: Path, *, what: str, max_bytes: int, too_big: str) -> BinaryIO:
    """The file opened for reading in binary, or the same French failures as
    `read_file_or_fail`; the caller reads it as a stream and closes it."""
    try:
        if path.is_dir():
            fail(f"« {path} » est un dossier, pas {what}.")
        if path.stat().st_size > max_bytes:
            fail(too_big)
        return path.open("rb")
    except FileNotFoundError:
        fail(f"Fichier introuvable : « {path} ».")
    except OSError as error:
        fail(f"Impossible de lire « {path} » : {error.strerror}.")
