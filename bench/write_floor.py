"""The floor for writing events into the ledger's schema from Python: what an import or a batch costs at the least.

    python bench/write_floor.py CSV DB           # beside `credits import CSV`
    python bench/write_floor.py --batch DB < JSONL   # beside `credits log --batch < JSONL`

DB is a ledger just made by `credits init` (its tables, indexes and summary trigger). This
script writes the CSV's rows into it the fastest way the standard library allows, and nothing
more: no validation, no pricing check, no duplicate detection, no refusals. It keeps only
what the schema itself requires of every writer, because the reports read it:

- each event's row, with its content fingerprint (a hash of its fields, as the ledger stores it);
- one allocation per event, to its cycle's allowance grant, and each grant's total drawn;
- the events' indexes, and the daily summary (usage_days) built the bulk way: its trigger is
  dropped for the write and the summary summed in one GROUP BY, in the same transaction;
- one BEGIN IMMEDIATE transaction, with the ledger's durability (WAL, synchronous=FULL).

bench/run.py runs it beside `credits import` on the same CSV: its time is the bound that the
schema and Python's sqlite3 module (executemany's per-row binding) put under any import.
It assumes the bench's ledger: one workspace, monthly cycles that start on the 1st, in UTC.

With --batch it writes each JSON line of stdin as `log --batch` must: one event at a time (each
in its own savepoint, so that one line's failure would undo that line only), its allocation and
its grant's total, in transactions of 2,000 lines with the summary caught up at each commit, and
one result line (the event's id) per line on stdout. It neither prices nor checks anything: each
event costs one credit, drawn from the current cycle's allowance grant.
"""

import csv
import hashlib
import json
import sqlite3
import sys
from decimal import Decimal

CONTENT = ("at", "pool", "action", "model", "scope", "quantity", "seconds", "chars", "custom_domain",
           "credits_milli", "app", "member", "key", "note")
COLUMNS = ("id", "workspace_id", "at", "recorded_at", "pool", "action", "model", "scope", "quantity", "seconds",
           "chars", "custom_domain", "credits_milli", "app", "member", "note", "key", "fingerprint")
ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
CHUNK = 10_000
# The daily summary of the events after an id, added to what it holds (the bulk way of its trigger).
SUMMARY = ("INSERT INTO usage_days SELECT workspace_id, substr(at, 1, 10), pool, ifnull(app, ''), ifnull(member, ''),"
           " action, ifnull(model, ''), sum(credits_milli), count(*) FROM events NOT INDEXED WHERE id > ?"
           " GROUP BY 1, 2, 3, 4, 5, 6, 7 ON CONFLICT DO UPDATE SET credits_milli = credits_milli"
           " + excluded.credits_milli, events = events + excluded.events")


