"""Reimbursement rules as plain functions: amounts, expense dates, IBAN, documents, statuses.

No Flask here, so that forms, views, the CLI and tests all call the same code.
"""

import re
import unicodedata
from datetime import date
from decimal import Decimal
from pathlib import PurePosixPath

import filetype
from schwifty import IBAN
from schwifty.exceptions import (
    InvalidBBANChecksum,
    InvalidChecksumDigits,
    InvalidCountryCode,
    InvalidLength,
    SchwiftyException,
)

from app.models.reimbursements import MAX_AMOUNT_CENTS, ReimbursementStatus


class RuleError(ValueError):
    """An input refused by a rule; `message` is shown to the user as is."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- Amount -------------------------------------------------------------------------------

AMOUNT_FORMAT_MESSAGE = (
    "Saisissez un montant en euros avec au plus deux décimales, par exemple 35,50."
)
AMOUNT_POSITIVE_MESSAGE = "Le montant doit être supérieur à 0 €."
AMOUNT_MAX_MESSAGE = "Le montant ne peut pas dépasser 10 000 €."

# Spaces users type between thousands, including the non-breaking ones of copied text.
_THOUSANDS_SPACES = re.compile(r"(?<=\d)[ \u00a0\u202f](?=\d{3}(?:\D|$))")
_AMOUNT = re.compile(r"(\d+)(?:[.,](\d{1,2}))?")


def parse_amount(text: str) -> int:
    """An amount in euros as typed in France (`35,50`, `35.50`, `1 234,56 €`), in cents."""
    cleaned = (text or "").strip().removesuffix("€").strip()
    cleaned = _THOUSANDS_SPACES.sub("", cleaned)
    if cleaned.startswith("-"):
        raise RuleError(AMOUNT_POSITIVE_MESSAGE)
    match = _AMOUNT.fullmatch(cleaned)
    if not match:
        raise RuleError(AMOUNT_FORMAT_MESSAGE)
    euros, cents = match.group(1), (match.group(2) or "0").ljust(2, "0")
    amount = int(Decimal(euros) * 100 + Decimal(cents))
    if amount <= 0:
        raise RuleError(AMOUNT_POSITIVE_MESSAGE)
    if amount > MAX_AMOUNT_CENTS:
        raise RuleError(AMOUNT_MAX_MESSAGE)
    return amount


def format_amount(cents: int) -> str:
    """`123456` → `1 234,56 €` (non-breaking spaces, as French typography wants)."""
    euros, rest = divmod(cents, 100)
    grouped = f"{euros:,}".replace(",", "\u00a0")
    return f"{grouped},{rest:02d}\u00a0€"


# --- Expense date -------------------------------------------------------------------------

DATE_FUTURE_MESSAGE = "La date de la dépense ne peut pas être dans le futur."
DATE_BEFORE_FILE_MESSAGE = (
    "La date de la dépense ne peut pas être antérieure au début de la garantie de votre "
    "dossier d'assistance, le {start}."
)


def expense_date_problem(day: date, today: date, file_start: date | None) -> str | None:
    """Why an expense date is refused: in the future, or before the file's first guarantee."""
    if day > today:
        return DATE_FUTURE_MESSAGE
    if file_start is not None and day < file_start:
        return DATE_BEFORE_FILE_MESSAGE.format(start=file_start.strftime("%d/%m/%Y"))
    return None


# --- IBAN ---------------------------------------------------------------------------------

IBAN_CHECKSUM_MESSAGE = (
    "Cet IBAN n'est pas valide : sa clé de contrôle ne correspond pas. Vérifiez chaque caractère."
)
IBAN_LENGTH_MESSAGE = "Cet IBAN n'a pas la longueur attendue pour son pays."
IBAN_COUNTRY_MESSAGE = (
    "Un IBAN commence par le code de son pays suivi de deux chiffres, par exemple FR76 pour "
    "la France."
)
IBAN_FORMAT_MESSAGE = "Cet IBAN ne respecte pas le format des comptes de son pays."
IBAN_SEPA_MESSAGE = (
    "Le remboursement se fait par virement SEPA : l'IBAN doit être celui d'un "
    "compte de la zone SEPA."
)


