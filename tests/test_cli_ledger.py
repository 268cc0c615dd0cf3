"""The core ledger through the command line: init, log, balance."""

import os
import stat
from datetime import UTC
from decimal import Decimal as D

import pytest
from conftest import Cli, SqlError, one_line_error

T0 = "2026-01-31T09:30:00Z"


def init(cli, plan="free", start=T0, now="2026-02-01T00:00:00Z", *extra):
    r = cli("init", "--plan", plan, "--start", start, *extra, now=now)
    assert r.exit_code == 0, r.stderr
    return r


# --- first use -------------------------------------------------------------------


def test_first_balance_creates_default_free_workspace_and_says_so(cli):
    r = cli("balance", "--json", now="2026-03-10T12:00:00Z")
    assert r.exit_code == 0, r.stderr
    assert "created workspace 'default' on the free plan" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    import json

    b = json.loads(r.stdout, parse_float=D)
    assert b["plan"] == "free"
    assert b["cycle"] == {"start": "2026-03-10T12:00:00Z", "end": "2026-04-10T12:00:00Z"}
    assert b["message"]["allowance"] == 25 and b["message"]["available"] == 5  # the daily cap
    assert b["integration"] == {
        "allowance": 100,
        "used": 0,
        "allowance_used": 0,
        "bonus_used": 0,
        "allowance_left": 100,
        "bonus": 0,
        "available": 100,
        "next_reset": "2026-04-10T12:00:00Z",
        "expiring": [],
    }
    again = cli("balance", now="2026-03-10T12:00:00Z")
    assert again.exit_code == 0 and again.stderr == ""
    assert "available now" in again.stdout


@pytest.mark.sqlite_file
def test_database_is_private_to_its_owner(cli):
    cli("balance")
    assert stat.S_IMODE(os.stat(cli.db).st_mode) == 0o600


def test_unknown_named_workspace_is_refused(cli):
    r = cli("--workspace", "team", "balance")
    one_line_error(r, field="--workspace")
    assert "credits --workspace 'team' init" in r.stderr


# --- init and cycles --------------------------------------------------------------


@pytest.mark.parametrize(
    "now,start,end",
    [
        ("2026-02-01T00:00:00Z", "2026-01-31T09:30:00Z", "2026-02-28T09:30:00Z"),
        ("2026-02-28T09:29:59Z", "2026-01-31T09:30:00Z", "2026-02-28T09:30:00Z"),
        ("2026-02-28T09:30:00Z", "2026-02-28T09:30:00Z", "2026-03-31T09:30:00Z"),  # at the anchor: new cycle
        ("2026-04-15T00:00:00Z", "2026-03-31T09:30:00Z", "2026-04-30T09:30:00Z"),
        ("2028-02-29T10:00:00Z", "2028-02-29T09:30:00Z", "2028-03-31T09:30:00Z"),  # leap year
    ],
)
def test_cycles_follow_the_anchor_clamped_to_month_end(cli, now, start, end):
    init(cli, "starter")
    b = cli.json("balance", now=now)
    assert b["cycle"] == {"start": start, "end": end}
    assert b["integration"]["next_reset"] == end


def test_init_with_offset_and_zone(cli):
    r = cli(
        "init",
        "--plan",
        "PRO",
        "--start",
        "2026-01-15T10:00:00+01:00",
        "--timezone",
        "Europe/Paris",
        "--billing",
        "yearly",
        "--json",
        now="2026-02-20T00:00:00Z",
    )
    assert r.exit_code == 0, r.stderr
    b = cli.json("balance", now="2026-02-20T00:00:00Z")
    assert (b["plan"], b["billing"], b["timezone"]) == ("pro", "yearly", "Europe/Paris")
    assert b["cycle"]["start"] == "2026-02-15T09:00:00Z"
    assert b["message"]["allowance"] == 500 and b["integration"]["allowance"] == 20000
    assert "daily" not in b["message"]


def test_init_after_auto_created_default_replaces_it_until_the_ledger_is_used(cli):
    cli("balance", now="2026-03-01T00:00:00Z")
    init(cli, "builder", now="2026-03-01T00:00:00Z")
    assert cli.json("balance", now="2026-03-01T00:00:00Z")["plan"] == "builder"
    assert cli("log", "SendEmail", now="2026-03-01T00:00:00Z").exit_code == 0
    before = cli.dump()
    r = cli("init", "--plan", "pro", "--start", T0, now="2026-03-01T00:00:00Z")
    one_line_error(r, field="--workspace")
    assert cli.dump() == before
    # the same settings again are fine
    assert cli("init", "--plan", "builder", "--start", T0, now="2026-03-01T00:00:00Z").exit_code == 0


