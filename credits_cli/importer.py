"""Import: a CSV or JSON lines file of events (an export) back into the ledger.

Import validates every row first (naming each bad row by line and field), then
writes all rows or none in one BEGIN IMMEDIATE transaction. A row is new only
when the file holds more copies of its content than the ledger does, so
importing the same file twice adds nothing.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from .domain.catalog import POOLS
from .domain.cycles import from_storage, iso, parse_instant, parse_zone, storage
from .domain.events import fingerprint
from .domain.money import parse_count, parse_credits, shown
from .errors import BadInput, Refused
from .render.output import unquote_cell
from .services import Plans, Session, check_name, correct, debit, read_user_file
from .store import repo
from .store.db import immediate

REQUIRED = ("at", "pool", "action", "quantity", "credits")
MAX_ERRORS_SHOWN = 50


# --- import --------------------------------------------------------------------------

class FileErrors(BadInput):
    """Bad rows in an imported file: every one is named in `details`."""


@dataclass(frozen=True)
class ImportResult:
    rows: int
    added: int
    skipped: int  # already in the ledger
    credits: dict  # pool -> milli-credits added
    dry_run: bool


def _records(path: Path, label: str):
    """Yield (line number, dict of raw values, is_csv) from a CSV or JSON lines file."""
    raw = read_user_file(path, "FILE")
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise BadInput("FILE", f"{label} line {line}: not UTF-8 text (byte {raw[e.start]:#04x})") from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise BadInput("FILE", f"{label} line {line}: contains a NUL character")
    head = text.lstrip()[:1]
    if head == "{":
        for n, line in enumerate(text.splitlines(), 1):
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
        try:
            items = json.loads(text, parse_float=Decimal)
        except ValueError as e:
            raise BadInput("FILE", f"{label} line {getattr(e, 'lineno', 1)}: not valid JSON"
                                   f" ({getattr(e, 'msg', e)})") from None
        except RecursionError:
            raise BadInput("FILE", f"{label}: not valid JSON (nested too deeply)") from None
        if not isinstance(items, list):
            raise BadInput("FILE", f"{label}: a JSON file must hold an array of events")
        for i, obj in enumerate(items, 1):
            yield i, obj, False  # the n-th event of the array
        return
    csv.field_size_limit(1_000_000)  # a longer cell is refused by the field's own check, with its line
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    twice = sorted({c for c in header if header.count(c) > 1})
    if twice:
        raise BadInput("FILE", f"{label} line 1: the header names {', '.join(twice)} twice")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise BadInput("FILE", f"{label} line 1: the header lacks the column{'s' if len(missing) > 1 else ''}"
                               f" {', '.join(missing)} (a CSV needs {', '.join(REQUIRED)})")
    try:
        for row in reader:
            if None in row:
                yield reader.line_num, ValueError("has more cells than the header"), True
                continue
            yield reader.line_num, row, True
    except csv.Error as e:
        raise BadInput("FILE", f"{label} line {reader.line_num}: {e}") from None


def _text(value, field: str, is_csv: bool, limit: int = 200) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadInput(field, f"must be text, not {shown(value)}")
    if value == "":
        return None
    return check_name(unquote_cell(value) if is_csv else value, field, limit=limit)


def _number_text(value, field: str = "") -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str, Decimal)):
        raise BadInput(field, f"{shown(value)} is not a number")
    return str(value)


def _row(session: Session, raw: dict, is_csv: bool, zone, ws, now) -> dict:
    """Validate one record into the events table's values (raises BadInput naming the field)."""
    if not isinstance(raw, dict):
        raise BadInput("", "is not an object with the export's fields")
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
    pool = raw["pool"]
    if pool not in POOLS:
        raise BadInput("pool", f"{shown(pool)} is not one of {', '.join(POOLS)}")
    action_name = raw["action"]
    if not isinstance(action_name, str):
        raise BadInput("action", f"{shown(action_name)} is not an action")
    action = session.catalog.action(action_name, "action")
    if action.pool != pool:
        raise BadInput("pool", f"{action.name} spends {action.pool} credits, not {pool}")
    model = _text(raw.get("model"), "model", is_csv)
    if model is not None:
        matches = [m for m in action.models if m.lower() == model.lower()]
        if not matches:
            raise BadInput("model", f"{shown(model)} is not a model of {action.name}")
        model = matches[0]
    elif action.models:
        model = action.default_model
    scope_name = _text(raw.get("scope"), "scope", is_csv)
    if scope_name is not None:
        matches = [s for s in action.scopes if s.lower() == scope_name.lower()]
        if not matches:
            raise BadInput("scope", f"{shown(scope_name)} is not a scope of {action.name}")
        scope_name = matches[0]
    quantity = parse_count(_number_text(raw["quantity"], "quantity"), "quantity")
    seconds = _number_text(raw.get("seconds"), "seconds")
    chars = _number_text(raw.get("chars"), "chars")
    cd = raw.get("custom_domain")
    if cd in (None, "", False, "false", "0", 0):
        custom_domain = 0
    elif cd in (True, "true", "1", 1):
        custom_domain = 1
    else:
        raise BadInput("custom_domain", f"{shown(cd)} is not true or false")
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


def _existing(conn, ws_id: int, original: dict) -> int | None:
    """The ledger's copy of an event the file holds (imported before), not yet voided."""
    row = conn.execute(
        "SELECT id FROM events WHERE workspace_id = ? AND fingerprint = ? AND corrects IS NULL"
        " AND id NOT IN (SELECT corrects FROM events WHERE corrects IS NOT NULL) ORDER BY id LIMIT 1",
        (ws_id, original["fingerprint"]),
    ).fetchone()
    return row[0] if row else None


