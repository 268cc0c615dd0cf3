"""Foresight on constructed histories with known answers."""

from datetime import UTC
from decimal import Decimal as D

import pytest
from conftest import one_line_error


def setup(cli, plan="starter", start="2026-02-01T00:00:00Z"):
    assert cli("init", "--plan", plan, "--start", start, now=start).exit_code == 0


def steady(cli, per_day_args, days, start_day=1, month="2026-02"):
    for d in range(start_day, start_day + days):
        r = cli("log", *per_day_args, "--at", f"{month}-{d:02d}T12:00:00Z", now=f"{month}-{d:02d}T23:00:00Z")
        assert r.exit_code == 0, r.stderr


# --- forecast -------------------------------------------------------------------------


def test_a_steady_100_a_day_on_2000_runs_out_on_day_20(cli):
    setup(cli, "starter")  # 2,000 integration credits a cycle, Feb 1 to Mar 1
    steady(cli, ["GenerateVideo", "--seconds", "20"], 7)  # 100 a day, Feb 1..7
    f = cli.json("forecast", now="2026-02-08T00:00:00Z")
    i = f["integration"]
    assert i["burn_per_day"] == 100 and i["available"] == 1300
    assert i["runs_out_at"] == "2026-02-21T00:00:00Z"  # the end of day 20
    assert i["before_reset"] is True and i["days_before_reset"] == 8
    assert i["next_reset"] == "2026-03-01T00:00:00Z"
    assert i["p50"]["burn_per_day"] == 100 and i["p90"]["burn_per_day"] == 100
    assert f["message"]["runs_out_at"] is None and f["message"]["burn_per_day"] == 0
    human = cli("forecast", "--pool", "integration", now="2026-02-08T00:00:00Z").stdout
    assert "runs out 2026-02-21 00:00 UTC, 8 days before the reset" in human


def test_forecast_weighs_the_latest_days_more_and_is_reproducible(cli):
    setup(cli, "builder")
    steady(cli, ["GenerateVideo", "--seconds", "10"], 4)  # 50 a day
    steady(cli, ["GenerateVideo", "--seconds", "40"], 3, start_day=5)  # then 200 a day
    a = cli.json("forecast", now="2026-02-08T00:00:00Z")["integration"]
    # weights 7..1 (newest first): (200*(7+6+5) + 50*(4+3+2+1)) / 28 = 146.43
    assert a["burn_per_day"] == D("146.429")
    b = cli.json("forecast", now="2026-02-08T00:00:00Z")["integration"]
    assert a == b  # the resampling is seeded
    assert a["p50"]["burn_per_day"] <= a["p90"]["burn_per_day"]


def test_forecast_early_in_a_cycle_uses_only_this_cycle(cli):
    setup(cli, "starter", start="2026-01-15T00:00:00Z")
    cli("log", "GenerateVideo", "--seconds", "100", now="2026-02-10T00:00:00Z")  # 500, previous cycle
    cli("log", "GenerateVideo", "--seconds", "6", now="2026-02-15T06:00:00Z")  # 30, this cycle (from Feb 15)
    i = cli.json("forecast", now="2026-02-15T12:00:00Z")["integration"]
    assert i["burn_per_day"] == 60  # 30 in half a day


# --- estimate ------------------------------------------------------------------------------


def test_estimate_the_worked_example(cli):
    setup(cli, "starter")  # a 28-day cycle (February)
    e = cli.json("estimate", "invokeLLM", "--users", "500", "--per-user", "1", now="2026-02-10T00:00:00Z")
    assert (e["unit_cost"], e["per_day"], e["per_cycle"], e["cycle_days"]) == (3, 1500, 42000, 28)
    assert e["fits"] == ["elite"]
    elite = next(p for p in e["plans"] if p["plan"] == "elite")
    assert elite["spare"] == 8000
    e = cli.json("estimate", "message", "--scope", "feature", "--per-day", "6", now="2026-02-10T00:00:00Z")
    free = next(p for p in e["plans"] if p["plan"] == "free")
    assert free["fits"] is False and "daily cap" in free["why"]
    e = cli.json("estimate", "automation", "--per-day", "10", now="2026-02-10T00:00:00Z")
    assert "free" not in e["fits"] and "starter" not in e["fits"] and "builder" in e["fits"]


