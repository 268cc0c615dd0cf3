"""The ledger's entries as the store reads and writes them. No business rules live here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ..domain.cycles import from_storage, storage
from ..domain.ledger import Grant, PlanChange
from ..records import record
from . import seals
from .base import Store
from .schema import EVENT_COLUMNS

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (`credits log`'s start-up)
if TYPE_CHECKING:
    from collections.abc import Callable


@record
class WorkspaceRow:
    id: int
    name: str
    plan: str
    billing: str
    anchor: datetime
    timezone: str
    created_at: datetime


def _ws(row) -> WorkspaceRow:
    return WorkspaceRow(row[0], row[1], row[2], row[3], from_storage(row[4]), row[5], from_storage(row[6]))


_WS_COLS = "id, name, plan, billing, anchor, timezone, created_at"


_GRANT_SELECT = (
    "SELECT g.id, g.pool, g.source, g.amount_milli, g.starts_at, g.expires_at, g.granted_at,"
    " coalesce(u.used_milli, 0) FROM grants g LEFT JOIN grant_usage u ON u.grant_id = g.id"
)

# A grant as listed: what _grant reads, and why it was given (its reason, the ninth column).
_LISTED = (
    "SELECT g.id, g.pool, g.source, g.amount_milli, g.starts_at, g.expires_at, g.granted_at,"
    " coalesce(u.used_milli, 0), g.reason FROM grants g LEFT JOIN grant_usage u ON u.grant_id = g.id"
)


def _grant(row) -> Grant:
    return Grant(
        id=row[0],
        pool=row[1],
        source=row[2],
        amount=row[3],
        starts_at=from_storage(row[4]),
        expires_at=from_storage(row[5]) if row[5] else None,
        granted_at=from_storage(row[6]),
        used=row[7],
    )


def _by_id(grants: list[Grant]) -> dict[int, Grant]:
    """Stored grants by their id (a grant read from the store has one)."""
    out = {}
    for g in grants:
        assert g.id is not None
        out[g.id] = g
    return out


# Milli-credits drawn from a grant, added to what it has paid so far (derived: kept with its allocations).
_ADD_USAGE = (
    "INSERT INTO grant_usage (grant_id, used_milli) VALUES (?, ?)"
    " ON CONFLICT(grant_id) DO UPDATE SET used_milli = grant_usage.used_milli + excluded.used_milli"
)

_BUDGET_COLUMNS = {"app": "app", "member": "member"}  # a budget's kind: the events column it counts


class WriteBuffer:
    """Events and allocations written in bulk (executemany) by an import, inside its transaction.

    Held by the store in a buffered bulk transaction: every read of events, allocations or grant
    usage flushes it first (`Store._settle`), so no reader sees a state the
    buffer has not written yet. Ids and seals are given here by a seals.Appender: each
    workspace's chain is followed in memory and its head written with the rows.
    """

    SIZE = 5_000

    def __init__(self, conn, insert: Callable[[str, tuple[str, ...], list[tuple]], None]):
        self.conn = conn
        self.insert = insert  # the store's way to insert many rows (Store._insert)
        self.events: list[tuple] = []
        self.allocations: list[tuple] = []
        self.usage: dict[int, int] = {}
        self.chains = seals.Appender(conn, "events")

    def event(self, ws_id: int, values: dict) -> int:
        row = self.chains.row((ws_id, *map(values.get, EVENT_COLUMNS[1:])))
        self.events.append(row)
        if len(self.events) >= self.SIZE:
            self.flush()
        return row[0]

    def allocate(self, event_id: int, parts: list[tuple[int, int]]) -> None:
        for grant_id, milli in parts:
            self.allocations.append((event_id, grant_id, milli))
            self.usage[grant_id] = self.usage.get(grant_id, 0) + milli

    def flush(self) -> None:
        if self.events:
            self.insert("events", self.chains.columns, self.events)
            self.chains.write_heads()
        if self.allocations:
            self.insert("allocations", ("event_id", "grant_id", "credits_milli"), self.allocations)
        if self.usage:
            self.conn.executemany(_ADD_USAGE, list(self.usage.items()))
        self.discard()

    def discard(self) -> None:
        """Forget the rows and the chains (their heads are read again, and ids taken again, after a flush)."""
        self.events, self.allocations, self.usage = [], [], {}
        self.chains = seals.Appender(self.conn, "events")


class Entries(Store):
    """Workspaces, grants, events and their allocations, plan changes, the simulated clock,
    notifications, apps, exports."""

    def get_workspace(self, name: str) -> WorkspaceRow | None:
        def read():
            row = self._conn.execute(
                f"SELECT {_WS_COLS} FROM workspaces WHERE name = ?{self._row_lock()}", (name,)
            ).fetchone()
            return _ws(row) if row else None

        return self._memoized(("workspace", name), read, keep=lambda ws: ws is not None)

    def insert_workspace(self, name, plan, billing, anchor, timezone, created_at) -> WorkspaceRow:
        seals.append(
            self._conn,
            "workspaces",
            {
                "name": name,
                "plan": plan,
                "billing": billing,
                "anchor": storage(anchor),
                "timezone": timezone,
                "created_at": storage(created_at),
            },
        )
        ws = self.get_workspace(name)
        assert ws is not None  # just written, in this transaction
        return ws

    def update_workspace(self, ws_id, plan, billing, anchor, timezone) -> None:
        self._conn.execute(
            "UPDATE workspaces SET plan = ?, billing = ?, anchor = ?, timezone = ? WHERE id = ?",
            (plan, billing, storage(anchor), timezone, ws_id),
        )
        seals.reseal(self._conn, "workspaces", ws_id)

    def count_entries(self, ws_id) -> int:
        """Entries written for a workspace: events, grants, plan changes, shares."""
        return self._conn.execute(
            "SELECT (SELECT count(*) FROM events WHERE workspace_id = :ws) + (SELECT count(*) FROM grants"
            " WHERE workspace_id = :ws) + (SELECT count(*) FROM plan_changes WHERE workspace_id = :ws)"
            " + (SELECT count(*) FROM shares WHERE workspace_id = :ws)",
            {"ws": ws_id},
        ).fetchone()[0]

    # --- grants -------------------------------------------------------------------

    def grants_overlapping(self, ws_id: int, pool: str, start: datetime, end: datetime) -> list[Grant]:
        """Grants of a pool live at some instant of [start, end]."""
        self._settle()
        rows = self._conn.execute(
            _GRANT_SELECT + " WHERE g.workspace_id = ? AND g.pool = ? AND g.starts_at <= ?"
            " AND (g.expires_at IS NULL OR g.expires_at > ?)",
            (ws_id, pool, storage(end), storage(start)),
        ).fetchall()
        return [_grant(r) for r in rows]

    def allowance_grant(self, ws_id: int, pool: str, starts_at: datetime) -> Grant | None:
        self._settle()
        row = self._conn.execute(
            _GRANT_SELECT + " WHERE g.workspace_id = ? AND g.pool = ? AND g.source = 'allowance' AND g.starts_at = ?",
            (ws_id, pool, storage(starts_at)),
        ).fetchone()
        return _grant(row) if row else None

    def insert_grant(self, ws_id, pool, source, amount, starts_at, expires_at, granted_at, reason=None) -> int:
        if self._memo:
            self._memo.pop(("grants", ws_id, pool), None)
        return seals.append(
            self._conn,
            "grants",
            {
                "workspace_id": ws_id,
                "pool": pool,
                "source": source,
                "amount_milli": amount,
                "starts_at": storage(starts_at),
                "expires_at": storage(expires_at) if expires_at else None,
                "granted_at": storage(granted_at),
                "reason": reason,
            },
        )

    def ensure_allowance(
        self, ws_id: int, pool: str, starts_at: datetime, make: Callable[[], tuple[Grant, str]]
    ) -> None:
        """Write a cycle's allowance grant, and its reason, as make() gives them, unless it is written already
        (asked once a bulk transaction)."""

        def write_once() -> bool:
            if self.allowance_grant(ws_id, pool, starts_at) is None:
                grant, reason = make()
                self.insert_grant(
                    ws_id,
                    grant.pool,
                    "allowance",
                    grant.amount,
                    grant.starts_at,
                    grant.expires_at,
                    grant.granted_at,
                    reason,
                )
            return True

        self._memoized(("allowance", ws_id, pool, starts_at), write_once)

    def drawn(self, event_id: int) -> list[tuple[int, int, datetime | None]]:
        """(grant, credits_milli, the grant's expiry) of what an event drew."""
        self._settle()
        rows = self._conn.execute(
            "SELECT a.grant_id, a.credits_milli, g.expires_at FROM allocations a JOIN grants g ON g.id = a.grant_id"
            " WHERE a.event_id = ?",
            (event_id,),
        ).fetchall()
        return [(g, milli, from_storage(expires) if expires else None) for g, milli, expires in rows]

    # --- events -------------------------------------------------------------------

    def event_by_key(self, ws_id: int, key: str) -> dict | None:
        self._settle()
        row = self._conn.execute(
            f"SELECT {', '.join(EVENT_COLUMNS)} FROM events WHERE workspace_id = ? AND key = ?", (ws_id, key)
        ).fetchone()
        return dict(zip(EVENT_COLUMNS, row, strict=True)) if row else None

    def insert_event(self, ws_id: int, values: dict) -> int:
        buffer = self._pending
        if buffer is not None:
            event_id = buffer.event(ws_id, values)
        else:
            event_id = seals.append(self._conn, "events", {**values, "workspace_id": ws_id})
        self._inserted(ws_id, values)
        return event_id

    def _inserted(self, ws_id: int, values: dict) -> None:
        memo = self._memo
        if memo:  # the pool totals this transaction holds now include the event
            at, pool = values["at"], values["pool"]
            for key in memo:
                if key[0] == "sum" and key[1:3] == (ws_id, pool) and key[3] <= at < key[4]:
                    memo[key] += values["credits_milli"]
            last = ("last", ws_id, pool)
            if last in memo and (memo[last] is None or memo[last] < at):
                memo[last] = at

    def nothing_after(self, ws_id: int, pool: str, t: datetime) -> bool:
        """True when the pool has no event after `t` (the common case: a use logged as it happens)."""
        last = self._memoized(
            ("last", ws_id, pool),
            lambda: self._conn.execute(
                "SELECT max(at) FROM events WHERE workspace_id = ? AND pool = ?", (ws_id, pool)
            ).fetchone()[0],
        )
        return last is None or last <= storage(t)

    def live_grants(self, ws_id: int, pool: str, start: datetime, end: datetime) -> dict[int, Grant]:
        """grants_overlapping as {id: grant}; inside log --batch, kept for the transaction (see `drew`)."""
        memo = self._memo
        if memo is None:
            return _by_id(self.grants_overlapping(ws_id, pool, start, end))
        key = ("grants", ws_id, pool)
        held = memo.get(key)
        if held is None or held[0] > start:  # everything live at or after `since`, with what each has given
            forever = datetime.max.replace(tzinfo=start.tzinfo)
            held = memo[key] = (start, _by_id(self.grants_overlapping(ws_id, pool, start, forever)))
        return {
            i: g for i, g in held[1].items() if g.starts_at <= end and (g.expires_at is None or g.expires_at > start)
        }

    def drew(self, ws_id: int, pool: str, grant: Grant) -> None:
        """Keep the transaction's copy of a grant in step with what was drawn from it."""
        memo = self._memo
        held = memo.get(("grants", ws_id, pool)) if memo else None
        if held is not None:
            held[1][grant.id] = grant

    def events_after(
        self, ws_id: int, pool: str, t: datetime, after_id: int | None = None
    ) -> list[tuple[int, datetime, int]]:
        """(id, at, credits) of the pool's events after `t` in ledger order (time, then id): strictly after
        it, or at `t` itself with an id above `after_id` (the events logged after a voided one at its instant).

        Voided events and their correcting entries keep the allocations they have.
        """
        self._settle()
        # NOT EXISTS: one events_corrects lookup a row (NOT IN with the workspace read every event of it)
        rows = self._conn.execute(
            "SELECT id, at, credits_milli FROM events e WHERE workspace_id = ? AND pool = ?"
            " AND (at > ? OR at = ? AND id > ?) AND corrects IS NULL"
            " AND NOT EXISTS (SELECT 1 FROM events v WHERE v.corrects = e.id) ORDER BY at, id",
            (ws_id, pool, storage(t), storage(t), after_id if after_id is not None else 2**63 - 1),
        ).fetchall()
        return [(r[0], from_storage(r[1]), r[2]) for r in rows]

    def remove_allocations(self, event_ids: list[int]) -> None:
        """Take back what some events drew (before they are allocated again in time order)."""
        self._settle()
        if self._memo:
            for key in [k for k in self._memo if k[0] == "grants"]:
                del self._memo[key]
        for event_id in event_ids:
            for grant_id, milli in self._conn.execute(
                "SELECT grant_id, credits_milli FROM allocations WHERE event_id = ?", (event_id,)
            ).fetchall():
                self._conn.execute(
                    "UPDATE grant_usage SET used_milli = used_milli - ? WHERE grant_id = ?", (milli, grant_id)
                )
            self._conn.execute("DELETE FROM allocations WHERE event_id = ?", (event_id,))

    def add_allocations(self, event_id: int, parts: list[tuple[int, int]]) -> None:
        buffer = self._pending
        if buffer is not None:
            buffer.allocate(event_id, parts)
            return
        send = seals.send(self._conn)
        for grant_id, milli in parts:
            send(
                "INSERT INTO allocations (event_id, grant_id, credits_milli) VALUES (?, ?, ?)",
                (event_id, grant_id, milli),
            )
            send(_ADD_USAGE, (grant_id, milli))

    # --- what a log checks: the budgets it counts against, the alerts it may cross --------------------

    def budgets_for(self, ws_id: int, pool: str, app: str | None, member: str | None) -> list[tuple[str, str, int]]:
        """(kind, name, credits_milli) of the budgets an event of this app and member counts against."""
        return self._memoized(
            ("budgets", ws_id, pool, app, member),
            lambda: self._conn.execute(
                "SELECT kind, name, credits_milli FROM budgets WHERE workspace_id = ? AND pool = ?"
                " AND ((kind = 'app' AND name = ?) OR (kind = 'member' AND name = ?))",
                (ws_id, pool, app, member),
            ).fetchall(),
        )

    def budget_used(self, ws_id: int, kind: str, name: str, pool: str, start: datetime, end: datetime) -> int:
        """Credits an app or a member (`kind`) spent from a pool in [start, end): what its budget counts."""
        self._settle()
        return self._conn.execute(
            f"SELECT coalesce(sum(credits_milli), 0) FROM events WHERE workspace_id = ? AND {_BUDGET_COLUMNS[kind]} = ?"
            " AND pool = ? AND at >= ? AND at < ?",
            (ws_id, name, pool, storage(start), storage(end)),
        ).fetchone()[0]

    def alerts_for(self, ws_id: int, pool: str) -> list[tuple]:
        """(id, pool, at_percent, left_milli, by_mid_cycle, exec, expiring_days) of the alerts a log on `pool`
        checks: the pool's, and those on expiring credits of any pool; `exec`: the command a log that crosses one
        runs (ALERT_EXEC)."""
        return self._memoized(
            ("alerts", ws_id, pool),
            lambda: self._conn.execute(
                f"SELECT id, pool, at_percent, left_milli, by_mid_cycle, {self.ALERT_EXEC}, expiring_days FROM alerts"
                " WHERE workspace_id = ? AND (pool = ? OR expiring_days IS NOT NULL) ORDER BY id",
                (ws_id, pool),
            ).fetchall(),
        )

    def grants_expiring(self, ws_id: int, pool: str, now: datetime, until: datetime) -> list[tuple[Grant, str | None]]:
        """A pool's grants live at `now` that expire at or before `until`, with why each was given, the soonest
        expiry first (`balance`, and a log that checks an alert on expiring credits: here, beside what a log
        reads, so that such a log loads no other part of the store)."""
        self._settle()
        rows = self._conn.execute(
            f"{_LISTED} WHERE g.workspace_id = ? AND g.pool = ? AND g.starts_at <= ? AND g.expires_at > ?"
            " AND g.expires_at <= ? ORDER BY g.expires_at, g.id",
            (ws_id, pool, storage(now), storage(now), storage(until)),
        )
        return [(_grant(r), r[8]) for r in rows.fetchall()]

    # --- plans ---------------------------------------------------------------------

    def plan_changes(self, ws_id: int) -> list[PlanChange]:
        def read():
            rows = self._conn.execute(
                "SELECT plan, billing, requested_at, effective_at FROM plan_changes WHERE workspace_id = ? ORDER BY id",
                (ws_id,),
            ).fetchall()
            return [PlanChange(r[0], r[1], from_storage(r[2]), from_storage(r[3])) for r in rows]

        return self._memoized(("plans", ws_id), read)

    def insert_plan_change(self, ws_id: int, plan: str, billing: str, requested_at, effective_at) -> None:
        if self._memo:
            self._memo.pop(("plans", ws_id), None)
        seals.append(
            self._conn,
            "plan_changes",
            {
                "workspace_id": ws_id,
                "plan": plan,
                "billing": billing,
                "requested_at": storage(requested_at),
                "effective_at": storage(effective_at),
            },
        )

    # --- the simulated clock -----------------------------------------------------------

    def sim_clock(self, ws_id: int):
        def read():
            row = self._conn.execute("SELECT now FROM sim_clock WHERE workspace_id = ?", (ws_id,)).fetchone()
            return from_storage(row[0]) if row else None

        return self._memoized(("clock", ws_id), read)

    def set_sim_clock(self, ws_id: int, now) -> None:
        if self._memo:
            self._memo.pop(("clock", ws_id), None)
        if now is None:
            self._conn.execute("DELETE FROM sim_clock WHERE workspace_id = ?", (ws_id,))
        else:
            self._conn.execute(
                "INSERT INTO sim_clock (workspace_id, now) VALUES (?, ?)"
                " ON CONFLICT (workspace_id) DO UPDATE SET now = excluded.now",
                (ws_id, storage(now)),
            )

    # --- notifications ----------------------------------------------------------------------

    def notify(self, ws_id: int, kind: str, pool: str | None, at, message: str, once: str | None = None) -> bool:
        """Add to the outbox; with `once`, a second notice of the same key is dropped."""
        return (
            seals.append_once(
                self._conn,
                "notifications",
                {
                    "workspace_id": ws_id,
                    "kind": kind,
                    "pool": pool,
                    "at": storage(at),
                    "message": message,
                    "once": once,
                },
            )
            is not None
        )

    # --- apps (a plan's max_apps) ------------------------------------------------------------

    def app_firsts(self, ws_id: int) -> dict[str, tuple[str, int]]:
        """Each app of the workspace's events -> (instant, id) of its first event.

        A walk over the distinct apps of events_app_at(workspace_id, app, at, ...): a few index seeks an
        app, never a scan of the events, however long the history (`credits log` asks it on every call
        with --app on a plan with max_apps). Kept for a transaction's length when the connection caches
        (log --batch, import) and updated by `app_seen` as events are written.
        """

        def read():
            rows = self._conn.execute(
                "WITH RECURSIVE a(app) AS ("
                " SELECT (SELECT min(app) FROM events WHERE workspace_id = :ws)"
                " UNION ALL SELECT (SELECT min(app) FROM events WHERE workspace_id = :ws AND app > a.app)"
                " FROM a WHERE a.app IS NOT NULL),"
                " f(app, at) AS (SELECT app, (SELECT min(at) FROM events WHERE workspace_id = :ws AND app = a.app)"
                " FROM a WHERE a.app IS NOT NULL)"
                " SELECT app, at, (SELECT min(id) FROM events WHERE workspace_id = :ws AND app = f.app AND at = f.at)"
                " FROM f",
                {"ws": ws_id},
            ).fetchall()
            return {app: (at, first) for app, at, first in rows}

        return self._memoized(("apps", ws_id), read)

    def app_seen(self, ws_id: int, app: str | None, at: str, event_id: int) -> None:
        """An event of `app` was written: the apps this transaction holds (if any) know it."""
        held = self._memo.get(("apps", ws_id)) if app is not None and self._memo else None
        if held is not None and (app not in held or (at, event_id) < held[app]):
            held[app] = (at, event_id)

    # --- exports (where copies of the ledger went) ------------------------------------------------------

    def record_export(self, ws_id: int, path: str, fmt: str, at, events: int, size: int, whole: bool) -> None:
        self._conn.execute(
            "INSERT INTO exports (workspace_id, path, format, at, events, bytes, whole) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (ws_id, path, fmt, storage(at), events, size, int(whole)),
        )

    def last_exports(self, limit: int = 20) -> list[dict]:
        """The newest exports written to a file, newest first, with their workspace's name."""
        rows = self._conn.execute(
            "SELECT x.path, x.format, x.at, x.events, x.bytes, x.whole, w.name FROM exports x"
            " LEFT JOIN workspaces w ON w.id = x.workspace_id ORDER BY x.id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [
            {
                "path": r[0],
                "format": r[1],
                "at": from_storage(r[2]),
                "events": r[3],
                "bytes": r[4],
                "whole": bool(r[5]),
                "workspace": r[6],
            }
            for r in rows
        ]
