"""Reports: apps, members, actions, daily, events, show."""

import json
from decimal import Decimal as D

import pytest
from conftest import one_line_error

NOW = "2026-11-10T00:00:00Z"


@pytest.fixture
def ledger(cli):
    """A builder workspace (cycle from Nov 5 10:00) with a known history."""
    assert (
        cli(
            "init",
            "--plan",
            "builder",
            "--start",
            "2026-10-05T10:00:00Z",
            "--timezone",
            "Europe/Paris",
            now="2026-10-06T00:00:00Z",
        ).exit_code
        == 0
    )

    def log(*args, at):
        r = cli("log", *args, "--at", at, "-q", now=NOW)
        assert r.exit_code == 0, r.stderr

    log("invokeLLM", "--model", "gpt-5", "--app", "crm", "--member", "ana", at="2026-10-20T10:00:00Z")  # last cycle
    log("invokeLLM", "--model", "gpt-5", "--app", "crm", "--member", "ana", at="2026-11-06T10:00:00Z")
    log("invokeLLM", "--app", "crm", "--member", "bob", at="2026-11-06T12:00:00Z")
    log("SendEmail", "--count", "7", "--app", '=HYPERLINK("x")', "--member", "bob", at="2026-11-08T22:30:00Z")
    log("GenerateVideo", "--seconds", "2", "--member", "cy", at="2026-11-09T08:00:00Z")
    log("message", "--scope", "discuss", "--member", "ana", "--app", "crm", at="2026-11-09T09:00:00Z")
    return cli


def test_apps_ranks_the_current_cycle_by_credits(ledger):
    rows = ledger.json("apps", now=NOW)
    assert [(r["app"], r["credits"]) for r in rows] == [("crm", 18), (None, 10), ('=HYPERLINK("x")', 7)]
    assert [r["share"] for r in rows] == [D("51.4"), D("28.6"), D("20.0")]
    assert [r["events"] for r in rows] == [2, 1, 1]


def test_apps_for_another_pool_and_range(ledger):
    assert ledger.json("apps", "--pool", "message", now=NOW) == [
        {"app": "crm", "credits": D("0.3"), "share": D("100.0"), "events": 1}
    ]
    rows = ledger.json("apps", "--since", "2026-10-01", "--until", "2026-10-31", now=NOW)
    assert [(r["app"], r["credits"]) for r in rows] == [("crm", 15)]


def test_members_and_actions(ledger):
    members = ledger.json("members", now=NOW)
    assert [(m["member"], m["credits"]) for m in members] == [("ana", 15), ("bob", 10), ("cy", 10)]  # ties by name
    actions = ledger.json("actions", now=NOW)
    assert [(a["action"], a["model"], a["credits"]) for a in actions] == [
        ("invokeLLM", "gpt-5", 15),
        ("GenerateVideo", None, 10),
        ("SendEmail", None, 7),
        ("invokeLLM", "automatic", 3),
    ]
    only = ledger.json("actions", "--app", "crm", now=NOW)
    assert {a["model"] for a in only} == {"gpt-5", "automatic"}


def test_daily_counts_days_in_the_workspace_zone_with_zero_days(ledger):
    days = ledger.json("daily", now=NOW)
    # the cycle began 2026-11-05 11:00 Paris; now is 2026-11-10 01:00 Paris
    assert [d["date"] for d in days] == [
        "2026-11-05",
        "2026-11-06",
        "2026-11-07",
        "2026-11-08",
        "2026-11-09",
        "2026-11-10",
    ]
    # SendEmail at 2026-11-08 22:30Z is 23:30 in Paris: still the 8th
    assert [d["credits"] for d in days] == [0, 18, 0, 7, 10, 0]


def test_daily_csv_and_range(ledger):
    r = ledger("daily", "--csv", "--since", "2026-11-06", "--until", "2026-11-07", now=NOW)
    assert r.exit_code == 0
    assert r.stdout.splitlines() == ["date,credits,events", "2026-11-06,18,2", "2026-11-07,0,0"]


