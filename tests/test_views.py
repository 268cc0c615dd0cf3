"""The views SQL tools read (docs/storage.md, "Views"): v_events, v_daily and v_grants show what credits' own
commands show, credits exact (never a float), on either engine, opened with the engine's plain driver (the
sqlite3 module, psycopg) as any SQL tool would; a ledger made before them gets them from its next command."""

import re
import shutil
import sqlite3
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import Cli

from credits_cli.store import schema

NOW = "2026-02-20T12:00:00Z"
LATER = "2026-03-10T00:00:00Z"  # after the older fixture's workspaces began
ROOT = Path(__file__).parent.parent


def read(db, query: str, params=()) -> list[dict]:
    """Rows of a view as dicts, read by the engine's plain driver (no credits code)."""
    if isinstance(db, str):
        import psycopg
        from psycopg.rows import dict_row

        with psycopg.connect(db, row_factory=dict_row) as conn:
            return conn.execute(query.replace("?", "%s"), params or None).fetchall()
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        cur = conn.execute(query, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    finally:
        conn.close()


def exact(value) -> Decimal:
    """A view's credits: SQLite's text ('-1.250') or PostgreSQL's numeric, never a float; as a Decimal."""
    assert isinstance(value, str | Decimal), (type(value), value)
    assert re.fullmatch(r"-?\d+\.\d{3}", str(value)), value  # three decimals, as written
    return Decimal(value)


@pytest.fixture(scope="module")
def ledger(module_db):
    """Two workspaces; events of every shape: sub-credit amounts, voids (negative), a back-dated and a
    sub-second instant, notes, keys, a model, a custom domain; a coupon and a top-up drawn on."""
    cli = Cli(module_db("views"))
    begin = "2026-02-01T00:00:00Z"

    def ok(*args, now=NOW):
        r = cli(*args, now=now)
        assert r.exit_code == 0, (args, r.stdout, r.stderr)
        return r

    ok("init", "--plan", "builder", "--start", begin, now=begin)
    ok("coupon", "create", "WELCOME", "--credits", "2.5", "--pool", "message")
    ok("coupon", "redeem", "WELCOME")
    ok("topup", "--pool", "integration", "--packs", "1")
    ok("log", "message", "--credits", "0.005", "--app", "crm", "--member", "ana", "--note", "tiny", "--key", "k-1")
    ok("log", "message", "--credits", "1.25", "--app", "web", "--member", "bob")
    ok("log", "invokeLLM", "--model", "gpt-5", "--app", "crm", "--member", "ana", "--at", "2026-02-03T10:00:00.5Z")
    ok("log", "SendEmail", "--count", "3", "--custom-domain", "--app", "crm", "--at", "2026-02-04T23:59:59Z")
    ok("log", "GenerateSpeech", "--chars", "120", "--app", "web", "--at", "2026-02-05T00:00:00Z")
    ok("log", "message", "--credits", "249.5", "--app", "crm")  # the allowance and then the coupon pay it
    ok("void", "2", "--reason", "wrong app")  # -1.250
    ok("void", "1")  # -0.005
    ok("--workspace", "side", "init", "--plan", "free", "--start", begin, now=begin)
    ok("--workspace", "side", "log", "message", "--credits", "0.3", "--member", "cy")
    return cli


def events_json(cli, workspace: str) -> list[dict]:
    return cli.json("--workspace", workspace, "events", "--limit", "0", now=NOW)


def test_v_events_shows_every_event_as_events_json_does(ledger):
    rows = {r["id"]: r for r in read(ledger.db, "SELECT * FROM v_events")}
    seen = []
    for workspace in ("default", "side"):
        for e in events_json(ledger, workspace):
            v = rows[e["id"]]
            seen.append(e["id"])
            assert v["workspace"] == workspace
            assert exact(v["credits"]) == e["credits"], e
            assert str(v["credits"]) == format(e["credits"], ".3f")
            assert v["credits_milli"] == e["credits"] * 1000
            assert bool(v["custom_domain"]) == e["custom_domain"]
            same = ("at", "pool", "action", "model", "scope", "quantity", "seconds", "chars")
            same += ("app", "member", "key", "note", "corrects")
            assert {k: v[k] for k in same} == {k: e[k] for k in same}
            shown = ledger.json("--workspace", workspace, "show", e["id"], now=NOW)
            assert v["recorded_at"] == shown["recorded_at"]
    assert sorted(seen) == sorted(rows)  # every event, once
    voids = {e["corrects"]: e["id"] for e in events_json(ledger, "default") if e["corrects"] is not None}
    assert set(voids) == {1, 2}
    assert {i: v["voided_by"] for i, v in rows.items() if v["voided_by"] is not None} == voids


def test_sub_credit_and_negative_amounts_are_exact(ledger):
    credits = {r["id"]: str(r["credits"]) for r in read(ledger.db, "SELECT id, credits FROM v_events")}
    voids = {r["corrects"]: r["id"] for r in read(ledger.db, "SELECT id, corrects FROM v_events WHERE corrects > 0")}
    assert (credits[1], credits[2], credits[voids[2]], credits[voids[1]]) == ("0.005", "1.250", "-1.250", "-0.005")
    assert credits[6] == "249.500"
    at = {r["id"]: r["at"] for r in read(ledger.db, "SELECT id, at FROM v_events")}
    assert (at[3], at[4]) == ("2026-02-03T10:00:00.500000Z", "2026-02-04T23:59:59Z")
    # sums in SQL are exact on the integer column the view keeps beside the decimal
    (total,) = read(ledger.db, "SELECT sum(credits_milli) AS m FROM v_events WHERE workspace = 'default'")
    expected = sum(e["credits"] for e in events_json(ledger, "default"))
    assert Decimal(total["m"]) / 1000 == expected


def test_v_daily_shows_what_daily_json_shows(ledger):
    rows = read(ledger.db, "SELECT * FROM v_daily")
    assert [(r["workspace"], r["utc_day"], r["pool"]) for r in rows] == sorted(
        (r["workspace"], r["utc_day"], r["pool"]) for r in rows
    )  # in order, as documented
    for workspace in ("default", "side"):
        for pool in ("message", "integration"):
            days = ledger.json(
                "--workspace", workspace, "daily", "--pool", pool, "--since", "2026-02-01", "--until", "2026-02-20"
            )
            shown = {d["date"]: (d["credits"], d["events"]) for d in days if d["events"]}
            viewed = {
                r["utc_day"]: (exact(r["credits"]), r["events"])
                for r in rows
                if r["workspace"] == workspace and r["pool"] == pool
            }
            assert viewed == shown, (workspace, pool)
            assert all(r["credits_milli"] == exact(r["credits"]) * 1000 for r in rows)
    assert ("default", "2026-02-20", "message") in {(r["workspace"], r["utc_day"], r["pool"]) for r in rows}


def test_v_daily_reads_the_summary_never_the_events(ledger):
    """A per-day view over the events would cost a ledger's size on every read."""
    if ledger.on_server:
        plan = " ".join(r["QUERY PLAN"] for r in read(ledger.db, "EXPLAIN SELECT * FROM v_daily"))
        read_tables = set(re.findall(r" on (\w+)", plan))
    else:  # the tables (and the tables of the indexes) the program opens, by their root pages
        pages = {r["rootpage"]: r["tbl_name"] for r in read(ledger.db, "SELECT rootpage, tbl_name FROM sqlite_master")}
        program = read(ledger.db, "EXPLAIN SELECT * FROM v_daily")
        read_tables = {pages[r["p2"]] for r in program if r["opcode"] == "OpenRead"}
        plan = " ".join(r["detail"] for r in read(ledger.db, "EXPLAIN QUERY PLAN SELECT * FROM v_daily"))
        assert "TEMP B-TREE" not in plan  # read in the order of the summary's index: no sort
    assert read_tables == {"usage_days", "workspaces"}, plan


def test_v_grants_shows_what_grants_json_shows(ledger):
    rows = {r["id"]: r for r in read(ledger.db, "SELECT * FROM v_grants")}
    listed = [g for g in ledger.json("grants", now=NOW) if g["grant"] is not None]  # not yet written: no row
    assert sorted(g["grant"] for g in listed) == sorted(i for i, r in rows.items() if r["workspace"] == "default")
    for g in listed:
        v = rows[g["grant"]]
        assert (v["pool"], v["source"], v["reason"]) == (g["pool"], g["source"], g["reason"])
        assert (exact(v["credits"]), exact(v["used"])) == (g["credits"], g["used"])
        assert exact(v["unused"]) == g["left"] + g["lost"]  # left while live, lost once expired
        assert (v["starts_at"], v["expires_at"]) == (g["starts_at"], g["expires_at"])
        assert (v["amount_milli"], v["used_milli"]) == (g["credits"] * 1000, g["used"] * 1000)
    coupon = next(v for v in rows.values() if v["source"] == "coupon")
    assert str(coupon["credits"]) == "2.500" and exact(coupon["used"]) + exact(coupon["unused"]) == Decimal("2.5")


# -- a ledger made before the views -----------------------------------------------------------------


def drop_views(cli) -> None:
    """The ledger as credits before the migration "views" left it."""
    views = ", ".join(schema.VIEW_NAMES)
    if cli.on_server:
        cli.behind_its_back(
            f"DROP VIEW {views}",
            "DELETE FROM credits_migrations WHERE name = '011_views'",
            "DELETE FROM credits_guards WHERE kind = 'view'",
        )
    else:
        cli.behind_its_back(
            *(f"DROP VIEW {v}" for v in schema.VIEW_NAMES),
            "DELETE FROM _sqlite_migrations WHERE name = '011_views'",
            f"PRAGMA user_version = {schema.VERSION - 1}",
        )


def test_a_ledger_made_before_the_views_gets_them_from_its_next_command(cli):
    assert cli("log", "message", "--credits", "0.75", now=NOW).exit_code == 0
    drop_views(cli)
    with pytest.raises(Exception, match="v_events"):
        read(cli.db, "SELECT * FROM v_events")
    assert cli("balance", now=NOW).exit_code == 0
    assert [str(r["credits"]) for r in read(cli.db, "SELECT credits FROM v_events")] == ["0.750"]
    assert [r["events"] for r in read(cli.db, "SELECT events FROM v_daily")] == [1]
    assert cli("check", now=NOW).exit_code == 0
    doctor = cli.json("doctor", now=NOW)  # the migrations, applied in another order than a new ledger's
    assert doctor["ok"], doctor
    applied = "SELECT name FROM credits_migrations" if cli.on_server else "SELECT name FROM _sqlite_migrations"
    assert "011_views" in {r[0] for r in cli.sql(applied)}


@pytest.mark.sqlite_file
def test_a_ledger_of_an_older_schema_gets_the_views_of_what_it_holds(cli):
    """tests/fixtures/schema_009.db (two workspaces, every table written) was written before the views."""
    shutil.copy(ROOT / "tests" / "fixtures" / "schema_009.db", cli.db)
    with pytest.raises(sqlite3.OperationalError, match="no such table: v_events"):
        read(cli.db, "SELECT * FROM v_events")
    assert cli("check", now=LATER).exit_code == 0  # its first command
    workspaces = cli.workspaces()
    assert len(workspaces) == 2
    for name in workspaces:
        rows = {r["id"]: r for r in read(cli.db, "SELECT * FROM v_events WHERE workspace = ?", (name,))}
        shown = cli.json("--workspace", name, "events", "--limit", "0", now=LATER)
        assert shown and {e["id"]: (e["at"], e["credits"]) for e in shown} == {
            i: (r["at"], exact(r["credits"])) for i, r in rows.items()
        }


# -- check: the views credits made, and yours ---------------------------------------------------------


def check_problems(cli) -> list[tuple[str, str]]:
    r = cli("check", "--json", now=NOW)
    import json

    found = json.loads(r.stdout)
    assert (r.exit_code == 0) == found["ok"]
    return [(p["kind"], p.get("guard")) for p in found["problems"]]


def test_check_names_a_view_dropped_or_replaced_behind_credits_back(cli):
    assert cli("log", "SendEmail", now=NOW).exit_code == 0
    cli.behind_its_back(
        "DROP VIEW v_daily",
        "DROP VIEW v_grants",
        "CREATE VIEW v_grants AS SELECT id, 0 AS credits FROM grants",  # credits that are not so
    )
    assert check_problems(cli) == [("missing_view", "v_daily"), ("changed_view", "v_grants")]
    r = cli("check", now=NOW)
    assert "the view v_grants is not the one credits made" in r.stderr and "Traceback" not in r.stderr


def test_a_view_of_your_own_is_yours(cli):
    assert cli("log", "SendEmail", "--app", "crm", now=NOW).exit_code == 0
    cli.sql("CREATE VIEW crm_only AS SELECT * FROM v_events WHERE app = 'crm'")
    assert check_problems(cli) == []
    assert cli.json("doctor", now=NOW)["ok"]
    assert [r["action"] for r in read(cli.db, "SELECT action FROM crm_only")] == ["SendEmail"]


# -- the docs -------------------------------------------------------------------------------------


def documented_columns() -> dict[str, list[str]]:
    """Each view's columns as docs/storage.md's tables list them, in order."""
    text = (ROOT / "docs" / "storage.md").read_text()
    out = {}
    for name, table in re.findall(r"^### `(v_\w+)`.*?\n\n((?:\|.*\n)+)", text, flags=re.M):
        rows = table.splitlines()[2:]
        out[name] = [c for row in rows for c in re.findall(r"`(\w+)`", row.split("|")[1])]
    return out


def test_the_storage_docs_list_every_views_columns_in_order(cli):
    assert cli("balance", now=NOW).exit_code == 0
    documented = documented_columns()
    assert sorted(documented) == sorted(schema.VIEW_NAMES)
    for view, columns in documented.items():
        if cli.on_server:
            got = [r["column_name"] for r in read(cli.db, _PG_COLUMNS, (view,))]
        else:
            got = [r["name"] for r in read(cli.db, f"PRAGMA table_info({view})")]
        assert got == columns, view


_PG_COLUMNS = (
    "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?"
    " ORDER BY ordinal_position"
)


@pytest.mark.sqlite_file
def test_the_storage_docs_sqlite3_examples_run_in_the_shell(ledger, tmp_path):
    """The docs' `sqlite3` lines, run by the SQLite shell itself on a ledger (the docs' own output is
    regenerated from them on the README's demo database: tests/test_docs.py)."""
    shell = shutil.which("sqlite3")
    assert shell, "the sqlite3 command-line shell is needed (apt-get install sqlite3)"
    text = (ROOT / "docs" / "storage.md").read_text()
    lines = re.findall(r'^\s+"(sqlite3 .*)",$', text, flags=re.M)
    assert len(lines) >= 3
    import shlex

    for line in lines:
        words = [ledger.db if w == "demo.db" else w for w in shlex.split(line.encode().decode("unicode_escape"))]
        r = subprocess.run([shell, *map(str, words[1:])], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and r.stdout and not r.stderr, (line, r.stderr)
