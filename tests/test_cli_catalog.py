"""`credits plans`, `credits prices` and a user's own catalog."""

from decimal import Decimal as D
from importlib import resources

import pytest
from conftest import one_line_error

BUILT_IN = resources.files("credits_cli").joinpath("data/catalog.toml").read_text()


def test_plans_json_lists_every_plan_of_the_spec(cli):
    plans = {p["plan"]: p for p in cli.json("plans")}
    assert list(plans) == ["free", "starter", "builder", "pro", "elite"]
    assert (plans["free"]["message"], plans["free"]["integration"], plans["free"]["daily_message_cap"]) == (25, 100, 5)
    assert (plans["elite"]["price_monthly"], plans["elite"]["price_yearly"]) == (200, 160)
    assert "automations" in plans["builder"]["features"] and plans["starter"]["features"] == []


def test_prices_json_has_models_scopes_and_units(cli):
    prices = {p["action"]: p for p in cli.json("prices")}
    assert prices["invokeLLM"]["models"] == {"automatic": 3, "gemini-3-flash": 5, "gpt-5": 15}
    assert prices["message"]["scopes"]["discuss"] == D("0.3")
    assert prices["GenerateSpeech"]["max_per_call"] == 100
    assert prices["SendEmail"]["custom_domain_price"] == 2


def test_plans_and_prices_tables_read_in_80_columns(cli):
    for cmd in ("plans", "prices"):
        r = cli(cmd, env={"COLUMNS": "80"})
        assert r.exit_code == 0
        assert all(len(line) <= 80 for line in r.stdout.splitlines())
    assert "gpt-5 15" in cli("prices").stdout


def test_a_users_catalog_replaces_the_prices(cli, tmp_path):
    custom = tmp_path / "mine.toml"
    custom.write_text(BUILT_IN.replace('"gpt-5" = 15', '"gpt-5" = "12.5"'))
    cli("init", "--plan", "starter", now="2026-02-01T00:00:00Z")
    out = cli.json(
        "log", "invokeLLM", "--model", "gpt-5", now="2026-02-01T00:00:00Z", env={"CREDITS_CATALOG": str(custom)}
    )
    assert out["credits"] == D("12.5")
    out = cli.json("log", "invokeLLM", "--model", "gpt-5", "--catalog", str(custom), now="2026-02-01T00:00:00Z")
    assert out["available"] == 2000 - 25


@pytest.mark.parametrize(
    "edit,where",
    [
        (
            lambda t: t.replace(
                '[actions.UploadFile]\npool = "integration"\nprice = 1',
                '[actions.UploadFile]\npool = "integration"\nprice = -1',
            ),
            "actions.UploadFile.price",
        ),
        (lambda t: t.replace("integration = 2000\n", 'integration = "lots"\n', 1), "plans.starter.integration"),
        (lambda t: t.replace("[plans.pro]\n", '[plans.pro]\ncolour = "red"\n'), "plans.pro.colour"),
        (
            lambda t: t.replace('automatic = 3, "gemini', 'automatic = "3.0001", "gemini', 1),
            "actions.invokeLLM.models.automatic",
        ),
        (lambda t: t + "\n[actions.broken\n", "not valid TOML"),
        (lambda t: t.replace('pool = "message"', 'pool = "both"'), "actions.message.pool"),
    ],
)
def test_a_bad_catalog_is_refused_naming_the_key(cli, tmp_path, edit, where):
    bad = tmp_path / "bad.toml"
    bad.write_text(edit(BUILT_IN))
    assert bad.read_text() != BUILT_IN or where == "not valid TOML"
    before = cli.dump()  # SQLite: none, no file yet; PostgreSQL: a new database's
    line = one_line_error(cli("prices", "--catalog", str(bad)), field="--catalog")
    assert where in line and str(bad) in line
    one_line_error(cli("log", "SendEmail", env={"CREDITS_CATALOG": str(bad)}))
    assert cli.dump() == before


def test_a_missing_catalog_file_is_bad_input(cli, tmp_path):
    one_line_error(cli("plans", "--catalog", str(tmp_path / "nope.toml")), field="--catalog")


def test_version_and_help(cli):
    assert cli("--version").stdout.startswith("credits ")
    r = cli("log", "--help")
    assert r.exit_code == 0 and "--dry-run" in r.stdout and "--key" in r.stdout
