"""Shell completion (docs/guide.md, "Shell completion"): typer's scripts for bash, zsh and fish, and the
answers `credits` gives them: commands, options, the catalog's values and the ledger's own names. A
completion records nothing, creates nothing (no ledger file, no workspace, no tables) and prints no error."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Cli
from test_readme import shown_commands

NOW = "2026-03-02T10:00:00Z"
BIN = Path(sys.executable).parent  # where `credits` is installed, beside this Python
SHELLS = ["bash", "zsh", "fish"]


def complete(shell: str, line: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`credits` asked to complete `line` (the cursor at its end) as the script of `shell` asks: the
    variables click and typer read (_CREDITS_COMPLETE, and the command line in COMP_WORDS/COMP_CWORD or
    _TYPER_COMPLETE_ARGS)."""
    asked = {"_CREDITS_COMPLETE": f"complete_{shell}"}
    if shell == "bash":
        asked |= {"COMP_WORDS": line, "COMP_CWORD": str(len(line.split(" ")) - 1)}
    else:
        asked |= {"_TYPER_COMPLETE_ARGS": line, "_TYPER_COMPLETE_FISH_ACTION": "get-args"}
    full = {k: v for k, v in {**os.environ, **asked, **(env or {})}.items() if v is not None}  # None: unset
    return subprocess.run([sys.executable, "-m", "credits_cli"], env=full, capture_output=True, text=True)


def values(shell: str, r: subprocess.CompletedProcess) -> list[str]:
    """The values in the answer (without the help zsh and fish show beside them)."""
    assert r.returncode == 0 and r.stderr == "", (r.returncode, r.stderr)
    if shell == "zsh":  # _arguments '*: :(("value":"help"\n"value"...))'
        inner = r.stdout[r.stdout.find("((") + 2 : r.stdout.rfind("))")] if "((" in r.stdout else ""
        return re.findall(r'^"((?:[^"\\]|\\.)*)"', inner, re.M)
    return [line.split("\t")[0] for line in r.stdout.splitlines() if line]


@pytest.fixture
def team(new_db):
    """A ledger whose events name three apps and two members (and one event with neither)."""
    cli = Cli(new_db())
    assert cli("init", "--plan", "builder", now=NOW).exit_code == 0
    for app, member in [("crm", "ana"), ("crm-mobile", "bo"), ("landing", "ana"), (None, None)]:
        args = ["log", "SendEmail"] + (["--app", app, "--member", member] if app else [])
        assert cli(*args, now=NOW).exit_code == 0
    return cli


@pytest.mark.parametrize("shell", SHELLS)
def test_a_completion_request_is_answered_with_the_ledger_s_names(team, shell):
    before = team.dump(outbox=True)
    env = {"CREDITS_DB": str(team.db)}
    assert values(shell, complete(shell, "credits events --app ", env)) == ["crm", "crm-mobile", "landing"]
    assert values(shell, complete(shell, "credits log SendEmail --app crm", env)) == ["crm", "crm-mobile"]
    assert values(shell, complete(shell, "credits apps --member ", env)) == ["ana", "bo"]
    assert values(shell, complete(shell, "credits budget set --member b", env)) == ["bo"]
    # the ledger named on the command line, before or after the command, as credits would use it
    line = f"credits --db {team.db} events --app l"
    assert values(shell, complete(shell, line, {"CREDITS_DB": None})) == ["landing"]
    line = f"credits events --db {team.db} --app l"
    assert values(shell, complete(shell, line, {"CREDITS_DB": None})) == ["landing"]
    assert team.dump(outbox=True) == before  # nothing recorded


@pytest.mark.parametrize("shell", SHELLS)
def test_commands_options_and_the_catalog_s_values(shell, tmp_path):
    env = {"CREDITS_DB": str(tmp_path / "none.db")}
    assert values(shell, complete(shell, "credits ev", env)) == ["events"]
    assert "--limit" in values(shell, complete(shell, "credits events --", env))
    assert values(shell, complete(shell, "credits log Generate", env)) == [
        "GenerateImage",
        "GenerateVideo",
        "GenerateSpeech",
    ]
    assert values(shell, complete(shell, "credits daily --action inv", env)) == ["invokeLLM"]
    assert values(shell, complete(shell, "credits log invokeLLM --model ", env)) == [
        "automatic",
        "gemini-3-flash",
        "gpt-5",
    ]
    assert values(shell, complete(shell, "credits estimate message --scope ", env)) == [
        "simple",
        "feature",
        "module",
        "app-wide",
        "discuss",
    ]
    assert values(shell, complete(shell, "credits init --plan ", env)) == ["free", "starter", "builder", "pro", "elite"]
    assert values(shell, complete(shell, "credits plan set b", env)) == ["builder"]
    assert values(shell, complete(shell, "credits alert add --pool ", env)) == ["message", "integration"]
    assert not (tmp_path / "none.db").exists()


