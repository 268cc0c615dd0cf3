"""Tamper-evidence: `credits check` finds any entry edited, deleted or inserted behind credits' back, in every
table, names it by table and id, recomputes what is derived, and reports guards that are gone."""

import itertools
import json
import shutil
import sqlite3
from datetime import UTC
from pathlib import Path

import pytest
from conftest import Cli
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from credits_cli.store import schema

NOW = "2026-03-02T00:00:00Z"


def problems(cli):
    r = cli("check", "--json", now=NOW)
    found = json.loads(r.stdout)["problems"]
    assert r.exit_code == (1 if found else 0), (r.exit_code, r.stdout, r.stderr)
    return found


def named(found):
    return {(p.get("table"), p.get("id")) for p in found}


@pytest.fixture(scope="module")
def built(module_db):
    """A ledger with entries in every table credits keeps: two of each where a chain has a middle to lose."""
    cli = Cli(module_db())
    cli("init", "--plan", "starter", "--start", "2026-03-01T00:00:00Z", now="2026-03-01T00:00:00Z")
    for args in (
        ("log", "message", "--credits", "10", "--app", "crm"),
        ("log", "SendEmail", "--count", "3", "--app", "crm"),
        ("log", "invokeLLM", "--model", "gpt-5", "--app", "José"),
        ("coupon", "create", "WELCOME-10", "--credits", "10", "--pool", "message"),
        ("coupon", "create", "SPRING-5", "--credits", "5", "--pool", "integration"),
        ("coupon", "redeem", "WELCOME10"),
        ("coupon", "redeem", "SPRING5"),
        ("share", "submit", "--platform", "x", "--url", "https://x.com/a/1", "--followers", "200"),
        ("share", "approve"),
        ("budget", "set", "--app", "crm", "--pool", "integration", "--credits", "500"),
        ("budget", "set", "--app", "José", "--pool", "integration", "--credits", "500"),
        ("budget", "set", "--app", "crm", "--pool", "integration", "--credits", "600"),  # replaces the first
        ("alert", "add", "--pool", "message", "--left", "5"),
        ("alert", "add", "--pool", "message", "--left", "4"),
        ("alert", "add", "--pool", "integration", "--at", "50%"),
        ("alert", "remove", "2"),
        ("plan", "set", "builder"),
        ("grant", "--pool", "message", "--credits", "3", "--reason", "sorry"),
        ("log", "message", "--credits", "270"),  # 3 left: alert 1 fires into the outbox
        ("void", "2"),
    ):
        r = cli(*args, now=NOW)
        assert r.exit_code in (0, 3), (args, r.stdout, r.stderr)
    assert problems(cli) == []
    return cli.db


@pytest.fixture
def ledger(built, copy_db):
    """A copy of the built ledger for one test to tamper with."""
    return Cli(copy_db(built))


def ids(cli, table):
    col = "rowid" if table == "redemptions" else "id"
    return [r[0] for r in cli.sql(f"SELECT {col} FROM {table} ORDER BY {col}")]


TABLES = (
    "events",
    "grants",
    "coupons",
    "redemptions",
    "shares",
    "plan_changes",
    "budgets",
    "alerts",
    "notifications",
    "workspaces",
)


def test_the_issue_repro_a_deleted_grant_is_found_and_named(cli):
    cli("init", "--plan", "starter", "--start", "2026-03-01T00:00:00Z", now="2026-03-01T00:00:00Z")
    assert cli("log", "message", "--credits", "10", "-q", now=NOW).exit_code == 0
    cli.behind_its_back(
        cli.drop_trigger("grants_no_delete", "grants"), "DELETE FROM grants WHERE id = 1", foreign_keys=False
    )
    r = cli("check", now=NOW)
    assert r.exit_code == 1
    assert "grants 1 is missing" in r.stderr
    assert "grants_no_delete is missing" in r.stderr


@pytest.mark.parametrize("table", TABLES)
def test_every_table_has_its_entries_in_every_chain(ledger, table):
    assert ids(ledger, table), f"the fixture writes no {table}"


