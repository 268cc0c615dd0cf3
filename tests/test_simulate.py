"""Simulating the platform: grants, plan changes, coupons, share-to-earn, top-ups, voids, resets, the outbox."""

import os
import subprocess
import sys

import pytest
from conftest import one_line_error

T0 = "2026-01-31T09:30:00Z"


def setup(cli, plan="starter", start=T0):
    assert cli("init", "--plan", plan, "--start", start, now=start).exit_code == 0


# --- grants and the order they pay in -------------------------------------------------------


def test_consumption_order_soonest_expiry_first_topups_last(cli):
    setup(cli, "starter")
    now = "2026-02-01T00:00:00Z"
    cli.json("topup", "--pool", "integration", "--packs", "1", now=now)  # expires 2027-02-01: but a top-up, so last
    cli.json(
        "grant",
        "--pool",
        "integration",
        "--credits",
        "30",
        "--expires",
        "2026-03-15T00:00:00Z",
        "--reason",
        "campaign",
        now=now,
    )  # outlives the cycle (ends Feb 28)
    cli.json(
        "grant",
        "--pool",
        "integration",
        "--credits",
        "5",
        "--expires",
        "2026-02-10T00:00:00Z",
        "--reason",
        "flash",
        now=now,
    )  # expires first
    cli("log", "GenerateVideo", "--seconds", "401", now=now)  # 2005: flash 5, then allowance 2000
    paid = cli.json("show", "1", now=now)["paid_by"]
    assert [(p["source"], p["credits"]) for p in paid] == [("promo", 5), ("allowance", 2000)]
    cli("log", "GenerateVideo", "--seconds", "8", now=now)  # 40: campaign 30, then the top-up 10
    paid = cli.json("show", "2", now=now)["paid_by"]
    assert [(p["source"], p["credits"]) for p in paid] == [("promo", 30), ("topup", 10)]
    b = cli.json("balance", now=now)["integration"]
    assert (b["allowance_left"], b["bonus"], b["available"]) == (0, 990, 990)


def test_grant_bad_input(cli):
    setup(cli)
    now = "2026-02-01T00:00:00Z"
    one_line_error(cli("grant", "--pool", "message", "--credits", "5", now=now), field="--reason")
    one_line_error(cli("grant", "--pool", "gold", "--credits", "5", "--reason", "x", now=now), field="--pool")
    one_line_error(cli("grant", "--pool", "message", "--credits", "0", "--reason", "x", now=now), field="--credits")
    one_line_error(
        cli(
            "grant",
            "--pool",
            "message",
            "--credits",
            "5",
            "--reason",
            "x",
            "--expires",
            "2026-01-01T00:00:00Z",
            now=now,
        ),
        field="--expires",
    )


def test_grants_list_shows_what_was_lost_at_expiry(cli):
    setup(cli, "starter")
    cli("log", "SendEmail", "--count", "100", now="2026-02-01T00:00:00Z")
    rows = cli.json("grants", now="2026-03-01T00:00:00Z")
    first = next(r for r in rows if r["grant"] == 1)
    assert (first["status"], first["used"], first["lost"], first["left"]) == ("expired", 100, 1900, 0)


# --- top-ups ---------------------------------------------------------------------------------


def test_topup_rules_and_a_topup_surviving_two_resets(cli):
    setup(cli, "free")
    line = one_line_error(cli("topup", "--pool", "message", "--packs", "1", now="2026-02-01T00:00:00Z"), code=3)
    assert "paid plans" in line
    cli("plan", "set", "starter", now="2026-02-01T00:00:00Z")
    one_line_error(cli("topup", "--pool", "message", "--packs", "9", now="2026-02-01T00:00:00Z"), field="--packs")
    r = cli.json("topup", "--pool", "message", "--packs", "2", now="2026-02-01T00:00:00Z")
    assert r["credits"] == 100 and r["expires_at"] == "2027-02-01T00:00:00Z"
    # two resets later (Feb 28, Mar 31) the top-up is still there, untouched while the allowance lasts
    cli("log", "message", "--credits", "30", now="2026-04-05T00:00:00Z")
    b = cli.json("balance", now="2026-04-05T00:00:00Z")["message"]
    assert (b["allowance_left"], b["bonus"]) == (70, 100)


