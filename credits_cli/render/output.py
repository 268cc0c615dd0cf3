"""The one output path for data: JSON, JSON lines and CSV, written as rows stream in.

CSV is for spreadsheets: a text cell that starts with = + - @, a tab or a
carriage return would run as a formula (OWASP "CSV injection"), so it is written
with a leading single quote; a text cell that already starts with a quote gets
one more, so `unquote_cell` restores every value exactly. Numbers are written
as plain numbers.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime
from decimal import Decimal
from typing import IO, Iterable

from ..domain.cycles import iso
from .jsonout import Credits, _number, dumps

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


def quote_cell(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text


def unquote_cell(text: str) -> str:
    return text[1:] if text.startswith("'") else text


def csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Credits):
        return _number(value.milli)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, datetime):
        return iso(value)
    return quote_cell(str(value))


def write_csv(rows: Iterable[dict], columns: list[str], out: IO[str]) -> int:
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(columns)
    n = 0
    for row in rows:
        w.writerow([csv_value(row.get(c)) for c in columns])
        n += 1
    return n


def write_json_array(rows: Iterable[dict], out: IO[str]) -> int:
    n = 0
    for row in rows:
        out.write(("[\n  " if n == 0 else ",\n  ") + dumps(row, indent=None))
        n += 1
    out.write("[]\n" if n == 0 else "\n]\n")
    return n


def write_jsonl(rows: Iterable[dict], out: IO[str]) -> int:
    n = 0
    for row in rows:
        out.write(dumps(row, indent=None) + "\n")
        n += 1
    return n


def write(rows: Iterable[dict], fmt: str, out: IO[str], columns: list[str]) -> int:
    if fmt == "csv":
        return write_csv(rows, columns, out)
    if fmt == "jsonl":
        return write_jsonl(rows, out)
    return write_json_array(rows, out)


def loads_exact(text: str):
    """Parse JSON keeping numbers exact (Decimal)."""
    return json.loads(text, parse_float=Decimal)
