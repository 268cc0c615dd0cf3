"""The README stays true: every command it shows runs, and every command is documented."""

import re
import shlex
from pathlib import Path

import typer

from credits_cli.cli.app import app

README = (Path(__file__).parent.parent / "README.md").read_text()


def shown_commands(scenario: bool):
    blocks = re.findall(r"(<!-- scenario[^>]*-->\n)?```sh\n(.*?)```", README, flags=re.S)
    return [line for marker, block in blocks if bool(marker) == scenario
            for line in block.splitlines() if line.startswith("credits ")]


def run_lines(cli, lines, now):
    for line in lines:
        expected = int(line.split("# exits ")[1].split(":")[0]) if "# exits " in line else 0
        r = cli(*shlex.split(line, comments=True)[1:], now=now)
        assert r.exit_code == expected, (line, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr


def test_every_command_the_readme_shows_runs(cli):
    commands = shown_commands(scenario=False)
    assert len(commands) >= 15
    run_lines(cli, commands, now="2026-02-10T12:00:00Z")


def test_the_readme_scenario_runs_on_its_own_clock(cli):
    lines = shown_commands(scenario=True)
    assert len(lines) >= 10
    run_lines(cli, lines, now=None)
    b = cli.json("--workspace", "demo", "balance")
    assert b["plan"] == "builder" and b["now"] != "2026-03-02T10:00:00Z"  # back on the real clock


def test_every_command_is_documented_with_its_exit_codes():
    names = [c.name for c in typer.main.get_command(app).commands.values()]
    assert {"init", "log", "balance", "plans", "prices"} <= set(names)
    for name in names:
        assert f"`credits {name}" in README, f"credits {name} is not in the README"
    for code in ("| 0 |", "| 1 |", "| 2 |", "| 3 |"):
        assert code in README


def test_ci_runs_the_readme_test_command():
    marker = README.index("<!-- test-command")
    line = README[marker:].splitlines()[2]
    assert line.startswith("python3 -m venv") and "pytest" in line
    assert "README.md" in (Path(__file__).parent.parent / ".ci" / "run").read_text()