# --- plan changes ----------------------------------------------------------------------------


def test_upgrade_takes_effect_at_once_and_keeps_this_cycles_use(cli):
    setup(cli, "starter")
    cli("log", "message", "--credits", "100", now="2026-02-10T00:00:00Z")
    r = cli.json("plan", "set", "builder", now="2026-02-11T00:00:00Z")
    assert r["change"] == "upgrade" and r["added"] == {"message": 150, "integration": 8000}
    b = cli.json("balance", now="2026-02-11T00:00:00Z")
    assert b["plan"] == "builder"
    assert (b["message"]["allowance"], b["message"]["used"], b["message"]["available"]) == (250, 100, 150)
    assert cli.json("log", "automation", now="2026-02-11T00:00:00Z")["credits"] == 1  # builder features at once
    # the next cycle is a plain builder allowance
    b = cli.json("balance", now="2026-03-01T00:00:00Z")["message"]
    assert (b["allowance"], b["used"], b["available"]) == (250, 0, 250)


def test_downgrade_is_scheduled_for_the_reset_and_shown(cli):
    setup(cli, "pro")
    r = cli.json("plan", "set", "starter", now="2026-02-10T00:00:00Z")
    assert (r["change"], r["effective_at"]) == ("downgrade", "2026-02-28T09:30:00Z")
    b = cli.json("balance", now="2026-02-10T00:00:00Z")
    assert b["plan"] == "pro" and b["scheduled"] == {
        "plan": "starter",
        "billing": "monthly",
        "at": "2026-02-28T09:30:00Z",
    }
    assert "scheduled: starter plan" in cli("balance", now="2026-02-10T00:00:00Z").stdout
    assert cli.json("balance", now="2026-02-28T09:29:59Z")["message"]["allowance"] == 500
    b = cli.json("balance", now="2026-02-28T09:30:00Z")  # across the reset
    assert (b["plan"], b["message"]["allowance"], b["scheduled"]) == ("starter", 100, None)


def test_an_upgrade_cancels_a_pending_downgrade(cli):
    setup(cli, "builder")
    cli("plan", "set", "starter", now="2026-02-10T00:00:00Z")
    cli("plan", "set", "pro", now="2026-02-11T00:00:00Z")
    b = cli.json("balance", now="2026-03-05T00:00:00Z")
    assert b["plan"] == "pro" and b["scheduled"] is None


def test_upgrading_from_free_lifts_the_daily_cap(cli):
    setup(cli, "free")
    cli("log", "message", "--credits", "5", now="2026-02-10T00:00:00Z")
    one_line_error(cli("log", "message", "--credits", "1", now="2026-02-10T01:00:00Z"), code=3)
    cli("plan", "set", "starter", now="2026-02-10T02:00:00Z")
    assert cli("log", "message", "--credits", "10", now="2026-02-10T03:00:00Z").exit_code == 0


# --- coupons -----------------------------------------------------------------------------------


def test_coupon_codes_match_ignoring_case_spaces_and_hyphens(cli):
    setup(cli)
    now = "2026-02-01T00:00:00Z"
    cli.json("coupon", "create", "Spring-Sale 2026", "--credits", "25", "--pool", "message", now=now)
    r = cli.json("coupon", "redeem", "springsale-2026", now=now)
    assert (r["credits"], r["pool"], r["available"]) == (25, "message", 125)
    line = one_line_error(cli("coupon", "redeem", "SPRING SALE 2026", now=now), code=3)
    assert "already redeemed" in line
    one_line_error(cli("coupon", "redeem", "NOPE-NOPE", now=now), field="CODE")
    codes = cli.json("coupon", "list", now=now)
    assert codes[0]["used"] == 1 and codes[0]["redeemed_here"] is True


