"""Reports by period (weekly, monthly, cycles) and the zone every report counts and shows time in (--timezone).

One ledger (a builder workspace in Europe/Berlin, anchored on the 31st) holds events placed at the edges
of weeks and months in three zones, around their daylight-saving changes; each is a SendEmail of a
distinct power of two, so a period's credits tell exactly which events it holds.
"""

import csv
import io
import json
from decimal import Decimal

import pytest
from conftest import Cli, one_line_error

NOW = "2026-11-20T12:00:00Z"  # a Friday; the current cycle began on 2026-10-31 10:00 UTC

# at (UTC), emails (= credits), and where it is in each zone
EVENTS = [
    # Sunday 29 March 23:30 CEST in Berlin (its first day of summer time); Sunday 21:30 UTC; 17:30 in New York
    ("2026-03-29T21:30:00Z", 1),
    # Monday 30 March 00:30 CEST in Berlin; still Sunday in UTC and in New York
    ("2026-03-29T22:30:00Z", 2),
    # Sunday 8 March 23:30 EDT in New York (its first day of summer time); Monday in UTC and in Berlin
    ("2026-03-09T03:30:00Z", 4),
    # Saturday 31 October 23:30 EDT in New York, hours before its clocks go back; 1 November in UTC and Berlin
    ("2026-11-01T03:30:00Z", 8),
    # Saturday 31 October 23:30 CET in Berlin (a week after its clocks went back); 1 November in Tokyo
    ("2026-10-31T22:30:00Z", 16),
    # Sunday 15 November 13:00 in Berlin: in the current cycle
    ("2026-11-15T12:00:00Z", 32),
]


@pytest.fixture(scope="module")
def ledger(module_db):
    cli = Cli(module_db("periods"))
    r = cli(
        "init",
        "--plan",
        "builder",
        "--start",
        "2026-01-31T10:00:00Z",
        "--timezone",
        "Europe/Berlin",
        now="2026-01-31T10:00:00Z",
    )
    assert r.exit_code == 0, r.stderr
    for at, n in EVENTS:
        r = cli("log", "SendEmail", "--count", n, "--app", "crm", "--member", "ana", "--at", at, "-q", now=NOW)
        assert r.exit_code == 0, r.stderr
    r = cli("log", "message", "--credits", "2.5", "--app", "crm", "--at", "2026-11-16T09:00:00Z", "-q", now=NOW)
    assert r.exit_code == 0, r.stderr
    return cli


def rows(cli, *args, now=NOW, env=None):
    r = cli(*args, "--json", now=now, env=env)
    assert r.exit_code == 0, (r.stdout, r.stderr)
    return json.loads(r.stdout, parse_float=Decimal)


def by(rows_, key):
    return {r[key]: r["credits"] for r in rows_}


# --- the shapes -------------------------------------------------------------------------------------


def test_weekly_rows_are_iso_weeks_from_monday_with_empty_weeks_as_zero(ledger):
    weeks = rows(ledger, "weekly", "--since", "2026-03-01", "--until", "2026-04-05")
    assert weeks == [
        {"week": "2026-W09", "start": "2026-02-23", "credits": 0, "events": 0},
        {"week": "2026-W10", "start": "2026-03-02", "credits": 0, "events": 0},
        {"week": "2026-W11", "start": "2026-03-09", "credits": 4, "events": 1},
        {"week": "2026-W12", "start": "2026-03-16", "credits": 0, "events": 0},
        {"week": "2026-W13", "start": "2026-03-23", "credits": 1, "events": 1},
        {"week": "2026-W14", "start": "2026-03-30", "credits": 2, "events": 1},
    ]
    assert all(list(w) == ["week", "start", "credits", "events"] for w in weeks)


def test_monthly_rows_are_calendar_months(ledger):
    months = rows(ledger, "monthly", "--since", "2026-09-01")
    assert months == [
        {"month": "2026-09", "credits": 0, "events": 0},
        {"month": "2026-10", "credits": 16, "events": 1},  # 23:30 on 31 October in Berlin
        {"month": "2026-11", "credits": 40, "events": 2},
    ]


