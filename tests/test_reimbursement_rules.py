"""Reimbursement rules, called directly: amounts, expense dates, IBAN, documents, statuses."""

from datetime import date

import pytest

from app.models import ReimbursementStatus
from app.reimbursements import rules
from tests.reimbursement_samples import HTML_BYTES, exe_bytes, jpeg_bytes, pdf_bytes, png_bytes


@pytest.mark.parametrize(
    ("typed", "cents"),
    [
        ("35,50", 3550),
        ("35.50", 3550),
        ("35,5", 3550),
        ("35", 3500),
        ("0,01", 1),
        ("1 234,56", 123456),
        ("1\u00a0234,56", 123456),
        ("1\u202f234,56 €", 123456),
        ("  12,30 € ", 1230),
        ("10 000", 1_000_000),
        ("10000,00", 1_000_000),
    ],
)
def test_amount_typed_the_french_way_is_read_in_cents(typed, cents):
    assert rules.parse_amount(typed) == cents


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("0", rules.AMOUNT_POSITIVE_MESSAGE),
        ("0,00", rules.AMOUNT_POSITIVE_MESSAGE),
        ("-12,50", rules.AMOUNT_POSITIVE_MESSAGE),
        ("10 000,01", rules.AMOUNT_MAX_MESSAGE),
        ("25000", rules.AMOUNT_MAX_MESSAGE),
        ("35,505", rules.AMOUNT_FORMAT_MESSAGE),
        ("35,", rules.AMOUNT_FORMAT_MESSAGE),
        ("trente-cinq", rules.AMOUNT_FORMAT_MESSAGE),
        ("1.234,56", rules.AMOUNT_FORMAT_MESSAGE),
        ("12 34", rules.AMOUNT_FORMAT_MESSAGE),
        ("1e3", rules.AMOUNT_FORMAT_MESSAGE),
        ("", rules.AMOUNT_FORMAT_MESSAGE),
    ],
)
def test_amount_refused_with_its_reason(typed, message):
    with pytest.raises(rules.RuleError) as refused:
        rules.parse_amount(typed)
    assert refused.value.message == message


def test_amount_is_shown_with_french_separators():
    assert rules.format_amount(3550) == "35,50\u00a0€"
    assert rules.format_amount(123456) == "1\u00a0234,56\u00a0€"


TODAY = date(2026, 3, 20)
FILE_START = date(2026, 3, 1)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (TODAY, None),
        (FILE_START, None),
        (date(2026, 3, 10), None),
        (date(2026, 3, 21), rules.DATE_FUTURE_MESSAGE),
        (date(2027, 1, 1), rules.DATE_FUTURE_MESSAGE),
        (
            date(2026, 2, 28),
            "La date de la dépense ne peut pas être antérieure au début de la garantie de "
            "votre dossier d'assistance, le 01/03/2026.",
        ),
    ],
)
def test_expense_date_between_file_start_and_today(day, expected):
    assert rules.expense_date_problem(day, TODAY, FILE_START) == expected


def test_expense_date_of_a_file_without_guarantee_only_refuses_the_future():
    assert rules.expense_date_problem(date(2020, 1, 1), TODAY, None) is None
    assert rules.expense_date_problem(date(2026, 3, 21), TODAY, None) == rules.DATE_FUTURE_MESSAGE


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("FR76 3000 6000 0112 3456 7890 189", "FR7630006000011234567890189"),
        ("fr76 3000 6000 0112 3456 7890 189", "FR7630006000011234567890189"),
        ("  fr7630006000011234567890189 ", "FR7630006000011234567890189"),
        ("FR14 2004 1010 0505 0001 3M02 606", "FR1420041010050500013M02606"),
        ("DE89 3704 0044 0532 0130 00", "DE89370400440532013000"),
        ("de89370400440532013000", "DE89370400440532013000"),
        ("DE89\u00a03704\u00a00044\u00a00532\u00a00130\u00a000", "DE89370400440532013000"),
    ],
)
def test_valid_iban_is_stored_compact_in_capitals(typed, stored):
    assert rules.normalize_iban(typed) == stored


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("FR76 3000 6000 0112 3456 7890 188", rules.IBAN_CHECKSUM_MESSAGE),  # wrong key
        ("FR77 3000 6000 0112 3456 7890 189", rules.IBAN_CHECKSUM_MESSAGE),
        ("DE88 3704 0044 0532 0130 00", rules.IBAN_CHECKSUM_MESSAGE),
        ("FR76300060", rules.IBAN_LENGTH_MESSAGE),  # 10 characters
        ("ABCDEFGHIJ", rules.IBAN_COUNTRY_MESSAGE),  # 10 characters, no country
        ("1234567890", rules.IBAN_COUNTRY_MESSAGE),
        ("FR76 3000 6000 0112 3456 7890 18A", rules.IBAN_FORMAT_MESSAGE),
        ("FR76/3000/6000", rules.IBAN_FORMAT_MESSAGE),
        ("BR18 0036 0305 0000 1000 9795 493C 1", rules.IBAN_SEPA_MESSAGE),
    ],
)
def test_invalid_iban_refused_with_its_reason(typed, message):
    with pytest.raises(rules.RuleError) as refused:
        rules.normalize_iban(typed)
    assert refused.value.message == message


