"""Exact credit amounts as integer milli-credits.

1 credit == 1000 milli-credits. Every amount the platform publishes (0.3, 0.5,
3.5 ...) is a whole number of milli-credits, so sums are exact integers and no
float ever touches a balance. A use case's result holds its amounts as
`Credits`, an int that says it is money: the JSON and CSV writers print it as
an exact decimal (1.3), the human renderer reads it as the int it is.
"""

from __future__ import annotations

import re
from decimal import Decimal

from ..errors import BadInput

MILLI = 1000
MAX_INPUT = 1_000_000  # the largest number accepted on the command line

_DECIMAL = re.compile(r"[+]?([0-9]+)(?:\.([0-9]+))?|[+]?\.([0-9]+)")
_INTEGER = re.compile(r"[+]?[0-9]+")


class Credits(int):
    """An amount of milli-credits in a result: written as an exact decimal number (1300 -> 1.3).

    Arithmetic on it gives plain ints; str() is the human form (`fmt`)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Credits({int(self)})"

    def __str__(self) -> str:
        return fmt(self)


def credits_or_none(milli: int | None) -> Credits | None:
    """`milli` as Credits, None kept (an amount that may not apply: no cap, no budget)."""
    return None if milli is None else Credits(milli)


def shown(text, limit: int = 40) -> str:
    """An input quoted for an error line, cut short so the line stays one line."""
    r = repr(str(text))
    return r if len(r) <= limit else r[: limit - 5] + "…'" + f" ({len(str(text)):,} characters)"


def parse_credits(text: str, field: str, *, maximum: int = MAX_INPUT) -> int:
    """Parse a decimal amount of credits ("1.3") into milli-credits (1300).

    Refuses anything that is not a plain, finite, non-negative decimal with at
    most three decimals and at most `maximum`: nan, inf, 1e400, -1, "" ...
    """
    s = str(text).strip()
    m = _DECIMAL.fullmatch(s)
    if not m:
        raise BadInput(field, f"{shown(text)} is not a non-negative decimal number of credits")
    whole = m.group(1) or "0"
    frac = m.group(2) if m.group(1) is not None else m.group(3)
    frac = (frac or "").rstrip("0")
    if len(frac) > 3:
        raise BadInput(field, f"{shown(text)} has more than 3 decimals (credits are counted to 0.001)")
    if len(whole.lstrip("0")) > 7:
        raise BadInput(field, f"{shown(text)} is larger than {MAX_INPUT:,}")
    milli = int(whole) * MILLI + int((frac + "000")[:3])
    if milli > maximum * MILLI:
        raise BadInput(field, f"{shown(text)} is larger than {maximum:,}")
    return milli


def parse_count(text: str, field: str, *, minimum: int = 1, maximum: int = MAX_INPUT) -> int:
    """Parse a whole number between `minimum` and `maximum` (a count, seconds, characters)."""
    s = str(text).strip()
    if not _INTEGER.fullmatch(s):
        raise BadInput(field, f"{shown(text)} is not a whole number")
    digits = s.lstrip("+").lstrip("0") or "0"
    if len(digits) > len(str(maximum)) or int(digits) > maximum:
        raise BadInput(field, f"{shown(text)} is larger than {maximum:,}")
    n = int(digits)
    if n < minimum:
        raise BadInput(field, f"{shown(text)} is smaller than {minimum}")
    return n


def to_decimal(milli: int) -> Decimal:
    """Milli-credits as an exact Decimal with no trailing zeros: 1300 -> 1.3."""
    d = (Decimal(milli) / MILLI).normalize()
    # normalize() turns 1000 into 1E+3; quantize back to an integer exponent.
    if d == d.to_integral_value():
        d = d.quantize(Decimal(1))
    return d


def fmt(milli: int) -> str:
    """Human form of an amount: 1300 -> '1.3', 1500000 -> '1,500'."""
    d = to_decimal(milli)
    return f"{d:,f}"


def amount(milli: int, pool: str | None = None) -> str:
    """'1 message credit', '2.5 integration credits', '0 credits'."""
    noun = "credit" if milli == 1000 else "credits"
    return f"{fmt(milli)} {pool + ' ' if pool else ''}{noun}"
