"""Import: a CSV or JSON lines file of events (an export) back into the ledger.

Import validates every row first (naming each bad row by line and field), then
writes all rows or none in one BEGIN IMMEDIATE transaction. A row is new only
when the file holds more copies of its content than the ledger does, so
importing the same file twice adds nothing.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
import json
import math
import re
import shutil
import sys
import tempfile
from .records import record
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from .domain.catalog import POOLS
from .domain.cycles import from_storage, iso, parse_instant, parse_zone, storage
from .domain.events import EXPORT_FIELDS, fingerprint
from .domain.money import parse_count, parse_credits, shown
from .domain.pricing import plan_refuses
from .errors import BadInput, Refused
from .render.output import unquote_cell
from .services import Plans, Session, app_refused, check_name, correct, debit, user_file_errors
from .store import repo
from .store.db import deferred_summary, immediate

REQUIRED = ("at", "pool", "action", "quantity", "credits")
MAX_ERRORS_SHOWN = 50


# --- import --------------------------------------------------------------------------

class FileErrors(BadInput):
    """Bad rows in an imported file: every one is named in `details`."""


@record
class ImportResult:
    rows: int
    added: int
    skipped: int  # already in the ledger
    credits: dict  # pool -> milli-credits added
    dry_run: bool


BLOCK = 1 << 20  # bytes read at a time: a 1,000,000-row file is never held whole


def _lines(f, label: str):
    """The file's text lines (ends kept), decoded block by block.

    A block ends at a newline, so a line is never split; a byte that is not
    UTF-8, or a NUL, is refused naming its line.
    """
    line, pending, first = 1, b"", True
    while True:
        block = f.read(BLOCK)
        if first:
            first = False
            if block.startswith(codecs.BOM_UTF8):
                block = block[len(codecs.BOM_UTF8):]
        if block:
            data = pending + block
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                pending = data
                continue
            data, pending = data[:cut], data[cut:]
        else:
            data, pending = pending, b""
            if not data:
                return
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            n = line + data[: e.start].count(b"\n")
            raise BadInput("file", f"{label} line {n}: not UTF-8 text (byte {data[e.start]:#04x})") from None
        if "\x00" in text:
            n = line + text[: text.index("\x00")].count("\n")
            raise BadInput("file", f"{label} line {n}: contains a NUL character")
        line += text.count("\n")
        yield from io.StringIO(text, newline="")


def _check_header(header: list, label: str, fields: tuple) -> None:
    twice = sorted({str(c) for c in header if header.count(c) > 1})
    if twice:
        raise BadInput("file", f"{label} line 1: the header names {', '.join(twice)} twice")
    unknown = [c for c in header if c not in fields]
    if unknown:  # a misspelled column (membr) would be dropped from every row without a word
        raise BadInput("file", f"{label} line 1: the header names {', '.join(map(shown, unknown))}, not a column"
                               f" of an export (columns: {', '.join(fields)})")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise BadInput("file", f"{label} line 1: the header lacks the column{'s' if len(missing) > 1 else ''}"
                               f" {', '.join(missing)} (a file needs {', '.join(REQUIRED)})")


ZIP_MAGIC = b"PK\x03\x04"  # an xlsx workbook is a zip archive


def _xlsx_records(f, label: str, zone):
    """Yield (row number, dict of values or an error, False) from the first sheet of an xlsx workbook.

    `at` comes back as the ISO text of the instant: `at_utc` when given (and `at` must still
    agree with it to the second), else the cell's local date-time read in the workspace's zone,
    refused when that time is skipped or repeated by a daylight-saving change.
    """
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    from .render.xlsx import TEXT_FIELDS, XLSX_FIELDS, local_time

    try:
        wb = load_workbook(f, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as e:
        raise BadInput("file", f"{label}: not a readable xlsx workbook ({e})") from None
    try:
        if not wb.worksheets:
            raise BadInput("file", f"{label}: the workbook has no sheet")
        rows = wb.worksheets[0].iter_rows(values_only=True)
        header = list(next(rows, ()))
        while header and header[-1] is None:  # empty cells right of the header
            header.pop()
        _check_header(header, label, XLSX_FIELDS)
        width = len(header)
        for n, cells in enumerate(rows, 2):
            cells = list(cells[:width]) + [None] * (width - len(cells))
            if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                continue  # an empty row
            raw = dict(zip(header, cells))
            try:
                for k in TEXT_FIELDS:  # a spreadsheet reads a typed 2024 as a number
                    if type(raw.get(k)) is int:
                        raw[k] = str(raw[k])
                exact, at = raw.pop("at_utc", None), raw.get("at")
                if exact not in (None, ""):
                    t = parse_instant(exact, "at_utc")
                    if isinstance(at, datetime) and abs(at - local_time(iso(t), zone)) >= timedelta(seconds=1):
                        raise BadInput("at", f"{at:%Y-%m-%d %H:%M:%S} is not at_utc {exact} in {_zone_name(zone)};"
                                             " change both, or clear at_utc")
                    raw["at"] = exact
                elif isinstance(at, datetime):
                    raw["at"] = at.isoformat()  # local: parse_instant reads it in the zone, refusing DST's gaps and repeats
            except BadInput as e:
                yield n, ValueError(e.message), False
                continue
            yield n, raw, False
    finally:
        wb.close()


@contextlib.contextmanager
def _source(file: str):
    """The bytes to import, as a buffered binary file: FILE, or stdin for "-"."""
    if file != "-":
        with open(Path(file).expanduser(), "rb") as f:
            yield f
        return
    f = sys.stdin.buffer
    yield f if hasattr(f, "peek") else io.BufferedReader(f)


def _read(f, label: str, zone, named_xlsx: bool):
    """The records of a CSV, JSON (lines) or xlsx file, told apart by their first bytes."""
    if not f.peek(len(ZIP_MAGIC)).startswith(ZIP_MAGIC):
        if named_xlsx:
            raise BadInput("file", f"{label}: not an xlsx workbook (it is not a zip archive)")
        return _records(f, label)
    if not f.seekable():  # stdin: a zip is read from its end, so it is spooled first
        spool = tempfile.TemporaryFile()
        shutil.copyfileobj(f, spool)
        spool.seek(0)
        f = spool
    return _xlsx_records(f, label, zone)


def _zone_name(zone) -> str:
    return getattr(zone, "key", None) or str(zone)


def _records(f, label: str):
    """Yield (line number, dict of raw values or an error, is_csv) from a CSV or JSON (lines) file."""
    lines = _lines(f, label)
    head = ""
    ahead = []
    for text in lines:
        ahead.append(text)
        head = text.lstrip()[:1]
        if head:
            break
    stream = itertools.chain(ahead, lines)
    if head == "{":
        for n, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line, parse_float=Decimal)
            except ValueError as e:
                yield n, ValueError(f"not valid JSON ({getattr(e, 'msg', e)})"), False
                continue
            except RecursionError:
                yield n, ValueError("not valid JSON (nested too deeply)"), False
                continue
            yield n, obj, False
        return
    if head == "[":
        text = "".join(stream)  # a JSON array is read whole (export's JSON lines stream; prefer them for big files)
        try:
            items = json.loads(text, parse_float=Decimal)
        except ValueError as e:
            raise BadInput("file", f"{label} line {getattr(e, 'lineno', 1)}: not valid JSON"
                                   f" ({getattr(e, 'msg', e)})") from None
        except RecursionError:
            raise BadInput("file", f"{label}: not valid JSON (nested too deeply)") from None
        if not isinstance(items, list):
            raise BadInput("file", f"{label}: a JSON file must hold an array of events")
        for i, obj in enumerate(items, 1):
            yield i, obj, False  # the n-th event of the array
        return
    csv.field_size_limit(1_000_000)  # a longer cell is refused by the field's own check, with its line
    reader = csv.reader(stream)
    try:
        header = next(reader, [])
        _check_header(header, label, EXPORT_FIELDS)
        width = len(header)
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue  # a blank line, or one of empty cells (a spreadsheet writes ",,,")
            if len(row) > width:
                yield reader.line_num, ValueError("has more cells than the header"), True
                continue
            if len(row) < width:
                row += [None] * (width - len(row))
            yield reader.line_num, dict(zip(header, row)), True
    except csv.Error as e:
        raise BadInput("file", f"{label} line {reader.line_num}: {e}") from None


def _text(value, field: str, is_csv: bool, limit: int = 200) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadInput(field, f"must be text, not {shown(value)}")
    if value == "":
        return None
    return check_name(unquote_cell(value) if is_csv else value, field, limit=limit)


# A number as a spreadsheet may write it back: spaces around it, trailing zeros (1.300, 2.0),
# scientific notation (1.00E+03). Thousands separators, decimal commas, percentages and
# currencies are refused: "1,300" is 1300 in one locale and 1.3 in another.
_SHEET_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")


def _number_text(value, field: str = "") -> str | None:
    """A number's exact plain decimal text ("1000", "1.3", "-0.5"), never through float arithmetic.

    A float comes only from an xlsx cell: its shortest repr is the decimal the cell was written as.
    """
    if value is None or value == "":
        return None
    if isinstance(value, float) and math.isfinite(value):
        value = repr(value)
    if isinstance(value, bool) or not isinstance(value, (int, str, Decimal)):
        raise BadInput(field, f"{shown(value)} is not a number")
    text = str(value).strip()
    if not text:
        return None
    if not _SHEET_NUMBER.fullmatch(text):
        return text  # the field's own parser names what is wrong with it
    if "e" in text or "E" in text:
        d = Decimal(text)
        if not -12 <= d.adjusted() <= 20:
            raise BadInput(field, f"{shown(value)} is out of range")
        text = format(d, "f")
    if "." in text:  # the same number without its trailing zeros: 1.300 -> 1.3, 2.0 -> 2
        text = text.rstrip("0").rstrip(".")
        if text in ("", "+", "-"):
            text += "0"
    return text


def _one_of(value: str | None, names, field: str, action: str) -> str | None:
    """The catalog's spelling of a model or scope named in any case (None stays None)."""
    if value is None or value in names:
        return value
    matches = [n for n in names if n.lower() == value.lower()]
    if not matches:
        raise BadInput(field, f"{shown(value)} is not a {field} of {action}")
    return matches[0]


