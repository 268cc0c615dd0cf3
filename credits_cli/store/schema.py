"""The schema, as named migrations recorded by sqlite-utils.

Append-only: never edit a migration that has shipped; add a new one.
`PRAGMA user_version` holds the number of migrations applied, so a command can
tell in one cheap read that nothing is pending (and skip importing sqlite-utils).

Amounts are integer milli-credits (`*_milli` columns: 1300 is 1.3 credits);
instants are fixed-width UTC text that sorts in time order.
"""

from __future__ import annotations

import sqlite3

NAMES = [
    "001_ledger",
    "002_event_fingerprints",
    "003_append_only",
    "004_simulation",
    "005_foresight",
    "006_report_indexes",
    "007_usage_days",
    "008_fingerprints_by_instant",
    "009_events_in_order",
    "010_seals",
    "011_views",
    "012_expiring_alerts",
]
VERSION = len(NAMES)


# The events table's columns, in order (its seal covers them all but `id`, with `workspace_id`).
EVENT_COLUMNS = (
    "id",
    "at",
    "recorded_at",
    "pool",
    "action",
    "model",
    "scope",
    "quantity",
    "seconds",
    "chars",
    "custom_domain",
    "credits_milli",
    "app",
    "member",
    "note",
    "key",
    "payload",
    "fingerprint",
    "corrects",
    "input_hash",
)

# The daily summary's trigger (one row a day and group, kept by every insert into events) ...
USAGE_DAYS_TRIGGER_NAME = "events_usage_days"
USAGE_DAYS_TRIGGER = (
    f"CREATE TRIGGER {USAGE_DAYS_TRIGGER_NAME} AFTER INSERT ON events BEGIN"
    " INSERT INTO usage_days VALUES (NEW.workspace_id, substr(NEW.at, 1, 10), NEW.pool, ifnull(NEW.app, ''),"
    " ifnull(NEW.member, ''), NEW.action, ifnull(NEW.model, ''), NEW.credits_milli, 1)"
    " ON CONFLICT DO UPDATE SET credits_milli = credits_milli + excluded.credits_milli,"
    " events = events + 1; END"
)


# Adding rows to the summary (both engines: the conflict target named, the old values qualified).
USAGE_DAYS_UPSERT = (
    " ON CONFLICT (workspace_id, pool, day, app, member, action, model) DO UPDATE"
    " SET credits_milli = usage_days.credits_milli + excluded.credits_milli,"
    " events = usage_days.events + excluded.events"
)


def usage_days_rows(after_id: bool = False) -> str:
    """... and the same rows computed from the events (all, or with `after_id` those of id > ?): the summary's
    one definition besides its trigger, used to fill it, to catch it up after a bulk write, and by `credits check`.

    NOT INDEXED: the newest events are a range of ids; left to itself the planner would read a whole
    covering index (every event) to group them.
    """
    source = "events NOT INDEXED WHERE id > ?" if after_id else "events"
    return (
        "SELECT workspace_id, substr(at, 1, 10), pool, coalesce(app, ''), coalesce(member, ''), action,"
        f" coalesce(model, ''), sum(credits_milli), count(*) FROM {source} GROUP BY 1, 2, 3, 4, 5, 6, 7"
    )


# -- the views: the ledger as any SQL tool reads it ----------------------------------------------------
#
# Amounts are integer milli-credits and instants fixed-width text, which is right for the ledger and hard to
# read in `sqlite3`, Datasette or a spreadsheet's database connection. The views show the same rows with
# names for ids, instants in the ISO form the JSON prints, and credits as exact decimals: on SQLite as TEXT
# ('1.300', '-0.005': SQLite has no exact decimal type, and its division would give a float), on PostgreSQL
# as numeric(20, 3). Each keeps the integer beside it (`credits_milli` ...) for exact sums in SQL. Nothing
# credits runs reads them: they cost a command nothing but their few lines of schema. Named after the
# command whose figures each shows, `v_` first: they sort together, apart from the tables, and no table
# will ever take one's name. A migration that rebuilds a table a view reads drops the view first (SQLite
# refuses to rename a table under a view that names a missing one) and makes it again.

