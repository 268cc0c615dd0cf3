"""A ledger's entries copied into another ledger (`credits copy`): read table by table in id order, a page
at a time, from one store, and written into another, on either engine.

Two ways to write them:
- as they are (`paste`): ids, prev_ids and seals kept, and the chains' heads (`seal_heads`) copied with
  them. Only the whole ledger, into a ledger that holds no entry: no id can collide, and every chain
  arrives whole.
- renumbered (`append_copies`): each entry appended at the end of its chain in the destination, in the
  source's id order (so in its chain's order), with the next id there and a new seal; every id it holds of
  another entry (its workspace, an allocation's event and grant, a void's corrected event, a redemption's
  coupon and grant, a share's bonus grant) mapped to that entry's new id. Read for this, each entry is first
  held against its seal and its chain in the source (`copy_pages(verify=True)`): a copy seals again only
  what credits wrote, never an edit made behind its back.

The derived tables are not copied but made again on the destination: `grant_usage` from the allocations
(`rebuild_grant_usage`), `usage_days` from the events as they are inserted (the summary's trigger, or a bulk
write's catch-up). The notes of past exports (`exports`) stay behind: they say where copies of the source
went.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from . import seals
from .base import Store
from .db import StoreError

# The tables copied, in an order where every entry comes after those whose ids it holds.
ORDER = (
    "workspaces",
    "coupons",
    "grants",
    "plan_changes",
    "events",
    "allocations",
    "redemptions",
    "shares",
    "budgets",
    "alerts",
    "notifications",
    "sim_clock",
)

# The columns of another entry's id, by table: {column: the table of that id}.
REFERENCES: dict[str, dict[str, str]] = {
    "grants": {"workspace_id": "workspaces"},
    "plan_changes": {"workspace_id": "workspaces"},
    "events": {"workspace_id": "workspaces", "corrects": "events"},
    "allocations": {"event_id": "events", "grant_id": "grants"},
    "redemptions": {"coupon_id": "coupons", "workspace_id": "workspaces", "grant_id": "grants"},
    "shares": {"workspace_id": "workspaces", "grant_id": "grants"},
    "budgets": {"workspace_id": "workspaces"},
    "alerts": {"workspace_id": "workspaces"},
    "notifications": {"workspace_id": "workspaces"},
    "sim_clock": {"workspace_id": "workspaces"},
}

# The tables that are not sealed: (the column pages are read in order of, the columns copied).
# An allocation's rowid orders an event's allocations (`show`'s paid_by): they are written in that order,
# and the destination numbers them.
_PLAIN = {
    "allocations": ("rowid", ("event_id", "grant_id", "credits_milli")),
    "sim_clock": ("workspace_id", ("workspace_id", "now")),
}

_HEADS = ("tbl", "chain", "last_id", "rows", "seal")


def columns(table: str) -> tuple[str, ...]:
    """The columns of a row of `table` as `copy_pages` reads it: the id first (the column pages are read in
    order of), then for an entry its prev_id, seal and content, else the columns copied."""
    if table in _PLAIN:
        key, cols = _PLAIN[table]
        return (key, *cols) if key not in cols else cols
    return (seals.id_column(table), "prev_id", "seal", *seals.SEALED[table][1])


def _workspace_rows(table: str) -> str:
    """The condition that picks one workspace's rows of `table` (its id as the parameter `ws`)."""
    if table == "workspaces":
        return "id = :ws"
    if table == "coupons":  # coupons belong to no workspace: those it redeemed
        return "id IN (SELECT coupon_id FROM redemptions WHERE workspace_id = :ws)"
    # unary plus: the page is read along the primary key, not through an index that starts with the workspace
    return "+workspace_id = :ws"


class Renumbering:
    """The ids a renumbering copy gave, by table: {table: {the source's id: the destination's}}."""

    def __init__(self) -> None:
        self.ids: dict[str, dict[int, int]] = {}

    def same(self, table: str, old: int, new: int) -> None:
        """An entry the destination holds already stands for the source's (a coupon of the same terms)."""
        self.ids.setdefault(table, {})[old] = new

    def of(self, table: str, old: int | None, where: str) -> int | None:
        """The new id of the source's entry `old` of `table` (None stays None)."""
        if old is None:
            return None
        new = self.ids.get(table, {}).get(old)
        if new is None:  # an id of an entry not copied before it: the source's order broken behind credits' back
            raise StoreError(
                f"{where} names {table} {old}, which is not in the ledger copied before it; nothing copied"
            )
        return new