def _row(session: Session, raw: dict, is_csv: bool, zone, ws, now, plans: Plans) -> dict:
    """Validate one record into the events table's values (raises BadInput naming the field)."""
    if not isinstance(raw, dict):
        raise BadInput("", "is not an object with the export's fields")
    for k in raw:
        if k not in EXPORT_FIELDS:  # as a CSV header's unknown column: a misspelled key loses its value
            raise BadInput(shown(k), f"is not a field of an export ({', '.join(EXPORT_FIELDS)})")
    for f in REQUIRED:
        if raw.get(f) in (None, ""):
            raise BadInput(f, "is missing")
    at_text = raw["at"]
    if not isinstance(at_text, str):
        raise BadInput("at", f"{shown(at_text)} is not an ISO 8601 instant")
    at = parse_instant(at_text, "at", zone)
    if at > now:
        raise BadInput("at", f"{iso(at)} is after now ({iso(now)})")
    if at < ws.anchor:
        raise BadInput("at", f"{iso(at)} is before the workspace began ({iso(ws.anchor)})")
    pool = raw["pool"].strip() if isinstance(raw["pool"], str) else raw["pool"]
    if pool not in POOLS:
        raise BadInput("pool", f"{shown(pool)} is not one of {', '.join(POOLS)}")
    action_name = raw["action"]
    if not isinstance(action_name, str):
        raise BadInput("action", f"{shown(action_name)} is not an action")
    action = session.catalog.action(action_name.strip(), "action")
    if action.pool != pool:
        raise BadInput("pool", f"{action.name} spends {action.pool} credits, not {pool}")
    model = _one_of(_text(raw.get("model"), "model", is_csv), action.models, "model", action.name)
    if model is None and action.models:
        model = action.default_model
    scope_name = _one_of(_text(raw.get("scope"), "scope", is_csv), action.scopes, "scope", action.name)
    quantity = parse_count(_number_text(raw["quantity"], "quantity"), "quantity")
    seconds = _number_text(raw.get("seconds"), "seconds")
    chars = _number_text(raw.get("chars"), "chars")
    cd = raw.get("custom_domain")
    flag = cd.strip().lower() if isinstance(cd, str) else cd  # a spreadsheet writes TRUE and FALSE
    if flag in (None, "", False, "false", "0", 0):
        custom_domain = 0
    elif flag in (True, "true", "1", 1):
        custom_domain = 1
    else:
        raise BadInput("custom_domain", f"{shown(cd)} is not true or false")
    refused = plan_refuses(action, plans.at(at), bool(custom_domain))  # as `log` refuses it, at the row's instant
    if refused is not None:
        raise BadInput(*refused)
    corrects = _number_text(raw.get("corrects"), "corrects")
    credits_text = _number_text(raw["credits"], "credits")
    if corrects is not None:
        corrects = parse_count(corrects, "corrects", maximum=2**62)
        if not credits_text.startswith("-"):
            raise BadInput("credits", "a correcting entry (corrects) has negative credits")
        credits_text = credits_text[1:]
    values = {
        "at": storage(at),
        "pool": pool,
        "action": action.name,
        "model": model,
        "scope": scope_name,
        "quantity": quantity,
        "seconds": parse_count(seconds, "seconds") if seconds is not None else None,
        "chars": parse_count(chars, "chars") if chars is not None else None,
        "custom_domain": custom_domain,
        "credits_milli": parse_credits(credits_text, "credits", maximum=10**9) * (-1 if corrects else 1),
        "app": _text(raw.get("app"), "app", is_csv),
        "member": _text(raw.get("member"), "member", is_csv),
        "key": _text(raw.get("key"), "key", is_csv),
        "note": _text(raw.get("note"), "note", is_csv, limit=2000),
    }
    values["fingerprint"] = fingerprint(values)
    source_id = _number_text(raw.get("id"), "id")
    values["_id"] = parse_count(source_id, "id", maximum=2**62) if source_id is not None else None
    values["_corrects"] = corrects
    return values


