"""`credits export --format journal`: a journal hledger reads, whose totals are ours.

The tests that run hledger are skipped where it is not installed, except in CI (the env var CI
set), whose .ci/run installs it (Debian's hledger package); the format's own rules are tested
everywhere.
"""

import csv
import io
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credits_cli.render import journal

HLEDGER = shutil.which("hledger")
needs_hledger = pytest.mark.skipif(HLEDGER is None and not os.environ.get("CI"), reason="hledger is not installed")
SAMPLE = Path(__file__).parent.parent / "sample_data"
NOW = "2026-11-20T18:00:00Z"
ZONE = "Asia/Kolkata"  # UTC+05:30: local days begin at 18:30 UTC, in the middle of a UTC hour
# App and member names hledger would misread if they were written as they are.
APPS = ["crm", "shop: eu", "a,b", "50% off", "two  spaces", " edge ", "(no app)", "naïve ✓", "(x"]


# --- the format's rules -----------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30))
def test_a_name_is_read_back_exactly_and_never_holds_what_hledger_would_split_on(text):
    written = journal.name(text)
    assert unquote(written) == text
    assert ":" not in written and "," not in written and "  " not in written
    assert written == written.strip() and all(c.isprintable() for c in written)
    assert not written.startswith("(")  # only the no-app account does: "(no app)" names no app


def test_names_amounts_and_descriptions():
    assert journal.name("crm") == "crm" and journal.name("a b") == "a b"
    assert journal.name("shop: eu") == "shop%3A eu" and journal.name("50% off") == "50%25 off"
    assert journal.name("two  spaces") == "two%20%20spaces" and journal.name(" edge ") == "%20edge%20"
    assert journal.name("(no app)") == "%28no app)" != journal.NO_APP
    assert journal.amount(1300) == "1.300 credits" and journal.amount(-1) == "-0.001 credits"
    assert journal.amount(999_999_999) == "999999.999 credits" and journal.amount(0) == "0.000 credits"
    assert journal.description("a; b\n") == "a%3B b%0A"
    assert journal.what("SendEmail", None, None, 3, None, None, 1) == "3 × SendEmail (custom domain)"


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)),
    st.sampled_from(
        [
            "Asia/Kolkata",
            "America/New_York",
            "Australia/Lord_Howe",
            "Asia/Kathmandu",
            "Europe/Paris",
            "UTC",
            "Pacific/Chatham",
            "Europe/Dublin",
        ]
    ),
)
def test_the_local_day_is_exact_in_any_zone(t, zone_name):
    zone = ZoneInfo(zone_name)
    days = journal._Days(zone)
    t = t.replace(tzinfo=UTC)
    for u in (t, t.replace(minute=59, second=59, microsecond=999999), t.replace(minute=0, second=0, microsecond=0)):
        at = u.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        assert days(at) == u.astimezone(zone).date().isoformat()
        assert days(at) == u.astimezone(zone).date().isoformat()  # memoized: the same answer


# --- hledger reads it, and its totals are ours ---------------------------------------------------------


