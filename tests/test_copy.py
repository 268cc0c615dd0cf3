"""`credits copy DEST`: a ledger, or one workspace, with every entry, into another ledger of either engine.

Each test runs on the `cli` fixture's engine and copies to a DEST of the other engine when CREDITS_TEST_PG
names a server (SQLite -> PostgreSQL, PostgreSQL -> SQLite), else to another SQLite file.
"""

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Cli, one_line_error

SAMPLE = Path(__file__).parent.parent / "sample_data" / "events.csv"
START = "2026-09-14T09:00:00Z"
NOW = "2026-11-20T18:00:00Z"


@pytest.fixture
def other(engine, tmp_path, pg_server):
    """A new, empty ledger of the other engine (another SQLite file when there is no server): `other()`."""
    names = iter(range(1, 100))

    def make() -> Cli:
        if engine == "sqlite" and pg_server is not None:
            return Cli(pg_server.new())
        return Cli(tmp_path / f"dest{next(names)}.db")

    return make


def ws(name):
    return {"CREDITS_WORKSPACE": name}


def sample(cli, name="default"):
    """The sample history (README): a builder plan bought on 2026-09-14, 1,378 events."""
    env = ws(name)
    assert cli("init", "--plan", "builder", "--start", START, now=START, env=env).exit_code == 0
    assert cli.json("import", str(SAMPLE), now=NOW, env=env)["added"] == 1378


def busy(cli, name="team", code="WELCOME-10"):
    """A workspace with one entry of every kind: grants, a top-up, a coupon redeemed, a share approved, a plan
    change, budgets, an alert that fired (a notification), a void, an idempotency key, a simulated clock."""
    env = ws(name)
    t = "2026-10-01T09:00:00Z"
    assert cli("init", "--plan", "starter", "--start", "2026-09-20T09:00:00Z", now=t, env=env).exit_code == 0
    if cli("coupon", "redeem", code, now=t, env=env).exit_code != 0:  # the coupon may exist already
        cli.json("coupon", "create", code, "--credits", "10", "--pool", "message", "--uses", "3", now=t, env=env)
        cli.json("coupon", "redeem", code, now=t, env=env)
    cli.json("grant", "--pool", "integration", "--credits", "30", "--reason", "launch", now=t, env=env)
    cli.json("topup", "--pool", "integration", "--packs", "1", now=t, env=env)
    cli.json("share", "submit", "--platform", "x", "--url", "https://x.com/p/1", "--followers", "900", now=t, env=env)
    cli.json("share", "approve", now=t, env=env)
    cli.json("budget", "set", "--app", "crm", "--pool", "integration", "--credits", "500", now=t, env=env)
    cli.json("budget", "set", "--member", "bob", "--pool", "message", "--credits", "40", now=t, env=env)
    cli.json("alert", "add", "--pool", "message", "--at", "5%", now=t, env=env)
    cli.json("alert", "add", "--pool", "integration", "--expiring", "400", now=t, env=env)  # the top-up's year
    ids = []
    for i in range(6):
        at = f"2026-10-0{2 + i}T10:00:00Z"
        ids.append(cli.json("log", "message", "--scope", "feature", "--app", "crm", "--member", "bob", now=at, env=env))
        cli.json("log", "invokeLLM", "--model", "gpt-5", "--app", "crm", "--key", f"job-{i}", now=at, env=env)
    cli.json("void", str(ids[1]["id"]), "--reason", "logged twice", now="2026-10-09T10:00:00Z", env=env)
    cli.json("plan", "set", "builder", now="2026-10-10T10:00:00Z", env=env)
    cli.json("log", "GenerateImage", "--count", "4", "--app", "landing", now="2026-10-11T10:00:00Z", env=env)
    cli.json("clock", "set", "2026-10-12T00:00:00Z", env=env)
    fired = [n["message"] for n in cli.json("notifications", now=NOW, env=env)]
    assert any("5%" in m for m in fired) and any("from top-up: 1 pack expire on" in m for m in fired)  # both alerts