@pytest.mark.parametrize(
    "args,field",
    [
        (["--plan", "platinum"], "--plan"),
        (["--plan", "free", "--start", "yesterday"], "--start"),
        (["--plan", "free", "--start", "2026-13-01T00:00:00Z"], "--start"),
        (["--plan", "free", "--start", "2027-01-01T00:00:00Z"], "--start"),  # after now
        (["--plan", "free", "--timezone", "Mars/Olympus"], "--timezone"),
        (["--plan", "free", "--billing", "weekly"], "--billing"),
        (["--plan", "free", "--timezone", "America/New_York", "--start", "2026-03-08T02:30:00"], "--start"),
        (["--plan", "free", "--timezone", "America/New_York", "--start", "2026-11-01T01:30:00"], "--start"),
    ],
)
def test_init_bad_input(cli, args, field):
    r = cli("init", *args, now="2026-11-21T00:00:00Z")
    one_line_error(r, field=field)
    assert 'INSERT INTO "workspaces"' not in cli.dump()


# --- pricing through log ------------------------------------------------------------


@pytest.mark.parametrize(
    "args,pool,credits",
    [
        (["SendEmail"], "integration", "1"),
        (["sendemail", "--custom-domain"], "integration", "2"),
        (["UploadFile", "--count", "3"], "integration", "3"),
        (["ExtractDataFromUploadedFile"], "integration", "1"),
        (["GenerateImage", "--count", "4"], "integration", "4"),
        (["GenerateVideo", "--seconds", "7"], "integration", "35"),
        (["GenerateSpeech", "--chars", "120"], "integration", "3"),
        (["GenerateSpeech", "--chars", "5001"], "integration", "100"),
        (["invokeLLM"], "integration", "3"),
        (["INVOKELLM", "--model", "gemini-3-flash"], "integration", "5"),
        (["invokeLLM", "--model", "GPT-5", "--count", "2"], "integration", "30"),
        (["agent", "--model", "gpt-5"], "integration", "15"),
        (["automation", "--count", "10"], "integration", "10"),
        (["message", "--scope", "simple"], "message", "0.5"),
        (["message", "--scope", "app-wide"], "message", "3.5"),
        (["message", "--scope", "discuss"], "message", "0.3"),
        (["message", "--credits", "1.3"], "message", "1.3"),
        (["invokeLLM", "--credits", "2.5", "--count", "3"], "integration", "7.5"),
    ],
)
def test_log_prices_every_action_and_debits_its_pool(cli, args, pool, credits):
    init(cli, "builder")
    out = cli.json("log", *args, now="2026-02-01T00:00:00Z")
    assert out["pool"] == pool
    assert out["credits"] == D(credits)
    allowance = D(250) if pool == "message" else D(10000)
    assert out["available"] == allowance - D(credits)
    assert isinstance(out["id"], int)
    b = cli.json("balance", now="2026-02-01T00:00:00Z")
    assert b[pool]["used"] == D(credits)
    other = "integration" if pool == "message" else "message"
    assert b[other]["used"] == 0


def test_exact_decimals_never_drift(cli):
    init(cli, "pro")
    for _ in range(10):
        assert cli("log", "message", "--scope", "discuss", "-q", now="2026-02-01T00:00:00Z").exit_code == 0
    r = cli("balance", "--json", now="2026-02-01T00:00:00Z")
    assert '"used": 3,' in r.stdout  # 10 x 0.3, not 2.9999999999999996
    assert '"available": 497,' in r.stdout


def test_log_human_line_and_quiet(cli):
    init(cli, "starter")
    r = cli("log", "invokeLLM", "--model", "gpt-5", now="2026-02-01T00:00:00Z")
    assert r.exit_code == 0
    assert r.stdout.count("\n") == 1
    assert "Charged 15 integration credits for invokeLLM (gpt-5)" in r.stdout
    assert "1,985 integration credits available" in r.stdout
    q = cli("log", "SendEmail", "--quiet", now="2026-02-01T00:00:00Z")
    assert q.exit_code == 0 and q.stdout == "" and q.stderr == ""


