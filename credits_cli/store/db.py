"""Opening the database file: its permissions, pragmas and migrations (transactions: store/base.py)."""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import BadInput, CreditsError
from . import schema

BUSY_TIMEOUT_S = 60.0


class StoreError(CreditsError):
    """The database cannot be used (unreadable, newer schema, not SQLite ...)."""


class Damaged(StoreError):
    """SQLite could not read what was asked of the file; the message is SQLite's."""


@contextmanager
def damage_as_error() -> Iterator[None]:
    """Inside, an error SQLite raises reading the file is a `Damaged` (for `doctor`, which reports it)."""
    try:
        yield
    except sqlite3.DatabaseError as e:
        raise Damaged(str(e)) from None


def is_database_error(e: BaseException) -> bool:
    """Whether `e` is an error of the database itself (not of credits, nor of Python)."""
    if isinstance(e, sqlite3.Error):
        return True
    psycopg = sys.modules.get("psycopg")  # loaded only for a ledger on a server
    return psycopg is not None and isinstance(e, psycopg.Error)


def describe(e: BaseException) -> str:
    """A database error as one line for the user (a server's: its first line, no password, no SQL)."""
    if isinstance(e, sqlite3.Error):
        return str(e)
    from .pg import lost, one_line

    return lost(e) or one_line(e)


def not_allowed(e: BaseException):
    """A server's refusal of a role's privilege (SQLSTATE 42501: a GRANT it lacks, or a team rule's trigger)
    as the error credits reports (exit 4, one line), or None."""
    if getattr(e, "sqlstate", None) != "42501" or not is_database_error(e):
        return None
    from ..errors import NotAllowed
    from .pg import one_line

    return NotAllowed(one_line(e))


def is_damaged(e: BaseException) -> bool:
    """Whether `e` says the file is damaged or not a database (any more): `doctor` has advice then."""
    return isinstance(e, sqlite3.DatabaseError) and ("malformed" in str(e) or "not a database" in str(e))


def is_url(target: str) -> bool:
    """Whether `--db` / CREDITS_DB names a PostgreSQL server rather than a file."""
    return target.startswith(("postgresql://", "postgres://"))


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
            raise BadInput(
                "db",
                f"the directory {parent!r} {what}; credits creates the file, not its directory (nothing was created)",
            )
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
        tables = [
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name LIMIT 4")
        ]
        if not tables:
            return  # a new or empty database: ours to set up
    else:
        has = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlite_migrations'"
        ).fetchone()
        if (
            has
            and conn.execute(
                "SELECT 1 FROM _sqlite_migrations WHERE migration_set = 'credits' AND name = ?", (schema.NAMES[0],)
            ).fetchone()
        ):
            return  # an older credits ledger: migrated
        tables = [
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name LIMIT 4")
        ]
    listed = ", ".join(tables[:3]) + (", ..." if len(tables) > 3 else "")
    raise BadInput(
        "db",
        f"{path!r} is an SQLite database but not a credits ledger (its tables: {listed});"
        " nothing was changed; give a new or empty file",
    )


def connect_reader(path: str) -> sqlite3.Connection | None:
    """The ledger at `path` opened only to read, as it is, or None: no such file, or not a ledger of this
    schema (an older one would need a migration). Nothing is created or written, not even beside it: the
    -wal and -shm files are used when they exist (a writer is at work), else the file is read as immutable.
    """
    from urllib.parse import quote

    if not os.path.isfile(path):
        return None
    mode = "mode=ro" if os.path.exists(path + "-wal") else "mode=ro&immutable=1"
    conn = sqlite3.connect(f"file:{quote(os.path.abspath(path))}?{mode}", uri=True)
    try:
        if conn.execute("PRAGMA user_version").fetchone()[0] == schema.VERSION:
            return conn
    except sqlite3.DatabaseError:
        pass
    conn.close()
    return None


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
        conn = sqlite3.connect(p, timeout=BUSY_TIMEOUT_S, isolation_level=None)
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