VIEWS = (
    ("balance",),
    ("grants",),
    ("events", "--limit", "0"),
    ("coupon", "list"),
    ("share", "status"),
    ("budget", "list"),
    ("alert", "list"),
    ("notifications",),
    ("clock",),
    ("daily", "--since", "2026-09-14"),
)


def views(cli, name="default", renumber=False) -> dict:
    """What a user sees of a workspace: each view's JSON, and the export (ids as their rank with `renumber`)."""
    env = ws(name)
    now = None if name == "team" else NOW  # the busy workspace runs on its simulated clock
    seen = {" ".join(v): cli.json(*v, now=now, env=env) for v in VIEWS}
    r = cli("export", now=now, env=env)
    assert r.exit_code == 0, r.stderr
    seen["export"] = list(csv.DictReader(io.StringIO(r.stdout)))
    if renumber:
        grants = {g: i for i, g in enumerate(sorted(g["grant"] for g in seen["grants"]))}
        seen = {view: _ranked(value, grants) for view, value in seen.items()}
    return seen


def _ranked(rows, grants):
    """A view's ids (`id`, and `corrects` naming one of them) as their rank in the view, grant ids (`grant`,
    `grant_id`) as their rank among the grants: what a renumbering copy keeps."""
    if not isinstance(rows, list) or not rows or not isinstance(rows[0], dict):
        return rows
    ids = {int(i): n for n, i in enumerate(sorted(int(r["id"]) for r in rows if "id" in r))}

    def one(key, value):
        if value in (None, ""):
            return value
        if key in ("id", "corrects"):
            return ("rank", ids[int(value)])
        if key in ("grant", "grant_id"):
            return ("grant", grants[int(value)])
        return value

    return [{k: one(k, v) for k, v in r.items()} for r in rows]


def replay(cli, key):
    """A `log` of the busy workspace retried (same request, same key) after the copy."""
    return cli.json("log", "invokeLLM", "--model", "gpt-5", "--app", "crm", "--key", key, env=ws("team"))


def copy(cli, dest, *args, code=0):
    r = cli("copy", str(dest.db), "--json", *args, now=NOW)
    assert r.exit_code == code, (r.exit_code, r.stdout, r.stderr)
    return json.loads(r.stdout) if code == 0 else r


def clean(cli):
    out = cli.json("check", now=NOW)
    assert out["ok"] and not out["problems"], out
    return out


# -- the whole ledger ------------------------------------------------------------------------------------


def test_the_whole_ledger_copied_to_the_other_engine_reads_the_same_there(cli, other):
    sample(cli)
    busy(cli)
    dest = other()
    out = copy(cli, dest)
    assert out["workspaces"] == ["default", "team"] and out["ids_kept"] is True
    assert out["entries"]["events"] == 1378 + 14 and out["entries"]["coupons"] == 1
    assert out["entries"]["workspaces"] == 2 and out["entries"]["redemptions"] == 1
    for name in ("default", "team"):
        assert views(dest, name) == views(cli, name)
    assert clean(dest) == clean(cli)
    # the destination's ids go on after the copied ones (on a server, its sequences were moved past them)
    last = max(int(e["id"]) for name in ("default", "team") for e in views(cli, name)["export"])
    logged = dest.json("log", "invokeLLM", "--model", "gpt-5", "--app", "crm", now=NOW)
    assert logged["id"] == last + 1
    dest.json("--workspace", "team", "coupon", "create", "LATER", "--credits", "1", "--pool", "message")
    clean(dest)