def test_automation_and_custom_domain_need_builder(cli):
    init(cli, "starter")
    before = cli.dump()
    one_line_error(cli("log", "automation", now="2026-02-01T00:00:00Z"), field="ACTION")
    one_line_error(cli("log", "SendEmail", "--custom-domain", now="2026-02-01T00:00:00Z"), field="--custom-domain")
    assert cli.dump() == before


# --- refusals -------------------------------------------------------------------------


def test_running_out_refuses_with_exit_3_and_records_nothing(cli):
    init(cli, "free")
    now = "2026-02-01T00:00:00Z"
    assert cli("log", "GenerateVideo", "--seconds", "19", now=now).exit_code == 0  # 95 of 100
    before = cli.dump()
    r = cli("log", "invokeLLM", "--model", "gemini-3-flash", "--count", "2", now=now)
    line = one_line_error(r, code=3)
    assert "not enough integration credits" in line
    assert "10" in line and "(5 short)" in line
    assert "resets at 2026-02-28T09:30:00Z" in line
    assert cli.dump() == before
    assert cli("log", "invokeLLM", "--model", "gemini-3-flash", now=now).exit_code == 0  # exactly 5 left
    assert cli.json("balance", now=now)["integration"]["available"] == 0
    one_line_error(cli("log", "SendEmail", now=now), code=3)


def test_refusal_in_json_mode_also_writes_an_error_object(cli):
    init(cli, "free")
    now = "2026-02-01T00:00:00Z"
    cli("log", "GenerateVideo", "--seconds", "20", now=now)
    r = cli("log", "SendEmail", "--json", now=now)
    assert r.exit_code == 3
    import json

    assert json.loads(r.stdout)["error"]["code"] == "refused"


def test_no_rollover_unused_allowance_expires_at_reset(cli):
    init(cli, "starter")
    cli("log", "GenerateVideo", "--seconds", "10", now="2026-02-27T00:00:00Z")
    b = cli.json("balance", now="2026-02-28T09:29:59.999999Z")
    assert b["integration"]["available"] == 1950
    b = cli.json("balance", now="2026-02-28T09:30:00Z")  # the exact reset instant
    assert b["integration"] == {
        "allowance": 2000,
        "used": 0,
        "allowance_used": 0,
        "bonus_used": 0,
        "allowance_left": 2000,
        "bonus": 0,
        "available": 2000,
        "next_reset": "2026-03-31T09:30:00Z",
        "expiring": [],
    }


# --- the free plan's caps ---------------------------------------------------------------


def test_free_daily_cap_is_five_message_credits_a_utc_day(cli):
    init(cli, "free")
    day = "2026-02-02T"
    for t in ("01:00", "02:00", "03:00", "04:00"):
        assert cli("log", "message", "--scope", "feature", now=f"{day}{t}:00Z").exit_code == 0
    r = cli("log", "message", "--scope", "module", now=f"{day}05:00:00Z")
    line = one_line_error(r, code=3)
    assert "daily cap" in line and "(1 short)" in line and "2026-02-03T00:00:00Z" in line
    b = cli.json("balance", now=f"{day}05:00:00Z")
    assert b["message"]["available"] == 1
    assert b["message"]["daily"] == {"cap": 5, "used": 4, "left": 1, "resets_at": "2026-02-03T00:00:00Z"}
    assert cli("log", "message", "--credits", "1", now=f"{day}23:59:59.999999Z").exit_code == 0
    one_line_error(cli("log", "message", "--credits", "0.1", now=f"{day}23:59:59.999999Z"), code=3)
    assert cli("log", "message", "--scope", "module", now="2026-02-03T00:00:00Z").exit_code == 0


def test_free_daily_cap_follows_local_midnight_across_dst(cli):
    # New York springs forward on 2026-03-08: that local day is 23 hours long.
    r = cli(
        "init",
        "--plan",
        "free",
        "--start",
        "2026-03-01T00:00:00Z",
        "--timezone",
        "America/New_York",
        now="2026-03-01T00:00:00Z",
    )
    assert r.exit_code == 0
    # 2026-03-08 00:30 EST = 05:30Z; the next local midnight is 2026-03-09 00:00 EDT = 04:00Z.
    assert cli("log", "message", "--credits", "5", now="2026-03-08T05:30:00Z").exit_code == 0
    b = cli.json("balance", now="2026-03-09T03:59:59Z")
    assert b["message"]["daily"]["resets_at"] == "2026-03-09T04:00:00Z"
    assert b["message"]["available"] == 0
    one_line_error(cli("log", "message", "--credits", "0.5", now="2026-03-09T03:59:59Z"), code=3)
    assert cli("log", "message", "--credits", "0.5", now="2026-03-09T04:00:00Z").exit_code == 0
    # a naive --now is read in the workspace's zone
    b = cli.json("balance", now="2026-03-09T00:00:00")
    assert b["now"] == "2026-03-09T04:00:00Z"


