"""The ledger on PostgreSQL: a team's shared pool on one server.

Imported only when `--db` / CREDITS_DB is a PostgreSQL URL; psycopg 3 is the
optional extra `credits-cli[postgres]`. The store's parts (store/ledger.py)
run the same statements as on SQLite through `Connection` below, which speaks
sqlite3's small interface over psycopg; `PgLedger` overrides what the engines
do differently: how a write is serialized, ids, the daily summary in bulk,
an import's staging, and what `doctor` and `check` ask the engine itself.

A write begins with `BEGIN` (READ COMMITTED) and locks its workspace row
(`SELECT ... FOR UPDATE`) as the first thing it reads of it: every later
statement of the transaction sees what earlier writers of that workspace
committed, and writers of one workspace queue on the row (the design the issue
measured at about 500-600 logs/s on one workspace from 16 processes, where
SERIALIZABLE needed about two retries a transaction; on this project's 2-core
machines the bench's 16 x 200 logs are bound by each process's CPU instead).
Writers of different workspaces do not wait for each other. A read is one
REPEATABLE READ snapshot.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import NamedTuple
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from ..errors import BadInput, NotAllowed
from . import pg_schema, schema
from .db import StoreError
from .seals import SEALED, id_column, reseal_all

INSTALL = "pip install 'credits-cli[postgres]'"


def redact(url: str) -> str:
    """The URL without its password (in the user part or as `password=`): what credits ever shows of it."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.split("://", 1)[0] + "://..."
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        if ":" in user:
            user = user.split(":", 1)[0] + ":***"
        netloc = f"{user}@{host}"
    query = "&".join(
        f"{k}={'***' if k == 'password' else quote(v, safe='/:,')}"
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


class Unavailable(StoreError):
    """The server cannot be reached, refused the login, or the connection was lost."""


def _secrets(url: str) -> list[str]:
    found = []
    try:
        parts = urlsplit(url)
        if parts.password:
            found += [parts.password, quote(parts.password, safe="")]
        found += [v for k, v in parse_qsl(parts.query) if k == "password" and v]
    except ValueError:
        pass
    import os

    if os.environ.get("PGPASSWORD"):
        found.append(os.environ["PGPASSWORD"])
    return found


def one_line(e: BaseException, url: str = "") -> str:
    """A server's error as one line: its first, with any password taken out."""
    diag = getattr(e, "diag", None)
    text = (diag.message_primary if diag is not None and diag.message_primary else str(e)).strip()
    text = text.splitlines()[0] if text else type(e).__name__
    for secret in _secrets(url):
        text = text.replace(secret, "***")
    return text


def lost(e: BaseException) -> str | None:
    """What to say when the connection broke (the server restarted, the network dropped), or None.

    Lost during a COMMIT, the write may or may not have been made: a `log` with a `--key` can be run
    again as it was, and records the event once either way.
    """
    import psycopg

    if not isinstance(e, psycopg.OperationalError):
        return None
    return (
        f"the connection to the server was lost ({one_line(e)}); whether the last write was made is unknown:"
        " run the command again with the same --key to record it once"
    )


_TRANSLATED: dict[tuple, str] = {}


def translate(sql: str, names=None) -> str:
    """sqlite3's placeholders as psycopg's: `?` as `%s`, and `:name` as `%(name)s` for each of `names`
    (the keys of a dict of parameters); a literal % doubled."""
    key = (sql, tuple(names) if names else None)
    text = _TRANSLATED.get(key)
    if text is None:
        text = sql.replace("%", "%%")
        if names:
            text = re.sub(r":(\w+)\b", lambda m: f"%({m[1]})s" if m[1] in names else m[0], text)
        else:
            text = text.replace("?", "%s")
        _TRANSLATED[key] = text
    return text


def _text(sql: str, params) -> str:
    """The statement as psycopg takes it: placeholders translated when there are parameters."""
    return translate(sql, params if isinstance(params, dict) else None) if params else sql


def _nextval(table: str) -> str:
    """The expression that takes the next id of `table` from its sequence."""
    return f"nextval(pg_get_serial_sequence('{table}', '{id_column(table)}'))"


class Connection:
    """sqlite3.Connection's interface, as the store uses it, over a psycopg connection.

    Autocommit, so that the store's own BEGIN/COMMIT delimit transactions exactly as on SQLite;
    client-side binding (psycopg's ClientCursor), so that a parameter takes the type its place
    in the statement gives it, as in SQLite (`? IS NULL`, text compared with text).
    """

    engine = "postgresql"

    def __init__(self, raw, url: str):
        self.raw = raw
        self.url = url
        self._trace = None
        self.team: Team | None = None  # who is connected, as what (migrate)

    # Round trips: every one a write makes is time its workspace stays locked for every other client.
    # A BEGIN, and writes whose result nobody reads (`send`), are not sent on their own: they travel
    # with the next statement (one simple query of several statements; its results are skipped).
    _begin: str | None = None
    _queued: list[str] = []  # replaced, never changed in place
    round_trips = 0  # the round trips made, for the tests and the bench

    def _take_waiting(self) -> list[str]:
        """The BEGIN and the writes not sent yet, in order; they go now."""
        waiting = ([self._begin] if self._begin is not None else []) + self._queued
        self._begin, self._queued = None, []
        return waiting

    def execute(self, sql: str, params=()):
        if self._trace is not None:
            self._trace(sql)
        if sql.startswith("BEGIN"):
            self._begin, self._queued = sql, []
            return None
        if sql == "ROLLBACK":
            self._queued = []
            if self._begin is not None:  # nothing was sent: nothing to end
                self._begin = None
                return None
        elif sql == "COMMIT" and self._begin is not None and not self._queued:
            self._begin = None
            return None
        text = _text(sql, params)
        before = self._take_waiting()
        cur = self.raw.cursor()
        self.round_trips += 1
        if not before:
            cur.execute(text, params or None)
            return cur
        joined = "; ".join(before)
        cur.execute(f"{joined.replace('%', '%%') if params else joined}; {text}", params or None)
        for _ in before:
            cur.nextset()
        return cur

    def send(self, sql: str, params=()) -> None:
        """Run a write whose result nobody reads: it is sent with the next statement (an error it meets is
        raised there, inside the same transaction)."""
        if self._trace is not None:
            self._trace(sql)
        self._queued = [*self._queued, self.raw.cursor().mogrify(_text(sql, params), params) if params else sql]

    def _flush(self) -> None:
        before = self._take_waiting()
        if before:
            self.raw.execute("; ".join(before))
            self.round_trips += 1

    _cursors = 0

    def stream(self, sql: str, params=()):
        """A server-side cursor over a read of many rows, fetched 2,000 at a time: the client holds one
        batch, and other statements may run between batches (an import writes while it reads its staged
        rows). Outside a transaction the cursor is WITH HOLD (the server keeps the result)."""
        self._flush()  # a BEGIN not sent yet opens the transaction the cursor lives in
        if self._trace is not None:
            self._trace(sql)
        self._cursors += 1
        held = not self.in_transaction
        cur = self.raw.cursor(name=f"credits_stream_{self._cursors}", withhold=held)
        cur.itersize = 2000
        self.round_trips += 1
        cur.execute(_text(sql, params), params or None)
        return cur

    def copy_rows(self, table: str, columns: tuple[str, ...], rows: Iterable[tuple]) -> None:
        """Insert many rows by COPY: the server reads them as one statement (a statement trigger runs once),
        and the driver formats no SQL for them. An iterator is read as the rows are sent (psycopg hands them
        to libpq 32 KiB at a time), so memory holds few of them; it must not use the connection meanwhile."""
        rows = iter(rows)
        first = next(rows, None)
        if first is None:
            return
        self._flush()  # what waits to be sent is written first, in its order
        self.round_trips += 1
        with self.raw.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            copy.write_row(first)
            for row in rows:
                copy.write_row(row)

    def executemany(self, sql: str, rows):
        rows = list(rows)
        if not rows:
            return None
        self._flush()
        if self._trace is not None:
            self._trace(sql)
        cur = self.raw.cursor()
        cur.executemany(translate(sql), rows)
        self.round_trips += 1
        return cur

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return (
            self._begin is not None or bool(self._queued) or self.raw.info.transaction_status != TransactionStatus.IDLE
        )

    def set_trace_callback(self, callback) -> None:
        self._trace = callback

    def close(self) -> None:
        self.raw.close()

    # what differs from SQLite, asked by seals and the store's PostgreSQL parts

    def head_and_next_id(self, table: str, chain: int) -> tuple[int | None, int, int]:
        """(newest id, entries) of a seal chain and the next id of `table`, in one round trip."""
        row = self.execute(
            f"SELECT h.last_id, coalesce(h.rows, 0), {_nextval(table)}"
            " FROM (SELECT 1) AS one LEFT JOIN seal_heads h ON h.tbl = ? AND h.chain = ?",
            (table, chain),
        ).fetchone()
        return row[0], row[1], row[2]

    def ids(self, table: str) -> Iterator[int]:
        """Ids for many entries of `table`, taken from its sequence a block at a time (blocks growing from 8 to
        4096: a few round trips for a large import, few ids left unused by a small one; max + 1 would collide
        between concurrent writers)."""
        block = 4
        while True:
            block = min(block * 2, 4096)
            yield from (
                r[0]
                for r in self.execute(
                    f"SELECT {_nextval(table)} FROM generate_series(1, ?)",
                    (block,),
                ).fetchall()
            )

    def lock_chain(self, table: str) -> None:
        """Serialize the writers of a chain that belongs to no workspace (workspaces, coupons)."""
        self.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (f"credits seal chain {table}",))