def test_iban_masked_but_its_last_four_characters():
    masked = rules.mask_iban("FR7630006000011234567890189")
    assert masked.endswith(" 0189")
    assert "FR76" not in masked and "3000" not in masked
    assert masked.count("•") == 24


@pytest.mark.parametrize(
    ("content", "media_type"),
    [
        (pdf_bytes(), "application/pdf"),
        (jpeg_bytes(), "image/jpeg"),
        (png_bytes(), "image/png"),
        (exe_bytes(), None),
        (HTML_BYTES, None),
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", None),
        (b"", None),
    ],
)
def test_document_type_comes_from_its_content(content, media_type):
    assert rules.detect_media_type(content[: rules.SNIFF_BYTES]) == media_type


def test_document_problems():
    assert rules.document_problem("a.pdf", 100, "application/pdf") is None
    assert rules.document_problem("a.pdf", 0, None) == "Le fichier « a.pdf » est vide."
    assert rules.document_problem("a.pdf", 10 * 1024 * 1024 + 1, "application/pdf") == (
        "Le fichier « a.pdf » dépasse la taille maximale de 10 Mo."
    )
    assert "n'est pas un PDF" in rules.document_problem("a.pdf", 10, None)


@pytest.mark.parametrize(
    ("existing", "added", "expected"),
    [
        (0, 5, None),
        (3, 2, None),
        (0, 6, rules.DOCUMENTS_TOO_MANY_MESSAGE),
        (
            3,
            3,
            "Cette demande compte déjà 3 justificatif(s) sur 5 : vous pouvez en ajouter 2 au plus.",
        ),
        (5, 1, rules.DOCUMENTS_FULL_MESSAGE),
    ],
)
def test_at_most_five_documents_per_request(existing, added, expected):
    assert rules.document_count_problem(existing, added) == expected


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("reçu taxi.pdf", "reçu taxi.pdf"),
        ("C:\\Users\\sophie\\Documents\\facture.pdf", "facture.pdf"),
        ("../../etc/passwd", "passwd"),
        ("bad\x00name\n.png", "badname.png"),
        ("", "justificatif"),
        ("..", "justificatif"),
    ],
)
def test_original_name_is_display_text_only(sent, shown):
    assert rules.display_name(sent) == shown


@pytest.mark.parametrize(
    ("typed", "status"),
    [
        ("recue", ReimbursementStatus.RECEIVED),
        ("Reçue", ReimbursementStatus.RECEIVED),
        ("en-cours", ReimbursementStatus.IN_PROGRESS),
        ("En cours", ReimbursementStatus.IN_PROGRESS),
        ("en_cours", ReimbursementStatus.IN_PROGRESS),
        ("acceptee", ReimbursementStatus.ACCEPTED),
        ("ACCEPTÉE", ReimbursementStatus.ACCEPTED),
        ("refusee", ReimbursementStatus.REFUSED),
        ("refusée", ReimbursementStatus.REFUSED),
        ("validée", None),
        ("", None),
    ],
)
def test_status_typed_by_the_desk(typed, status):
    assert rules.parse_status(typed) is status


def test_request_number_is_readable():
    assert rules.request_number(2026, 123) == "R-2026-000123"
    assert rules.normalize_request_number(" r-2026-000123 ") == "R-2026-000123"
    assert rules.normalize_request_number("2026-000123") is None