def test_free_monthly_cap_of_25_whatever_the_days(cli):
    init(cli, "free", start="2026-02-01T00:00:00Z", now="2026-02-01T00:00:00Z")
    for d in range(1, 6):
        assert cli("log", "message", "--credits", "5", now=f"2026-02-0{d}T12:00:00Z").exit_code == 0
    line = one_line_error(cli("log", "message", "--credits", "0.5", now="2026-02-06T12:00:00Z"), code=3)
    assert "not enough message credits" in line and "2026-03-01T00:00:00Z" in line
    assert cli("log", "message", "--credits", "5", now="2026-03-01T00:00:00Z").exit_code == 0


# --- idempotency --------------------------------------------------------------------------


def test_same_key_same_payload_is_recorded_once(cli):
    init(cli, "starter")
    first = cli.json(
        "log", "invokeLLM", "--model", "gpt-5", "--key", "job-1", "--app", "crm", now="2026-02-01T00:00:00Z"
    )
    again = cli.json(
        "log", "invokeLLM", "--model", "gpt-5", "--key", "job-1", "--app", "crm", now="2026-02-01T00:01:00Z"
    )  # a retry a minute later
    assert again["id"] == first["id"] and again["replayed"] is True
    assert cli.json("balance", now="2026-02-01T00:02:00Z")["integration"]["used"] == 15
    r = cli("log", "invokeLLM", "--model", "gpt-5", "--key", "job-1", "--app", "crm", now="2026-02-01T00:01:00Z")
    assert r.exit_code == 0 and "Already recorded as event" in r.stdout


def test_same_key_other_payload_is_an_error_that_changes_nothing(cli):
    init(cli, "starter")
    cli("log", "invokeLLM", "--key", "job-1", now="2026-02-01T00:00:00Z")
    before = cli.dump()
    line = one_line_error(cli("log", "invokeLLM", "--model", "gpt-5", "--key", "job-1", now="2026-02-01T00:00:00Z"))
    assert "--key" in line
    one_line_error(
        cli("log", "invokeLLM", "--key", "job-1", "--at", "2026-02-01T00:00:00Z", now="2026-02-01T00:00:00Z")
    )
    assert cli.dump() == before


def test_replay_succeeds_even_when_the_pool_is_now_empty(cli):
    init(cli, "free")
    now = "2026-02-01T00:00:00Z"
    cli("log", "GenerateVideo", "--seconds", "20", "--key", "v1", now=now)
    assert cli("log", "GenerateVideo", "--seconds", "20", "--key", "v1", now=now).exit_code == 0


# --- dry run --------------------------------------------------------------------------------


def test_dry_run_quotes_and_records_nothing(cli):
    init(cli, "free")
    now = "2026-02-01T00:00:00Z"
    before = cli.dump()
    out = cli.json("log", "GenerateVideo", "--seconds", "4", "--dry-run", now=now)
    assert out["dry_run"] is True and out["id"] is None
    assert out["credits"] == 20 and out["available"] == 80
    assert cli.dump() == before
    r = cli("log", "GenerateVideo", "--seconds", "30", "--dry-run", now=now)
    one_line_error(r, code=3)
    human = cli("log", "SendEmail", "--dry-run", now=now)
    assert human.stdout.startswith("Would charge 1 integration credit for SendEmail")
    assert cli.dump() == before


# --- back-dated events ----------------------------------------------------------------------


def test_backdated_event_lands_in_its_own_cycle(cli):
    init(cli, "starter")
    cli("log", "GenerateVideo", "--seconds", "10", now="2026-03-05T00:00:00Z")  # cycle Feb 28 - Mar 31
    r = cli("log", "GenerateVideo", "--seconds", "20", "--at", "2026-02-10T00:00:00Z", now="2026-03-05T00:00:00Z")
    assert r.exit_code == 0, r.stderr
    assert cli.json("balance", now="2026-03-05T00:00:00Z")["integration"]["used"] == 50
    assert cli.json("balance", now="2026-02-20T00:00:00Z")["integration"]["used"] == 100