def hledger(*args) -> str:
    r = subprocess.run([HLEDGER, *args], capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    return r.stdout


def totals(path, query, *more) -> dict:
    """{account or pivot value: Decimal} from `hledger balance QUERY -E -O csv`."""
    rows = list(csv.reader(io.StringIO(hledger("-f", str(path), "balance", query, "-E", "-O", "csv", *more))))
    assert rows[0] == ["account", "balance"] and rows[-1][0] == "total"
    out = {}
    for account, amount in rows[1:-1]:
        number, _, commodity = amount.partition(" ")
        assert commodity == "credits" or number == "0", amount
        out[account] = Decimal(number)
    return out


def by_app(path, pool) -> dict:
    """hledger's per-app totals of a pool, with the names decoded (the no-app account as None)."""
    prefix = f"spent:{pool}:"
    return {
        None if a == prefix + journal.NO_APP else unquote(a[len(prefix) :]): v
        for a, v in totals(path, f"^{prefix}").items()
    }


def ours(cli, report, pool, *filters) -> dict:
    return {r[report]: r["credits"] for r in cli.json(f"{report}s", "--pool", pool, *filters, now=NOW)}


@pytest.fixture
def ledger(cli):
    """Several apps with awkward names, both pools, members, a void, a back-dated event, a
    workspace half an hour off UTC, amounts from 0.001 to 999,999.999."""
    assert (
        cli(
            "init",
            "--plan",
            "builder",
            "--start",
            "2026-10-05T10:00:00Z",
            "--timezone",
            ZONE,
            now="2026-10-05T10:00:00Z",
        ).exit_code
        == 0
    )
    assert cli("grant", "--pool", "integration", "--credits", "1000000", "--reason", "big", now=NOW).exit_code == 0
    members = ["ana", "bob, jr", None]
    t = datetime(2026, 10, 6, 18, 29, 59, 999999, tzinfo=UTC)  # a second before local midnight
    for i, app in enumerate(APPS * 3):
        args = [
            "log",
            ["invokeLLM", "SendEmail", "GenerateVideo"][i % 3],
            "--app",
            app,
            "--at",
            (t + timedelta(days=i, microseconds=i % 2)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        ]
        if i % 3 == 2:
            args += ["--seconds", str(i)]
        if members[i % 3]:
            args += ["--member", members[i % 3]]
        assert cli(*args, now=NOW).exit_code == 0, args
    for args in (
        ["message", "--credits", "0.001", "--app", "crm"],
        ["message", "--scope", "discuss"],
        ["message", "--credits", "1.3", "--member", "ana", "--note", "a, b: c; d"],
        ["invokeLLM", "--credits", "999999.999", "--app", "crm", "--key", "k,1"],
        ["SendEmail", "--count", "3", "--custom-domain"],
    ):
        assert cli("log", *args, now=NOW).exit_code == 0, args
    # back-dated into the first cycle, then voided (its void: negative credits, `corrects` set)
    assert (
        cli(
            "log", "GenerateImage", "--count", "4", "--app", "shop: eu", "--at", "2026-10-06T00:00:00Z", now=NOW
        ).exit_code
        == 0
    )
    last = cli.json("events", "--limit", "1", now=NOW)[0]  # newest by instant: not the back-dated one
    back = next(e for e in cli.json("events", "--limit", "0", now=NOW) if e["action"] == "GenerateImage")
    assert last["id"] != back["id"]
    assert cli("void", str(back["id"]), now=NOW).exit_code == 0
    assert cli("void", "1", now=NOW).exit_code == 0  # an app's first event, so its total changes
    return cli


@needs_hledger
def test_hledger_totals_per_pool_app_and_member_equal_ours(ledger, tmp_path):
    assert HLEDGER, "CI must have hledger (.ci/run installs it)"
    path = tmp_path / "ledger.journal"
    r = ledger("export", "--format", "journal", "--output", str(path), now=NOW)
    assert r.exit_code == 0, r.stderr
    events = ledger.json("events", "--limit", "0", now=NOW)
    assert r.stderr == f"credits: wrote {len(events)} events to {path}\n"
    span = ("--since", "2026-10-01", "--until", "2026-11-30")
    for pool in ("integration", "message"):
        apps = ours(ledger, "app", pool, *span)
        assert by_app(path, pool) == apps
        assert set(apps) >= ({None, "crm"} if pool == "message" else set(APPS) | {None})
        members = ours(ledger, "member", pool, *span)
        pivot = totals(path, f"^spent:{pool}:", "--pivot", "member")
        assert {None if k == "" else unquote(k): v for k, v in pivot.items()} == members
        # per pool: hledger's subtotal, our apps' sum, and the paying side reversed
        spent = totals(path, "^spent", "--depth", "2")[f"spent:{pool}"]
        assert spent == sum(apps.values()) == -totals(path, f"^credits:{pool}$")[f"credits:{pool}"]
    # the void nets out: the voided app's events total what is left
    assert by_app(path, "integration")["shop: eu"] == ours(ledger, "app", "integration", *span)["shop: eu"]
    # one transaction per event: dated by its local day in the workspace's zone, its id as the code
    rows = list(csv.DictReader(io.StringIO(hledger("-f", str(path), "print", "-O", "csv"))))
    dates = {int(r["code"]): r["date"] for r in rows}
    zone = ZoneInfo(ZONE)
    assert dates == {e["id"]: datetime.fromisoformat(e["at"]).astimezone(zone).date().isoformat() for e in events}
    assert len(rows) == 2 * len(events)  # two postings each


@needs_hledger
def test_the_current_cycle_and_filters_apply_as_for_the_other_formats(ledger, tmp_path):
    assert HLEDGER, "CI must have hledger (.ci/run installs it)"
    cycle = ledger.json("balance", now=NOW)
    path = tmp_path / "cycle.journal"
    assert (
        ledger("export", "--format", "journal", "-o", str(path), "--since", cycle["cycle"]["start"], now=NOW).exit_code
        == 0
    )
    spent = totals(path, "^spent", "--depth", "2")
    for pool in ("integration", "message"):
        assert spent[f"spent:{pool}"] == sum(ours(ledger, "app", pool).values())  # the current cycle
        assert spent[f"spent:{pool}"] == cycle[pool]["used"]
    path = tmp_path / "crm.journal"
    assert (
        ledger(
            "export",
            "--format",
            "journal",
            "-o",
            str(path),
            "--app",
            "shop: eu",
            "--pool",
            "integration",
            "--until",
            "2026-10-20",
            now=NOW,
        ).exit_code
        == 0
    )
    assert by_app(path, "integration") == ours(
        ledger, "app", "integration", "--app", "shop: eu", "--since", "2026-10-01", "--until", "2026-10-20"
    )
    assert (
        "; credits export --format journal: workspace 'default', events pool 'integration', app 'shop: eu',"
        in path.read_text()
    )


@needs_hledger
def test_the_readme_sample_data_exports_to_a_journal_hledger_reads(cli, tmp_path):
    assert HLEDGER, "CI must have hledger (.ci/run installs it)"
    start = "2026-09-14T09:00:00Z"
    assert cli("init", "--plan", "builder", "--start", start, now=start).exit_code == 0
    assert cli.json("import", str(SAMPLE / "events.csv"), now=NOW)["added"] > 1000
    path = tmp_path / "sample.journal"
    assert cli("export", "--format", "journal", "-o", str(path), now=NOW).exit_code == 0
    hledger("-f", str(path), "check")
    for pool in ("integration", "message"):
        assert by_app(path, pool) == ours(cli, "app", pool, "--since", "2026-09-14")
    events = len(cli.json("events", "--limit", "0", now=NOW))
    assert len(hledger("-f", str(path), "print", "-O", "csv").splitlines()) == 1 + 2 * events


def test_a_journal_export_of_nothing_is_a_valid_journal(cli, tmp_path):
    assert cli("init", "--plan", "free", "--start", "2026-11-01T00:00:00Z", now=NOW).exit_code == 0
    r = cli("export", "--format", "journal", now=NOW)
    assert r.exit_code == 0 and "commodity 1000.000 credits" in r.stdout and "(1)" not in r.stdout
    if HLEDGER:
        path = tmp_path / "nothing.journal"
        path.write_text(r.stdout)
        assert totals(path, "^spent") == {}
