"""`credits check` and `credits doctor`: recompute the ledger from its entries; inspect the file.

A check returns its problems as data (a list), the way a ledger's balance
check should; the CLI decides what to print and the exit code.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from urllib.parse import quote

from .domain.events import CONTENT_FIELDS, fingerprint
from .errors import BadInput
from .services import Session
from .domain.cycles import from_storage
from .domain.ledger import Grant, repay_in_order
from .store import schema, seals


def _check_guards(store, problem) -> None:
    """Triggers and indexes against those a new ledger of this schema has: missing, or changed."""
    have = schema.guards(store)
    for (kind, name), sql in sorted(schema.expected_guards().items()):
        if name.startswith("idx__sqlite_migrations"):
            continue
        if (kind, name) not in have:
            if name == schema.USAGE_DAYS_TRIGGER_NAME:
                problem("usage_summary_trigger", f"the trigger that keeps the usage summary ({name}) is missing:"
                        " events written from now on would be left out of the reports")
            elif kind == "trigger":
                problem("missing_guard", f"the trigger {name} is missing: the table it guards can be changed"
                        " without credits (the ledger is append-only)", guard=name)
            else:
                problem("missing_guard", f"the index {name} is missing: it keeps a key unique or a report fast",
                        guard=name)
        elif " ".join(have[(kind, name)].split()) != " ".join(sql.split()):
            problem("changed_guard", f"the {kind} {name} is not the one credits made (it was replaced)", guard=name)


def _check_allocations(store, problem, limit: int = 20) -> None:
    """Each event's allocations against a repayment of the pool in time order from the entries: the grants,
    less what voided events still hold of them (those keep what they drew, and their voids give back
    what was live at the void), then every other event, soonest-expiring grant first."""
    shown = 0
    for ws_id, pool in store.execute("SELECT DISTINCT workspace_id, pool FROM events").fetchall():
        frozen = dict(store.execute(
            "SELECT a.grant_id, sum(a.credits_milli) FROM allocations a JOIN events e ON e.id = a.event_id"
            " WHERE e.workspace_id = ? AND e.pool = ? AND (e.corrects IS NOT NULL"
            " OR EXISTS (SELECT 1 FROM events v WHERE v.corrects = e.id)) GROUP BY a.grant_id", (ws_id, pool)))
        grants = [Grant(r[0], pool, r[1], r[2], from_storage(r[3]), from_storage(r[4]) if r[4] else None,
                        from_storage(r[5]), frozen.get(r[0], 0))
                  for r in store.execute("SELECT id, source, amount_milli, starts_at, expires_at, granted_at FROM grants"
                                        " WHERE workspace_id = ? AND pool = ?", (ws_id, pool))]
        rows = store.execute(
            "SELECT e.id, e.at, e.credits_milli, (SELECT group_concat(a.grant_id || ':' || a.credits_milli)"
            " FROM allocations a WHERE a.event_id = e.id) FROM events e WHERE e.workspace_id = ? AND e.pool = ?"
            " AND e.corrects IS NULL AND NOT EXISTS (SELECT 1 FROM events v WHERE v.corrects = e.id)"
            " ORDER BY e.at, e.id", (ws_id, pool))
        written: dict[int, dict] = {}

        def events():
            for eid, at, cost, parts in rows:
                written[eid] = {int(g): int(m) for g, m in (p.split(":") for p in parts.split(","))} if parts else {}
                yield eid, from_storage(at), cost

        for eid, parts in repay_in_order(grants, pool, events()):
            kept = written.pop(eid)
            if parts is None or {g: m for g, m in parts.items() if m} == kept:
                continue  # an event the grants cannot pay is reported as unpaid above
            shown += 1
            if shown <= limit:
                problem("allocation", f"event {eid} is recorded as paid by {_parts(kept)}; repaid from the entries"
                        f" it is {_parts(parts)}", event=eid)
    # a void gives back, grant by grant, what its event drew from the grants still live when it was written
    drew: dict[int, dict] = {}
    for eid, gid, milli in store.execute(
            "SELECT a.event_id, a.grant_id, a.credits_milli FROM allocations a WHERE a.event_id IN"
            " (SELECT corrects FROM events WHERE corrects IS NOT NULL UNION SELECT id FROM events"
            " WHERE corrects IS NOT NULL)"):
        drew.setdefault(eid, {})[gid] = milli
    expiry = {gid: exp for gid, exp in store.execute(
        "SELECT id, expires_at FROM grants WHERE id IN (SELECT grant_id FROM allocations WHERE event_id IN"
        " (SELECT corrects FROM events WHERE corrects IS NOT NULL))")}
    for void_id, original, recorded in store.execute(
            "SELECT id, corrects, recorded_at FROM events WHERE corrects IS NOT NULL ORDER BY id"):
        owed = {g: -m for g, m in drew.get(original, {}).items()
                if m and (expiry.get(g) is None or expiry[g] > recorded)}
        given = {g: m for g, m in drew.get(void_id, {}).items() if m}
        if given != owed:
            shown += 1
            if shown <= limit:
                problem("void_allocation", f"event {void_id} (the void of event {original}) gives back"
                        f" {_parts(given)}; its event drew {_parts(drew.get(original, {}))}, so it gives back"
                        f" {_parts(owed)}", event=void_id)
    if shown > limit:
        problem("allocation", f"{shown - limit} more events are paid otherwise than the entries say")


def _parts(parts: dict) -> str:
    return ", ".join(f"grant {g} {m}" for g, m in sorted(parts.items())) or "no grant"


def check_ledger(session: Session) -> dict:
    """Every derived figure recomputed from the entries, every entry against its seal, every guard in place;
    each difference is a problem."""
    store = session.store
    problems: list[dict] = []

    def problem(kind: str, message: str, **data):
        problems.append({"kind": kind, "message": message, **data})

    store.execute("BEGIN")  # one snapshot
    try:
        # 1. each event is what was written: its content still hashes to its fingerprint
        cols = ", ".join(CONTENT_FIELDS)
        n_events = 0
        changed_events: set[int] = set()
        for row in store.execute(f"SELECT id, fingerprint, {cols} FROM events"):
            n_events += 1
            if row[1] is not None and fingerprint(dict(zip(CONTENT_FIELDS, row[2:]))) != row[1]:
                changed_events.add(row[0])
                problem("tampered_event", f"event {row[0]} was changed after it was written (its content no"
                        " longer matches its fingerprint)", event=row[0], table="events", id=row[0])
        # 2. what each grant has given equals the sum of its allocations, within 0..amount
        n_grants = 0
        for gid, amount, used, alloc in store.execute(
                "SELECT g.id, g.amount_milli, coalesce(u.used_milli, 0),"
                " (SELECT coalesce(sum(a.credits_milli), 0) FROM allocations a WHERE a.grant_id = g.id)"
                " FROM grants g LEFT JOIN grant_usage u ON u.grant_id = g.id"):
            n_grants += 1
            if used != alloc:
                problem("grant_usage", f"grant {gid}: {used} milli-credits recorded as used, its allocations sum"
                        f" to {alloc}", grant=gid)
            if not 0 <= alloc <= amount:
                problem("grant_overdrawn", f"grant {gid}: {alloc} milli-credits drawn of {amount}", grant=gid)
        # 3. each event is paid exactly (a void gives back at most what its event took)
        voided = {r[0]: r[1] for r in store.execute(
            "SELECT corrects, id FROM events WHERE corrects IS NOT NULL")}
        for eid, credits, corrects, paid in store.execute(
                "SELECT e.id, e.credits_milli, e.corrects,"
                " (SELECT coalesce(sum(a.credits_milli), 0) FROM allocations a WHERE a.event_id = e.id)"
                " FROM events e"):
            if corrects is not None:
                if not credits <= paid <= 0:
                    problem("void_restores", f"event {eid} (a void) gives back {-paid}, more than the"
                            f" {-credits} of event {corrects}", event=eid)
            elif eid in voided and credits > 0 and paid == 0:
                continue  # a voided event and its void imported together: they net to nothing
            elif paid != credits:
                problem("unpaid_event", f"event {eid} costs {credits} milli-credits, its grants paid {paid}",
                        event=eid)
        # 4. a grant pays only events of its pool and workspace, at instants it is live
        for eid, gid, at, pool, ws, gpool, gws, starts, expires, corrects in store.execute(
                "SELECT e.id, g.id, e.at, e.pool, e.workspace_id, g.pool, g.workspace_id, g.starts_at, g.expires_at,"
                " e.corrects FROM allocations a JOIN events e ON e.id = a.event_id JOIN grants g ON g.id = a.grant_id"):
            if (pool, ws) != (gpool, gws):
                problem("wrong_grant", f"event {eid} was paid by grant {gid} of another pool or workspace",
                        event=eid, grant=gid)
            elif corrects is None and not (starts <= at and (expires is None or at < expires)):
                problem("dead_grant", f"event {eid} at {at} was paid by grant {gid}, not live then",
                        event=eid, grant=gid)
        # 5. the daily summary the reports read equals the events it sums
        recomputed = schema.usage_days_rows()
        kept = "SELECT * FROM usage_days"
        for side, sql in (("missing from", f"{recomputed} EXCEPT {kept}"), ("not in", f"{kept} EXCEPT {recomputed}")):
            for row in store.execute(sql).fetchmany(20):
                problem("usage_summary", f"usage summary {side} the events: workspace {row[0]}, day {row[1]},"
                        f" {row[2]} {row[5]} app {row[3] or '-'} member {row[4] or '-'}: {row[7]} milli-credits,"
                        f" {row[8]} events", day=row[1])
        # 6. which grants paid each event, recomputed from the events and grants alone
        _check_allocations(store, problem)
        # 7. every entry of every table is the one credits wrote, in its place: seals and chains
        for p in seals.verify(store):
            if not (p["table"] == "events" and p["id"] in changed_events and p["kind"] == "tampered"):
                problem(p["kind"], p["message"], table=p["table"], id=p["id"])
        # 8. the guards: append-only triggers, the summary's trigger, the indexes that keep keys unique and
        # reports fast, as this credits' migrations make them
        _check_guards(store, problem)
    finally:
        store.execute("COMMIT")
    return {"ok": not problems, "events": n_events, "grants": n_grants, "problems": problems}


def doctor(session: Session) -> dict:
    """The file's health: SQLite version, schema, WAL, durability, permissions, integrity; what to do about each.

    A damaged file gets a way out: what to run to recover what SQLite can still read, and where the last
    exports of the ledger are (credits notes each export written to a file), to start again from one.
    """
    from .store.db import StoreError, default_path

    path = session.db_path or default_path()
    checks: list[dict] = []

    def add(name, ok, value, advice=""):
        checks.append({"check": name, "ok": ok, "value": value, "advice": "" if ok else advice})

    add("sqlite", sqlite3.sqlite_version_info >= (3, 35, 0), sqlite3.sqlite_version,
        "SQLite 3.35 or newer is needed (RETURNING, partial indexes, ALTER TABLE); upgrade Python or SQLite")
    if not os.path.exists(path):
        add("file", False, "missing", f"there is no ledger at {path}: check --db / CREDITS_DB")
        return {"path": str(path), "ok": False, "checks": checks, "exports": []}
    try:
        store = session.store
        version = store.execute("PRAGMA user_version").fetchone()[0]
    except (StoreError, BadInput, sqlite3.DatabaseError) as e:
        if isinstance(e, BadInput) and _readable(path):
            raise  # another program's SQLite file: not a ledger to advise on
        exports = _exports(None, path)  # not SQLite (any more): a ledger whose first page was damaged
        add("integrity", False, getattr(e, "message", str(e)), _damaged(path, exports))
        return {"path": str(path), "ok": False, "checks": checks, "exports": exports}
    exports = _exports(store, path)
    try:
        applied = [r[0] for r in store.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = 'credits' ORDER BY rowid")]
        add("schema", version == schema.VERSION and applied == schema.NAMES, f"{version} ({', '.join(applied)})",
            "the schema differs from this credits' migrations; back the file up and run any command to migrate")
        mode = store.execute("PRAGMA journal_mode").fetchone()[0]
        add("journal_mode", mode.lower() == "wal", mode,
            "WAL lets readers and writers work at once: run `sqlite3 FILE 'PRAGMA journal_mode=WAL'`")
        sync = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[store.execute("PRAGMA synchronous").fetchone()[0]]
        add("synchronous", sync in ("FULL", "EXTRA"), sync,
            "credits sets FULL on every connection: an acknowledged event survives a power loss")
        mode_bits = stat.S_IMODE(os.stat(path).st_mode)
        add("permissions", mode_bits & 0o077 == 0, oct(mode_bits),
            f"others can read the ledger: chmod 600 {path}")
        found = [r[0] for r in store.execute("PRAGMA integrity_check(100)")]
        found = [line for line in found if not line.startswith("*** in database")]
        integrity = "ok" if found == ["ok"] else "; ".join(found[:3]) + (
            f" (and {len(found) - 3}{'+' if len(found) == 100 else ''} more)" if len(found) > 3 else "")
    except sqlite3.DatabaseError as e:
        integrity = str(e)
    add("integrity", integrity == "ok", integrity, _damaged(path, exports))
    return {"path": str(path), "ok": all(c["ok"] for c in checks), "checks": checks, "exports": exports}


def _read_only(path) -> sqlite3.Connection:
    """The file as SQLite reads it, read-only and immutable: nothing written beside it (no -wal, no -shm)."""
    return sqlite3.connect(f"file:{quote(os.path.abspath(path))}?mode=ro&immutable=1", uri=True)


def _readable(path) -> bool:
    """Whether SQLite reads the file's schema (read-only)."""
    try:
        raw = _read_only(path)
        try:
            raw.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return True
        finally:
            raw.close()
    except sqlite3.DatabaseError:
        return False


