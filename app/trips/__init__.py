"""Trips: the month calendar, the day page, « Mes trajets »; the booking rules in `rules`."""

from flask import Blueprint

bp = Blueprint("trips", __name__)

from app.trips import export, routes  # noqa: E402, F401
