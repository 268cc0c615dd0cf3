"""The floor for importing a CSV into the ledger's schema from Python: what any `credits import` costs at the least.

    python bench/write_floor.py CSV DB

DB is a ledger just made by `credits init` (its tables, indexes and summary trigger). This
script writes the CSV's rows into it the fastest way the standard library allows, and nothing
more: no validation, no pricing check, no duplicate detection, no refusals. It keeps only
what the schema itself requires of every writer, because the reports read it:

- each event's row, with its content fingerprint (a hash of its fields, as the ledger stores it);
- one allocation per event, to its cycle's allowance grant, and each grant's total drawn;
- the daily summary (usage_days) and the events' indexes, built the bulk way: the summary's
  trigger and the hash-ordered fingerprint index are dropped for the write, then the summary is
  summed in one GROUP BY and the index created again, in the same transaction;
- one BEGIN IMMEDIATE transaction, with the ledger's durability (WAL, synchronous=FULL).

bench/run.py runs it beside `credits import` on the same CSV: its time is the bound that the
schema and Python's sqlite3 module (executemany's per-row binding) put under any import.
It assumes the bench's ledger: one workspace, monthly cycles that start on the 1st, in UTC.
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


def main(path: str, db: str) -> None:
    conn = sqlite3.connect(db, timeout=60.0, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("BEGIN IMMEDIATE")
    ws, plan_note = conn.execute("SELECT id, plan || ' plan allowance' FROM workspaces").fetchone()
    trigger = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'events_usage_days'").fetchone()[0]
    index = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'events_fingerprint'").fetchone()[0]
    conn.execute("DROP TRIGGER events_usage_days")
    conn.execute("DROP INDEX events_fingerprint")
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
    conn.execute("INSERT INTO usage_days SELECT workspace_id, substr(at, 1, 10), pool, ifnull(app, ''),"
                 " ifnull(member, ''), action, ifnull(model, ''), sum(credits_milli), count(*) FROM events"
                 " GROUP BY 1, 2, 3, 4, 5, 6, 7")
    conn.execute(index)
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


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
