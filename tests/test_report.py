"""`credits report`: one self-contained HTML page whose every figure is the JSON of the command that prints it.

tests/test_report_browser.py shows the page in Chromium; these read the file itself, on both engines.
"""

import json
import re
import subprocess
import sys
import webbrowser
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import Cli, one_line_error
from report_figures import check_cycles, check_figures, figures_of

NOW = "2026-11-20T18:00:00Z"
START = "2026-09-14T09:00:00Z"
SAMPLE = Path(__file__).parent.parent / "sample_data" / "events.csv"


@pytest.fixture(scope="module")
def sample(module_db):
    """The README's demo ledger: the sample team's history on the builder plan (built once per engine)."""
    cli = Cli(module_db("sample"))
    assert cli("init", "--plan", "builder", "--start", START, now=START).exit_code == 0
    assert cli("import", str(SAMPLE), now=NOW).exit_code == 0
    return cli


def report(cli, *args, now=NOW) -> str:
    r = cli("report", "-o", "-", *args, now=now)
    assert r.exit_code == 0, (r.stdout, r.stderr)
    assert r.stderr == ""
    return r.stdout


def test_every_figure_is_the_json_of_its_command(sample):
    page = report(sample)
    figures = figures_of(page)
    checked = check_figures(sample, figures, NOW)
    # balance, and each pool's daily (in all and by app), apps, members, actions, forecast, grants, advise
    assert {"balance", "forecast", "grants", "advise"} <= checked
    for pool in ("message", "integration"):
        assert {
            f"apps --pool {pool}",
            f"members --pool {pool}",
            f"actions --pool {pool}",
            f"daily --pool {pool}",
        } <= checked
        assert f"daily --pool {pool} --app crm" in checked
    assert check_cycles(sample, figures, NOW) == 6  # three cycles so far, both pools
    keys = {(c, k) for c, k, _, _ in figures}
    for pool in ("message", "integration"):
        for key in ("allowance", "used", "bonus", "available", "next_reset"):
            assert ("balance", f"{pool}.{key}") in keys
        for key in ("burn_per_day", "p50.burn_per_day", "p90.burn_per_day", "runs_out_at", "next_reset"):
            assert ("forecast", f"{pool}.{key}") in keys
    assert ("advise", "gpt5_to_automatic.credits_saved") in keys and ("advise", "top_features.0.credits") in keys
    assert len(figures) > 300