@pytest.mark.parametrize("table", TABLES)
def test_an_edited_entry_is_named_by_table_and_id(ledger, table):
    target = ids(ledger, table)[0]
    col = "rowid" if table == "redemptions" else "id"
    column = {
        "events": "note",
        "grants": "reason",
        "coupons": "display",
        "redemptions": "at",
        "shares": "url",
        "plan_changes": "billing",
        "budgets": "name",
        "alerts": "exec",
        "notifications": "message",
        "workspaces": "timezone",
    }[table]
    ledger.behind_its_back(
        ledger.drop_trigger(f"{table}_no_update", table, if_exists=True),
        f"UPDATE {table} SET {column} = 'x' || coalesce({column}, '') WHERE {col} = {target}",
    )
    found = problems(ledger)
    assert (table, target) in named(found)
    assert any(p["kind"] in ("tampered", "tampered_event") and p["id"] == target and p["table"] == table for p in found)


@pytest.mark.parametrize("which", ["first", "newest"])
@pytest.mark.parametrize("table", TABLES)
def test_a_deleted_entry_is_named_whether_first_or_newest(ledger, table, which):
    col = "rowid" if table == "redemptions" else "id"
    target = ids(ledger, table)[0 if which == "first" else -1]
    ledger.behind_its_back(
        ledger.drop_trigger(f"{table}_no_delete", table, if_exists=True),
        f"DELETE FROM {table} WHERE {col} = {target}",
        foreign_keys=False,
    )
    found = problems(ledger)
    assert any(p["kind"] == "missing" and p["table"] == table and p["id"] == target for p in found), found


@pytest.mark.parametrize("table", TABLES)
def test_an_entry_inserted_behind_credits_back_is_named(ledger, table):
    col = "rowid" if table == "redemptions" else "id"
    columns = [c for c in ledger.columns(table) if c not in ("id", col)]
    new_id = max(ids(ledger, table)) + 100
    # a copy of the newest entry, seal and all, under another id (its unique columns made unique again)
    unique = {
        "name": "name || '-copy'",
        "code": "code || '-copy'",
        "once": "once || '-copy'",
        "coupon_id": "99",
        "corrects": "NULL",
    }
    values = ", ".join(unique.get(c, c) for c in columns)
    ledger.behind_its_back(
        f"INSERT INTO {table} ({col}, {', '.join(columns)}) SELECT {new_id}, {values} FROM {table}"
        f" WHERE {col} = (SELECT max({col}) FROM {table})",
        foreign_keys=False,
    )
    found = problems(ledger)
    assert (table, new_id) in named(found), found


def test_a_copied_seal_with_the_chain_mended_is_still_caught(ledger):
    """Deleting an entry and pointing the next one at its predecessor changes what the next one's seal covers."""
    first, second, third = ids(ledger, "events")[:3]
    ledger.behind_its_back(
        ledger.drop_trigger("events_no_delete", "events"),
        ledger.drop_trigger("events_no_update", "events"),
        f"DELETE FROM events WHERE id = {second}",
        f"UPDATE events SET prev_id = {first} WHERE id = {third}",
        foreign_keys=False,  # its allocations still name it
    )
    assert ("events", third) in named(problems(ledger))


def test_a_coupon_grant_made_larger_is_found(ledger):
    """The issue's second case: an UPDATE of a coupon grant's amount passed `check`."""
    gid = ledger.sql("SELECT id FROM grants WHERE source = 'coupon'")[0][0]
    ledger.behind_its_back(
        ledger.drop_trigger("grants_no_update", "grants"),
        f"UPDATE grants SET amount_milli = amount_milli + 100000 WHERE id = {gid}",
    )
    found = problems(ledger)
    assert ("grants", gid) in named(found)
    assert any("grants_no_update is missing" in p["message"] for p in found)


def test_the_record_of_the_newest_entry_is_sealed_too(ledger):
    """Deleting the newest event and winding its chain's head back by hand is caught by the head's seal."""
    last = ids(ledger, "events")[-1]
    ledger.behind_its_back(
        ledger.drop_trigger("events_no_delete", "events"),
        f"DELETE FROM events WHERE id = {last}",
        "UPDATE seal_heads SET last_id = last_id - 1, rows = rows - 1 WHERE tbl = 'events'",
        foreign_keys=False,  # its allocations still name it
    )
    assert any(p["kind"] == "chain_head" and p["table"] == "events" for p in problems(ledger))