@pytest.mark.parametrize(
    "args,field",
    [
        (["invokeLLM"], "--per-day"),
        (["invokeLLM", "--per-day", "5", "--users", "3"], "--per-day"),
        (["invokeLLM", "--users", "0", "--per-user", "1"], "--users"),
        (["Teleport", "--per-day", "1"], "ACTION"),
    ],
)
def test_estimate_bad_input(cli, args, field):
    setup(cli)
    one_line_error(cli("estimate", *args, now="2026-02-10T00:00:00Z"), field=field)


# --- budgets -----------------------------------------------------------------------------------


def test_a_budget_stops_the_third_gpt5_call_on_a_30_credit_budget(cli):
    setup(cli, "starter")
    now = "2026-02-10T00:00:00Z"
    assert cli("budget", "set", "--app", "crm", "--pool", "integration", "--credits", "30", now=now).exit_code == 0
    for _ in range(2):
        assert cli("log", "invokeLLM", "--model", "gpt-5", "--app", "crm", now=now).exit_code == 0
    before = cli.dump()
    line = one_line_error(cli("log", "invokeLLM", "--model", "gpt-5", "--app", "crm", now=now), code=3)
    assert "over budget" in line and "app 'crm'" in line and "(15 short)" in line
    assert cli.dump() == before
    # the pool has credits left: a budget's refusal writes no "used up its credits" notice to the outbox
    assert cli.json("notifications", now=now) == []
    assert cli("log", "invokeLLM", "--model", "gpt-5", "--app", "other", now=now).exit_code == 0
    rows = cli.json("budget", "list", now=now)
    assert rows == [
        {
            "kind": "app",
            "name": "crm",
            "pool": "integration",
            "credits": 30,
            "used": 30,
            "left": 0,
            "resets_at": "2026-03-01T00:00:00Z",
        }
    ]
    apps = {r["app"]: r for r in cli.json("apps", now=now)}
    assert apps["crm"]["budget"] == 30 and apps["other"]["budget"] is None
    assert "30 of 30" in cli("apps", now=now).stdout
    # a new cycle, a new budget
    assert cli("log", "invokeLLM", "--model", "gpt-5", "--app", "crm", now="2026-03-01T00:00:00Z").exit_code == 0
    cli("budget", "remove", "--app", "crm", now=now)
    assert cli.json("budget", "list", now=now) == []


def test_member_budget_and_bad_input(cli):
    setup(cli, "starter")
    now = "2026-02-10T00:00:00Z"
    cli("budget", "set", "--member", "bob", "--pool", "message", "--credits", "2", now=now)
    assert cli("log", "message", "--credits", "2", "--member", "bob", now=now).exit_code == 0
    one_line_error(cli("log", "message", "--credits", "0.5", "--member", "bob", now=now), code=3)
    one_line_error(cli("budget", "set", "--pool", "message", "--credits", "2", now=now), field="--app")
    one_line_error(
        cli("budget", "set", "--app", "a", "--member", "b", "--pool", "message", "--credits", "2", now=now),
        field="--app",
    )
    one_line_error(cli("budget", "remove", "--app", "nobody", now=now), field="--app")


# --- alerts -----------------------------------------------------------------------------------


