"""Seals: every entry of the ledger carries a hash of what credits wrote, and the entries of a table
form a chain, so that `credits check` finds a row edited, deleted or inserted behind credits' back.

Each sealed table has two more columns:
- `prev_id`: the id of the entry written before it in the same chain (NULL for the first). A chain
  is a table's entries of one workspace (`workspace_id`), or all of a table's entries for the
  tables that belong to no workspace (workspaces, coupons: chain 0).
- `seal`: a hash of (table, id, prev_id, every content column), computed by credits as it writes.

`seal_heads` holds, per chain, the id of its newest entry and how many entries it has, itself
sealed. So a row edited no longer matches its seal; a row deleted is named by the entry after it
(whose `prev_id` points at nothing) or by the head (the newest); a row inserted by another tool has
no seal, or a seal that does not match, or a place in no chain.

The hash has no secret: it catches edits made with another tool (a hand-made UPDATE, a restore
of one table from another file, a script that "fixes" a row), not someone who re-computes seals.
Rows credits itself changes (a share decided, a budget replaced, an alert removed, a workspace
re-initialised before use) are sealed again, or unlinked from their chain, by the functions here,
in the writer's transaction.

A migration that adds a content column to a sealed table must seal every row again (`reseal_all`). A
migration seals with the content columns the table has when it runs (`_present`): those a later migration
adds are not there yet when a new ledger is built migration by migration.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from ..domain.events import digest
from .schema import EVENT_COLUMNS

# table: (the column that names its chain, or None for one chain; the content columns, in order)
SEALED: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "workspaces": (None, ("name", "plan", "billing", "anchor", "timezone", "created_at")),
    "events": ("workspace_id", ("workspace_id", *EVENT_COLUMNS[1:])),
    "grants": (
        "workspace_id",
        ("workspace_id", "pool", "source", "amount_milli", "starts_at", "expires_at", "granted_at", "reason"),
    ),
    "plan_changes": ("workspace_id", ("workspace_id", "plan", "billing", "requested_at", "effective_at")),
    "coupons": (None, ("code", "display", "pool", "amount_milli", "expires_at", "max_uses", "created_at")),
    "redemptions": ("workspace_id", ("coupon_id", "workspace_id", "grant_id", "at")),
    "shares": (
        "workspace_id",
        ("workspace_id", "platform", "url", "followers", "submitted_at", "status", "decided_at", "grant_id"),
    ),
    "budgets": ("workspace_id", ("workspace_id", "kind", "name", "pool", "credits_milli", "created_at")),
    "alerts": (
        "workspace_id",
        ("workspace_id", "pool", "at_percent", "left_milli", "by_mid_cycle", "exec", "created_at", "expiring_days"),
    ),
    "notifications": ("workspace_id", ("workspace_id", "kind", "pool", "at", "message", "once")),
}

# Entries that are never changed once written: triggers refuse UPDATE and DELETE on them.
APPEND_ONLY = ("events", "grants", "plan_changes", "coupons", "redemptions", "notifications")


def _norm(v):
    return int(v) if isinstance(v, bool) else v


def seal(table: str, row_id: int, prev_id: int | None, values) -> str:
    """The hash of one entry: its table, id, place in its chain and content (values in SEALED's order)."""
    return digest([table, row_id, prev_id, *map(_norm, values)], "surrogatepass")


def head_seal(table: str, chain: int, last_id: int | None, rows: int) -> str:
    return digest(["head", table, chain, last_id, rows])


def chain_of(table: str, values: dict) -> int:
    column = SEALED[table][0]
    return 0 if column is None else values[column]


def id_column(table: str) -> str:
    return "rowid" if table == "redemptions" else "id"


def read_head(conn, table: str, chain: int) -> tuple[int | None, int]:
    """(newest id, entries) of a chain."""
    row = conn.execute("SELECT last_id, rows FROM seal_heads WHERE tbl = ? AND chain = ?", (table, chain)).fetchone()
    return (row[0], row[1]) if row else (None, 0)


def write_head(conn, table: str, chain: int, last_id: int | None, rows: int) -> None:
    send(conn)(
        "INSERT INTO seal_heads (tbl, chain, last_id, rows, seal) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT(tbl, chain) DO UPDATE SET last_id = excluded.last_id, rows = excluded.rows, seal = excluded.seal",
        (table, chain, last_id, rows, head_seal(table, chain, last_id, rows)),
    )


def _on_server(conn) -> bool:
    """A PostgreSQL connection (store/pg.py): ids from sequences, writes sent with the next statement."""
    return getattr(conn, "engine", None) == "postgresql"


def send(conn):
    """How to run a write whose result nobody reads: a server's connection sends it with the next statement."""
    return conn.send if _on_server(conn) else conn.execute


def next_id(conn, table: str) -> int:
    """The id the next entry of `table` gets in SQLite's file (max + 1: one writer holds the file at a time).
    A server takes ids from sequences instead (`ids`, and `_append` with the chain's head)."""
    col = id_column(table)
    return conn.execute(f"SELECT coalesce(max({col}), 0) + 1 FROM {table}").fetchone()[0]


def ids(conn, table: str) -> Iterator[int]:
    """The ids of the next entries of `table`, for a writer that gives many (an import's buffer)."""
    return conn.ids(table) if _on_server(conn) else itertools.count(next_id(conn, table))


class Appender:
    """Many entries of one table appended at the ends of their chains, followed in memory: an import's buffer,
    a renumbering copy. Each chain's head is read once, ids come from `ids`, each row is sealed as it is made;
    the caller inserts the rows (in `columns`), then `write_heads` records where each chain ends, in the same
    transaction."""

    def __init__(self, conn, table: str):
        self.conn = conn
        self.table = table
        chain_col, content = SEALED[table]
        self.columns = (id_column(table), "prev_id", "seal", *content)
        self._chain_at = None if chain_col is None else content.index(chain_col)
        self.heads: dict[int, tuple[int | None, int]] = {}  # chain: (its newest id, its entries)
        self.ids: Iterator[int] | None = None

    def row(self, values) -> tuple:
        """The row that appends an entry of content `values` (in SEALED's order) to its chain:
        (id, prev_id, seal, *values)."""
        chain = 0 if self._chain_at is None else values[self._chain_at]
        head = self.heads.get(chain)
        if head is None:
            head = read_head(self.conn, self.table, chain)
        if self.ids is None:  # taken once the tables this one follows are written (max + 1 on SQLite)
            self.ids = ids(self.conn, self.table)
        row_id = next(self.ids)
        self.heads[chain] = (row_id, head[1] + 1)
        return (row_id, head[0], seal(self.table, row_id, head[0], values), *values)

    def write_heads(self) -> None:
        """Record the head of every chain appended to (once its rows are inserted)."""
        for chain, (last, rows) in self.heads.items():
            write_head(self.conn, self.table, chain, last, rows)


def append(conn, table: str, values: dict) -> int:
    """Insert one sealed entry at the end of its chain; its id."""
    row_id = _append(conn, table, values, or_ignore=False)
    assert row_id is not None  # without or_ignore, a refused insert raises
    return row_id


def append_once(conn, table: str, values: dict) -> int | None:
    """`append`, unless a unique index already holds such an entry (then None)."""
    return _append(conn, table, values, or_ignore=True)


def _append(conn, table: str, values: dict, *, or_ignore: bool) -> int | None:
    columns = SEALED[table][1]
    chain = chain_of(table, values)
    server = _on_server(conn)
    if server:
        if chain == 0:
            conn.lock_chain(table)  # no workspace row serializes this chain's writers on a server
        last, rows, row_id = conn.head_and_next_id(table, chain)
    else:
        last, rows = read_head(conn, table, chain)
        row_id = next_id(conn, table)
    row = [values.get(c) for c in columns]
    col = id_column(table)
    insert = (
        f"INSERT INTO {table} ({col}, prev_id, seal, {', '.join(columns)}) VALUES (?, ?, ?{', ?' * len(columns)})"
        + (" ON CONFLICT DO NOTHING" if or_ignore else "")  # what SQLite and PostgreSQL both accept
    )
    args = (row_id, last, seal(table, row_id, last, row), *row)
    if server and not or_ignore:
        conn.send(insert, args)  # its id is known: nothing to wait for
    elif conn.execute(insert, args).rowcount != 1:
        return None
    write_head(conn, table, chain, row_id, rows + 1)
    return row_id


def reseal(conn, table: str, row_id: int) -> None:
    """Seal again an entry credits has just changed (in the same transaction)."""
    columns = SEALED[table][1]
    col = id_column(table)
    row = conn.execute(f"SELECT prev_id, {', '.join(columns)} FROM {table} WHERE {col} = ?", (row_id,)).fetchone()
    conn.execute(f"UPDATE {table} SET seal = ? WHERE {col} = ?", (seal(table, row_id, row[0], row[1:]), row_id))


def remove(conn, table: str, row_id: int) -> None:
    """Delete an entry credits no longer keeps (a budget replaced, an alert removed): the entry after it
    takes its place in the chain and is sealed again, and the chain's head counts one entry fewer."""
    col = id_column(table)
    found = conn.execute(
        f"SELECT prev_id, {SEALED[table][0] or '0'} FROM {table} WHERE {col} = ?", (row_id,)
    ).fetchone()
    if found is None:
        return
    prev, chain = found
    conn.execute(f"DELETE FROM {table} WHERE {col} = ?", (row_id,))
    after = conn.execute(f"SELECT {col} FROM {table} WHERE prev_id = ?", (row_id,)).fetchone()
    if after is not None:
        conn.execute(f"UPDATE {table} SET prev_id = ? WHERE {col} = ?", (prev, after[0]))
        reseal(conn, table, after[0])
    last, rows = read_head(conn, table, chain)
    write_head(conn, table, chain, prev if last == row_id else last, rows - 1)


def _order(chain_col: str | None, col: str) -> str:
    return f"{chain_col}, {col}" if chain_col else col


def _present(conn, table: str) -> tuple[str, ...]:
    """The content columns of `table` it has now (in a migration: not those a later one adds), in SEALED's order."""
    have = {d[0] for d in conn.execute(f"SELECT * FROM {table} LIMIT 0").description}
    return tuple(c for c in SEALED[table][1] if c in have)


def seal_all(conn) -> None:
    """Seal every row of every sealed table, chain by chain in id order (the migration that adds seals)."""
    for table, (chain_col, _) in SEALED.items():
        columns = _present(conn, table)
        col = id_column(table)
        key = chain_col or "0"
        last: dict[int, int | None] = {}
        counts: dict[int, int] = {}
        updates = []
        for r in conn.execute(
            f"SELECT {col}, {key}, {', '.join(columns)} FROM {table} ORDER BY {_order(chain_col, col)}"
        ):
            row_id, chain = r[0], r[1]
            prev = last.get(chain)
            updates.append((prev, seal(table, row_id, prev, r[2:]), row_id))
            last[chain] = row_id
            counts[chain] = counts.get(chain, 0) + 1
            if len(updates) >= 10_000:
                conn.executemany(f"UPDATE {table} SET prev_id = ?, seal = ? WHERE {col} = ?", updates)
                updates = []
        conn.executemany(f"UPDATE {table} SET prev_id = ?, seal = ? WHERE {col} = ?", updates)
        for chain, row_id in last.items():
            write_head(conn, table, chain, row_id, counts[chain])


def reseal_all(conn, table: str, added: tuple[str, ...]) -> None:
    """Seal every row of `table` again, each in its place, with the content columns a migration just `added` to
    it (only tables of a few rows, such as alerts, get one). A row whose seal did not match its content before
    keeps its seal: `check` still names it, rather than an upgrade making an edit look like credits' own."""
    columns = _present(conn, table)
    before = [i for i, c in enumerate(columns) if c not in added]
    col = id_column(table)
    for row in conn.execute(f"SELECT {col}, prev_id, seal, {', '.join(columns)} FROM {table}").fetchall():
        row_id, prev, found, values = row[0], row[1], row[2], row[3:]
        if found == seal(table, row_id, prev, [values[i] for i in before]):
            conn.execute(f"UPDATE {table} SET seal = ? WHERE {col} = ?", (seal(table, row_id, prev, values), row_id))


def verify(conn, limit: int = 20) -> list[dict]:
    """Every entry against its seal and its chain; each problem names its table and id.

    One pass a table in chain and id order, holding only each chain's last entry: in a chain credits
    wrote, every entry's `prev_id` is the entry just before it (an entry appended takes the next id; one
    removed is replaced in the chain by the entry after it). Only an entry that breaks this is looked
    into, with a look-up of the entry it names.
    """
    problems: list[dict] = []

    def problem(kind, table, row_id, message):
        problems.append({"kind": kind, "table": table, "id": row_id, "message": message})

    heads = {
        (t, c): (last, rows, s)
        for t, c, last, rows, s in conn.execute("SELECT tbl, chain, last_id, rows, seal FROM seal_heads")
    }
    for table, (chain_col, columns) in SEALED.items():
        col = id_column(table)
        key = chain_col or "0"
        found = 0
        seen: dict[int, tuple[int, int]] = {}  # chain: (its last entry so far, its entries so far)

        def exists(row_id, table=table, col=col) -> bool:
            return conn.execute(f"SELECT 1 FROM {table} WHERE {col} = ?", (row_id,)).fetchone() is not None

        for r in conn.execute(
            f"SELECT {col}, {key}, prev_id, seal, {', '.join(columns)} FROM {table} ORDER BY {_order(chain_col, col)}"
        ):
            row_id, chain, prev, stored = r[0], r[1], r[2], r[3]
            last, count = seen.get(chain, (None, 0))
            seen[chain] = (row_id, count + 1)
            if stored is None:
                found += 1
                if found <= limit:
                    problem("unsealed", table, row_id, f"{table} {row_id} was not written by credits (it has no seal)")
                continue
            if seal(table, row_id, prev, r[4:]) != stored:
                found += 1
                if found <= limit:
                    problem(
                        "tampered",
                        table,
                        row_id,
                        f"{table} {row_id} was changed after credits wrote it (it no longer matches its seal)",
                    )
                continue
            if prev == last:
                continue
            if prev is not None and not exists(prev):
                problem(
                    "missing",
                    table,
                    prev,
                    f"{table} {prev} is missing: it was deleted after credits wrote it"
                    f" ({table} {row_id} came after it)",
                )
            else:  # it names an entry that is there, but not the one before it: a second entry claims that place
                problem(
                    "inserted",
                    table,
                    row_id,
                    f"{table} {row_id} was put in the ledger behind credits' back"
                    f" (it claims the place after {prev if prev is not None else 'the start'}, which another"
                    " entry holds)",
                )
        for chain in sorted(set(seen) | {c for t, c in heads if t == table}):
            last, count = seen.get(chain, (None, 0))
            head = heads.get((table, chain))
            head_last, rows, stored = head if head else (None, 0, None)
            if head is None:
                if count:
                    problem(
                        "chain_head",
                        table,
                        None,
                        f"{table}: the record of the newest entry of chain {chain} is missing (seal_heads was changed)",
                    )
                continue
            if stored != head_seal(table, chain, head_last, rows):
                problem(
                    "chain_head",
                    table,
                    head_last,
                    f"{table}: the record of its newest entry (chain {chain}) was changed after credits wrote it",
                )
            elif head_last is not None and head_last != last and not exists(head_last):
                problem(
                    "missing",
                    table,
                    head_last,
                    f"{table} {head_last} is missing: it was the newest entry credits wrote, and it was deleted",
                )
            elif head_last is not None and last is not None and last > head_last:
                problem(
                    "inserted",
                    table,
                    last,
                    f"{table} {last} was put in the ledger behind credits' back"
                    f" (after {table} {head_last}, the newest entry credits wrote)",
                )
            elif count != rows and not any(p["table"] == table for p in problems):
                problem(
                    "missing", table, None, f"{table}: credits wrote {rows} entries of chain {chain}, {count} are there"
                )
        if found > limit:
            problems.append(
                {
                    "kind": "tampered",
                    "table": table,
                    "id": None,
                    "message": f"{table}: {found - limit} more entries do not match their seal",
                }
            )
    return problems
