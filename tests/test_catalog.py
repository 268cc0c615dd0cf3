"""credits_cli.domain.catalog: the shipped catalog matches docs/rules.md's tables, and a
user's catalog is validated with errors that name the dotted key."""

from __future__ import annotations

import importlib.resources

import pytest

from credits_cli.domain.catalog import Catalog, parse_catalog
from credits_cli.errors import BadInput


def shipped() -> Catalog:
    text = importlib.resources.files("credits_cli").joinpath("data/catalog.toml").read_text()
    return parse_catalog(text, "built-in")


CAT = shipped()


# --- plans --------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, monthly, yearly, message, integration, daily_cap",
    [
        ("free", 0, 0, 25, 100, 5),
        ("starter", 20, 16, 100, 2000, None),
        ("builder", 50, 40, 250, 10_000, None),
        ("pro", 100, 80, 500, 20_000, None),
        ("elite", 200, 160, 1200, 50_000, None),
    ],
)
def test_shipped_plans_match_spec(name, monthly, yearly, message, integration, daily_cap):
    p = CAT.plan(name)
    assert p.name == name
    assert p.price_monthly == monthly * 1000
    assert p.price_yearly == yearly * 1000
    assert p.message == message * 1000
    assert p.integration == integration * 1000
    assert p.allowance("message") == message * 1000
    assert p.allowance("integration") == integration * 1000
    assert p.daily_message_cap == (None if daily_cap is None else daily_cap * 1000)


def test_shipped_catalog_has_exactly_the_five_plans():
    assert list(CAT.plans) == ["free", "starter", "builder", "pro", "elite"]
    assert CAT.source == "built-in"


def test_free_plan_allows_five_apps():
    assert CAT.plan("free").max_apps == 5


def test_builder_and_up_have_custom_domain_email_and_automations():
    for name in ("builder", "pro", "elite"):
        assert {"custom_domain_email", "automations", "backend_functions"} <= CAT.plan(name).features
    for name in ("free", "starter"):
        assert not CAT.plan(name).features & {"custom_domain_email", "automations", "backend_functions"}


@pytest.mark.parametrize("name", ["Builder", " PRO ", "ELITE"])
def test_plans_match_ignoring_case(name):
    assert CAT.plan(name).name == name.strip().lower()


def test_unknown_plan_is_refused_with_the_field():
    with pytest.raises(BadInput) as e:
        CAT.plan("platinum")
    assert e.value.field == "plan"
    assert "platinum" in e.value.message and "free" in e.value.message


# --- actions ------------------------------------------------------------------

ACTIONS = [
    "SendEmail",
    "UploadFile",
    "ExtractDataFromUploadedFile",
    "GenerateImage",
    "GenerateVideo",
    "GenerateSpeech",
    "invokeLLM",
    "agent",
    "automation",
    "message",
]


def test_shipped_catalog_has_every_action_of_spec():
    assert sorted(CAT.actions) == sorted(ACTIONS)
    assert CAT.action("message").pool == "message"
    assert all(CAT.action(a).pool == "integration" for a in ACTIONS if a != "message")


@pytest.mark.parametrize(
    "asked, name",
    [
        ("sendemail", "SendEmail"),
        ("SENDEMAIL", "SendEmail"),
        ("InvokeLLM", "invokeLLM"),
        ("invokellm", "invokeLLM"),
        ("  generatespeech ", "GenerateSpeech"),
        ("AGENT", "agent"),
        ("Message", "message"),
    ],
)
def test_actions_match_ignoring_case(asked, name):
    assert CAT.action(asked).name == name


def test_unknown_action_is_refused_with_the_field():
    with pytest.raises(BadInput) as e:
        CAT.action("SendFax")
    assert e.value.field == "action"
    assert "SendFax" in e.value.message


def test_shipped_prices_in_milli_credits():
    a = CAT.actions
    assert a["SendEmail"].price == 1000 and a["SendEmail"].custom_domain_price == 2000
    assert a["GenerateVideo"].price == 5000 and a["GenerateVideo"].per == "second"
    s = a["GenerateSpeech"]
    assert (s.price, s.per, s.block_chars, s.max_per_call) == (1000, "block", 50, 100_000)
    for name in ("invokeLLM", "agent"):
        assert a[name].models == {"automatic": 3000, "gemini-3-flash": 5000, "gpt-5": 15000}
        assert a[name].default_model == "automatic"
    assert a["message"].scopes == {"simple": 500, "feature": 1000, "module": 2000, "app-wide": 3500, "discuss": 300}
    assert a["automation"].requires == "automations"


# --- user catalogs: validation names the dotted key -----------------------------

BASE = """
[plans.free]
price_monthly = 0
price_yearly = 0
message = 25
integration = 100

[actions.SendEmail]
pool = "integration"
price = 1
"""


def refused(text: str) -> BadInput:
    with pytest.raises(BadInput) as e:
        parse_catalog(text, "my.toml")
    return e.value


def test_a_minimal_user_catalog_is_accepted():
    cat = parse_catalog(BASE, "my.toml")
    assert cat.source == "my.toml"
    assert cat.plan("free").message == 25_000
    assert cat.action("sendemail").price == 1000
    assert cat.plan("free").daily_message_cap is None


def test_string_amounts_with_up_to_three_decimals_are_accepted():
    cat = parse_catalog(BASE.replace("price = 1", 'price = "0.125"'), "my.toml")
    assert cat.action("SendEmail").price == 125