def test_events_newest_first_with_filters(ledger):
    rows = ledger.json("events", now=NOW)
    assert [r["id"] for r in rows] == [6, 5, 4, 3, 2, 1]
    assert set(rows[0]) >= {
        "id",
        "at",
        "pool",
        "action",
        "model",
        "quantity",
        "credits",
        "app",
        "member",
        "key",
        "note",
    }
    assert [r["id"] for r in ledger.json("events", "--member", "bob", now=NOW)] == [4, 3]
    assert [r["id"] for r in ledger.json("events", "--action", "INVOKELLM", "--limit", "2", now=NOW)] == [3, 2]
    assert [r["id"] for r in ledger.json("events", "--pool", "message", now=NOW)] == [6]
    assert [r["id"] for r in ledger.json("events", "--until", "2026-10-31", now=NOW)] == [1]


def test_show_tells_which_grants_paid(ledger):
    e = ledger.json("show", "2", now=NOW)
    assert e["credits"] == 15 and e["action"] == "invokeLLM"
    assert e["paid_by"] == [
        {
            "grant": e["paid_by"][0]["grant"],
            "source": "allowance",
            "credits": 15,
            "starts_at": "2026-11-05T10:00:00Z",
            "expires_at": "2026-12-05T10:00:00Z",
            "reason": "builder plan allowance",
        }
    ]
    r = ledger("show", "2", now=NOW)
    assert "builder plan allowance" in r.stdout and "Credits used" in r.stdout


@pytest.mark.parametrize(
    "args,field",
    [
        (["show", "99"], "ID"),
        (["show", "abc"], "ID"),
        (["apps", "--pool", "gold"], "--pool"),
        (["apps", "--since", "2026-02-30"], "--since"),
        (["daily", "--since", "2026-11-09", "--until", "2026-11-01"], "--until"),
        (["events", "--limit", "-1"], "--limit"),
        (["members", "--json", "--csv"], "--csv"),
        (["events", "--app", ""], "--app"),
    ],
)
def test_report_bad_input(ledger, args, field):
    one_line_error(ledger(*args, now=NOW), field=field)


def test_empty_range_says_so(ledger):
    for cmd in ("apps", "members", "actions", "daily", "weekly", "monthly"):
        r = ledger(cmd, "--since", "2026-01-01", "--until", "2026-01-02", now=NOW)
        assert r.exit_code == 0 and "No integration credits used" in r.stdout
    assert ledger.json("apps", "--since", "2026-01-01", "--until", "2026-01-02", now=NOW) == []


def test_tables_are_plain_when_not_a_terminal_and_fit_80_columns(ledger):
    for cmd in ("apps", "members", "actions", "daily", "weekly", "monthly", "cycles", "events", "balance"):
        r = ledger(cmd, now=NOW, env={"COLUMNS": "80"})
        assert r.exit_code == 0, r.stderr
        assert "\x1b[" not in r.stdout
        assert all(len(line) <= 80 for line in r.stdout.splitlines()), (cmd, r.stdout)
    assert "#" in ledger("apps", now=NOW).stdout


def test_csv_cells_that_look_like_formulas_are_quoted(ledger):
    r = ledger("apps", "--csv", now=NOW)
    assert '\'=HYPERLINK(""x"")' in r.stdout  # csv-escaped quotes, then the leading single quote
    assert json.loads(ledger("apps", "--json", now=NOW).stdout)[2]["app"] == '=HYPERLINK("x")'


def test_a_lone_range_bound_names_itself(ledger):
    line = one_line_error(ledger("daily", "--until", "2026-11-01", now=NOW), field="--until")
    assert "before the current cycle" in line
    one_line_error(ledger("daily", "--since", "2026-12-01", now=NOW), field="--since")
