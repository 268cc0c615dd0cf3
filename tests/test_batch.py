"""`credits log --batch`: one event a JSON line on stdin, each handled like one `credits log`."""

import json
import os
import subprocess
import sys

from conftest import Cli

NOW = "2026-02-01T00:00:00Z"


def credits(db, *args, stdin=None):
    env = {**os.environ, "CREDITS_DB": str(db), "CREDITS_NOW": NOW}
    for var in ("CREDITS_WORKSPACE", "CREDITS_CATALOG"):
        env.pop(var, None)
    return subprocess.run(
        [sys.executable, "-m", "credits_cli", *args], env=env, input=stdin, capture_output=True, text=True, timeout=120
    )


def lines(*objs):
    return "".join((o if isinstance(o, str) else json.dumps(o)) + "\n" for o in objs)


def events(db):
    return Cli(db).sql(
        "SELECT at, pool, action, model, scope, quantity, seconds, chars, custom_domain,"
        " credits_milli, app, member, note, key, payload, fingerprint FROM events"
        " ORDER BY id"
    )


def single_logs(one, many, calls) -> list[int]:
    """Two free-plan ledgers; each call logged into `one` by its own `credits log`: their exit codes."""
    for db in (one, many):
        assert credits(db, "init", "--plan", "free", "--start", "2026-01-15T00:00:00Z").returncode == 0
    codes = []
    for c in calls:
        args = ["log", c["action"]]
        for k, v in c.items():
            if k != "action":
                args += ["--" + k, str(v)]
        codes.append(credits(one, *args, "-q").returncode)
    return codes


def test_a_batch_records_what_the_same_single_logs_record(new_db):
    calls = [
        {"action": "SendEmail", "app": "crm", "member": "ana"},
        {"action": "invokeLLM", "model": "gpt-5", "count": 3, "key": "k1"},
        {"action": "GenerateVideo", "seconds": 12, "app": "promo"},
        {"action": "message", "scope": "feature", "note": "login page"},
        {"action": "SendEmail", "custom_domain": True, "at": "2026-01-31T23:00:00Z"},
        {"action": "invokeLLM", "credits": "12.5"},
    ]
    one, many = new_db("one"), new_db("many")
    for db in (one, many):
        assert credits(db, "init", "--plan", "builder", "--start", "2026-01-15T00:00:00Z").returncode == 0
    for c in calls:
        args = ["log", c["action"]]
        for k, v in c.items():
            if k == "action":
                continue
            flag = "--" + k.replace("_", "-")
            args += [flag] if v is True else [flag, str(v)]
        assert credits(one, *args, "-q").returncode == 0
    r = credits(many, "log", "--batch", stdin=lines(*calls))
    assert r.returncode == 0, r.stderr
    results = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x["line"] for x in results] == [1, 2, 3, 4, 5, 6]
    assert [x["id"] for x in results] == [1, 2, 3, 4, 5, 6]
    assert events(one) == events(many)
    assert credits(one, "balance", "--json").stdout == credits(many, "balance", "--json").stdout
    assert credits(many, "check").returncode == 0


def test_bad_and_refused_lines_change_nothing_and_do_not_stop_the_others(new_db):
    db = new_db("b")
    credits(db, "init", "--plan", "free", "--start", "2026-01-15T00:00:00Z")
    r = credits(
        db,
        "log",
        "--batch",
        stdin=lines(
            {"action": "SendEmail"},
            "not json",
            {"action": "SendEmail", "colour": "red"},
            {"action": "GenerateVideo", "seconds": 1000},  # the free plan's 100 integration credits cannot pay it
            {"action": "SendEmail", "count": "nan"},
            ["SendEmail"],
            "",
            {"action": "SendEmail", "key": "same"},
        ),
    )
    assert r.returncode == 2  # some line was bad input
    out = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x["line"] for x in out] == [1, 2, 3, 4, 5, 6, 8]  # the blank line 7 is skipped
    assert "id" in out[0] and "id" in out[6]
    assert out[1]["error"]["code"] == "bad_input"
    assert out[2]["error"]["field"] == "colour"
    assert out[3]["error"]["code"] == "refused" and out[3]["error"]["pool"] == "integration"
    assert out[4]["error"]["field"] == "count"  # a line's field is its key, as the line wrote it
    assert out[4]["error"]["message"].startswith("count: 'nan' is not a whole number")
    assert out[5]["error"]["code"] == "bad_input"
    assert len(events(db)) == 2
    assert credits(db, "check").returncode == 0


