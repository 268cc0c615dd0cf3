"""What `credits` says on screen matches what it does (issue 13, "wrong words and numbers on screen")."""

import re
from decimal import Decimal as D

import pytest
from conftest import one_line_error

T0 = "2026-03-01T09:00:00Z"
NOW = "2026-03-05T10:00:00Z"


def init(cli, plan="starter", *extra):
    r = cli("init", "--plan", plan, "--start", T0, *extra, now=T0)
    assert r.exit_code == 0, r.stderr


def meter(text, pool):
    """(used, total, left) as the human meter line of `pool` shows them."""
    line = next(line for line in text.splitlines() if re.match(pool + "[ :]", line))
    used, total, left = re.search(r"([\d,.]+) of ([\d,.]+) used · ([\d,.]+) left", line).groups()
    return tuple(D(x.replace(",", "")) for x in (used, total, left))


# --- 1. the balance adds up once bonus credits paid ------------------------------------------------


def coupon(cli, code, credits, expires):
    assert (
        cli(
            "coupon", "create", code, "--credits", credits, "--pool", "message", "--expires", expires, now=NOW
        ).exit_code
        == 0
    )
    assert cli("coupon", "redeem", code, now=NOW).exit_code == 0


def test_a_coupon_that_paid_shows_in_used_and_the_meter_adds_up(cli):
    init(cli)
    coupon(cli, "TEN-CREDITS", "10", "2026-03-20T00:00:00Z")  # expires before the allowance: it pays first
    assert cli("log", "message", "--credits", "10", now=NOW).exit_code == 0
    b = cli.json("balance", now=NOW)["message"]
    assert (
        b["allowance"],
        b["used"],
        b["allowance_used"],
        b["bonus_used"],
        b["allowance_left"],
        b["bonus"],
        b["available"],
    ) == (100, 10, 0, 10, 100, 0, 100)
    assert meter(cli("balance", now=NOW).stdout, "message") == (10, 110, 100)  # was "10 of 100 used · 100 left"


def test_past_the_allowance_the_meter_still_adds_up(cli):
    init(cli)
    coupon(cli, "TEN-CREDITS", "10", "2026-03-20T00:00:00Z")
    assert cli("log", "message", "--credits", "102", now=NOW).exit_code == 0
    b = cli.json("balance", now=NOW)["message"]
    assert (b["used"], b["allowance_used"], b["bonus_used"], b["allowance_left"]) == (102, 92, 10, 8)
    assert meter(cli("balance", now=NOW).stdout, "message") == (102, 110, 8)  # was "102 of 102 used · 8 left"


def test_the_free_plans_daily_cap_is_shown_beside_what_the_cycle_has_left(cli):
    init(cli, "free")
    assert cli("log", "message", "--credits", "2", now=NOW).exit_code == 0
    text = cli("balance", now=NOW).stdout
    assert meter(text, "message") == (2, 25, 23)
    assert "23 left · 3 today" in text


# --- 2. "used up" only when the pool is -------------------------------------------------------------


def outbox(cli):
    return [(n["kind"], n["pool"]) for n in cli.json("notifications", now=NOW)]


def test_asking_more_than_is_left_is_a_refusal_not_a_used_up_notice(cli):
    init(cli)
    one_line_error(cli("log", "message", "--credits", "101", now=NOW), code=3)
    assert outbox(cli) == []
    assert cli("log", "message", "--credits", "99.5", now=NOW).exit_code == 0  # 0.5 left: discuss costs 0.3
    one_line_error(cli("log", "message", "--credits", "1", now=NOW), code=3)
    assert outbox(cli) == []


def test_a_use_that_leaves_less_than_the_smallest_price_used_the_pool_up(cli):
    init(cli)
    assert cli("log", "message", "--credits", "99.8", now=NOW).exit_code == 0  # 0.2 left: below discuss's 0.3
    assert outbox(cli) == [("out_of_credits", "message")]
    assert cli("log", "invokeLLM", "--credits", "1999.5", now=NOW).exit_code == 0  # 0.5: below any integration price
    assert outbox(cli) == [("out_of_credits", "message"), ("out_of_credits", "integration")]


def test_a_refusal_in_a_used_up_pool_tells_the_owner(cli, tmp_path):
    init(cli)
    rows = tmp_path / "use.jsonl"
    rows.write_text(
        '{"at": "2026-03-02T00:00:00Z", "pool": "message", "action": "message", "quantity": 1, "credits": 99.9}\n'
    )
    assert cli("import", rows, now=NOW).exit_code == 0  # an import tells no one
    assert outbox(cli) == []
    one_line_error(cli("log", "message", "--scope", "discuss", now=NOW), code=3)
    assert outbox(cli) == [("out_of_credits", "message")]