def _driver():
    try:
        import psycopg
    except ImportError:
        raise BadInput("db", f"a PostgreSQL ledger needs the driver psycopg: {INSTALL}") from None
    return psycopg


def _adapters(psycopg, raw) -> None:
    """Integers as SQLite gives them: a sum of bigints is numeric on the server (an int here), a bool
    is stored as 0 or 1 in an integer column."""
    from decimal import Decimal

    from psycopg.adapt import Dumper, Loader

    class NumericLoader(Loader):
        def load(self, data):
            text = bytes(data).decode()
            return Decimal(text) if "." in text or "e" in text.lower() or "N" in text else int(text)

    class BoolAsInt(Dumper):
        oid = psycopg.adapters.types["int8"].oid

        def dump(self, obj):
            return b"1" if obj else b"0"

        def quote(self, obj):
            return b"1" if obj else b"0"

    raw.adapters.register_loader("numeric", NumericLoader)
    raw.adapters.register_dumper(bool, BoolAsInt)


def connect(url: str) -> Connection:
    """Connect to the ledger at `url` and bring its schema up to date."""
    conn = _connect(url, 10)
    try:
        conn.team = migrate(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def connect_reader(url: str) -> Connection | None:
    """The ledger at `url` opened only to read, as it is (every transaction of the session read-only: the
    server refuses a write), or None: no ledger of this schema there, or the role is not in its team."""
    conn = _connect(url, 3)  # a shell waiting on a Tab: not long
    try:
        conn.execute("SET default_transaction_read_only = on")
        has_team, role = conn.execute("SELECT to_regclass('credits_team') IS NOT NULL, current_user").fetchone()
        conn.team = _team(conn, role) if has_team else None
    except BaseException:
        conn.close()
        raise
    if conn.team is None or conn.team.kind is None:
        conn.close()
        return None
    return conn


def _connect(url: str, timeout: int) -> Connection:
    psycopg = _driver()
    try:
        raw = psycopg.connect(url, autocommit=True, cursor_factory=psycopg.ClientCursor, connect_timeout=timeout)
    except psycopg.Error as e:
        raise Unavailable(f"cannot connect to {redact(url)}: {one_line(e, url)}") from None
    except Exception as e:  # a malformed URL: libpq's parser or ours
        raise BadInput("db", f"not a PostgreSQL URL credits can use: {redact(url)} ({one_line(e, url)})") from None
    _adapters(psycopg, raw)
    return Connection(raw, url)


class Team(NamedTuple):
    """Who is connected to a ledger on a server, and as what: "admin", "member", or None (not in its team)."""

    role: str
    kind: str | None
    member: str  # the ledger's group roles
    admin: str


def migrate(conn: Connection) -> Team:
    """Create or bring up to date the ledger in the connection's current schema; safe when many start at once.
    Who is connected, and as what."""
    where, has_team, role = conn.execute(
        "SELECT current_schema(), to_regclass('credits_team') IS NOT NULL, current_user"
    ).fetchone()
    if where is None:
        _no_schema(conn, role)
    if has_team:
        team = _team(conn, role)
        if team is not None:
            return team
    conn.execute("BEGIN")
    try:
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('credits migrations ' || current_schema()))")
        has = conn.execute("SELECT to_regclass('credits_migrations') IS NOT NULL").fetchone()[0]
        if not has:
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1 LIMIT 4"
                )
            ]
            if tables:
                listed = ", ".join(tables[:3]) + (", ..." if len(tables) > 3 else "")
                raise BadInput(
                    "db",
                    f"the schema {where!r} of {redact(conn.url)} holds tables that are not a credits ledger"
                    f" ({listed}); nothing was changed; give an empty schema (?options=-csearch_path%3DNAME)",
                )
            conn.execute(pg_schema.MIGRATIONS_TABLE)
        applied = {r[0] for r in conn.execute("SELECT name FROM credits_migrations")}
        unknown = sorted(applied - set(pg_schema.NAMES))
        if unknown:
            raise StoreError(
                f"this database has schema version {len(applied)}, newer than this credits"
                f" ({len(pg_schema.NAMES)}: it does not know {', '.join(unknown)}); upgrade credits"
            )
        at = conn.execute("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')").fetchone()[0]

        def record(name: str) -> None:
            conn.execute("INSERT INTO credits_migrations (name, applied_at) VALUES (?, ?)", (name, at))
            applied.add(name)

        if not applied:
            for statement in pg_schema.statements():
                conn.execute(statement)
            for name in schema.NAMES:
                record(name)
        if not set(pg_schema.NAMES) <= applied:
            owner, may = conn.execute(
                "SELECT pg_get_userbyid(relowner), pg_has_role(relowner, 'USAGE')"
                " AND has_schema_privilege(current_schema(), 'CREATE') FROM pg_class"
                " WHERE oid = 'credits_migrations'::regclass"
            ).fetchone()
            if not may:
                raise NotAllowed(
                    f"this ledger is a schema version behind this credits and {role} may not bring it up to date:"
                    f" run any command once as {owner}, the role that owns its tables (its first admin)",
                    role=role,
                )
            _migrate_by_name(conn, applied, record)
        _make_team(conn, role, where, applied)
        names = dict(conn.execute("SELECT kind, role FROM credits_team").fetchall())
        if pg_schema.ALLOWANCES_MIGRATION not in applied:
            for statement in pg_schema.allowances_statements(names["member"], names["admin"]):
                conn.execute(statement)
        for name in pg_schema.NAMES[len(schema.NAMES) :]:
            if name not in applied:
                record(name)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    team = _team(conn, role)
    assert team is not None  # the migration made it
    return team


