"""credits_cli.domain.pricing.price with the shipped catalog: every row of
docs/rules.md's integration table and the message scopes, in milli-credits."""

from __future__ import annotations

import importlib.resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credits_cli.domain.catalog import parse_catalog
from credits_cli.domain.pricing import Usage, describe, price
from credits_cli.errors import BadInput

CAT = parse_catalog(importlib.resources.files("credits_cli").joinpath("data/catalog.toml").read_text(), "built-in")
PLANS = ["free", "starter", "builder", "pro", "elite"]


def quote(action: str, plan: str = "builder", **kw):
    return price(CAT.action(action), Usage(action=action, **kw), CAT.plan(plan))


def cost(action: str, plan: str = "builder", **kw) -> int:
    return quote(action, plan, **kw).credits


def refused(action: str, plan: str = "builder", **kw) -> BadInput:
    with pytest.raises(BadInput) as e:
        quote(action, plan, **kw)
    return e.value


# --- flat prices ----------------------------------------------------------------


@pytest.mark.parametrize("plan", PLANS)
@pytest.mark.parametrize(
    "action, milli",
    [("SendEmail", 1000), ("UploadFile", 1000), ("ExtractDataFromUploadedFile", 1000), ("GenerateImage", 1000)],
)
def test_flat_integration_prices(action, milli, plan):
    q = quote(action, plan)
    assert (q.unit_cost, q.credits, q.count, q.pool) == (milli, milli, 1, "integration")
    assert q.action == action


def test_action_name_is_reported_in_the_catalogs_spelling():
    q = price(CAT.action("sendemail"), Usage(action="sendemail"), CAT.plan("free"))
    assert q.action == "SendEmail" and q.credits == 1000


# --- SendEmail from a custom domain ---------------------------------------------


@pytest.mark.parametrize("plan", ["builder", "pro", "elite"])
def test_custom_domain_email_costs_2_on_builder_and_up(plan):
    q = quote("SendEmail", plan, custom_domain=True)
    assert (q.unit_cost, q.credits, q.custom_domain) == (2000, 2000, True)
    assert cost("SendEmail", plan, custom_domain=True, count=3) == 6000


@pytest.mark.parametrize("plan", ["free", "starter"])
def test_custom_domain_email_is_refused_below_builder(plan):
    e = refused("SendEmail", plan, custom_domain=True)
    assert e.field == "custom_domain"
    assert plan in e.message


# --- GenerateVideo: 5 a second ---------------------------------------------------


@pytest.mark.parametrize("seconds, milli", [(1, 5000), (4, 20000), (60, 300_000), (1_000_000, 5_000_000_000)])
def test_video_costs_5_per_second(seconds, milli):
    q = quote("GenerateVideo", seconds=seconds)
    assert q.credits == milli and q.seconds == seconds


def test_video_without_seconds_is_refused():
    assert refused("GenerateVideo").field == "seconds"


def test_video_seconds_times_count():
    assert cost("GenerateVideo", seconds=4, count=3) == 60_000


# --- GenerateSpeech: 1 a started 50-character block, at most 100 a call --------


@pytest.mark.parametrize(
    "chars, credits",
    [
        (1, 1),
        (49, 1),
        (50, 1),
        (51, 2),
        (100, 2),
        (101, 3),
        (120, 3),
        (4999, 100),
        (5000, 100),
        (5001, 100),
        (1_000_000, 100),
    ],
)
def test_speech_blocks_and_cap(chars, credits):
    q = quote("GenerateSpeech", chars=chars)
    assert q.unit_cost == credits * 1000
    assert q.credits == credits * 1000
    assert q.chars == chars


def test_speech_cap_is_per_call_so_count_multiplies_it():
    assert cost("GenerateSpeech", chars=1_000_000, count=3) == 300_000
    assert cost("GenerateSpeech", chars=120, count=2) == 6000


def test_speech_without_chars_is_refused():
    assert refused("GenerateSpeech").field == "chars"


@settings(max_examples=300, deadline=None)
@given(chars=st.integers(1, 1_000_000), count=st.integers(1, 50))
def test_property_speech_cost(chars, count):
    blocks = (chars + 49) // 50
    assert cost("GenerateSpeech", chars=chars, count=count) == min(blocks, 100) * 1000 * count


# --- invokeLLM and agent: by model ---------------------------------------------


@pytest.mark.parametrize("action", ["invokeLLM", "agent"])
@pytest.mark.parametrize(
    "model, expected_model, milli",
    [
        (None, "automatic", 3000),
        ("automatic", "automatic", 3000),
        ("gemini-3-flash", "gemini-3-flash", 5000),
        ("gpt-5", "gpt-5", 15000),
        ("GPT-5", "gpt-5", 15000),
        ("Gemini-3-Flash", "gemini-3-flash", 5000),
        ("AUTOMATIC", "automatic", 3000),
        (" gpt-5 ", "gpt-5", 15000),
    ],
)
def test_models(action, model, expected_model, milli):
    q = quote(action, model=model)
    assert (q.model, q.unit_cost, q.credits, q.pool) == (expected_model, milli, milli, "integration")


