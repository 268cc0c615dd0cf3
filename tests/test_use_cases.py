"""The use cases called directly, without the CLI: what they return and what they leave in the store.

The CLI tests cover the same behaviour through argv and stdout; these pin the layer beneath it, so a
change of wording or rendering cannot hide a change of what was recorded (and the other way round).
"""

from __future__ import annotations

import contextlib

import pytest
from conftest import Cli

from credits_cli import reports, services
from credits_cli.domain.money import Credits, to_decimal
from credits_cli.domain.pricing import Usage
from credits_cli.errors import BadInput, KeyConflict, Refused
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
    shown = reports.show(s, str(r.id))
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