def _migrate_by_name(conn: Connection, applied: set[str], record: Callable[[str], None]) -> None:
    """A ledger made before some of the migrations shared with SQLite gets each it lacks, by its name: a ledger
    on a server records them in the order it got them (its team's roles may have come before the views), so
    `check` and this compare names, never positions. It takes the role that owns the tables (or a superuser).
    A migration that adds a content column to a sealed table seals its rows again (seals.reseal_all)."""
    missing = [name for name in schema.NAMES if name not in applied]
    if not missing:
        return
    member = None
    if conn.execute("SELECT to_regclass('credits_team') IS NOT NULL").fetchone()[0]:
        found = conn.execute(  # none when the group roles are gone (a restore): _make_team grants them all
            "SELECT t.role FROM credits_team t JOIN pg_roles r ON r.rolname = t.role WHERE t.kind = 'member'"
        ).fetchone()
        member = found and found[0]
    for name in missing:
        statements, resealed = pg_schema.LATER[name]
        for statement in statements(member):
            conn.execute(statement)
        for table, added in resealed.items():
            reseal_all(conn, table, added)
        record(name)


def _no_schema(conn: Connection, role: str):
    """The search_path names no schema this role may use: one it may not (not in that ledger's team), or none."""
    barred = conn.execute(
        "SELECT n.nspname FROM pg_namespace n WHERE n.nspname = ANY(string_to_array("
        "replace(replace(current_setting('search_path'), ' ', ''), '\"', ''), ','))"
        " AND NOT has_schema_privilege(n.oid, 'USAGE') LIMIT 1"
    ).fetchone()
    if barred is not None:
        raise NotAllowed(f"{role} may not use the schema {barred[0]!r}: it is not in the team of the ledger there")
    raise BadInput("db", f"{redact(conn.url)}: the search_path names no schema that exists; create it first")