VIEW_NAMES = ("v_events", "v_daily", "v_grants")


def decimal_text(milli: str) -> str:
    """SQLite: an integer of milli-credits as the exact decimal text of credits, three decimals ('-1.250')."""
    return f"printf('%s%d.%03d', iif({milli} < 0, '-', ''), abs({milli}) / 1000, abs({milli}) % 1000)"


def _iso(column: str) -> str:
    """A stored instant in the ISO form credits prints (2026-11-20T17:00:00Z: zero microseconds dropped)."""
    return f"replace({column}, '.000000Z', 'Z')"


def _view(name: str, columns: list[str], source: str) -> str:
    """A view's statement, a column a line (as `.schema` in `sqlite3` shows it)."""
    listed = ",\n  ".join(columns)
    return f"CREATE VIEW {name} AS SELECT\n  {listed}\nFROM {source}"


def view_statements(credits=decimal_text) -> list[str]:
    """The views, in an engine's dialect: `credits(sql)` writes an integer of milli-credits as exact credits
    (`sql` one term: a column, a call, or in brackets)."""
    return [
        _view(
            "v_events",
            [
                "e.id",
                "w.name AS workspace",
                f"{_iso('e.at')} AS at",
                *(f"e.{c}" for c in ("pool", "action", "model", "scope", "quantity", "seconds", "chars")),
                "e.custom_domain",
                f"{credits('e.credits_milli')} AS credits",
                *(f"e.{c}" for c in ("app", "member", "key", "note", "corrects")),
                "(SELECT v.id FROM events v WHERE v.corrects = e.id) AS voided_by",
                f"{_iso('e.recorded_at')} AS recorded_at",
                "e.credits_milli",
            ],
            "events e JOIN workspaces w ON w.id = e.workspace_id",
        ),
        # the daily summary (never the events), by workspace (names are unique), UTC day and pool: read in the
        # order of its index, with no sort
        _view(
            "v_daily",
            [
                "w.name AS workspace",
                "u.day AS utc_day",
                "u.pool",
                f"{credits('sum(u.credits_milli)')} AS credits",
                "CAST(sum(u.events) AS bigint) AS events",
                "CAST(sum(u.credits_milli) AS bigint) AS credits_milli",
            ],
            "usage_days u JOIN workspaces w ON w.id = u.workspace_id"
            "\nGROUP BY w.name, u.day, u.pool ORDER BY w.name, u.day, u.pool",
        ),
        _view(
            "v_grants",
            [
                "id",
                "workspace",
                "pool",
                "source",
                "reason",
                f"{credits('amount_milli')} AS credits",
                f"{credits('used_milli')} AS used",
                f"{credits('(amount_milli - used_milli)')} AS unused",
                *(f"{_iso(c)} AS {c}" for c in ("starts_at", "expires_at", "granted_at")),
                "amount_milli",
                "used_milli",
            ],
            "(SELECT g.*, w.name AS workspace, coalesce(u.used_milli, 0) AS used_milli FROM grants g"
            " JOIN workspaces w ON w.id = g.workspace_id LEFT JOIN grant_usage u ON u.grant_id = g.id) AS grants_used",
        ),
    ]


