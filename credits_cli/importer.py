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
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from .domain.catalog import POOLS
from .domain.cycles import from_storage, iso, local_time, parse_instant, parse_zone, storage
from .domain.events import EXPORT_FIELDS, TEXT_FIELDS, XLSX_FIELDS, fingerprint, unquote_cell
from .domain.money import Credits, parse_count, parse_credits, shown
from .domain.pricing import plan_refuses
from .errors import BadInput, Refused
from .records import record
from .services import Plans, Session, app_refused, check_name, correct, debit, user_file_errors

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
    dry_run: bool
    credits: dict[str, Credits]  # pool -> credits added


# Bytes read at a time: a 1,000,000-row file is never held whole. A block is held about seven times over
# while its lines are read (the bytes, the decoded text and a StringIO's four bytes a character): 1 MiB
# blocks raised an import's peak RSS by 9 MB, 64 KiB blocks by under 1 MB, at the same speed.
BLOCK = 1 << 16


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
                block = block[len(codecs.BOM_UTF8) :]
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
        raise BadInput(
            "file",
            f"{label} line 1: the header names {', '.join(map(shown, unknown))}, not a column"
            f" of an export (columns: {', '.join(fields)})",
        )
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise BadInput(
            "file",
            f"{label} line 1: the header lacks the column{'s' if len(missing) > 1 else ''}"
            f" {', '.join(missing)} (a file needs {', '.join(REQUIRED)})",
        )


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
            raw = dict(zip(header, cells, strict=False))  # a sheet's row may stop short of the header
            try:
                for k in (*TEXT_FIELDS, "at_utc"):  # a spreadsheet reads a typed 2024 as a number
                    if type(raw.get(k)) is int:
                        raw[k] = str(raw[k])
                exact, at = raw.pop("at_utc", None), raw.get("at")
                if exact not in (None, ""):
                    t = parse_instant(exact, "at_utc")
                    if isinstance(at, datetime) and abs(at - local_time(iso(t), zone)) >= timedelta(seconds=1):
                        raise BadInput(
                            "at",
                            f"{at:%Y-%m-%d %H:%M:%S} is not at_utc {exact} in {_zone_name(zone)};"
                            " change both, or clear at_utc",
                        )
                    raw["at"] = exact
                elif isinstance(at, datetime):
                    raw["at"] = (
                        at.isoformat()
                    )  # local: parse_instant reads it in the zone, refusing DST's gaps and repeats
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
    stdin = sys.stdin.buffer
    yield stdin if hasattr(stdin, "peek") else io.BufferedReader(stdin)


def _read(f, label: str, zone, named_xlsx: bool):
    """The records of a CSV, JSON (lines) or xlsx file, told apart by their first bytes."""
    if not f.peek(len(ZIP_MAGIC)).startswith(ZIP_MAGIC):
        if named_xlsx:
            raise BadInput("file", f"{label}: not an xlsx workbook (it is not a zip archive)")
        return _records(f, label)
    if not f.seekable():  # stdin: a zip is read from its end, so it is spooled first
        spool = tempfile.TemporaryFile()  # noqa: SIM115 (read after this function returns; closed with the file)
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
            raise BadInput(
                "file", f"{label} line {getattr(e, 'lineno', 1)}: not valid JSON ({getattr(e, 'msg', e)})"
            ) from None
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
                row += [None] * (width - len(row))  # type: ignore[list-item]  # missing cells: not given
            yield reader.line_num, dict(zip(header, row, strict=True)), True
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


def _required(text: str | None, field: str) -> str:
    """A required column's text (the header check has made sure the column is there)."""
    if text is None:
        raise BadInput(field, "is missing")
    return text


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
    quantity = parse_count(_required(_number_text(raw["quantity"], "quantity"), "quantity"), "quantity")
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
    corrects_text = _number_text(raw.get("corrects"), "corrects")
    credits_text = _required(_number_text(raw["credits"], "credits"), "credits")
    corrects = None
    if corrects_text is not None:
        corrects = parse_count(corrects_text, "corrects", maximum=2**62)
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
    values["src_id"] = parse_count(source_id, "id", maximum=2**62) if source_id is not None else None
    values["corrects"] = corrects  # the file's id of the event a void cancels
    return values


def _void_errors(store, label: str) -> list[tuple[int, str]]:
    """Each void (`corrects`) must cancel an event of the same file, once, with the same content."""
    errors = []
    voided: dict[int, int] = {}
    same = ("pool", "action", "model", "scope", "quantity", "seconds", "chars", "custom_domain", "app", "member")
    for v in store.staged_voids():
        line, target = v["line"], v["corrects"]
        original = store.staged_event(target)
        if original is None:
            errors.append((line, f"{label} line {line}: corrects: event {target} is not in the file"))
        elif original["corrects"] is not None:
            errors.append((line, f"{label} line {line}: corrects: event {target} is itself a void"))
        elif target in voided:
            errors.append(
                (line, f"{label} line {line}: corrects: event {target} is already voided on line {voided[target]}")
            )
        else:
            voided[target] = line
            differs = [f for f in same if original[f] != v[f]]
            if original["at"] != v["at"]:
                differs.insert(0, "at")
            if original["credits_milli"] != -v["credits_milli"]:
                differs.append("credits")
            if differs:
                errors.append(
                    (
                        line,
                        f"{label} line {line}: {differs[0]}: a void must match the event it cancels"
                        f" (event {target}), with credits negated",
                    )
                )
    return errors


def _key_errors(store, label: str) -> list[tuple[int, str]]:
    """A key names one event: a later row of the file with the key and other content is refused."""
    return [
        (line, f"{label} line {line}: key: {shown(key)} is also used by line {first} for another event")
        for line, key, first in store.staged_key_clashes()
    ]


