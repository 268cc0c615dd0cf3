"""The floor for writing events into the ledger's schema from Python: what an import or a batch costs at the least.

    python bench/write_floor.py CSV DB           # beside `credits import CSV`
    python bench/write_floor.py --batch DB < JSONL   # beside `credits log --batch < JSONL`
    python bench/write_floor.py --sql CSV DB | sqlite3 DB   # the same writes with no Python at all

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

With --sql it prints a script for the sqlite3 tool that makes the same writes as the first form
with no Python at all: `.import` of the CSV into a temporary table, then one INSERT … SELECT a
table (the fingerprint by the tool's sha3(), the allowance grants, the allocations, the grants'
totals, the summary), in one BEGIN IMMEDIATE transaction. Its time is what the schema's rows
and indexes cost SQLite itself: the bound under any import into this schema, in any language.
"""

import csv
import hashlib
import json
import sqlite3
import sys
from decimal import Decimal

CONTENT = (
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
COLUMNS = (
    "id",
    "workspace_id",
    "at",
    "recorded_at",
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
    "note",
    "key",
    "fingerprint",
)
ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
CHUNK = 10_000
# The daily summary of the events after an id, added to what it holds (the bulk way of its trigger).
SUMMARY = (
    "INSERT INTO usage_days SELECT workspace_id, substr(at, 1, 10), pool, ifnull(app, ''), ifnull(member, ''),"
    " action, ifnull(model, ''), sum(credits_milli), count(*) FROM events NOT INDEXED WHERE id > ?"
    " GROUP BY 1, 2, 3, 4, 5, 6, 7 ON CONFLICT DO UPDATE SET credits_milli = credits_milli"
    " + excluded.credits_milli, events = events + excluded.events"
)


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
        cols = [
            head.get(c)
            for c in (
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
            )
        ]
        rows, allocations = [], []
        for cells in reader:
            at, pool, action, model, scope, qty, secs, chars, cd, cr, app, member, key, note = (
                cells[i] if i is not None else "" for i in cols
            )
            stored = at[:19] + ".000000Z"
            milli = int(Decimal(cr) * 1000)
            values = (
                stored,
                pool,
                action,
                model or None,
                scope or None,
                int(qty),
                int(secs) if secs else None,
                int(chars) if chars else None,
                int(cd == "true"),
                milli,
                app or None,
                member or None,
                key or None,
                note or None,
            )
            event_id += 1
            rows.append(
                (
                    event_id,
                    ws,
                    stored,
                    recorded,
                    *values[1:12],
                    values[13],
                    values[12],
                    hashlib.sha256(ENCODE(list(values)).encode()).hexdigest()[:32],
                )
            )
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
        " VALUES (?, ?, 'allowance', 1000000000, ?, ?, ?, ?)",
        (ws, pool, start, end, start, note),
    ).lastrowid


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
        grant = conn.execute(
            "SELECT id FROM grants WHERE workspace_id = ? AND pool = 'integration'"
            " AND starts_at <= ? AND expires_at > ?",
            (ws, now, now),
        ).fetchone()
        grant = grant[0] if grant else _allowance(conn, ws, "integration", now[:7], plan_note)
        results = []
        for n, raw in enumerate(lines[first : first + 2000], first + 1):
            e = json.loads(raw)
            values = (
                now,
                "integration",
                e["action"],
                e.get("model"),
                None,
                int(e.get("count", 1)),
                None,
                None,
                0,
                1000,
                e.get("app"),
                e.get("member"),
                e.get("key"),
                None,
            )
            conn.execute("SAVEPOINT one")
            event_id = conn.execute(
                insert,
                (
                    ws,
                    now,
                    now,
                    *values[1:12],
                    None,
                    values[12],
                    hashlib.sha256(ENCODE(list(values)).encode()).hexdigest()[:32],
                ),
            ).lastrowid
            conn.execute("INSERT INTO allocations VALUES (?, ?, ?)", (event_id, grant, 1000))
            conn.execute(
                "INSERT INTO grant_usage VALUES (?, ?) ON CONFLICT(grant_id) DO UPDATE"
                " SET used_milli = used_milli + excluded.used_milli",
                (grant, 1000),
            )
            conn.execute("RELEASE one")
            results.append(json.dumps({"line": n, "id": event_id}))
        conn.execute(SUMMARY, (since,))
        conn.execute(trigger)
        conn.execute("COMMIT")
        out.write("\n".join(results) + "\n")
        out.flush()
    conn.close()


