"""Dates and hours written the French way (no locale needed on the server)."""

from datetime import date

from app.trips.rules import format_hour

MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
WEEKDAY_ABBREVIATIONS = ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim.")


def month_name(year: int, month: int) -> str:
    """« Mai 2026 »."""
    return f"{MONTHS[month - 1].capitalize()} {year}"


def long_day(day: date) -> str:
    """« jeudi 21 mai 2026 »."""
    return f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]} {day.year}"


def short_day(day: date) -> str:
    """« 21/05/2026 »."""
    return day.strftime("%d/%m/%Y")


HELPERS = {
    "month_name": month_name,
    "long_day": long_day,
    "short_day": short_day,
    "format_hour": format_hour,
    "weekday_names": WEEKDAYS,
    "weekday_abbreviations": WEEKDAY_ABBREVIATIONS,
}
