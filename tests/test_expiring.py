"""Bonus credits about to expire: what `balance` says of them, and the alert that fires before they are lost."""

import json

import pytest
from conftest import one_line_error

from credits_cli.store import pg_schema, schema, seals

START = "2026-02-01T00:00:00Z"  # the starter plan's cycle: Feb 1 to Mar 1


def setup(cli, plan="starter"):
    assert cli("init", "--plan", plan, "--start", START, now=START).exit_code == 0


def coupon(cli, code, credits, expires, pool="message", at="2026-02-02T00:00:00Z") -> int:
    """A coupon created and redeemed at `at`: its grant's id."""
    made = cli("coupon", "create", code, "--credits", credits, "--pool", pool, "--expires", expires, now=at)
    assert made.exit_code == 0, made.stderr
    return cli.json("coupon", "redeem", code, now=at)["grant"]


def logged(cli, *args, now):
    r = cli("log", *args, now=now)
    assert r.exit_code == 0, r.stderr
    return r


# --- balance -----------------------------------------------------------------------------------


def test_a_coupon_that_expires_before_the_reset_shows_its_unused_part_and_nothing_else_does(cli):
    setup(cli)
    soon = coupon(cli, "SPRING-10", "10", "2026-02-20T00:00:00Z")  # before the reset
    coupon(cli, "SUMMER", "5", "2026-06-01T00:00:00Z")  # after the reset, and months away
    assert cli("plan", "set", "builder", now="2026-02-02T00:00:00Z").exit_code == 0  # the upgrade's credits: Mar 1
    logged(cli, "message", "--credits", "2.5", now="2026-02-03T00:00:00Z")  # the soonest to expire pays: SPRING-10

    b = cli.json("balance", now="2026-02-03T00:00:00Z")
    assert b["message"]["expiring"] == [
        {"credits": 7.5, "at": "2026-02-20T00:00:00Z", "source": "coupon SPRING-10", "grant": soon}
    ]
    assert b["integration"]["expiring"] == []  # the allowance and the upgrade reset: not bonus
    assert list(b["message"])[-2:] == ["next_reset", "expiring"]

    text = cli("balance", now="2026-02-03T00:00:00Z")
    assert text.exit_code == 0, text.stderr
    said = [line for line in text.stdout.splitlines() if " expire on " in line]
    assert said == ["7.5 message credits from coupon SPRING-10 expire on 2026-02-20 00:00 UTC"]

    gone = cli.json("balance", now="2026-02-20T00:00:00Z")  # its expiry: no longer live
    assert gone["message"]["expiring"] == []
    assert " expire on " not in cli("balance", now="2026-02-20T00:00:00Z").stdout


def test_credits_that_outlive_the_reset_show_within_seven_days_of_their_expiry(cli):
    setup(cli)
    grant = cli.json(
        "grant",
        "--pool",
        "integration",
        "--credits",
        "100",
        "--expires",
        "2026-03-04T00:00:00Z",
        "--reason",
        "launch week",
        now="2026-02-02T00:00:00Z",
    )["grant"]
    logged(cli, "SendEmail", "--count", "3", now="2026-02-03T00:00:00Z")  # the allowance pays: it expires first
    assert cli.json("balance", now="2026-02-20T00:00:00Z")["integration"]["expiring"] == []  # 12 days ahead
    entry = {"credits": 100, "at": "2026-03-04T00:00:00Z", "source": "promo: launch week", "grant": grant}
    assert cli.json("balance", now="2026-02-25T00:00:00Z")["integration"]["expiring"] == [entry]  # 7 days ahead
    assert cli.json("balance", now="2026-03-02T00:00:00Z")["integration"]["expiring"] == [entry]  # next cycle


def test_a_used_up_coupon_has_nothing_to_expire(cli):
    setup(cli)
    coupon(cli, "TINY", "1", "2026-02-10T00:00:00Z")
    logged(cli, "message", "--credits", "1", now="2026-02-03T00:00:00Z")
    assert cli.json("balance", now="2026-02-03T00:00:00Z")["message"]["expiring"] == []


# --- the alert ---------------------------------------------------------------------------------


