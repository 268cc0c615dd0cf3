"""The store's core: one connection, its transactions, and the state a transaction holds.

Every statement credits runs goes through a `Ledger` (store/ledger.py), which
is built from this class and one part a subject (entries, reports, offers,
foresight, audit, import staging). Use cases receive a Ledger and never see
its connection.

Three kinds of transaction, all here:
- `write()`: a serialized write. SQLite's BEGIN IMMEDIATE takes the write lock
  at its start, so every read inside it (a balance check) sees the state its
  write commits on; concurrent writers queue on the busy timeout instead of
  overdrawing or failing. Inside an open transaction it is a savepoint: one
  event of a `log --batch` fails alone.
- `read()`: a consistent read: every statement inside it sees one snapshot.
- `bulk()`: inside a write, for `import` and `log --batch`: reads are cached for
  the transaction (the store keeps them exact as it writes), events may be
  buffered and written with executemany, and the daily summary is caught up in
  bulk instead of by its per-row trigger.
The caches and the buffer are this object's private state: a rollback empties
them, a write that changes what they hold updates them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from . import schema

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (`credits log`'s start-up)
if TYPE_CHECKING:
    from typing import Any, TypeVar

    from .repo import WriteBuffer

    T = TypeVar("T")


class Store:
    """A connection and its transaction state (see the module's docstring)."""

    # How a transaction begins (the PostgreSQL store says it its own way: store/pg.py).
    BEGIN_WRITE = "BEGIN IMMEDIATE"
    BEGIN_READ = "BEGIN"

    def __init__(self, conn: sqlite3.Connection, path: str = ""):
        self._conn = conn
        self.path = path
        self._memo: dict | None = None  # reads kept for a bulk transaction
        self._pending: WriteBuffer | None = None  # events written in bulk by an import
        self._summarized: int | None = None  # inside a bulk write: the event id usage_days sums up to
        self._writing = False  # inside a write transaction (not a read)

    # Who is connected to a team's ledger, as what (store/pg.Team); None for a file, whose one user may
    # do everything its permissions let them.
    team = None
    # An alert's command, which the log that crosses the alert runs (on the file: its one user's)
    ALERT_EXEC = "exec"

    def close(self) -> None:
        self._conn.close()

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    # -- transactions ----------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[None]:
        """One serialized write transaction (a savepoint inside an open one)."""
        conn = self._conn
        if conn.in_transaction:
            self._settle()
            summarized = self._summarized
            conn.execute("SAVEPOINT one")
            try:
                yield
                self._settle()
            except BaseException:
                conn.execute("ROLLBACK TO one")
                conn.execute("RELEASE one")
                self._forget()
                self._summarized = summarized  # what a catch-up inside the savepoint wrote is undone too
                raise
            else:
                conn.execute("RELEASE one")
            return
        conn.execute(self.BEGIN_WRITE)
        self._writing = True
        try:
            yield
            self._settle()
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._forget()
            raise
        else:
            conn.execute("COMMIT")
        finally:
            self._writing = False

    @contextmanager
    def read(self) -> Iterator[None]:
        """Every statement inside sees one snapshot (nothing to do inside an open transaction)."""
        conn = self._conn
        if conn.in_transaction:
            yield
            return
        conn.execute(self.BEGIN_READ)
        try:
            yield
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    @contextmanager
    def bulk(self, *, buffered: bool = False) -> Iterator[None]:
        """A write transaction of many events: cached reads, the summary caught up in bulk and,
        `buffered`, events and allocations written by executemany (see the module's docstring)."""
        with self.write():
            outer = self._memo, self._pending
            self._memo = {} if self._memo is None else self._memo
            if buffered and self._pending is None:
                self._pending = self._write_buffer()
            try:
                with self._deferred_summary():
                    yield
                self._settle()
            finally:
                self._memo, self._pending = outer

    @contextmanager
    def _deferred_summary(self) -> Iterator[None]:
        """usage_days caught up in bulk instead of by its per-row trigger.

        The trigger costs more than the event's own row (an upsert into the summary and its index
        for every insert); a bulk write adds thousands of events, most of them to the same few days
        and groups. Here the trigger is dropped for the transaction's length, every read of
        usage_days first sums the events written since (`_summarize`), and the trigger is created
        again before the commit. DDL is transactional in SQLite: a rollback or a killed process
        leaves the trigger as it was, and no other connection sees the database without it.
        """
        if self._summarized is not None:
            yield
            return
        self._settle()
        conn = self._conn
        conn.execute(f"DROP TRIGGER {schema.USAGE_DAYS_TRIGGER_NAME}")
        self._summarized = conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
        try:
            yield
            self._summarize()
            conn.execute(schema.USAGE_DAYS_TRIGGER)
        finally:
            self._summarized = None

    # -- diagnostics ------------------------------------------------------------------------

    @contextmanager
    def traced(self) -> Iterator[list[str]]:
        """The text of every statement run inside (the tests read query plans and count round trips)."""
        seen: list[str] = []
        self._conn.set_trace_callback(seen.append)
        try:
            yield seen
        finally:
            self._conn.set_trace_callback(None)

    def data_version(self) -> int:
        """A number that changes when another connection commits (`watch` redraws then)."""
        return self._conn.execute("PRAGMA data_version").fetchone()[0]

    # -- the transaction's state -------------------------------------------------------------

    def lock_workspace(self, ws_id: int) -> None:
        """Inside a write: serialize it with the other writers of this workspace, for a writer that read its
        workspace before the write began (an import). SQLite's write already holds the whole file."""

    def _stream(self, sql: str, params=()):
        """Run a read of many rows whose result is consumed as it comes (sqlite3's cursor reads as it is
        iterated; a server's result would otherwise be held whole in memory: store/pg.py)."""
        return self._conn.execute(sql, params)

    def _write_buffer(self) -> WriteBuffer:
        from .repo import WriteBuffer

        return WriteBuffer(self._conn, self._insert)

    def _insert(self, table: str, cols: tuple[str, ...], rows: Iterable[tuple]) -> None:
        """Insert many rows at once (an import's staging and buffer, a copy): executemany here, which reads
        an iterator as it goes; a server COPYs them."""
        self._conn.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", rows)

    def _row_lock(self) -> str:
        """What a write's read of a row that serializes writers (its workspace, a coupon) adds to lock it:
        nothing on SQLite, whose BEGIN IMMEDIATE holds the whole file (PostgreSQL: store/pg.py)."""
        return ""

    def _settle(self) -> None:
        """Write what the buffer holds (before a savepoint, a read or the commit)."""
        if self._pending is not None:
            self._pending.flush()

    def _forget(self) -> None:
        """A rollback: the buffer's rows and the cached reads are void."""
        if self._pending is not None:
            self._pending.discard()
        if self._memo:
            self._memo.clear()

    def _summarize(self) -> None:
        """Bring usage_days up to date before it is read (inside `_deferred_summary`)."""
        if self._summarized is None:
            return
        self._settle()
        last = self._conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
        if last > self._summarized:
            self._conn.execute(
                f"INSERT INTO usage_days {schema.usage_days_rows(after_id=True)} {schema.USAGE_DAYS_UPSERT}",
                (self._summarized,),
            )
            self._summarized = last

    def _memoized(self, key: tuple, read: Callable[[], T], keep: Callable[[Any], bool] = lambda value: True) -> T:
        """read(), or its value kept from earlier in this bulk transaction."""
        memo = self._memo
        if memo is not None and key in memo:
            return memo[key]
        self._settle()  # what an import has buffered is written before anything is read
        value = read()
        if memo is not None and keep(value):
            memo[key] = value
        return value

    def _drop(self, *keys: tuple) -> None:
        """Cached reads a write has made stale."""
        if self._memo:
            for key in keys:
                self._memo.pop(key, None)
