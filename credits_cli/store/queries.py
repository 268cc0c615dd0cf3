"""Report queries: keyword filters become a WHERE clause and parameters.

The CLI maps options to an EventFilter; this module knows SQL and nothing of
options or rendering.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

from ..domain.cycles import Interval, from_storage, storage
from ..domain.events import CONTENT_FIELDS
from ..records import record
from .base import Store
from .repo import EVENT_COLUMNS


@record
class EventFilter:
    pool: str | None = None
    app: str | None = None
    member: str | None = None
    action: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


def _equal(ws_id: int, f: EventFilter) -> tuple[list[str], list]:
    """The filter's equalities (the workspace, pool, app, member, action): events and usage_days alike."""
    clauses, params = ["workspace_id = ?"], [ws_id]
    for column in ("pool", "app", "member", "action"):
        value = getattr(f, column)
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    return clauses, params


def where(ws_id: int, f: EventFilter) -> tuple[str, list]:
    clauses, params = _equal(ws_id, f)
    if f.since is not None:
        clauses.append("at >= ?")
        params.append(storage(f.since))
    if f.until is not None:
        clauses.append("at < ?")
        params.append(storage(f.until))
    return " AND ".join(clauses), params


_DAY = timedelta(days=1)


def _parts(ws_id: int, f: EventFilter, by: tuple[str, ...]) -> tuple[str, list]:
    """A UNION ALL of (by..., c, n) rows covering the filter's range: its whole UTC days from usage_days,
    its partial days (the edges) from the events' covering indexes. Cost: days plus two days of events."""
    start, end = f.since, f.until
    first = None if start is None else _midnight(start, up=True)
    last = None if end is None else _midnight(end, up=False)
    if first is not None and last is not None and first >= last:  # no whole day: the events only
        sql, params = where(ws_id, f)
        return f"SELECT {', '.join(by + ('credits_milli AS c', '1 AS n'))} FROM events WHERE {sql}", params
    parts, params = [], []
    clauses, args = _equal(ws_id, f)
    if first is not None:
        clauses.append("day >= ?")
        args.append(first.date().isoformat())
    if last is not None:
        clauses.append("day < ?")
        args.append(last.date().isoformat())
    shown = [f"nullif({c}, '') AS {c}" if c in ("app", "member", "model") else c for c in by]
    parts.append(
        f"SELECT {', '.join(shown + ['credits_milli AS c', 'events AS n'])} FROM usage_days"
        f" WHERE {' AND '.join(clauses)}"
    )
    params += args
    for a, b in ((start, first), (last, end)):
        if a is not None and b is not None and a < b:
            sql, more = where(ws_id, EventFilter(f.pool, f.app, f.member, f.action, a, b))
            parts.append(f"SELECT {', '.join(by + ('credits_milli AS c', '1 AS n'))} FROM events WHERE {sql}")
            params += more
    return " UNION ALL ".join(parts), params


def _midnight(t: datetime, *, up: bool) -> datetime:
    """The UTC midnight at or after (up) / at or before `t`."""
    day = t.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day + _DAY if up and day < t else day


EXPORT_SHAPE = CONTENT_FIELDS[1:12]  # the content fields from pool to member (see below)


def shape_fields(shape) -> tuple:
    """The values of EXPORT_SHAPE's fields in a shape of `export_batches`."""
    if not isinstance(shape, str):
        return shape
    import json  # here, not at the top: `credits log` imports this module and never exports

    return tuple(json.loads(shape))


