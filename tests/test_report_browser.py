"""`credits report` in a real browser: headless Chromium (Debian's `chromium`; .ci/run installs it) shows the
README's demo report on a desktop and on a phone, in light and dark mode, and prints it; the page makes no
request beyond itself, logs no error, and shows the figures of `balance --json` and `apps --json`.

Screenshots land in the test's tmp dir (pytest prints where with -rA; keep them with --basetemp). Skipped
where Chromium is missing, except in CI (the CI variable set), where that fails.
"""

import os
import re
import shlex
import webbrowser
from decimal import Decimal
from pathlib import Path

import pytest
from chromium import CHROMIUM, Browser
from conftest import Cli
from report_figures import check_cycles, check_figures

pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="Chromium is not installed (apt-get install chromium)"
)

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()
NOW = "2026-11-20T18:00:00Z"
READ_FIGURES = """[...document.querySelectorAll('[data-cmd]')].map(e => [e.dataset.cmd, e.dataset.key, e.dataset.value,
  e.textContent])"""


@pytest.fixture(scope="module")
def demo(module_db, tmp_path_factory):
    """What a newcomer does: the README's install line's `credits` steps, then
    `credits --db demo.db --now 2026-11-20T18:00:00Z report --open` (the browser opener recorded, not run)."""
    assert CHROMIUM, "CI must have Chromium (.ci/run installs it)"
    here = tmp_path_factory.mktemp("demo")
    cli = Cli(module_db("demo"))
    install = next(line for line in README.splitlines() if line.startswith("python3 -m venv .venv && . "))
    steps = [shlex.split(s.strip())[1:] for s in install.split("&&") if s.strip().startswith("credits ")]
    assert [s[-1] for s in steps][:2] == ["2026-09-14T09:00:00Z", "sample_data/events.csv"]
    opened = []
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(here)
        (here / "sample_data").symlink_to(ROOT / "sample_data")
        mp.setattr(webbrowser, "open", lambda url: opened.append(url) or True)
        for step in steps:
            assert cli(*[w for w in step if w not in ("--db", "demo.db")]).exit_code == 0, step
        newcomer = re.search(r"`credits (--db demo\.db --now \S+ report --open)`", README)
        assert newcomer, "the README shows a newcomer how to open the report"
        r = cli(*[w for w in shlex.split(newcomer.group(1)) if w not in ("--db", "demo.db")])
        assert r.exit_code == 0, r.stderr
    path = here / f"credits-report-{NOW[:10]}.html"
    assert opened == [path.resolve().as_uri()]
    return cli, path, {}  # the commands' JSON, kept for the next test


@pytest.fixture(scope="module")
def browser():
    with Browser() as b:
        yield b


@pytest.mark.parametrize(
    "name, width, mobile, dark",
    [
        ("desktop-light", 1280, False, False),
        ("desktop-dark", 1280, False, True),
        ("phone-light", 390, True, False),
        ("phone-dark", 390, True, True),
    ],
)
def test_the_demo_report_in_chromium(demo, browser, tmp_path, name, width, mobile, dark):
    cli, path, answers = demo
    page = browser.page(path.as_uri(), width=width, height=844 if mobile else 900, mobile=mobile, dark=dark)
    shot = page.screenshot(tmp_path / f"report-{name}.png")
    assert shot.stat().st_size > 20_000
    assert page.requests == [path.as_uri()]  # the page itself, nothing else: no font, script, style or image
    assert page.errors == []
    # the scheme asked for: a dark page with light text, or the reverse
    background, text = page.evaluate(
        "[getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color]"
    )
    dark_one, light_one = (background, text) if dark else (text, background)
    assert _luminance(dark_one) < 0.2 and _luminance(light_one) > 0.8, (background, text)
    # no horizontal scroll; on a phone the charts drawn for its width
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner == width
    shown = page.evaluate(
        "[...document.querySelectorAll('svg.chart')].filter(s => s.getBoundingClientRect().width > 0)"
        ".map(s => s.classList[1])"
    )
    assert shown == ["narrow" if mobile else "wide"] * 4
    # the figures in the DOM as a person reads them, against the JSON: balance and apps first of all
    figures = [tuple(f) for f in page.evaluate(READ_FIGURES)]
    checked = check_figures(cli, figures, NOW, answers=answers)
    assert {"balance", "apps --pool integration", "apps --pool message"} <= checked
    check_cycles(cli, figures, NOW)
    balance = cli.json("balance", now=NOW)
    big = page.evaluate("[...document.querySelectorAll('.pool-card .big [data-key]')].map(e => e.textContent)")
    assert [Decimal(t.replace(",", "")) for t in big] == [
        balance["message"]["available"],
        balance["integration"]["available"],
    ]
    apps = cli.json("apps", now=NOW)
    ranked = page.evaluate(
        "[...document.querySelector('#pool-integration table.ranked').querySelectorAll('tbody th')]"
        ".map(th => th.firstChild.textContent)"
    )
    assert ranked == [a["app"] for a in apps]


def test_the_demo_report_prints_on_a4(demo, browser, tmp_path):
    path = demo[1]
    page = browser.page(path.as_uri(), dark=True)
    page.send("Emulation.setEmulatedMedia", {"media": "print"})
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert _luminance(background) > 0.9  # white paper, whatever the screen's scheme
    pdf = page.pdf(tmp_path / "report.pdf").read_bytes()
    sizes = re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)
    assert sizes and all(abs(float(w) - 595.3) < 1.5 and abs(float(h) - 841.9) < 1.5 for w, h in sizes)  # A4
    assert 3 <= len(sizes) <= 10
    assert page.errors == []


def test_the_checks_see_a_request_and_an_error(browser, tmp_path):
    """The harness itself: a page that fetches an image and logs an error is caught doing both."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><img src="http://127.0.0.1:9/x.png"><p>hi</p>')
    page = browser.page(bad.as_uri())
    assert "http://127.0.0.1:9/x.png" in page.requests
    page.evaluate("console.error('boom')")
    assert any("boom" in e for e in page.errors)


def _luminance(css: str) -> float:
    r, g, b = (int(x) / 255 for x in re.findall(r"\d+", css)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b
