"""Rules of the platform the catalog states: the free plan's 5 apps (max_apps), and the referral
program's 10 message credits for at most 5 friends."""

import json
import os
import subprocess
import sys

import pytest
from conftest import one_line_error

T0 = "2026-03-01T00:00:00Z"
NOW = "2026-03-02T10:00:00Z"
APPS = ["a", "b", "c", "d", "e", "f", "g"]


def setup(cli, plan="free"):
    assert cli("init", "--plan", plan, "--start", T0, now=T0).exit_code == 0


def log_apps(cli, apps, now=NOW):
    for app in apps:
        r = cli("log", "SendEmail", "--app", app, now=now)
        assert r.exit_code == 0, (app, r.stderr)


def count(cli, where="1 = 1"):
    return cli.sql(f"SELECT count(*) FROM events WHERE {where}")[0][0]


# --- the free plan's apps: credits log ----------------------------------------------------------


def test_a_sixth_app_is_refused_on_the_free_plan_and_nothing_is_recorded(cli):
    setup(cli)
    log_apps(cli, APPS[:5])
    before = cli.dump(outbox=True)
    line = one_line_error(cli("log", "SendEmail", "--app", "f", now=NOW), code=3)
    assert "app limit" in line and "free plan allows 5 apps" in line and "'f' would be one more" in line
    assert "'a', 'b', 'c', 'd', 'e'" in line
    assert cli.dump(outbox=True) == before  # nothing recorded, no out-of-credits notice either
    r = cli("log", "SendEmail", "--app", "f", "--json", now=NOW)
    assert r.exit_code == 3
    error = json.loads(r.stdout)["error"]
    assert (error["code"], error["limit"], error["pool"]) == ("refused", "apps", "integration")
    assert "short" not in error  # not a matter of credits
    assert cli("log", "SendEmail", "--app", "f", "--dry-run", now=NOW).exit_code == 3
    log_apps(cli, ["e", "a"])  # the five keep working
    assert cli("log", "SendEmail", now=NOW).exit_code == 0  # an event without --app is no app
    assert cli("log", "message", "--scope", "simple", "--app", "b", now=NOW).exit_code == 0  # either pool