def import_file(session: Session, file: str, dry_run: bool = False, progress=None) -> ImportResult:
    path = Path(file).expanduser()
    label = path.name
    ws = session.workspace()
    zone = parse_zone(ws.timezone, "workspace timezone")
    now = session.now_in(ws)

    errors: list[str] = []
    rows: list[tuple[int, dict]] = []
    keys: dict[str, tuple[int, str]] = {}
    for line, raw, is_csv in _records(path, label):
        try:
            if isinstance(raw, Exception):
                raise BadInput("", str(raw))
            values = _row(session, raw, is_csv, zone, ws, now)
            key = values["key"]
            if key is not None:
                if key in keys and keys[key][1] != values["fingerprint"]:
                    raise BadInput("key", f"{shown(key)} is also used by line {keys[key][0]} for another event")
                keys.setdefault(key, (line, values["fingerprint"]))
            rows.append((line, values))
        except BadInput as e:
            errors.append(f"{label} line {line}: {e.message.lstrip(': ')}")
    ids = {v["_id"]: v for _, v in rows if v["_id"] is not None}
    voided: dict[int, int] = {}
    same = ("pool", "action", "model", "scope", "quantity", "seconds", "chars", "custom_domain", "app", "member")
    for line, v in rows:
        target = v["_corrects"]
        if target is None:
            continue
        original = ids.get(target)
        if original is None:
            errors.append(f"{label} line {line}: corrects: event {target} is not in the file")
        elif original["_corrects"] is not None:
            errors.append(f"{label} line {line}: corrects: event {target} is itself a void")
        elif target in voided:
            errors.append(f"{label} line {line}: corrects: event {target} is already voided on line {voided[target]}")
        else:
            voided[target] = line
            differs = [f for f in same if original[f] != v[f]]
            if original["at"] != v["at"]:
                differs.insert(0, "at")
            if original["credits_milli"] != -v["credits_milli"]:
                differs.append("credits")
            if differs:
                errors.append(f"{label} line {line}: {differs[0]}: a void must match the event it cancels"
                              f" (event {target}), with credits negated")
    if errors:
        err = FileErrors("FILE", f"{len(errors)} bad row{'s' if len(errors) > 1 else ''} in {label};"
                                 " nothing was imported")
        err.details = errors[:MAX_ERRORS_SHOWN]
        if len(errors) > MAX_ERRORS_SHOWN:
            err.details.append(f"... and {len(errors) - MAX_ERRORS_SHOWN} more")
        raise err

    conn = session.conn
    added: dict[str, int] = {p: 0 for p in POOLS}
    n_added = 0

    class _Rollback(Exception):
        pass

    try:
        with immediate(conn):
            plans = Plans(session, conn, ws)
            have = Counter()
            for fp in {v["fingerprint"] for _, v in rows}:
                have[fp] = conn.execute(
                    "SELECT count(*) FROM events WHERE workspace_id = ? AND fingerprint = ?", (ws.id, fp)
                ).fetchone()[0]
            for key, (line, fp) in keys.items():
                other = conn.execute("SELECT fingerprint, id FROM events WHERE workspace_id = ? AND key = ?",
                                     (ws.id, key)).fetchone()
                if other is not None and other[0] != fp:
                    raise BadInput("FILE", f"{label} line {line}: key: {shown(key)} is already used by event"
                                           f" {other[1]}, another event; nothing was imported")
            seen = Counter()
            todo = []
            for line, values in rows:
                fp = values["fingerprint"]
                seen[fp] += 1
                if values["key"] is not None and seen[fp] > 1:
                    continue  # a key names one event, however often the file repeats it
                if seen[fp] > have[fp]:
                    todo.append((line, values))
            todo.sort(key=lambda lv: (lv[1]["at"], lv[1]["_corrects"] is not None))  # a void after its event
            recorded = storage(now)
            local: dict[int, int] = {}  # the file's ids -> this ledger's
            raw: set[int] = set()  # the file's ids of voided events written without drawing on grants
            for i, (line, values) in enumerate(todo):
                row = {k: v for k, v in values.items() if not k.startswith("_")}
                if values["_id"] in voided or (values["_corrects"] is not None and values["_corrects"] in raw):
                    # a voided event and its void, both new here: they net to nothing, so neither draws on a grant
                    corrects = local.get(values["_corrects"]) if values["_corrects"] is not None else None
                    eid = repo.insert_event(conn, ws.id, {**row, "recorded_at": recorded, "payload": None,
                                                          "corrects": corrects})
                    if values["_id"] in voided:
                        raw.add(values["_id"])
                elif values["_corrects"] is not None:
                    original = local.get(values["_corrects"]) or _existing(conn, ws.id, ids[values["_corrects"]])
                    if original is None:
                        raise BadInput("FILE", f"{label} line {line}: corrects: event {values['_corrects']} was"
                                               " not imported; nothing was imported")
                    eid = correct(conn, ws, original, row, now)[0]
                else:
                    try:
                        eid = debit(conn, ws, plans, zone, values["pool"], values["credits_milli"],
                                    from_storage(values["at"]), {**row, "recorded_at": recorded, "payload": None})
                    except Refused as r:
                        raise Refused(f"{label} line {line}: {r.message}; nothing was imported", pool=r.pool,
                                      short=r.short, resets_at=r.resets_at) from None
                if values["_id"] is not None:
                    local[values["_id"]] = eid
                added[values["pool"]] += values["credits_milli"]
                n_added += 1
                if progress is not None and i % 1000 == 0:
                    progress(i, len(todo))
            if dry_run:
                raise _Rollback
    except _Rollback:
        pass
    return ImportResult(rows=len(rows), added=n_added, skipped=len(rows) - n_added, credits=added, dry_run=dry_run)

