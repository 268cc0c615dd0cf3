import atexit
import glob
import importlib.util
import itertools
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from typer.testing import CliRunner

from credits_cli.cli.app import app

# The tester's own configuration file (config.toml in the user configuration directory) must not change what
# the tests see: that directory is an empty one of this run's, and a test about the file names its own
# (CREDITS_CONFIG). Set before any test runs, so that the processes the tests start see it too.
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="credits-tests-config-")
os.environ.pop("CREDITS_CONFIG", None)
atexit.register(shutil.rmtree, os.environ["XDG_CONFIG_HOME"], ignore_errors=True)


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

    # -- the ledger read and edited behind credits' back, as another tool would (no credits code) --------

    def sql(self, query: str, params=()) -> list[tuple]:
        """One statement on the ledger, committed: its rows (none for an edit). `?` marks a parameter on either
        engine. An error of the engine's (a trigger's refusal, a syntax error) is raised as SqlError."""
        return self.behind_its_back((query, params))

    def behind_its_back(self, *statements, foreign_keys: bool = True) -> list[tuple]:
        """Statements (each text, or (text, params)) in one transaction, as a tool other than credits would
        run them, with the rights to (a superuser on PostgreSQL): the last one's rows.

        foreign_keys=False lets an edit break a reference: on SQLite that is PRAGMA foreign_keys = OFF, on
        PostgreSQL the session's replication role, which skips the foreign keys' triggers and the ledger's
        own too (drop a guard explicitly all the same, as on SQLite, so that both ledgers end alike).
        """
        run = _pg_statements if self.on_server else _sqlite_statements
        return run(self.db, [(s, ()) if isinstance(s, str) else s for s in statements], foreign_keys)

    def drop_trigger(self, name: str, table: str, if_exists: bool = False) -> str:
        """The statement that drops the trigger `name` of `table` in this engine's dialect."""
        exists = "IF EXISTS " if if_exists else ""
        return f"DROP TRIGGER {exists}{name}" + (f" ON {table}" if self.on_server else "")

    def columns(self, table: str) -> list[str]:
        """The columns of `table`, in order (on PostgreSQL, `rowid` is a column of redemptions and allocations)."""
        if self.on_server:
            return [
                r[0]
                for r in self.sql(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
                    " AND table_name = ? ORDER BY ordinal_position",
                    (table,),
                )
            ]
        return [r[1] for r in self.sql(f"PRAGMA table_info({table})")]

    def triggers(self) -> set[str]:
        """The names of the ledger's triggers."""
        if self.on_server:
            query = (
                "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                " WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal"
            )
        else:
            query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        return {r[0] for r in self.sql(query)}

    def workspaces(self) -> list[str]:
        """The names of the ledger's workspaces, in the order they were made; none where no ledger is yet
        (no file, or one that was never migrated)."""
        if (not self.on_server and not self.db.exists()) or not self.columns("workspaces"):
            return []
        return [r[0] for r in self.sql("SELECT name FROM workspaces ORDER BY id")]

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


class SqlError(Exception):
    """A statement the engine refused, whichever engine (sqlite3's or psycopg's error, its message kept)."""


def _sqlite_statements(path, statements, foreign_keys: bool) -> list[tuple]:
    try:  # mode=rw: a ledger that is not there is not created by looking at it
        conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True)
    except sqlite3.Error as e:
        raise SqlError(f"{path}: {e}") from e
    try:
        if not foreign_keys:
            conn.execute("PRAGMA foreign_keys = OFF")
        rows: list[tuple] = []
        for query, params in statements:
            rows = conn.execute(query, params).fetchall()
        conn.commit()
        return rows
    except sqlite3.Error as e:
        raise SqlError(str(e)) from e
    finally:
        conn.close()


def _pg_statements(url: str, statements, foreign_keys: bool) -> list[tuple]:
    import psycopg

    try:
        with psycopg.connect(url) as conn:  # one transaction, committed as the block ends
            if not foreign_keys:
                conn.execute("SET LOCAL session_replication_role = replica")
            rows: list[tuple] = []
            for query, params in statements:
                if params:  # sqlite3's placeholders as psycopg's, a literal % doubled
                    query = query.replace("%", "%%").replace("?", "%s")
                cur = conn.execute(query, params or None)
                rows = cur.fetchall() if cur.description else []
            return rows
    except psycopg.Error as e:
        raise SqlError(str(e)) from e


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


# -- the engines: every test that uses `cli` (or `new_db`, `module_db`, `copy_db`) runs on SQLite, and on
# PostgreSQL too when CREDITS_TEST_PG names a server (a URL whose user may create databases). A test reads
# or edits the ledger behind credits' back with Cli.sql / Cli.behind_its_back, on either engine. Tests about
# the SQLite file itself are marked `sqlite_file` and run on SQLite only.

PG = os.environ.get("CREDITS_TEST_PG")


