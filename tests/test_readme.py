"""The README stays true: every command it shows runs, and every command is documented."""

import re
import shlex
from pathlib import Path

import typer

from credits_cli.cli.app import app

README = (Path(__file__).parent.parent / "README.md").read_text()


def shown_commands():
    blocks = re.findall(r"```sh\n(.*?)```", README, flags=re.S)
    return [line for block in blocks for line in block.splitlines() if line.startswith("credits ")]


def test_every_command_the_readme_shows_runs(cli):
    commands = shown_commands()
    assert len(commands) >= 15
    for line in commands:
        r = cli(*shlex.split(line)[1:], now="2026-02-10T12:00:00Z")
        assert r.exit_code == 0, (line, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr


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