def test_cycles_show_each_cycle_with_its_plan_and_allowance_the_current_one_last_and_marked(ledger):
    cycles = rows(ledger, "cycles")
    # anchored on 31 January: the 28th of February, then the 31st or the month's last day, never drifting
    assert [c["start"] for c in cycles] == [
        "2026-01-31T10:00:00Z",
        "2026-02-28T10:00:00Z",
        "2026-03-31T10:00:00Z",
        "2026-04-30T10:00:00Z",
        "2026-05-31T10:00:00Z",
        "2026-06-30T10:00:00Z",
        "2026-07-31T10:00:00Z",
        "2026-08-31T10:00:00Z",
        "2026-09-30T10:00:00Z",
        "2026-10-31T10:00:00Z",
    ]
    assert [c["end"] for c in cycles] == [c["start"] for c in cycles[1:]] + ["2026-11-30T10:00:00Z"]
    assert all(list(c) == ["start", "end", "plan", "allowance", "credits", "events", "current"] for c in cycles)
    assert {(c["plan"], c["allowance"]) for c in cycles} == {("builder", 10000)}
    assert [c["current"] for c in cycles] == [False] * 9 + [True]
    assert [c["credits"] for c in cycles] == [0, 7, 0, 0, 0, 0, 0, 0, 0, 56]
    assert cycles[-1]["events"] == 3
    message = rows(ledger, "cycles", "--pool", "message")
    assert (message[-1]["allowance"], message[-1]["credits"]) == (250, Decimal("2.5"))  # exact, as daily prints