STAGED = ("line", "at", "pool", "action", "model", "scope", "quantity", "seconds", "chars", "custom_domain",
          "credits_milli", "app", "member", "key", "note", "fingerprint", "src_id", "corrects")
_ROW = STAGED[1:16]  # the events table's values of a staged row
_STAGE_EVERY = 10_000


def _stage(conn) -> None:
    conn.execute("DROP TABLE IF EXISTS temp.staged")
    conn.execute(f"CREATE TEMP TABLE staged (line INTEGER PRIMARY KEY, {', '.join(STAGED[1:])})")


def _staged_row(line: int, v: dict) -> tuple:
    return (line, *(v[c] for c in _ROW), v["_id"], v["_corrects"])


def _void_errors(conn, label: str) -> list[tuple[int, str]]:
    """Each void (`corrects`) must cancel an event of the same file, once, with the same content."""
    errors = []
    voided: dict[int, int] = {}
    same = ("pool", "action", "model", "scope", "quantity", "seconds", "chars", "custom_domain", "app", "member")
    cols = ", ".join(STAGED)
    for row in conn.execute(f"SELECT {cols} FROM temp.staged WHERE corrects IS NOT NULL ORDER BY line").fetchall():
        v = dict(zip(STAGED, row))
        line, target = v["line"], v["corrects"]
        found = conn.execute(f"SELECT {cols} FROM temp.staged WHERE src_id = ? ORDER BY line DESC LIMIT 1",
                             (target,)).fetchone()
        original = dict(zip(STAGED, found)) if found else None
        if original is None:
            errors.append((line, f"{label} line {line}: corrects: event {target} is not in the file"))
        elif original["corrects"] is not None:
            errors.append((line, f"{label} line {line}: corrects: event {target} is itself a void"))
        elif target in voided:
            errors.append((line, f"{label} line {line}: corrects: event {target} is already voided on line"
                                 f" {voided[target]}"))
        else:
            voided[target] = line
            differs = [f for f in same if original[f] != v[f]]
            if original["at"] != v["at"]:
                differs.insert(0, "at")
            if original["credits_milli"] != -v["credits_milli"]:
                differs.append("credits")
            if differs:
                errors.append((line, f"{label} line {line}: {differs[0]}: a void must match the event it cancels"
                                     f" (event {target}), with credits negated"))
    return errors


