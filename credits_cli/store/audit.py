"""What `check` and `doctor` read: recomputations of derived data, seals, guards, the file's health.

`Audit` is the Ledger's part for a ledger credits opened; the module's functions
read a file credits cannot open as a Ledger (damaged, or another program's), read-only
and as it is: nothing migrated, nothing written beside it.

Rows that `check` reads by the hundred thousand (events, allocations) come as
iterators of tuples, unpacked by the caller in the order each method names:
`check` keeps one pass and flat memory.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from datetime import datetime

from ..domain.cycles import from_storage
from ..domain.ledger import Grant
from . import schema, seals
from .base import Store

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (`credits log`'s start-up)
if TYPE_CHECKING:
    from .ledger import Ledger

_SYNCHRONOUS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


class Audit(Store):
    """What `check` and `doctor` read: recomputations of derived data, seals, guards, the file's health."""

    GROUP_CONCAT = "group_concat(a.grant_id || ':' || a.credits_milli)"  # an event's allocations as one text

    # -- check: each entry and each derived figure -------------------------------------------

    def event_contents(self, fields: tuple[str, ...]) -> Iterator[tuple[int, str | None, dict]]:
        """(id, stored fingerprint, {field: value} of `fields`) of every event, streamed."""
        cols = ", ".join(fields)
        for row in self._conn.execute(f"SELECT id, fingerprint, {cols} FROM events"):
            yield row[0], row[1], dict(zip(fields, row[2:], strict=True))

    def grant_draws(self) -> Iterator[tuple[int, int, int, int]]:
        """(grant id, amount, used as recorded, sum of its allocations) of every grant, in milli-credits."""
        return iter(
            self._conn.execute(
                "SELECT g.id, g.amount_milli, coalesce(u.used_milli, 0),"
                " (SELECT coalesce(sum(a.credits_milli), 0) FROM allocations a WHERE a.grant_id = g.id)"
                " FROM grants g LEFT JOIN grant_usage u ON u.grant_id = g.id"
            )
        )

    def voided(self) -> dict[int, int]:
        """{voided event id: the id of its void}."""
        return {r[0]: r[1] for r in self._conn.execute("SELECT corrects, id FROM events WHERE corrects IS NOT NULL")}

    def event_payments(self) -> Iterator[tuple[int, int, int | None, int]]:
        """(event id, its credits, the event it voids or None, sum of its allocations) of every event, streamed."""
        return iter(
            self._conn.execute(
                "SELECT e.id, e.credits_milli, e.corrects,"
                " (SELECT coalesce(sum(a.credits_milli), 0) FROM allocations a WHERE a.event_id = e.id)"
                " FROM events e"
            )
        )

    def allocation_places(self) -> Iterator[tuple]:
        """Every allocation with where and when its event and grant are, streamed: (event id, grant id,
        event's instant, event's pool, event's workspace id, grant's pool, grant's workspace id, grant's
        start, grant's expiry or None, the event it voids or None); instants as stored (text in time order)."""
        return iter(
            self._conn.execute(
                "SELECT e.id, g.id, e.at, e.pool, e.workspace_id, g.pool, g.workspace_id, g.starts_at, g.expires_at,"
                " e.corrects FROM allocations a JOIN events e ON e.id = a.event_id JOIN grants g ON g.id = a.grant_id"
            )
        )

    def usage_summary_differences(self, limit: int = 20) -> list[dict]:
        """Rows of the daily summary the reports read that differ from the same rows summed from the events:
        up to `limit` of those `missing from` it, then up to `limit` of those `not in` the events."""
        recomputed = schema.usage_days_rows()
        kept = "SELECT * FROM usage_days"
        out = []
        for side, sql in (("missing from", f"{recomputed} EXCEPT {kept}"), ("not in", f"{kept} EXCEPT {recomputed}")):
            for row in self._conn.execute(sql).fetchmany(limit):
                out.append(
                    {
                        "side": side,
                        "workspace_id": row[0],
                        "day": row[1],
                        "pool": row[2],
                        "app": row[3],
                        "member": row[4],
                        "action": row[5],
                        "model": row[6],
                        "credits": row[7],
                        "events": row[8],
                    }
                )
        return out

    # -- check: allocations repaid from the entries --------------------------------------

    def pools_with_events(self) -> list[tuple[int, str]]:
        """(workspace id, pool) of every pool that has events."""
        return self._conn.execute("SELECT DISTINCT workspace_id, pool FROM events").fetchall()

    def grants_less_voided(self, ws_id: int, pool: str) -> list[Grant]:
        """A pool's grants, each `used` by what voided events and their voids still hold of it."""
        frozen = dict(
            self._conn.execute(
                "SELECT a.grant_id, sum(a.credits_milli) FROM allocations a JOIN events e ON e.id = a.event_id"
                " WHERE e.workspace_id = ? AND e.pool = ? AND (e.corrects IS NOT NULL"
                " OR EXISTS (SELECT 1 FROM events v WHERE v.corrects = e.id)) GROUP BY a.grant_id",
                (ws_id, pool),
            )
        )
        return [
            Grant(
                r[0],
                pool,
                r[1],
                r[2],
                from_storage(r[3]),
                from_storage(r[4]) if r[4] else None,
                from_storage(r[5]),
                frozen.get(r[0], 0),
            )
            for r in self._conn.execute(
                "SELECT id, source, amount_milli, starts_at, expires_at, granted_at"
                " FROM grants WHERE workspace_id = ? AND pool = ?",
                (ws_id, pool),
            )
        ]

    def standing_events(self, ws_id: int, pool: str) -> Iterator[tuple[int, datetime, int, dict[int, int]]]:
        """(id, instant, credits, {grant id: milli-credits} as allocated) of a pool's events that are neither
        voids nor voided, in ledger order (time, then id), streamed."""
        rows = self._conn.execute(
            f"SELECT e.id, e.at, e.credits_milli, (SELECT {self.GROUP_CONCAT}"
            " FROM allocations a WHERE a.event_id = e.id) FROM events e WHERE e.workspace_id = ? AND e.pool = ?"
            " AND e.corrects IS NULL AND NOT EXISTS (SELECT 1 FROM events v WHERE v.corrects = e.id)"
            " ORDER BY e.at, e.id",
            (ws_id, pool),
        )
        for eid, at, cost, parts in rows:
            written = {int(g): int(m) for g, m in (p.split(":") for p in parts.split(","))} if parts else {}
            yield eid, from_storage(at), cost, written

    def void_draws(self) -> dict[int, dict[int, int]]:
        """{event id: {grant id: milli-credits}} of every void and every voided event (a void's are negative)."""
        drew: dict[int, dict[int, int]] = {}
        for eid, gid, milli in self._conn.execute(
            "SELECT a.event_id, a.grant_id, a.credits_milli FROM allocations a WHERE a.event_id IN"
            " (SELECT corrects FROM events WHERE corrects IS NOT NULL UNION SELECT id FROM events"
            " WHERE corrects IS NOT NULL)"
        ):
            drew.setdefault(eid, {})[gid] = milli
        return drew

    def voided_grants_expiry(self) -> dict[int, str | None]:
        """{grant id: its expiry as stored, or None} of the grants voided events drew on."""
        return dict(
            self._conn.execute(
                "SELECT id, expires_at FROM grants WHERE id IN (SELECT grant_id FROM allocations WHERE event_id IN"
                " (SELECT corrects FROM events WHERE corrects IS NOT NULL))"
            )
        )

    def voids(self) -> list[tuple[int, int, str]]:
        """(void's id, the id of the event it voids, when the void was recorded, as stored) in id order."""
        return self._conn.execute(
            "SELECT id, corrects, recorded_at FROM events WHERE corrects IS NOT NULL ORDER BY id"
        ).fetchall()

    # -- check: seals and guards ------------------------------------------------------------

    def seal_problems(self, limit: int = 20) -> list[dict]:
        """Every entry against its seal and its chain (see seals.verify)."""
        return seals.verify(self._conn, limit)

    def guard_differences(self) -> list[dict]:
        """The triggers, indexes and views a new ledger of this schema has that this one lacks (`missing`) or holds
        otherwise (not `missing`: replaced), by kind and name: {"kind", "name", "missing", "summary"};
        `summary`: the trigger that keeps the daily summary."""
        have = self._guards()
        out = []
        for (kind, name), sql in sorted(self._expected_guards().items()):
            if name.startswith("idx__sqlite_migrations"):
                continue  # the migrations table's own, sqlite-utils'
            if (kind, name) not in have:
                missing = True
            elif " ".join((have[(kind, name)] or "").split()) != " ".join((sql or "").split()):
                missing = False
            else:
                continue
            out.append(
                {"kind": kind, "name": name, "missing": missing, "summary": name == schema.USAGE_DAYS_TRIGGER_NAME}
            )
        return out

    def _guards(self) -> dict[tuple[str, str], str | None]:
        return schema.guards(self._conn)

    def _expected_guards(self) -> dict[tuple[str, str], str | None]:
        return schema.expected_guards()

    # -- doctor: the file -----------------------------------------------------------------

    def schema_version(self) -> int:
        return self._conn.execute("PRAGMA user_version").fetchone()[0]

    def migrations_applied(self) -> list[str]:
        """The names of credits' migrations applied to this file, in order."""
        return [
            r[0]
            for r in self._conn.execute(
                "SELECT name FROM _sqlite_migrations WHERE migration_set = 'credits' ORDER BY rowid"
            )
        ]

    def journal_mode(self) -> str:
        return self._conn.execute("PRAGMA journal_mode").fetchone()[0]

    def synchronous(self) -> str:
        """OFF, NORMAL, FULL or EXTRA."""
        return _SYNCHRONOUS[self._conn.execute("PRAGMA synchronous").fetchone()[0]]

    def integrity_problems(self, limit: int = 100) -> list[str]:
        """SQLite's integrity check: ["ok"], or up to `limit` lines of what is wrong (its headings left out)."""
        found = [r[0] for r in self._conn.execute(f"PRAGMA integrity_check({int(limit)})")]
        return [line for line in found if not line.startswith("*** in database")]

    def is_ledger_file(self, path: str | os.PathLike) -> bool:
        """Whether `path` names the ledger's own file (or its -wal or -shm): writing it would destroy the ledger."""
        from pathlib import Path

        ledger = Path(self._conn.execute("PRAGMA database_list").fetchone()[2]).resolve()
        return Path(path).resolve() in (ledger, Path(str(ledger) + "-wal"), Path(str(ledger) + "-shm"))