def test_refusals_alone_exit_3_and_replays_exit_0(new_db):
    db = new_db("r")
    credits(db, "init", "--plan", "free", "--start", "2026-01-15T00:00:00Z")
    r = credits(
        db,
        "log",
        "--batch",
        stdin=lines({"action": "SendEmail", "key": "a"}, {"action": "GenerateVideo", "seconds": 1000}),
    )
    assert r.returncode == 3
    r = credits(
        db,
        "log",
        "--batch",
        "-q",
        stdin=lines({"action": "SendEmail", "key": "a"}, {"action": "SendEmail", "key": "a"}),
    )
    assert r.returncode == 0 and r.stdout == ""
    assert len(events(db)) == 1  # the key is one event however often it is sent
    r = credits(db, "log", "--batch", stdin=lines({"action": "SendEmail", "key": "a", "count": 2}))
    assert r.returncode == 2 and json.loads(r.stdout)["error"]["code"] == "key_conflict"


def test_batch_refuses_options_for_one_event(new_db):
    db = new_db("o")
    before = credits(db, "init", "--plan", "free")
    assert before.returncode == 0
    for args in (["log", "--batch", "SendEmail"], ["log", "--batch", "--app", "crm"], ["log", "--batch", "--json"]):
        r = credits(db, *args, stdin=lines({"action": "SendEmail"}))
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--" in r.stderr, (args, r.stderr)
    assert events(db) == []


def test_batch_through_the_typer_command_too(new_db):
    cli = Cli(new_db("t"))
    cli("init", "--plan", "builder", now=NOW)
    r = cli("log", "--batch", now=NOW, input=lines({"action": "SendEmail", "app": "x"}, {"action": "nope"}))
    assert r.exit_code == 2
    out = [json.loads(x) for x in r.stdout.splitlines()]
    assert out[0]["app"] == "x" and out[1]["error"]["field"] == "action"
    assert out[1]["error"]["message"].startswith("action: unknown action 'nope'")


def test_refused_lines_between_recorded_ones_leave_the_same_ledger_as_single_logs(new_db):
    calls = []
    for i in range(12):
        calls.append({"action": "SendEmail", "app": "a", "key": f"k{i}"})
        if i % 3 == 0:
            calls.append({"action": "GenerateVideo", "seconds": 30})  # 150 credits: more than the free plan has
        if i % 4 == 0:
            calls.append({"action": "invokeLLM", "model": "gpt-5"})  # 15: paid until the pool runs low
    one, many = new_db("one"), new_db("many")
    codes = single_logs(one, many, calls)
    assert 3 in codes and 0 in codes
    r = credits(many, "log", "--batch", stdin=lines(*calls))
    assert r.returncode == 3
    out = [json.loads(x) for x in r.stdout.splitlines()]
    assert [3 if "error" in x else 0 for x in out] == codes
    assert events(one) == events(many)
    assert credits(one, "balance", "--json").stdout == credits(many, "balance", "--json").stdout
    assert credits(many, "check").returncode == 0


def test_a_refused_line_that_read_the_daily_summary_leaves_it_exact(new_db):
    """A batch catches the daily summary up only when a line reads it (store/db.py deferred_summary): a line
    that reads it, and is then refused, must not take the earlier lines' days out of it."""
    calls = [
        {"action": "message", "credits": "2", "key": "today"},
        {"action": "message", "credits": "1"},  # reads only what the batch holds already: not yet summarized
        # back-dated to a day whose cap check reads the summary (new reads: catching up "today"), then refused
        {"action": "message", "credits": "6", "at": "2026-01-30T12:00:00Z"},
        {"action": "message", "credits": "1", "at": "2026-01-30T13:00:00Z"},
        {"action": "message", "credits": "4", "key": "over"},  # 2 + 1 + 4 > the free plan's 5 a day: refused
        {"action": "SendEmail", "app": "crm"},
        {"action": "message", "credits": "2"},
    ]
    one, many = new_db("one"), new_db("many")
    codes = single_logs(one, many, calls)
    assert codes == [0, 0, 3, 0, 3, 0, 0]
    r = credits(many, "log", "--batch", stdin=lines(*calls))
    assert [3 if "error" in json.loads(x) else 0 for x in r.stdout.splitlines()] == codes
    assert events(one) == events(many)
    for report in (["daily", "--json"], ["balance", "--json"], ["apps", "--json"]):
        assert credits(one, *report).stdout == credits(many, *report).stdout
    checked = credits(many, "check")
    assert checked.returncode == 0, checked.stdout
    assert "events_usage_days" in Cli(many).triggers()  # the summary's trigger, for every other writer, is back