def _key_errors(conn, label: str) -> list[tuple[int, str]]:
    """A key names one event: a later row of the file with the key and other content is refused."""
    rows = conn.execute(
        "SELECT s.line, s.key, f.line FROM temp.staged s"
        " JOIN (SELECT key, min(line) AS line FROM temp.staged WHERE key IS NOT NULL GROUP BY key) k ON k.key = s.key"
        " JOIN temp.staged f ON f.line = k.line WHERE s.fingerprint != f.fingerprint ORDER BY s.line"
    ).fetchall()
    return [(line, f"{label} line {line}: key: {shown(key)} is also used by line {first} for another event")
            for line, key, first in rows]


def _void_pairs(conn, ws_id: int) -> set[int]:
    """The file's ids of events written with their void, neither drawing on a grant; forces those voids new.

    A void's content is not its target's: when the file holds one more copy of
    an event than the ledger, and that copy's void has the content of a void the
    ledger already holds (of its other copy), the void is new all the same: it
    belongs to the new event. Such voids go into temp.forced.
    """
    conn.execute("DROP TABLE IF EXISTS temp.forced")
    conn.execute("CREATE TEMP TABLE forced (line INTEGER PRIMARY KEY)")
    voids = conn.execute("SELECT line, corrects, fingerprint, key, at FROM temp.staged WHERE corrects IS NOT NULL"
                         " ORDER BY line").fetchall()
    if not voids:
        return set()
    conn.execute("CREATE INDEX temp.staged_fp ON staged(fingerprint, line)")

    def is_new(line, fp, key, at) -> bool:
        k = conn.execute("SELECT count(*) FROM temp.staged WHERE fingerprint = ? AND line <= ?", (fp, line)
                         ).fetchone()[0]
        have = conn.execute("SELECT count(*) FROM main.events WHERE workspace_id = ? AND at = ? AND fingerprint = ?",
                            (ws_id, at, fp)).fetchone()[0]
        return (key is None or k == 1) and k > have

    pairs = set()
    for line, target, fp, key, at in voids:
        event = conn.execute("SELECT line, fingerprint, key, at FROM temp.staged WHERE src_id = ? ORDER BY line DESC"
                             " LIMIT 1", (target,)).fetchone()
        if not is_new(*event):
            continue  # a void of an event the ledger has: written as a correction of it
        pairs.add(target)
        if not is_new(line, fp, key, at):
            conn.execute("INSERT INTO temp.forced VALUES (?)", (line,))
    return pairs


