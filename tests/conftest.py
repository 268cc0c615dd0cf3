import itertools
import json
import os
import sqlite3
from decimal import Decimal
from urllib.parse import urlsplit, urlunsplit

import pytest
from typer.testing import CliRunner

from credits_cli.cli.app import app


class Cli:
    """Runs `credits` in-process against a private database, like a user would."""

    def __init__(self, db_path):
        self.db = db_path
        self.runner = CliRunner()

    def __call__(self, *args, now=None, env=None, input=None):
        full_env = {
            "CREDITS_DB": str(self.db),
            "CREDITS_NOW": now,
            "CREDITS_WORKSPACE": None,
            "CREDITS_CATALOG": None,
            "NO_COLOR": "1",
        }
        full_env.update(env or {})
        return self.runner.invoke(app, [str(a) for a in args], env=full_env, input=input)

    def json(self, *args, now=None, env=None):
        r = self(*args, "--json", now=now, env=env)
        assert r.exit_code == 0, (r.exit_code, r.stdout, r.stderr)
        return json.loads(r.stdout, parse_float=Decimal)

    @property
    def on_server(self) -> bool:
        return isinstance(self.db, str)

    def dump(self, outbox: bool = False) -> str:
        """Every row of the database, to prove a failed command changed nothing.

        The notification outbox is left out unless asked for: a refusal records
        nothing in the ledger but does tell the owner (once a cycle).
        """
        lines = pg_dump(self.db) if self.on_server else sqlite_dump(self.db)
        return "\n".join(
            line
            for line in lines
            if outbox
            or not (
                line.startswith('INSERT INTO "notifications"')
                or line.startswith("INSERT INTO \"seal_heads\" VALUES('notifications'")
            )
        )


def sqlite_dump(path) -> list[str]:
    if not path.exists():
        return []
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def pg_dump(url: str) -> list[str]:
    """Every row of every table of the ledger's schema, in a stable order, as SQLite's dump writes them."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
            )
        ]
        lines = []
        for table in tables:
            for row in conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2"):
                lines.append(f'INSERT INTO "{table}" VALUES(' + ",".join(map(repr, row)) + ")")
        return lines


# -- the engines: every test that uses `cli` (or `new_db`) runs on SQLite, and on PostgreSQL too when
# CREDITS_TEST_PG names a server (a URL whose user may create databases). Tests about the SQLite file
# itself are marked `sqlite_file` and run on SQLite only.

PG = os.environ.get("CREDITS_TEST_PG")


def pytest_generate_tests(metafunc):
    if "engine" in metafunc.fixturenames:
        engines = ["sqlite"]
        if PG and not metafunc.definition.get_closest_marker("sqlite_file"):
            engines.append("postgresql")
        metafunc.parametrize("engine", engines)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


class PgServer:
    """Databases for the tests: each a copy of a template that holds a new ledger (fast to make)."""

    def __init__(self, url: str):
        import psycopg

        from credits_cli.store import pg

        self.url = url
        self.prefix = f"credits_test_{os.getpid()}"
        self.admin = psycopg.connect(url, autocommit=True)
        self.template = f"{self.prefix}_template"
        self.admin.execute(f"DROP DATABASE IF EXISTS {self.template}")
        self.admin.execute(f"CREATE DATABASE {self.template}")
        pg.connect(_with_database(url, self.template)).close()  # the tables, by credits' own migrations
        self.made: list[str] = []
        self.counter = itertools.count(1)

    def new(self) -> str:
        name = f"{self.prefix}_{next(self.counter)}"
        self.admin.execute(f"CREATE DATABASE {name} TEMPLATE {self.template}")
        self.made.append(name)
        return _with_database(self.url, name)

    def drop_all(self) -> None:
        for name in [*self.made, self.template]:
            self.admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.made.clear()
        self.admin.close()


@pytest.fixture(scope="session")
def pg_server():
    if not PG:
        yield None
        return
    server = PgServer(PG)
    yield server
    server.drop_all()


@pytest.fixture
def new_db(engine, tmp_path, pg_server):
    """A new, empty ledger's address on the test's engine: `new_db("name")`."""

    def make(name: str = "credits"):
        if engine == "postgresql":
            return pg_server.new()
        return tmp_path / f"{name}.db"

    return make


@pytest.fixture
def cli(new_db):
    return Cli(new_db())


def one_line_error(result, *, code=2, field=None):
    """The error contract: exit code, one line on stderr naming what was wrong, no traceback."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("credits: "), lines
    assert "Traceback" not in result.stderr + result.stdout
    if field:
        assert field in lines[0], lines[0]
    return lines[0]