def test_a_batch_line_asking_too_much_tells_no_one(cli):
    init(cli)
    r = cli("log", "--batch", now=NOW, input='{"action": "message", "credits": 150}\n{"action": "SendEmail"}\n')
    assert r.exit_code == 3, r.stdout
    assert outbox(cli) == []


# --- 3. the clock says the instant commands run at ---------------------------------------------------


def test_clock_advance_under_now_prints_the_clock_commands_use(cli):
    init(cli)
    r = cli("clock", "advance", "2d", now=NOW)
    assert r.exit_code == 0, r.stderr
    assert "commands run at 2026-03-05T10:00:00Z" in r.stdout  # --now, not the advanced 2026-03-07
    assert "simulated clock (2026-03-07T10:00:00Z)" in r.stdout
    body = cli.json("clock", now=NOW)
    assert (body["now"], body["simulated_at"], body["overridden"]) == (NOW, "2026-03-07T10:00:00Z", True)
    assert cli.json("balance", now=NOW)["now"] == body["now"]
    assert cli.json("clock")["now"] == "2026-03-07T10:00:00Z"  # without --now the simulated clock is used


# --- 4. NO_COLOR: only a non-empty value turns colour off -------------------------------------------


def in_a_terminal(args, env, columns=100):
    """stdout (and stderr) of `credits ARGS` run on a pseudo-terminal of `columns` columns."""
    import os
    import pty
    import subprocess
    import sys

    parent, child = pty.openpty()
    full = {k: v for k, v in os.environ.items() if not k.startswith(("CREDITS_", "NO_COLOR", "FORCE_COLOR"))}
    full.update(TERM="xterm-256color", COLUMNS=str(columns), LINES="50", **env)
    p = subprocess.Popen(
        [sys.executable, "-m", "credits_cli", *args], stdin=subprocess.DEVNULL, stdout=child, stderr=child, env=full
    )
    os.close(child)
    out = b""
    while True:
        try:
            chunk = os.read(parent, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(parent)
    assert p.wait(timeout=60) == 0, out
    return out.decode()


def test_an_empty_no_color_leaves_colour_on_and_a_set_one_turns_it_off(cli):
    init(cli)
    assert cli("log", "message", "--credits", "10", now=NOW).exit_code == 0
    env = {"CREDITS_DB": str(cli.db), "CREDITS_NOW": NOW}
    for args in (["balance"], ["daily", "--pool", "message"]):
        for unset in ({}, {"NO_COLOR": ""}):  # no NO_COLOR, an empty one: colour and block bars
            coloured = in_a_terminal(args, {**env, **unset})
            assert "\x1b[32m" in coloured and "█" in coloured and "#" not in coloured, (args, unset, coloured)
        plain = in_a_terminal(args, {**env, "NO_COLOR": "1"})
        assert "\x1b[3" not in plain and "█" not in plain and "#" in plain, (args, plain)


# --- 5. --db names a ledger, or a new file in an existing directory ----------------------------------


def snapshot(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


@pytest.mark.sqlite_file
def test_db_in_a_missing_directory_is_refused_and_creates_nothing(cli, tmp_path):
    target = tmp_path / "no" / "such" / "x.db"
    for how in ({"args": ("--db", target)}, {"env": {"CREDITS_DB": str(target)}}):
        r = cli(*how.get("args", ()), "balance", env=how.get("env"))
        line = one_line_error(r, field="--db")
        assert str(tmp_path / "no" / "such") in line
        assert not (tmp_path / "no").exists()


@pytest.mark.sqlite_file
def test_db_naming_another_programs_sqlite_file_is_refused_and_left_as_it_was(cli, tmp_path):
    import sqlite3

    for mode in ("delete", "wal"):
        folder = tmp_path / mode
        folder.mkdir()
        other = folder / "notes.sqlite"
        conn = sqlite3.connect(other)
        conn.execute(f"PRAGMA journal_mode={mode}")
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.execute("INSERT INTO notes VALUES ('keep me')")
        conn.commit()
        conn.close()
        before = snapshot(folder)
        for args in (("balance",), ("log", "SendEmail"), ("doctor",), ("init", "--plan", "free")):
            line = one_line_error(cli("--db", other, *args, now=NOW), field="--db")
            assert str(other) in line and "not a credits ledger" in line and "notes" in line
            assert snapshot(folder) == before, args


@pytest.mark.sqlite_file
def test_db_naming_a_file_that_is_not_sqlite_is_refused(cli, tmp_path):
    text = tmp_path / "readme.txt"
    text.write_bytes(b"not a database, a text that happens to be long enough " * 40)
    before = snapshot(tmp_path)
    line = one_line_error(cli("--db", text, "balance", now=NOW), field="--db")
    assert str(text) in line and "not an SQLite database" in line
    assert snapshot(tmp_path) == before


@pytest.mark.sqlite_file
def test_db_naming_an_empty_file_or_a_new_one_makes_a_ledger(cli, tmp_path):
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    for path in (empty, tmp_path / "new.db"):
        assert cli("--db", path, "init", "--plan", "free", "--start", T0, now=NOW).exit_code == 0
        assert cli("--db", path, "balance", now=NOW).exit_code == 0  # and opens again as a ledger


# --- 8. the free plan is not billed yearly -------------------------------------------------------------


def test_billed_yearly_then_free_is_free_monthly(cli):
    init(cli, "pro", "--billing", "yearly")
    assert cli("plan", "set", "free", now=NOW).exit_code == 0  # a downgrade: at the next reset
    later = "2026-04-02T00:00:00Z"
    b = cli.json("balance", now=later)
    assert (b["plan"], b["billing"]) == ("free", "monthly")
    assert "free plan (monthly)" in cli("balance", now=later).stdout
    one_line_error(cli("plan", "set", "free", "--billing", "yearly", now=later), field="--billing")
    one_line_error(
        cli("--workspace", "other", "init", "--plan", "free", "--billing", "yearly", now=NOW), field="--billing"
    )


# --- 9. a mistyped command: one suggestion ---------------------------------------------------------------


def test_a_mistyped_command_is_suggested_once(cli):
    for args, suggestion in ((("shar",), "'share'"), (("coupon", "redem", "x"), "'redeem'")):
        line = one_line_error(cli(*args, now=NOW))
        assert line.count("Did you mean") == 1 and suggestion in line, line


# --- 6. a narrow terminal keeps every field ---------------------------------------------------------------

LONG_APP, LONG_MEMBER = "customer-relationship-manager", "ana.maria-longname"


def narrow_ledger(cli):
    init(cli, "builder")
    for args in (
        ("invokeLLM", "--model", "gpt-5", "--app", LONG_APP, "--member", LONG_MEMBER),
        ("SendEmail", "--custom-domain", "--count", "20", "--app", "newsletter-weekly", "--member", "bob"),
        ("message", "--scope", "feature"),
    ):
        assert cli("log", *args, now=NOW).exit_code == 0


def test_events_at_40_columns_shows_every_field_of_every_event(cli):
    narrow_ledger(cli)
    out = cli("events", now=NOW, env={"COLUMNS": "40"}).stdout
    assert max(len(line) for line in out.splitlines()) <= 40
    for e in cli.json("events", now=NOW):
        block = out[out.index(f"event {e['id']} ") :]
        block = block[: block.index("\nevent ")] if "\nevent " in block else block
        assert (
            "2026-03-05 10:00" in block
            and f"{e['credits']} {dict(message='msg', integration='int')[e['pool']]}" in block
        ), block
        assert e["action"] in block and all(x is None or x in block for x in (e["model"], e["scope"])), block
        assert all(f"{k}: {e[k]}" in block for k in ("app", "member") if e[k]), block
    wide = cli("events", now=NOW, env={"COLUMNS": "120"}).stdout  # a wide terminal: the table, names whole
    assert wide.startswith("id ") and LONG_APP in wide and LONG_MEMBER in wide


def test_reports_at_40_columns_keep_names_whole(cli):
    narrow_ledger(cli)
    for cmd, names in (
        ("apps", (LONG_APP, "newsletter-weekly")),
        ("members", (LONG_MEMBER, "bob")),
        ("actions", ("invokeLLM (gpt-5)", "SendEmail")),
        ("balance", (LONG_APP, "newsletter-weekly")),
    ):
        out = cli(cmd, now=NOW, env={"COLUMNS": "40"}).stdout
        lines = out.splitlines()
        for name in names:
            assert any(name in line for line in lines), (cmd, name, out)  # whole, on one line
        for share in ("72.7%", "27.3%"):
            assert share in out, (cmd, out)
        assert " 40 " in out and " 15 " in out, (cmd, out)