def test_backdated_event_that_would_leave_a_later_one_unpaid_is_refused(cli):
    init(cli, "free")
    cli("log", "GenerateVideo", "--seconds", "18", now="2026-02-10T00:00:00Z")  # 90 of 100
    before = cli.dump()
    r = cli("log", "GenerateVideo", "--seconds", "3", "--at", "2026-02-05T00:00:00Z", now="2026-02-11T00:00:00Z")
    line = one_line_error(r, code=3)
    assert "not enough integration credits" in line and "leave event 1" in line
    assert "resets at 2026-02-28T09:30:00Z" in line
    assert cli.dump() == before
    assert (
        cli(
            "log", "GenerateVideo", "--seconds", "2", "--at", "2026-02-05T00:00:00Z", now="2026-02-11T00:00:00Z"
        ).exit_code
        == 0
    )
    assert cli.json("balance", now="2026-02-11T00:00:00Z")["integration"]["available"] == 0


def test_backdated_message_checks_the_daily_cap_of_its_own_day(cli):
    init(cli, "free")
    cli("log", "message", "--credits", "4", "--at", "2026-02-03T10:00:00Z", now="2026-02-05T00:00:00Z")
    one_line_error(
        cli("log", "message", "--credits", "2", "--at", "2026-02-03T11:00:00Z", now="2026-02-05T00:00:00Z"), code=3
    )
    assert (
        cli("log", "message", "--credits", "2", "--at", "2026-02-04T11:00:00Z", now="2026-02-05T00:00:00Z").exit_code
        == 0
    )


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args,field",
    [
        (["Teleport"], "ACTION"),
        (["invokeLLM", "--model", "gpt-9"], "--model"),
        (["SendEmail", "--model", "gpt-5"], "--model"),
        (["UploadFile", "--seconds", "3"], "--seconds"),
        (["GenerateVideo"], "--seconds"),
        (["GenerateSpeech"], "--chars"),
        (["message"], "--credits"),
        (["message", "--scope", "huge"], "--scope"),
        (["message", "--scope", "simple", "--credits", "1"], "--scope"),
        (["SendEmail", "--count", "0"], "--count"),
        (["SendEmail", "--count", "-1"], "--count"),
        (["SendEmail", "--count", "1.5"], "--count"),
        (["SendEmail", "--count", "1000001"], "--count"),
        (["SendEmail", "--count", "9223372036854775808"], "--count"),
        (["SendEmail", "--count", ""], "--count"),
        (["GenerateVideo", "--seconds", "nan"], "--seconds"),
        (["GenerateSpeech", "--chars", "inf"], "--chars"),
        (["message", "--credits", "nan"], "--credits"),
        (["message", "--credits", "inf"], "--credits"),
        (["message", "--credits", "-1"], "--credits"),
        (["message", "--credits", "1e400"], "--credits"),
        (["message", "--credits", "1000000.001"], "--credits"),
        (["message", "--credits", "abc"], "--credits"),
        (["message", "--credits", "0.0001"], "--credits"),
        (["SendEmail", "--at", "last tuesday"], "--at"),
        (["SendEmail", "--at", "2026-02-30T00:00:00Z"], "--at"),
        (["SendEmail", "--at", "2030-01-01T00:00:00Z"], "--at"),  # the future
        (["SendEmail", "--at", "2025-01-01T00:00:00Z"], "--at"),  # before the workspace began
        (["SendEmail", "--app", ""], "--app"),
        (["SendEmail", "--app", "x" * 10_000], "--app"),
        (["SendEmail", "--member", "bob\x1b[31m"], "--member"),
        (["SendEmail", "--note", "evil\u202etxt"], "--note"),
        (["SendEmail", "--json", "--quiet"], "--quiet"),
        (["SendEmail", "--bogus"], "--bogus"),
    ],
)
def test_log_bad_input_exits_2_names_the_field_and_changes_nothing(cli, args, field):
    init(cli, "starter")
    before = cli.dump()
    r = cli("log", *args, now="2026-02-01T00:00:00Z")
    one_line_error(r, field=field)
    assert cli.dump() == before


