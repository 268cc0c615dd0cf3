"""The floors on PostgreSQL from Python: what a `credits log` and a `credits import` cost at the least.

    python bench/pg_floor.py URL               # beside `credits log SendEmail -q` on a PostgreSQL ledger
    python bench/pg_floor.py --copy CSV URL    # beside `credits import CSV` into a PostgreSQL ledger

The first form starts the interpreter, imports psycopg, connects to URL and, in one transaction,
locks a workspace's row (`SELECT ... FOR UPDATE`, as every write of the ledger does), inserts one
event and commits, written as psycopg's documentation writes it: four round trips after the
connection (psycopg's BEGIN, the lock, the insert, the COMMIT). bench/run.py creates URL's
database beforehand, with a `workspaces` table of one row and an `events` table, and runs this
script beside `credits log`.

The second form creates a plain table named after the CSV's header (every column text, no index,
no check) and copies the file's bytes into it with COPY ... FROM STDIN (FORMAT csv), the server
parsing them, in one transaction: the analogue of the `sqlite3` tool's `.import --csv`. URL's
database must be empty of such a table.
"""

import sys

import psycopg


def log(url: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("SELECT id FROM workspaces WHERE id = %s FOR UPDATE", (1,))
        conn.execute(
            "INSERT INTO events (workspace_id, at, action, quantity, credits_milli) VALUES (%s, %s, %s, %s, %s)",
            (1, "2026-12-31T20:00:00Z", "SendEmail", 1, 1000),
        )
    # committed as the block ends


def copy(csv_path: str, url: str) -> None:
    with open(csv_path, "rb") as f, psycopg.connect(url) as conn:
        header = f.readline().decode("utf-8").strip().split(",")
        columns = ", ".join(f'"{name}" text' for name in header)
        conn.execute(f"CREATE TABLE events ({columns})")
        with conn.cursor().copy("COPY events FROM STDIN (FORMAT csv)") as out:
            while chunk := f.read(1 << 20):
                out.write(chunk)


if __name__ == "__main__":
    if sys.argv[1] == "--copy":
        copy(sys.argv[2], sys.argv[3])
    else:
        log(sys.argv[1])