def test_generated_codes_are_strong_and_distinct(cli):
    setup(cli)
    codes = {
        cli.json("coupon", "create", "--credits", "1", "--pool", "message", now="2026-02-01T00:00:00Z")["code"]
        for _ in range(5)
    }
    assert len(codes) == 5
    for code in codes:
        assert len(code) == 19 and code.count("-") == 3


def test_coupon_expiring_at_the_instant_of_use_is_refused(cli):
    setup(cli)
    cli(
        "coupon",
        "create",
        "LATE",
        "--credits",
        "5",
        "--pool",
        "integration",
        "--expires",
        "2026-02-05T00:00:00Z",
        now="2026-02-01T00:00:00Z",
    )
    line = one_line_error(cli("coupon", "redeem", "late", now="2026-02-05T00:00:00Z"), code=3)
    assert "expired" in line
    r = cli.json("coupon", "redeem", "late", now="2026-02-04T23:59:59.999999Z")
    assert r["expires_at"] == "2026-02-05T00:00:00Z"
    # its credits expire with it
    assert cli.json("balance", now="2026-02-05T00:00:00Z")["integration"]["bonus"] == 0


def test_used_up_coupon_is_refused(cli, tmp_path):
    setup(cli)
    cli("coupon", "create", "ONCE", "--credits", "5", "--pool", "message", "--uses", "1", now="2026-02-01T00:00:00Z")
    cli("coupon", "redeem", "ONCE", now="2026-02-01T00:00:00Z")
    r = cli("--workspace", "team", "init", "--plan", "starter", "--start", T0, now="2026-02-01T00:00:00Z")
    assert r.exit_code == 0
    line = one_line_error(cli("--workspace", "team", "coupon", "redeem", "once", now="2026-02-01T00:00:00Z"), code=3)
    assert "used up" in line


@pytest.mark.slow
def test_concurrent_redemptions_of_a_one_use_code_exactly_one_wins(new_db):
    db = new_db("c")
    env = {**os.environ, "CREDITS_DB": str(db), "CREDITS_NOW": "2026-02-01T00:00:00Z"}
    env.pop("CREDITS_WORKSPACE", None)

    def run(*args, **kw):
        return subprocess.run(
            [sys.executable, "-m", "credits_cli", *args], env={**env, **kw}, capture_output=True, text=True, timeout=120
        )

    for i in range(6):
        assert run("init", "--plan", "starter", "--start", T0, CREDITS_WORKSPACE=f"w{i}").returncode == 0
    assert (
        run(
            "coupon",
            "create",
            "LAST-ONE",
            "--credits",
            "10",
            "--pool",
            "message",
            "--uses",
            "1",
            CREDITS_WORKSPACE="w0",
        ).returncode
        == 0
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "credits_cli", "coupon", "redeem", "last one"],
            env={**env, "CREDITS_WORKSPACE": f"w{i}"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(6)
    ]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 3, 3, 3, 3, 3], results
    assert all("used up" in err for code, err in results if code == 3)
    from conftest import Cli

    assert Cli(db).sql("SELECT count(*) FROM grants WHERE source = 'coupon'") == [(1,)]


# --- share-to-earn ---------------------------------------------------------------------------------


def test_share_is_credited_only_on_approval_once_per_workspace(cli):
    setup(cli)
    now = "2026-02-01T00:00:00Z"
    s = cli.json(
        "share",
        "submit",
        "--platform",
        "linkedin",
        "--url",
        "https://www.linkedin.com/posts/ana-123",
        "--followers",
        "101",
        now=now,
    )
    assert s["status"] == "pending"
    assert cli.json("balance", now=now)["message"]["bonus"] == 0
    line = one_line_error(
        cli("share", "submit", "--platform", "x", "--url", "https://x.com/ana/status/9", "--followers", "500", now=now),
        code=3,
    )
    assert "waiting for approval" in line
    r = cli.json("share", "approve", now=now)
    assert (r["status"], r["credits"]) == ("approved", 20)
    assert cli.json("balance", now=now)["message"]["bonus"] == 20
    assert cli.json("balance", now="2027-06-01T00:00:00Z")["message"]["bonus"] == 20  # it never expires
    one_line_error(
        cli("share", "submit", "--platform", "x", "--url", "https://x.com/ana/status/9", "--followers", "500", now=now),
        code=3,
    )
    assert [s["status"] for s in cli.json("share", "status", now=now)] == ["approved"]


