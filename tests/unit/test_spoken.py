"""Spoken numbers, as Twilio's speech recognition writes them, read like typed digits; ordinary
words that happen to be numbers are left alone."""

from __future__ import annotations

from datetime import date

import pytest

from hotline.accounts.identity import Identifier, parse_date_of_birth, parse_identifier, parse_pin
from hotline.accounts.money import parse_amount
from hotline.accounts.porting import parse_pac
from hotline.accounts.usage import parse_addon
from hotline.spoken import normalize


@pytest.mark.parametrize("said, typed", [
    ("my account number is a c c one zero zero zero zero zero two", "my account number is ACC1000002"),
    ("my pin is two four six eight", "my pin is 2468"),
    ("yeah it's a c c one zero zero zero zero zero two", "yeah it's ACC1000002"),
    ("um my pin is one two sorry i mean two four six eight", "um my pin is 2468"),
    ("uh seven seven uh double nine", "uh 7799"),
    ("it's oh seven nine one one triple two three four five", "it's 07911222345"),
    ("born on the third of june nineteen ninety one", "born on the 3rd of june 1991"),
    ("june the twenty first nineteen eighty", "june the 21st 1980"),
    ("two thousand and five", "2005"),
    ("twenty twenty four", "2024"),
    ("twelve pounds fifty please", "£12.50 please"),
    ("pay fifty p", "pay £0.50"),
    ("i want two gigs", "i want 2 gigs"),
    ("I've waited twenty minutes", "I've waited 20 minutes"),
    # Left as they are: not numbers, or a lone small number with nothing to count.
    ("oh no my phone", "oh no my phone"),
    ("the first time I called", "the first time I called"),
    ("one more thing", "one more thing"),
    ("I have two lines", "I have two lines"),
    ("wait a second", "wait a second"),
    ("my pin is two four six eight sorry", "my pin is 2468 sorry"),
])
def test_spoken_numbers_are_written_as_digits(said, typed):
    assert normalize(said) == typed
    assert normalize(typed) == typed  # idempotent: typed text is never changed again


def test_every_form_parser_reads_speech_as_it_reads_digits():
    assert parse_identifier("my account number is a c c one zero zero zero zero zero two") == \
        parse_identifier("ACC1000002") == Identifier("account", "ACC-1000002")
    assert parse_identifier("it's oh seven nine one one double two three four five six") == \
        Identifier("phone", "+447911223456")
    assert parse_pin("two four six eight") == "2468"
    assert parse_date_of_birth("the third of june nineteen ninety one") == date(1991, 6, 3)
    assert parse_date_of_birth("the fourth no sorry the third of june nineteen ninety one") == date(1991, 6, 3)
    assert parse_amount("twelve pounds fifty", 0) == 1250
    assert parse_pac("my pac is a b c one two three four five six") == "ABC123456"
    assert parse_addon("the five gig one").data_gb == 5
