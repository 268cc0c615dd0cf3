"""What the generated parts of the documentation run, with cog:
`cog -r README.md docs/reference.md docs/json.md docs/storage.md`.

`reference()` writes every command's `--help`; `tour()` runs a few commands on the sample data
and writes them with their real output; `schema()` writes the schema of a new ledger. They run
`credits` in-process with a fixed width and no colour, so the text depends on the code only;
`tests/test_docs.py` fails when it is stale.
"""

from __future__ import annotations

import os
import shlex
import sqlite3
import tempfile
from pathlib import Path

import click
import typer
from typer import rich_utils
from typer.testing import CliRunner

from credits_cli.cli.app import app

ROOT = Path(__file__).resolve().parent.parent
WIDTH = "100"
# What a terminal user has unset is unset here too: the output must not depend on who runs cog.
STABLE = {
    "COLUMNS": WIDTH,
    "NO_COLOR": "1",
    "TERM": "dumb",
    "CREDITS_DB": None,
    "CREDITS_NOW": None,
    "CREDITS_WORKSPACE": None,
    "CREDITS_CATALOG": None,
    "CREDITS_CONFIG": os.devnull,  # no configuration file: an empty one
    "FORCE_COLOR": None,
    "COLORTERM": None,
    "TTY_COMPATIBLE": None,
    "TTY_INTERACTIVE": None,
    "LINES": None,
}


def _run(args: list[str], env: dict | None = None):
    # typer reads its terminal settings (TERMINAL_WIDTH, FORCE_COLOR, GITHUB_ACTIONS) once, when it
    # is imported: the help is drawn as on a plain 100-column terminal whatever they were.
    saved = rich_utils.FORCE_TERMINAL, rich_utils.MAX_WIDTH
    rich_utils.FORCE_TERMINAL, rich_utils.MAX_WIDTH = False, None
    try:
        return CliRunner().invoke(app, args, env={**STABLE, **(env or {})})
    finally:
        rich_utils.FORCE_TERMINAL, rich_utils.MAX_WIDTH = saved


def _text(output: str) -> str:
    return "\n".join(line.rstrip() for line in output.splitlines()).strip("\n")


def commands() -> list[tuple[str, list[tuple[str, ...]]]]:
    """The help panels in the order `credits --help` shows them, each with its commands' paths."""
    root = typer.main.get_command(app)
    ctx = click.Context(root)
    panels: dict[str, list[tuple[str, ...]]] = {}
    for name in root.list_commands(ctx):
        command = root.get_command(ctx, name)
        paths = panels.setdefault(getattr(command, "rich_help_panel", None) or "Commands", [])
        paths.append((name,))
        if isinstance(command, click.Group):
            paths.extend((name, sub) for sub in command.list_commands(ctx))
    return list(panels.items())


def help_of(path: tuple[str, ...]) -> str:
    result = _run([*path, "--help"])
    assert result.exit_code == 0, (path, result.output)
    return _text(result.stdout)


def reference() -> str:
    """`credits --help`, then every command's and subcommand's, grouped as the help groups them."""
    parts = ["## `credits`", "", "```text", help_of(()), "```"]
    for panel, paths in commands():
        parts += ["", f"## {panel}"]
        for path in paths:
            parts += [
                "",
                f"{'###' if len(path) == 1 else '####'} `credits {' '.join(path)}`",
                "",
                "```text",
                help_of(path),
                "```",
            ]
    return "\n".join(parts)


def _install_line() -> str:
    """The README's one-line install-and-run: its `credits` steps build the demo ledger."""
    readme = (ROOT / "README.md").read_text()
    return next(line for line in readme.splitlines() if line.startswith("python3 -m venv .venv && . "))


def tour(lines: list[str]) -> str:
    """Runs `lines` after the install line's steps, in a scratch directory; a console block of each
    line and its output, and its exit code when it is not 0. An `export` line sets variables for
    the lines after it."""
    env: dict[str, str] = {}
    shown = []
    with tempfile.TemporaryDirectory() as scratch:
        here = os.getcwd()
        os.chdir(scratch)
        try:
            os.symlink(ROOT / "sample_data", "sample_data")
            setup = [step.strip() for step in _install_line().split("&&") if step.strip().startswith("credits ")]
            for step in setup:
                assert _run(shlex.split(step)[1:]).exit_code == 0, step
            for line in lines:
                words = shlex.split(line)
                shown.append(f"$ {line}")
                if words[0] == "export":
                    env.update(word.split("=", 1) for word in words[1:])
                    continue
                if words[0] == "sqlite3":  # the SQLite shell itself, as a user runs it on the ledger
                    code, output = _sqlite3(words[1:])
                else:
                    result = _run(words[1:], env)
                    code, output = result.exit_code, _text(result.output)
                if output:
                    shown.append(output)
                if code:
                    shown += ["$ echo $?", str(code)]
        finally:
            os.chdir(here)
    return "\n".join(["```console", *shown, "```"])


def _sqlite3(args: list[str]) -> tuple[int, str]:
    """The `sqlite3` command-line shell run with `args`: its exit code and output."""
    import shutil
    import subprocess

    shell = shutil.which("sqlite3")
    assert shell, "the sqlite3 command-line shell is needed (apt-get install sqlite3)"
    result = subprocess.run([shell, *args], capture_output=True, text=True, timeout=60)
    return result.returncode, _text(result.stdout + result.stderr)


def schema() -> str:
    """The schema of a new ledger: its migrations, its tables and views as SQLite holds them, and
    the names of its indexes and triggers."""
    with tempfile.TemporaryDirectory() as scratch:
        db = Path(scratch) / "new.db"
        result = _run(["init", "--plan", "free"], {"CREDITS_DB": str(db)})
        assert result.exit_code == 0, result.output
        conn = sqlite3.connect(db)
        try:
            migrations = [name for (name,) in conn.execute("SELECT name FROM _sqlite_migrations ORDER BY id")]
            rows = conn.execute(
                "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid"
            ).fetchall()
        finally:
            conn.close()
    tables = [sql + ";" for kind, _, sql in rows if kind in ("table", "view")]
    named = {kind: ", ".join(f"`{name}`" for k, name, _ in rows if k == kind) for kind in ("index", "trigger")}
    return "\n".join(
        [
            f"Migrations applied, in order: {', '.join(f'`{m}`' for m in migrations)}.",
            "",
            "```sql",
            "\n\n".join(tables),
            "```",
            "",
            f"Indexes: {named['index']}.",
            "",
            f"Triggers: {named['trigger']}.",
        ]
    )
