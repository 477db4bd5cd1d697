from flask import Blueprint

bp = Blueprint("addresses", __name__)

from app.addresses import export, routes  # noqa: E402, F401
