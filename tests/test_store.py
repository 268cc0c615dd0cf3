"""The database: schema migrations, the file's WAL, first use by many processes at once."""

import os
import subprocess
import sys

import pytest
from conftest import Cli, one_line_error

from credits_cli.store import pg_schema, schema


def test_schema_is_created_by_recorded_named_migrations(cli):
    assert cli("balance").exit_code == 0
    recorded = (
        "SELECT name FROM credits_migrations ORDER BY name"  # all in one transaction: one instant
        if cli.on_server
        else "SELECT name FROM _sqlite_migrations WHERE migration_set = 'credits'"
    )
    assert [r[0] for r in cli.sql(recorded)] == (pg_schema.NAMES if cli.on_server else schema.NAMES)


@pytest.mark.sqlite_file
def test_the_file_records_its_schema_version_and_is_in_wal_mode(cli):
    assert cli("balance").exit_code == 0
    assert cli.sql("PRAGMA user_version") == [(schema.VERSION,)]
    assert cli.sql("PRAGMA journal_mode") == [("wal",)]


def test_a_database_from_a_newer_credits_is_refused(cli):
    cli("balance")
    if cli.on_server:  # the server's ledger counts its migrations by name
        cli.sql("INSERT INTO credits_migrations VALUES ('999_from_a_newer_credits', '2030-01-01T00:00:00Z')")
    else:  # the file carries its version in its header
        cli.sql(f"PRAGMA user_version = {schema.VERSION + 1}")
    r = cli("balance")
    assert r.exit_code == 1 and "newer than this credits" in r.stderr


@pytest.mark.sqlite_file
def test_a_file_that_is_not_a_database_is_a_clean_error(cli):
    cli.db.write_bytes(b"this is not sqlite" * 100)
    r = cli("balance")
    assert r.exit_code == 2  # bad input: --db names a file that is not a ledger (test_wording.py)
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


@pytest.mark.sqlite_file
def test_db_path_that_is_a_directory_is_bad_input(cli, tmp_path):
    r = cli("balance", "--db", str(tmp_path))
    assert r.exit_code == 2 and "--db" in r.stderr


def first_use_by_eight_processes(db) -> Cli:
    """Eight processes log at once on a new ledger (`--quiet`): each succeeds and prints nothing."""
    env = {**os.environ, "CREDITS_DB": str(db), "CREDITS_NOW": "2026-02-01T00:00:00Z"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "credits_cli", "log", "SendEmail", "-q"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, outs
    created = sum("created workspace" in err for _, err in outs)
    assert created == 0  # --quiet: nothing printed
    return Cli(db)


@pytest.mark.slow
@pytest.mark.parametrize("round_", range(3))  # the race is in the first instants of a new ledger: try it thrice
def test_first_use_by_many_processes_at_once_creates_one_workspace(new_db, round_):
    """Eight processes on a ledger that does not exist yet (a file, or a database with no table): one creates
    and migrates it, one creates the default workspace; all eight log."""
    cli = first_use_by_eight_processes(new_db("fresh", migrated=False))
    assert cli.sql("SELECT count(*) FROM workspaces") == [(1,)]
    assert cli.sql("SELECT count(*) FROM events") == [(8,)]
    assert cli.sql("SELECT count(*) FROM grants") == [(1,)]
    assert cli("check").exit_code == 0


@pytest.mark.slow
@pytest.mark.sqlite_file
@pytest.mark.parametrize("round_", range(3))
def test_first_use_by_many_processes_at_once_leaves_the_file_in_wal_mode(new_db, round_):
    """One of them switches the new file to WAL: SQLite refuses that switch at once, without waiting, while
    another process holds the file."""
    cli = first_use_by_eight_processes(new_db("fresh"))
    assert cli.sql("PRAGMA journal_mode") == [("wal",)]


@pytest.mark.sqlite_file
def test_a_database_of_the_first_schema_migrates_forward_without_loss(cli, tmp_path):
    """tests/fixtures/schema_001.db was written by the first released schema (001_ledger only)."""
    import shutil
    from pathlib import Path

    shutil.copy(Path(__file__).parent / "fixtures" / "schema_001.db", cli.db)
    assert cli.sql("PRAGMA user_version") == [(1,)]
    b = cli.json("balance", now="2026-02-05T00:00:00Z")
    assert (b["plan"], b["integration"]["used"], b["message"]["used"]) == ("builder", 15, 1)
    assert cli.json("balance", now="2026-03-06T00:00:00Z")["integration"]["used"] == 3
    assert cli.sql("PRAGMA user_version") == [(schema.VERSION,)]
    assert cli.sql("SELECT count(*) FROM events WHERE fingerprint IS NULL") == [(0,)]
    assert cli.sql("SELECT count(*) FROM events") == [(3,)]
    # the old idempotency key still replays
    again = cli.json(
        "log",
        "invokeLLM",
        "--model",
        "gpt-5",
        "--app",
        "crm",
        "--member",
        "ana",
        "--key",
        "k1",
        now="2026-03-06T00:00:00Z",
    )
    assert again["replayed"] is True and again["id"] == 1


# --- a first use that fails leaves no workspace ------------------------------------------------------

FIRST_NOW = "2026-11-21T12:00:00Z"


@pytest.mark.parametrize(
    "args,field",
    [
        (["apps", "--since", "garbage"], "--since"),
        (["daily", "--pool", "foo"], "--pool"),
        (["show", "1"], "ID"),
        (["budget", "set", "--app", "crm", "--pool", "gold", "--credits", "5"], "--pool"),
    ],
)
def test_a_first_command_refused_for_bad_input_does_not_create_the_default_workspace(cli, tmp_path, args, field):
    """Exit 2 changes nothing: the `default` workspace a first command would create is not kept. Kept, it
    would be anchored at that instant, and the import of real history would then be refused."""
    old = tmp_path / "old.csv"
    old.write_text("at,pool,action,quantity,credits\n2026-01-05T00:00:00Z,integration,SendEmail,1,1\n")
    r = cli(*[a.format(old=old) for a in args], now=FIRST_NOW)
    if args[0] == "import":  # a file's bad rows are named one a line, then the summary
        assert r.exit_code == 2 and field in r.stderr and "Traceback" not in r.stderr
    else:
        one_line_error(r, field=field)
    assert cli.workspaces() == []
    # the same import after `init` with the real start goes through
    assert cli("init", "--plan", "builder", "--start", "2026-01-01T00:00:00Z", now=FIRST_NOW).exit_code == 0
    assert cli("import", str(old), now=FIRST_NOW).exit_code == 0


def test_a_first_report_keeps_its_workspace(cli, tmp_path):
    now_row = tmp_path / "now.csv"
    now_row.write_text(f"at,pool,action,quantity,credits\n{FIRST_NOW},integration,SendEmail,1,1\n")
    r = cli("balance", now=FIRST_NOW)
    assert r.exit_code == 0 and "created workspace 'default'" in r.stderr
    assert cli.workspaces() == ["default"]
    r = cli("import", str(now_row), now=FIRST_NOW)
    assert r.exit_code == 0 and "added 1 event" in r.stdout