class Reports(Store):
    """The reports' reads: sums, groups, intervals and event listings under an EventFilter."""

    PACKED = "json_array({})"  # an export's shape: its fields as one JSON array text (see export_batches)
    GROUP_BY_VALUE = "+"  # see grouped(); PostgreSQL's planner needs no such hint (and has no unary + on text)

    def grouped(self, ws_id: int, f: EventFilter, by: tuple[str, ...]) -> list[tuple]:
        """(group values..., credits_milli, events) largest first, ties by name."""
        self._summarize()
        sql, params = _parts(ws_id, f, by)
        cols = ", ".join(by)
        # `+app` (GROUP_BY_VALUE): grouping by an expression keeps SQLite from walking an index in app order
        # (the whole history) to save a sort; the time range picks the index instead, and reads only its entries.
        return self._conn.execute(
            f"SELECT {cols}, sum(c) AS c, sum(n) FROM ({sql}) AS parts"
            f" GROUP BY {', '.join(self.GROUP_BY_VALUE + c for c in by)}"
            f" ORDER BY c DESC, {', '.join(f'{c} IS NOT NULL, {c}' for c in by)}",  # NULL first on both engines
            params,
        ).fetchall()

    def total(self, ws_id: int, f: EventFilter) -> tuple[int, int]:
        self._summarize()
        sql, params = _parts(ws_id, f, ())
        row = self._conn.execute(
            f"SELECT coalesce(sum(c), 0), coalesce(sum(n), 0) FROM ({sql}) AS parts", params
        ).fetchone()
        return row[0], row[1]

    def sum_credits(self, ws_id: int, pool: str, start: datetime, end: datetime) -> int:
        """Credits spent from a pool in [start, end) (kept for a bulk transaction, updated as it writes)."""
        a, b = storage(start), storage(end)
        return self._memoized(
            ("sum", ws_id, pool, a, b), lambda: self.total(ws_id, EventFilter(pool=pool, since=start, until=end))[0]
        )

    def per_interval(self, ws_id: int, f: EventFilter, intervals: list[Interval]) -> list[tuple[int, int]]:
        """(credits_milli, events) in each interval (whole UTC days from usage_days, the rest from the events)."""
        out = []
        for span in intervals:
            out.append(self.total(ws_id, EventFilter(f.pool, f.app, f.member, f.action, span.start, span.end)))
        return out

    def iter_events(self, ws_id: int, f: EventFilter, *, newest_first: bool = False, limit: int | None = None):
        """Stream events as dicts (a cursor, never the whole table in memory)."""
        sql, params = where(ws_id, f)
        order = "DESC" if newest_first else "ASC"
        tail = ""
        if limit:
            tail = " LIMIT ?"
            params = params + [limit]
        cur = self._conn.execute(
            f"SELECT {', '.join(EVENT_COLUMNS)} FROM events WHERE {sql} ORDER BY at {order}, id {order}{tail}", params
        )
        for row in cur:
            yield dict(zip(EVENT_COLUMNS, row, strict=True))

    def event(self, ws_id: int, event_id: int) -> dict | None:
        """One event of the workspace, its columns by name (storage values)."""
        self._settle()
        row = self._conn.execute(
            f"SELECT {', '.join(EVENT_COLUMNS)} FROM events WHERE workspace_id = ? AND id = ?", (ws_id, event_id)
        ).fetchone()
        return dict(zip(EVENT_COLUMNS, row, strict=True)) if row else None

    def paid_by(self, event_id: int) -> list[dict]:
        rows = self._conn.execute(
            "SELECT a.grant_id, g.source, a.credits_milli, g.starts_at, g.expires_at, g.reason FROM allocations a"
            " JOIN grants g ON g.id = a.grant_id WHERE a.event_id = ? ORDER BY a.rowid",
            (event_id,),
        ).fetchall()
        return [
            {
                "grant": r[0],
                "source": r[1],
                "credits": r[2],
                "starts_at": from_storage(r[3]),
                "expires_at": from_storage(r[4]) if r[4] else None,
                "reason": r[5],
            }
            for r in rows
        ]

    def names_used(self, ws_id: int, column: str, limit: int = 1000) -> list[str]:
        """The distinct names the workspace's events give `column` ("app" or "member"), in order, at most
        `limit`: a walk over its index (events_app_at, events_member_at), one seek a name, never a scan of
        the events however long the history."""
        if column not in ("app", "member"):
            raise ValueError(f"not a name column: {column!r}")
        rows = self._conn.execute(
            f"WITH RECURSIVE n(name, k) AS ("
            f" SELECT (SELECT min({column}) FROM events WHERE workspace_id = :ws), 1"
            f" UNION ALL SELECT (SELECT min({column}) FROM events WHERE workspace_id = :ws AND {column} > n.name),"
            " k + 1 FROM n WHERE n.name IS NOT NULL AND k < :limit)"
            " SELECT name FROM n WHERE name IS NOT NULL",
            {"ws": ws_id, "limit": limit},
        ).fetchall()
        return [r[0] for r in rows]

    # --- export ----------------------------------------------------------------------------------
    #
    # The export reads each event as six values: (id, at, shape, key, note, corrects). `at` is in ISO
    # form (`cycles.iso`: zero microseconds dropped). `shape` stands for the eleven fields from pool to
    # member (EXPORT_SHAPE), packed by the database into one JSON array text (`PACKED`): events repeat
    # their shapes (an app's usual action, at its usual price, by its usual member: a year of a busy
    # team's million events has some 26,000), so the export formats each shape once, and the driver
    # hands over 6 values a row instead of 16 (its cost is per value: it was a third of the export's
    # time, on either engine). A shape is also the key the export remembers its cells by: one string
    # is a third of the memory of a tuple of eleven values. `shape_fields` unpacks a shape.

    def _has_json(self) -> bool:
        try:
            self._conn.execute("SELECT json_array()")
            return True
        except sqlite3.OperationalError:  # an SQLite built without its JSON functions
            return False

    def export_batches(self, ws_id: int, f: EventFilter, *, size: int = 2000, packed: bool | None = None):
        """The events oldest first (by instant, then id), as lists of at most `size` rows
        (id, at, shape, key, note, corrects): a cursor read with fetchmany, so memory holds one batch
        whatever the size of the ledger. Without SQLite's JSON functions a shape is the tuple itself."""
        sql, params = where(ws_id, f)
        if packed is None:
            packed = self._has_json()
        shape = self.PACKED.format(", ".join(EXPORT_SHAPE)) if packed else ", ".join(EXPORT_SHAPE)
        # ORDER BY sorts the stored text (in ISO form 09:30:00Z would sort after 09:30:00.5Z).
        cur = self._stream(
            f"SELECT id, replace(at, '.000000Z', 'Z'), {shape}, key, note, corrects FROM events"
            f" WHERE {sql} ORDER BY at, id",
            params,
        )
        while True:
            batch = cur.fetchmany(size)
            if not batch:
                return
            yield batch if packed else [(r[0], r[1], r[2:13], r[13], r[14], r[15]) for r in batch]
