"""Budgets and alerts as the store reads and writes them."""

from __future__ import annotations

from datetime import datetime

from ..domain.cycles import storage
from .base import Store


class Foresight(Store):
    """Budgets (per app or member, per cycle) and alerts (thresholds on a pool)."""

    def budgets_for(self, ws_id: int, pool: str, app: str | None, member: str | None) -> list[tuple[str, str, int]]:
        """(kind, name, credits_milli) of the budgets an event of this app and member counts against."""
        return self._memoized(("budgets", ws_id, pool, app, member), lambda: self._conn.execute(
            "SELECT kind, name, credits_milli FROM budgets WHERE workspace_id = ? AND pool = ?"
            " AND ((kind = 'app' AND name = ?) OR (kind = 'member' AND name = ?))", (ws_id, pool, app, member),
        ).fetchall())

    def budget_used(self, ws_id: int, kind: str, name: str, pool: str, start: datetime, end: datetime) -> int:
        """Credits an app or a member (`kind`) spent from a pool in [start, end)."""
        column = {"app": "app", "member": "member"}[kind]
        self._settle()
        return self._conn.execute(
            f"SELECT coalesce(sum(credits_milli), 0) FROM events WHERE workspace_id = ? AND {column} = ?"
            " AND pool = ? AND at >= ? AND at < ?", (ws_id, name, pool, storage(start), storage(end)),
        ).fetchone()[0]

    def alerts_for(self, ws_id: int, pool: str) -> list[tuple]:
        """(id, at_percent, left_milli, by_mid_cycle, exec) of a pool's alerts."""
        return self._memoized(("alerts", ws_id, pool), lambda: self._conn.execute(
            "SELECT id, at_percent, left_milli, by_mid_cycle, exec FROM alerts WHERE workspace_id = ? AND pool = ?",
            (ws_id, pool),
        ).fetchall())