def test_text_that_is_not_utf8_is_one_bad_line_and_the_others_are_recorded(new_db):
    """A lone surrogate (a JSON \\ud800 escape) in a value or a key: that line's error, not the batch's."""
    db = new_db("b")
    assert credits(db, "init", "--plan", "builder", "--start", "2026-01-15T00:00:00Z").returncode == 0
    r = credits(
        db,
        "log",
        "--batch",
        stdin=lines(
            {"action": "SendEmail", "app": "ok"},
            '{"action": "SendEmail", "app": "\\ud800"}',
            '{"\\udc00": 1}',
            {"action": "SendEmail", "app": "ok2"},
        ),
    )
    assert r.returncode == 2 and r.stderr == ""
    out = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x.get("id") for x in out] == [1, None, None, 2]
    assert out[1]["error"]["field"] == "app" and "not valid UTF-8" in out[1]["error"]["message"]
    assert out[2]["error"]["field"] == "\\udc00"
    assert [e[10] for e in events(db)] == ["ok", "ok2"]


def test_an_argument_that_is_not_utf8_is_bad_input_on_the_lean_log_path(new_db):
    db = new_db("b")
    assert credits(db, "init", "--plan", "builder", "--start", "2026-01-15T00:00:00Z").returncode == 0
    env = {**os.environ, "CREDITS_DB": str(db), "CREDITS_NOW": NOW}
    for args in ([b"--app", b"caf\xe9"], [b"--note=\xff", b"-q"]):
        r = subprocess.run(
            [os.fsencode(sys.executable), b"-m", b"credits_cli", b"log", b"SendEmail", *args],
            env=env,
            capture_output=True,
            timeout=120,
        )
        assert r.returncode == 2 and r.stdout == b""
        assert r.stderr.decode().count("\n") == 1 and "is not valid UTF-8 text" in r.stderr.decode()
    assert events(db) == []


def test_a_key_given_twice_on_a_line_is_that_lines_error(new_db):
    """{"count": 3, "count": 4} is a mistake: JSON parsers keep one of the two, silently."""
    db = new_db("b")
    assert credits(db, "init", "--plan", "builder", "--start", "2026-01-15T00:00:00Z").returncode == 0
    r = credits(
        db,
        "log",
        "--batch",
        stdin=lines('{"action": "SendEmail", "count": 3, "count": 4}', {"action": "SendEmail", "count": 2}),
    )
    assert r.returncode == 2 and r.stderr == ""
    out = [json.loads(x) for x in r.stdout.splitlines()]
    assert out[0]["line"] == 1 and out[0]["error"]["field"] == "count" and "twice" in out[0]["error"]["message"]
    assert out[1]["quantity"] == 2 and [e[5] for e in events(db)] == [2]


def test_a_line_names_each_field_by_its_key_and_the_command_line_by_its_options(new_db):
    db = new_db("n")
    credits(db, "init", "--plan", "builder", "--start", "2026-01-15T00:00:00Z")
    r = credits(
        db,
        "log",
        "--batch",
        stdin=lines(
            {"action": "message"},
            {"action": "invokeLLM", "model": "gpt-9"},
            {"action": "UploadFile", "custom_domain": True},
            {"action": "GenerateVideo"},
        ),
    )
    errors = [json.loads(x)["error"] for x in r.stdout.splitlines()]
    assert [e["field"] for e in errors] == ["credits", "model", "custom_domain", "seconds"]
    assert errors[0]["message"].startswith(
        "credits: message has no fixed price: give credits (the real cost) or scope ("
    )
    assert errors[3]["message"] == "seconds: GenerateVideo is priced per second: give seconds N"
    r = credits(db, "log", "message")  # the same errors on the command line name its options
    assert (
        r.returncode == 2
        and "--credits: message has no fixed price: give --credits (the real cost) or --scope" in r.stderr
    )
    r = credits(db, "log", "GenerateVideo", "--json")
    assert json.loads(r.stdout)["error"] == {
        "code": "bad_input",
        "field": "--seconds",
        "message": "--seconds: GenerateVideo is priced per second: give --seconds N",
    }
    assert events(db) == []