def test_an_expiring_alert_fires_once_per_grant_into_the_outbox_and_runs_its_command_once(cli, tmp_path):
    setup(cli)
    coupon(cli, "TINY", "1", "2026-02-18T00:00:00Z")
    first = coupon(cli, "FIRST", "10", "2026-02-20T00:00:00Z")
    second = coupon(cli, "SECOND", "4", "2026-02-25T00:00:00Z")
    out = tmp_path / "expiring.txt"
    added = cli.json(
        "alert",
        "add",
        "--pool",
        "message",
        "--expiring",
        "7",
        "--exec",
        f'echo "$CREDITS_ALERT_GRANT $CREDITS_ALERT_EXPIRING $CREDITS_ALERT_EXPIRES_AT'
        f' $CREDITS_ALERT_SOURCE $CREDITS_ALERT_POOL $CREDITS_ALERT_AVAILABLE" >> {out}',
        now="2026-02-02T00:00:00Z",
    )
    assert (added["expiring_days"], added["at_percent"], added["left"]) == (7, None, None)
    listed = cli("alert", "list", now="2026-02-02T00:00:00Z").stdout
    assert "alert 1: message bonus credits expiring within 7 days" in listed

    r = logged(cli, "message", "--credits", "2", now="2026-02-10T00:00:00Z")  # TINY 1, FIRST 1: nothing within 7 days
    assert "alert" not in r.stderr and not out.exists()

    r = logged(cli, "SendEmail", now="2026-02-14T00:00:00Z")  # another pool's log: FIRST is 6 days away, TINY used
    message = "alert 1: 9 message credits from coupon FIRST expire on 2026-02-20 00:00 UTC (alert at 7 days ahead)"
    assert r.stderr.splitlines() == [f"credits: {message}"]
    assert out.read_text().splitlines() == [f"{first} 9 2026-02-20T00:00:00Z coupon FIRST message 113"]

    r = logged(cli, "message", "--credits", "1", now="2026-02-15T00:00:00Z")
    assert "alert" not in r.stderr  # once per grant

    r = logged(cli, "SendEmail", now="2026-02-19T00:00:00Z")  # SECOND is 6 days away
    assert "from coupon SECOND expire on 2026-02-25 00:00 UTC" in r.stderr and "FIRST" not in r.stderr
    logged(cli, "SendEmail", now="2026-02-21T00:00:00Z")
    assert [line.split()[0] for line in out.read_text().splitlines()] == [str(first), str(second)]

    notes = [n for n in cli.json("notifications", now="2026-02-21T00:00:00Z") if n["kind"] == "alert"]
    assert [(n["pool"], n["at"]) for n in notes] == [
        ("message", "2026-02-14T00:00:00Z"),
        ("message", "2026-02-19T00:00:00Z"),
    ]
    assert notes[0]["message"] == message and not any("TINY" in n["message"] for n in notes)


def test_an_expiring_alert_checks_the_grants_live_when_it_is_asked(cli):
    """Added after the credits came: the next log fires it. Credits already expired or beyond its days do not."""
    setup(cli)
    coupon(cli, "PAST", "3", "2026-02-05T00:00:00Z")
    coupon(cli, "LATE", "3", "2026-03-25T00:00:00Z")
    cli(
        "grant",
        "--pool",
        "integration",
        "--credits",
        "50",
        "--expires",
        "2026-02-12T00:00:00Z",
        "--reason",
        "x",
        now="2026-02-02T00:00:00Z",
    )
    assert cli("alert", "add", "--pool", "message", "--expiring", "30", now="2026-02-06T00:00:00Z").exit_code == 0
    r = logged(cli, "message", "--credits", "1", now="2026-02-06T00:00:00Z")
    assert "alert" not in r.stderr  # PAST expired; LATE is 47 days away; the promo is another pool's
    r = logged(cli, "message", "--credits", "1", now="2026-03-03T00:00:00Z")  # LATE pays: it expires first
    assert "alert 1: 2 message credits from coupon LATE expire on 2026-03-25 00:00 UTC" in r.stderr


@pytest.mark.parametrize(
    "args,field",
    [
        (["--expiring", "-3"], "--expiring"),
        (["--expiring", "soon"], "--expiring"),
        (["--expiring", "0"], "--expiring"),
        (["--expiring", "1.5"], "--expiring"),
        (["--expiring", "99999"], "--expiring"),
        (["--expiring", "7", "--by", "mid-cycle"], "--by"),
        (["--expiring", "7", "--left", "3"], "--at"),
    ],
)
def test_a_bad_expiring_alert_is_refused_and_changes_nothing(cli, args, field):
    setup(cli)
    before = cli.dump(outbox=True)
    one_line_error(cli("alert", "add", "--pool", "message", *args, now="2026-02-02T00:00:00Z"), field=field)
    assert cli.dump(outbox=True) == before


# --- storage: the alert's column, on a ledger of the schema before it ----------------------------------


