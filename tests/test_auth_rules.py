"""Account rules, tested as plain functions."""

from datetime import date

import pytest

from app.auth import rules
from app.text import fold_name


@pytest.mark.parametrize(
    "password",
    [
        "Abcdef1",  # 7 characters
        "Abcdefgh",  # no digit
        "abcdefg1",  # no upper-case letter
        "ABCDEFG1",  # no lower-case letter
        "12345678",
        "",
    ],
)
def test_password_policy_refuses(password):
    assert not rules.password_meets_policy(password)
    assert rules.password_problem(password) == rules.PASSWORD_POLICY_MESSAGE


@pytest.mark.parametrize(
    "password",
    [
        "Zèbre7rouge",
        "éÉtoile9x",  # accented letters count as lower and upper case
        "ÉCOLE9lune",
        "Kt8vqzpw",  # exactly 8 characters
    ],
)
def test_password_policy_accepts(password):
    assert rules.password_meets_policy(password)
    assert rules.password_problem(password) is None


def test_accented_letters_count_as_letters():
    assert rules.password_meets_policy("ÉÉÉÉéééé1")
    assert not rules.password_meets_policy("éééééééé1")


def test_password_of_128_characters_is_accepted_and_129_refused():
    assert rules.password_problem("Aa1" + "x" * 125) is None
    assert rules.password_problem("Aa1" + "x" * 126) == rules.PASSWORD_TOO_LONG_MESSAGE


@pytest.mark.parametrize("password", ["Password1", "Azerty123", "Qwerty123", "Iloveyou1"])
def test_common_passwords_are_refused(password):
    assert rules.password_problem(password) == rules.PASSWORD_COMMON_MESSAGE


def test_common_password_list_is_large_enough():
    assert len(rules.common_passwords()) >= 3000


@pytest.mark.parametrize(
    "password", ["Sophie2026x", "xxMartin99X", "AB123456xyZ", "sOPHIEe1Xyz", "Hélène123Q"]
)
def test_password_containing_personal_data_is_refused(password):
    personal = ["Sophie", "MARTIN", "AB123456", "Hélène"]
    assert rules.password_problem(password, personal) == rules.PASSWORD_PERSONAL_MESSAGE


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0612345678", "06 12 34 56 78"),
        ("06 12 34 56 78", "06 12 34 56 78"),
        ("06.12.34.56.78", "06 12 34 56 78"),
        ("06-12-34-56-78", "06 12 34 56 78"),
        ("07 98 76 54 32", "07 98 76 54 32"),
        ("+33 6 12 34 56 78", "06 12 34 56 78"),
        ("+33612345678", "06 12 34 56 78"),
        ("+33 7 12 34 56 78", "07 12 34 56 78"),
        ("0033 6 12 34 56 78", "06 12 34 56 78"),
        (" 06 12 34 56 78 ", "06 12 34 56 78"),
    ],
)
def test_mobile_phone_formats_accepted(raw, expected):
    assert rules.normalize_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "0112345678",  # landline
        "0812345678",
        "0512345678",
        "061234567",  # 9 digits
        "06123456789",  # 11 digits
        "06ab345678",
        "+33 1 12 34 56 78",
        "+44 6 12 34 56 78",
        "",
        "06 12 34 56 7 8 9",
    ],
)
def test_mobile_phone_formats_refused(raw):
    assert rules.normalize_phone(raw) is None


@pytest.mark.parametrize(
    ("typed", "on_card"),
    [
        ("martin", "MARTIN"),
        ("  Martin  ", "MARTIN"),
        ("Hélène", "HELENE"),
        ("helene", "Hélène"),
        ("Jean-Pierre", "JEAN PIERRE"),
        ("jean  pierre", "Jean-Pierre"),
        ("Le  Gall", "LE GALL"),
        ("D’Artagnan", "D'ARTAGNAN"),
        ("ÇA", "ca"),
    ],
)
def test_name_matching_ignores_case_accents_spaces_and_hyphens(typed, on_card):
    assert fold_name(typed) == fold_name(on_card)


@pytest.mark.parametrize(("typed", "on_card"), [("Martine", "MARTIN"), ("Sophie", "Sofie")])
def test_different_names_do_not_match(typed, on_card):
    assert fold_name(typed) != fold_name(on_card)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("ab123456", "AB123456"), (" AB 123 456 ", "AB123456"), ("123456", "123456")],
)
def test_member_number_normalised(typed, expected):
    assert rules.normalize_member_number(typed) == expected


@pytest.mark.parametrize("typed", ["", "   ", "AB-123", "<script>", "AB123'--", "ÀB123"])
def test_member_number_refused(typed):
    assert rules.normalize_member_number(typed) is None


@pytest.mark.parametrize(
    ("day", "valid"),
    [
        (date(2026, 8, 31), False),
        (date(2026, 9, 1), True),  # first day
        (date(2027, 3, 1), True),
        (date(2027, 8, 31), True),  # last day
        (date(2027, 9, 1), False),
    ],
)
def test_offer_valid_from_first_to_last_day_included(day, valid):
    assert rules.offer_is_valid(date(2026, 9, 1), date(2027, 8, 31), day) is valid


def test_any_valid_offer_gives_access():
    periods = [(date(2025, 1, 1), date(2025, 12, 31)), (date(2026, 1, 1), date(2026, 12, 31))]
    assert rules.has_valid_offer(periods, date(2026, 6, 1))
    assert not rules.has_valid_offer(periods, date(2027, 1, 1))
    assert not rules.has_valid_offer([], date(2026, 6, 1))