def normalize_iban(text: str) -> str:
    """A valid IBAN of the SEPA zone, compact and in capitals (spaces and lower case accepted)."""
    compact = re.sub(r"[\s\u00a0\u202f-]", "", text or "").upper()
    if not compact.isascii() or not compact.isalnum():
        raise RuleError(IBAN_FORMAT_MESSAGE)
    if not re.fullmatch(r"[A-Z]{2}\d{2}", compact[:4]):
        raise RuleError(IBAN_COUNTRY_MESSAGE)
    try:
        iban = IBAN(compact, validate_bban=True)
    except (InvalidChecksumDigits, InvalidBBANChecksum):
        raise RuleError(IBAN_CHECKSUM_MESSAGE) from None
    except InvalidCountryCode:
        raise RuleError(IBAN_COUNTRY_MESSAGE) from None
    except InvalidLength:
        raise RuleError(IBAN_LENGTH_MESSAGE) from None
    except SchwiftyException:
        raise RuleError(IBAN_FORMAT_MESSAGE) from None
    if not iban.in_sepa_zone:
        raise RuleError(IBAN_SEPA_MESSAGE)
    return iban.compact


def mask_iban(iban: str) -> str:
    """Every character hidden but the last four, in groups of four: `•••• … •••• 0189`."""
    hidden = len(iban) - 4
    return " ".join(["••••"] * -(-hidden // 4) + [iban[-4:]])


# --- Documents ----------------------------------------------------------------------------

MAX_DOCUMENTS = 5
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
ACCEPTED_MEDIA_TYPES = {
    "application/pdf": "PDF",
    "image/jpeg": "JPEG",
    "image/png": "PNG",
}
# What `filetype` needs to recognise any of the accepted formats.
SNIFF_BYTES = 261

DOCUMENTS_REQUIRED_MESSAGE = "Joignez au moins un justificatif (PDF, JPEG ou PNG)."
DOCUMENT_EMPTY_MESSAGE = "Le fichier « {name} » est vide."
DOCUMENT_TOO_BIG_MESSAGE = "Le fichier « {name} » dépasse la taille maximale de 10 Mo."
DOCUMENT_TYPE_MESSAGE = (
    "Le fichier « {name} » n'est pas un PDF, une image JPEG ou une image PNG : seuls ces "
    "formats sont acceptés."
)
DOCUMENTS_TOO_MANY_MESSAGE = "Vous pouvez joindre au plus 5 justificatifs par demande."
DOCUMENTS_REMAINING_MESSAGE = (
    "Cette demande compte déjà {count} justificatif(s) sur 5 : vous pouvez en ajouter "
    "{remaining} au plus."
)
DOCUMENTS_FULL_MESSAGE = "Cette demande compte déjà 5 justificatifs, le maximum."


# What one member may send: enough for any real file, not enough to fill the disk.
MAX_REQUESTS_PER_DAY = 20
MAX_STORED_BYTES = 200 * 1024 * 1024
DAILY_REQUESTS_MESSAGE = (
    "Vous avez déjà envoyé 20 demandes de remboursement aujourd'hui, le maximum par jour. "
    "Vous pourrez envoyer celle-ci demain."
)
STORAGE_LEFT_MESSAGE = (
    "Vos justificatifs dépasseraient 200 Mo au total, le maximum par compte (il vous reste "
    "{remaining}). Réduisez la taille des fichiers, par exemple avec une photo moins lourde."
)
STORAGE_FULL_MESSAGE = (
    "Vos justificatifs occupent déjà 200 Mo, le maximum par compte : vous ne pouvez plus en "
    "envoyer. Contactez l'assistance de votre mutuelle."
)


def daily_requests_problem(sent_today: int) -> str | None:
    """Why one more request today is refused (MAX_REQUESTS_PER_DAY reached), or None."""
    return DAILY_REQUESTS_MESSAGE if sent_today >= MAX_REQUESTS_PER_DAY else None


def storage_problem(stored: int, added: int) -> str | None:
    """Why `added` more bytes of documents are refused to a member storing `stored`, or None."""
    if stored + added <= MAX_STORED_BYTES:
        return None
    if stored >= MAX_STORED_BYTES:
        return STORAGE_FULL_MESSAGE
    return STORAGE_LEFT_MESSAGE.format(remaining=format_size(MAX_STORED_BYTES - stored))


def detect_media_type(head: bytes) -> str | None:
    """The accepted media type that the file's first bytes reveal, whatever its name says."""
    kind = filetype.guess(head)
    if kind is None or kind.mime not in ACCEPTED_MEDIA_TYPES:
        return None
    return kind.mime


def document_problem(name: str, size: int, media_type: str | None) -> str | None:
    """Why one uploaded file is refused (empty, too big, not PDF/JPEG/PNG), or None."""
    if size == 0:
        return DOCUMENT_EMPTY_MESSAGE.format(name=name)
    if size > MAX_DOCUMENT_BYTES:
        return DOCUMENT_TOO_BIG_MESSAGE.format(name=name)
    if media_type is None:
        return DOCUMENT_TYPE_MESSAGE.format(name=name)
    return None


def document_count_problem(existing: int, added: int) -> str | None:
    """Why adding `added` files to a request holding `existing` ones is refused, or None."""
    if existing + added <= MAX_DOCUMENTS:
        return None
    if existing == 0:
        return DOCUMENTS_TOO_MANY_MESSAGE
    if existing >= MAX_DOCUMENTS:
        return DOCUMENTS_FULL_MESSAGE
    return DOCUMENTS_REMAINING_MESSAGE.format(count=existing, remaining=MAX_DOCUMENTS - existing)


def display_name(filename: str) -> str:
    """The name the browser sent, reduced to display text: no folders, controls or excess."""
    base = PurePosixPath((filename or "").replace("\\", "/")).name
    text = "".join(
        c for c in unicodedata.normalize("NFC", base) if unicodedata.category(c)[0] != "C"
    )
    text = " ".join(text.split())
    if not text.strip("."):
        return "justificatif"
    if len(text) > 120:
        stem, dot, extension = text.rpartition(".")
        text = (
            (stem[:110] + "…" + dot + extension[:8]) if dot and len(extension) <= 8 else text[:120]
        )
    return text or "justificatif"


def format_size(size: int) -> str:
    """`2 300 000` → `2,2 Mo`; small files in ko."""
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} ko"
    return f"{size / (1024 * 1024):.1f} Mo".replace(".", ",")


# --- Request numbers and statuses ---------------------------------------------------------

_NUMBER = re.compile(r"R-(\d{4})-(\d{6,})")


def request_number(year: int, sequence: int) -> str:
    """The readable reference of a request: `R-2026-000123`."""
    return f"R-{year}-{sequence:06d}"


def normalize_request_number(text: str) -> str | None:
    """A typed request number in its stored form (`r-2026-000123 ` → `R-2026-000123`)."""
    candidate = (text or "").strip().upper()
    return candidate if _NUMBER.fullmatch(candidate) else None


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return re.sub(r"[\s_-]+", "-", plain.strip())


_STATUS_NAMES = {
    "recue": ReimbursementStatus.RECEIVED,
    "recu": ReimbursementStatus.RECEIVED,
    "en-cours": ReimbursementStatus.IN_PROGRESS,
    "acceptee": ReimbursementStatus.ACCEPTED,
    "accepte": ReimbursementStatus.ACCEPTED,
    "refusee": ReimbursementStatus.REFUSED,
    "refuse": ReimbursementStatus.REFUSED,
}


def parse_status(text: str) -> ReimbursementStatus | None:
    """A status as the desk types it: `recue`, `en-cours`, `Acceptée`, `refusée`…; else None."""
    return _STATUS_NAMES.get(_fold(text))


STATUS_CHOICES_TEXT = "recue, en-cours, acceptee ou refusee (accents acceptés)"
SAME_STATUS_MESSAGE = (
    "La demande est déjà « {label} » : choisissez un autre statut, ou écrivez un commentaire "
    "pour l'adhérent."
)


def same_status_problem(
    current: ReimbursementStatus, new: ReimbursementStatus, comment: str | None
) -> str | None:
    """The same status again e-mails the member: only to tell something (a comment)."""
    if new is current and not comment:
        return SAME_STATUS_MESSAGE.format(label=current.label)
    return None
