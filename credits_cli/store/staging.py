"""An import's staging: the file's rows wait in temporary tables until all are valid.

`stage_begin` makes the tables, `stage_rows` fills them as the file streams in
(row by row through the store's insert of many rows: executemany on SQLite,
COPY on a server; never a batch of rows, let alone the whole file, in memory),
`stage_end` drops them. In between, the checks and the write ask what the
staged rows hold and which of them the ledger lacks. A staged row is an event's
values (`ROW`, as the events table holds them) with its line in the file, the
file's id of the event (`src_id`) and, for a void, the file's id of the event
it cancels (`corrects`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..domain.events import CONTENT_FIELDS
from .base import Store

# A staged row: its line in the file, the event's content, its fingerprint, the file's ids.
STAGED = ("line", *CONTENT_FIELDS, "fingerprint", "src_id", "corrects")
ROW = STAGED[1:16]  # the events table's values of a staged row


class Staging(Store):
    """An import's staging: the file's rows wait in temporary tables until all are valid.

    Names are unqualified: both engines look in the connection's temporary tables first."""

    STAGED_COLUMNS = ", ".join(STAGED[1:])  # SQLite's columns take any value; PostgreSQL's are typed

    def stage_begin(self) -> None:
        """Empty staging tables: `staged` (the file's rows) and `forced` (voids new whatever their content)."""
        conn = self._conn
        self.stage_end()
        conn.execute(f"CREATE TEMP TABLE staged (line INTEGER PRIMARY KEY, {self.STAGED_COLUMNS})")
        conn.execute("CREATE TEMP TABLE forced (line INTEGER PRIMARY KEY)")

    def stage_rows(self, rows: Iterable[tuple[int, dict]]) -> None:
        """Stage (line, values) pairs as they come: values holds ROW's columns, `src_id` and `corrects`.

        Each is written as it is read (the iterator must not use the store meanwhile): a batch of 10,000
        rows and a server's executemany of it cost an import on PostgreSQL 18 MB of its peak."""
        self._insert(
            "staged", STAGED, ((line, *map(v.__getitem__, ROW), v["src_id"], v["corrects"]) for line, v in rows)
        )

    def stage_indexed(self) -> None:
        """Every row is staged: index them by the file's ids, which the voids name."""
        self._conn.execute("CREATE INDEX staged_src ON staged(src_id) WHERE src_id IS NOT NULL")

    def stage_end(self) -> None:
        """Drop the staging tables (nothing is left behind, whether the import wrote or not)."""
        self._conn.execute("DROP TABLE IF EXISTS staged")
        self._conn.execute("DROP TABLE IF EXISTS forced")

    def staged_count(self) -> int:
        """How many rows are staged."""
        return self._conn.execute("SELECT count(*) FROM staged").fetchone()[0]

    def staged_key_clashes(self) -> list[tuple[int, str, int]]:
        """(line, key, line of the key's first row) of each later row with a key and other content."""
        return self._conn.execute(
            "SELECT s.line, s.key, f.line FROM staged s"
            " JOIN (SELECT key, min(line) AS line FROM staged WHERE key IS NOT NULL GROUP BY key) k"
            " ON k.key = s.key JOIN staged f ON f.line = k.line WHERE s.fingerprint != f.fingerprint"
            " ORDER BY s.line"
        ).fetchall()

    def staged_voids(self) -> Iterator[dict]:
        """The staged voids (rows with `corrects`) in the file's order, each a dict of STAGED's columns."""
        cols = ", ".join(STAGED)
        for row in self._conn.execute(f"SELECT {cols} FROM staged WHERE corrects IS NOT NULL ORDER BY line"):
            yield dict(zip(STAGED, row, strict=True))

    def staged_event(self, src_id: int) -> dict | None:
        """The file's event of id `src_id` (its last row, when the file repeats the id), or None."""
        cols = ", ".join(STAGED)
        found = self._conn.execute(
            f"SELECT {cols} FROM staged WHERE src_id = ? ORDER BY line DESC LIMIT 1", (src_id,)
        ).fetchone()
        return dict(zip(STAGED, found, strict=True)) if found else None

    def staged_key_in_use(self, ws_id: int) -> tuple[int, str, int] | None:
        """(line, key, event id) of the first staged key the ledger holds for an event of other content."""
        self._settle()
        return self._conn.execute(
            "SELECT s.line, s.key, e.id FROM (SELECT f.key, f.line, f.fingerprint FROM staged f JOIN"
            " (SELECT key, min(line) AS line FROM staged WHERE key IS NOT NULL GROUP BY key) k ON f.line = k.line) s"
            " JOIN events e ON e.workspace_id = ? AND e.key = s.key"
            " WHERE e.fingerprint != s.fingerprint ORDER BY s.line LIMIT 1",
            (ws_id,),
        ).fetchone()

    def staged_void_pairs(self, ws_id: int) -> set[int]:
        """The file's ids of events new here together with their void; forces those voids new.

        A void's content is not its target's: when the file holds one more copy of
        an event than the ledger, and that copy's void has the content of a void the
        ledger already holds (of its other copy), the void is new all the same: it
        belongs to the new event. Such voids go into forced, which
        `staged_new_rows` reads.
        """
        conn = self._conn
        self._settle()
        voids = conn.execute(
            "SELECT line, corrects, fingerprint, key, at FROM staged WHERE corrects IS NOT NULL ORDER BY line"
        ).fetchall()
        if not voids:
            return set()
        conn.execute("CREATE INDEX staged_fp ON staged(fingerprint, line)")

        def is_new(line, fp, key, at) -> bool:  # as staged_new_rows tells a new row
            k = conn.execute("SELECT count(*) FROM staged WHERE fingerprint = ? AND line <= ?", (fp, line)).fetchone()[
                0
            ]
            have = conn.execute(
                "SELECT count(*) FROM events WHERE workspace_id = ? AND at = ? AND fingerprint = ?",
                (ws_id, at, fp),
            ).fetchone()[0]
            return (key is None or k == 1) and k > have

        pairs = set()
        for line, target, fp, key, at in voids:
            event = conn.execute(
                "SELECT line, fingerprint, key, at FROM staged WHERE src_id = ? ORDER BY line DESC LIMIT 1",
                (target,),
            ).fetchone()
            if not is_new(*event):
                continue  # a void of an event the ledger has: written as a correction of it
            pairs.add(target)
            if not is_new(line, fp, key, at):
                conn.execute("INSERT INTO forced VALUES (?)", (line,))
        return pairs

    def staged_new_rows(self, ws_id: int) -> Iterator[tuple[int, int | None, int | None, dict]]:
        """(line, src_id, corrects, the event's values) of each staged row the ledger lacks, in the order
        they are written: time, then a void after its event.

        A row is new when the file holds more copies of its content than the
        ledger does (so a file imported twice adds nothing); a key names one event
        however often the file repeats it; a row in forced is new.
        """
        conn = self._conn
        self._settle()
        cols = ", ".join(f"n.{c}" for c in STAGED)
        empty = conn.execute("SELECT NOT EXISTS (SELECT 1 FROM events WHERE workspace_id = ?)", (ws_id,)).fetchone()[0]
        if empty:  # nothing to compare with: only a repeated key is not new
            rows = self._stream(
                f"SELECT {cols} FROM staged n WHERE n.key IS NULL OR n.line IN"
                " (SELECT min(line) FROM staged WHERE key IS NOT NULL GROUP BY key)"
                " OR n.line IN (SELECT line FROM forced)"
                " ORDER BY n.at, n.corrects IS NOT NULL, n.line"
            )
        else:
            rows = self._stream(
                f"WITH n AS (SELECT *, row_number() OVER (PARTITION BY fingerprint ORDER BY line) AS k"
                f" FROM staged) SELECT {cols} FROM n WHERE (n.key IS NULL OR n.k = 1) AND n.k >"
                " (SELECT count(*) FROM events e WHERE e.workspace_id = ? AND e.at = n.at"
                " AND e.fingerprint = n.fingerprint)"
                " OR n.line IN (SELECT line FROM forced)"
                " ORDER BY n.at, n.corrects IS NOT NULL, n.line",
                (ws_id,),
            )
        for line, *values, src_id, corrects in rows:
            yield line, src_id, corrects, dict(zip(ROW, values, strict=True))

    def staged_in_ledger(self, ws_id: int, src_id: int) -> int | None:
        """The id of the ledger's copy, not yet voided, of the file's event `src_id` (imported before), or None.

        The copy is found by content: the same instant and fingerprint.
        """
        self._settle()
        at, fp = self._conn.execute(
            "SELECT at, fingerprint FROM staged WHERE src_id = ? ORDER BY line DESC LIMIT 1", (src_id,)
        ).fetchone()
        row = self._conn.execute(
            "SELECT id FROM events e WHERE workspace_id = ? AND at = ? AND fingerprint = ? AND corrects IS NULL"
            " AND NOT EXISTS (SELECT 1 FROM events v WHERE v.corrects = e.id) ORDER BY id LIMIT 1",
            (ws_id, at, fp),
        ).fetchone()
        return row[0] if row else None