def test_since_until_choose_the_period_views_and_the_figures_follow(sample):
    page = report(sample, "--since", "2026-10-01", "--until", "2026-10-31")
    figures = figures_of(page)
    check_figures(sample, figures, NOW)
    days = [k for c, k, _, _ in figures if c == "daily --pool integration --since 2026-10-01 --until 2026-10-31"]
    assert "30.credits" in days and "31.credits" not in days  # 31 days of October
    assert ("balance", "integration.available") in {(c, k) for c, k, _, _ in figures}  # the balance stays now's


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_the_page_is_self_contained_and_runs_nothing(sample):
    page = report(sample)
    parser = _Tags()
    parser.feed(page)
    tags = parser.tags
    names = {t for t, _ in tags}
    assert not names & {"script", "link", "img", "iframe", "object", "embed", "base", "form"}
    for _, attrs in tags:
        for name, value in attrs.items():
            assert not (name in ("src", "href", "xlink:href") and not (value or "").startswith("#")), (name, value)
            assert not name.startswith("on"), name  # no event handler either
    assert "url(" not in page and "@import" not in page and "@font-face" not in page
    csp = next(a["content"] for t, a in tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in csp and "script-src" not in csp
    viewport = next(a["content"] for t, a in tags if t == "meta" and a.get("name") == "viewport")
    assert "width=device-width" in viewport
    for rule in ("@media (prefers-color-scheme: dark)", "@media print", "@page { size: A4"):
        assert rule in page
    assert "pygal" not in page.lower().replace("pygal-chart", "")  # none of its scripts or comments


def test_each_chart_is_an_image_with_a_title_a_description_and_its_data(sample):
    page = report(sample)
    charts = re.findall(r'<svg [^>]*class="chart (wide|narrow)"[^>]*>', page)
    assert charts.count("wide") == charts.count("narrow") == 4  # each pool: its days by app, its forecast
    for svg in re.findall(r"<svg [^>]*>", page):
        assert 'role="img"' in svg
        labelled = re.search(r'aria-labelledby="([^"]+)"', svg).group(1).split()
        for ref in labelled:
            assert re.search(rf'<(title|desc) id="{ref}">[^<]{{10,}}</\1>', page), ref
    # the days' chart's data follows it as a table: each day in all and by app
    assert page.count("The chart's data: each day's credits, in all and by app") == 2


def test_a_report_is_the_same_bytes_for_the_same_clock(sample):
    assert report(sample) == report(sample)
    assert report(sample) != report(sample, now="2026-11-21T18:00:00Z")


def test_the_default_file_is_named_for_today_in_the_workspaces_zone(cli, tmp_path, monkeypatch):
    tmp_path = tmp_path / "here"  # the ledger's file is beside it
    tmp_path.mkdir()
    monkeypatch.chdir(tmp_path)
    assert cli("init", "--plan", "builder", "--timezone", "Pacific/Auckland", now="2026-11-01T00:00:00Z").exit_code == 0
    assert cli("log", "SendEmail", "--app", "crm", now="2026-11-20T18:00:00Z").exit_code == 0
    r = cli("report", now="2026-11-20T18:00:00Z")  # 07:00 on the 21st in Auckland
    assert r.exit_code == 0, r.stderr
    path = tmp_path / "credits-report-2026-11-21.html"
    assert r.stderr == f"credits: wrote the report to {path.name}\n"
    assert path.read_text().startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # nothing half-written left beside it
    r = cli("report", "--timezone", "UTC", "-o", "sub/../named.html", now="2026-11-20T18:00:00Z")
    assert r.exit_code == 2  # sub/ does not exist
    r = cli("report", "--timezone", "UTC", now="2026-11-20T18:00:00Z")
    assert r.exit_code == 0 and (tmp_path / "credits-report-2026-11-20.html").exists()


def test_timezone_counts_the_days_in_that_zone(cli):
    assert (
        cli("init", "--plan", "builder", "--start", "2026-11-01T00:00:00Z", now="2026-11-01T00:00:00Z").exit_code == 0
    )
    assert cli("log", "SendEmail", "--app", "crm", "--at", "2026-11-10T20:00:00Z", now=NOW).exit_code == 0
    assert cli("log", "UploadFile", "--app", "crm", "--at", "2026-11-10T10:00:00Z", now=NOW).exit_code == 0

    def day_of_use(*args):
        page = report(cli, "--since", "2026-11-09", "--until", "2026-11-12", *args)
        rows = re.findall(
            r"<th scope=row>(\d{4}-\d\d-\d\d)</th><td class=\"num\" data-cmd=\"daily --pool integration[^\"]*\""
            r' data-key="\d+.credits" data-value="([\d.]+)"',
            page,
        )
        return {d: v for d, v in rows if v != "0"}, page

    utc, page = day_of_use()
    assert utc == {"2026-11-10": "2"} and "times in UTC" in page
    tokyo, page = day_of_use("--timezone", "Asia/Tokyo")  # 20:00Z is 05:00 the next day there
    assert tokyo == {"2026-11-10": "1", "2026-11-11": "1"}
    assert "times in Asia/Tokyo" in page and "2026-12-01 09:00 JST" in page  # the reset, shown in Tokyo


def test_the_free_plans_day_is_shown(cli):
    assert cli("log", "message", "--credits", "2", now="2026-11-20T10:00:00Z").exit_code == 0
    page = report(cli, now="2026-11-20T12:00:00Z")
    figures = {(c, k): (v, t) for c, k, v, t in figures_of(page)}
    assert figures["balance", "message.daily.cap"][0] == "5"
    assert figures["balance", "message.daily.used"][0] == "2"
    assert figures["balance", "message.daily.left"][0] == "3"
    assert figures["balance", "message.daily.resets_at"] == ("2026-11-21T00:00:00Z", "2026-11-21 00:00 UTC")
    assert ("balance", "integration.daily.cap") not in figures  # the cap is on message credits only
    assert '<span class="key" style="--c:#8C8C8C"></span>(no app)</li>' in page  # its day's layer, in grey


def test_many_apps_stack_the_largest_and_the_rest(cli):
    assert cli("init", "--plan", "builder", now="2026-11-01T00:00:00Z").exit_code == 0
    lines = [json.dumps({"action": "SendEmail", "count": n + 1, "app": f"app{n}"}) for n in range(9)]
    lines.append(json.dumps({"action": "SendEmail"}))  # for no app
    assert cli("log", "--batch", now="2026-11-02T10:00:00Z", input="\n".join(lines) + "\n").exit_code == 0
    page = report(cli, now="2026-11-03T10:00:00Z")
    check_figures(cli, figures_of(page), "2026-11-03T10:00:00Z")
    assert "No message credits used in this span." in page  # and no chart for it
    days = page.split('id="pool-integration"')[1].split('<table class="days">')[1]
    layers = re.findall(r'<th scope="col" class=num>([^<]+)</th>', days.split("</thead>")[0])
    assert layers == ["Credits", "Events", "app8", "app7", "app6", "app5", "app4", "app3", "other apps"]
    legend = re.findall(r'<li><span class="key" style="--c:(#\w+)"></span>([^<]+)</li>', page)
    assert [name for _, name in legend] == layers[2:] and legend[-1][0] == "#8C8C8C"  # the rest in grey
    day = days.split("<tbody>")[1].split("</tr>")[1]  # 11-02
    cells = re.findall(r'<td class="num"[^>]*>([\d,.]+)</td>', day)
    assert cells[0] == "46" and cells[-1] == "7"  # in all; the rest: apps 0, 1, 2 (1 + 2 + 3) and one for no app
    assert sum(int(c) for c in cells[2:]) == 46


def test_names_are_shown_as_text_never_as_markup(cli):
    name = '<script>alert("x")</script> & co'
    assert cli("log", "SendEmail", "--app", name, "--member", name, now="2026-11-20T10:00:00Z").exit_code == 0
    page = report(cli, now="2026-11-20T12:00:00Z")
    assert "<script" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in page


def test_open_opens_the_file_in_the_browser(cli, tmp_path, monkeypatch):
    opened = []
    monkeypatch.setattr(webbrowser, "open", lambda url: opened.append(url) or True)
    out = tmp_path / "r.html"
    r = cli("report", "-o", out, "--open", now=NOW)
    assert r.exit_code == 0, r.stderr
    assert opened == [out.resolve().as_uri()]
    monkeypatch.setattr(webbrowser, "open", lambda url: False)  # no browser found
    r = cli("report", "-o", out, "--open", now=NOW)
    assert r.exit_code == 0
    assert r.stderr.splitlines()[-1] == f"credits: could not open a browser; open {out} in one"


def test_bad_input_is_one_line_and_changes_nothing(cli, tmp_path, monkeypatch):
    tmp_path = tmp_path / "here"
    tmp_path.mkdir()
    monkeypatch.chdir(tmp_path)
    opened = []
    monkeypatch.setattr(webbrowser, "open", opened.append)
    for args, field in (
        (["--timezone", "Mars/Olympus"], "--timezone"),
        (["--timezone", ""], "--timezone"),
        (["--since", "yesterday"], "--since"),
        (["--since", "2026-12-01"], "--since"),  # after now
        (["--until", "2026-01-01"], "--until"),  # before the cycle began
        (["-o", "-", "--open"], "--open"),
        (["-o", str(tmp_path)], "--output"),
        (["-o", " "], "--output"),
    ):
        r = cli("report", *args, now=NOW)
        one_line_error(r, code=2, field=field)
        assert r.stdout == ""
        assert cli.workspaces() == []  # not even the first-use workspace
    assert list(tmp_path.iterdir()) == [] and opened == []
    if not cli.on_server:
        one_line_error(cli("report", "-o", cli.db, now=NOW), code=2, field="the ledger itself")


def test_only_report_imports_the_charting_library(sample, tmp_path):
    env_db = ["--db", str(sample.db), "--now", NOW]
    probe = (
        f"import sys, runpy; sys.argv = ['credits', *{env_db!r}] + sys.argv[1:]; code = 0\n"
        "try: runpy.run_module('credits_cli', run_name='__main__')\n"
        "except SystemExit as e: code = e.code\n"
        "print('pygal' in sys.modules, code, file=sys.stderr)"
    )
    for args, loaded in (
        (["balance"], False),
        (["apps", "--json"], False),
        (["forecast"], False),
        (["log", "UploadFile", "-q", "--dry-run"], False),
        (["report", "-o", str(tmp_path / "r.html")], True),
    ):
        r = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, cwd=tmp_path)
        assert r.stderr.decode().split()[-2:] == [str(loaded), "0"], (args, r.stderr)