def test_the_catalog_in_force_is_the_one_completed(tmp_path):
    builtin = Path(__file__).parents[1] / "credits_cli" / "data" / "catalog.toml"
    catalog = tmp_path / "mine.toml"
    catalog.write_text(builtin.read_text().replace('"gpt-5"', '"gpt-6"'))
    env = {"CREDITS_DB": str(tmp_path / "none.db")}
    assert values("bash", complete("bash", f"credits --catalog {catalog} log agent --model g", env)) == [
        "gemini-3-flash",
        "gpt-6",
    ]
    config = tmp_path / "config.toml"
    config.write_text(f'catalog = "{catalog}"\n')
    r = complete("bash", "credits log agent --model gp", {**env, "CREDITS_CONFIG": str(config)})
    assert values("bash", r) == ["gpt-6"]


def test_completing_creates_no_ledger_and_no_workspace(engine, new_db, tmp_path):
    if engine == "sqlite":
        missing = tmp_path / "new.db"
        values("bash", complete("bash", "credits events --app ", {"CREDITS_DB": str(missing)}))
        assert list(tmp_path.iterdir()) == []  # no file, not even a -wal or -shm
        home = tmp_path / "home"
        home.mkdir()
        default = {"CREDITS_DB": None, "HOME": str(home), "XDG_DATA_HOME": None}
        assert values("bash", complete("bash", "credits members --member ", default)) == []
        assert list(home.iterdir()) == []  # no default ledger made in the user data directory
    else:
        bare = Cli(new_db(migrated=False))  # a database without a ledger
        tables = "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
        assert values("bash", complete("bash", "credits events --app ", {"CREDITS_DB": bare.db})) == []
        assert bare.sql(tables) == [(0,)]
    ledger = Cli(new_db())  # a ledger whose workspace `default` is not made yet
    assert ledger("--workspace", "team", "init", "--plan", "free", now=NOW).exit_code == 0
    before = ledger.dump(outbox=True)
    assert values("bash", complete("bash", "credits events --app ", {"CREDITS_DB": str(ledger.db)})) == []
    assert ledger.workspaces() == ["team"] and ledger.dump(outbox=True) == before


@pytest.mark.sqlite_file
def test_a_ledger_being_written_is_read_through_its_wal_and_left_as_it_was(team):
    """A writer holds the file (its -wal and -shm exist): the completion reads the latest names there;
    without one, the file is read as it is and nothing is made beside it."""
    import sqlite3

    wal = Path(f"{team.db}-wal")
    assert not wal.exists()
    assert values("bash", complete("bash", "credits events --app c", {"CREDITS_DB": str(team.db)})) == [
        "crm",
        "crm-mobile",
    ]
    assert not wal.exists() and not Path(f"{team.db}-shm").exists()
    writer = sqlite3.connect(team.db)  # another process's open connection
    try:
        writer.execute("SELECT count(*) FROM events").fetchone()
        assert team("log", "SendEmail", "--app", "crm-web", now=NOW).exit_code == 0
        r = complete("bash", "credits events --app crm-", {"CREDITS_DB": str(team.db)})
        assert values("bash", r) == ["crm-mobile", "crm-web"]
    finally:
        writer.close()


EVERY = ("credits events --app ", "credits log ", "credits log agent --model ")


@pytest.mark.parametrize(
    "trouble, lines",
    [
        ({"CREDITS_CONFIG": "/nonexistent/config.toml"}, EVERY),
        ({"CREDITS_WORKSPACE": "\x01"}, EVERY),
        ({"CREDITS_CATALOG": "/nonexistent/catalog.toml"}, EVERY[1:]),
        ({"CREDITS_DB": "postgresql://nobody@127.0.0.1:1/credits"}, EVERY[:1]),  # the catalog's values still come
        ({"CREDITS_DB": "/nonexistent/dir/credits.db"}, EVERY[:1]),
    ],
)
def test_on_any_problem_a_completion_completes_nothing_and_says_nothing(trouble, lines):
    for line in lines:
        r = complete("bash", line, trouble)
        assert (r.returncode, r.stdout.strip(), r.stderr) == (0, "", ""), (line, r)