def _new_rows(conn, ws_id: int):
    """The staged rows the ledger lacks, in the order they are written: time, then a void after its event.

    A row is new when the file holds more copies of its content than the
    ledger does (so a file imported twice adds nothing); a key names one event
    however often the file repeats it.
    """
    cols = ", ".join(f"n.{c}" for c in STAGED)
    empty = conn.execute("SELECT NOT EXISTS (SELECT 1 FROM events WHERE workspace_id = ?)", (ws_id,)).fetchone()[0]
    if empty:  # nothing to compare with: only a repeated key is not new
        return conn.execute(
            f"SELECT {cols} FROM temp.staged n WHERE n.key IS NULL OR n.line IN"
            " (SELECT min(line) FROM temp.staged WHERE key IS NOT NULL GROUP BY key)"
            " OR n.line IN (SELECT line FROM temp.forced)"
            " ORDER BY n.at, n.corrects IS NOT NULL, n.line")
    return conn.execute(
        f"WITH n AS (SELECT *, row_number() OVER (PARTITION BY fingerprint ORDER BY line) AS k FROM temp.staged)"
        f" SELECT {cols} FROM n WHERE (n.key IS NULL OR n.k = 1) AND n.k > (SELECT count(*) FROM main.events e"
        " WHERE e.workspace_id = ? AND e.at = n.at AND e.fingerprint = n.fingerprint)"
        " OR n.line IN (SELECT line FROM temp.forced)"
        " ORDER BY n.at, n.corrects IS NOT NULL, n.line", (ws_id,))


