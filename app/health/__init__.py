"""Health checks for the load balancer: /sante (the process runs), /sante/pret (it can serve)."""

from flask import Blueprint

bp = Blueprint("health", __name__)

from app.health import routes  # noqa: E402, F401
