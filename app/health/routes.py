import sqlalchemy as sa
from flask import Response
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.health import bp


def _plain(text: str, status: int) -> Response:
    return Response(text + "\n", status=status, mimetype="text/plain")


@bp.get("")
def alive():
    """200 while the process answers: nothing else is asked of it."""
    return _plain("ok", 200)


@bp.get("/pret")
def ready():
    """200 only when the database answers: a process without it cannot serve a page."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return _plain("base de données injoignable", 503)
    return _plain("ok", 200)