def _fail(errors: list[tuple[int, str]], label: str):
    err = FileErrors("file", f"{len(errors)} bad row{'s' if len(errors) > 1 else ''} in {label}; nothing was imported")
    err.details = [m for _, m in errors[:MAX_ERRORS_SHOWN]]
    if len(errors) > MAX_ERRORS_SHOWN:
        err.details.append(f"... and {len(errors) - MAX_ERRORS_SHOWN} more")
    return err


def import_file(session: Session, file: str, dry_run: bool = False, progress=None) -> ImportResult:
    """Validate every row (streaming into a temporary table), then write all new rows or none.

    Memory stays flat in the file's size: rows wait in a temporary table, not in
    Python; the write pays rows in time order, in bulk (the store's buffered bulk write), each
    debited by the same `debit` as a single `credits log`.
    """
    session.admin_only("import events: credits import")
    stdin = file == "-"
    path = Path(file).expanduser()
    label = "stdin" if stdin else path.name
    ws = session.workspace()
    session.release()  # not held open through the checks: concurrent `credits log` calls must not wait
    zone = parse_zone(ws.timezone, "workspace timezone")
    now = session.now_in(ws)
    store = session.store
    plans = Plans(session, store, ws)  # the plan in force at each row's instant: its features

    errors: list[tuple[int, str]] = []
    n_rows = 0

    def valid_rows():
        """(line, values) of the file's rows while every row is valid; each bad row goes into `errors`."""
        nonlocal n_rows
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
                    yield line, values

    store.stage_begin()
    try:
        store.stage_rows(valid_rows())
        if errors:
            raise _fail(errors, label)
        store.stage_indexed()
        errors = sorted(_key_errors(store, label)) + _void_errors(store, label)
        if errors:
            raise _fail(errors, label)
        n_added, added = _write(session, ws, zone, now, label, dry_run, progress)
    finally:
        store.stage_end()
    return ImportResult(
        rows=n_rows,
        added=n_added,
        skipped=n_rows - n_added,
        dry_run=dry_run,
        credits={p: Credits(v) for p, v in added.items()},
    )


class _Rollback(Exception):
    """A dry run's end: what it wrote is rolled back."""


def _write(session: Session, ws, zone, now, label: str, dry_run: bool, progress) -> tuple[int, dict[str, int]]:
    """Write the staged rows the ledger lacks, all or none: (rows added, milli-credits added by pool)."""
    store = session.store
    added: dict[str, int] = {p: 0 for p in POOLS}
    n_added = 0
    try:
        with store.bulk(buffered=True):
            store.lock_workspace(ws.id)
            clash = store.staged_key_in_use(ws.id)
            if clash is not None:
                line, key, other = clash
                raise BadInput(
                    "file",
                    f"{label} line {line}: key: {shown(key)} is already used by event"
                    f" {other}, another event; nothing was imported",
                )
            voided = store.staged_void_pairs(ws.id)  # the file's ids of events that arrive with their void
            plans = Plans(session, store, ws)
            total = store.staged_count()
            recorded = storage(now)
            local: dict[int, int] = {}  # the file's ids of voided events -> this ledger's
            raw: set[int] = set()  # the file's ids of voided events written without drawing on grants
            unpaid: set[int] = set()  # the ledger's ids of those whose void is not written yet
            # the app limit is asked only of a workspace that has been on a plan with max_apps
            app_rule = any(
                getattr(session.catalog.plans.get(name), "max_apps", None) is not None
                for name in {ws.plan, *(c.plan for c in plans.changes)}
            )
            for i, (line, src, target, row) in enumerate(store.staged_new_rows(ws.id)):
                at, app = row["at"], row["app"]
                if app_rule and target is None and app is not None:  # as `log` refuses it, at the row's instant
                    why = app_refused(store, ws, plans.at(from_storage(at)), app)
                    if why is not None:
                        raise Refused(
                            f"{label} line {line}: app: {why}; nothing was imported",
                            pool=row["pool"],
                            short=None,
                            limit="apps",
                        )
                if src in voided or (target is not None and target in raw):
                    # a voided event and its void, both new here: they net to nothing, so neither draws on a grant
                    eid = store.insert_event(
                        ws.id,
                        {
                            **row,
                            "recorded_at": recorded,
                            "payload": None,
                            "corrects": local.get(target) if target is not None else None,
                        },
                    )
                    if src in voided:
                        raw.add(src)
                        unpaid.add(eid)
                    else:  # the void of a pair this file wrote: its event is paid for (by nothing) now
                        assert target is not None
                        unpaid.discard(local[target])
                elif target is not None:
                    original = local.get(target) or store.staged_in_ledger(ws.id, target)
                    if original is None:
                        raise BadInput(
                            "file",
                            f"{label} line {line}: corrects: event {target} is already voided"
                            " in the ledger; nothing was imported",
                        )
                    eid = correct(store, ws, original, row, now, unpaid)[0]
                else:
                    try:
                        eid = debit(
                            store,
                            ws,
                            plans,
                            zone,
                            row["pool"],
                            row["credits_milli"],
                            from_storage(at),
                            {**row, "recorded_at": recorded, "payload": None},
                        )
                    except Refused as r:
                        raise Refused(
                            f"{label} line {line}: {r.message}; nothing was imported",
                            pool=r.pool,
                            short=r.short,
                            resets_at=r.resets_at,
                            limit=r.limit,
                        ) from None
                store.app_seen(ws.id, app, at, eid)
                if src is not None and src in voided:
                    local[src] = eid
                added[row["pool"]] += row["credits_milli"]
                n_added += 1
                if progress is not None and i % 1000 == 0:
                    progress(i, total)
            if dry_run:
                raise _Rollback
    except _Rollback:
        pass
    return n_added, added