def _existing(conn, ws_id: int, original: tuple[str, str]) -> int | None:
    """The ledger's copy of an event the file holds (imported before), not yet voided: by (at, fingerprint)."""
    row = conn.execute(
        "SELECT id FROM events e WHERE workspace_id = ? AND at = ? AND fingerprint = ? AND corrects IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM events v WHERE v.corrects = e.id) ORDER BY id LIMIT 1",
        (ws_id, *original),
    ).fetchone()
    return row[0] if row else None


def _fail(errors: list[tuple[int, str]], label: str):
    err = FileErrors("file", f"{len(errors)} bad row{'s' if len(errors) > 1 else ''} in {label};"
                             " nothing was imported")
    err.details = [m for _, m in errors[:MAX_ERRORS_SHOWN]]
    if len(errors) > MAX_ERRORS_SHOWN:
        err.details.append(f"... and {len(errors) - MAX_ERRORS_SHOWN} more")
    return err


def import_file(session: Session, file: str, dry_run: bool = False, progress=None) -> ImportResult:
    """Validate every row (streaming into a temporary table), then write all new rows or none.

    Memory stays flat in the file's size: rows wait in a temporary table, not in
    Python; the write pays rows in time order, in bulk (repo.WriteBuffer), each
    debited by the same `debit` as a single `credits log`.
    """
    stdin = file == "-"
    path = Path(file).expanduser()
    label = "stdin" if stdin else path.name
    ws = session.workspace()
    session.keep_created()  # not held open through the checks: concurrent `credits log` calls must not wait
    zone = parse_zone(ws.timezone, "workspace timezone")
    now = session.now_in(ws)
    conn = session.conn
    plans = Plans(session, conn, ws)  # the plan in force at each row's instant: its features

    _stage(conn)
    errors: list[tuple[int, str]] = []
    batch: list[tuple] = []
    n_rows = 0
    insert = f"INSERT INTO temp.staged VALUES ({', '.join('?' * len(STAGED))})"
    with user_file_errors(path, "file"), _source(file) as f:
        for line, raw, is_csv in _read(f, label, zone, path.suffix.lower() == ".xlsx"):
            try:
                if isinstance(raw, Exception):
                    raise BadInput("", str(raw))
                values = _row(session, raw, is_csv, zone, ws, now, plans)
            except BadInput as e:
                errors.append((line, f"{label} line {line}: {e.message.lstrip(': ')}"))
                continue
            n_rows += 1
            if not errors:  # once a row is bad nothing will be written: only the errors are still counted
                batch.append(_staged_row(line, values))
                if len(batch) >= _STAGE_EVERY:
                    conn.executemany(insert, batch)
                    batch.clear()
    if errors:
        raise _fail(errors, label)
    conn.executemany(insert, batch)
    batch.clear()
    conn.execute("CREATE INDEX temp.staged_src ON staged(src_id) WHERE src_id IS NOT NULL")
    errors = sorted(_key_errors(conn, label)) + _void_errors(conn, label)
    if errors:
        raise _fail(errors, label)

    added: dict[str, int] = {p: 0 for p in POOLS}
    n_added = 0

    class _Rollback(Exception):
        pass

    try:
        with immediate(conn), deferred_summary(conn):
            clash = conn.execute(
                "SELECT s.line, s.key, e.id FROM (SELECT key, min(line) AS line, fingerprint FROM temp.staged"
                " WHERE key IS NOT NULL GROUP BY key) s JOIN main.events e ON e.workspace_id = ? AND e.key = s.key"
                " WHERE e.fingerprint != s.fingerprint ORDER BY s.line LIMIT 1", (ws.id,)).fetchone()
            if clash is not None:
                line, key, other = clash
                raise BadInput("file", f"{label} line {line}: key: {shown(key)} is already used by event"
                                       f" {other}, another event; nothing was imported")
            voided = _void_pairs(conn, ws.id)  # the file's ids of events that arrive with their void
            plans = Plans(session, conn, ws)
            total = conn.execute("SELECT count(*) FROM temp.staged").fetchone()[0]
            recorded = storage(now)
            local: dict[int, int] = {}  # the file's ids of voided events -> this ledger's
            raw: set[int] = set()  # the file's ids of voided events written without drawing on grants
            conn.memo, conn.pending = {}, repo.WriteBuffer(conn)
            # the app limit is asked only of a workspace that has been on a plan with max_apps
            app_rule = any(getattr(session.catalog.plans.get(name), "max_apps", None) is not None
                           for name in {ws.plan, *(c.plan for c in plans.changes)})
            for i, staged in enumerate(_new_rows(conn, ws.id)):
                v = dict(zip(STAGED, staged))
                line, src, target = v["line"], v["src_id"], v["corrects"]
                row = {c: v[c] for c in _ROW}
                if app_rule and target is None and v["app"] is not None:  # as `log` refuses it, at the row's instant
                    why = app_refused(conn, ws, plans.at(from_storage(v["at"])), v["app"])
                    if why is not None:
                        raise Refused(f"{label} line {line}: app: {why}; nothing was imported", pool=v["pool"],
                                      short=None, limit="apps")
                if src in voided or (target is not None and target in raw):
                    # a voided event and its void, both new here: they net to nothing, so neither draws on a grant
                    eid = repo.insert_event(conn, ws.id, {**row, "recorded_at": recorded, "payload": None,
                                                          "corrects": local.get(target) if target is not None
                                                          else None})
                    if src in voided:
                        raw.add(src)
                elif target is not None:
                    original = local.get(target) or _existing(conn, ws.id, _original(conn, target))
                    if original is None:
                        raise BadInput("file", f"{label} line {line}: corrects: event {target} is already voided"
                                               " in the ledger; nothing was imported")
                    conn.settle()
                    eid = correct(conn, ws, original, row, now)[0]
                else:
                    try:
                        eid = debit(conn, ws, plans, zone, v["pool"], v["credits_milli"], from_storage(v["at"]),
                                    {**row, "recorded_at": recorded, "payload": None})
                    except Refused as r:
                        raise Refused(f"{label} line {line}: {r.message}; nothing was imported", pool=r.pool,
                                      short=r.short, resets_at=r.resets_at, limit=r.limit) from None
                repo.app_seen(conn, ws.id, v["app"], v["at"], eid)
                if src is not None and src in voided:
                    local[src] = eid
                added[v["pool"]] += v["credits_milli"]
                n_added += 1
                if progress is not None and i % 1000 == 0:
                    progress(i, total)
            if dry_run:
                raise _Rollback
    except _Rollback:
        pass
    finally:
        conn.memo = conn.pending = None
        conn.execute("DROP TABLE IF EXISTS temp.staged")
        conn.execute("DROP TABLE IF EXISTS temp.forced")
    return ImportResult(rows=n_rows, added=n_added, skipped=n_rows - n_added, credits=added, dry_run=dry_run)


def _original(conn, target: int) -> tuple[str, str]:
    """(at, fingerprint) of the file's event that a void of the file cancels."""
    return conn.execute("SELECT at, fingerprint FROM temp.staged WHERE src_id = ? ORDER BY line DESC LIMIT 1",
                        (target,)).fetchone()