def _back_to_010(cli) -> None:
    """Make the ledger what credits of the schema before 012_expiring_alerts left: no expiring_days column, the
    alerts sealed without it, the migration not recorded. Alert 2 was edited behind credits' back."""
    table = "credits_migrations" if cli.on_server else "_sqlite_migrations"
    columns = [c for c in seals.SEALED["alerts"][1] if c != "expiring_days"]
    rows = cli.sql(f"SELECT id, prev_id, {', '.join(columns)} FROM alerts ORDER BY id")
    statements = [
        ("UPDATE alerts SET seal = ? WHERE id = ?", (seals.seal("alerts", r[0], r[1], r[2:]), r[0])) for r in rows
    ]
    statements += [
        "UPDATE alerts SET at_percent = 60 WHERE id = 2",  # not the 50% credits wrote
        "ALTER TABLE alerts DROP COLUMN expiring_days",
        f"DELETE FROM {table} WHERE name = '012_expiring_alerts'",
    ]
    if not cli.on_server:
        statements.append(f"PRAGMA user_version = {schema.VERSION - 1}")
    cli.behind_its_back(*statements)


def test_a_ledger_of_the_schema_before_expiring_alerts_migrates_and_keeps_its_seals(cli):
    setup(cli)
    cli("alert", "add", "--pool", "message", "--left", "5", now=START)
    cli("alert", "add", "--pool", "integration", "--at", "50%", now=START)
    _back_to_010(cli)
    assert "expiring_days" not in cli.columns("alerts")

    alerts = cli.json("alert", "list", now=START)  # the first command migrates
    assert [(a["id"], a["at_percent"], a["expiring_days"]) for a in alerts] == [(1, None, None), (2, 60, None)]
    assert "expiring_days" in cli.columns("alerts")
    applied = "SELECT name FROM " + ("credits_migrations" if cli.on_server else "_sqlite_migrations")
    names = pg_schema.NAMES if cli.on_server else schema.NAMES
    assert sorted(r[0] for r in cli.sql(applied)) == sorted(names)  # 011 recorded after the others

    r = cli("check", "--json", now=START)
    assert r.exit_code == 1
    problems = json.loads(r.stdout)["problems"]
    assert [(p["table"], p["id"], p["kind"]) for p in problems] == [("alerts", 2, "tampered")]  # not laundered

    assert _doctor_schema(cli)["ok"]
    assert cli.json("alert", "add", "--pool", "message", "--expiring", "3", now=START)["expiring_days"] == 3


def test_doctor_takes_the_migrations_in_any_order_they_were_applied(cli):
    """Migrations added on two branches reach a ledger in either order: the schema is the same."""
    setup(cli)
    if cli.on_server:
        cli.sql("UPDATE credits_migrations SET applied_at = '1999-01-01T00:00:00Z' WHERE name = '012_expiring_alerts'")
    else:  # sqlite-utils lists them in the order they were recorded: 010_seals recorded last
        cli.behind_its_back(
            "DELETE FROM _sqlite_migrations WHERE name = '010_seals'",
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES ('credits', '010_seals', 'x')",
        )
    assert _doctor_schema(cli)["ok"]
    assert cli("balance", now=START).exit_code == 0


def _doctor_schema(cli) -> dict:
    """doctor's check of the schema (doctor exits 1 over anything it finds, a test's file permissions too)."""
    r = cli("doctor", "--json", now=START)
    return next(c for c in json.loads(r.stdout)["checks"] if c["check"] == "schema")


@pytest.mark.sqlite_file  # a server's store is loaded whole anyway
def test_a_log_that_checks_an_expiring_alert_loads_no_more_of_credits_than_any_log(cli):
    """`credits log` is started after every AI call: an expiring alert it checks reads through the part of the
    store a log loads anyway (measured: loading the rest of the store's parts cost such a log some 10 ms)."""
    import os
    import subprocess
    import sys

    setup(cli)
    coupon(cli, "SOON", "5", "2026-02-06T00:00:00Z")
    cli("alert", "add", "--pool", "message", "--expiring", "7", now=START)
    assert "alert 1: 5 message credits" in logged(cli, "SendEmail", now="2026-02-03T00:00:00Z").stderr  # fired
    env = {**os.environ, "CREDITS_DB": str(cli.db), "CREDITS_NOW": "2026-02-04T00:00:00Z"}
    r = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "credits_cli", "log", "SendEmail"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr  # it checks the alert again: the grant still qualifies, and fired already
    loaded = {line.split("|")[-1].strip() for line in r.stderr.splitlines() if line.startswith("import time:")}
    assert "credits_cli.services" in loaded
    parts = {f"credits_cli.store.{m}" for m in ("offers", "foresight", "staging", "audit", "copying")}
    assert not parts & loaded