def test_a_damaged_ledger_completes_nothing(tmp_path):
    damaged = tmp_path / "credits.db"
    damaged.write_bytes(b"not a database at all" * 100)
    r = complete("bash", "credits events --app ", {"CREDITS_DB": str(damaged)})
    assert (r.returncode, r.stdout.strip(), r.stderr) == (0, "", "")
    assert damaged.read_bytes() == b"not a database at all" * 100


# -- the scripts: typer's, for the shell they run in ------------------------------------------------------------


def in_shell(shell: str, command: str, home: Path, tmp_path) -> subprocess.CompletedProcess:
    """`command` run by `shell` (which typer detects as the shell `credits` runs in), with HOME `home`."""
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_DATA", "CREDITS_", "_TYPER"))}
    env |= {"HOME": str(home), "PATH": f"{BIN}{os.pathsep}{env['PATH']}", "CREDITS_DB": str(tmp_path / "ledger.db")}
    return subprocess.run([shell, "-c", f"{command}; true"], env=env, capture_output=True, text=True, cwd=tmp_path)


@pytest.mark.parametrize("shell", SHELLS)
def test_show_completion_prints_the_script_of_the_shell_it_runs_in(shell, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    r = in_shell(shell, "credits --show-completion", home, tmp_path)
    assert r.returncode == 0, r.stderr
    assert {"bash": "complete -o default -F _credits_completion credits", "zsh": "#compdef credits"}.get(
        shell, "complete --command credits"
    ) in r.stdout
    assert f"_CREDITS_COMPLETE=complete_{shell}" in r.stdout
    assert [p for p in home.rglob("*") if p.is_file()] == []  # nothing written
    assert list(tmp_path.iterdir()) == [home]  # no ledger made


@pytest.mark.parametrize(
    "shell, files",
    [
        ("bash", {".bashrc", ".bash_completions/credits.sh"}),
        ("zsh", {".zshrc", ".zfunc/_credits"}),
        ("fish", {".config/fish/completions/credits.fish"}),
    ],
)
def test_install_completion_writes_the_shell_s_files_and_nothing_else(shell, files, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    r = in_shell(shell, "credits --install-completion", home, tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"{shell} completion installed in" in r.stdout
    written = {p.relative_to(home).as_posix() for p in home.rglob("*") if p.is_file()}
    assert written == files
    script = next(home / f for f in files if "credits" in f).read_text()
    assert f"_CREDITS_COMPLETE=complete_{shell}" in script
    assert list(tmp_path.iterdir()) == [home]  # no ledger made


def test_a_script_generated_for_each_shell_on_request():
    """typer's variant of the options that names the shell (its switch _TYPER_COMPLETE_TEST_DISABLE_SHELL_
    DETECTION) generates the three scripts where those shells are not installed."""
    env = {**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    for shell in SHELLS:
        r = subprocess.run(
            [sys.executable, "-m", "credits_cli", "--show-completion", shell], env=env, capture_output=True, text=True
        )
        assert r.returncode == 0 and f"_CREDITS_COMPLETE=complete_{shell}" in r.stdout, r.stderr


def test_bash_completes_with_the_script_it_sourced(team):
    """As a person's bash does: the script sourced, then its function called for a command line."""
    script = (
        'eval "$(credits --show-completion)"; '
        'COMP_WORDS=(credits events --app ""); COMP_CWORD=3; _credits_completion credits; '
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    r = subprocess.run(
        ["bash", "-c", script],
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "CREDITS_DB": str(team.db)},
        capture_output=True,
        text=True,
    )
    assert r.stdout.splitlines() == ["crm", "crm-mobile", "landing"], r.stderr


def test_fish_completes_with_the_script_it_sourced(team):
    if shutil.which("fish") is None:
        pytest.skip("fish is not installed")
    r = subprocess.run(
        ["fish", "-c", "credits --show-completion | source; complete -C 'credits members --member '"],
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "CREDITS_DB": str(team.db)},
        capture_output=True,
        text=True,
    )
    assert [line.split("\t")[0] for line in r.stdout.splitlines()] == ["ana", "bo"], r.stderr


def test_the_guide_s_completion_commands_run(tmp_path):
    lines = shown_commands("completion")
    assert lines, "docs/guide.md shows no completion block"
    for line in lines:
        r = in_shell("bash", line, tmp_path, tmp_path)
        assert r.returncode == 0 and "Traceback" not in r.stderr, (line, r.stderr)