def _exports(store, path) -> list[dict]:
    """The last exports credits wrote to files, each with whether its file is still as written; read from
    the damaged file read-only and as it is (no migration), when credits cannot open it."""
    from .domain.cycles import iso
    from .store.ledger import Ledger

    raw = None
    try:
        if store is None:
            store = raw = Ledger(_read_only(path))
        rows = store.last_exports()
    except sqlite3.DatabaseError:
        return []
    finally:
        if raw is not None:
            raw.close()
    out = []
    for x in rows:
        try:
            size = os.stat(x["path"]).st_size
        except OSError:
            size = None
        out.append({**x, "at": iso(x["at"]), "intact": size == x["bytes"]})
    return out


def _damaged(path, exports: list[dict]) -> str:
    """What to do about a damaged ledger file, in order: keep it, recover what SQLite reads, or start from an export."""
    steps = [f"the file is damaged. Keep a copy first: cp {path} {path}.damaged",
             f"recover what SQLite can still read: sqlite3 {path} .recover | sqlite3 recovered.db,"
             " then credits --db recovered.db check (and doctor)"]
    good = next((x for x in exports if x["whole"] and x["intact"] and x["format"] in ("csv", "jsonl", "json", "xlsx")),
                None)
    if good is not None:
        steps.append(f"or start again from the last whole export, {good['path']} ({good['events']:,} events of"
                     f" workspace {good['workspace']!r}, written {good['at']}): credits --db new.db --workspace"
                     f" {good['workspace']!r} init --plan PLAN --start START, give it its grants again, then"
                     f" credits --db new.db --workspace {good['workspace']!r} import {good['path']}")
    else:
        steps.append("no whole export of this ledger is known to be intact: once it is readable again, keep one"
                     " with credits export --output FILE")
    return "\n".join(steps)