def main(path: str, db: str) -> None:
    conn = sqlite3.connect(db, timeout=60.0, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("BEGIN IMMEDIATE")
    ws, plan_note = conn.execute("SELECT id, plan || ' plan allowance' FROM workspaces").fetchone()
    trigger = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'events_usage_days'").fetchone()[0]
    conn.execute("DROP TRIGGER events_usage_days")
    grants, drawn = {}, {}
    event_id = conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
    insert = f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    recorded = "2026-12-31T20:00:00.000000Z"
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        head = {name: i for i, name in enumerate(next(reader))}
        cols = [head.get(c) for c in ("at", "pool", "action", "model", "scope", "quantity", "seconds", "chars",
                                      "custom_domain", "credits", "app", "member", "key", "note")]
        rows, allocations = [], []
        for cells in reader:
            at, pool, action, model, scope, qty, secs, chars, cd, cr, app, member, key, note = (
                cells[i] if i is not None else "" for i in cols)
            stored = at[:19] + ".000000Z"
            milli = int(Decimal(cr) * 1000)
            values = (stored, pool, action, model or None, scope or None, int(qty), int(secs) if secs else None,
                      int(chars) if chars else None, int(cd == "true"), milli, app or None, member or None,
                      key or None, note or None)
            event_id += 1
            rows.append((event_id, ws, stored, recorded, *values[1:12], values[13], values[12],
                         hashlib.sha256(ENCODE(list(values)).encode()).hexdigest()[:32]))
            cycle = (pool, stored[:7])
            grant = grants.get(cycle)
            if grant is None:
                grant = grants[cycle] = _allowance(conn, ws, pool, stored[:7], plan_note)
            allocations.append((event_id, grant, milli))
            drawn[grant] = drawn.get(grant, 0) + milli
            if len(rows) >= CHUNK:
                conn.executemany(insert, rows)
                conn.executemany("INSERT INTO allocations VALUES (?, ?, ?)", allocations)
                rows, allocations = [], []
        conn.executemany(insert, rows)
        conn.executemany("INSERT INTO allocations VALUES (?, ?, ?)", allocations)
    conn.executemany("INSERT INTO grant_usage VALUES (?, ?)", list(drawn.items()))
    conn.execute(SUMMARY, (0,))
    conn.execute(trigger)
    conn.execute("COMMIT")
    conn.close()


def _allowance(conn, ws: int, pool: str, month: str, note: str) -> int:
    """The cycle's allowance grant (the bench plan's 1,000,000 credits, from the 1st to the next 1st)."""
    year, mon = int(month[:4]), int(month[5:7])
    end = f"{year + mon // 12:04d}-{mon % 12 + 1:02d}-01T00:00:00.000000Z"
    start = f"{month}-01T00:00:00.000000Z"
    return conn.execute(
        "INSERT INTO grants (workspace_id, pool, source, amount_milli, starts_at, expires_at, granted_at, reason)"
        " VALUES (?, ?, 'allowance', 1000000000, ?, ?, ?, ?)", (ws, pool, start, end, start, note)).lastrowid


def batch(db: str) -> None:
    conn = sqlite3.connect(db, timeout=60.0, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    ws, plan_note = conn.execute("SELECT id, plan || ' plan allowance' FROM workspaces").fetchone()
    trigger = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'events_usage_days'").fetchone()[0]
    now = "2026-12-31T20:00:00.000000Z"
    cols = COLUMNS[1:]
    insert = f"INSERT INTO events ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    out = sys.stdout
    lines = sys.stdin.buffer.read().splitlines()
    for first in range(0, len(lines), 2000):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DROP TRIGGER events_usage_days")
        since = conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
        grant = conn.execute("SELECT id FROM grants WHERE workspace_id = ? AND pool = 'integration'"
                             " AND starts_at <= ? AND expires_at > ?", (ws, now, now)).fetchone()
        grant = grant[0] if grant else _allowance(conn, ws, "integration", now[:7], plan_note)
        results = []
        for n, raw in enumerate(lines[first:first + 2000], first + 1):
            e = json.loads(raw)
            values = (now, "integration", e["action"], e.get("model"), None, int(e.get("count", 1)), None, None, 0,
                      1000, e.get("app"), e.get("member"), e.get("key"), None)
            conn.execute("SAVEPOINT one")
            event_id = conn.execute(insert, (ws, now, now, *values[1:12], None, values[12],
                                             hashlib.sha256(ENCODE(list(values)).encode()).hexdigest()[:32])).lastrowid
            conn.execute("INSERT INTO allocations VALUES (?, ?, ?)", (event_id, grant, 1000))
            conn.execute("INSERT INTO grant_usage VALUES (?, ?) ON CONFLICT(grant_id) DO UPDATE"
                         " SET used_milli = used_milli + excluded.used_milli", (grant, 1000))
            conn.execute("RELEASE one")
            results.append(json.dumps({"line": n, "id": event_id}))
        conn.execute(SUMMARY, (since,))
        conn.execute(trigger)
        conn.execute("COMMIT")
        out.write("\n".join(results) + "\n")
        out.flush()
    conn.close()


if __name__ == "__main__":
    if sys.argv[1] == "--batch":
        batch(sys.argv[2])
    else:
        main(sys.argv[1], sys.argv[2])
