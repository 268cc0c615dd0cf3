"""The use cases called directly, without the CLI: what they return and what they leave in the store.

The CLI tests cover the same behaviour through argv and stdout; these pin the layer beneath it, so a
change of wording or rendering cannot hide a change of what was recorded (and the other way round).
"""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal

import pytest
from conftest import Cli

from credits_cli import foresight, reports, services, simulate
from credits_cli.domain.money import Credits, to_decimal
from credits_cli.domain.pricing import Usage
from credits_cli.errors import BadInput, CreditsError, KeyConflict, Refused
from credits_cli.render.jsonout import dumps
from credits_cli.services import LogRequest, Session
from credits_cli.store.ledger import Ledger
from credits_cli.store.queries import EventFilter

NOW = "2026-03-10T12:00:00Z"


def session(db, now=NOW) -> Session:
    return Session(db=str(db), now=now)


def log(s: Session, action="SendEmail", **kw) -> services.LogResult:
    usage_keys = {"model", "seconds", "chars", "custom_domain", "count", "credits", "scope"}
    usage = Usage(action=action, **{k: v for k, v in kw.items() if k in usage_keys})
    return services.log(s, LogRequest(usage=usage, **{k: v for k, v in kw.items() if k not in usage_keys}))


def rows(db, sql) -> list[tuple]:
    return Cli(db).sql(sql)


@pytest.fixture
def db(new_db):
    path = new_db("u")
    s = session(path)
    services.init(s, "builder", "2026-03-01T00:00:00Z", None, None)
    s.close()
    return path


def test_a_first_log_creates_default_in_its_own_write_and_says_so_once(new_db):
    db = new_db("new")
    s = session(db)
    r = log(s)
    assert r.id == 1 and r.balance.used == 1000
    notes = s.take_notices()
    assert len(notes) == 1 and "created workspace 'default' on the free plan" in notes[0]
    assert s.take_notices() == []  # announced once
    s.close()
    assert rows(db, "SELECT name, plan FROM workspaces") == [("default", "free")]


@pytest.mark.parametrize(
    "request_",
    [
        {"dry_run": True},  # quoted, not recorded
        {"action": "GenerateVideo", "seconds": 500},  # refused: more than the pool
        {"at": "2030-01-01T00:00:00Z"},  # bad input: after now
    ],
)
def test_a_first_log_that_records_nothing_creates_no_workspace(new_db, request_):
    db = new_db("new")
    s = session(db)
    with contextlib.suppress(BadInput, Refused):
        log(s, **request_)
    assert s.take_notices() == []
    s.close()
    assert rows(db, "SELECT count(*) FROM workspaces") == [(0,)]


def test_a_reading_use_case_keeps_its_first_use_workspace_only_when_the_command_succeeds(new_db):
    db = new_db("a")
    failed = session(db)
    services.balance(failed)
    failed.close()  # never released: the command failed after reading
    assert rows(db, "SELECT count(*) FROM workspaces") == [(0,)]

    ok = session(db)
    b = services.balance(ok)
    ok.release()
    ok.close()
    assert b.workspace == "default" and b.plan == "free"
    assert rows(db, "SELECT name FROM workspaces") == [("default",)]


def test_log_returns_the_pool_after_the_event_and_what_paid_it(db):
    s = session(db)
    r = log(s, action="invokeLLM", model="gpt-5", app="crm", member="ana")
    b = services.balance(s)
    s.close()
    assert r.balance.used == b.pools["integration"].used == r.quote.credits
    assert [p["source"] for p in r.paid_by] == ["allowance"]
    assert sum(p["credits"] for p in r.paid_by) == r.quote.credits
    pool = b.pools["integration"]
    assert pool.allowance_used + pool.allowance_left == pool.allowance
    assert pool.allowance_used + pool.bonus_used == pool.used


