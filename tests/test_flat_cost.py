"""Reports cost what their time range holds, never what the whole history holds.

Every query a report or a log runs on the events table must be a SEARCH of an
index (a range or an equality), never a SCAN of the table or of a whole index,
and the reports' range queries must read a covering index only (no table
lookups). The plans are SQLite's own (EXPLAIN QUERY PLAN), on a real ledger
file (sqlite_file: PostgreSQL's planner chooses by its statistics, and reads a
table of a few rows whole). What the daily summary and the export's order give
is checked on both engines.
"""

import re
import sqlite3
from datetime import UTC

import pytest
from conftest import Cli

from credits_cli import foresight, reports, services
from credits_cli.cli import logcmd
from credits_cli.cli.spec import LOG
from credits_cli.services import Session
from credits_cli.store.ledger import Ledger

NOW = "2026-03-20T12:00:00Z"


@pytest.fixture
def ledger(cli):
    cli("init", "--plan", "builder", "--start", "2026-01-05T09:00:00Z", "--timezone", "Asia/Kolkata", now=NOW)
    for i, (action, app, member) in enumerate(
        [
            ("SendEmail", "crm", "ana"),
            ("invokeLLM", "bot", "bo"),
            ("message --scope feature", None, "ana"),
            ("GenerateImage", "crm", None),
        ]
    ):
        args = ["log", *action.split(), "--at", f"2026-03-{10 + i}T08:00:00Z"]
        args += ["--app", app] if app else []
        args += ["--member", member] if member else []
        assert cli(*args, now=NOW).exit_code == 0
    cli("budget", "set", "--app", "crm", "--pool", "integration", "--credits", "500", now=NOW)
    return cli.db


def plans_of(db, run):
    """Run `run(session)` and return (sql, plan lines) of every statement that read the events table."""
    session = Session(db=str(db), now=NOW)
    with session.store.traced() as seen:
        run(session)
    conn = sqlite3.connect(db)
    _staging_tables(conn)
    out = []
    for sql in seen:
        if not sql.lstrip().upper().startswith(("SELECT", "WITH", "INSERT INTO USAGE_DAYS")) or not re.search(
            r"\bevents\b", sql
        ):
            continue
        plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]
        out.append((sql, plan))
    conn.close()
    session.close()
    return out


def _staging_tables(conn) -> None:
    """An import's temporary tables (dropped when it ends), empty, so that its statements can be explained."""
    from credits_cli.store.staging import Staging

    Staging(conn).stage_begin()


def one_log(session):
    p = {s.name: s.default for s in LOG}
    p.update(action="SendEmail", app_name="crm", member="ana", quiet=True)
    logcmd._log(session, p, quiet=True)


def batch_logs(session):
    """Logs in one transaction, as `log --batch` writes them: the daily summary caught up in bulk."""
    from credits_cli.store.queries import EventFilter

    with session.store.bulk():
        one_log(session)
        session.store.total(session.workspace().id, EventFilter(pool="integration"))  # catches the summary up
        one_log(session)


def reimport(session):
    """An export imported again, with one more copy of an event and a void of another: the lookups that tell
    a new row from one the ledger holds go by the event's instant (the fingerprint has no index of its own)."""
    import csv
    import os
    import tempfile

    from credits_cli import importer, transfer

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "again.csv")
        other = Session(db=session.db_path, now=NOW)  # the export reads all history: not this test's subject
        transfer.export(other, "csv", path)
        other.close()
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        extra = dict(rows[0], id="9001")
        void = dict(rows[1], id="9002", corrects=rows[1]["id"], credits="-" + rows[1]["credits"])
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows + [extra, void])
        result = importer.import_file(session, path)
        assert (result.added, result.skipped) == (2, len(rows))