def test_half_the_credits_gone_before_mid_cycle_fires_once(cli, tmp_path):
    setup(cli, "starter")  # Feb 1 to Mar 1: mid-cycle Feb 15 00:00
    out = tmp_path / "alert.txt"
    r = cli(
        "alert",
        "add",
        "--pool",
        "integration",
        "--at",
        "50%",
        "--by",
        "mid-cycle",
        "--exec",
        f'echo "$CREDITS_ALERT_POOL $CREDITS_ALERT_USED $CREDITS_ALERT_MESSAGE" >> {out}',
        now="2026-02-01T00:00:00Z",
    )
    assert r.exit_code == 0
    r = cli("log", "GenerateVideo", "--seconds", "199", now="2026-02-05T00:00:00Z")  # 995: not yet
    assert r.exit_code == 0 and "alert" not in r.stderr
    r = cli("log", "SendEmail", "--count", "5", now="2026-02-06T00:00:00Z")  # 1000 of 2000
    assert r.exit_code == 0
    assert "alert 1: 50% of this cycle's 2,000 integration credits are used" in r.stderr
    assert out.read_text().startswith("integration 1000 alert 1:")
    r = cli("log", "SendEmail", now="2026-02-07T00:00:00Z")
    assert "alert" not in r.stderr  # once a cycle
    notes = [n for n in cli.json("notifications", now="2026-02-07T00:00:00Z") if n["kind"] == "alert"]
    assert len(notes) == 1 and notes[0]["pool"] == "integration"


def test_an_alert_whose_command_fails_is_reported_and_the_event_stays_logged(cli):
    setup(cli, "starter")
    cli("alert", "add", "--pool", "integration", "--left", "1990", "--exec", "exit 3", now="2026-02-01T00:00:00Z")
    r = cli("log", "SendEmail", "--count", "10", now="2026-02-06T00:00:00Z")
    assert r.exit_code == 0, r.stderr
    fired, failed = r.stderr.splitlines()
    assert fired.startswith("credits: alert 1: 1,990 integration credits left")
    assert failed == "credits: alert 1: its command exited 3"
    assert len(cli.json("events", now="2026-02-06T00:00:00Z")) == 1


def test_an_alert_after_mid_cycle_does_not_fire_and_left_alerts_do(cli):
    setup(cli, "starter")
    cli("alert", "add", "--pool", "integration", "--at", "50%", "--by", "mid-cycle", now="2026-02-01T00:00:00Z")
    cli("alert", "add", "--pool", "integration", "--left", "100", now="2026-02-01T00:00:00Z")
    r = cli("log", "GenerateVideo", "--seconds", "200", now="2026-02-20T00:00:00Z")
    assert "alert 1" not in r.stderr
    r = cli("log", "GenerateVideo", "--seconds", "180", now="2026-02-21T00:00:00Z")  # 100 left
    assert "alert 2: 100 integration credits left" in r.stderr
    assert [a["id"] for a in cli.json("alert", "list", now="2026-02-21T00:00:00Z")] == [1, 2]
    cli("alert", "remove", "1", now="2026-02-21T00:00:00Z")
    assert [a["id"] for a in cli.json("alert", "list", now="2026-02-21T00:00:00Z")] == [2]


@pytest.mark.parametrize(
    "args,field",
    [
        (["--pool", "integration"], "--at"),
        (["--pool", "integration", "--at", "50%", "--left", "3"], "--at"),
        (["--pool", "integration", "--at", "150%"], "--at"),
        (["--pool", "integration", "--at", "0%"], "--at"),
        (["--pool", "integration", "--left", "-3"], "--left"),
        (["--pool", "integration", "--at", "50%", "--by", "tuesday"], "--by"),
        (["--at", "50%"], "--pool"),
    ],
)
def test_alert_bad_input(cli, args, field):
    setup(cli)
    one_line_error(cli("alert", "add", *args, now="2026-02-01T00:00:00Z"), field=field)


# --- advise --------------------------------------------------------------------------------------