@pytest.mark.parametrize("action", ["invokeLLM", "agent"])
def test_unknown_model_is_refused(action):
    e = refused(action, model="gpt-4")
    assert e.field == "model"
    assert "gpt-4" in e.message and "gpt-5" in e.message


# Regression: `usage.model or action.default_model` once priced --model '' as
# 'automatic' (3) while --model '  ' was refused.
def test_empty_model_is_refused():
    assert refused("invokeLLM", model="").field == "model"


def test_model_count_multiplies():
    assert cost("invokeLLM", model="gpt-5", count=4) == 60_000


# --- automation: builder and up ----------------------------------------------------


@pytest.mark.parametrize("plan", ["builder", "pro", "elite"])
def test_automation_costs_1_on_builder_and_up(plan):
    assert cost("automation", plan) == 1000


@pytest.mark.parametrize("plan", ["free", "starter"])
def test_automation_is_refused_below_builder(plan):
    e = refused("automation", plan)
    assert e.field == "action"
    assert "automations" in e.message


# --- message credits -------------------------------------------------------------


@pytest.mark.parametrize(
    "scope, milli",
    [
        ("simple", 500),
        ("feature", 1000),
        ("module", 2000),
        ("app-wide", 3500),
        ("discuss", 300),
        ("Simple", 500),
        ("APP-WIDE", 3500),
        (" discuss ", 300),
    ],
)
def test_message_scopes(scope, milli):
    q = quote("message", "free", scope=scope)
    assert (q.pool, q.unit_cost, q.credits) == ("message", milli, milli)
    assert q.scope == scope.strip().lower()


def test_message_with_its_real_cost():
    q = quote("message", "free", credits=1300)
    assert (q.unit_cost, q.credits, q.scope, q.pool) == (1300, 1300, None, "message")


def test_message_with_neither_credits_nor_scope_is_refused():
    e = refused("message", "free")
    assert e.field == "credits"
    assert "give credits (the real cost) or scope" in e.message  # the domain's words: the CLI names the options


def test_message_with_both_credits_and_scope_is_refused():
    assert refused("message", "free", scope="simple", credits=500).field == "scope"


def test_unknown_scope_is_refused():
    e = refused("message", "free", scope="huge")
    assert e.field == "scope" and "huge" in e.message


def test_message_scope_times_count():
    assert cost("message", "pro", scope="discuss", count=10) == 3000
    assert cost("message", "pro", credits=1300, count=3) == 3900


# --- --credits override and count ----------------------------------------------------


@pytest.mark.parametrize(
    "action, kw",
    [
        ("SendEmail", {}),
        ("UploadFile", {}),
        ("invokeLLM", {"model": "gpt-5"}),
        ("GenerateSpeech", {"chars": 5000}),
        ("GenerateVideo", {"seconds": 4}),
        ("SendEmail", {"custom_domain": True}),
    ],
)
def test_credits_override_replaces_the_catalog_unit_cost(action, kw):
    q = quote(action, credits=2500, count=3, **kw)
    assert (q.unit_cost, q.credits) == (2500, 7500)


@pytest.mark.parametrize("count", [1, 2, 7, 1_000_000])
def test_count_multiplies(count):
    assert cost("SendEmail", count=count) == 1000 * count
    assert cost("GenerateImage", count=count) == 1000 * count
    assert quote("UploadFile", count=count).count == count


def test_zero_credits_override_is_free():
    assert cost("message", "free", credits=0) == 0


# --- options that do not apply -------------------------------------------------------


@pytest.mark.parametrize(
    "action, kw, field",
    [
        ("SendEmail", {"seconds": 3}, "seconds"),
        ("UploadFile", {"model": "gpt-5"}, "model"),
        ("UploadFile", {"custom_domain": True}, "custom_domain"),
        ("GenerateImage", {"chars": 10}, "chars"),
        ("GenerateVideo", {"seconds": 3, "chars": 10}, "chars"),
        ("GenerateSpeech", {"chars": 10, "seconds": 3}, "seconds"),
        ("invokeLLM", {"scope": "simple"}, "scope"),
        ("invokeLLM", {"custom_domain": True}, "custom_domain"),
        ("message", {"model": "gpt-5", "scope": "simple"}, "model"),
        ("message", {"seconds": 3, "scope": "simple"}, "seconds"),
        ("SendEmail", {"scope": "simple"}, "scope"),
        ("automation", {"model": "gpt-5"}, "model"),
    ],
)
def test_options_that_do_not_apply_are_refused_naming_the_option(action, kw, field):
    e = refused(action, "builder", **kw)
    assert e.field == field
    assert e.message.startswith(field + ": ")
    assert CAT.action(action).name in e.message


# --- describe ---------------------------------------------------------------------------


def test_describe():
    assert describe(quote("invokeLLM", model="GPT-5")) == "invokeLLM (gpt-5)"
    assert describe(quote("GenerateVideo", seconds=4, count=3)) == "3 × GenerateVideo (4 s)"
    assert describe(quote("SendEmail")) == "SendEmail"
    assert describe(quote("SendEmail", custom_domain=True)) == "SendEmail (custom domain)"
