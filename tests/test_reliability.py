"""Reliability: the ledger check, the doctor, and load, race and crash tests at a reduced size.

`pytest -m reliability` runs these; CI runs them with everything else. Sizes are
set by CREDITS_RELIABILITY_SCALE: 1 in CI; 10 or more runs issue 6's full size
(1,000 keys twice from 8 processes, 50 coupon trials of 16 processes, 20 kills of a
200,000-row import, 50 kills during concurrent logging).
"""

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import Cli

pytestmark = pytest.mark.reliability
SCALE = int(os.environ.get("CREDITS_RELIABILITY_SCALE", "1"))
FULL = SCALE >= 10
KEYS, KEY_PROCESSES = (1000, 8) if FULL else (25 * SCALE, 4)
COUPON_TRIALS, COUPON_PROCESSES = (50, 16) if FULL else (2 * SCALE, 4)
IMPORT_ROWS, IMPORT_KILLS = (200_000, 20) if FULL else (20_000, 3 * SCALE)
LOGGING_KILLS = 50 if FULL else 3 * SCALE
NOW = "2026-02-01T00:00:00Z"


def run(db, *args, workspace=None, check=False):
    env = {**os.environ, "CREDITS_DB": str(db), "CREDITS_NOW": NOW}
    env.pop("CREDITS_WORKSPACE", None)
    if workspace:
        env["CREDITS_WORKSPACE"] = workspace
    r = subprocess.run(
        [sys.executable, "-m", "credits_cli", *args], env=env, capture_output=True, text=True, timeout=300
    )
    if check:
        assert r.returncode == 0, r.stderr
    return r


def ledger_ok(db):
    """`credits check` finds nothing; a file passes SQLite's own integrity check too."""
    r = run(db, "check", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    if not Cli(db).on_server:
        assert Cli(db).sql("PRAGMA integrity_check") == [("ok",)]


def count(db, query) -> int:
    return Cli(db).sql(query)[0][0]


# --- the check and the doctor ----------------------------------------------------------------


def test_check_finds_a_row_tampered_with_behind_its_back(cli):
    cli("init", "--plan", "starter", "--start", "2026-01-31T09:30:00Z", now=NOW)
    cli("log", "GenerateVideo", "--seconds", "10", now=NOW)
    cli("log", "SendEmail", now=NOW)
    assert cli("check", now=NOW).exit_code == 0
    cli.behind_its_back(
        cli.drop_trigger("events_no_update", "events"), "UPDATE events SET credits_milli = 1000 WHERE id = 1"
    )
    r = cli("check", "--json", now=NOW)
    assert r.exit_code == 1
    kinds = {p["kind"] for p in json.loads(r.stdout)["problems"]}
    # the day's summary no longer matches it, nor do the grants that paid it; and the trigger is gone
    assert kinds == {"tampered_event", "unpaid_event", "usage_summary", "allocation", "missing_guard"}
    r = cli("check", now=NOW)
    assert r.exit_code == 1 and "event 1 was changed" in r.stderr


def tampered(cli, *log_args, sql: list[str]) -> set[str]:
    """The kinds of problem `credits check` finds after `sql` is run on a ledger behind credits' back."""
    cli("init", "--plan", "starter", "--start", "2026-01-31T09:30:00Z", now=NOW)
    cli("log", *log_args, now=NOW)
    assert cli("check", now=NOW).exit_code == 0
    cli.behind_its_back(*sql)
    r = cli("check", "--json", now=NOW)
    assert r.exit_code == 1
    return {p["kind"] for p in json.loads(r.stdout)["problems"]}


def test_check_finds_a_usage_summary_out_of_step(cli):
    assert tampered(
        cli,
        "SendEmail",
        "--count",
        "5",
        "--app",
        "crm",
        sql=["UPDATE usage_days SET credits_milli = credits_milli + 1000"],
    ) == {"usage_summary"}


def test_check_finds_the_usage_summary_trigger_missing(cli):
    """Bulk writes drop it for their transaction only; a ledger left without it would stop summing new events."""
    dropped = cli.drop_trigger("events_usage_days", "events")
    assert tampered(cli, "SendEmail", "--app", "crm", sql=[dropped]) == {"usage_summary_trigger"}


def test_check_finds_a_grant_usage_out_of_step(cli):
    assert tampered(cli, "SendEmail", "--count", "5", sql=["UPDATE grant_usage SET used_milli = 0"]) == {"grant_usage"}


def test_doctor_finds_nothing_to_fix_in_a_new_ledger(cli):
    cli("balance", now=NOW)
    r = cli("doctor", "--json", now=NOW)
    assert r.exit_code == 0, r.stdout
    report = json.loads(r.stdout)
    assert report["ok"] is True and report["checks"] and all(c["ok"] for c in report["checks"]), report
    assert "FIX" not in cli("doctor", now=NOW).stdout


@pytest.mark.sqlite_file
def test_doctor_reports_the_files_settings_and_advises_on_its_permissions(cli):
    cli("balance", now=NOW)
    r = cli("doctor", "--json", now=NOW)
    assert r.exit_code == 0
    checks = {c["check"]: c for c in json.loads(r.stdout)["checks"]}
    assert checks["sqlite"]["value"] == sqlite3.sqlite_version
    assert checks["journal_mode"]["value"] == "wal" and checks["synchronous"]["value"] == "FULL"
    os.chmod(cli.db, 0o644)
    r = cli("doctor", now=NOW)
    assert r.exit_code == 1 and "FIX permissions" in r.stdout and "chmod 600" in r.stdout


# --- load, races, crashes (reduced size unless FULL) ----------------------------------------------------------


def test_idempotency_under_load(new_db):
    db = new_db("k")
    run(db, "init", "--plan", "elite", "--start", "2026-01-31T09:30:00Z", check=True)
    keys = [f"k{i}" for i in range(KEYS)]
    work = keys + keys
    random.Random(7).shuffle(work)

    def send(key):
        return run(db, "log", "SendEmail", "--key", key, "--json")

    with ThreadPoolExecutor(KEY_PROCESSES) as pool:
        results = list(pool.map(send, work))
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results if r.returncode]
    assert sum(json.loads(r.stdout)["replayed"] for r in results) == len(keys)
    assert count(db, "SELECT count(*) FROM events") == len(keys)
    before = Cli(db).dump(outbox=True)
    r = run(db, "log", "SendEmail", "--count", "2", "--key", "k0")
    assert r.returncode == 2 and "--key" in r.stderr
    assert Cli(db).dump(outbox=True) == before
    ledger_ok(db)


