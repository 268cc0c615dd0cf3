"""The configuration file (docs/guide.md, "A configuration file"): `config.toml` gives the global options a
default under their options and variables, `credits config` says where each setting came from, and a bad
file is one line naming the file, the key and what is wrong (exit 2), on both paths of `credits log`."""

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import platformdirs
import pytest
from conftest import Cli, one_line_error
from hypothesis import given, settings
from hypothesis import strategies as st

from credits_cli import config
from credits_cli.cli.out import open_session
from credits_cli.store.db import default_path

NOW = "2026-03-02T10:00:00Z"


@pytest.fixture
def ledger(new_db):
    """A ledger with a workspace `team` besides `default`, on the test's engine."""
    cli = Cli(new_db())
    for workspace in ("default", "team"):
        assert cli("--workspace", workspace, "init", "--plan", "builder", now=NOW).exit_code == 0
    return cli


def write(tmp_path, text: str, name="config.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def run(cli, *args, config_file, env=None):
    """`credits ARGS` with CREDITS_CONFIG naming `config_file` and no CREDITS_DB: the file names the ledger."""
    return cli(*args, now=NOW, env={"CREDITS_DB": None, "CREDITS_CONFIG": str(config_file), **(env or {})})


def events_of(cli, workspace):
    return cli.json("--workspace", workspace, "events", now=NOW)


def test_the_file_names_the_ledger_and_the_workspace(ledger, tmp_path):
    cfg = write(tmp_path, f'db = "{ledger.db}"\nworkspace = "team"\n')
    assert run(ledger, "log", "SendEmail", "--app", "crm", config_file=cfg).exit_code == 0
    assert [e["app"] for e in events_of(ledger, "team")] == ["crm"]
    assert events_of(ledger, "default") == []


def test_an_option_beats_its_variable_which_beats_the_file(ledger, tmp_path):
    cfg = write(tmp_path, f'db = "{ledger.db}"\nworkspace = "nope"\n')
    shown = json.loads(run(ledger, "config", "--json", config_file=cfg, env={"CREDITS_WORKSPACE": "team"}).stdout)
    assert shown["workspace"] == {"value": "team", "from": "env"}
    assert shown["db"]["from"] == "file"
    r = run(ledger, "--workspace", "default", "config", "--json", config_file=cfg, env={"CREDITS_WORKSPACE": "team"})
    assert json.loads(r.stdout)["workspace"] == {"value": "default", "from": "option"}
    # and the commands use what config shows
    run(ledger, "log", "UploadFile", config_file=cfg, env={"CREDITS_WORKSPACE": "team"})
    run(ledger, "log", "GenerateImage", "--workspace", "default", config_file=cfg, env={"CREDITS_WORKSPACE": "team"})
    assert [e["action"] for e in events_of(ledger, "team")] == ["UploadFile"]
    assert [e["action"] for e in events_of(ledger, "default")] == ["GenerateImage"]


def test_credits_config_shows_the_defaults_and_where_the_file_would_be(cli):
    r = cli("config", "--json", env={"CREDITS_DB": None})
    assert r.exit_code == 0, r.stderr
    where = os.path.join(os.environ["XDG_CONFIG_HOME"], "credits", "config.toml")
    assert json.loads(r.stdout) == {
        "db": {"value": default_path(), "from": "default"},
        "workspace": {"value": "default", "from": "default"},
        "catalog": {"value": None, "from": "default"},
        "timezone": {"value": None, "from": "default"},
        "file": {"value": where, "from": "default", "exists": False},
    }
    text = cli("config", env={"CREDITS_DB": None}).stdout.splitlines()
    assert text[0].split() == ["setting", "value", "from"]
    assert text[1].split() == ["db", default_path(), "default"]
    assert text[-1] == f"file: {where}, none there"
    assert not os.path.exists(default_path())  # config opened no ledger


def test_the_default_file_is_read_from_the_user_configuration_directory(ledger, tmp_path):
    home = tmp_path / "xdg"
    (home / "credits").mkdir(parents=True)
    (home / "credits" / "config.toml").write_text('workspace = "team"\ntimezone = "Europe/Paris"\n')
    r = ledger("config", "--json", env={"XDG_CONFIG_HOME": str(home)})
    shown = json.loads(r.stdout)
    assert shown["workspace"] == {"value": "team", "from": "file"}
    assert shown["timezone"] == {"value": "Europe/Paris", "from": "file"}
    assert shown["file"] == {"value": str(home / "credits" / "config.toml"), "from": "default", "exists": True}
    assert ledger("log", "SendEmail", now=NOW, env={"XDG_CONFIG_HOME": str(home)}).exit_code == 0
    assert len(events_of(ledger, "team")) == 1


def test_paths_in_the_file_are_taken_from_its_directory(tmp_path):
    (tmp_path / "conf").mkdir()
    cfg = write(tmp_path / "conf", 'db = "books.db"\ncatalog = "~/prices.toml"\n')
    shown = json.loads(Cli(None)("config", "--json", env={"CREDITS_DB": None, "CREDITS_CONFIG": str(cfg)}).stdout)
    assert shown["db"] == {"value": str(tmp_path / "conf" / "books.db"), "from": "file"}
    assert shown["catalog"] == {"value": os.path.expanduser("~/prices.toml"), "from": "file"}


def test_the_file_s_catalog_prices_the_events(cli, tmp_path):
    catalog = tmp_path / "catalog.toml"
    builtin = Path(config.__file__).parent / "data" / "catalog.toml"
    catalog.write_text(builtin.read_text().replace("SendEmail", "SendMail"))
    cfg = write(tmp_path, 'catalog = "catalog.toml"\n')
    r = cli("log", "SendMail", now=NOW, env={"CREDITS_CONFIG": str(cfg)})
    assert r.exit_code == 0, r.stderr
    one_line_error(cli("log", "SendMail", now=NOW), field="ACTION")  # without the file: the built-in catalog


def test_a_password_in_the_file_s_url_is_never_shown(cli, tmp_path):
    cfg = write(tmp_path, 'db = "postgresql://ana:s3cret@db.example.net/credits?password=s3cret"\n')
    for args in (["config"], ["config", "--json"]):
        r = run(cli, *args, config_file=cfg)
        assert r.exit_code == 0 and "s3cret" not in r.stdout + r.stderr
        assert "postgresql://ana:***@db.example.net/credits?password=***" in r.stdout


def test_the_file_s_timezone_is_the_session_s_default(tmp_path, monkeypatch):
    monkeypatch.setenv("CREDITS_CONFIG", str(write(tmp_path, 'timezone = "america/new_york"\n')))
    session = open_session({"db": None, "now": None, "workspace": None, "catalog": None}, set())
    assert session.timezone_default == "America/New_York"  # as the zone database spells it
    monkeypatch.setenv("CREDITS_CONFIG", str(write(tmp_path, "")))
    assert open_session({"db": None, "now": None, "workspace": None, "catalog": None}, set()).timezone_default is None


BAD = [
    ("db = ", "is not TOML: Invalid value (at line 1, column 6)"),
    ("dbs = 'x.db'", "'dbs' is not a setting (the keys are db, workspace, catalog, timezone)"),
    ("db = 5", "db: must be text in quotes, not the number 5"),
    ("workspace = true", "workspace: must be text in quotes, not true (true or false)"),
    ("[catalog]\nfile = 'x'", "catalog: must be text in quotes, not a table"),
    ("timezone = ['UTC']", "timezone: must be text in quotes, not a list"),
    ("db = ''", "db: is empty"),
    ('workspace = "a\\u0007b"', "workspace: 'a\\x07b' is not a workspace name (1 to 64 printable characters)"),
    ("timezone = 'Mars/Olympus'", "timezone: unknown time zone 'Mars/Olympus'"),
]


@pytest.mark.parametrize("text, what", BAD)
def test_a_bad_file_is_one_line_naming_the_file_the_key_and_what_is_wrong(ledger, tmp_path, text, what):
    cfg = write(tmp_path, text + "\n")
    before = ledger.dump(outbox=True)
    for args in (["log", "SendEmail"], ["balance", "--json"], ["config"]):
        line = one_line_error(run(ledger, *args, config_file=cfg, env={"CREDITS_DB": str(ledger.db)}))
        assert line.startswith(f"credits: {cfg}: {what}"), line
    assert ledger.dump(outbox=True) == before


def test_a_file_that_cannot_be_read_or_is_not_text(ledger, tmp_path):
    folder = tmp_path / "config.toml"
    folder.mkdir()
    line = one_line_error(run(ledger, "balance", config_file=folder))
    assert line == f"credits: {folder}: cannot read it: Is a directory"
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b"workspace = 'caf\xe9'\n")
    assert one_line_error(run(ledger, "balance", config_file=latin)) == f"credits: {latin}: is not UTF-8 text"


