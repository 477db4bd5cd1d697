"""« Mes remboursements »: reimbursement requests with their supporting documents."""

from flask import Blueprint

bp = Blueprint("reimbursements", __name__)

from app.reimbursements import export, routes, storage  # noqa: E402, F401

storage.register_cleanup()