def test_coupon_races_have_one_winner(new_db):
    for trial in range(COUPON_TRIALS):
        db = new_db(f"c{trial}")
        for i in range(COUPON_PROCESSES):
            run(db, "init", "--plan", "starter", "--start", "2026-01-31T09:30:00Z", workspace=f"w{i}", check=True)
        run(
            db,
            "coupon",
            "create",
            "ONE-USE",
            "--credits",
            "5",
            "--pool",
            "message",
            "--uses",
            "1",
            workspace="w0",
            check=True,
        )
        env = {**os.environ, "CREDITS_DB": str(db), "CREDITS_NOW": NOW}
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "credits_cli", "coupon", "redeem", "one use"],
                env={**env, "CREDITS_WORKSPACE": f"w{i}"},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for i in range(COUPON_PROCESSES)
        ]
        codes = sorted(p.wait(timeout=300) for p in procs)
        assert codes == [0] + [3] * (COUPON_PROCESSES - 1)
        assert count(db, "SELECT count(*) FROM grants WHERE source = 'coupon'") == 1  # credited once
        ledger_ok(db)


def test_kill_9_during_an_import_is_all_or_nothing(tmp_path, new_db):
    rows = IMPORT_ROWS
    path = tmp_path / "big.csv"
    with open(path, "w") as f:
        f.write("at,pool,action,quantity,credits,app\n")
        for i in range(rows):
            f.write(f"2026-01-{1 + i % 28:02d}T{i % 24:02d}:00:{i % 60:02d}Z,integration,UploadFile,1,0,a{i % 7}\n")
    whole_db = new_db("whole")
    env = {**os.environ, "CREDITS_DB": str(whole_db), "CREDITS_NOW": NOW}
    run(whole_db, "init", "--plan", "elite", "--start", "2026-01-01T00:00:00Z", check=True)
    started = time.monotonic()
    whole = subprocess.run([sys.executable, "-m", "credits_cli", "import", str(path)], env=env, capture_output=True)
    took = time.monotonic() - started  # kills land anywhere from reading the file to after the commit
    assert whole.returncode == 0, whole.stderr
    outcomes = []
    for trial in range(IMPORT_KILLS):
        db = new_db(f"i{trial}")
        run(db, "init", "--plan", "elite", "--start", "2026-01-01T00:00:00Z", check=True)
        env = {**os.environ, "CREDITS_DB": str(db), "CREDITS_NOW": NOW}
        p = subprocess.Popen(
            [sys.executable, "-m", "credits_cli", "import", str(path)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:  # an import that ends before its kill moment has committed: that outcome is checked too
            p.wait(timeout=random.Random(trial).uniform(0.1, 1.1) * took)
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGKILL)
            p.wait()
        ledger_ok(db)
        events = count(db, "SELECT count(*) FROM events")
        assert events in (0, rows)
        outcomes.append(events)
    print(
        f"import kills: {len(outcomes)} trials of {rows:,} rows (a whole import took {took:.1f} s):"
        f" {outcomes.count(0)} left nothing, {outcomes.count(rows)} had committed"
    )


def test_kill_9_during_concurrent_logging_loses_no_acknowledged_event(new_db):
    db = new_db("l")
    run(db, "init", "--plan", "elite", "--start", "2026-01-31T09:30:00Z", check=True)
    script = (
        "import subprocess, sys\n"
        "for i in range(10**6):\n"
        "    r = subprocess.run([sys.executable, '-m', 'credits_cli', 'log', 'SendEmail', '--key',\n"
        "                        f'{sys.argv[1]}-{i}', '-q'])\n"
        "    if r.returncode == 0:\n"
        "        print(f'{sys.argv[1]}-{i}', flush=True)\n"
    )
    env = {**os.environ, "CREDITS_DB": str(db), "CREDITS_NOW": NOW}
    acked = set()
    for kill in range(LOGGING_KILLS):
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", script, f"r{kill}w{w}"],
                env=env,
                stdout=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
            for w in range(3)
        ]
        time.sleep(random.Random(kill).uniform(1.0, 2.5))
        for w in workers:
            os.killpg(w.pid, signal.SIGKILL)  # the loop and the credits process it is waiting on
        for w in workers:
            out, _ = w.communicate()
            acked.update(out.split())
    stored = [k for (k,) in Cli(db).sql("SELECT key FROM events")]
    print(f"logging kills: {LOGGING_KILLS} rounds, {len(acked):,} acknowledged, {len(stored):,} stored")
    assert acked <= set(stored)  # nothing acknowledged is lost
    assert len(stored) == len(set(stored))  # nothing is doubled
    ledger_ok(db)
