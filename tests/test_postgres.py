"""The ledger on a PostgreSQL server: what only a server has (its URL, its driver, its schemas, many clients
on many machines). Every other test that uses the `cli` fixture runs on the server too (conftest.py)."""

import io
import json
import os
import subprocess
import sys
import threading
import time
from contextlib import redirect_stderr

import pytest
from conftest import PG, Cli, one_line_error, throwaway_cluster

from credits_cli.store import pg_schema

pytestmark = pytest.mark.skipif(not PG, reason="CREDITS_TEST_PG names no PostgreSQL server")

NOW = "2026-11-02T10:00:00Z"


@pytest.fixture
def url(pg_server):
    return pg_server.new()


def run(url, *args, now=NOW, env=None):
    """`credits` in its own process, as a member's script on another machine would run it."""
    return subprocess.run(
        [sys.executable, "-m", "credits_cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "CREDITS_DB": url, "CREDITS_NOW": now, "NO_COLOR": "1", **(env or {})},
        timeout=120,
    )


def with_password(url: str, password: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://postgres:{password}@{rest.split('@', 1)[1]}"


def test_a_url_without_the_driver_names_the_extra_that_installs_it(url, monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # `import psycopg` fails as if not installed
    line = one_line_error(Cli(url)("balance"), code=2)
    assert "pip install 'credits-cli[postgres]'" in line


def test_a_server_that_does_not_answer_is_one_line_exit_1_without_the_password():
    r = Cli("postgresql://bob:s3cret-pw@127.0.0.1:1/credits")("balance")
    line = one_line_error(r, code=1)
    assert "cannot connect" in line and "bob:***@127.0.0.1:1" in line
    assert "s3cret-pw" not in r.stderr + r.stdout


def test_a_refused_login_and_a_missing_database_never_show_the_password(url):
    bad = with_password(url, "hunter2-pw").rsplit("/", 1)[0] + "/no_such_database_here"
    r = Cli(bad)("balance", "--json")
    assert r.exit_code == 1 and "hunter2-pw" not in r.stderr + r.stdout
    assert "no_such_database_here" in r.stderr
    r = Cli(url + "?password=hunter3-pw&options=-csearch_path%3Dnot_a_schema")("balance")
    assert r.exit_code == 2 and "hunter3-pw" not in r.stderr and "password=***" in r.stderr


def test_doctor_shows_the_server_the_schema_and_the_role(url):
    cli = Cli(with_password(url, "pw-not-shown"))
    r = cli("doctor", "--json")
    assert r.exit_code == 0, r.stderr
    d = json.loads(r.stdout)
    checks = {c["check"]: c for c in d["checks"]}
    assert checks["server"]["ok"] and checks["server"]["value"].split(".")[0].isdigit()
    assert (
        checks["schema"]["ok"]
        and checks["schema"]["value"].startswith(f"{len(pg_schema.NAMES)} (001_ledger")
        and "pg_011_team_roles" in checks["schema"]["value"]
    )
    assert checks["search_path"]["value"] == "public"
    assert checks["role"]["value"] == "postgres"
    assert "FOR UPDATE" in checks["locking"]["value"]
    assert "pw-not-shown" not in r.stdout and ":***@" in d["path"]


def test_two_ledgers_live_in_two_schemas_of_one_database(url):
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA team_a")
        conn.execute("CREATE SCHEMA team_b")
    a, b = (Cli(f"{url}?options=-csearch_path%3D{s}") for s in ("team_a", "team_b"))
    assert a("init", "--plan", "builder", now=NOW).exit_code == 0
    assert b("init", "--plan", "starter", now=NOW).exit_code == 0
    assert a("log", "agent", "--app", "alpha", "-q", now=NOW).exit_code == 0
    assert [x["app"] for x in a.json("apps", now=NOW)] == ["alpha"]
    assert b.json("apps", now=NOW) == []
    assert (a.json("balance", now=NOW)["plan"], b.json("balance", now=NOW)["plan"]) == ("builder", "starter")
    with psycopg.connect(url, autocommit=True) as conn:
        in_public = conn.execute("SELECT count(*) FROM public.workspaces").fetchone()[0]
    assert in_public == 0  # the test database's own ledger (public, from the template) was left alone


def test_a_schema_holding_other_tables_is_refused_and_left_alone(url):
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA shop")
        conn.execute("CREATE TABLE shop.orders (id int)")
    line = one_line_error(Cli(f"{url}?options=-csearch_path%3Dshop")("balance"), code=2)
    assert "orders" in line and "not a credits ledger" in line
    with psycopg.connect(url, autocommit=True) as conn:
        names = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'shop'")]
    assert names == ["orders"]


def test_many_clients_starting_on_a_new_schema_create_it_once(url):
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA fresh")
    target = f"{url}?options=-csearch_path%3Dfresh"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "credits_cli", "log", "agent", "--key", f"k{i}", "-q"],
            env={**os.environ, "CREDITS_DB": target, "CREDITS_NOW": NOW},
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(6)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, errors
    cli = Cli(target)
    assert len(cli.json("events", now=NOW)) == 6
    assert cli("check", now=NOW).exit_code == 0
    with psycopg.connect(url, autocommit=True) as conn:
        (applied,) = conn.execute("SELECT count(*) FROM fresh.credits_migrations").fetchone()
    assert applied == len(pg_schema.NAMES)


def test_a_log_makes_few_round_trips_to_the_server(url):
    """Every round trip a write makes holds its workspace's lock: on a server 20 ms away, 20 ms of every
    other member's throughput. A BEGIN and the writes whose result is not read travel with the next
    statement."""
    from credits_cli import services
    from credits_cli.domain.pricing import Usage

    session = services.Session(db=url, now=NOW)
    services.log(session, services.LogRequest(usage=Usage(action="agent", count=1)))  # first use: creates
    conn = session.store._conn
    before = conn.round_trips
    result = services.log(session, services.LogRequest(usage=Usage(action="agent", count=1), app="crm"))
    trips = conn.round_trips - before
    session.close()
    assert result.id is not None
    assert trips <= 12, trips
    assert Cli(url)("check", now=NOW).exit_code == 0


def test_watch_redraws_when_another_machine_logs(url):
    cli = Cli(url)
    assert cli("init", "--plan", "builder", now=NOW).exit_code == 0
    watcher = subprocess.Popen(
        [sys.executable, "-m", "credits_cli", "watch", "--interval", "0.2", "--iterations", "40"],
        env={**os.environ, "CREDITS_DB": url, "CREDITS_NOW": NOW, "NO_COLOR": "1", "COLUMNS": "100"},
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(2.5)  # drawn once, listening
    assert run(url, "log", "agent", "--app", "from-elsewhere", "-q").returncode == 0
    out, _ = watcher.communicate(timeout=60)
    assert watcher.returncode == 0
    first, _, rest = out.partition("from-elsewhere")
    assert rest or first != out, "the dashboard was not redrawn with the new app"


def test_concurrent_members_never_overdraw_the_shared_pool(url):
    cli = Cli(url)
    assert cli("init", "--plan", "free", now=NOW).exit_code == 0
    available = cli.json("balance", now=NOW)["integration"]["available"]
    results: list[int] = []

    def member(name: str) -> None:
        for i in range(8):
            r = run(url, "log", "invokeLLM", "--model", "gpt-5", "--member", name, "--key", f"{name}-{i}", "-q")
            results.append(r.returncode)

    threads = [threading.Thread(target=member, args=(f"m{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    b = cli.json("balance", now=NOW)["integration"]
    recorded = results.count(0)
    assert set(results) <= {0, 3}
    assert recorded == int(available // 15) and b["used"] == 15 * recorded and b["available"] >= 0
    assert len(cli.json("events", now=NOW)) == recorded
    assert cli("check", now=NOW).exit_code == 0


def test_a_one_use_coupon_raced_from_many_workspaces_is_redeemed_once(url):
    """A coupon's use limit spans workspaces, which lock only their own row: the coupon's row is locked."""
    cli = Cli(url)
    for i in range(6):
        assert cli("--workspace", f"w{i}", "init", "--plan", "starter", now=NOW).exit_code == 0
    made = cli("--workspace", "w0", "coupon", "create", "ONE-USE", "--credits", "5", "--pool", "message", "--uses", "1")
    assert made.exit_code == 0, made.stderr
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "credits_cli", "coupon", "redeem", "one use"],
            env={**os.environ, "CREDITS_DB": url, "CREDITS_NOW": NOW, "CREDITS_WORKSPACE": f"w{i}"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(6)
    ]
    codes = sorted(p.wait(timeout=120) for p in procs)
    assert codes == [0] + [3] * 5, [p.stderr.read() for p in procs]
    import psycopg

    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM grants WHERE source = 'coupon'").fetchone()[0] == 1
    assert cli("check", now=NOW).exit_code == 0


@pytest.fixture
def own_server():
    """A throwaway PostgreSQL cluster of this test's own, which it may restart (the shared one it may not)."""
    with throwaway_cluster() as cluster:
        yield cluster.url, cluster.ctl


def test_a_server_restarted_amid_concurrent_loggers_loses_and_doubles_nothing(own_server):
    """Every acknowledged event is there once; a client that failed said so in one line; one whose commit's
    outcome was unknown runs the same command again with its --key and the event is recorded once."""
    url, ctl = own_server
    cli = Cli(url)
    assert cli("init", "--plan", "builder", now=NOW).exit_code == 0
    outcomes: dict[str, tuple[int, str]] = {}

    def member(m: int) -> None:
        for i in range(40):
            key = f"m{m}-{i}"
            r = run(url, "log", "agent", "--member", f"m{m}", "--key", key, "-q")
            outcomes[key] = (r.returncode, r.stderr)

    threads = [threading.Thread(target=member, args=(m,)) for m in range(4)]
    for t in threads:
        t.start()
    time.sleep(3)
    assert all(t.is_alive() for t in threads)
    ctl("-m", "fast", "stop")  # connections are cut, in the middle of whatever they were doing
    time.sleep(2)  # and clients starting meanwhile find no server
    ctl("start")
    for t in threads:
        t.join()
    failed = {k: err for k, (code, err) in outcomes.items() if code != 0}
    assert failed, "the restart interrupted no client: the test proved nothing"
    for key, err in failed.items():
        assert outcomes[key][0] == 1, (key, outcomes[key])
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("credits: ") and "Traceback" not in err, err
    acknowledged = {k for k, (code, _) in outcomes.items() if code == 0}
    events = cli.json("events", "--limit", "1000", now=NOW)
    keys = [e["key"] for e in events]
    assert len(keys) == len(set(keys))  # nothing twice
    assert acknowledged <= set(keys)  # nothing acknowledged lost
    for key in failed:  # the retry the message asks for
        member_name = key.split("-")[0]
        r = run(url, "log", "agent", "--member", member_name, "--key", key, "-q")
        assert r.returncode == 0, r.stderr
    keys = [e["key"] for e in cli.json("events", "--limit", "1000", now=NOW)]
    assert sorted(keys) == sorted(outcomes) and len(keys) == 160
    assert cli("check", now=NOW).exit_code == 0


def test_a_connection_cut_inside_a_write_says_the_outcome_is_unknown_and_how_to_retry(url):
    import psycopg

    from credits_cli import services
    from credits_cli.cli.out import exit_code

    session = services.Session(db=url, now=NOW)
    store = session.store
    pid = store._conn.raw.info.backend_pid
    with pytest.raises(psycopg.OperationalError) as cut, store.write():
        session.first_use()
        with psycopg.connect(url, autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", (pid,))
        store.get_workspace("default")
    r = Cli(url)("balance", "--json", now=NOW)  # nothing of the cut write was kept
    assert r.exit_code == 0 and "created workspace" in r.stderr
    err = io.StringIO()
    with redirect_stderr(err):
        assert exit_code(cut.value) == 1
    line = err.getvalue().strip()
    assert line.count("\n") == 0 and "connection to the server was lost" in line and "same --key" in line