def _migrations():
    from sqlite_utils import Migrations

    migrations = Migrations("credits")

    @migrations(name="001_ledger")
    def ledger(db):
        db["workspaces"].create(
            {
                "id": int,
                "name": str,
                "plan": str,
                "billing": str,
                "anchor": str,
                "timezone": str,
                "created_at": str,
            },
            pk="id",
            not_null={"name", "plan", "billing", "anchor", "timezone", "created_at"},
        )
        db.execute("CREATE UNIQUE INDEX workspaces_name ON workspaces(name)")
        db["grants"].create(
            {
                "id": int,
                "workspace_id": int,
                "pool": str,
                "source": str,
                "amount_milli": int,
                "starts_at": str,
                "expires_at": str,  # NULL: never expires
                "granted_at": str,
                "reason": str,
            },
            pk="id",
            not_null={"workspace_id", "pool", "source", "amount_milli", "starts_at", "granted_at"},
            foreign_keys=[("workspace_id", "workspaces", "id")],
        )
        # One allowance grant a pool a cycle.
        db.execute(
            "CREATE UNIQUE INDEX grants_allowance ON grants(workspace_id, pool, starts_at) WHERE source = 'allowance'"
        )
        db.execute("CREATE INDEX grants_live ON grants(workspace_id, pool, starts_at)")
        # Derived: what has been drawn from each grant, kept in the same
        # transaction as the allocations it sums.
        db["grant_usage"].create(
            {"grant_id": int, "used_milli": int},
            pk="grant_id",
            not_null={"used_milli"},
            foreign_keys=[("grant_id", "grants", "id")],
        )
        db["events"].create(
            {
                "id": int,
                "workspace_id": int,
                "at": str,
                "recorded_at": str,
                "pool": str,
                "action": str,
                "model": str,
                "scope": str,
                "quantity": int,
                "seconds": int,
                "chars": int,
                "custom_domain": int,
                "credits_milli": int,
                "app": str,
                "member": str,
                "note": str,
                "key": str,
                "payload": str,
            },
            pk="id",
            not_null={"workspace_id", "at", "recorded_at", "pool", "action", "quantity", "credits_milli"},
            foreign_keys=[("workspace_id", "workspaces", "id")],
        )
        # Covering index: a pool's sum over any time range reads the index only.
        db.execute("CREATE INDEX events_pool_at ON events(workspace_id, pool, at, credits_milli)")
        db.execute("CREATE UNIQUE INDEX events_key ON events(workspace_id, key) WHERE key IS NOT NULL")
        db["allocations"].create(
            {"event_id": int, "grant_id": int, "credits_milli": int},
            pk=("event_id", "grant_id"),
            not_null={"credits_milli"},
            foreign_keys=[("event_id", "events", "id"), ("grant_id", "grants", "id")],
        )
        db.execute("CREATE INDEX allocations_grant ON allocations(grant_id)")

    @migrations(name="002_event_fingerprints")
    def event_fingerprints(db):
        from ..domain.events import CONTENT_FIELDS, fingerprint

        db.execute("ALTER TABLE events ADD COLUMN fingerprint TEXT")
        cols = ", ".join(CONTENT_FIELDS)
        rows = db.execute(f"SELECT id, {cols} FROM events").fetchall()
        for row in rows:
            db.execute(
                "UPDATE events SET fingerprint = ? WHERE id = ?",
                (fingerprint(dict(zip(CONTENT_FIELDS, row[1:], strict=True))), row[0]),
            )
        db.execute("CREATE INDEX events_fingerprint ON events(workspace_id, fingerprint)")

    @migrations(name="003_append_only")
    def append_only(db):
        # The ledger's facts are never edited: a mistake is corrected by a new entry.
        for table in ("events", "grants"):
            for op in ("UPDATE", "DELETE"):
                db.execute(
                    f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table}"
                    f" BEGIN SELECT RAISE(ABORT, 'the credits ledger is append-only: {table} cannot be changed'); END"
                )

    @migrations(name="004_simulation")
    def simulation(db):
        # Plan changes: the plan in force at t is the latest decision among those effective by t.
        db["plan_changes"].create(
            {"id": int, "workspace_id": int, "plan": str, "billing": str, "requested_at": str, "effective_at": str},
            pk="id",
            not_null={"workspace_id", "plan", "billing", "requested_at", "effective_at"},
            foreign_keys=[("workspace_id", "workspaces", "id")],
        )
        db.execute("CREATE INDEX plan_changes_ws ON plan_changes(workspace_id, effective_at)")
        # Coupons are shared by every workspace of the database (a gift card's code).
        db["coupons"].create(
            {
                "id": int,
                "code": str,
                "display": str,
                "pool": str,
                "amount_milli": int,
                "expires_at": str,
                "max_uses": int,
                "created_at": str,
            },
            pk="id",
            not_null={"code", "display", "pool", "amount_milli", "created_at"},
        )
        db.execute("CREATE UNIQUE INDEX coupons_code ON coupons(code)")
        db["redemptions"].create(
            {"coupon_id": int, "workspace_id": int, "grant_id": int, "at": str},
            pk=("coupon_id", "workspace_id"),
            not_null={"grant_id", "at"},
            foreign_keys=[
                ("coupon_id", "coupons", "id"),
                ("workspace_id", "workspaces", "id"),
                ("grant_id", "grants", "id"),
            ],
        )
        db["shares"].create(
            {
                "id": int,
                "workspace_id": int,
                "platform": str,
                "url": str,
                "followers": int,
                "submitted_at": str,
                "status": str,
                "decided_at": str,
                "grant_id": int,
            },
            pk="id",
            not_null={"workspace_id", "platform", "url", "followers", "submitted_at", "status"},
            foreign_keys=[("workspace_id", "workspaces", "id")],
        )
        db["notifications"].create(
            {"id": int, "workspace_id": int, "kind": str, "pool": str, "at": str, "message": str, "once": str},
            pk="id",
            not_null={"workspace_id", "kind", "at", "message"},
            foreign_keys=[("workspace_id", "workspaces", "id")],
        )
        db.execute("CREATE UNIQUE INDEX notifications_once ON notifications(workspace_id, once) WHERE once IS NOT NULL")
        # A workspace's own simulated clock (absent: the real clock).
        db["sim_clock"].create(
            {"workspace_id": int, "now": str},
            pk="workspace_id",
            not_null={"now"},
            foreign_keys=[("workspace_id", "workspaces", "id")],
        )
        # A void is a correcting event: `corrects` names the event it cancels.
        db.execute("ALTER TABLE events ADD COLUMN corrects INTEGER REFERENCES events(id)")
        db.execute("CREATE UNIQUE INDEX events_corrects ON events(corrects) WHERE corrects IS NOT NULL")

    @migrations(name="005_foresight")
    def foresight(db):
        db["budgets"].create(
            {
                "id": int,
                "workspace_id": int,
                "kind": str,
                "name": str,
                "pool": str,
                "credits_milli": int,
                "created_at": str,
            },
            pk="id",
            not_null={"workspace_id", "kind", "name", "pool", "credits_milli", "created_at"},
            foreign_keys=[("workspace_id", "workspaces", "id")],
        )
        db.execute("CREATE UNIQUE INDEX budgets_target ON budgets(workspace_id, kind, name, pool)")
        db["alerts"].create(
            {
                "id": int,
                "workspace_id": int,
                "pool": str,
                "at_percent": int,
                "left_milli": int,
                "by_mid_cycle": int,
                "exec": str,
                "created_at": str,
            },
            pk="id",
            not_null={"workspace_id", "pool", "by_mid_cycle", "created_at"},
            foreign_keys=[("workspace_id", "workspaces", "id")],
        )
        # A fingerprint of the input a call was made with (`log --input`), to count repeats.
        db.execute("ALTER TABLE events ADD COLUMN input_hash TEXT")
        db.execute("CREATE INDEX events_app_at ON events(workspace_id, app, pool, at, credits_milli)")
        db.execute("CREATE INDEX events_member_at ON events(workspace_id, member, pool, at, credits_milli)")

    @migrations(name="006_report_indexes")
    def report_indexes(db):
        # Every report reads a time range: these covering indexes hold all it groups by, so a report
        # reads only the index entries of its range, never the table, whatever the ledger's size.
        db.execute("DROP INDEX events_pool_at")
        db.execute(
            "CREATE INDEX events_pool_at ON events(workspace_id, pool, at, credits_milli, app, member, action, model)"
        )
        db.execute(
            "CREATE INDEX events_at ON events(workspace_id, at, pool, credits_milli, app, member, action, model)"
        )
        # An app's or a member's range (a budget's cycle, a report's --app): time before pool.
        db.execute("DROP INDEX events_app_at")
        db.execute(
            "CREATE INDEX events_app_at ON events(workspace_id, app, at, pool, credits_milli, member, action, model)"
        )
        db.execute("DROP INDEX events_member_at")
        db.execute(
            "CREATE INDEX events_member_at ON events(workspace_id, member, at, pool, credits_milli, app, action, model)"
        )

    @migrations(name="007_usage_days")
    def usage_days(db):
        # Derived: the events' credits and counts per UTC day and what reports group by ('' for none),
        # kept by a trigger in the transaction of every insert (events are append-only, so insert is all
        # there is). A report reads whole days here and only its range's partial days from the events.
        # `credits check` recomputes it from the events.
        db.execute(
            "CREATE TABLE usage_days (workspace_id INTEGER NOT NULL REFERENCES workspaces(id), day TEXT NOT NULL,"
            " pool TEXT NOT NULL, app TEXT NOT NULL, member TEXT NOT NULL, action TEXT NOT NULL, model TEXT NOT NULL,"
            " credits_milli INTEGER NOT NULL, events INTEGER NOT NULL,"
            " PRIMARY KEY (workspace_id, pool, day, app, member, action, model)) WITHOUT ROWID"
        )
        db.execute(
            "CREATE INDEX usage_days_day ON usage_days(workspace_id, day, pool, app, member, action, model,"
            " credits_milli, events)"
        )
        db.execute(USAGE_DAYS_TRIGGER)
        db.execute(f"INSERT INTO usage_days {usage_days_rows()}")

    @migrations(name="008_fingerprints_by_instant")
    def fingerprints_by_instant(db):
        # A fingerprint hashes an event's content, its instant included: every event of the same content
        # is at the same instant, and events_at finds an instant's few events. An index in hash order
        # put each new event on a random page of its own (on a 1M ledger, a page read and written per
        # insert): import's lookups name the instant and the fingerprint instead.
        db.execute("DROP INDEX IF EXISTS events_fingerprint")

    @migrations(name="009_events_in_order")
    def events_in_order(db):
        # Export, import's look-ups and the events after a back-dated one read events in the ledger's
        # order, by instant and then id. With id right after the instant, this index holds them in that
        # order: events of one instant no longer go through a sorter (on a 1M ledger, a tenth of an
        # export). A report's range reads the same index entries, now a few bytes longer.
        db.execute("DROP INDEX events_at")
        db.execute(
            "CREATE INDEX events_at ON events(workspace_id, at, id, pool, credits_milli, app, member, action, model)"
        )

    @migrations(name="010_seals")
    def seals_everywhere(db):
        # Every entry is sealed and chained (store/seals.py), so `credits check` finds a row edited, deleted
        # or inserted in any table behind credits' back, not only an edited event; and the entries that are
        # never changed get the append-only triggers events and grants have.
        from .seals import APPEND_ONLY, SEALED, seal_all

        for table in SEALED:
            db.execute(f"ALTER TABLE {table} ADD COLUMN prev_id INTEGER")
            db.execute(f"ALTER TABLE {table} ADD COLUMN seal TEXT")
        db.execute(
            "CREATE TABLE seal_heads (tbl TEXT NOT NULL, chain INTEGER NOT NULL, last_id INTEGER,"
            " rows INTEGER NOT NULL, seal TEXT NOT NULL, PRIMARY KEY (tbl, chain))"
        )
        for table in ("events", "grants"):
            for op in ("update", "delete"):
                db.execute(f"DROP TRIGGER IF EXISTS {table}_no_{op}")
        seal_all(db.conn)
        for table in APPEND_ONLY:
            for statement in append_only_triggers(table):
                db.execute(statement)
        # A chain's next entry is found by its predecessor (an entry removed is replaced by the one after it).
        for table in ("budgets", "alerts"):
            db.execute(f"CREATE INDEX {table}_prev ON {table}(prev_id)")
        # The exports written to a file, so that `credits doctor` can say where the last one is when the
        # ledger is damaged. Not an entry of the ledger: a note of where copies of it went.
        db.execute(
            "CREATE TABLE exports (id INTEGER PRIMARY KEY, workspace_id INTEGER NOT NULL, path TEXT NOT NULL,"
            " format TEXT NOT NULL, at TEXT NOT NULL, events INTEGER NOT NULL, bytes INTEGER NOT NULL,"
            " whole INTEGER NOT NULL)"
        )

    @migrations(name="011_views")
    def views(db):
        # Views for SQL tools (see view_statements): credits as decimals, names for ids, ISO instants.
        for statement in view_statements():
            db.execute(statement)

    @migrations(name="012_expiring_alerts")
    def expiring_alerts(db):
        # An alert on bonus credits about to expire (`alert add --expiring DAYS`): the days ahead it looks. No
        # existing column could hold it without changing what that column means to an older credits (an
        # `at_percent` it would fire as a percentage) or to anyone reading the file. A content column of a
        # sealed table: the rows are sealed again with it.
        from .seals import reseal_all

        db.execute("ALTER TABLE alerts ADD COLUMN expiring_days INTEGER")
        reseal_all(db.conn, "alerts", ("expiring_days",))

    return migrations


