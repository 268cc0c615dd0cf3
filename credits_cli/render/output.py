"""The one output path for data: JSON, JSON lines and CSV, written as rows stream in.

CSV is for spreadsheets: a text cell that starts with = + - @, a tab or a
carriage return would run as a formula (OWASP "CSV injection"), so it is written
with a leading single quote; so is a cell of the export's free text (TEXT_COLUMNS)
that a spreadsheet would read as something else (a number, date, time, amount,
percentage or boolean: the key `0042` would come back as 42, the note `1/2` as a
date; a report's `date` column stays a date); a text cell that already
starts with a quote gets one more, so `domain.events.unquote_cell` restores every value
exactly. Numbers are written as plain numbers.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from json.encoder import encode_basestring
from typing import IO, Any

from ..domain.cycles import iso
from ..domain.events import EXPORT_FIELDS, TEXT_FIELDS
from ..domain.money import Credits
from ..records import record
from .jsonout import _number, dumps

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")
# Text a spreadsheet's CSV import turns into a value: it starts (after spaces, a bracket or a
# currency sign) with a digit or a decimal point, ends with %, or is true or false.
NOT_TEXT = re.compile(r"\s*[(\[]?\s*[$€£¥]?\s*[.,]?[0-9]|.*%\s*$|\s*(?:true|false)\s*$", re.IGNORECASE | re.DOTALL)


TEXT_COLUMNS = frozenset(TEXT_FIELDS)


def quote_cell(text: str, as_text: bool = False) -> str:
    """`text` as a CSV cell a spreadsheet never runs; `as_text`: nor reads as a number, date or boolean."""
    return "'" + text if text.startswith(FORMULA_START) or (as_text and NOT_TEXT.match(text)) else text


def csv_value(value, as_text: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, Credits):
        return _number(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, datetime):
        return iso(value)
    return quote_cell(str(value), as_text)


def write_csv(rows: Iterable[dict], columns: list[str], out: IO[str]) -> int:
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(columns)
    text = [c in TEXT_COLUMNS for c in columns]
    n = 0
    for row in rows:
        w.writerow([csv_value(row.get(c), t) for c, t in zip(columns, text, strict=True)])
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


@record
class Rows:
    """A result seen as a table of data: its columns, and its rows (dicts by column; a generator streams)."""

    columns: list[str]
    rows: Iterable[dict]


def write(rows: Iterable[dict], fmt: str, out: IO[str], columns: list[str]) -> int:
    if fmt == "csv":
        return write_csv(rows, columns, out)
    if fmt == "jsonl":
        return write_jsonl(rows, out)
    return write_json_array(rows, out)


# --- the export: every event, as fast as the rows come -------------------------------------------
#
# `credits export` writes a whole ledger (a million events and more). The generic writers above
# build a dict and walk a small encoder per row; `write_events` takes the rows as the store reads
# them for the export (store.queries.export_batches: id, at in ISO form, the event's *shape*
# standing for its fields from pool to member, key, note, corrects) and formats a batch a column at
# a time: each column goes through one function (`map`, a loop in C) that mostly finds the cell
# already written (`_Memo`), the cells of a row are joined by str.join, a batch is written as one
# string. No Python bytecode runs per row. The output is byte for byte what `write` gives for the
# same events (tests pin it, and a property test checks the cell rules against csv and json).


class _Memo(dict):
    """value -> its text, computed once: shapes, keys and notes repeat, so most cells cost one
    dict lookup. Cleared past `limit` entries (keys are mostly unique), so memory stays bounded."""

    __slots__ = ("fn", "limit")

    def __init__(self, fn, limit: int = 4096):
        super().__init__()
        self.fn = fn
        self.limit = limit

    def __missing__(self, value):
        if len(self) >= self.limit:
            self.clear()
        text = self[value] = self.fn(value)
        return text


def csv_cell(value) -> str:
    """A text cell of TEXT_COLUMNS exactly as csv.writer (QUOTE_MINIMAL, lines ending "\r\n") writes `csv_value`."""
    if value is None:
        return ""
    text = quote_cell(str(value), True)
    if '"' in text:
        return '"' + text.replace('"', '""') + '"'
    if "," in text or "\n" in text or "\r" in text:
        return '"' + text + '"'
    return text


def json_text(value) -> str:
    """A text value exactly as `dumps` writes it: null, or a JSON string with non-ASCII kept."""
    return "null" if value is None else encode_basestring(value)


_NUMBERS = ("quantity", "seconds", "chars", "corrects")
# write_events relies on this order: id and at, the fields of a shape, then key, note and corrects.
assert EXPORT_FIELDS[:2] == ("id", "at") and EXPORT_FIELDS[13:] == ("key", "note", "corrects")


def _cell(fmt: str, field: str):
    """The function writing a value of `field` as its cell in a row of `fmt` (JSON: after its key)."""
    fn: Callable[[Any], str]
    if field == "credits":
        fn = _number  # milli-credits as the exact decimal
    elif field == "custom_domain":

        def fn(v):
            return "true" if v else "false"
    elif field in _NUMBERS:

        def fn(v, null="" if fmt == "csv" else "null"):
            return null if v is None else str(v)
    else:
        fn = csv_cell if fmt == "csv" else json_text
    if fmt == "csv":
        return fn
    prefix, suffix = f", {json_text(field)}: ", "}" if field == EXPORT_FIELDS[-1] else ""
    return lambda v: prefix + fn(v) + suffix


def write_events(batches: Iterable[list[tuple]], fmt: str, out: IO[str], shape_fields) -> int:
    """Write the export's rows as CSV, JSON lines or a JSON array; returns the number of rows.

    A row is (id, at, shape, key, note, corrects), `at` in ISO form; `shape_fields(shape)` gives the
    values of the fields from pool to member (EXPORT_FIELDS[2:13], credits in milli-credits).
    """
    cells = {f: _cell(fmt, f) for f in EXPORT_FIELDS[2:]}
    inner = [cells[f] for f in EXPORT_FIELDS[2:13]]
    sep = "," if fmt == "csv" else ""

    def shape_cell(shape) -> str:
        return sep.join([cell(v) for cell, v in zip(inner, shape_fields(shape), strict=True)])

    first: Callable[[Any], str]
    second: Callable[[Any], str] | None
    if fmt == "csv":
        first, second = str, None  # `at` in ISO form is its own cell
    else:
        first, second = '{"id": %d, "at": '.__mod__, encode_basestring  # both loops in C
    # A year of a busy team's ledger holds some 26,000 shapes, most of them rare. 16,384 held at most miss
    # 38,000 times in its million events instead of 26,000 (about 0.05 s more); holding all of them made
    # the peak memory of its export grow with the ledger (5 MB more for JSON lines on PostgreSQL).
    columns = [
        first,
        second,
        _Memo(shape_cell, 1 << 14).__getitem__,
        _Memo(cells["key"]).__getitem__,
        _Memo(cells["note"]).__getitem__,
        _Memo(cells["corrects"]).__getitem__,
    ]
    end = {"csv": "\r\n", "jsonl": "\n", "json": ",\n  "}[fmt]
    if fmt == "csv":
        out.write(",".join(EXPORT_FIELDS) + end)
    n = 0
    with _no_gc():
        for batch in batches:
            if not batch:
                continue
            text = end.join(
                map(
                    sep.join,
                    zip(
                        *[
                            col if fn is None else map(fn, col)
                            for fn, col in zip(columns, zip(*batch, strict=True), strict=True)
                        ],
                        strict=True,
                    ),
                )
            )
            if fmt == "json":
                out.write(("[\n  " if n == 0 else end) + text)
            else:
                out.write(text + end)
            n += len(batch)
    if fmt == "json":
        out.write("[]\n" if n == 0 else "\n]\n")
    return n


class _no_gc:
    """The cyclic garbage collector paused: formatting a batch makes thousands of short-lived
    tuples that hold no cycle, and each 700 of them would start a collection (a tenth of the time)."""

    def __enter__(self):
        import gc

        self.was = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc):
        import gc

        if self.was:
            gc.enable()