def test_credits_config_must_name_a_file_that_exists(cli, tmp_path):
    missing = tmp_path / "nope.toml"
    line = one_line_error(cli("balance", env={"CREDITS_CONFIG": str(missing)}))
    assert line == f"credits: CREDITS_CONFIG: no such file '{missing}'"
    line = one_line_error(cli("balance", env={"CREDITS_CONFIG": ""}))
    assert line == "credits: CREDITS_CONFIG: is set but empty (unset it for the default)"
    assert cli.workspaces() == []


def test_an_error_about_a_setting_from_the_file_names_the_file(ledger, tmp_path):
    cfg = write(tmp_path, 'workspace = "staff"\n')
    line = one_line_error(ledger("log", "SendEmail", now=NOW, env={"CREDITS_CONFIG": str(cfg)}))
    assert line.startswith(f"credits: {cfg}: workspace: no workspace named 'staff'"), line
    r = ledger("log", "SendEmail", "--json", now=NOW, env={"CREDITS_CONFIG": str(cfg)})
    assert json.loads(r.stdout)["error"]["field"] == f"{cfg}: workspace"


# -- the lean path of `credits log` ----------------------------------------------------------------------


def lean_log(env, *args):
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "credits_cli", "log", "SendEmail", "-q", *args],
        env={**os.environ, "CREDITS_NOW": NOW, **env},
        capture_output=True,
        text=True,
    )