def pytest_generate_tests(metafunc):
    if "engine" in metafunc.fixturenames:
        engines = ["sqlite"]
        if PG and not metafunc.definition.get_closest_marker("sqlite_file"):
            engines.append("postgresql")
        # module scope: a module's fixture may build one ledger on each engine for its tests to share
        metafunc.parametrize("engine", engines, scope="module")


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def _bench_pgserver():
    """bench/pgserver.py, which names the databases of a process (host, pid) and drops those whose process is
    gone, for the bench and for the tests: loaded by its path, so that no module of bench/ (run, generate, ...)
    becomes importable by the tests' names."""
    spec = importlib.util.spec_from_file_location("bench_pgserver", Path(__file__).parents[1] / "bench" / "pgserver.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class PgServer:
    """Databases for the tests: each a copy of a template that holds a new ledger (fast to make), dropped as
    the fixture that made it ends (a database dropped early is never written out by a checkpoint). They are
    named `credits_test_<host>_<pid>_...`; those a killed run left (its process gone) are dropped as the next
    run starts."""

    def __init__(self, url: str):
        import psycopg

        from credits_cli.store import pg

        bench = _bench_pgserver()
        self.url = url
        self.prefix = bench.machine_prefix("test") + str(os.getpid())
        self.admin = psycopg.connect(url, autocommit=True)
        bench.drop_abandoned(self.admin, bench.machine_prefix("test"))
        self.template = f"{self.prefix}_template"
        self.admin.execute(f"DROP DATABASE IF EXISTS {self.template}")
        self.admin.execute(f"CREATE DATABASE {self.template}")
        pg.connect(_with_database(url, self.template)).close()  # the tables, by credits' own migrations
        self.made: list[str] = []
        self.counter = itertools.count(1)

    def new(self, migrated: bool = True) -> str:
        """A new database: a copy of the template's new ledger, or (not migrated) one with no table at all."""
        return self._create(f"TEMPLATE {self.template}" if migrated else "")

    def copy(self, url: str) -> str:
        """A new database holding what the database at `url` holds (no client may be connected to it)."""
        return self._create(f"TEMPLATE {urlsplit(url).path.lstrip('/')}")

    def _create(self, how: str) -> str:
        name = f"{self.prefix}_{next(self.counter)}"
        self.admin.execute(f"CREATE DATABASE {name} {how}")
        self.made.append(name)
        return _with_database(self.url, name)

    def drop(self, urls: list[str]) -> None:
        for url in urls:
            name = urlsplit(url).path.lstrip("/")
            self.admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            self.made.remove(name)

    def drop_all(self) -> None:
        for name in [*self.made, self.template]:
            self.admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.made.clear()
        _bench_pgserver().drop_unused_roles(self.admin, self.prefix)
        self.admin.close()


@pytest.fixture(scope="session")
def pg_server():
    if not PG:
        yield None
        return
    server = PgServer(PG)
    yield server
    server.drop_all()


def _maker(engine, pg_server, folder, made: list[str]):
    def make(name: str = "credits", migrated: bool = True):
        if engine == "postgresql":
            made.append(pg_server.new(migrated))
            return made[-1]
        return folder() / f"{name}.db"  # a file credits creates and migrates on first use

    return make


@pytest.fixture
def new_db(engine, tmp_path, pg_server):
    """A new, empty ledger's address on the test's engine: `new_db("name")` (a file's name on SQLite).
    On PostgreSQL a database with credits' tables, or with `migrated=False` one with none."""
    made: list[str] = []
    yield _maker(engine, pg_server, lambda: tmp_path, made)
    if made:
        pg_server.drop(made)


@pytest.fixture(scope="module")
def module_db(engine, tmp_path_factory, pg_server):
    """`new_db` for a module's fixture: a ledger built once and shared by the module's tests."""
    made: list[str] = []
    yield _maker(engine, pg_server, lambda: tmp_path_factory.mktemp("module"), made)
    if made:
        pg_server.drop(made)


@pytest.fixture
def copy_db(engine, tmp_path, pg_server):
    """`copy_db(db)`: a new ledger on the test's engine holding what `db` holds (a ledger no one has open)."""
    made: list[str] = []

    def copy(db):
        if engine == "postgresql":
            made.append(pg_server.copy(db))
            return made[-1]
        target = tmp_path / db.name
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(f"{db}{suffix}"):
                shutil.copy(f"{db}{suffix}", f"{target}{suffix}")
        return target

    yield copy
    if made:
        pg_server.drop(made)


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


# -- a server of a test's own: one it may restart, or whose roles (global to a server) it may change -------


class Cluster:
    """A throwaway PostgreSQL cluster: its superuser's URL, and `ctl(...)` (pg_ctl with the cluster's options) to
    stop and start it."""

    def __init__(self, pg_ctl: str, root: Path, port: int, as_pg: list[str], settings: tuple[str, ...]):
        self.pg_ctl, self.root, self.port, self.as_pg = pg_ctl, root, port, as_pg
        self.options = " ".join([f"-p {port} -k {root} -c listen_addresses=127.0.0.1", *(f"-c {s}" for s in settings)])
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.as_pg, self.pg_ctl, "-D", str(self.root / "data"), "-l", str(self.root / "log"), "-w"]
            + ["-o", self.options, *args],
            check=True,
            capture_output=True,
        )


@contextmanager
def throwaway_cluster(*settings: str):
    """A PostgreSQL cluster of the caller's own (initdb, trust auth, a free port on 127.0.0.1), started, and
    removed as the block ends: a test may restart it, or create roles (global to a cluster) without touching
    the shared server. `settings`: the server's, as NAME=VALUE. Skips the test where PostgreSQL's server
    binaries (Debian's layout) are absent."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not bins:
        pytest.skip("no PostgreSQL server binaries (Debian's postgresql package) to start a cluster with")
    pg_ctl = bins[-1]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = Path(tempfile.mkdtemp(prefix="credits-test-pg-"))  # in /tmp: pytest's own is root's alone
    as_pg = []
    if os.geteuid() == 0:  # the server refuses to run as root
        shutil.chown(root, "postgres")
        as_pg = ["runuser", "-u", "postgres", "--"]
    try:
        initdb = [pg_ctl.replace("pg_ctl", "initdb"), "-D", str(root / "data"), "-A", "trust", "-U", "postgres"]
        subprocess.run([*as_pg, *initdb], check=True, capture_output=True)
        cluster = Cluster(pg_ctl, root, port, as_pg, settings)
        cluster.ctl("start")
        try:
            yield cluster
        finally:
            cluster.ctl("-m", "immediate", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)