def append_only_triggers(table: str) -> list[str]:
    """The triggers that refuse UPDATE and DELETE on an append-only table (named {table}_no_update, _no_delete)."""
    return [
        f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table}"
        f" BEGIN SELECT RAISE(ABORT, 'the credits ledger is append-only: {table} cannot be changed'); END"
        for op in ("UPDATE", "DELETE")
    ]


def migrate(conn: sqlite3.Connection, found: int) -> None:
    """Bring the database to VERSION; safe when many processes start at once."""
    from .db import StoreError

    if found > VERSION:
        raise StoreError(
            f"this database has schema version {found}, newer than this credits ({VERSION}); upgrade credits"
        )
    import sqlite_utils

    _wal(conn)
    db = sqlite_utils.Database(conn, execute_plugins=False)
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Another process may have migrated while this one waited for the lock.
        if conn.execute("PRAGMA user_version").fetchone()[0] < VERSION:
            _migrations().apply(db)
            conn.execute(f"PRAGMA user_version = {VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _wal(conn: sqlite3.Connection) -> None:
    """Put the file in WAL mode, once, however many processes open a new ledger at the same moment.

    Switching the journal mode needs the file to itself, and SQLite refuses at once ("database is
    locked"), without the busy timeout's wait, when another connection holds it: waiting could
    deadlock. Each process retries until the file is in WAL mode (another process may have switched
    it meanwhile), for as long as the busy timeout.
    """
    import time

    from .db import BUSY_TIMEOUT_S

    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode=WAL").fetchone()
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


def guards(conn: sqlite3.Connection) -> dict[tuple[str, str], str | None]:
    """The indexes, triggers and views of a database as {(type, name): sql} (SQLite's own unique indexes left
    out)."""
    return {
        (t, n): s
        for t, n, s in conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger', 'view') AND sql IS NOT NULL"
        )
    }


def expected_guards() -> dict[tuple[str, str], str | None]:
    """The indexes, triggers and views this credits' migrations make: a new ledger's, built in memory."""
    import sqlite_utils

    conn = sqlite3.connect(":memory:")
    try:
        _migrations().apply(sqlite_utils.Database(conn, execute_plugins=False))
        return guards(conn)
    finally:
        conn.close()