@pytest.mark.parametrize("now", ["tomorrow", "nan", "2026-02-01T25:00:00Z", " "])
def test_bad_now_is_refused(cli, now):
    init(cli, "starter")
    before = cli.dump()
    one_line_error(cli("balance", now=now), field="--now")
    one_line_error(cli("log", "SendEmail", now=now), field="--now")
    assert cli.dump() == before


def test_global_options_may_follow_the_command(cli, new_db):
    other = Cli(new_db("other"))
    r = cli("balance", "--db", str(other.db), "--now", "2026-02-01T00:00:00Z", "--json")
    assert r.exit_code == 0, r.stderr
    assert (other.workspaces(), cli.workspaces()) == (["default"], [])  # the ledger --db named, only
    assert '"now": "2026-02-01T00:00:00Z"' in r.stdout


# --- found in review ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["log", "message"],  # bad input
        ["log", "invokeLLM", "--model", "gpt-6"],
        ["log", "SendEmail", "--at", "2030-01-01T00:00:00Z"],
        ["log", "GenerateVideo", "--seconds", "21"],  # refused
        ["log", "GenerateVideo", "--seconds", "21", "--dry-run", "--json"],
        ["log", "SendEmail", "--dry-run"],  # a dry run writes nothing either
    ],
)
def test_a_failed_or_dry_first_log_creates_no_workspace(cli, args):
    r = cli(*args, now="2026-01-10T00:00:00Z")
    assert "created workspace" not in r.stderr
    assert 'INSERT INTO "workspaces"' not in cli.dump()


def test_a_successful_first_log_creates_default_and_says_so(cli):
    r = cli("log", "SendEmail", now="2026-01-10T00:00:00Z")
    assert r.exit_code == 0 and "created workspace 'default'" in r.stderr
    assert cli.json("balance", now="2026-01-10T00:00:00Z")["integration"]["used"] == 1


@pytest.mark.parametrize(
    "args,env,field",
    [
        (["log", "SendEmail", "--at", ""], {}, "--at"),
        (["--now", "", "balance"], {"CREDITS_NOW": None}, "--now"),
        (["--db", "", "balance"], {}, "--db"),
        (["balance"], {"CREDITS_DB": ""}, "CREDITS_DB"),
        (["balance"], {"CREDITS_NOW": ""}, "CREDITS_NOW"),
        (["--catalog", "", "plans"], {}, "--catalog"),
        (["init", "--plan", "free", "--start", ""], {}, "--start"),
        (["init", "--plan", "free", "--timezone", ""], {}, "--timezone"),
        (["init", "--plan", "free", "--billing", ""], {}, "--billing"),
        (["init", "--plan", "free", "--timezone", "localtime"], {}, "--timezone"),
        (["init", "--plan", "free", "--timezone", "Factory"], {}, "--timezone"),
    ],
)
def test_an_explicit_empty_value_is_bad_input_not_the_default(cli, args, env, field):
    r = cli(*args, now="2026-02-01T00:00:00Z", env=env)
    one_line_error(r, field=field)
    assert 'INSERT INTO "events"' not in cli.dump()


def test_zone_names_match_ignoring_case(cli):
    r = cli("init", "--plan", "free", "--timezone", "europe/paris", now="2026-02-01T00:00:00Z")
    assert r.exit_code == 0
    assert cli.json("balance", now="2026-02-01T00:00:00Z")["timezone"] == "Europe/Paris"


def test_free_plan_refusal_names_the_tighter_limit(cli):
    init(cli, "free", start="2026-03-01T00:00:00Z", now="2026-03-01T00:00:00Z")
    for d in range(1, 5):
        assert cli("log", "message", "--credits", "5", now=f"2026-03-0{d}T10:00:00Z").exit_code == 0
    assert cli("log", "message", "--credits", "4.5", now="2026-03-05T10:00:00Z").exit_code == 0
    # 0.5 left in the month, 5 in today's cap: the month is the limit
    line = one_line_error(cli("log", "message", "--credits", "2", now="2026-03-06T10:00:00Z"), code=3)
    assert "not enough message credits" in line and "(1.5 short)" in line and "2026-04-01T00:00:00Z" in line
    assert cli.json("balance", now="2026-03-06T10:00:00Z")["message"]["available"] == D("0.5")