# -- a file credits cannot open as a Ledger --------------------------------------------------


def is_expected_schema(version: int, applied: list[str]) -> bool:
    """Whether a file's schema version and migrations are this credits': every migration, in any order (a
    ledger made by a build of one branch gets the others' migrations later, each by its name)."""
    return version == schema.VERSION and sorted(applied) == sorted(schema.NAMES)


def sqlite_version() -> tuple[tuple[int, ...], str]:
    """The SQLite library's version: as numbers to compare, and as text."""
    return sqlite3.sqlite_version_info, sqlite3.sqlite_version


def _read_only(path) -> sqlite3.Connection:
    """The file as SQLite reads it, read-only and immutable: nothing written beside it (no -wal, no -shm)."""
    from urllib.parse import quote

    return sqlite3.connect(f"file:{quote(os.path.abspath(path))}?mode=ro&immutable=1", uri=True)


def readable(path) -> bool:
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


def last_exports(path, store: Ledger | None = None) -> list[dict]:
    """The last exports credits wrote to files (Ledger.last_exports), from `store`, or when credits could not
    open the file, read from it read-only and as it is (no migration); [] when SQLite cannot read them."""
    from .ledger import Ledger

    raw = None
    try:
        if store is None:
            store = raw = Ledger(_read_only(path))
        return store.last_exports()
    except sqlite3.DatabaseError:
        return []
    finally:
        if raw is not None:
            raw.close()