@pytest.mark.parametrize(
    "guard",
    [
        "events_no_update",
        "notifications_no_delete",
        "plan_changes_no_update",
        "coupons_no_delete",
        "redemptions_no_update",
        "events_key",
        "grants_allowance",
        "events_pool_at",
        "usage_days_day",
    ],
)
def test_a_missing_guard_is_reported(ledger, guard):
    if "_no_" in guard:
        ledger.sql(ledger.drop_trigger(guard, guard.split("_no_")[0]))
    else:
        ledger.sql(f"DROP INDEX {guard}")
    found = problems(ledger)
    assert [p["kind"] for p in found] == ["missing_guard"], found
    assert guard in found[0]["message"]


def test_a_guard_replaced_by_one_that_does_nothing_is_reported(ledger):
    does_nothing = (
        [
            "CREATE FUNCTION nothing() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
            "CREATE TRIGGER events_no_update BEFORE UPDATE ON events FOR EACH ROW EXECUTE FUNCTION nothing()",
        ]
        if ledger.on_server
        else ["CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN SELECT 1; END"]
    )
    ledger.behind_its_back(ledger.drop_trigger("events_no_update", "events"), *does_nothing)
    found = problems(ledger)
    assert [(p["kind"], p["guard"]) for p in found] == [("changed_guard", "events_no_update")]


def moved(eid, gid, other, milli) -> list[str]:
    """Event `eid`'s allocation moved from grant `gid` to grant `other`, the grants' totals kept in step."""
    return [
        f"UPDATE allocations SET grant_id = {other} WHERE event_id = {eid} AND grant_id = {gid}",
        f"UPDATE grant_usage SET used_milli = used_milli - {milli} WHERE grant_id = {gid}",
        f"INSERT INTO grant_usage VALUES ({other}, {milli}) ON CONFLICT (grant_id) DO UPDATE"
        f" SET used_milli = grant_usage.used_milli + {milli}",
    ]


def test_allocations_moved_between_grants_are_found_by_repaying_the_pool(ledger):
    """Moving what an event drew to another grant, with the grants' totals kept in step, passes every sum:
    only repaying the pool from the entries tells that the soonest-expiring grant should have paid."""
    ((eid, gid, milli),) = ledger.sql(
        "SELECT a.event_id, a.grant_id, a.credits_milli FROM allocations a JOIN grants g ON g.id = a.grant_id"
        " JOIN events e ON e.id = a.event_id WHERE g.source = 'allowance' AND e.pool = 'integration'"
        " AND e.corrects IS NULL AND NOT EXISTS (SELECT 1 FROM events v WHERE v.corrects = e.id)"
        " ORDER BY a.event_id LIMIT 1"
    )
    ((other,),) = ledger.sql("SELECT id FROM grants WHERE pool = 'integration' AND source = 'coupon'")
    ledger.behind_its_back(*moved(eid, gid, other, milli))
    found = problems(ledger)
    assert any(p["kind"] == "allocation" and p["event"] == eid for p in found), found
    assert {p["kind"] for p in found} <= {"allocation", "grant_overdrawn"}