REPORTS = {
    "balance": lambda s: services.balance(s),
    "apps": lambda s: reports.distribution(s, "app"),
    "apps of a pool": lambda s: reports.distribution(s, "app", pool="integration"),
    "members": lambda s: reports.distribution(s, "member"),
    "actions": lambda s: reports.distribution(s, "action", since="2026-02-01"),
    "daily": lambda s: reports.daily(s),
    "daily of an app": lambda s: reports.daily(s, app="crm"),
    "members of an app": lambda s: reports.distribution(s, "member", app="crm", pool="integration"),
    "apps of a member": lambda s: reports.distribution(s, "app", member="ana"),
    "actions of an app": lambda s: reports.distribution(s, "action", app="crm", since="2026-01-01"),
    "daily of a pool": lambda s: reports.daily(s, pool="message"),
    "daily in another zone": lambda s: reports.daily(s, timezone="America/New_York"),
    "weekly": lambda s: reports.weekly(s),
    "weekly from Sunday in UTC": lambda s: reports.weekly(s, week_start="sunday", timezone="UTC"),
    "monthly of an app": lambda s: reports.monthly(s, app="crm"),
    "monthly in another zone": lambda s: reports.monthly(s, timezone="Europe/Berlin", pool="integration"),
    "cycles": lambda s: reports.cycles(s),
    "cycles of a member": lambda s: reports.cycles(s, member="ana", since="2026-02-01"),
    "forecast": lambda s: foresight.forecast(s),
    "log": one_log,
    "log --batch": batch_logs,
    "import": reimport,
}


@pytest.mark.sqlite_file
@pytest.mark.parametrize("name", REPORTS)
def test_every_read_of_the_events_is_an_index_search(ledger, name):
    plans = plans_of(ledger, REPORTS[name])
    assert plans, "the command read no events"
    for sql, plan in plans:
        for line in plan:
            if re.search(r"\bevents\b|INDEX events_|^(SEARCH|SCAN) [ev]\b", line):  # the table, or it aliased
                assert line.startswith("SEARCH"), (sql, plan)  # never SCAN: that would read all history
                bounds = re.search(r"\((.*)\)$", line)
                if bounds is None:  # max(id): the table's last row, one step down its b-tree
                    assert line == "SEARCH events" and "max(id)" in sql, (sql, plan)
                    continue
                if "EXISTS (SELECT 1 FROM events WHERE workspace_id = " in sql:
                    continue  # whether a workspace has any event: its first index entry answers
                assert bounds.group(1) != "workspace_id=?", (sql, plan)  # a whole workspace's history is no bound


@pytest.mark.sqlite_file
@pytest.mark.parametrize("name", [n for n in REPORTS if not n.startswith("log") and n != "import"])
def test_report_ranges_read_a_covering_index_only(ledger, name):
    for sql, plan in plans_of(ledger, REPORTS[name]):
        if " at >= " in sql or " at > " in sql:
            assert any("COVERING INDEX" in line for line in plan), (sql, plan)


# --- the daily summary equals a full recomputation -------------------------------------------------