def test_a_command_options_value_is_not_taken_for_a_global_option(cli):
    init(cli, "elite")
    before = cli.dump()
    r = cli("log", "SendEmail", "--note", "--now", "2026-01-15T00:00:00Z", "--dry-run", now="2026-02-01T00:00:00Z")
    one_line_error(r)  # the instant is an extra argument: refused, nothing recorded
    assert cli.dump() == before
    out = cli.json("log", "SendEmail", "--note", "--db", now="2026-02-01T00:00:00Z")
    assert out["id"] == 1
    assert cli.json("show", "1", now="2026-02-01T00:00:00Z")["note"] == "--db"


def test_balance_reports_the_allowance_granted_for_this_cycle(cli, tmp_path):
    from importlib import resources

    init(cli, "free")
    cli("log", "SendEmail", now="2026-02-01T00:00:00Z")
    big = tmp_path / "big.toml"
    big.write_text(
        resources.files("credits_cli")
        .joinpath("data/catalog.toml")
        .read_text()
        .replace("integration = 100\n", "integration = 300\n")
    )
    b = cli.json("balance", "--catalog", str(big), now="2026-02-01T00:00:00Z")["integration"]
    assert (b["allowance"], b["used"], b["available"]) == (100, 1, 99)  # the new catalog applies next cycle
    b = cli.json("balance", "--catalog", str(big), now="2026-03-01T00:00:00Z")["integration"]
    assert b["allowance"] == 300


def test_now_before_the_workspace_began_is_bad_input(cli):
    init(cli, "starter", start="2026-02-15T12:00:00Z", now="2026-02-16T00:00:00Z")
    one_line_error(cli("balance", now="2026-02-01T00:00:00Z"), field="--now")
    one_line_error(cli("log", "SendEmail", now="2026-02-01T00:00:00Z"), field="--now")


def test_refusal_json_carries_the_shortfall_and_the_reset(cli):
    init(cli, "free")
    cli("log", "GenerateVideo", "--seconds", "20", now="2026-02-01T00:00:00Z")
    import json

    r = cli("log", "SendEmail", "--count", "2", "--json", now="2026-02-01T00:00:00Z")
    err = json.loads(r.stdout, parse_float=D)["error"]
    assert (err["code"], err["pool"], err["short"], err["resets_at"]) == (
        "refused",
        "integration",
        2,
        "2026-02-28T09:30:00Z",
    )


def test_the_ledger_refuses_edits_made_behind_its_back(cli):
    init(cli, "free")
    cli("log", "SendEmail", now="2026-02-01T00:00:00Z")
    before = cli.dump(outbox=True)
    for sql in ("UPDATE events SET credits_milli = 0", "DELETE FROM events", "DELETE FROM grants"):
        with pytest.raises(SqlError, match="append-only"):
            cli.sql(sql)
    assert cli.dump(outbox=True) == before


# --- the daily cap, called as a use case ---------------------------------------------------


def test_the_daily_cap_use_case_counts_the_local_day_and_refuses_one_milli_credit_over(cli):
    from datetime import datetime

    from credits_cli import services
    from credits_cli.domain.pricing import Usage
    from credits_cli.errors import Refused

    init(cli)
    assert cli("log", "message", "--credits", "4", now="2026-02-02T00:00:00Z").exit_code == 0
    last = "2026-02-02T23:59:59.999999Z"

    def cap_at(now, pool="message"):
        s = services.Session(db=str(cli.db), now=now)
        try:
            ws = s.workspace()
            t = s.now_in(ws)
            return services.daily_cap(s.store, ws, services.Plans(s, s.store, ws), UTC, pool, t)
        finally:
            s.close()

    def log(now, milli):
        s = services.Session(db=str(cli.db), now=now)
        try:
            return services.log(s, services.LogRequest(Usage("message", credits=milli)))
        finally:
            s.close()

    cap = cap_at(last)
    assert (cap.cap, cap.used, cap.left) == (5000, 4000, 1000)
    assert cap.day.end == datetime(2026, 2, 3, tzinfo=UTC)
    assert cap_at(last, "integration") is None  # only the message pool has a daily cap
    assert log(last, 1000).balance.daily.left == 0  # exactly what is left: recorded
    with pytest.raises(Refused) as refused:
        log(last, 1)
    assert (refused.value.limit, refused.value.short) == ("daily_cap", 1)
    assert (cap_at("2026-02-03T00:00:00Z").used, cap_at("2026-02-03T00:00:00Z").left) == (0, 5000)  # a new day
    assert log("2026-02-03T00:00:00Z", 1).balance.daily.used == 1