def test_an_event_the_grants_cannot_pay_recorded_as_paid_is_named(ledger):
    """An event written behind credits' back with its payment written too, from a grant that holds far less:
    every sum of what it was paid agrees, the grant is overdrawn, and repaying the pool names the event."""
    ((gid,),) = ledger.sql(
        "SELECT id FROM grants WHERE pool = 'integration' AND source = 'allowance' ORDER BY id LIMIT 1"
    )
    cost = 10**12
    ledger.behind_its_back(
        "INSERT INTO events (workspace_id, at, recorded_at, pool, action, quantity, credits_milli)"
        f" VALUES (1, '2026-03-01T12:00:00.000000Z', '2026-03-01T12:00:00.000000Z', 'integration', 'agent', 1, {cost})",
        f"INSERT INTO allocations (event_id, grant_id, credits_milli) SELECT max(id), {gid}, {cost} FROM events",
        f"UPDATE grant_usage SET used_milli = used_milli + {cost} WHERE grant_id = {gid}",
    )
    ((eid,),) = ledger.sql("SELECT max(id) FROM events")
    found = problems(ledger)
    assert not [p for p in found if p["kind"] == "unpaid_event"]  # what it was paid sums to its cost
    assert any(p["kind"] == "grant_overdrawn" and p["grant"] == gid for p in found), found
    (about,) = [p for p in found if p["kind"] == "allocation" and p["event"] == eid]
    assert about["message"] == (
        f"event {eid} is recorded as paid by grant {gid} {cost}; the pool's grants cannot pay it (it overdraws them)"
    )


def test_a_voided_events_payment_moved_to_another_grant_is_found(ledger):
    """A voided event keeps what it drew and its void gives back what was live then: both recomputed."""
    ((eid, gid, milli),) = ledger.sql(
        "SELECT a.event_id, a.grant_id, a.credits_milli FROM allocations a JOIN events e ON e.id = a.event_id"
        " WHERE EXISTS (SELECT 1 FROM events v WHERE v.corrects = e.id)"
    )[:1]
    ((other,),) = ledger.sql("SELECT id FROM grants WHERE pool = 'integration' AND source = 'coupon'")
    ledger.behind_its_back(*moved(eid, gid, other, milli))
    found = problems(ledger)
    assert {p["kind"] for p in found} == {"void_allocation"}, found


def test_what_credits_itself_changes_stays_sealed(ledger):
    """Replacing and removing budgets, removing alerts, deciding shares and re-initialising an unused workspace
    are credits' own writes: they seal again what they change, and the check stays clean."""
    for args in (
        ("budget", "remove", "--app", "crm"),
        ("alert", "remove", "3"),
        ("alert", "remove", "1"),
        ("budget", "set", "--app", "new", "--pool", "message", "--credits", "5"),
        ("--workspace", "spare", "init", "--plan", "free", "--start", "2026-03-01T00:00:00Z"),
        ("--workspace", "spare", "init", "--plan", "pro", "--start", "2026-03-01T00:00:00Z"),
        (
            "--workspace",
            "spare",
            "share",
            "submit",
            "--platform",
            "x",
            "--url",
            "https://x.com/a/2",
            "--followers",
            "300",
        ),
        ("--workspace", "spare", "share", "reject"),
    ):
        r = ledger(*args, now=NOW)
        assert r.exit_code == 0, (args, r.stderr)
    assert problems(ledger) == []


@pytest.mark.sqlite_file
def test_a_ledger_of_the_previous_schema_is_sealed_by_its_migration(cli):
    """tests/fixtures/schema_009.db was written by credits before seals (schema 9): every table has entries,
    two workspaces. The migration seals what is there, so its check is clean and a later edit is caught."""
    shutil.copy(Path(__file__).parent / "fixtures" / "schema_009.db", cli.db)
    assert problems(cli) == []
    assert cli.sql("PRAGMA user_version") == [(schema.VERSION,)]  # 010 seals, 011 seals the alerts again
    for table in TABLES:
        assert cli.sql(f"SELECT count(*) FROM {table} WHERE seal IS NULL") == [(0,)], table
        assert cli.sql(f"SELECT count(*) FROM {table}")[0][0] > 0, table
    assert cli.sql("SELECT count(DISTINCT chain) FROM seal_heads WHERE tbl = 'events'") == [(2,)]
    assert cli("log", "SendEmail", "--app", "crm", now=NOW).exit_code == 0
    assert problems(cli) == []
    cli.behind_its_back(cli.drop_trigger("events_no_delete", "events"), "DELETE FROM events WHERE id = 3")
    assert ("events", 3) in named(problems(cli))


# --- doctor: a way out of a damaged file -------------------------------------------------------------


