"""credits_cli.domain.money (integer milli-credits) and the exact JSON numbers
written by credits_cli.render.jsonout."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credits_cli.domain.money import MILLI, Credits, amount, fmt, parse_count, parse_credits, to_decimal
from credits_cli.errors import BadInput
from credits_cli.render.jsonout import dumps
from credits_cli.render.output import csv_value


def exact(text: str):
    return json.loads(text, parse_float=Decimal)


# --- parse_credits ------------------------------------------------------------


@pytest.mark.parametrize(
    "text, milli",
    [
        ("1.3", 1300),
        ("0.001", 1),
        ("0.3", 300),
        ("0.5", 500),
        ("3.5", 3500),
        ("1", 1000),
        ("0", 0),
        ("15", 15000),
        ("1.000", 1000),
        ("1.3000", 1300),  # trailing zeros are not extra precision
        (".5", 500),
        ("+2", 2000),
        ("007", 7000),
        (" 1.3 ", 1300),
        ("999999.999", 999_999_999),
        ("1000000", 1_000_000_000),
        ("1000000.000", 1_000_000_000),
    ],
)
def test_parse_credits_accepts_plain_decimals(text, milli):
    assert parse_credits(text, "--credits") == milli


@pytest.mark.parametrize(
    "text",
    [
        "1,000",
        "nan",
        "NaN",
        "inf",
        "-inf",
        "Infinity",
        "-1",
        "-0.5",
        "1e400",
        "1e3",
        "1.0001",
        "0.0005",
        "",
        " ",
        "2^63",
        str(2**63),
        str(2**63 - 1),
        "1000001",
        "1000000.001",
        "1_000",
        "0x10",
        "1.3.1",
        "1.3abc",
        "5.",
        ".",
        "1 000",
        "1.3\x00",
        "\x00",
        "9" * 10_000,
    ],
)
def test_parse_credits_refuses(text):
    with pytest.raises(BadInput) as e:
        parse_credits(text, "--credits")
    assert e.value.field == "--credits"
    assert e.value.message.startswith("--credits: ")


def test_parse_credits_names_the_problem():
    with pytest.raises(BadInput, match="more than 3 decimals"):
        parse_credits("1.0001", "--credits")
    with pytest.raises(BadInput, match="larger than 1,000,000"):
        parse_credits("1000001", "--credits")
    with pytest.raises(BadInput, match="larger than 1,000,000"):
        parse_credits(str(2**63), "--credits")


def test_errors_for_huge_inputs_are_short():
    for parse in (parse_credits, parse_count):
        with pytest.raises(BadInput) as e:
            parse("9" * 10_000, "--n")
        assert len(e.value.message) < 500


def test_parse_credits_maximum_is_configurable():
    assert parse_credits("50", "--value", maximum=50) == 50_000
    with pytest.raises(BadInput):
        parse_credits("50.001", "--value", maximum=50)


# Regression: re's Unicode \d once let parse_credits('\u0661') == 1000
# (Arabic-Indic one), parse_credits('\uff11') == 1000 and parse_count('\u0663') == 3.
@pytest.mark.parametrize("text", ["\u0661", "\uff11", "\u0663.5"])
def test_non_ascii_digits_are_refused(text):
    with pytest.raises(BadInput):
        parse_credits(text, "--credits")
    with pytest.raises(BadInput):
        parse_count(text.split(".")[0], "--count")


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 1_000_000_000))
def test_property_parse_credits_reads_back_the_decimal_form(milli):
    assert parse_credits(str(to_decimal(milli)), "--credits") == milli
    assert parse_credits(f"{milli // 1000}.{milli % 1000:03d}", "--credits") == milli


# --- parse_count --------------------------------------------------------------


@pytest.mark.parametrize("text, n", [("1", 1), ("7", 7), ("1000000", 1_000_000), (" 42 ", 42), ("+3", 3), ("0005", 5)])
def test_parse_count_accepts(text, n):
    assert parse_count(text, "--count") == n


@pytest.mark.parametrize(
    "text",
    [
        "0",
        "000",
        "-1",
        "1000001",
        "1.5",
        "1.0",
        "9223372036854775808",
        str(2**64),
        "1e3",
        "",
        " ",
        "one",
        "1,000",
        "nan",
        "1\x00",
        "9" * 10_000,
    ],
)
def test_parse_count_refuses(text):
    with pytest.raises(BadInput) as e:
        parse_count(text, "--count")
    assert e.value.field == "--count"


def test_parse_count_bounds_are_configurable():
    assert parse_count("0", "--n", minimum=0) == 0
    assert parse_count("10", "--n", maximum=10) == 10
    with pytest.raises(BadInput, match="larger than 10"):
        parse_count("11", "--n", maximum=10)
    with pytest.raises(BadInput, match="smaller than 1"):
        parse_count("0", "--n")


# --- to_decimal / fmt ---------------------------------------------------------


@pytest.mark.parametrize(
    "milli, dec, text",
    [
        (1300, "1.3", "1.3"),
        (1500000, "1500", "1,500"),
        (0, "0", "0"),
        (1, "0.001", "0.001"),
        (10, "0.01", "0.01"),
        (1000, "1", "1"),
        (10000, "10", "10"),
        (300, "0.3", "0.3"),
        (3500, "3.5", "3.5"),
        (1234567, "1234.567", "1,234.567"),
        (1_000_000_000, "1000000", "1,000,000"),
        (50_000_000, "50000", "50,000"),
    ],
)
def test_to_decimal_and_fmt(milli, dec, text):
    d = to_decimal(milli)
    assert d == Decimal(dec)
    assert str(d) == dec  # no exponent, no trailing zeros
    assert fmt(milli) == text


def test_milli_is_a_thousandth():
    assert MILLI == 1000


# --- JSON numbers ---------------------------------------------------------------


def test_json_credits_is_the_exact_number_1_3():
    out = dumps(Credits(1300))
    assert out == "1.3"
    assert exact(out) == Decimal("1.3")
    doc = exact(dumps({"used": Credits(1300), "left": Credits(98700), "zero": Credits(0)}))
    assert doc == {"used": Decimal("1.3"), "left": Decimal("98.7"), "zero": 0}


def test_credits_is_an_amount_both_writers_know():
    """A result's amount is an int to the domain and the human renderer, an exact number to JSON and CSV."""
    c = Credits(98700)
    assert c == 98700 and isinstance(c, int)
    assert str(c) == fmt(98700) == "98.7" and amount(c) == "98.7 credits"
    assert repr(c) == "Credits(98700)"
    total = c + Credits(1300)
    assert total == 100000 and type(total) is int  # arithmetic is the domain's: plain milli-credits
    assert dumps({"left": c, "milli": 98700}, indent=None) == '{"left": 98.7, "milli": 98700}'
    assert csv_value(c) == "98.7" and csv_value(Credits(-1500)) == "-1.5"


@pytest.mark.parametrize(
    "milli, text",
    [
        (0, "0"),
        (1, "0.001"),
        (300, "0.3"),
        (1000, "1"),
        (1500000, "1500"),
        (10010, "10.01"),
        (2**53 + 1, "9007199254740.993"),
    ],
)
def test_json_credits_text(milli, text):
    assert dumps(Credits(milli)) == text
    assert exact(dumps([Credits(milli)], indent=None)) == [Decimal(text)]


@settings(max_examples=500, deadline=None)
@given(st.integers(0, 10**12))
def test_property_json_number_is_exactly_milli_over_1000(milli):
    value = exact(dumps({"credits": Credits(milli)}))["credits"]
    assert Decimal(value) == Decimal(milli).scaleb(-3)
    assert to_decimal(milli) == Decimal(milli).scaleb(-3)
