"""JSON with exact decimal numbers.

The stdlib encoder knows no Decimal and a float would print 1.2999999 one day;
this small encoder writes amounts as exact JSON numbers (1.3) and instants as
ISO 8601 UTC strings.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

from ..domain.cycles import iso


class Credits:
    """Marks an integer of milli-credits to be written as an exact decimal number."""

    __slots__ = ("milli",)

    def __init__(self, milli: int):
        self.milli = milli


_TEXT = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps(x, ensure_ascii=False), one encoder for all


def _number(milli: int) -> str:
    sign = "-" if milli < 0 else ""
    whole, frac = divmod(abs(milli), 1000)
    return f"{sign}{whole}.{frac:03d}".rstrip("0").rstrip(".") if frac else f"{sign}{whole}"


def dumps(obj, indent: int | None = 2) -> str:
    return "".join(_encode(obj, indent, 0))


def _encode(obj, indent, level):
    if isinstance(obj, Credits):
        yield _number(obj.milli)
    elif obj is None or isinstance(obj, (bool, str)):
        yield _TEXT(obj)
    elif isinstance(obj, int):
        yield str(obj)
    elif isinstance(obj, Decimal):
        if not obj.is_finite():
            raise ValueError(f"cannot write {obj} as JSON")
        yield format(obj, "f")
    elif isinstance(obj, datetime):
        yield _TEXT(iso(obj))
    elif isinstance(obj, dict):
        if not obj:
            yield "{}"
            return
        pad, inner = _pads(indent, level)
        yield "{" + inner
        for i, (k, v) in enumerate(obj.items()):
            if i:
                yield "," + (inner or " ")
            yield _TEXT(str(k)) + ": "
            yield from _encode(v, indent, level + 1)
        yield pad + "}"
    elif isinstance(obj, (list, tuple)):
        if not obj:
            yield "[]"
            return
        pad, inner = _pads(indent, level)
        yield "[" + inner
        for i, v in enumerate(obj):
            if i:
                yield "," + (inner or " ")
            yield from _encode(v, indent, level + 1)
        yield pad + "]"
    else:
        raise TypeError(f"cannot write {type(obj).__name__} as JSON")


def _pads(indent, level):
    if indent is None:
        return "", ""
    return "\n" + " " * (indent * level), "\n" + " " * (indent * (level + 1))