def test_a_rejected_share_earns_nothing_and_another_may_follow(cli):
    setup(cli)
    now = "2026-02-01T00:00:00Z"
    cli(
        "share", "submit", "--platform", "x", "--url", "https://twitter.com/ana/status/1", "--followers", "200", now=now
    )
    assert cli.json("share", "reject", "1", now=now)["status"] == "rejected"
    assert cli.json("balance", now=now)["message"]["bonus"] == 0
    assert (
        cli(
            "share", "submit", "--platform", "x", "--url", "https://x.com/ana/status/2", "--followers", "200", now=now
        ).exit_code
        == 0
    )


@pytest.mark.parametrize(
    "args,field",
    [
        (["--platform", "x", "--url", "https://x.com/a/status/1", "--followers", "100"], "--followers"),
        (["--platform", "linkedin", "--url", "https://x.com/a/status/1", "--followers", "500"], "--url"),
        (["--platform", "x", "--url", "https://evilx.com/a", "--followers", "500"], "--url"),
        (["--platform", "x", "--url", "https://x.com/", "--followers", "500"], "--url"),
        (["--platform", "myspace", "--url", "https://x.com/a", "--followers", "500"], "--platform"),
        (["--platform", "x", "--url", "ftp://x.com/a", "--followers", "500"], "--url"),
    ],
)
def test_share_submit_refuses_what_is_already_known(cli, args, field):
    setup(cli)
    before = cli.dump()
    one_line_error(cli("share", "submit", *args, now="2026-02-01T00:00:00Z"), field=field)
    assert cli.dump() == before


# --- voids ----------------------------------------------------------------------------------------


def test_void_restores_the_grants_and_reports_net_out(cli):
    setup(cli, "starter")
    cli("log", "GenerateVideo", "--seconds", "100", "--app", "promo", now="2026-02-01T00:00:00Z")
    r = cli.json("void", "1", "--reason", "logged twice", now="2026-02-02T00:00:00Z")
    assert (r["voids"], r["restored"], r["expired"]) == (1, 500, 0)
    b = cli.json("balance", now="2026-02-02T00:00:00Z")["integration"]
    assert (b["used"], b["available"]) == (0, 2000)
    assert cli.json("apps", now="2026-02-02T00:00:00Z")[0]["credits"] == 0
    one_line_error(cli("void", "1", now="2026-02-02T00:00:00Z"), code=3)
    one_line_error(cli("void", "2", now="2026-02-02T00:00:00Z"), field="ID")
    one_line_error(cli("void", "99", now="2026-02-02T00:00:00Z"), field="ID")


def test_void_after_the_grant_expired_restores_nothing(cli):
    setup(cli, "starter")
    cli("log", "SendEmail", "--count", "10", now="2026-02-01T00:00:00Z")
    r = cli.json("void", "1", now="2026-03-02T00:00:00Z")
    assert (r["restored"], r["expired"]) == (0, 10)
    assert cli.json("balance", now="2026-03-02T00:00:00Z")["integration"]["available"] == 2000


# --- the clock and resets ---------------------------------------------------------------------------