def test_reports_from_the_summary_equal_a_recomputation_from_the_events(new_db, tmp_path):
    """Random ranges, filters and groupings over a ledger of many days: usage_days plus the edges
    gives exactly what a GROUP BY over every event gives."""
    import random
    from datetime import datetime, timedelta

    from credits_cli.store import queries
    from credits_cli.store.queries import EventFilter

    cli = Cli(new_db("s"))
    cli("init", "--plan", "elite", "--start", "2026-01-01T00:00:00Z", now="2026-01-01T00:00:00Z")
    rnd = random.Random(4)
    head = "at,pool,action,model,quantity,credits,app,member,corrects,id\n"
    rows = []
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(600):
        t = t0 + timedelta(seconds=rnd.randrange(0, 40 * 86400))
        action, pool, model = rnd.choice(
            [
                ("SendEmail", "integration", ""),
                ("invokeLLM", "integration", "gpt-5"),
                ("invokeLLM", "integration", "automatic"),
                ("message", "message", ""),
            ]
        )
        rows.append(
            f"{t:%Y-%m-%dT%H:%M:%SZ},{pool},{action},{model},1,{rnd.randint(1, 3)},"
            f"{rnd.choice(['', 'crm', 'bot'])},{rnd.choice(['', 'ana', 'bo'])},,{i + 1}\n"
        )
    (tmp_path / "e.csv").write_text(head + "".join(rows))
    assert cli("import", str(tmp_path / "e.csv"), now="2026-02-15T00:00:00Z").exit_code == 0
    store = Ledger.open(cli.db)
    for _ in range(150):
        a = t0 + timedelta(seconds=rnd.randrange(-86400, 42 * 86400))
        b = a + timedelta(seconds=rnd.randrange(1, 20 * 86400))
        f = EventFilter(
            pool=rnd.choice([None, "integration"]),
            app=rnd.choice([None, "crm"]),
            member=rnd.choice([None, "ana"]),
            action=rnd.choice([None, "invokeLLM"]),
            since=rnd.choice([a, None]),
            until=rnd.choice([b, None]),
        )
        by = rnd.choice([("app",), ("member",), ("action", "model"), ("pool", "app")])
        sql, params = queries.where(1, f)
        cols = ", ".join(by)
        expected = cli.sql(
            f"SELECT {cols}, sum(credits_milli) AS c, count(*) FROM events WHERE {sql}"
            f" GROUP BY {cols} ORDER BY c DESC, {', '.join(c + ' NULLS FIRST' for c in by)}",
            params,
        )
        assert store.grouped(1, f, by) == expected, (f, by)
        (total,) = cli.sql(f"SELECT coalesce(sum(credits_milli), 0), count(*) FROM events WHERE {sql}", params)
        assert store.total(1, f) == tuple(total), f
    store.close()


# --- export streams the ledger in its own order --------------------------------------------------


def export_with_ties(ledger, out, since, explain=False):
    """Export `ledger`, with two more events at the instant of its first (to tie), to `out`: the (at, id) of
    each row written, and when asked the plans of the statements that read the events (SQLite's)."""
    from credits_cli import transfer

    Cli(ledger).sql(
        "INSERT INTO events (workspace_id, at, recorded_at, pool, action, quantity, credits_milli,"
        " fingerprint) SELECT workspace_id, at, recorded_at, pool, action, 1, 0, 'tie' || n FROM events,"
        " (SELECT 1 AS n UNION SELECT 2) AS two WHERE id = 1"
    )

    def export(session):
        transfer.export(session, "csv", str(out), since=since)

    plans = []
    if explain:
        plans = plans_of(ledger, export)
    else:
        session = Session(db=str(ledger), now=NOW)
        export(session)
        session.close()
    rows = out.read_text(encoding="utf-8").splitlines()[1:]
    keys = [(r.split(",")[1], int(r.split(",")[0])) for r in rows]
    assert len(keys) == (6 if since is None else 3)
    return keys, plans


@pytest.mark.parametrize("since", [None, "2026-03-11"])
def test_an_export_writes_the_events_of_one_instant_by_id(ledger, tmp_path, since):
    """Events of one instant come out by id, as the index holds them."""
    keys, _ = export_with_ties(ledger, tmp_path / "out.csv", since)
    assert keys == sorted(keys)


@pytest.mark.sqlite_file
@pytest.mark.parametrize("since", [None, "2026-03-11"])
def test_an_export_reads_the_events_in_order_with_no_sorter(ledger, tmp_path, since):
    """No sort, whatever the ledger's size. (A sorter there cost a tenth of a 1M export; the events tied at
    one instant are read in the same order.)"""
    keys, plans = export_with_ties(ledger, tmp_path / "out.csv", since, explain=True)
    assert plans and keys == sorted(keys)
    for sql, plan in plans:
        assert not any("TEMP B-TREE" in line for line in plan), (sql, plan)
