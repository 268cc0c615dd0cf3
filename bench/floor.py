"""The floor for one logged event from Python: what any `credits log` costs at the least.

    python bench/floor.py DB

Start the interpreter, open a SQLite database in WAL mode with the durability the ledger uses
(synchronous=FULL), insert one row in one BEGIN IMMEDIATE transaction, commit. bench/run.py
creates DB (with its `events` table) beforehand and runs this script beside `credits log`.
"""

import sqlite3
import sys

conn = sqlite3.connect(sys.argv[1], timeout=60.0, isolation_level=None)
conn.execute("PRAGMA journal_mode=WAL")
conn.execute("PRAGMA synchronous=FULL")
conn.execute("BEGIN IMMEDIATE")
conn.execute(
    "INSERT INTO events (at, action, quantity, credits_milli) VALUES (?, ?, ?, ?)",
    ("2026-12-31T20:00:00Z", "SendEmail", 1, 1000),
)
conn.execute("COMMIT")
conn.close()