def _team(conn: Connection, role: str) -> Team | None:
    """The ledger's team as the connected role stands in it, or None when a migration is due (a schema
    version behind, or team roles that do not exist on this server: a database restored on another)."""
    rows = conn.execute(
        "SELECT (SELECT array_agg(name::text) FROM credits_migrations), t.kind, t.role, r.oid IS NOT NULL,"
        " CASE WHEN r.oid IS NOT NULL THEN pg_has_role(r.oid, 'MEMBER') END"
        " FROM credits_team t LEFT JOIN pg_roles r ON r.rolname = t.role"
    ).fetchall()
    if not rows or set(rows[0][0] or ()) != set(pg_schema.NAMES) or not all(r[3] for r in rows):
        return None
    names = {r[1]: r[2] for r in rows}
    has = {r[1]: r[4] for r in rows}
    kind = "admin" if has["admin"] else "member" if has["member"] else None
    return Team(role, kind, names["member"], names["admin"])


def _make_team(conn: Connection, role: str, where: str, applied: set[str]) -> None:
    """The migration "team roles" (see pg_schema): the ledger's group roles and what each may do; or, for a
    database restored where its roles do not exist, those roles again. It takes a role that may create roles."""
    done = pg_schema.TEAM_MIGRATION in applied
    if done:
        missing = [
            name
            for (name,) in conn.execute(
                "SELECT role FROM credits_team WHERE role NOT IN (SELECT rolname FROM pg_roles)"
            ).fetchall()
        ]
        if not missing:
            return
    may = conn.execute("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user").fetchone()
    if not may or not may[0]:
        raise NotAllowed(
            f"{role} may not create roles, and this ledger's team needs its own (its members and its admins):"
            " run the first command (or the first after an upgrade or a restore) as a role with CREATEROLE",
            role=role,
        )
    if done:
        for name in missing:
            conn.execute(f"CREATE ROLE {pg_schema.quoted(name)} NOLOGIN")
        names = dict(conn.execute("SELECT kind, role FROM credits_team").fetchall())
        for statement in pg_schema.team_grants(names["member"], names["admin"], where):
            conn.execute(statement)
        if pg_schema.ALLOWANCES_MIGRATION in applied:
            for statement in pg_schema.allowances_grants(names["member"], names["admin"]):
                conn.execute(statement)
        return
    db = conn.execute("SELECT current_database()").fetchone()[0]
    base = "credits_" + re.sub(r"[^a-z0-9]+", "_", f"{db}_{where}".lower()).strip("_")[:40]
    taken = {r[0] for r in conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'credits\\_%'")}
    n, prefix = 1, base
    while f"{prefix}_member" in taken or f"{prefix}_admin" in taken:
        n += 1
        prefix = f"{base}_{n}"
    for statement in pg_schema.team_statements(f"{prefix}_member", f"{prefix}_admin", where):
        conn.execute(statement)


# -- the store -----------------------------------------------------------------------------------

from .audit import Audit  # noqa: E402  (the whole assembly: a server's round trip outweighs imports)
from .copying import Copying  # noqa: E402
from .foresight import Foresight  # noqa: E402
from .ledger import Ledger  # noqa: E402
from .offers import Offers  # noqa: E402
from .pg_team import TeamRoles  # noqa: E402
from .repo import WriteBuffer  # noqa: E402
from .staging import STAGED, Staging  # noqa: E402

_STAGED_TYPES = {
    "line": "bigint",
    "quantity": "bigint",
    "seconds": "bigint",
    "chars": "bigint",
    "custom_domain": "bigint",
    "credits_milli": "bigint",
    "src_id": "bigint",
    "corrects": "bigint",
}


class SequenceBuffer(WriteBuffer):
    """An import's buffer on a server: its events and allocations are COPYed (PgLedger._insert), and the ids
    it took from the sequence stay good after a flush."""

    def flush(self) -> None:
        ids = self.chains.ids  # ids taken from the sequence stay good after a flush (SQLite's max + 1 is read again)
        super().flush()
        self.chains.ids = ids


class PgLedger(Ledger, Foresight, Offers, Staging, Audit, Copying, TeamRoles):
    """The ledger on PostgreSQL (see the module's docstring)."""

    BEGIN_WRITE = "BEGIN"  # READ COMMITTED; the workspace row is locked as it is read (_row_lock)
    BEGIN_READ = "BEGIN ISOLATION LEVEL REPEATABLE READ"
    STAGED_COLUMNS = ", ".join(f"{c} {_STAGED_TYPES.get(c, pg_schema.T)}" for c in STAGED[1:])
    GROUP_CONCAT = "string_agg(a.grant_id || ':' || a.credits_milli, ',')"
    GROUP_BY_VALUE = ""
    # On a team's ledger, an alert's command runs only in its author's own process: a member's log that
    # crosses an admin's alert would otherwise run the admin's code on the member's machine, with its
    # environment (CREDITS_DB, PGPASSWORD). The others' crossings go to the outbox.
    ALERT_EXEC = "CASE WHEN made_by = current_user THEN exec END"
    PACKED = "json_build_array({})::text"  # one JSON array text, as SQLite's json_array writes it

    @classmethod
    def open(cls, path, given: bool = False) -> PgLedger:
        url = str(path)
        return cls(connect(url), redact(url))  # type: ignore[arg-type]  # sqlite3.Connection's interface

    @classmethod
    def reader(cls, path) -> PgLedger | None:
        url = str(path)
        conn = connect_reader(url)
        return None if conn is None else cls(conn, redact(url))  # type: ignore[arg-type]  # as in open

    @property
    def team(self) -> Team | None:  # type: ignore[override]
        return self._server.team

    @property
    def _server(self) -> Connection:
        return self._conn  # type: ignore[return-value]  # the store's connection, typed as sqlite3's

    def _write_buffer(self) -> WriteBuffer:
        return SequenceBuffer(self._conn, self._insert)

    def _stream(self, sql: str, params=()):
        return self._server.stream(sql, params)

    def get_workspace(self, name: str):
        """Inside a write, a workspace not found is looked for again once the writers that create workspaces
        are serialized: two clients using a new ledger at once create `default` once (the second finds it)."""
        ws = super().get_workspace(name)
        if ws is None and self._writing:
            self._server.lock_chain("workspaces")
            ws = super().get_workspace(name)
        return ws

    def lock_workspace(self, ws_id: int) -> None:
        self._conn.execute("SELECT 1 FROM workspaces WHERE id = ? FOR UPDATE", (ws_id,))

    def _row_lock(self) -> str:
        return " FOR UPDATE" if self._writing else ""

    @contextmanager
    def _deferred_summary(self) -> Iterator[None]:
        yield  # the summary's statement-level trigger is exact and cheap in bulk too

    def _summarize(self) -> None:
        self._settle()  # the summary is read: what the buffer holds is written first (its trigger sums it)

    def identity(self) -> str:
        """The server (its system identifier), the database and the schema."""
        row = self._conn.execute(
            "SELECT (SELECT system_identifier FROM pg_control_system()), current_database(), current_schema()"
        ).fetchone()
        return "postgresql " + "/".join(map(str, row))

    def lock_for_copy(self) -> None:
        for table in ("workspaces", "coupons"):  # the chains that belong to no workspace (seals.append's lock)
            self._server.lock_chain(table)

    def ids_written(self) -> None:
        """Each table's sequence moved past the ids a copy wrote (or the next insert would take one of them)."""
        for table in SEALED:
            column = id_column(table)
            seq, top = self._conn.execute(
                f"SELECT pg_get_serial_sequence('{table}', '{column}'), max({column}) FROM {table}"
            ).fetchone()
            if top is not None:
                self._conn.execute(
                    f"SELECT setval(?, ?) FROM {seq} WHERE NOT is_called OR last_value < ?", (seq, top, top)
                )

    def _insert(self, table: str, cols: tuple[str, ...], rows: Iterable[tuple]) -> None:
        """COPY: the server reads the rows as one statement (the summary's trigger runs once); a long INSERT's
        thousands of parameters cost the driver more than the server (measured: 100,000 events copied in
        13.5 s that way). An import's staging and buffer and a copy write through here."""
        self._server.copy_rows(table, cols, rows)

    def _has_json(self) -> bool:
        return True  # json_build_array (PACKED) is always there

    def server_facts(self) -> dict:
        """What `doctor` shows of a server: its version, the schema's, where the ledger is, who is connected."""
        server, num, where, role = self._conn.execute(
            "SELECT current_setting('server_version'), current_setting('server_version_num')::int,"
            " current_schema(), current_user"
        ).fetchone()
        migrations = [r[0] for r in self._conn.execute("SELECT name FROM credits_migrations ORDER BY name")]
        privileges = {
            f"{what} on {table}": ok
            for table, what, ok in self._conn.execute(
                "SELECT t, p, has_table_privilege(current_schema() || '.' || t, p) FROM"
                " unnest(ARRAY['events', 'grants', 'allocations', 'grant_usage']) AS t,"
                " unnest(ARRAY['SELECT', 'INSERT']) AS p ORDER BY 1, 2"
            )
        }
        return {
            "server": server,
            "server_num": num,
            "version": len(migrations),
            "migrations": migrations,
            "schema": where,
            "role": role,
            "privileges": privileges,
        }

    _listening = False

    def data_version(self) -> int:
        """Counts the changes other connections committed to this ledger since the first call (LISTEN/NOTIFY:
        every write to an entry table notifies at its commit)."""
        raw = self._server.raw
        if not self._listening:
            self._conn.execute(f"LISTEN {pg_schema.CHANNEL}")
            self._listening, self._changes = True, 0
            self._where = self._conn.execute("SELECT current_schema()").fetchone()[0]
        self._changes += sum(1 for n in raw.notifies(timeout=0) if n.payload == self._where)
        return self._changes

    def is_ledger_file(self, path) -> bool:
        return False  # the ledger is on a server: no file of this machine is it

    def _guards(self) -> dict[tuple[str, str], str | None]:
        return {(kind, name): sql for kind, name, sql in self._conn.execute(pg_schema.GUARDS)}

    def _expected_guards(self) -> dict[tuple[str, str], str | None]:
        rows = self._conn.execute("SELECT kind, name, definition FROM credits_guards")
        return {(kind, name): sql for kind, name, sql in rows}