def damage(db, table="events"):
    """Overwrite the header of a table's root page, as a disk or a bad copy would."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with open(db, "r+b") as f:
        f.seek((root - 1) * size + 12)
        f.write(b"\xde\xad" * 30)


@pytest.mark.sqlite_file
def test_doctor_points_a_damaged_ledger_to_recovery_and_its_last_whole_export(ledger, tmp_path):
    whole, some = tmp_path / "all.csv", tmp_path / "crm.csv"
    assert ledger("export", "--output", str(whole), now=NOW).exit_code == 0
    assert ledger("export", "--app", "crm", "--output", str(some), now=NOW).exit_code == 0
    damage(ledger.db)
    r = ledger("doctor", "--json", now=NOW)
    assert r.exit_code == 1
    report = json.loads(r.stdout)
    integrity = next(c for c in report["checks"] if c["check"] == "integrity")
    assert not integrity["ok"]
    advice = integrity["advice"]
    assert f"cp {ledger.db} {ledger.db}.damaged" in advice
    assert ".recover" in advice
    assert f"import {whole}" in advice  # the whole export, not the filtered one written after it
    assert [(x["path"], x["whole"], x["intact"]) for x in report["exports"]] == [
        (str(some), False, True),
        (str(whole), True, True),
    ]
    r = ledger("doctor", now=NOW)
    assert "FIX integrity" in r.stdout and str(whole) in r.stdout
    # a command that reads the damaged table says where to turn, in one line
    r = ledger("check", now=NOW)
    assert r.exit_code == 1 and "credits doctor" in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.sqlite_file
def test_doctor_knows_an_export_that_was_changed_since(ledger, tmp_path):
    whole = tmp_path / "all.csv"
    assert ledger("export", "--output", str(whole), now=NOW).exit_code == 0
    whole.write_text("id,at\n")
    damage(ledger.db)
    r = ledger("doctor", "--json", now=NOW)
    report = json.loads(r.stdout)
    assert report["exports"][0]["intact"] is False
    advice = next(c for c in report["checks"] if c["check"] == "integrity")["advice"]
    assert "no whole export of this ledger is known to be intact" in advice


@pytest.mark.sqlite_file
def test_doctor_on_a_file_credits_cannot_open_still_advises(cli, tmp_path):
    cli.db.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    r = cli("doctor", "--json", now=NOW)
    assert r.exit_code == 1
    integrity = next(c for c in json.loads(r.stdout)["checks"] if c["check"] == "integrity")
    assert not integrity["ok"] and ".recover" in integrity["advice"]


def _random_history(cli, folder, rnd, steps: int):
    """A legitimate ledger built only through credits: two workspaces (one in a zone with daylight saving),
    events now and back-dated, voids (some after the grants they drew on expired), coupons that expire,
    promos, top-ups, referrals, upgrades and downgrades, the clock moved back and forth, batches with bad
    and refused lines, and an export imported into a fresh workspace. `check` must find nothing, at the end
    and every few steps."""
    from datetime import datetime, timedelta

    def iso(t):
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")

    start = now = datetime(2026, 3, 1, tzinfo=UTC)
    spaces = ["default", "w2"]
    for ws, zone in zip(spaces, ("UTC", "Europe/Paris"), strict=True):
        assert (
            cli(
                "--workspace",
                ws,
                "init",
                "--plan",
                rnd.choice(["free", "starter", "builder"]),
                "--start",
                iso(start),
                "--timezone",
                zone,
                now=iso(start),
            ).exit_code
            == 0
        )
    for i in range(steps):
        ws = rnd.choice(spaces)
        op = rnd.choices(
            [
                "log",
                "back",
                "void",
                "coupon",
                "topup",
                "plan",
                "grant",
                "later",
                "earlier",
                "batch",
                "referral",
                "import",
            ],
            [8, 5, 5, 2, 1, 2, 1, 3, 1, 2, 1, 1],
        )[0]
        past = iso(start + (now - start) * rnd.random())
        if op == "later":
            now += timedelta(hours=rnd.choice([1, 13, 30, 24 * 9, 24 * 31]))
            continue
        if op == "earlier":
            now = max(start, now - timedelta(hours=rnd.choice([1, 13, 30, 24 * 5])))
            continue
        if op in ("log", "back"):
            args = (
                ["log", "message", "--credits", rnd.choice(["0.5", "1", "3", "7", "20", "60"])]
                if rnd.random() < 0.5
                else ["log", "invokeLLM", "--model", "gpt-5", "--count", rnd.choice("15")]
            )
            args += ["--app", rnd.choice("abcdefg")] if rnd.random() < 0.6 else []
            args += ["--at", past] if op == "back" else []
        elif op == "void":
            ids = [
                r[0]
                for r in cli.sql(
                    "SELECT e.id FROM events e JOIN workspaces w ON w.id = e.workspace_id WHERE w.name = ? AND"
                    " e.corrects IS NULL AND NOT EXISTS (SELECT 1 FROM events v WHERE v.corrects = e.id)"
                    " ORDER BY e.id",
                    (ws,),
                )
            ]
            args = ["void", rnd.choice(ids) if ids else 1]
        elif op == "coupon":
            code = f"CODE{i:04d}"
            cli(
                "coupon",
                "create",
                code,
                "--credits",
                rnd.choice(["5", "10", "100"]),
                "--pool",
                rnd.choice(["message", "integration"]),
                "--expires",
                iso(now + timedelta(hours=rnd.choice([5, 48, 24 * 20, 24 * 50]))),
                now=iso(now),
            )
            args = ["coupon", "redeem", code]
        elif op == "topup":
            args = ["topup", "--pool", rnd.choice(["message", "integration"]), "--packs", "1"]
        elif op == "plan":
            args = ["plan", "set", rnd.choice(["free", "starter", "builder", "pro"])]
        elif op == "grant":
            args = [
                "grant",
                "--pool",
                rnd.choice(["message", "integration"]),
                "--credits",
                "7",
                "--reason",
                "x",
                "--expires",
                iso(now + timedelta(days=rnd.choice([1, 10, 40]))),
            ]
        elif op == "referral":
            args = ["grant", "--kind", "referral", "--reason", "a friend"]
        elif op == "batch":
            lines = [
                {
                    "action": "message",
                    "credits": rnd.choice([1, 2, 30, 200]),
                    **({"app": rnd.choice("abcdefgh")} if rnd.random() < 0.5 else {}),
                    **({"at": iso(start + (now - start) * rnd.random())} if rnd.random() < 0.4 else {}),
                    **({"bogus": 1} if rnd.random() < 0.1 else {}),
                }
                for _ in range(rnd.randint(1, 5))
            ]
            r = cli(
                "--workspace", ws, "log", "--batch", now=iso(now), input="".join(json.dumps(x) + "\n" for x in lines)
            )
            assert r.exit_code in (0, 2, 3) and "Traceback" not in r.stderr, r.stderr
            args = None
        else:  # import an export into a fresh workspace
            path = folder / "export.csv"
            assert cli("--workspace", ws, "export", "-o", path, now=iso(now)).exit_code == 0
            ws = f"n{i}"
            assert (
                cli(
                    "--workspace",
                    ws,
                    "init",
                    "--plan",
                    rnd.choice(["free", "starter", "builder"]),
                    "--start",
                    iso(start),
                    now=iso(start),
                ).exit_code
                == 0
            )
            spaces.append(ws)
            args = ["import", path]
        if args:
            r = cli("--workspace", ws, *args, now=iso(now))
            assert r.exit_code in (0, 2, 3) and "Traceback" not in r.stderr, (args, r.stderr)
        if i % 8 == 7 or i == steps - 1:
            r = cli("check", "--json", now=iso(now))
            assert json.loads(r.stdout)["problems"] == [], (i, args)


EXAMPLE = itertools.count()  # each example its own ledger (new_db is the test's, shared by its examples)


@settings(
    max_examples=6,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: minutes
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(rnd=st.randoms(use_true_random=False))
def test_check_finds_nothing_in_a_random_legitimate_history(new_db, tmp_path_factory, rnd):
    folder = tmp_path_factory.mktemp("random")
    _random_history(Cli(new_db(f"random{next(EXAMPLE)}")), folder, rnd, steps=32)