def test_advise_replays_history_under_every_plan(cli):
    setup(cli, "builder", start="2025-11-01T00:00:00Z")
    # three complete cycles (Nov, Dec, Jan) of 2,500 integration credits each, spread over 5 days,
    # plus 150 gpt-5 calls on one day (a cache candidate)
    for month in ("2025-11", "2025-12", "2026-01"):
        for d in range(1, 6):
            cli(
                "log",
                "GenerateVideo",
                "--seconds",
                "100",
                "--app",
                "promo",
                "--at",
                f"{month}-0{d}T10:00:00Z",
                now="2026-02-10T00:00:00Z",
            )
    cli(
        "log",
        "invokeLLM",
        "--model",
        "gpt-5",
        "--count",
        "150",
        "--app",
        "crm",
        "--input",
        "same question",
        "--at",
        "2026-01-20T10:00:00Z",
        now="2026-02-10T00:00:00Z",
    )
    a = cli.json("advise", "--flat", "45", now="2026-02-10T00:00:00Z")
    assert a["cycles"] == 3
    plans = {p["plan"]: p for p in a["plans"]}
    assert plans["starter"]["days_blocked"] > 0 and plans["starter"]["actions_refused"] > 0
    assert plans["starter"]["topup_packs"]["integration"] >= 1
    assert plans["builder"]["days_blocked"] == 0
    assert plans["builder"]["credits_unused"]["integration"] == 3 * 10000 - 3 * 2500 - 2250
    assert plans["free"]["topup_packs"] is None
    assert plans["flat"]["cost"] == 135
    assert a["recommended"] == "flat"  # 3 x 45 < 3 x 50
    assert cli.json("advise", now="2026-02-10T00:00:00Z")["recommended"] == "builder"
    assert a["top_features"][0] == {"action": "GenerateVideo", "app": "promo", "credits": 7500}
    assert a["cache_candidates"] == [
        {"action": "invokeLLM", "app": "crm", "days": 1, "max_per_day": 150, "repeated_inputs": 149}
    ]
    assert a["gpt5_to_automatic"] == {"calls": 150, "credits_saved": 1800}
    human = cli("advise", now="2026-02-10T00:00:00Z").stdout
    assert "Cheapest that would have blocked nothing: builder" in human


# --- status line and watch -------------------------------------------------------------------------


def test_status_line(cli):
    setup(cli, "starter")
    cli("log", "GenerateVideo", "--seconds", "390", now="2026-02-10T00:00:00Z")
    r = cli("status", "--line", now="2026-02-10T12:00:00Z")
    assert r.exit_code == 0
    line = r.stdout.strip()
    assert line[:-2] == "msg 100/100 · int 50/2,000 · reset 18d" and line[-1] in "⚠!"  # less than a tenth left
    s = cli.json("status", now="2026-02-10T12:00:00Z")
    assert s["warning"] is True and s["pools"]["integration"]["available"] == 50


def test_watch_draws_the_dashboard(cli):
    setup(cli, "starter")
    r = cli("watch", "--iterations", "1", "--interval", "0.1", now="2026-02-10T00:00:00Z")
    assert r.exit_code == 0 and "available now" in r.stdout


def test_replaying_a_history_under_a_plan_with_a_daily_cap_refuses_past_the_cap_only():
    from datetime import datetime, timedelta

    from credits_cli.domain.forecast import replay

    t = datetime(2026, 2, 2, tzinfo=UTC)
    h = timedelta(hours=1)
    events = [
        (t, "message", 3000),
        (t + h, "message", 2000),
        (t + 2 * h, "message", 1),  # the cap, then 0.001 over
        (t + 3 * h, "integration", 9000),  # another pool: no daily cap
        (t + 24 * h, "message", 5000),
    ]  # the next day: the whole cap again
    r = replay(
        events,
        [(t, t + 30 * 24 * h)],
        lambda pool: 100_000,
        lambda pool: 5000 if pool == "message" else None,
        lambda at: at.date(),
    )
    assert (r.refused, r.refused_credits, r.days_blocked) == (1, {"message": 1}, {t.date()})
    assert r.unused == {"message": 100_000 - 10_000, "integration": 100_000 - 9000}