def test_results_carry_their_amounts_as_money_the_json_writer_prints_exactly(db):
    """Every amount a use case returns is Credits: the JSON of a result shows credits (0.5), never the
    milli-credits it counts in (500), whichever view reshapes it."""
    s = session(db)
    r = log(s, action="invokeLLM", model="gpt-5", app="crm")
    log(s, action="invokeLLM", model="gpt-5", app="crm", key="k")
    again = log(s, action="invokeLLM", model="gpt-5", app="crm", key="k")
    assert again.replayed
    b = services.balance(s)
    d = reports.distribution(s, "app", pool="integration")
    shown = reports.show(s, str(r.id)).event
    with pytest.raises(Refused) as refused:
        log(s, action="GenerateVideo", seconds=20, count=1000)
    s.close()
    pool = b.pools["integration"]
    amounts = [
        r.quote.credits,
        r.balance.available,
        again.quote.credits,
        *(p["credits"] for p in again.paid_by),
        *(p["credits"] for p in r.paid_by),
        pool.allowance,
        pool.used,
        pool.allowance_used,
        pool.bonus_used,
        pool.allowance_left,
        pool.bonus,
        pool.available,
        d.rows[0]["credits"],
        shown["credits"],
        shown["paid_by"][0]["credits"],
        refused.value.short,
    ]
    assert all(type(x) is Credits for x in amounts), [x for x in amounts if type(x) is not Credits]
    assert dumps({"credits": r.quote.credits}, indent=None) == f'{{"credits": {to_decimal(r.quote.credits)}}}'


def test_a_replayed_key_returns_the_first_event_and_another_payload_conflicts(db):
    s = session(db)
    first = log(s, key="k1", app="crm")
    again = log(s, key="k1", app="crm")
    assert again.replayed and again.id == first.id
    with pytest.raises(KeyConflict):
        log(s, key="k1", app="other")
    s.close()
    assert rows(db, "SELECT count(*) FROM events") == [(1,)]


def test_a_refused_log_leaves_the_store_as_it_was(db):
    s = session(db)
    log(s)
    before = rows(db, "SELECT count(*), coalesce(sum(credits_milli), 0) FROM events")
    with pytest.raises(Refused) as e:
        log(s, action="GenerateVideo", seconds=20, count=1000)
    s.close()
    assert e.value.limit == "pool" and e.value.short > 0
    assert rows(db, "SELECT count(*), coalesce(sum(credits_milli), 0) FROM events") == before


def test_reports_read_what_the_log_use_case_wrote(db):
    s = session(db)
    for app, n in (("crm", 3), ("bot", 1)):
        for _ in range(n):
            log(s, app=app)
    d = reports.distribution(s, "app", pool="integration")
    s.close()
    assert [(r["app"], r["events"]) for r in d.rows] == [("crm", 3), ("bot", 1)]


# --- simulation and foresight: typed results, written by the renderer ---------------------------


def as_json(result):
    """What the renderer writes for a result, parsed back (exact numbers, keys in order)."""
    return json.loads(dumps(result), parse_float=Decimal)