def test_toml_decimals_are_read_exactly_not_as_floats():
    cat = parse_catalog(BASE.replace("price = 1", "price = 0.3"), "my.toml")
    assert cat.action("SendEmail").price == 300


@pytest.mark.parametrize(
    "text, key",
    [
        (BASE.replace("price = 1", "price = -1"), "actions.SendEmail.price"),
        (BASE.replace("price = 1", 'price = "-1"'), "actions.SendEmail.price"),
        (BASE.replace("price = 1", 'price = "0.0001"'), "actions.SendEmail.price"),
        (BASE.replace("price = 1", 'price = "abc"'), "actions.SendEmail.price"),
        (BASE.replace("price = 1", "price = true"), "actions.SendEmail.price"),
        (BASE.replace("price = 1", "price = [1]"), "actions.SendEmail.price"),
        (BASE.replace("price = 1", 'price = "nan"'), "actions.SendEmail.price"),
        (BASE.replace("price = 1", "price = 0.0005"), "actions.SendEmail.price"),  # a TOML decimal, too fine
        (BASE.replace("price = 1", "price = inf"), "actions.SendEmail.price"),
        (BASE.replace("price = 1", 'price = "1e3"'), "actions.SendEmail.price"),
        (BASE.replace("price = 1", "price = 9999999999"), "actions.SendEmail.price"),
        (BASE.replace("price = 1", ""), "actions.SendEmail.price"),
        (BASE.replace('pool = "integration"', ""), "actions.SendEmail.pool"),
        (BASE.replace('pool = "integration"', 'pool = "both"'), "actions.SendEmail.pool"),
        (BASE.replace("message = 25", ""), "plans.free.message"),
        (BASE.replace("integration = 100", ""), "plans.free.integration"),
        (BASE.replace("price_yearly = 0", ""), "plans.free.price_yearly"),
        (BASE.replace("message = 25", "message = -25"), "plans.free.message"),
        (BASE + "colour = 3\n", "actions.SendEmail.colour"),
        (BASE.replace("message = 25", "message = 25\nmesage = 25"), "plans.free.mesage"),
        (BASE + "[extra]\nx = 1\n", "catalog.extra"),
        (BASE.replace("price = 1", 'models = { gpt = "x" }'), "actions.SendEmail.models.gpt"),
        (BASE.replace("price = 1", 'scopes = { simple = "0.5001" }'), "actions.SendEmail.scopes.simple"),
        (BASE.replace("message = 25", "message = 25\nmax_apps = 0"), "plans.free.max_apps"),
        (BASE.replace("message = 25", 'message = 25\nfeatures = "x"'), "plans.free.features"),
        (BASE.replace("plans.free", "plans.Free"), "plans.Free"),
        (BASE + '[actions.sendemail]\npool = "integration"\nprice = 1\n', "actions.sendemail"),
        (BASE.replace("price = 1", 'price = 1\nper = "block"'), "actions.SendEmail.block_chars"),
        (BASE.replace("price = 1", 'price = 1\nper = "minute"'), "actions.SendEmail.per"),
    ],
)
def test_bad_user_catalog_names_the_dotted_key(text, key):
    e = refused(text)
    assert "my.toml" in e.message  # the file is named
    assert f" {key}: " in e.message, e.message


def test_negative_price_message_in_full():
    e = refused(BASE.replace("price = 1", "price = -1"))
    assert "my.toml" in e.message
    assert e.message.endswith("actions.SendEmail.price: '-1' is not a non-negative decimal number of credits")


def test_four_decimals_message_says_why():
    e = refused(BASE.replace("price = 1", 'price = "0.0001"'))
    assert "actions.SendEmail.price" in e.message and "more than 3 decimals" in e.message


def test_invalid_toml_is_refused_naming_the_file():
    e = refused(BASE + "price = = 2\n")
    assert "my.toml" in e.message
    assert "not valid TOML" in e.message
    assert "line" in e.message


@pytest.mark.parametrize("text", ["", "[plans]\n", '[actions.X]\npool = "message"\nprice = 1\n'])
def test_a_catalog_without_plans_is_refused(text):
    e = refused(text)
    assert "catalog.plans" in e.message


def test_a_catalog_without_actions_is_refused():
    plans_only = BASE.split("[actions.SendEmail]")[0]
    assert "catalog.actions" in refused(plans_only).message


def test_the_shipped_json_twin_is_exactly_the_built_in_toml():
    """`credits` reads data/catalog.json at start (no tomllib on a script's `credits log`); the TOML is the
    source. After editing catalog.toml, regenerate: python -c "from credits_cli.domain.catalog import
    builtin_json as b; import pathlib as p; d = p.Path('credits_cli/data'); (d / 'catalog.json').write_text(
    b((d / 'catalog.toml').read_text()))" """
    from pathlib import Path

    from credits_cli.domain.catalog import builtin_json, parse_builtin, parse_catalog

    data = Path(__file__).parent.parent / "credits_cli" / "data"
    toml_text = (data / "catalog.toml").read_text(encoding="utf-8")
    json_text = (data / "catalog.json").read_text(encoding="utf-8")
    assert json_text == builtin_json(toml_text)
    assert parse_builtin(json_text) == parse_catalog(toml_text, "built-in")