def test_reset_shows_what_expires_and_advance_moves_the_workspace_clock(cli):
    setup(cli, "starter")
    cli("clock", "set", "2026-02-20T00:00:00Z")
    cli("log", "SendEmail", "--count", "500")
    cli("grant", "--pool", "integration", "--credits", "7", "--reason", "forever")
    r = cli.json("reset")
    assert r["at"] == "2026-02-28T09:30:00Z" and r["advanced"] is False
    pool = r["pools"]["integration"]
    assert pool["lost"] == 1500 and pool["granted"] == 2000 and pool["available_after"] == 2007
    assert [(e["source"], e["left"]) for e in pool["expires"]] == [("allowance", 1500)]
    r = cli.json("reset", "--advance")
    assert r["advanced"] is True
    b = cli.json("balance")  # the simulated clock is at the exact reset instant: the new cycle has begun
    assert b["now"] == "2026-02-28T09:30:00Z" and b["cycle"]["start"] == "2026-02-28T09:30:00Z"
    assert b["integration"]["available"] == 2007
    # --now still overrides the simulated clock; advance and real move it
    assert cli.json("balance", now="2026-02-21T00:00:00Z")["now"] == "2026-02-21T00:00:00Z"
    assert cli.json("clock", "advance", "2d6h")["now"] == "2026-03-02T15:30:00Z"
    assert cli.json("clock", "real")["simulated"] is False
    one_line_error(cli("clock", "advance", "soon"), field="DURATION")
    one_line_error(cli("clock", "set", "2020-01-01T00:00:00Z"), field="INSTANT")


# --- running out --------------------------------------------------------------------------------------


def test_out_of_credits_lands_in_the_outbox_once_per_pool_per_cycle(cli):
    setup(cli, "free")
    cli("log", "GenerateVideo", "--seconds", "20", now="2026-02-01T00:00:00Z")  # exactly empties the pool
    one_line_error(cli("log", "SendEmail", now="2026-02-02T00:00:00Z"), code=3)
    one_line_error(cli("log", "SendEmail", now="2026-02-03T00:00:00Z"), code=3)
    notes = cli.json("notifications", now="2026-02-03T00:00:00Z")
    assert len(notes) == 1
    n = notes[0]
    assert (n["kind"], n["pool"], n["at"]) == ("out_of_credits", "integration", "2026-02-01T00:00:00Z")
    assert "used up its integration credits" in n["message"] and "2026-02-28 09:30 UTC" in n["message"]
    # next cycle: once more
    cli("log", "GenerateVideo", "--seconds", "20", now="2026-03-01T00:00:00Z")
    assert len(cli.json("notifications", now="2026-03-01T00:00:00Z")) == 2


# --- found in review ---------------------------------------------------------------------------------


def test_the_daily_cap_counts_only_use_under_the_free_plan(cli):
    setup(cli, "builder", start="2026-01-01T09:00:00Z")
    cli("plan", "set", "free", now="2026-01-20T00:00:00Z")  # from the Feb 1 09:00 reset
    assert cli("log", "message", "--credits", "10", now="2026-02-01T08:00:00Z").exit_code == 0  # still builder
    assert cli("log", "message", "--credits", "1", now="2026-02-01T10:00:00Z").exit_code == 0
    assert cli.json("balance", now="2026-02-01T10:00:00Z")["message"]["daily"]["used"] == 1


def test_a_plan_decision_at_the_same_instant_replaces_the_earlier_one(cli):
    setup(cli, "builder", start="2026-01-01T00:00:00Z")
    cli("clock", "set", "2026-01-10T00:00:00Z")
    cli("plan", "set", "starter")
    cli("plan", "set", "builder")
    b = cli.json("balance")
    assert b["scheduled"] is None and cli.json("reset")["plan_after"] == "builder"
    cli("plan", "set", "builder", "--billing", "yearly")
    assert cli.json("balance")["billing"] == "yearly"


def test_a_backdated_refusal_in_a_past_cycle_sends_no_notice(cli):
    setup(cli, "starter", start="2026-01-01T00:00:00Z")
    cli("log", "invokeLLM", "--credits", "2000", now="2026-01-20T00:00:00Z")
    one_line_error(
        cli("log", "invokeLLM", "--credits", "5", "--at", "2026-01-15T00:00:00Z", now="2026-02-05T00:00:00Z"), code=3
    )
    notes = cli.json("notifications", now="2026-02-05T00:00:00Z")
    assert [n["at"] for n in notes] == ["2026-01-20T00:00:00Z"]  # only January's, when it ran out


def test_init_refuses_a_workspace_with_plan_history(cli):
    setup(cli, "builder", start="2026-01-01T00:00:00Z")
    cli("plan", "set", "starter", now="2026-01-10T00:00:00Z")
    one_line_error(
        cli("init", "--plan", "pro", "--start", "2026-01-05T00:00:00Z", now="2026-01-10T00:00:00Z"), field="--workspace"
    )


