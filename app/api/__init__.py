"""The insurers' API (/api/v1): bearer tokens, JSON in and out, no session, no CSRF."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from app.api import routes  # noqa: E402, F401
