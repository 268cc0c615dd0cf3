"""The README and docs/ stay true: every command they show runs, and every command is documented."""

import re
import shlex
from pathlib import Path

import pytest
import typer

from credits_cli.cli.app import app

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()
DOCS = {
    path.relative_to(ROOT).as_posix(): path.read_text()
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
}
GUIDE = DOCS["docs/guide.md"]


def shown_commands(kind: str | None = None, text: str | None = None):
    """The `credits` lines of the sh blocks of `text` (else of the README and every docs/ page);
    `kind` picks the blocks marked <!-- kind: ... -->."""
    texts = [text] if text is not None else list(DOCS.values())
    blocks = [block for t in texts for block in re.findall(r"(?:<!-- (\w+)[^>]*-->\n)?```sh\n(.*?)```", t, flags=re.S)]
    return [
        line
        for marker, block in blocks
        if (marker or None) == kind
        for line in block.splitlines()
        if line.startswith("credits ")
    ]


def run_lines(cli, lines, now):
    for line in lines:
        expected = int(line.split("# exits ")[1].split(":")[0]) if "# exits " in line else 0
        r = cli(*shlex.split(line, comments=True)[1:], now=now)
        assert r.exit_code == expected, (line, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr


@pytest.mark.parametrize("page", [page for page, text in DOCS.items() if shown_commands(text=text)])
def test_every_command_a_page_shows_runs(cli, tmp_path, monkeypatch, page):
    """A page's unmarked examples run in order, in one workspace, on a clock pinned in Feb 2026."""
    monkeypatch.chdir(tmp_path)  # files the examples write (an export) land here, not in the checkout
    run_lines(cli, shown_commands(text=DOCS[page]), now="2026-02-10T12:00:00Z")


def test_the_guide_shows_the_commands():
    assert len(shown_commands(text=GUIDE)) >= 15


def test_the_readme_scenario_runs_on_its_own_clock(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lines = shown_commands("scenario")
    assert len(lines) >= 10
    run_lines(cli, lines, now=None)
    b = cli.json("--workspace", "demo", "balance")
    assert b["plan"] == "builder" and b["now"] != "2026-03-02T10:00:00Z"  # back on the real clock


def test_every_command_is_documented_with_its_exit_codes():
    names = [c.name for c in typer.main.get_command(app).commands.values()]
    assert {"init", "log", "balance", "plans", "prices"} <= set(names)
    for name in names:
        assert f"`credits {name}" in GUIDE, f"credits {name} is not in docs/guide.md"
        assert f"### `credits {name}`" in DOCS["docs/reference.md"], f"credits {name} is not in docs/reference.md"
    for code in ("| 0 |", "| 1 |", "| 2 |", "| 3 |"):
        assert code in README


def test_the_readme_is_short_and_links_the_rest():
    assert len(README.splitlines()) <= 150
    for page in [*(p for p in DOCS if p.startswith("docs/")), "bench/README.md"]:
        assert f"]({page})" in README, f"the README does not link {page}"


def test_ci_runs_the_readme_test_command():
    marker = README.index("<!-- test-command")
    line = README[marker:].splitlines()[2]
    assert line.startswith("python3 -m venv") and "pytest" in line
    assert "README.md" in (Path(__file__).parent.parent / ".ci" / "run").read_text()


def test_the_readme_shows_foresight_on_the_sample_data(cli, tmp_path, monkeypatch):
    root = Path(__file__).parent.parent
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sample_data").symlink_to(root / "sample_data")
    main_job = next(line for line in README.splitlines() if line.startswith("python3 -m venv .venv && "))
    setup = [part.strip() for part in main_job.split("&&") if part.strip().startswith("credits ")]
    assert len(setup) >= 3  # init, import, balance
    lines = shown_commands("sample")
    assert len(lines) >= 10
    run_lines(cli, setup + lines, now=None)
    assert {"forecast", "estimate", "advise", "budget", "alert", "status"} <= {shlex.split(x)[5] for x in lines}


def test_every_command_sits_in_a_help_panel():
    from credits_cli.cli.app import PANELS

    grouped = {name for names in PANELS.values() for name in names}
    names = {c.name for c in typer.main.get_command(app).commands.values()}
    assert names == grouped


def test_the_readme_pipelines_run_in_a_shell(new_db):
    """Lines that pipe into credits (log --batch) are run by a real shell."""
    import os
    import subprocess
    import sys

    blocks = [block for text in DOCS.values() for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S)]
    lines = [line for block in blocks for line in block.splitlines() if "| credits " in line]
    assert lines
    env = {**os.environ, "CREDITS_DB": str(new_db("p")), "CREDITS_NOW": "2026-02-10T12:00:00Z"}
    env.pop("CREDITS_WORKSPACE", None)
    for line in lines:
        r = subprocess.run(
            ["bash", "-c", line.replace("| credits ", f"| {sys.executable} -m credits_cli ")],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 0, (line, r.stderr)
        assert all("id" in __import__("json").loads(out) for out in r.stdout.splitlines()), r.stdout
