"""Budgets and alerts as the store reads and writes them, and the reads behind forecasts and advice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from ..domain.cycles import from_storage, storage
from ..records import record
from . import seals
from .base import Store


@record
class Budget:
    kind: str  # app or member
    name: str
    pool: str
    credits: int  # milli-credits a cycle


@record
class Alert:
    id: int
    pool: str
    at_percent: int | None  # fires when this share of the cycle's allowance is used ...
    left: int | None  # ... or when this many milli-credits or fewer are left
    by_mid_cycle: bool  # only before the middle of the cycle
    exec: str | None  # a shell command run when it fires
    expiring_days: int | None = None  # ... or: fires for each bonus grant whose unused credits expire this soon


# The events of [:a, :b) that count as use: neither a void nor an event a void took back.
_COUNTED = (
    "FROM events WHERE workspace_id = :ws AND at >= :a AND at < :b AND corrects IS NULL"
    " AND id NOT IN (SELECT corrects FROM events WHERE workspace_id = :ws AND corrects IS NOT NULL)"
)


class Foresight(Store):
    """Budgets (per app or member, per cycle), alerts (thresholds on a pool), and the history that
    forecasts and advice read."""

    # --- budgets ---------------------------------------------------------------------------

    def budgets(self, ws_id: int) -> list[Budget]:
        """The workspace's budgets, by kind, name and pool."""
        return [
            Budget(*r)
            for r in self._conn.execute(
                "SELECT kind, name, pool, credits_milli FROM budgets WHERE workspace_id = ? ORDER BY kind, name, pool",
                (ws_id,),
            ).fetchall()
        ]

    def budget_limits(self, ws_id: int, kind: str, pool: str) -> dict[str, int]:
        """{name: credits_milli} of the budgets of one kind (app or member) on a pool."""
        return dict(
            self._conn.execute(
                "SELECT name, credits_milli FROM budgets WHERE workspace_id = ? AND kind = ? AND pool = ?",
                (ws_id, kind, pool),
            ).fetchall()
        )

    def set_budget(self, ws_id: int, kind: str, name: str, pool: str, credits: int, created_at: datetime) -> None:
        """The budget of an app or a member on a pool, replacing the one it had."""
        self._budgets_changed(ws_id)
        for (old,) in self._conn.execute(
            "SELECT id FROM budgets WHERE workspace_id = ? AND kind = ? AND name = ? AND pool = ?",
            (ws_id, kind, name, pool),
        ).fetchall():
            seals.remove(self._conn, "budgets", old)
        seals.append(
            self._conn,
            "budgets",
            {
                "workspace_id": ws_id,
                "kind": kind,
                "name": name,
                "pool": pool,
                "credits_milli": credits,
                "created_at": storage(created_at),
            },
        )

    def remove_budgets(self, ws_id: int, kind: str, name: str, pool: str | None = None) -> int:
        """Remove the budgets of an app or a member (on one pool, or all); how many there were."""
        self._budgets_changed(ws_id)
        sql = "SELECT id FROM budgets WHERE workspace_id = ? AND kind = ? AND name = ?"
        params: list = [ws_id, kind, name]
        if pool is not None:
            sql += " AND pool = ?"
            params.append(pool)
        ids = [r[0] for r in self._conn.execute(sql, params).fetchall()]
        for budget_id in ids:
            seals.remove(self._conn, "budgets", budget_id)
        return len(ids)

    def _budgets_changed(self, ws_id: int) -> None:
        if self._memo:
            self._drop(*[k for k in self._memo if k[0] == "budgets" and k[1] == ws_id])

    # --- alerts ----------------------------------------------------------------------------

    def alerts(self, ws_id: int) -> list[Alert]:
        """The workspace's alerts, oldest first."""
        return [
            Alert(r[0], r[1], r[2], r[3], bool(r[4]), r[5], r[6])
            for r in self._conn.execute(
                "SELECT id, pool, at_percent, left_milli, by_mid_cycle, exec, expiring_days FROM alerts"
                " WHERE workspace_id = ? ORDER BY id",
                (ws_id,),
            ).fetchall()
        ]

    def insert_alert(
        self,
        ws_id: int,
        pool: str,
        at_percent: int | None,
        left: int | None,
        by_mid_cycle: bool,
        command: str | None,
        created_at: datetime,
        expiring_days: int | None = None,
    ) -> int:
        self._alerts_changed(ws_id)
        return seals.append(
            self._conn,
            "alerts",
            {
                "workspace_id": ws_id,
                "pool": pool,
                "at_percent": at_percent,
                "left_milli": left,
                "by_mid_cycle": int(by_mid_cycle),
                "exec": command,
                "created_at": storage(created_at),
                "expiring_days": expiring_days,
            },
        )

    def remove_alert(self, ws_id: int, alert_id: int) -> bool:
        """Remove one of the workspace's alerts; False when it has no such alert."""
        row = self._conn.execute("SELECT 1 FROM alerts WHERE workspace_id = ? AND id = ?", (ws_id, alert_id)).fetchone()
        if row is None:
            return False
        self._alerts_changed(ws_id)
        seals.remove(self._conn, "alerts", alert_id)
        return True

    def _alerts_changed(self, ws_id: int) -> None:
        """Every pool's reading of the workspace's alerts (alerts_for): one on expiring credits is any pool's."""
        if self._memo:
            self._drop(*[k for k in self._memo if k[0] == "alerts" and k[1] == ws_id])

    # --- the outbox, counted ------------------------------------------------------------------

    def notifications_between(self, ws_id: int, start: datetime, end: datetime) -> int:
        """How many notices the workspace's outbox received in [start, end)."""
        return self._conn.execute(
            "SELECT count(*) FROM notifications WHERE workspace_id = ? AND at >= ? AND at < ?",
            (ws_id, storage(start), storage(end)),
        ).fetchone()[0]

    # --- the history advice reads (events in [start, end) that count as use) ---------------------

    def counted_uses(self, ws_id: int, start: datetime, end: datetime) -> list[tuple[datetime, str, int]]:
        """(at, pool, credits_milli) of each event."""
        self._settle()
        return [
            (from_storage(at), pool, credits)
            for at, pool, credits in self._conn.execute(
                f"SELECT at, pool, credits_milli {_COUNTED}", _span(ws_id, start, end)
            ).fetchall()
        ]

    def top_spending(
        self, ws_id: int, start: datetime, end: datetime, limit: int = 3
    ) -> list[tuple[str, str | None, int]]:
        """(action, app, credits_milli) of the `limit` action and app pairs that spent the most."""
        self._settle()
        return self._conn.execute(
            f"SELECT action, app, sum(credits_milli) AS c {_COUNTED} GROUP BY action, app ORDER BY c DESC LIMIT :n",
            {**_span(ws_id, start, end), "n": limit},
        ).fetchall()

    def calls(
        self, ws_id: int, start: datetime, end: datetime
    ) -> Iterator[tuple[datetime, str, str | None, int, str | None]]:
        """(at, action, app, quantity, input_hash) of each event, read as it is walked."""
        self._settle()
        for at, action, app, qty, input_hash in self._conn.execute(
            f"SELECT at, action, app, quantity, input_hash {_COUNTED}", _span(ws_id, start, end)
        ):
            yield from_storage(at), action, app, qty, input_hash

    def paid_calls_of_model(self, ws_id: int, start: datetime, end: datetime, model: str) -> list[tuple[str, int]]:
        """(action, quantity) of the calls with a cost that ran on `model`, summed by action."""
        self._settle()
        params = {**_span(ws_id, start, end), "model": model}
        return self._conn.execute(
            f"SELECT action, sum(quantity) {_COUNTED} AND model = :model AND credits_milli > 0 GROUP BY action", params
        ).fetchall()


def _span(ws_id: int, start: datetime, end: datetime) -> dict:
    return {"ws": ws_id, "a": storage(start), "b": storage(end)}
