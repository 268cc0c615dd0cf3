"""An event's identity by content, and the fields it is exported with."""

from __future__ import annotations

import json

try:
    from _sha256 import sha256  # the same digest as hashlib's, without loading OpenSSL (a `credits log` saving)
except ImportError:  # pragma: no cover - other Pythons
    from hashlib import sha256

# The export's columns, in order. `id` is local to one database; the rest is the event.
EXPORT_FIELDS = (
    "id",
    "at",
    "pool",
    "action",
    "model",
    "scope",
    "quantity",
    "seconds",
    "chars",
    "custom_domain",
    "credits",
    "app",
    "member",
    "key",
    "note",
    "corrects",
)

# The export's columns of free text: a spreadsheet must keep them text (the key 0042 is not 42).
TEXT_FIELDS = ("pool", "action", "model", "scope", "app", "member", "key", "note")

# An xlsx export's columns: beside `at` (a spreadsheet's date-time, local and rounded) the exact instant.
XLSX_FIELDS = (*EXPORT_FIELDS, "at_utc")

# What makes two events the same event (everything but the local id).
CONTENT_FIELDS = (
    "at",
    "pool",
    "action",
    "model",
    "scope",
    "quantity",
    "seconds",
    "chars",
    "custom_domain",
    "credits_milli",
    "app",
    "member",
    "key",
    "note",
)


_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode  # json.dumps's output, one encoder


def fingerprint(row: dict) -> str:
    """A short hash of an event's content (`at` in storage form, credits in milli).

    Import counts events by it: a file row is new only when the file holds more
    copies of that content than the ledger does, so re-importing adds nothing.
    """
    return digest(list(map(row.get, CONTENT_FIELDS)))


def digest(values: list, errors: str = "strict") -> str:
    """32 hex digits of the sha256 of `values` as compact JSON: fingerprints here, the store's seals."""
    return sha256(_ENCODE(values).encode("utf-8", errors)).hexdigest()[:32]


def unquote_cell(text: str) -> str:
    """A CSV cell's text as it was before the export quoted it: a cell a spreadsheet could read as a
    formula or a value got one leading single quote (render.output.quote_cell)."""
    return text[1:] if text.startswith("'") else text
