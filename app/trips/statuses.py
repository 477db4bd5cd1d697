"""What the assistance may say of a trip (API and `flask trips set-status`): plain rules.

Every check returns French messages keyed by the field in error, so that the API answers
422 naming the field and the command prints the same sentences.
"""

import re
from typing import NamedTuple

from app.models import TripStatus

# What the assistance sends, and the status each one gives the trip.
STATUS_WORDS = {
    "confirme": TripStatus.CONFIRMED,
    "realise": TripStatus.DONE,
    "annule": TripStatus.CANCELLED_BY_ASSISTANCE,
}
STATUS_CHOICES_TEXT = "confirme, realise ou annule"
# A trip in one of these states is settled: only the same status again is accepted.
SETTLED = frozenset({TripStatus.DONE, TripStatus.CANCELLED, TripStatus.CANCELLED_BY_ASSISTANCE})

NAME_MAX, REASON_MAX = 200, 500
UNKNOWN_STATUS = "Statut inconnu : « {value} ». Valeurs possibles : " + STATUS_CHOICES_TEXT + "."
MISSING_STATUS = "Le statut est obligatoire : " + STATUS_CHOICES_TEXT + "."
MISSING_TRANSPORTER_NAME = "Le nom du transporteur est obligatoire."
LONG_TRANSPORTER_NAME = f"Le nom du transporteur doit faire au plus {NAME_MAX} caractères."
BAD_TRANSPORTER_PHONE = (
    "Le téléphone du transporteur doit être un numéro français à 10 chiffres, par exemple "
    "04 78 12 34 56."
)
MISSING_REASON = "Une annulation doit indiquer sa raison."
LONG_REASON = f"La raison doit faire au plus {REASON_MAX} caractères."
NOT_TEXT = "Ce champ doit être un texte."
CONTROL_CHARACTERS_MESSAGE = "Ce champ contient des caractères non valides."
SETTLED_MESSAGE = "Ce trajet est déjà « {label} » : son statut ne peut plus changer."
NOT_YET_DONE_MESSAGE = (
    "Ce trajet n'a pas encore eu lieu (le {day} à {hour}) : il ne peut pas encore être « Réalisé »."
)
# What str.split() leaves of the C0 controls (it takes \t, \n, \r and \x1c-\x1f as
# spaces), DEL, and lone surrogates (JSON's "\ud800", which no encoding can write):
# PostgreSQL refuses NUL in a text, and none belongs in a name or reason.
_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0e-\x1b\x7f\ud800-\udfff]")

TRIP_NUMBER = re.compile(r"T-(\d{4})-(\d{6,9})")


class StatusUpdate(NamedTuple):
    status: TripStatus
    transporter_name: str | None = None
    transporter_phone: str | None = None
    reason: str | None = None


def parse_trip_number(text: str) -> tuple[int, int] | None:
    """(year, trip id) of a public number « T-2026-000042 », or None."""
    match = TRIP_NUMBER.fullmatch(text or "")
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2))


def normalize_french_phone(raw: str) -> str | None:
    """A French number (landline or mobile) as `04 78 12 34 56`, or None when it is not one.

    Accepts spaces, dots or dashes between digits and the +33 / 0033 forms.
    """
    compact = re.sub(r"[\s.\-]", "", raw or "")
    if compact.startswith("+33"):
        compact = "0" + compact[3:]
    elif compact.startswith("0033"):
        compact = "0" + compact[4:]
    if not re.fullmatch(r"0[1-9]\d{8}", compact):
        return None
    return " ".join(compact[i : i + 2] for i in range(0, 10, 2))


def _text(value, field: str, errors: dict) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        errors[field] = NOT_TEXT
        return None
    if _CONTROL_CHARACTERS.search(value):
        errors[field] = CONTROL_CHARACTERS_MESSAGE
        return None
    return " ".join(value.split()) or None


def read_status_update(
    status, transporter_name=None, transporter_phone=None, reason=None
) -> tuple[StatusUpdate | None, dict[str, str]]:
    """The update the assistance asks for, or the problems of each field in error."""
    errors: dict[str, str] = {}
    word = _text(status, "status", errors)
    name = _text(transporter_name, "transporter.name", errors)
    phone_text = _text(transporter_phone, "transporter.phone", errors)
    reason = _text(reason, "reason", errors)
    if "status" in errors:
        return None, errors
    if word is None:
        errors["status"] = MISSING_STATUS
        return None, errors
    new_status = STATUS_WORDS.get(word)
    if new_status is None:
        errors["status"] = UNKNOWN_STATUS.format(value=word[:50])
        return None, errors
    phone = None
    if new_status is TripStatus.CONFIRMED:
        if name is None and "transporter.name" not in errors:
            errors["transporter.name"] = MISSING_TRANSPORTER_NAME
        elif name is not None and len(name) > NAME_MAX:
            errors["transporter.name"] = LONG_TRANSPORTER_NAME
        if phone_text is not None:
            phone = normalize_french_phone(phone_text)
        if phone is None and "transporter.phone" not in errors:
            errors["transporter.phone"] = BAD_TRANSPORTER_PHONE
    if new_status is TripStatus.CANCELLED_BY_ASSISTANCE:
        if reason is None and "reason" not in errors:
            errors["reason"] = MISSING_REASON
        elif reason is not None and len(reason) > REASON_MAX:
            errors["reason"] = LONG_REASON
    if errors:
        return None, errors
    if new_status is TripStatus.CONFIRMED:
        return StatusUpdate(new_status, name, phone), {}
    if new_status is TripStatus.CANCELLED_BY_ASSISTANCE:
        return StatusUpdate(new_status, reason=reason), {}
    return StatusUpdate(new_status), {}