def test_a_copy_copied_back_is_the_same_ledger(cli, other, new_db):
    """There and back again: SQLite -> PostgreSQL -> SQLite (or the other way round) changes nothing."""
    sample(cli)
    busy(cli)
    there, back = other(), Cli(new_db("back"))
    copy(cli, there)
    r = there("copy", str(back.db), now=NOW)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("Copied 2 workspaces (default, team) to ") and ", ids kept: " in r.stdout
    assert "1,392 events" in r.stdout and "1 redemption," in r.stdout
    for name in ("default", "team"):
        assert views(back, name) == views(cli, name)
    clean(back)


def test_an_idempotency_key_replayed_on_the_copy_is_a_replay(cli, other):
    busy(cli)
    dest = other()
    copy(cli, dest)
    again = replay(dest, "job-2")
    assert again["replayed"] is True and again["id"] == 6
    conflict = dest("log", "message", "--scope", "simple", "--key", "job-2", now="2026-10-20T00:00:00Z", env=ws("team"))
    one_line_error(conflict, code=2, field="key")
    assert len(dest.json("events", "--limit", "0", env=ws("team"))) == 14


# -- one workspace, and renumbering --------------------------------------------------------------------


def test_workspace_copies_one_of_two_renumbered(cli, other):
    sample(cli)
    busy(cli)
    dest = other()
    out = copy(cli, dest, "--workspace", "team")
    assert out["workspaces"] == ["team"] and out["ids_kept"] is False
    assert out["entries"]["events"] == 14 and out["entries"]["coupons"] == 1
    assert views(dest, "team", renumber=True) == views(cli, "team", renumber=True)
    assert [c["id"] for c in dest.json("events", "--limit", "0", env=ws("team"))][-1] == 1  # ids from 1 there
    assert len([line for line in dest.dump().splitlines() if line.startswith('INSERT INTO "workspaces"')]) == 1
    clean(dest)
    again = replay(dest, "job-5")
    assert again["replayed"] is True


def test_a_copy_into_a_ledger_of_other_workspaces_renumbers_and_checks_clean(cli, other):
    sample(cli)
    busy(cli)
    dest = other()
    busy(dest, "theirs")  # ids taken there; and the coupon WELCOME-10 of the same terms
    before = views(dest, "theirs")
    out = copy(cli, dest)
    assert out["ids_kept"] is False and out["workspaces"] == ["default", "team"]
    assert out["entries"]["coupons"] == 0  # the one there stands for it
    after = views(dest, "theirs")
    assert after.pop("coupon list")[0]["used"] == 2  # theirs, and team's redemption
    before.pop("coupon list")
    assert after == before
    for name in ("default", "team"):
        here, there = views(cli, name, renumber=True), views(dest, name, renumber=True)
        assert [c["used"] for c in here.pop("coupon list")] == [1]  # every coupon, whatever the workspace
        assert [c["used"] for c in there.pop("coupon list")] == [2]
        assert there == here
    clean(dest)
    # the copied workspaces write on as any other
    dest.json("log", "invokeLLM", "--model", "gpt-5", now=NOW)
    dest.json("void", str(dest.json("events", "--limit", "1", now=NOW)[0]["id"]), "--reason", "test", now=NOW)
    clean(dest)


# -- refusals --------------------------------------------------------------------------------------------


def test_a_dest_holding_the_workspace_is_refused_and_left_as_it_was(cli, other):
    sample(cli)
    busy(cli)
    dest = other()
    busy(dest)  # a `team` there too
    before = dest.dump(outbox=True)
    line = one_line_error(copy(cli, dest, code=2), field="DEST")
    assert "already holds a workspace named 'team'" in line
    assert dest.dump(outbox=True) == before
    one_line_error(copy(cli, dest, "--workspace", "team", code=2), field="DEST")
    assert dest.dump(outbox=True) == before
    assert copy(cli, dest, "--workspace", "default")["workspaces"] == ["default"]  # the other one goes
    clean(dest)


