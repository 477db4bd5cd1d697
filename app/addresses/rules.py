"""Address rules as plain functions: labels, postal codes, and when an address may go.

No Flask here, so that forms, views, the CLI and tests all call the same code.
"""

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time

from app.text import fold_name
from app.trips.rules import far_enough, starts_at

LABEL_MAX_LENGTH = 100
# What the transporter goes to: a change of these (not of the label or kind alone) sends
# the trips still changeable again to the assistance.
PLACE_FIELDS = ("street", "complement", "postal_code", "city")
STREET_MAX_LENGTH = 200
COMPLEMENT_MAX_LENGTH = 200
CITY_MAX_LENGTH = 100

LABEL_TAKEN_MESSAGE = "Vous avez déjà une adresse avec cet intitulé : choisissez-en un autre."
POSTAL_CODE_FORMAT_MESSAGE = "Le code postal doit comporter 5 chiffres, par exemple 75011."
POSTAL_CODE_UNKNOWN_MESSAGE = "Ce code postal ne correspond à aucun département français."
DELETE_BLOCKED_MESSAGE = (
    "Vous devez supprimer le trajet vers cette destination avant de pouvoir supprimer l'adresse."
)

# The only 98xxx codes of France: Wallis-et-Futuna, Polynésie française, Nouvelle-Calédonie.
PACIFIC_PREFIXES = frozenset({"986", "987", "988"})

_SPACES = re.compile(r"\s+")
_FIVE_DIGITS = re.compile(r"[0-9]{5}")


def clean_text(value: str | None) -> str:
    """A typed line: no surrounding or repeated spaces, no control characters (NUL…)."""
    spaced = _SPACES.sub(" ", value or "")
    return "".join(c for c in spaced if unicodedata.category(c) != "Cc").strip()


def label_key(label: str) -> str:
    """The key under which « Intitulé » is unique: « École » and « ecole  » collide."""
    # Folding may lengthen a few characters (ligatures); the column holds 100.
    return fold_name(clean_text(label))[:LABEL_MAX_LENGTH]


def normalize_postal_code(value: str | None) -> str | None:
    """Five digits of a French postal code, spaces ignored; None when malformed.

    Whether the code exists is `postal_code_problem`'s business.
    """
    compact = _SPACES.sub("", value or "")
    return compact if _FIVE_DIGITS.fullmatch(compact) else None


def postal_code_problem(value: str | None) -> str | None:
    """The French message when a postal code is not one of France's, else None.

    Metropolitan départements 01 to 95 (Corsica keeps 20xxx), overseas 97xxx (975xx
    Saint-Pierre-et-Miquelon included), and the Pacific collectivities 986xx (Wallis-et-Futuna),
    987xx (Polynésie française) and 988xx (Nouvelle-Calédonie). 980xx is Monaco: refused.
    """
    code = normalize_postal_code(value)
    if code is None:
        return POSTAL_CODE_FORMAT_MESSAGE
    department = int(code[:2])
    if 1 <= department <= 95 or department == 97 or code[:3] in PACIFIC_PREFIXES:
        return None
    return POSTAL_CODE_UNKNOWN_MESSAGE


@dataclass(frozen=True)
class TripUse:
    """What the address rules need to know about one trip using an address."""

    trip_date: date
    trip_time: time
    cancelled: bool


def is_upcoming(use: TripUse, now: datetime) -> bool:
    """A trip still to come: not cancelled and not started yet (Paris time)."""
    return not use.cancelled and starts_at(use.trip_date, use.trip_time) > now


def is_past(use: TripUse, now: datetime) -> bool:
    """A trip that belongs to history: its date and hour are over (cancelled or not)."""
    return starts_at(use.trip_date, use.trip_time) <= now


def is_imminent(use: TripUse, now: datetime) -> bool:
    """A trip still to come but less than 48 h ahead: already sent to the transporter.

    (A trip that may no longer change, past ones included, is `trips.rules.is_locked`.)
    """
    return is_upcoming(use, now) and not far_enough(now, use.trip_date, use.trip_time)


def is_changeable(use: TripUse, now: datetime) -> bool:
    """A trip 48 h or more ahead, not cancelled: the parent may still change it."""
    return not use.cancelled and far_enough(now, use.trip_date, use.trip_time)


def edit_needs_new_version(uses: Iterable[TripUse], now: datetime) -> bool:
    """Editing an address that past or locked trips use keeps the old version for them.

    Past trips keep it as history; locked trips (less than 48 h ahead) were sent to the
    transporter with it, so they must not change behind its back. Only the trips still
    changeable follow the corrected address.
    """
    return any(is_past(use, now) or is_imminent(use, now) for use in uses)