def test_simulation_returns_records_whose_fields_are_the_json_keys(db):
    s = session(db)
    promo = simulate.add_grant(s, "message", "12.5", "2026-03-20T00:00:00Z", "support gift")
    referral = simulate.add_grant(s, None, None, None, "a friend", kind="referral")
    simulate.coupon_create(s, "SPRING-2026", "25", "integration", None, "3")
    redeemed = simulate.coupon_redeem(s, "spring 2026")
    event = log(s, action="invokeLLM", model="gpt-5")
    voided = simulate.void(s, str(event.id), "logged twice")
    nxt = simulate.reset(s)
    s.close()

    assert type(promo) is simulate.Granted and promo.referrals is None
    assert (promo.credits, type(promo.credits)) == (12_500, Credits)
    assert list(as_json(promo)) == ["grant", "pool", "source", "credits", "expires_at", "reason"]
    assert as_json(promo)["expires_at"] == "2026-03-20T00:00:00Z" and as_json(promo)["credits"] == Decimal("12.5")
    # a referral grant, and only it, says which of the program's grants it is
    assert (referral.source, referral.referrals, referral.referral_max) == ("referral", 1, 5)
    assert list(as_json(referral))[-2:] == ["referrals", "referral_max"]

    assert type(redeemed) is simulate.CouponRedeemed and redeemed.code == "SPRING-2026"
    assert redeemed.available == 10_000_000 + 25_000 and type(redeemed.available) is Credits
    assert list(as_json(redeemed)) == ["code", "grant", "pool", "credits", "expires_at", "available"]

    assert type(voided) is simulate.Voided and (voided.voids, voided.id) == (event.id, event.id + 1)
    assert voided.restored == voided.credits == event.quote.credits and voided.expired == 0
    assert list(as_json(voided)) == ["id", "voids", "pool", "credits", "restored", "expired"]

    # the next reset nests records: each pool's, and the grants that expire unused in it
    assert type(nxt) is simulate.NextReset and list(nxt.pools) == ["message", "integration"]
    message = nxt.pools["message"]
    assert type(message) is simulate.PoolAtReset
    assert all(type(e) is simulate.Expiring for e in message.expires)
    assert [(e.source, e.left) for e in message.expires] == [("promo", 12_500), ("allowance", 250_000)]
    assert message.lost == 262_500 and message.granted == 250_000 and type(message.lost) is Credits
    written = as_json(nxt)
    assert list(written) == ["at", "from", "plan_after", "pools", "advanced"]  # from_ is written as "from"
    assert written["from"] == "2026-03-10T12:00:00Z" and written["at"] == "2026-04-01T00:00:00Z"
    assert list(written["pools"]["message"]) == ["expires", "lost", "granted", "available_after"]
    assert list(written["pools"]["message"]["expires"][0]) == ["grant", "source", "left", "expires_at"]


def test_a_plan_change_writes_from_and_the_apps_only_where_they_apply(db):
    s = session(db)
    for app in ("a", "b", "c", "d", "e", "f"):
        log(s, app=app)
    same = simulate.plan_set(s, "builder", None)
    up = simulate.plan_set(s, "elite", None)
    down = simulate.plan_set(s, "free", None)
    s.close()

    assert (same.change, same.from_, same.apps_kept) == ("unchanged", None, None)
    assert list(as_json(same)) == ["plan", "billing", "change", "effective_at", "added"]

    assert (up.change, up.from_) == ("upgrade", "builder") and up.added["message"] > 0
    assert all(type(v) is Credits for v in up.added.values())
    assert list(as_json(up)) == ["plan", "billing", "change", "effective_at", "added", "from"]

    # the free plan keeps five apps: the result lists those it keeps and the one it will refuse
    assert (down.change, down.from_) == ("downgrade", "elite")
    assert (down.apps_kept, down.apps_refused) == (["a", "b", "c", "d", "e"], ["f"])
    assert list(as_json(down))[-3:] == ["from", "apps_kept", "apps_refused"]


def test_foresight_returns_records_named_in_the_domains_words(db):
    s = session(db)
    for day in ("07", "08", "09"):
        log(s, action="invokeLLM", model="gpt-5", app="crm", at=f"2026-03-{day}T10:00:00Z")
    forecast = foresight.forecast(s)
    estimate = foresight.estimate(s, Usage(action="SendEmail", custom_domain=True), "40", None, None)
    advice = foresight.advise(s, flat="30")
    status = foresight.status_line(s)
    budget = foresight.budget_set(s, "crm", None, "integration", "100")
    used = foresight.budget_list(s)
    s.close()

    assert list(forecast) == ["message", "integration"]
    pace = forecast["integration"]
    assert type(pace) is foresight.PoolForecast and type(pace.p90) is foresight.Pace
    assert pace.available == 10_000_000 - 45_000 and type(pace.burn_per_day) is Credits
    assert list(as_json(pace)["p50"]) == ["burn_per_day", "runs_out_at"]

    # a plan without the feature says why with the error itself: the CLI names the option from it
    free = next(r for r in estimate.plans if r.plan == "free")
    assert type(free) is foresight.PlanFit and free.fits is False and isinstance(free.why, CreditsError)
    assert free.why.field == "custom_domain"
    assert estimate.fits == [r.plan for r in estimate.plans if r.fits] and "builder" in estimate.fits

    assert type(advice) is foresight.Advice and advice.plans[-1].plan == "flat"
    assert advice.plans[-1].credits_unused is None and advice.plans[-1].cost == 30_000
    assert type(advice.gpt5_to_automatic) is foresight.ModelSwitch and advice.gpt5_to_automatic.calls == 3
    assert advice.top_features == [foresight.TopFeature("invokeLLM", "crm", Credits(45_000))]
    assert list(as_json(advice))[:4] == ["cycles", "complete_cycles", "from", "until"]

    assert type(status) is foresight.Status and type(status.pools["message"]) is foresight.PoolStatus
    assert as_json(status)["pools"]["integration"] == {"available": 9955, "allowance": 10000}

    assert as_json(budget) == {"kind": "app", "name": "crm", "pool": "integration", "credits": 100}
    assert [(type(b), b.used, b.left) for b in used] == [(foresight.BudgetUse, 45_000, 55_000)]


