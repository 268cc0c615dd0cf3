"""The bench's databases on a PostgreSQL server: each created for one row and dropped at the end of the run.

bench/run.py's `--pg URL` (default: the environment variable CREDITS_BENCH_PG) names the server, by a
URL whose user may create databases (`postgresql://postgres@127.0.0.1:5432/postgres`). Every database
the bench makes is named `credits_bench_<host>_<pid>_<what>` (<host>: six hex digits of a hash of
this machine's name), and cloned from another with `CREATE DATABASE ... TEMPLATE` where a row needs
a copy (a ledger built once, copied for each row that writes to it). Databases left by a bench of
this machine that was killed (its process gone) are dropped when the next run starts.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import time
from urllib.parse import urlsplit, urlunsplit

PREFIX = f"credits_bench_{hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]}_"


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
        self._drop_abandoned()

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
        self.admin.close()

    def scalar(self, url: str, sql: str):
        with self.psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute(sql).fetchone()
            return row[0] if row else None

    def run_sql(self, url: str, *statements: str) -> None:
        with self.psycopg.connect(url) as conn:
            for sql in statements:
                conn.execute(sql)

    def _drop_abandoned(self) -> None:
        rows = self.admin.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (PREFIX + "%",))
        for (name,) in rows.fetchall():
            m = re.fullmatch(PREFIX + r"(\d+)_\w+", name)
            if m and not _alive(int(m[1])):
                self.drop(name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