@pytest.mark.sqlite_file
def test_export_refuses_to_overwrite_the_ledger(cli):
    setup(cli)
    before = cli.dump()
    one_line_error(cli("export", "-o", str(cli.db), now="2026-02-01T00:00:00Z"), field="--output")
    assert cli.dump() == before


def test_a_retried_key_after_import_is_already_recorded(cli, new_db, tmp_path):
    from conftest import Cli

    setup(cli, "starter", start="2026-01-01T00:00:00Z")
    cli("log", "agent", "--model", "gpt-5", "--key", "run-42", "--app", "a", now="2026-01-20T00:00:00Z")
    path = tmp_path / "k.csv"
    cli("export", "-o", str(path), now="2026-01-20T00:00:00Z")
    other = Cli(new_db("other"))
    setup(other, "starter", start="2026-01-01T00:00:00Z")
    assert other("import", str(path), now="2026-01-20T00:00:00Z").exit_code == 0
    r = other.json("log", "agent", "--model", "gpt-5", "--key", "run-42", "--app", "a", now="2026-01-20T00:01:00Z")
    assert r["replayed"] is True


def test_a_void_lets_later_events_pay_from_the_soonest_expiring_credits_again(cli):
    setup(cli, "starter", start="2026-01-01T00:00:00Z")
    cli(
        "coupon",
        "create",
        "LONG",
        "--credits",
        "10",
        "--pool",
        "message",
        "--expires",
        "2026-06-01T00:00:00Z",
        now="2026-01-02T00:00:00Z",
    )
    cli("coupon", "redeem", "LONG", now="2026-01-02T00:00:00Z")
    now = "2026-01-15T00:00:00Z"
    cli("log", "message", "--credits", "95", "--at", "2026-01-05T00:00:00Z", now=now)
    cli("log", "message", "--credits", "10", "--at", "2026-01-10T00:00:00Z", now=now)
    assert [(p["source"], p["credits"]) for p in cli.json("show", "2", now=now)["paid_by"]] == [
        ("allowance", 5),
        ("coupon", 5),
    ]
    cli("void", "1", now=now)
    assert [(p["source"], p["credits"]) for p in cli.json("show", "2", now=now)["paid_by"]] == [("allowance", 10)]
    b = cli.json("balance", now=now)["message"]
    assert (b["allowance_left"], b["bonus"], b["used"]) == (90, 10, 10)


def test_the_clock_cannot_be_advanced_past_the_year_9000(cli):
    setup(cli)
    one_line_error(cli("clock", "advance", "99999mo"), field="DURATION")
    one_line_error(cli("clock", "advance", "84000mo"), field="DURATION")


def test_a_cycles_allowance_before_and_after_it_is_first_drawn_on_is_the_same_grant(cli):
    setup(cli, "starter")
    assert cli("plan", "set", "free", now="2026-02-10T00:00:00Z").exit_code == 0  # from the Feb 28 reset
    now = "2026-03-01T00:00:00Z"

    def allowances():
        return {
            r["pool"]: r
            for r in cli.json("grants", now=now)
            if r["source"] == "allowance" and r["starts_at"] == "2026-02-28T09:30:00Z"
        }

    before = allowances()
    balance = cli.json("balance", now=now)
    for pool, row in before.items():  # not written yet: the plan in force at the cycle's start (free)
        assert row["grant"] is None and row["credits"] == balance[pool]["allowance"] == balance[pool]["allowance_left"]
        assert (row["expires_at"], row["status"]) == ("2026-03-31T09:30:00Z", "live")
    assert before["message"]["credits"] == 25
    assert cli("log", "message", "--credits", "1", now=now).exit_code == 0
    after = allowances()
    assert after["message"]["grant"] is not None and after["integration"]["grant"] is None
    assert (after["message"]["credits"], after["message"]["used"]) == (25, 1)
    assert after["message"]["expires_at"] == before["message"]["expires_at"]