def test_the_cli_writes_each_result_as_the_renderer_does(db):
    """The commands hand the use case's result to the renderer as it is: their --json is the result's JSON."""
    s = session(db)
    log(s, action="invokeLLM", model="gpt-5", app="crm")
    simulate.add_grant(s, "message", "5", None, "gift")
    simulate.coupon_create(s, "FALL-1", "5", "message", None, None)
    foresight.alert_add(s, "integration", "50%", None, None, None)
    foresight.budget_set(s, None, "ana", "message", "10")
    results = {
        ("grants",): simulate.list_grants(s),
        ("coupon", "list"): simulate.coupon_list(s),
        ("reset",): simulate.reset(s),
        ("clock",): simulate.clock(s, "show"),
        ("forecast",): foresight.forecast(s),
        ("advise",): foresight.advise(s),
        ("status",): foresight.status_line(s),
        ("alert", "list"): foresight.alert_list(s),
        ("budget", "list"): foresight.budget_list(s),
        ("balance",): services.balance(s),
    }
    s.close()
    cli = Cli(db)
    for args, result in results.items():
        assert cli.json(*args, now=NOW) == as_json(result), args


# --- the store's transactions ---------------------------------------------------------------


def test_a_failed_write_rolls_back_and_a_failed_savepoint_undoes_only_itself(db):
    store = Ledger.open(db)
    ws = store.get_workspace("default")
    with pytest.raises(RuntimeError), store.write():
        store.notify(ws.id, "note", None, ws.anchor, "one")
        raise RuntimeError
    with store.write():
        store.notify(ws.id, "note", None, ws.anchor, "kept")
        with pytest.raises(RuntimeError), store.write():
            store.notify(ws.id, "note", None, ws.anchor, "undone")
            raise RuntimeError
    store.close()
    assert rows(db, "SELECT message FROM notifications") == [("kept",)]


def test_a_bulk_write_keeps_its_cached_sums_exact_and_forgets_them_on_rollback(db):
    store = Ledger.open(db)
    ws = store.get_workspace("default")
    start, end = ws.anchor, ws.anchor.replace(month=4)
    event = {
        "at": "2026-03-02T00:00:00.000000Z",
        "recorded_at": "2026-03-02T00:00:00.000000Z",
        "pool": "integration",
        "action": "SendEmail",
        "quantity": 1,
        "custom_domain": 0,
        "credits_milli": 1000,
    }
    with pytest.raises(RuntimeError), store.bulk(buffered=True):
        assert store.sum_credits(ws.id, "integration", start, end) == 0
        store.insert_event(ws.id, event)
        assert store.sum_credits(ws.id, "integration", start, end) == 1000  # the cached sum follows
        assert store.total(ws.id, EventFilter(pool="integration"))[0] == 1000  # buffered rows are read
        raise RuntimeError
    assert store.sum_credits(ws.id, "integration", start, end) == 0
    with store.bulk(buffered=True):
        store.insert_event(ws.id, event)
    assert store.total(ws.id, EventFilter(pool="integration")) == (1000, 1)
    store.close()
    # the daily summary, caught up in bulk, agrees with the events; its trigger is back
    assert rows(db, "SELECT sum(credits_milli) FROM usage_days") == [(1000,)]
    assert "events_usage_days" in Cli(db).triggers()