def test_the_text_marks_the_current_cycle_and_fits_80_columns(ledger):
    r = ledger("cycles", now=NOW, env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("integration credits a cycle · 2026-01-31 → 2026-11-20 CET · 63 in all")
    assert lines[-1].startswith("2026-10-31 → 2026-11-30  builder") and lines[-1].rstrip().endswith("← current")
    assert "56 of 10,000" in lines[-1] and "#" in lines[-1]
    assert sum("current" in line for line in lines) == 1
    for cmd in ("weekly", "monthly", "cycles"):
        out = ledger(cmd, now=NOW, env={"COLUMNS": "80"}).stdout
        assert "\x1b[" not in out and all(len(line) <= 80 for line in out.splitlines()), out
    # too narrow for a cycle's row: a block a cycle, no field cut
    narrow = ledger("cycles", "--since", "2026-10-01", now=NOW, env={"COLUMNS": "50"}).stdout.splitlines()
    assert narrow[-2:] == ["2026-10-31 → 2026-11-30 · builder · ← current", "  ########## 56 of 10,000"]
    assert "…" not in "".join(narrow) and all(len(line) <= 50 for line in narrow)


def test_weekly_and_monthly_text_draw_a_bar_a_period(ledger):
    out = ledger("weekly", "--since", "2026-03-01", "--until", "2026-04-05", now=NOW).stdout.splitlines()
    assert out[0] == "integration credits a week · 2026-03-01 → 2026-04-06 CEST · 7 in all"
    assert [line.split()[:2] for line in out[1:]][2] == ["2026-W11", "2026-03-09"]
    assert out[3].split()[-1] == "4" and "#" in out[3] and out[2].split()[-1] == "0" and "#" not in out[2]
    month = ledger("monthly", "--since", "2026-10-01", now=NOW).stdout.splitlines()
    assert [line.split()[0] for line in month[1:]] == ["2026-10", "2026-11"]


def test_csv_prints_the_same_columns(ledger):
    def table(*args):
        r = ledger(*args, "--csv", now=NOW)
        assert r.exit_code == 0, r.stderr
        return list(csv.reader(io.StringIO(r.stdout)))

    assert table("weekly", "--since", "2026-03-09", "--until", "2026-03-15") == [
        ["week", "start", "credits", "events"],
        ["2026-W11", "2026-03-09", "4", "1"],
    ]
    assert table("monthly", "--since", "2026-11-01", "--pool", "message") == [
        ["month", "credits", "events"],
        ["2026-11", "2.5", "1"],
    ]
    cycles = table("cycles", "--since", "2026-10-01")
    assert cycles == [
        ["start", "end", "plan", "allowance", "credits", "events", "current"],
        ["2026-09-30T10:00:00Z", "2026-10-31T10:00:00Z", "builder", "10000", "0", "0", "false"],
        ["2026-10-31T10:00:00Z", "2026-11-30T10:00:00Z", "builder", "10000", "56", "3", "true"],
    ]


# --- the default ranges --------------------------------------------------------------------------------


def test_weekly_and_monthly_default_to_the_last_12_periods_up_to_now(ledger):
    weeks = rows(ledger, "weekly")
    assert len(weeks) == 12
    assert (weeks[0]["week"], weeks[0]["start"]) == ("2026-W36", "2026-08-31")
    assert (weeks[-1]["week"], weeks[-1]["start"]) == ("2026-W47", "2026-11-16")  # the current week, so far
    assert by(weeks, "week")["2026-W46"] == 32
    assert by(weeks, "week")["2026-W44"] == 24  # Saturday 23:30 and Sunday 04:30 in Berlin
    assert sum(w["credits"] for w in weeks) == 56
    months = rows(ledger, "monthly", now="2027-03-02T00:00:00Z")
    assert [m["month"] for m in months] == [f"2026-{m:02d}" for m in range(4, 13)] + ["2027-01", "2027-02", "2027-03"]
    assert by(rows(ledger, "weekly", "--until", "2026-03-31"), "week")["2026-W14"] == 2  # 12 weeks up to --until


def test_a_young_workspace_shows_the_periods_since_it_began(cli):
    assert (
        cli("init", "--plan", "builder", "--start", "2026-11-04T08:00:00Z", now="2026-11-04T08:00:00Z").exit_code == 0
    )
    assert [w["start"] for w in rows(cli, "weekly")] == ["2026-11-02", "2026-11-09", "2026-11-16"]
    assert [m["month"] for m in rows(cli, "monthly")] == ["2026-11"]
    cycles = rows(cli, "cycles")
    assert [(c["start"], c["current"]) for c in cycles] == [("2026-11-04T08:00:00Z", True)]
    assert cli("weekly", now=NOW).stdout.startswith("No integration credits used between 2026-11-02 → ")


def test_a_sunday_week_holds_the_sunday_and_is_named_by_the_iso_week_of_its_monday(ledger):
    args = ("weekly", "--week-start", "sunday", "--since", "2026-03-01", "--until", "2026-04-05")
    weeks = rows(ledger, *args)
    assert [(w["week"], w["start"]) for w in weeks] == [
        ("2026-W10", "2026-03-01"),
        ("2026-W11", "2026-03-08"),
        ("2026-W12", "2026-03-15"),
        ("2026-W13", "2026-03-22"),
        ("2026-W14", "2026-03-29"),
        ("2026-W15", "2026-04-05"),
    ]
    # Sunday 23:30 and Monday 00:30 in Berlin share a week from Sunday, which a week from Monday splits
    assert by(weeks, "week") == {
        "2026-W10": 0,
        "2026-W11": 4,
        "2026-W12": 0,
        "2026-W13": 0,
        "2026-W14": 3,
        "2026-W15": 0,
    }
    ny = rows(ledger, *args, "--timezone", "America/New_York")
    assert by(ny, "start")["2026-03-08"] == 4  # Sunday 23:30 EDT opens its week
    year_end = rows(ledger, "weekly", "--week-start", "SUNDAY", "--since", "2026-12-27", "--until", "2027-01-03")
    assert [(w["week"], w["start"]) for w in year_end] == [("2026-W53", "2026-12-27"), ("2027-W01", "2027-01-03")]


def test_a_cycle_report_reflects_a_plan_change_in_its_cycle(cli):
    cli("init", "--plan", "starter", "--start", "2026-01-31T10:00:00Z", now="2026-01-31T10:00:00Z")
    assert cli("log", "SendEmail", "--count", "3", now="2026-02-10T00:00:00Z").exit_code == 0
    assert cli("plan", "set", "builder", now="2026-03-05T00:00:00Z").exit_code == 0  # an upgrade: at once
    assert cli("plan", "set", "pro", now="2026-03-06T00:00:00Z").exit_code == 0
    assert cli("plan", "set", "builder", now="2026-04-10T00:00:00Z").exit_code == 0  # a downgrade: at the reset
    cycles = rows(cli, "cycles", now="2026-05-02T00:00:00Z")
    assert [(c["start"][:10], c["plan"], c["allowance"], c["current"]) for c in cycles] == [
        ("2026-01-31", "starter", 2000, False),
        ("2026-02-28", "pro", 20000, False),  # upgraded in the cycle: its plan's credits, in all
        ("2026-03-31", "pro", 20000, False),
        ("2026-04-30", "builder", 10000, True),
    ]
    assert cycles[0]["credits"] == 3


# --- zones: weeks and months across daylight-saving changes -------------------------------------------


@pytest.mark.parametrize(
    "zone,weeks",
    [
        (None, {"2026-W10": 0, "2026-W11": 4, "2026-W13": 1, "2026-W14": 2}),  # the workspace's: Berlin
        ("America/New_York", {"2026-W10": 4, "2026-W11": 0, "2026-W13": 3, "2026-W14": 0}),
        ("UTC", {"2026-W10": 0, "2026-W11": 4, "2026-W13": 3, "2026-W14": 0}),
    ],
)
def test_an_event_near_midnight_lands_in_the_week_of_the_reports_zone(ledger, zone, weeks):
    args = ["weekly", "--since", "2026-03-02", "--until", "2026-04-05"] + (["--timezone", zone] if zone else [])
    got = by(rows(ledger, *args), "week")
    assert {w: got[w] for w in weeks} == weeks
    assert sum(got.values()) == 7


@pytest.mark.parametrize(
    "zone,months",
    [
        (None, {"2026-10": 16, "2026-11": 40}),  # Berlin: 23:30 on 31 October is October
        ("America/New_York", {"2026-10": 24, "2026-11": 32}),  # both Saturday-night events are October's
        ("Asia/Tokyo", {"2026-10": 0, "2026-11": 56}),
        ("utc", {"2026-10": 16, "2026-11": 40}),
    ],
)
def test_an_event_near_midnight_lands_in_the_month_of_the_reports_zone(ledger, zone, months):
    args = ["monthly", "--since", "2026-10-01", "--until", "2026-11-30"] + (["--timezone", zone] if zone else [])
    assert by(rows(ledger, *args), "month") == months


def test_the_environment_gives_the_zone_and_the_option_overrides_it(ledger):
    env = {"CREDITS_TIMEZONE": "America/New_York"}
    args = ("monthly", "--since", "2026-10-01", "--until", "2026-11-30")
    assert by(rows(ledger, *args, env=env), "month") == {"2026-10": 24, "2026-11": 32}
    assert by(rows(ledger, *args, "--timezone", "Asia/Tokyo", env=env), "month") == {"2026-10": 0, "2026-11": 56}
    assert by(rows(ledger, *args, env={"CREDITS_TIMEZONE": ""}), "month") == {"2026-10": 16, "2026-11": 40}


def test_daily_and_the_range_dates_follow_the_zone(ledger):
    days = rows(ledger, "daily", "--since", "2026-10-31", "--until", "2026-11-01", "--timezone", "America/New_York")
    assert days == [
        {"date": "2026-10-31", "credits": 24, "events": 2},
        {"date": "2026-11-01", "credits": 0, "events": 0},
    ]
    berlin = rows(ledger, "daily", "--since", "2026-10-31", "--until", "2026-11-01")
    assert [d["credits"] for d in berlin] == [16, 8]
    # --since DATE is that day's midnight in the report's zone
    apps = rows(ledger, "apps", "--since", "2026-11-01", "--until", "2026-11-01", "--timezone", "America/New_York")
    assert apps == []
    apps = rows(ledger, "apps", "--since", "2026-11-01", "--until", "2026-11-01")
    assert [(a["app"], a["credits"]) for a in apps] == [("crm", 8)]


def test_the_zone_changes_the_times_shown_not_the_instants(ledger, tmp_path):
    ny = {"CREDITS_TIMEZONE": "America/New_York"}
    table = ledger("events", "--since", "2026-10-31", "--until", "2026-11-01", now=NOW, env=ny).stdout
    assert "at (America/New_York)" in table and "2026-10-31 23:30" in table and "2026-10-31 18:30" in table
    table = ledger("events", "--since", "2026-10-31", "--until", "2026-11-01", now=NOW).stdout
    assert "at (Europe/Berlin)" in table and "2026-11-01 04:30" in table
    shown = ledger("show", "4", "--timezone", "America/New_York", now=NOW).stdout
    assert "happened  2026-10-31 23:30 EDT" in shown
    assert "happened  2026-11-01 04:30 CET" in ledger("show", "4", now=NOW).stdout
    # the JSON and the CSV export keep the stored instant, in UTC
    assert rows(ledger, "show", "4", "--timezone", "Asia/Tokyo")["at"] == "2026-11-01T03:30:00Z"
    listed = rows(ledger, "events", "--timezone", "Asia/Tokyo", "--action", "SendEmail")
    assert sorted(e["at"] for e in listed) == sorted(at for at, _ in EVENTS)
    export = ledger("export", "--timezone", "Asia/Tokyo", now=NOW).stdout
    assert export == ledger("export", now=NOW).stdout
    assert ledger.sql("SELECT at FROM events WHERE id = 4") == [("2026-11-01T03:30:00.000000Z",)]
    # the journal dates each event by its day in the zone
    journal = ledger("export", "--format", "journal", "--timezone", "America/New_York", "--app", "crm", now=NOW)
    assert "2026-10-31 (4)" in journal.stdout
    assert "2026-11-01 (4)" in ledger("export", "--format", "journal", now=NOW).stdout


def test_the_zone_of_a_report_leaves_the_daily_cap_and_the_workspace_alone(cli):
    env = {"CREDITS_TIMEZONE": "Asia/Tokyo"}  # UTC+9: 14:00 and 16:00 UTC are two days there, one in UTC
    assert cli("init", "--plan", "free", "--start", "2026-11-01T00:00:00Z", now=NOW, env=env).exit_code == 0
    assert rows(cli, "balance", env=env)["timezone"] == "UTC"
    assert cli("log", "message", "--credits", "5", "--at", "2026-11-10T14:00:00Z", now=NOW, env=env).exit_code == 0
    before = cli.dump()
    refused = cli("log", "message", "--credits", "1", "--at", "2026-11-10T16:00:00Z", now=NOW, env=env)
    assert refused.exit_code == 3, refused.stderr  # the free plan's day is the workspace's (UTC)
    assert cli.dump() == before
    days = rows(cli, "daily", "--pool", "message", "--since", "2026-11-10", "--until", "2026-11-11", env=env)
    assert [(d["date"], d["credits"]) for d in days] == [("2026-11-10", 5), ("2026-11-11", 0)]
    local = cli("log", "message", "--credits", "1", "--at", "2026-11-12T23:00:00", now=NOW, env=env)
    assert local.exit_code == 0, local.stderr  # a local --at is read in the workspace's zone (UTC)
    assert rows(cli, "events", "--pool", "message")[0]["at"] == "2026-11-12T23:00:00Z"


# --- bad input ----------------------------------------------------------------------------------------

COMMANDS = [
    ["apps"],
    ["members"],
    ["actions"],
    ["daily"],
    ["weekly"],
    ["monthly"],
    ["cycles"],
    ["events"],
    ["show", "1"],
    ["export"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_bad_zone_is_bad_input_and_changes_nothing(ledger, command):
    before = ledger.dump(outbox=True)
    for zone in ("Mars/Olympus_Mons", "", "../../etc/passwd", "+01:00"):
        one_line_error(ledger(*command, "--timezone", zone, now=NOW), field="--timezone")
    line = one_line_error(ledger(*command, now=NOW, env={"CREDITS_TIMEZONE": "Nowhere/Special"}), field="--timezone")
    assert "Nowhere/Special" in line
    if command[0] != "export":
        r = ledger(*command, "--timezone", "Mars/Olympus_Mons", "--json", now=NOW)
        assert r.exit_code == 2 and json.loads(r.stdout)["error"]["field"] == "--timezone"
    assert ledger.dump(outbox=True) == before


def test_a_bad_zone_does_not_create_the_default_workspace(cli):
    one_line_error(cli("weekly", "--timezone", "Atlantis/Capital", now=NOW), field="--timezone")
    assert cli.workspaces() == []


@pytest.mark.parametrize(
    "args,field",
    [
        (["weekly", "--week-start", "tuesday"], "--week-start"),
        (["weekly", "--since", "2010-01-01", "--until", "2026-11-01"], "--since"),
        (["monthly", "--since", "2026-12-01"], "--since"),
        (["monthly", "--since", "2026-11-09", "--until", "2026-11-01"], "--until"),
        (["cycles", "--until", "2026-01-15"], "--until"),
        (["cycles", "--pool", "gold"], "--pool"),
    ],
)
def test_period_reports_bad_input(ledger, args, field):
    one_line_error(ledger(*args, now=NOW), field=field)
