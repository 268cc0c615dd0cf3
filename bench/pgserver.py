"""The bench's databases on a PostgreSQL server: each created for one row and dropped at the end of the run.

bench/run.py's `--pg URL` (default: the environment variable CREDITS_BENCH_PG) names the server, by a
URL whose user may create databases (`postgresql://postgres@127.0.0.1:5432/postgres`). Every database
the bench makes is named `credits_bench_<host>_<pid>_<what>` (<host>: six hex digits of a hash of
this machine's name), and cloned from another with `CREATE DATABASE ... TEMPLATE` where a row needs
a copy (a ledger built once, copied for each row that writes to it). Databases left by a bench of
this machine that was killed (its process gone) are dropped when the next run starts.

The tests' databases (tests/conftest.py) are named and cleaned up the same way, by the two functions
below (`credits_test_<host>_<pid>_...`): this module imports nothing but the standard library until a
server is connected to, so the tests load it by its path.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import time
from urllib.parse import urlsplit, urlunsplit


def machine_prefix(kind: str) -> str:
    """`credits_<kind>_<host>_`: how the names of the databases that `kind` (bench, test) makes on this machine
    begin; each process adds its pid, then `_` and what the database is for."""
    return f"credits_{kind}_{hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]}_"


def drop_abandoned(admin, prefix: str) -> list[str]:
    """Drops the databases named `<prefix><pid>_<what>` whose process is gone (`prefix` names this machine,
    where the pid means something), on the server of `admin` (an autocommit connection): their names."""
    rows = admin.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (prefix + "%",))
    dropped = []
    for (name,) in rows.fetchall():
        m = re.fullmatch(re.escape(prefix) + r"(\d+)_\w+", name)
        if m and not _alive(int(m[1])):
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            dropped.append(name)
    drop_unused_roles(admin, prefix)
    return dropped


def drop_unused_roles(admin, prefix: str) -> None:
    """Drops the group roles credits made for the ledgers of databases named `<prefix>...` (a ledger on a
    server has its team's two roles, and roles belong to the whole server, outliving the databases) that
    no database uses any more: the server refuses to drop a role some database still grants something to."""
    like = "credits_" + prefix.replace("_", "\\_") + "%"
    for (role,) in admin.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (like,)).fetchall():
        try:
            admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        except Exception as e:  # psycopg's DependentObjectsStillExist: a live run's
            if getattr(e, "sqlstate", None) != "2BP01":
                raise


PREFIX = machine_prefix("bench")


class PgServer:
    """An administrative connection to the server and the databases this run made on it."""

    def __init__(self, url: str):
        import psycopg  # the runner's own: bench/run.py runs with the Python that has credits and its extra

        self.psycopg = psycopg
        self.url = url
        self.admin = psycopg.connect(url, autocommit=True, connect_timeout=10)
        self.prefix = f"{PREFIX}{os.getpid()}_"
        self.made: list[str] = []
        self.version = self.scalar(url, "SHOW server_version")
        drop_abandoned(self.admin, PREFIX)

    def at(self, name: str) -> str:
        """The URL of the database `name` on this server (the given URL's user, host and options)."""
        parts = urlsplit(self.url)
        return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))

    def create(self, what: str, template: str | None = None) -> str:
        """A new database, empty or a copy of the one at the URL `template` (made by this run): its URL."""
        name = self.prefix + what
        self.drop(name)
        sql = f"CREATE DATABASE {name}" + (f" TEMPLATE {self.name(template)}" if template else "")
        for attempt in range(50):
            try:
                self.admin.execute(sql)
                break
            except self.psycopg.errors.ObjectInUse:
                # the template's last client has exited, its server process not quite yet
                if attempt == 49:
                    raise
                time.sleep(0.1)
        self.made.append(name)
        return self.at(name)

    def name(self, url: str) -> str:
        return urlsplit(url).path.lstrip("/")

    def drop(self, name: str) -> None:
        self.admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if name in self.made:
            self.made.remove(name)

    def drop_url(self, url: str) -> None:
        self.drop(self.name(url))

    def drop_all(self) -> None:
        for name in list(self.made):
            self.drop(name)
        drop_unused_roles(self.admin, PREFIX)
        self.admin.close()

    def scalar(self, url: str, sql: str):
        with self.psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute(sql).fetchone()
            return row[0] if row else None

    def run_sql(self, url: str, *statements: str) -> None:
        with self.psycopg.connect(url) as conn:
            for sql in statements:
                conn.execute(sql)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
