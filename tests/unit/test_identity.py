"""Reading identifiers, PINs and birth dates the way customers type them."""

from datetime import date

import pytest

from hotline.accounts.identity import InvalidDate, parse_date_of_birth, parse_identifier, parse_pin


@pytest.mark.parametrize("text, expected", [
    ("ACC-1000001", ("account", "ACC-1000001")),
    ("my account is acc 1000002", ("account", "ACC-1000002")),
    ("acc1000003", ("account", "ACC-1000003")),
    ("1000004", ("account", "ACC-1000004")),
    ("07911 123456", ("phone", "+447911123456")),
    ("+44 7911 123456", ("phone", "+447911123456")),
    ("it's 0044 (7911) 123-456", ("phone", "+447911123456")),
])
def test_identifiers_in_many_spellings(text, expected):
    identifier = parse_identifier(text)
    assert (identifier.kind, identifier.value) == expected


@pytest.mark.parametrize("text", ["", "hello", "ACC-12345", "12345", "0791112", "+1 415 555 0100", "x" * 5000])
def test_malformed_identifiers_are_rejected(text):
    assert parse_identifier(text) is None


@pytest.mark.parametrize("text, expected", [
    ("12/03/1985", date(1985, 3, 12)),
    ("12-3-85", date(1985, 3, 12)),
    ("1985-03-12", date(1985, 3, 12)),
    ("12 March 1985", date(1985, 3, 12)),
    ("I was born on the 12th of march 1985", date(1985, 3, 12)),
    ("March 12, 1985", date(1985, 3, 12)),
])
def test_birth_dates(text, expected):
    assert parse_date_of_birth(text) == expected


@pytest.mark.parametrize("text", ["31/02/1990", "30 February 1990", "1990-13-01"])
def test_impossible_dates_raise(text):
    with pytest.raises(InvalidDate):
        parse_date_of_birth(text)


def test_pins_are_exactly_four_digits():
    assert parse_pin("my pin is 4821") == "4821"
    assert parse_pin("48211") is None
    assert parse_pin("no digits") is None