def imported(stderr: str) -> set[str]:
    return {line.split("|")[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


def test_a_script_s_log_honours_the_file_on_the_lean_path_without_tomllib(ledger, tmp_path):
    cfg = write(tmp_path, f'# the team\'s ledger\ndb = "{ledger.db}"\nworkspace = "team"  # ours\n')
    r = lean_log({"CREDITS_CONFIG": str(cfg)}, "--app", "crm")
    assert r.returncode == 0, r.stderr
    assert [e["app"] for e in events_of(ledger, "team")] == ["crm"]
    loaded = imported(r.stderr)
    assert "credits_cli.config" in loaded and "credits_cli.cli.app" not in loaded  # the lean path read it
    assert not {"typer", "click", "rich", "tomllib", "platformdirs"} & loaded


def test_a_bad_file_stops_the_lean_path_too(ledger, tmp_path):
    cfg = write(tmp_path, f'db = "{ledger.db}"\nworkspace = 7\n')
    before = ledger.dump(outbox=True)
    r = lean_log({"CREDITS_CONFIG": str(cfg)})
    assert r.returncode == 2
    assert [line for line in r.stderr.splitlines() if not line.startswith("import time:")] == [
        f"credits: {cfg}: workspace: must be text in quotes, not the number 7"
    ]
    assert "typer" not in imported(r.stderr)
    assert ledger.dump(outbox=True) == before


# -- reading the file --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "xdg, home",
    [("", "/home/ana"), ("/srv/conf", "/home/ana"), ("relative/conf", "/home/ana"), ("  ", "/home/ana/")],
)
def test_the_configuration_directory_is_platformdirs_own(monkeypatch, xdg, home):
    monkeypatch.setenv("XDG_CONFIG_HOME", xdg)
    monkeypatch.setenv("HOME", home)
    assert config.user_config_dir() == platformdirs.user_config_dir("credits", appauthor=False)


_PIECES = ["db", "time-zone", "k_1", " ", "\t", "=", '"', "'", "\\", "#", "x", "é", "\x01", "\x7f", "\r", "[", ".", "1"]
_LINES = st.one_of(
    st.lists(st.sampled_from(_PIECES), max_size=10).map("".join),
    st.builds(
        lambda key, quote, value, comment: f"{key} = {quote}{value}{quote}{comment}",
        st.sampled_from(config.KEYS),
        st.sampled_from(['"', "'"]),
        st.text(max_size=8),
        st.sampled_from(["", " # ours", "#", "  #\x01"]),
    ),
)


@settings(max_examples=3000, deadline=None)
@given(st.lists(_LINES, max_size=6).map("\n".join))
def test_the_plain_reading_is_toml_s(text):
    """A file of plain `key = "text"` lines is read without tomllib (see config._LINE): exactly as tomllib
    reads it, and any other is left to tomllib."""
    plain = config._plain(text)
    if plain is not None:
        assert tomllib.loads(text) == plain


def test_the_usual_file_is_read_plainly():
    assert config._plain('# mine\ndb = "~/x.db"\n\nworkspace = \'team\'   # ours\ntimezone="UTC"\n') == {
        "db": "~/x.db",
        "workspace": "team",
        "timezone": "UTC",
    }
    assert config._plain('db = "a\\tb"') is None  # an escape: tomllib's