def sql_script(path: str, db: str) -> str:
    """The sqlite3 tool's script for --sql: the first form's writes, in SQL alone."""
    if "'" in path:  # the tool takes a dot-command's quoted argument as it is: no way to escape a quote
        raise SystemExit(f"write_floor.py: the sqlite3 tool cannot .import a path with a quote: {path}")
    with sqlite3.connect(db) as conn:
        trigger = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'events_usage_days'").fetchone()[0]
    month_start = "substr(at, 1, 7) || '-01T00:00:00.000000Z'"
    content = (
        "stored, pool, action, model, scope, quantity, seconds, chars, custom_domain, credits_milli,"
        " app, member, key, note"
    )
    return f"""PRAGMA synchronous=FULL;
BEGIN IMMEDIATE;
CREATE TEMP TABLE raw (at, pool, action, model, scope, quantity, seconds, chars, custom_domain, credits, app,
                       member, key, note);
.import --csv --skip 1 '{path}' raw
DROP TRIGGER events_usage_days;
CREATE TEMP TABLE since AS SELECT coalesce(max(id), 0) AS id FROM events;
INSERT INTO grants (workspace_id, pool, source, amount_milli, starts_at, expires_at, granted_at, reason)
  SELECT DISTINCT w.id, r.pool, 'allowance', 1000000000, {month_start},
         date(substr(at, 1, 7) || '-01', '+1 month') || 'T00:00:00.000000Z', {month_start}, w.plan || ' plan allowance'
  FROM raw r, workspaces w WHERE true ON CONFLICT DO NOTHING;
WITH e AS (
  SELECT substr(at, 1, 19) || '.000000Z' AS stored, pool, action, nullif(model, '') AS model,
         nullif(scope, '') AS scope, CAST(quantity AS INTEGER) AS quantity,
         CAST(nullif(seconds, '') AS INTEGER) AS seconds, CAST(nullif(chars, '') AS INTEGER) AS chars,
         custom_domain = 'true' AS custom_domain, CAST(round(credits * 1000) AS INTEGER) AS credits_milli,
         nullif(app, '') AS app, nullif(member, '') AS member, nullif(key, '') AS key, nullif(note, '') AS note
  FROM raw ORDER BY rowid)
INSERT INTO events ({", ".join(COLUMNS[1:])})
  SELECT (SELECT id FROM workspaces), stored, '2026-12-31T20:00:00.000000Z', pool, action, model, scope, quantity,
         seconds, chars, custom_domain, credits_milli, app, member, note, key,
         lower(hex(substr(sha3(json_array({content}), 256), 1, 16)))
  FROM e;
INSERT INTO allocations
  SELECT e.id, g.id, e.credits_milli FROM events e JOIN grants g
    ON g.workspace_id = e.workspace_id AND g.pool = e.pool AND g.source = 'allowance'
   AND g.starts_at = substr(e.at, 1, 7) || '-01T00:00:00.000000Z'
  WHERE e.id > (SELECT id FROM since);
INSERT INTO grant_usage SELECT grant_id, sum(credits_milli) FROM allocations GROUP BY grant_id
  ON CONFLICT DO UPDATE SET used_milli = excluded.used_milli;
{SUMMARY.replace("?", "(SELECT id FROM since)")};
{trigger};
COMMIT;
"""


if __name__ == "__main__":
    if sys.argv[1] == "--batch":
        batch(sys.argv[2])
    elif sys.argv[1] == "--sql":
        sys.stdout.write(sql_script(sys.argv[2], sys.argv[3]))
    else:
        main(sys.argv[1], sys.argv[2])