def test_a_coupon_of_the_same_code_on_other_terms_is_refused(cli, other):
    busy(cli)
    dest = other()
    dest.json("init", "--plan", "builder", "--start", START, now=START)
    dest.json("coupon", "create", "WELCOME-10", "--credits", "20", "--pool", "message", now=START)
    before = dest.dump(outbox=True)
    line = one_line_error(copy(cli, dest, code=2), field="DEST")
    assert "'WELCOME-10'" in line and "other terms" in line
    assert dest.dump(outbox=True) == before


def test_a_coupon_used_up_by_the_copy_is_refused(cli, other):
    busy(cli)
    dest = other()
    for name in ("a", "b", "c"):  # the coupon allows 3 uses: all taken there
        busy(dest, name)
    before = dest.dump(outbox=True)
    line = one_line_error(copy(cli, dest, code=2), field="DEST")
    assert "'WELCOME-10' allows 3 uses" in line
    assert dest.dump(outbox=True) == before


def test_copying_a_ledger_into_itself_is_refused(cli):
    sample(cli)
    before = cli.dump(outbox=True)
    one_line_error(cli("copy", str(cli.db), now=NOW), field="DEST")
    assert cli.dump(outbox=True) == before


def test_what_is_not_there_is_named(cli, other, tmp_path):
    dest = other()
    missing = tmp_path / "nothing-here.db"
    one_line_error(Cli(missing)("copy", str(dest.db)), field="--db")
    assert not missing.exists()
    sample(cli)
    one_line_error(copy(cli, dest, "--workspace", "nobody", code=2), field="--workspace")
    one_line_error(cli("copy", str(tmp_path / "no" / "dir.db")), field="DEST")
    not_a_ledger = tmp_path / "notes.txt"
    not_a_ledger.write_text("not a ledger\n")
    one_line_error(cli("copy", str(not_a_ledger)), field="DEST")
    assert not_a_ledger.read_text() == "not a ledger\n"
    one_line_error(cli("copy", " "), field="DEST")
    assert dest.on_server or not Path(dest.db).exists()  # the first refusal created nothing there


def test_two_copies_at_once_into_one_dest_copy_once(cli, other):
    """Two processes copy the same ledger into one DEST at the same moment: one copies, the other is refused
    for the name it finds there (never a database error, never both)."""
    sample(cli)
    busy(cli)
    dest = other()
    env = {**os.environ, "CREDITS_DB": str(cli.db), "CREDITS_NOW": NOW, "NO_COLOR": "1"}
    env.pop("CREDITS_WORKSPACE", None)
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "credits_cli", "copy", str(dest.db)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    done = sorted((p.wait(timeout=120), p.stderr.read()) for p in runs)
    assert [code for code, _ in done] == [0, 2], done
    assert "already holds a workspace named 'default'" in done[1][1]
    assert views(dest, "team") == views(cli, "team")
    clean(dest)


# -- a source changed behind credits' back ----------------------------------------------------------------------


def test_a_renumbering_copy_does_not_seal_again_what_was_edited(new_db):
    src = Cli(new_db("src"))
    busy(src)
    src.behind_its_back(
        src.drop_trigger("events_no_update", "events"), "UPDATE events SET credits_milli = 1 WHERE id = 4"
    )
    kept = Cli(new_db("kept"))
    assert src("copy", str(kept.db), now=NOW).exit_code == 0  # as it is: the copy's check says what the source's says
    found = kept("check", "--json", now=NOW)
    assert found.exit_code == 1
    assert any(p["kind"].startswith("tampered") and p.get("id") == 4 for p in json.loads(found.stdout)["problems"])
    dest = new_db("renumbered")  # SQLite: a file the refused copy creates
    line = one_line_error(src("--workspace", "team", "copy", str(dest), now=NOW), code=1)
    assert "events 4 of the ledger being copied is not as credits wrote it" in line
    # the file it created is an empty ledger (as a copy killed midway leaves it): the whole copy still keeps ids there
    out = json.loads(src("copy", str(dest), "--json", now=NOW).stdout)
    assert out["ids_kept"] is True
