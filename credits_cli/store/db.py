"""Opening the database: file permissions, pragmas, migrations, transactions."""

from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager

from ..errors import BadInput, CreditsError
from . import schema

BUSY_TIMEOUT_S = 60.0


class StoreError(CreditsError):
    """The database cannot be used (unreadable, newer schema, not SQLite ...)."""


class LedgerConnection(sqlite3.Connection):
    """A connection with a read cache for the length of one write transaction.

    `memo` is None (off) except inside `credits log --batch`, where thousands of
    events share one transaction and would otherwise read the same workspace,
    plan history and pool totals again for each. The repository keeps it exact:
    an event it inserts updates the totals it holds, and a rollback empties it.
    """

    memo: dict | None = None
    pending = None  # a repo.WriteBuffer while an import writes in bulk
    # Inside `deferred_summary`: the id up to which usage_days sums the events (None: its trigger keeps it).
    summarized: int | None = None

    def settle(self) -> None:
        """Write what the buffer holds (before a savepoint or the commit)."""
        if self.pending is not None:
            self.pending.flush()

    def summarize(self) -> None:
        """Bring usage_days up to date before it is read (see `deferred_summary`)."""
        if self.summarized is None:
            return
        self.settle()
        last = self.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
        if last > self.summarized:
            self.execute(f"INSERT INTO usage_days {schema.usage_days_rows(after_id=True)} ON CONFLICT DO UPDATE"
                         " SET credits_milli = credits_milli + excluded.credits_milli,"
                         " events = events + excluded.events", (self.summarized,))
            self.summarized = last

    def forget(self) -> None:
        """A rollback: the buffer's rows and the cached reads are void."""
        if self.pending is not None:
            self.pending.discard()
        if self.memo:
            self.memo.clear()


def default_path() -> str:
    """`credits.db` in the user data directory (platformdirs knows each OS's convention)."""
    from platformdirs import user_data_dir

    return os.path.join(user_data_dir("credits", appauthor=False), "credits.db")


def _create_private(path: str, given: bool) -> None:
    """Create an empty database file (0600) if missing, and for the default path its directory (0700).

    A path the user gave (`--db`, CREDITS_DB) must name an existing directory: a mistyped one
    is refused rather than a ledger created somewhere unexpected.
    SQLite gives the -wal and -shm files the same permissions as the database.
    (os.path, not pathlib: pathlib's import costs a `credits log` a tenth of its start.)
    """
    if os.path.exists(path):
        return
    parent = os.path.dirname(path) or "."
    if not os.path.isdir(parent):
        if given:
            what = "is not a directory" if os.path.exists(parent) else "does not exist"
            raise BadInput("db", f"the directory {parent!r} {what}; credits creates the file, not its"
                                   " directory (nothing was created)")
        try:
            os.makedirs(parent, mode=0o700, exist_ok=True)
        except OSError as e:
            raise BadInput("db", f"cannot create the directory {parent!r}: {e.strerror}") from None
    try:
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
    except OSError as e:
        raise BadInput("db", f"cannot create {path!r}: {e.strerror}") from None


def _refuse_foreign(conn: sqlite3.Connection, path: str, version: int) -> None:
    """An existing SQLite file that is not a credits ledger (nor empty) is left alone: adding our tables
    to another program's database would change a file the user did not mean."""
    if version == 0:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name LIMIT 4")]
        if not tables:
            return  # a new or empty database: ours to set up
    else:
        has = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlite_migrations'").fetchone()
        if has and conn.execute("SELECT 1 FROM _sqlite_migrations WHERE migration_set = 'credits' AND name = ?",
                                (schema.NAMES[0],)).fetchone():
            return  # an older credits ledger: migrated
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name LIMIT 4")]
    listed = ", ".join(tables[:3]) + (", ..." if len(tables) > 3 else "")
    raise BadInput("db", f"{path!r} is an SQLite database but not a credits ledger (its tables: {listed});"
                           " nothing was changed; give a new or empty file")


def connect(path: str | os.PathLike, given: bool = False) -> sqlite3.Connection:
    """Open (creating if needed) the ledger at `path`, migrated to the current schema.

    `given`: the path is the user's (`--db`, CREDITS_DB), not the default one: its directory must exist.
    """

    p = os.path.expanduser(os.fspath(path))
    if os.path.isdir(p):
        raise BadInput("db", f"{p!r} is a directory, not a database file")
    _create_private(p, given)
    try:
        # isolation_level=None: no implicit transactions; every write below
        # opens its own BEGIN IMMEDIATE.
        conn = sqlite3.connect(p, timeout=BUSY_TIMEOUT_S, isolation_level=None, factory=LedgerConnection)
    except sqlite3.DatabaseError as e:
        raise StoreError(f"cannot open {p!r} as a credits database: {e}") from None
    try:
        # FULL: a committed event survives a power loss too, at one fsync a commit.
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version != schema.VERSION:
            _refuse_foreign(conn, p, version)
    except BaseException as e:
        conn.close()
        if isinstance(e, sqlite3.DatabaseError):
            if "not a database" in str(e):
                raise BadInput("db", f"{p!r} is not an SQLite database; nothing was changed") from None
            raise StoreError(f"cannot open {p!r} as a credits database: {e}") from None
        raise
    if version != schema.VERSION:
        schema.migrate(conn, version)
    return conn


@contextmanager
def immediate(conn: sqlite3.Connection):
    """One write transaction that takes the write lock at its start.

    BEGIN IMMEDIATE makes every read inside it (a balance check) see the state
    its write will commit on: concurrent writers queue on the busy timeout
    instead of overdrawing or failing with "database is locked".

    Inside an open transaction (`log --batch` writes many events in one) it is
    a savepoint: one event's failure undoes that event only.
    """
    ledger = isinstance(conn, LedgerConnection)
    if conn.in_transaction:
        if ledger:
            conn.settle()
        summarized = getattr(conn, "summarized", None)
        conn.execute("SAVEPOINT one")
        try:
            yield conn
            if ledger:
                conn.settle()
        except BaseException:
            conn.execute("ROLLBACK TO one")
            conn.execute("RELEASE one")
            if ledger:
                conn.forget()
                conn.summarized = summarized  # what a summarize() inside the savepoint wrote is undone too
            raise
        else:
            conn.execute("RELEASE one")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        if ledger:
            conn.settle()
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if ledger:
            conn.forget()
        raise
    else:
        conn.execute("COMMIT")


@contextmanager
def deferred_summary(conn: LedgerConnection):
    """Inside a write transaction: usage_days is caught up in bulk instead of by its per-row trigger.

    The trigger costs more than the event's own row (an upsert into the summary
    and its index for every insert); an import or a `log --batch` chunk writes
    thousands of events, most of them to the same few days and groups. Here the
    trigger is dropped for the transaction's length, every read of usage_days
    first sums the events written since (`summarize`), and the trigger is
    created again before the commit. DDL is transactional in SQLite: a rollback
    or a killed process leaves the trigger as it was, and no other connection
    ever sees the database without it.
    """
    if not isinstance(conn, LedgerConnection) or not conn.in_transaction or conn.summarized is not None:
        yield conn
        return
    conn.settle()
    conn.execute(f"DROP TRIGGER {schema.USAGE_DAYS_TRIGGER_NAME}")
    conn.summarized = conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
    try:
        yield conn
        conn.summarize()
        conn.execute(schema.USAGE_DAYS_TRIGGER)
    finally:
        conn.summarized = None