def test_the_lean_log_path_refuses_a_sixth_app_too(cli):
    setup(cli)
    log_apps(cli, APPS[:5])
    env = {**os.environ, "CREDITS_DB": str(cli.db), "CREDITS_NOW": NOW}
    for var in ("CREDITS_WORKSPACE", "CREDITS_CATALOG"):
        env.pop(var, None)
    r = subprocess.run(
        [sys.executable, "-m", "credits_cli", "log", "SendEmail", "--app", "f"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 3, r.stderr
    assert r.stderr.count("\n") == 1 and "app limit" in r.stderr
    assert count(cli) == 5


def test_a_backdated_new_app_does_not_displace_an_older_one(cli):
    setup(cli)
    log_apps(cli, APPS[:5])
    r = cli("log", "SendEmail", "--app", "z", "--at", "2026-03-01T01:00:00Z", now=NOW)
    one_line_error(r, code=3)
    assert count(cli, "app = 'z'") == 0
    log_apps(cli, ["e"])


def test_a_voided_events_app_still_counts(cli):
    setup(cli)
    log_apps(cli, APPS[:5])
    assert cli("void", "5", now=NOW).exit_code == 0  # event 5 is app e's only one
    one_line_error(cli("log", "SendEmail", "--app", "f", now=NOW), code=3)
    log_apps(cli, ["e"])


def test_paid_plans_have_no_app_limit(cli):
    setup(cli, "starter")
    log_apps(cli, APPS)
    assert count(cli, "app IS NOT NULL") == 7


# --- log --batch --------------------------------------------------------------------------------


def test_a_batch_line_for_a_sixth_app_is_refused_by_line(cli):
    setup(cli)
    stdin = "".join(json.dumps({"action": "SendEmail", "app": a}) + "\n" for a in APPS[:6] + ["c"])
    r = cli("log", "--batch", now=NOW, input=stdin)
    assert r.exit_code == 3, r.stdout
    out = [json.loads(x) for x in r.stdout.splitlines()]
    refused = [o for o in out if "error" in o]
    assert [o["line"] for o in refused] == [6]  # the apps of earlier lines, in the same transaction, count
    assert refused[0]["error"]["limit"] == "apps" and "'f' would be one more" in refused[0]["error"]["message"]
    assert [o["app"] for o in out if "id" in o] == ["a", "b", "c", "d", "e", "c"]
    assert count(cli, "app = 'f'") == 0


# --- import -------------------------------------------------------------------------------------


def write_csv(path, apps, at="2026-03-02T09:00:00Z"):
    rows = ["at,pool,action,quantity,credits,app"] + [f"{at},integration,SendEmail,1,1,{a}" for a in apps]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_an_import_row_for_a_sixth_app_is_refused_by_line_and_field(cli, tmp_path):
    setup(cli)
    log_apps(cli, ["a", "b"])
    before = cli.dump(outbox=True)
    f = write_csv(tmp_path / "events.csv", ["c", "", "a", "d", "e", "f", "b"])
    for extra in ([], ["--dry-run"]):
        line = one_line_error(cli("import", f, *extra, now=NOW), code=3)
        assert "events.csv line 7: app: the free plan allows 5 apps" in line, line
        assert "'f' would be one more" in line and "nothing was imported" in line
    assert cli.dump(outbox=True) == before
    ok = write_csv(tmp_path / "ok.csv", ["c", "", "a", "d", "e", "b"])
    assert cli.json("import", ok, now=NOW)["added"] == 6


def test_an_import_is_judged_by_the_plan_in_force_at_each_rows_instant(cli, tmp_path):
    setup(cli, "builder")
    cli("plan", "set", "free", now=NOW)  # in force from 2026-04-01
    seven = write_csv(tmp_path / "seven.csv", APPS)  # under builder: no limit
    assert cli.json("import", seven, now="2026-04-02T00:00:00Z")["added"] == 7
    later = write_csv(tmp_path / "later.csv", ["a", "g"], at="2026-04-01T12:00:00Z")
    line = one_line_error(cli("import", later, now="2026-04-02T00:00:00Z"), code=3)
    assert "later.csv line 3: app: " in line and "'g' is not one of them" in line


# --- plan set free on a workspace with more apps --------------------------------------------------


def test_plan_set_free_keeps_the_five_oldest_apps_and_says_which(cli):
    setup(cli, "builder")
    log_apps(cli, APPS[::-1][:2])  # g, f first ...
    log_apps(cli, APPS[:5])  # ... then a..e: the five oldest are g, f, a, b, c
    r = cli("plan", "set", "free", now=NOW)
    assert r.exit_code == 0
    assert "the free plan keeps 5 apps, the workspace's oldest ('g', 'f', 'a', 'b', 'c')" in r.stderr
    assert "events for 'd', 'e' are refused" in r.stderr
    assert cli.json("plan", "set", "free", now=NOW)["apps_refused"] == ["d", "e"]
    log_apps(cli, ["d", "h"])  # builder is in force until the reset
    after = "2026-04-02T00:00:00Z"
    for app in ("d", "e", "h", "i"):
        line = one_line_error(cli("log", "SendEmail", "--app", app, now=after), code=3)
        assert "keeps the workspace's 5 oldest ('g', 'f', 'a', 'b', 'c')" in line
    log_apps(cli, ["g", "c"], now=after)
    # an event back-dated into the builder cycle is judged by the plan in force at its instant
    assert cli("log", "SendEmail", "--app", "e", "--at", "2026-03-20T00:00:00Z", now=after).exit_code == 0
    # history is kept: every event of the dropped apps is still there
    assert count(cli, "app IN ('d', 'e', 'h')") == 5


# --- referral -------------------------------------------------------------------------------------


def test_referral_grants_are_the_catalogs_ten_message_credits_at_most_five(cli):
    setup(cli, "starter")
    g = cli.json("grant", "--kind", "referral", "--reason", "ana published her first app", now=NOW)
    assert (g["pool"], g["credits"], g["source"], g["expires_at"], g["referrals"]) == (
        "message",
        10,
        "referral",
        None,
        1,
    )
    g = cli.json("grant", "--kind", "referral", "--credits", "10", "--pool", "message", "--reason", "bo", now=NOW)
    assert g["credits"] == 10
    before = cli.dump(outbox=True)
    for args, field in (
        (["--credits", "5"], "--credits"),
        (["--credits", "10.5"], "--credits"),
        (["--pool", "integration"], "--pool"),
        (["--expires", "2027-01-01T00:00:00Z"], "--expires"),
    ):
        one_line_error(cli("grant", "--kind", "referral", "--reason", "x", *args, now=NOW), field=field)
    assert cli.dump(outbox=True) == before
    for friend in ("c", "d", "e"):
        cli.json("grant", "--kind", "referral", "--reason", friend, now=NOW)
    before = cli.dump(outbox=True)
    line = one_line_error(cli("grant", "--kind", "referral", "--reason", "f", now=NOW), code=3)
    assert "already has 5 referral grants" in line and "at most 5 friends" in line
    assert cli.dump(outbox=True) == before
    assert cli.json("balance", now=NOW)["message"]["bonus"] == 50
    for _ in range(2):  # promo: any amount, any number of times, as before
        assert cli.json("grant", "--pool", "integration", "--credits", "7", "--reason", "p", now=NOW)["credits"] == 7


# --- a catalog of your own ------------------------------------------------------------------------

BUILTIN = os.path.join(os.path.dirname(__file__), "..", "credits_cli", "data", "catalog.toml")


def own_catalog(tmp_path, edit):
    with open(BUILTIN, encoding="utf-8") as f:
        text = edit(f.read())
    path = tmp_path / "mine.toml"
    path.write_text(text)
    return {"CREDITS_CATALOG": str(path)}


def test_a_catalog_without_the_new_keys_loads_with_no_app_limit_and_the_default_referral(cli, tmp_path):
    def strip(text):
        return "\n".join(x for x in text.splitlines() if not x.startswith(("max_apps", "referral_"))) + "\n"

    env = own_catalog(tmp_path, strip)
    assert cli("init", "--plan", "free", "--start", T0, now=T0, env=env).exit_code == 0
    for app in APPS:
        assert cli("log", "SendEmail", "--app", app, now=NOW, env=env).exit_code == 0
    assert cli.json("grant", "--kind", "referral", "--reason", "a", now=NOW, env=env)["credits"] == 10
    assert [p["max_apps"] for p in cli.json("plans", env=env)] == [None] * 5


def test_a_catalogs_referral_and_app_limit_are_used(cli, tmp_path):
    def edit(text):
        return (
            text.replace("referral_bonus = 10", "referral_bonus = 3")
            .replace('referral_pool = "message"', 'referral_pool = "integration"')
            .replace("referral_max = 5", "referral_max = 1")
            .replace("max_apps = 5", "max_apps = 2")
        )

    env = own_catalog(tmp_path, edit)
    assert cli("init", "--plan", "free", "--start", T0, now=T0, env=env).exit_code == 0
    g = cli.json("grant", "--kind", "referral", "--reason", "a", now=NOW, env=env)
    assert (g["pool"], g["credits"], g["referral_max"]) == ("integration", 3, 1)
    one_line_error(cli("grant", "--kind", "referral", "--reason", "b", now=NOW, env=env), code=3)
    one_line_error(
        cli("grant", "--kind", "referral", "--reason", "b", "--credits", "10", now=NOW, env=env), field="--credits"
    )
    for app in ("a", "b"):
        assert cli("log", "SendEmail", "--app", app, now=NOW, env=env).exit_code == 0
    line = one_line_error(cli("log", "SendEmail", "--app", "c", now=NOW, env=env), code=3)
    assert "allows 2 apps" in line


@pytest.mark.parametrize(
    "old, new, key",
    [
        ('referral_pool = "message"', 'referral_pool = "gold"', "grants.referral_pool"),
        ("referral_max = 5", "referral_max = 0", "grants.referral_max"),
        ("referral_bonus = 10", "referral_bonus = -1", "grants.referral_bonus"),
        ("referral_max = 5", 'referral_max = "5"', "grants.referral_max"),
    ],
)
def test_bad_referral_keys_name_the_key(cli, tmp_path, old, new, key):
    env = own_catalog(tmp_path, lambda text: text.replace(old, new))
    line = one_line_error(cli("plans", env=env), code=2)
    assert f" {key}: " in line, line


# --- the app check stays cheap --------------------------------------------------------------------


@pytest.mark.sqlite_file
def test_the_apps_are_read_from_the_index_not_by_scanning_the_events(cli):
    setup(cli)
    log_apps(cli, ["a", "b"])
    from credits_cli.store.ledger import Ledger

    store = Ledger.open(cli.db)
    try:
        with store.traced() as seen:
            assert store.app_firsts(1) == {
                "a": ("2026-03-02T10:00:00.000000Z", 1),
                "b": ("2026-03-02T10:00:00.000000Z", 2),
            }
    finally:
        store.close()
    plan = "\n".join(str(r) for r in cli.sql("EXPLAIN QUERY PLAN " + seen[-1]))
    assert "SCAN events" not in plan and "events_app_at" in plan, plan


def test_plans_shows_the_app_limit(cli):
    r = cli("plans")
    assert r.exit_code == 0
    free = next(x for x in r.stdout.splitlines() if x.strip().startswith("free"))
    assert "up to 5 apps" in free
    assert "up to" not in next(x for x in r.stdout.splitlines() if x.strip().startswith("starter"))
    assert {p["plan"]: p["max_apps"] for p in cli.json("plans")}["free"] == 5


def test_balance_shows_the_apps_a_free_plan_keeps_and_refuses(cli):
    setup(cli, "builder")
    log_apps(cli, APPS)
    assert cli.json("balance", now=NOW)["apps"] is None  # builder: no limit, none scheduled
    cli("plan", "set", "free", now=NOW)
    for now in (NOW, "2026-04-02T00:00:00Z"):  # scheduled, then in force
        apps = cli.json("balance", now=now)["apps"]
        assert apps == {"plan": "free", "max": 5, "count": 7, "kept": APPS[:5], "refused": ["f", "g"]}
        out = cli("balance", now=now).stdout
        assert "the free plan keeps 5, the oldest (a, b, c, d, e), and refuses events for f, g" in " ".join(out.split())


def test_balance_on_the_free_plan_counts_its_apps(cli):
    setup(cli)
    log_apps(cli, ["crm", "[red]x"])
    assert cli.json("balance", now=NOW)["apps"]["count"] == 2
    assert "apps: 2 of 5 (free plan)" in cli("balance", now=NOW).stdout
