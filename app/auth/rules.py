"""Account rules as plain functions: names, member numbers, phones, passwords, offers.

No Flask here, so that forms, views, the CLI and tests all call the same code.
"""

import re
from collections.abc import Iterable
from datetime import date
from functools import cache

from app.text import fold_name

PASSWORD_POLICY_MESSAGE = (
    "Le mot de passe doit contenir au minimum 8 caractères dont au moins une majuscule, "
    "une minuscule et un chiffre."
)
PASSWORD_TOO_LONG_MESSAGE = "Le mot de passe ne doit pas dépasser 128 caractères."
PASSWORD_COMMON_MESSAGE = (
    "Ce mot de passe fait partie des mots de passe les plus courants : choisissez-en un "
    "moins évident."
)
PASSWORD_PERSONAL_MESSAGE = (
    "Le mot de passe ne doit contenir ni votre prénom, ni votre nom, ni votre numéro adhérent."
)
PHONE_MESSAGE = "Le numéro doit être au format 06 xx xx xx xx ou 07 xx xx xx xx."
OFFER_MESSAGE = (
    "Veuillez vous assurer que vous avez souscrit à une offre vous donnant l'accès au service, "
    "et que cette offre est en cours de validité. Le cas échéant, rapprochez-vous de votre "
    "conseiller."
)
MEMBER_NUMBER_MESSAGE = "Le numéro adhérent ne peut contenir que des lettres et des chiffres."

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128

_SPACES = re.compile(r"\s+")


def normalize_member_number(number: str) -> str | None:
    """Member numbers as printed on the card, spaces ignored, in capitals; None if malformed."""
    compact = _SPACES.sub("", number or "").upper()
    if not compact or not compact.isascii() or not compact.isalnum():
        return None
    return compact


def normalize_phone(raw: str) -> str | None:
    """A French mobile number as `06 12 34 56 78`, or None when it is not one.

    Accepts spaces, dots or dashes between digits and the +33 6 / +33 7 (or 0033) forms.
    """
    compact = re.sub(r"[\s.\-]", "", raw or "")
    if compact.startswith("+33"):
        compact = "0" + compact[3:]
    elif compact.startswith("0033"):
        compact = "0" + compact[4:]
    if compact.startswith("00") or not re.fullmatch(r"0[67]\d{8}", compact):
        return None
    return " ".join(compact[i : i + 2] for i in range(0, 10, 2))


def password_meets_policy(password: str) -> bool:
    """At least 8 characters with an upper-case letter, a lower-case letter and a digit."""
    return (
        len(password) >= PASSWORD_MIN_LENGTH
        and any(c.isupper() for c in password)
        and any(c.islower() for c in password)
        and any(c.isdigit() for c in password)
    )


@cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords of zxcvbn's frequency list (Dropbox, MIT licence)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def is_common_password(password: str) -> bool:
    """True for a listed password, also once its trailing digits and symbols are dropped."""
    lowered = password.casefold()
    stem = re.sub(r"[\d\W_]+$", "", lowered)
    listed = common_passwords()
    return lowered in listed or (len(stem) >= 4 and stem in listed)


def contains_personal_data(password: str, personal: Iterable[str]) -> bool:
    """True when the password contains one of the given names or numbers (3 letters or more)."""
    folded = fold_name(password).replace(" ", "")
    for value in personal:
        for part in fold_name(value or "").split(" "):
            if len(part) >= 3 and part in folded:
                return True
    return False


def password_problem(password: str, personal: Iterable[str] = ()) -> str | None:
    """The French message explaining why a new password is refused, or None."""
    if len(password) > PASSWORD_MAX_LENGTH:
        return PASSWORD_TOO_LONG_MESSAGE
    if not password_meets_policy(password):
        return PASSWORD_POLICY_MESSAGE
    if is_common_password(password):
        return PASSWORD_COMMON_MESSAGE
    if contains_personal_data(password, personal):
        return PASSWORD_PERSONAL_MESSAGE
    return None


def offer_is_valid(starts_on: date, ends_on: date, day: date) -> bool:
    """An offer is valid from its first day to its last day, both included."""
    return starts_on <= day <= ends_on


def has_valid_offer(periods: Iterable[tuple[date, date]], day: date) -> bool:
    return any(offer_is_valid(start, end, day) for start, end in periods)
