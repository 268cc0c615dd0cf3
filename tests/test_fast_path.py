"""`credits log` from a shell script takes a lean path; it must mean exactly what the typer command means."""

import os
import subprocess
import sys

import click
import pytest
import typer
from conftest import Cli
from hypothesis import given, settings
from hypothesis import strategies as st

from credits_cli.cli import fast
from credits_cli.cli.app import app
from credits_cli.cli.common import hoist_globals
from credits_cli.cli.spec import GLOBALS, LOG

pytestmark = pytest.mark.filterwarnings("ignore:.protected_args.:DeprecationWarning")
COMMAND = typer.main.get_command(app)


def typer_parse(args):
    """What the typer app would call `log` with: (global options, log's parameters), or None if it refuses."""
    try:
        group_ctx = COMMAND.make_context("credits", hoist_globals(list(args), COMMAND))
        name, *rest = group_ctx.protected_args + group_ctx.args
        if name != "log":
            return None
        ctx = COMMAND.commands["log"].make_context("log", rest, parent=group_ctx)
    except (click.exceptions.Exit, click.ClickException, ValueError):
        return None
    return {p.name: group_ctx.params[p.name] for p in GLOBALS}, ctx.params


def test_the_typer_command_is_built_from_the_one_definition():
    params = {p.name: p for p in COMMAND.commands["log"].params}
    assert set(params) - {"help"} == {p.name for p in LOG}
    for p in LOG:
        assert tuple(params[p.name].opts) == (p.decls or (p.name,))
        assert params[p.name].default == p.default


def test_the_usual_script_calls_take_the_lean_path():
    for args in (
        ["log", "SendEmail", "-q"],
        ["--db", "x.db", "log", "invokeLLM", "--model", "gpt-5", "--json"],
        ["log", "message", "--scope", "feature", "--app", "crm", "--member", "ana", "--key", "k1"],
        ["log", "SendEmail", "--count=3", "--now", "2026-01-01T00:00:00Z", "--quiet"],
        ["log", "--batch"],
    ):
        assert fast.parse(args) is not None, args
        assert fast.parse(args) == typer_parse(args), args


# The fuzzer's words: every option of cli/spec.py's tables, spelled each way it can be (alone, "--x=", "--x=v"),
# a value for each, and the tokens a parser gets wrong (help, a lone dash, "--", unknown and negated options).
VALUES = {
    "action": ["SendEmail", "message"],
    "model": ["gpt-5"],
    "count": ["3"],
    "app": ["crm"],
    "db": ["x.db"],
    "now": ["2026-01-01T00:00:00Z"],
    "key": ["k"],
    "workspace": ["w"],
    "credits": ["-1"],
}
TOKENS = sorted(
    {
        "log",
        "-x",
        "--",
        "=",
        "-",
        "-qq",
        "-h",
        "--help",
        "--version",
        "--unknown",
        *(f"--no-{p.shown[2:]}" for p in LOG if p.flag),
        *(d for p in GLOBALS + LOG for d in p.decls),
        *(f"{p.shown}=" for p in GLOBALS + LOG if p.decls and not p.flag),
        *(f"{p.shown}={v}" for p in GLOBALS + LOG if p.decls and not p.flag for v in VALUES.get(p.name, [])[:1]),
        *(v for p in GLOBALS + LOG for v in VALUES.get(p.name, [])),
    }
)


def test_the_fuzzer_speaks_every_option_of_the_spec():
    assert {d for p in GLOBALS + LOG for d in p.decls} <= set(TOKENS)
    assert set(VALUES) <= {p.name for p in GLOBALS + LOG}  # a value for a parameter the spec no longer has is stale


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=9), st.lists(st.sampled_from(TOKENS), max_size=4))
def test_whatever_the_lean_parser_takes_typer_reads_the_same_way(before, after):
    args = before + ["log"] + after
    mine = fast.parse(args)
    if mine is not None:
        assert mine == typer_parse(args), args


def test_env_vars_reach_both_paths_alike(monkeypatch):
    monkeypatch.setenv("CREDITS_DB", "from-env.db")
    monkeypatch.setenv("CREDITS_NOW", "")
    args = ["log", "SendEmail", "--now", "2026-01-01T00:00:00Z"]
    assert fast.parse(args) == typer_parse(args)
    assert fast.parse(args)[0]["db"] == "from-env.db"


def test_a_script_s_log_imports_neither_typer_nor_click_nor_rich_nor_sqlite_utils(new_db):
    env = {**os.environ, "CREDITS_DB": str(new_db("c")), "CREDITS_NOW": "2026-01-01T00:00:00Z"}
    subprocess.run(
        [sys.executable, "-m", "credits_cli", "init", "--plan", "builder"], env=env, check=True, capture_output=True
    )
    r = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "credits_cli", "log", "SendEmail", "-q"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    loaded = {line.split("|")[-1].strip() for line in r.stderr.splitlines() if line.startswith("import time:")}
    assert "credits_cli.services" in loaded  # it did the work
    assert not {"typer", "click", "rich", "sqlite_utils", "pydantic"} & loaded
    # a call the lean parser leaves to typer still works, with typer's message
    r = subprocess.run(
        [sys.executable, "-m", "credits_cli", "log", "SendEmail", "--bogus"], env=env, capture_output=True, text=True
    )
    assert r.returncode == 2 and "--bogus" in r.stderr and "Traceback" not in r.stderr


def test_an_empty_environment_variable_is_refused_on_both_paths(new_db):
    ledger = Cli(new_db("e"))
    before = ledger.dump(outbox=True)  # SQLite: nothing, not even a file
    for args in (["log", "SendEmail", "-q"], ["balance"]):  # the lean path, then typer's
        env = {**os.environ, "CREDITS_DB": str(ledger.db), "CREDITS_NOW": ""}
        r = subprocess.run([sys.executable, "-m", "credits_cli", *args], env=env, capture_output=True, text=True)
        assert (r.returncode, r.stderr) == (2, "credits: CREDITS_NOW: is set but empty (unset it for the default)\n")
    assert ledger.dump(outbox=True) == before