class Copying(Store):
    """Reading a ledger's entries to copy them, and writing copies into this ledger."""

    PAGE = 2000

    # -- the source -------------------------------------------------------------------------

    def workspace_ids(self) -> list[tuple[int, str]]:
        """(id, name) of every workspace, in id order."""
        return self._conn.execute("SELECT id, name FROM workspaces ORDER BY id").fetchall()

    def copy_pages(
        self, table: str, ws_id: int | None = None, *, verify: bool = False, size: int | None = None
    ) -> Iterator[list[tuple]]:
        """The rows of `table` (columns(table)), of workspace `ws_id` or all, in id order, in pages of `size`.

        `verify`: each entry is held against its seal, and a workspace's chain against its order and its
        head in seal_heads, as it is read (a StoreError at the first that does not match).
        """
        size = size or self.PAGE
        if table == "seal_heads":
            yield self._conn.execute(f"SELECT {', '.join(_HEADS)} FROM seal_heads ORDER BY tbl, chain").fetchall()
            return
        cols = columns(table)
        key = cols[0]
        if table == "allocations" and ws_id is not None:  # an event's, along the allocations' order
            sql = (
                "SELECT a.rowid, a.event_id, a.grant_id, a.credits_milli FROM allocations a"
                " JOIN events e ON e.id = a.event_id WHERE +e.workspace_id = :ws AND a.rowid > :after"
                " ORDER BY a.rowid LIMIT :size"
            )
        else:
            where = f"{key} > :after" if ws_id is None else f"{_workspace_rows(table)} AND {key} > :after"
            sql = f"SELECT {', '.join(cols)} FROM {table} WHERE {where} ORDER BY {key} LIMIT :size"
        params: dict = {"ws": ws_id, "size": size, "after": -1}
        chained = verify and ws_id is not None and table not in _PLAIN and seals.SEALED[table][0] is not None
        last, count = None, 0
        while True:
            page = self._conn.execute(sql, params).fetchall()
            if not page:
                break
            if verify and table not in _PLAIN:
                for row in page:
                    row_id, prev = row[0], row[1]
                    if seals.seal(table, row_id, prev, row[3:]) != row[2] or (chained and prev != last):
                        raise StoreError(
                            f"{table} {row_id} of the ledger being copied is not as credits wrote it (credits check"
                            " on it says more); a copy seals its entries again, so nothing was copied"
                        )
                    last, count = row_id, count + 1
            yield page
            params["after"] = page[-1][0]
        if chained and ws_id is not None and (last, count) != seals.read_head(self._conn, table, ws_id):
            raise StoreError(
                f"{table} of workspace {ws_id} in the ledger being copied does not end as credits wrote it (credits"
                " check on it says more); a copy seals its entries again, so nothing was copied"
            )

    def identity(self) -> str:
        """What tells this ledger apart from any other: its file, resolved."""
        return os.path.realpath(self._conn.execute("PRAGMA database_list").fetchone()[2])

    # -- the destination --------------------------------------------------------------------

    def lock_for_copy(self) -> None:
        """Inside the copy's write: hold off every other writer of new workspaces and coupons (on SQLite the
        write holds the whole file)."""

    def workspace_names(self) -> set[str]:
        return {r[0] for r in self._conn.execute("SELECT name FROM workspaces")}

    def holds_entries(self) -> bool:
        """Whether any entry has been written here (a workspace, a coupon, any chain)."""
        return bool(
            self._conn.execute(
                "SELECT EXISTS (SELECT 1 FROM workspaces) OR EXISTS (SELECT 1 FROM coupons)"
                " OR EXISTS (SELECT 1 FROM seal_heads)"
            ).fetchone()[0]
        )

    def coupon_terms(self, code: str) -> tuple[int, tuple, int] | None:
        """(id, (pool, amount_milli, expires_at, max_uses), redemptions) of the coupon of a normalized code."""
        row = self._conn.execute(
            "SELECT id, pool, amount_milli, expires_at, max_uses,"
            " (SELECT count(*) FROM redemptions r WHERE r.coupon_id = c.id) FROM coupons c WHERE code = ?",
            (code,),
        ).fetchone()
        return (row[0], tuple(row[1:5]), row[5]) if row else None

    def paste(self, table: str, pages: Iterable[list[tuple]]) -> int:
        """Write rows read by `copy_pages` (of every workspace) as they are: ids, prev_ids and seals kept;
        the rows written."""
        cols = _HEADS if table == "seal_heads" else columns(table)
        skip = 1 if table == "allocations" else 0  # the destination numbers allocations
        n = 0
        for page in pages:
            self._insert(table, cols[skip:], [row[skip:] for row in page])
            n += len(page)
        return n

    def append_copies(self, table: str, pages: Iterable[list[tuple]], renumbering: Renumbering) -> int:
        """Write rows read by `copy_pages` renumbered: each entry appended at the end of its chain here, with
        a new id and seal, and the ids it holds mapped (`renumbering`, which learns the new ids); the rows
        written."""
        refs = REFERENCES.get(table, {})
        if table in _PLAIN:
            key, cols = _PLAIN[table]
            at = [columns(table).index(c) for c in cols]
            n = 0
            for page in pages:
                rows = [
                    tuple(
                        renumbering.of(refs[c], row[i], f"{table} of {row[0]}") if c in refs else row[i]
                        for c, i in zip(cols, at, strict=True)
                    )
                    for row in page
                ]
                self._insert(table, cols, rows)
                n += len(rows)
            return n
        content = seals.SEALED[table][1]
        chains = seals.Appender(self._conn, table)
        new_ids = renumbering.ids.setdefault(table, {})
        n = 0
        for page in pages:
            rows = []
            for row in page:
                values = [
                    renumbering.of(refs[c], v, f"{table} {row[0]}") if c in refs else v
                    for c, v in zip(content, row[3:], strict=True)
                ]
                entry = chains.row(values)
                new_ids[row[0]] = entry[0]
                rows.append(entry)
            self._insert(table, chains.columns, rows)
            n += len(rows)
        chains.write_heads()
        return n

    def rebuild_grant_usage(self, ws_id: int | None = None) -> None:
        """What each grant of workspace `ws_id` (or every grant) has given, summed from its allocations."""
        self._conn.execute(
            "INSERT INTO grant_usage (grant_id, used_milli) SELECT a.grant_id, sum(a.credits_milli)"
            " FROM allocations a JOIN grants g ON g.id = a.grant_id"
            + ("" if ws_id is None else " WHERE g.workspace_id = ?")
            + " GROUP BY a.grant_id",
            () if ws_id is None else (ws_id,),
        )

    def ids_written(self) -> None:
        """After a copy that wrote ids of its own: the next id of each table follows them (SQLite takes the
        max + 1 as it writes; PostgreSQL's sequences are moved: store/pg.py)."""
