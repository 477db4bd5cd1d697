"""Questions fréquentes (/faq) and the information pages (/infos/...), open to everyone."""

from flask import Blueprint

bp = Blueprint("faq", __name__, cli_group="faq")

from app.faq import cli, routes  # noqa: E402, F401
