"""A team's ledger on PostgreSQL (issue 16): members log and read, admins manage, and the server enforces it.

Every test runs against a real server with real login roles: a throwaway cluster of this module's own
(roles are global to a cluster, so the shared server is never touched), made once for the module. Each role
connects as itself (trust authentication: `postgresql://alice@127.0.0.1:PORT/db`), through `credits` or
through psycopg, as that person would in psql.

The cast: `lead` (CREATEROLE, not a superuser) runs the first command on a database it owns, so it owns the
tables and is the ledger's first admin; `alice` and `bob` are members; `carol` is an admin added with
`team add --as admin` (not the owner); `dave` can log in but is in no team; `ghost` cannot log in.

Most tests take a copy of one prepared ledger (`CREATE DATABASE ... TEMPLATE`, a tenth of a second). A copy
names the same group roles as the ledger it was copied from, and a role's membership is the cluster's, so a
test that changes a team (team add, team remove) makes a ledger of its own instead (`fresh`).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shlex
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import quote

import psycopg  # the test extra's: these tests skip only where no PostgreSQL server can be started
import pytest
from conftest import Cli, one_line_error, pg_dump, throwaway_cluster

from credits_cli.store import seals

NOW = "2026-11-02T10:00:00Z"
BEGAN = "2026-11-01T00:00:00Z"  # when a ledger's workspace began (init --start): its cycles start then
LEAD, ALICE, BOB, CAROL, DAVE, GHOST = "lead", "alice", "bob", "carol", "dave", "ghost"
NOT_A_MEMBER = "credits: not allowed: alice is a member of this ledger; an admin can"


class Server:
    """The module's cluster: its superuser's connection, the cast's roles, databases made for the tests."""

    def __init__(self, cluster):
        self.port = cluster.port
        self.su = psycopg.connect(cluster.url, autocommit=True)
        self.su.execute(f"CREATE ROLE {LEAD} LOGIN CREATEROLE")
        for role in (ALICE, BOB, CAROL, DAVE):
            self.su.execute(f"CREATE ROLE {role} LOGIN")
        self.su.execute(f"CREATE ROLE {GHOST} NOLOGIN")
        self.counter = itertools.count(1)

    def url(self, role: str, db: str, schema: str | None = None) -> str:
        where = f"?options=-csearch_path%3D{schema}" if schema else ""
        return f"postgresql://{quote(role, safe='')}@127.0.0.1:{self.port}/{db}{where}"

    def database(self, owner: str = LEAD, template: str | None = None) -> str:
        """A new database owned by `owner`: empty, or a copy of `template`."""
        name = f"team_{next(self.counter)}"
        self.su.execute(f"CREATE DATABASE {name} OWNER {owner}" + (f" TEMPLATE {template}" if template else ""))
        return name

    def ledger(self, plan: str = "builder", members=(ALICE, BOB), admins=(CAROL,)) -> Ledger:
        """A ledger of its own (its own group roles): `lead` runs `init` on a new database and adds the team."""
        led = Ledger(self, self.database())
        assert led(LEAD, "init", "--plan", plan, "--start", BEGAN).exit_code == 0
        for role, kind in [*((m, "member") for m in members), *((a, "admin") for a in admins)]:
            r = led(LEAD, "team", "add", role, "--as", kind)
            assert r.exit_code == 0, r.stderr
        return led


@dataclass
class Ledger:
    """One ledger (a schema of one database) and how each role uses it."""

    server: Server
    db: str
    ids: dict[str, int] = field(default_factory=dict)  # what the prepared ledger holds, by name
    schema: str | None = None  # the database's public schema, else this one

    def url(self, role: str) -> str:
        return self.server.url(role, self.db, self.schema)

    def __call__(self, role: str, *args, input: str | None = None, now: str = NOW):
        """`credits ARGS` run by `role` (in-process, as conftest's Cli runs it)."""
        return Cli(self.url(role))(*args, now=now, input=input)

    def json(self, role: str, *args):
        return Cli(self.url(role)).json(*args, now=NOW)

    def attempt(self, role: str, statement: str, params=None):
        """One statement in its own transaction as `role` (psql with that login): the server's error, or None
        when it was done and committed."""
        try:
            with psycopg.connect(self.url(role)) as conn:
                conn.execute(statement, params)
        except psycopg.Error as e:
            return e
        return None

    def rows(self, query: str, params=None) -> list[tuple]:
        """A read as the superuser."""
        with psycopg.connect(self.server.url("postgres", self.db), autocommit=True) as conn:
            return conn.execute(query, params).fetchall()

    def state(self) -> str:
        """Every row of every table (the notification outbox included), and who is in which ledger's group
        roles (the cluster's): what a refused command must leave as it was."""
        rows = pg_dump(self.server.url("postgres", self.db))
        team = self.server.su.execute(
            "SELECT g.rolname, r.rolname, am.admin_option FROM pg_auth_members am"
            " JOIN pg_roles g ON g.oid = am.roleid JOIN pg_roles r ON r.oid = am.member"
            " WHERE g.rolname LIKE 'credits%' ORDER BY 1, 2"
        ).fetchall()
        return "\n".join([*rows, *map(repr, team)])

    def members_of_events(self) -> list[tuple[int, str]]:
        return [(r[0], r[1]) for r in self.rows("SELECT id, member FROM events ORDER BY id")]

    def check(self, role: str = LEAD) -> dict:
        """`credits check --json` and its exit code (0 clean, 1 problems)."""
        r = self(role, "check", "--json")
        assert r.exit_code in (0, 1), (r.exit_code, r.stderr)
        found = json.loads(r.stdout)
        assert (r.exit_code == 0) == found["ok"], found
        return found


def post(address: str) -> list[str]:
    """`share submit`'s options for a post at https://ADDRESS."""
    platform = "linkedin" if address.startswith("linkedin") else "x"
    return ["--platform", platform, "--url", f"https://{address}", "--followers", "500"]


def allowed(result) -> None:
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)


# -- the cluster and the prepared ledger ---------------------------------------------------------------


@pytest.fixture(scope="module")
def server():
    with throwaway_cluster("fsync=off", "synchronous_commit=off", "full_page_writes=off") as cluster:
        s = Server(cluster)
        yield s
        s.su.close()


@pytest.fixture(scope="module")
def prepared(server) -> Ledger:
    """A ledger with something in every table: the team (alice, bob members; carol admin), events of each,
    a coupon redeemed by a member, a share rejected and one pending, a plan change, a budget and an alert."""
    led = server.ledger()
    for args in (
        ("coupon", "create", "WELCOME", "--credits", "5", "--pool", "message", "--uses", "10"),
        ("budget", "set", "--app", "crm", "--pool", "integration", "--credits", "100"),
        ("alert", "add", "--pool", "integration", "--at", "80%"),
        ("coupon", "create", "SPRING", "--credits", "3", "--pool", "message"),  # for a member to redeem
    ):
        allowed(led(LEAD, *args))
    led.ids["alice_event"] = led.json(ALICE, "log", "agent", "--app", "crm")["id"]
    led.ids["bob_event"] = led.json(BOB, "log", "agent", "--app", "web")["id"]
    allowed(led(ALICE, "coupon", "redeem", "WELCOME"))
    allowed(led(BOB, "log", "agent", "--credits", "8000"))  # the alert at 80% fires: a notification
    share = led.json(BOB, "share", "submit", *post("linkedin.com/posts/bob-1"))
    allowed(led(CAROL, "share", "reject", str(share["id"])))
    share = led.json(ALICE, "share", "submit", *post("x.com/alice/status/2"))
    led.ids["pending_share"] = share["id"]
    allowed(led(LEAD, "plan", "set", "pro"))
    led.ids["alert"] = led.json(LEAD, "alert", "list")[0]["id"]
    every = "events grants plan_changes coupons redemptions shares notifications team_changes budgets alerts"
    for table in [*every.split(), "allocations", "grant_usage", "usage_days"]:
        assert led.rows(f"SELECT count(*) FROM {table}")[0][0] > 0, f"the prepared ledger has no {table}"
    assert led.check()["ok"]
    return led


class Made:
    """The databases one test makes, dropped as it ends (their files go before they are ever written out)."""

    def __init__(self, server: Server):
        self.server, self.names = server, []

    def database(self, owner: str = LEAD, template: str | None = None) -> Ledger:
        """An empty database (no ledger yet), or a copy of `template`'s."""
        self.names.append(self.server.database(owner, template))
        return Ledger(self.server, self.names[-1])

    def ledger(self, **team) -> Ledger:
        """A ledger of its own (see Server.ledger)."""
        led = self.server.ledger(**team)
        self.names.append(led.db)
        return led


@pytest.fixture
def made(server) -> Iterator[Made]:
    m = Made(server)
    yield m
    for name in m.names:
        server.su.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
def ledger(made, prepared) -> Ledger:
    """A copy of the prepared ledger, for one test."""
    led = made.database(template=prepared.db)
    led.ids.update(prepared.ids)
    return led


@pytest.fixture
def fresh(made) -> Ledger:
    """A ledger of its own (its own group roles), for a test that changes the team."""
    return made.ledger()


# -- what a member may do ---------------------------------------------------------------------------

MEMBER_MAY = [
    ["log", "agent", "--app", "crm"],
    ["log", "agent", "--member", ALICE, "--json"],
    ["log", "agent", "--at", "2026-11-01T12:00:00Z"],  # before the others: they are paid again after it
    ["log", "message", "--scope", "feature"],
    ["apps"],
    ["members"],
    ["actions"],
    ["daily"],
    ["events"],
    ["events", "--json"],
    ["show", "{alice_event}"],
    ["show", "{bob_event}"],  # another member's: everything is read by all
    ["export", "--format", "csv"],
    ["export", "--format", "json"],
    ["export", "--format", "jsonl"],
    ["export", "--format", "journal"],
    ["export", "--format", "xlsx", "-o", "{tmp}/events.xlsx"],
    ["balance"],
    ["balance", "--json"],
    ["status"],
    ["forecast"],
    ["estimate", "agent", "--per-day", "10"],
    ["advise"],
    ["check"],
    ["grants"],
    ["notifications"],
    ["coupon", "redeem", "SPRING"],
    ["coupon", "list"],
    ["share", "submit", *post("linkedin.com/posts/alice-3")],
    ["doctor"],
    ["budget", "list"],
    ["alert", "list"],
    ["clock"],
    ["reset"],
    ["watch", "--interval", "0.1", "--iterations", "2"],
    ["copy", "{tmp}/backup.db"],
    ["plans"],
    ["prices"],
]


def decide_the_pending_share(ledger: Ledger) -> None:
    """A workspace has one share pending at a time: the prepared ledger's is rejected, for another to be submitted."""
    allowed(ledger(CAROL, "share", "reject", str(ledger.ids["pending_share"])))


def filled(args, ledger: Ledger, tmp_path=None) -> list[str]:
    return [a.format(tmp=tmp_path, **ledger.ids) for a in args]


@pytest.mark.parametrize("args", MEMBER_MAY, ids=" ".join)
def test_a_member_may_run_every_command_a_member_may(ledger, tmp_path, args):
    if args[:2] == ["share", "submit"]:
        decide_the_pending_share(ledger)
    r = ledger(ALICE, *filled(args, ledger, tmp_path))
    allowed(r)
    assert ledger.check()["ok"]  # what a member's command wrote keeps the ledger whole


def test_what_a_members_commands_write_is_theirs_and_whole(ledger):
    before = ledger.members_of_events()
    assert ledger.json(ALICE, "log", "agent", "--app", "crm")["member"] == ALICE
    redeemed = ledger.json(ALICE, "coupon", "redeem", "SPRING")
    decide_the_pending_share(ledger)
    shared = ledger.json(ALICE, "share", "submit", *post("linkedin.com/posts/alice-4"))
    after = ledger.members_of_events()
    assert after[: len(before)] == before and [m for _, m in after[len(before) :]] == [ALICE]
    coupon_grants = ledger.rows("SELECT amount_milli FROM grants WHERE source = 'coupon' ORDER BY id")
    assert coupon_grants[-1] == (3000,) and redeemed["credits"] == 3
    assert ledger.rows("SELECT status FROM shares WHERE id = %s", (shared["id"],)) == [("pending",)]
    assert ledger.check()["ok"]


def test_a_member_logs_as_itself_and_may_name_no_one_else(ledger):
    assert ledger.json(ALICE, "log", "agent")["member"] == ALICE
    assert ledger.json(BOB, "log", "agent", "--member", BOB)["member"] == BOB
    before = ledger.state()
    line = one_line_error(ledger(ALICE, "log", "agent", "--member", BOB), code=4)
    assert line.startswith("credits: not allowed: alice is a member of this ledger") and "'bob'" in line
    assert ledger.state() == before
    r = ledger(ALICE, "log", "agent", "--member", BOB, "--json")
    assert r.exit_code == 4 and json.loads(r.stdout)["error"]["code"] == "not_allowed"
    assert ledger.state() == before


def test_a_members_batch_records_its_own_lines_and_refuses_one_naming_someone_else(ledger):
    before = ledger.members_of_events()
    lines = [
        {"action": "agent", "key": "b1"},
        {"action": "agent", "member": BOB, "key": "b2"},
        {"action": "agent", "member": ALICE, "key": "b3"},
    ]
    r = ledger(ALICE, "log", "--batch", input="".join(json.dumps(line) + "\n" for line in lines))
    assert r.exit_code == 4, (r.stdout, r.stderr)
    results = [json.loads(line) for line in r.stdout.splitlines()]
    assert [x["line"] for x in results] == [1, 2, 3]
    assert "id" in results[0] and "id" in results[2] and "error" not in results[0]
    assert results[1]["error"]["code"] == "not_allowed" and "bob" in results[1]["error"]["message"]
    after = ledger.members_of_events()
    assert after[: len(before)] == before and [m for _, m in after[len(before) :]] == [ALICE, ALICE]
    assert ledger.rows("SELECT key FROM events WHERE key IS NOT NULL ORDER BY id") == [("b1",), ("b3",)]
    assert ledger.check()["ok"]


def test_an_admin_logs_for_anyone(ledger):
    assert ledger.json(CAROL, "log", "agent", "--member", BOB)["member"] == BOB
    assert ledger.json(LEAD, "log", "agent", "--member", "zoe")["member"] == "zoe"
    r = ledger(CAROL, "log", "--batch", input='{"action": "agent", "member": "alice"}\n{"action": "agent"}\n')
    assert r.exit_code == 0, r.stdout
    assert [m for _, m in ledger.members_of_events()[-4:]] == [BOB, "zoe", ALICE, None]
    assert ledger.check()["ok"]


# -- what only an admin may do --------------------------------------------------------------------

ADMIN_ONLY = [
    ["--workspace", "second", "init", "--plan", "starter"],
    ["plan", "set", "builder"],
    ["grant", "--pool", "message", "--credits", "5", "--reason", "a promo"],
    ["grant", "--kind", "referral", "--reason", "a friend"],
    ["topup", "--pool", "message", "--packs", "1"],
    ["void", "{alice_event}", "--reason", "a mistake"],
    ["import", "{tmp}/events.csv"],
    ["coupon", "create", "NEWCODE", "--credits", "5", "--pool", "message"],
    ["share", "approve", "{pending_share}"],
    ["share", "reject", "{pending_share}"],
    ["budget", "set", "--member", ALICE, "--pool", "integration", "--credits", "50"],
    ["budget", "remove", "--app", "crm"],
    ["alert", "add", "--pool", "message", "--left", "10"],
    ["alert", "remove", "{alert}"],
    ["clock", "set", "2026-11-05T00:00:00Z"],
    ["clock", "advance", "1d"],
    ["clock", "real"],
    ["reset", "--advance"],
    ["team", "add", DAVE],
    ["team", "add", BOB, "--as", "admin"],
    ["team", "list"],
    ["team", "remove", BOB],
]
IMPORTED = "at,pool,action,quantity,credits,app,member\n2026-11-02T10:00:00Z,integration,agent,1,3,imported,zoe\n"


@pytest.mark.parametrize("args", ADMIN_ONLY, ids=" ".join)
def test_a_member_may_not_run_an_admins_command_and_an_admin_may(request, tmp_path, args):
    # a command that changes the team gets a ledger with group roles of its own
    ledger = request.getfixturevalue("fresh" if args[0] == "team" else "ledger")
    (tmp_path / "events.csv").write_text(IMPORTED)
    args = filled(args, ledger, tmp_path)
    if args[:2] == ["clock", "real"]:
        allowed(ledger(CAROL, "clock", "set", "2026-11-05T00:00:00Z"))  # a clock to go back from
    before = ledger.state()
    line = one_line_error(ledger(ALICE, *args), code=4)
    assert line.startswith(NOT_A_MEMBER), line
    assert ledger.state() == before
    r = ledger(CAROL, *args)
    allowed(r)
    if args[:2] != ["team", "list"]:
        assert ledger.state() != before  # the admin's command did what the member's did not
    assert ledger.check()["ok"]


def test_a_member_may_not_init_the_workspace_it_uses(ledger):
    before = ledger.state()
    line = one_line_error(ledger(BOB, "init", "--plan", "elite"), code=4)
    assert line.startswith("credits: not allowed: bob is a member of this ledger; an admin can set up a workspace")
    assert ledger.state() == before


def test_an_admins_command_refused_to_a_member_in_json(ledger):
    before = ledger.state()
    r = ledger(ALICE, "grant", "--pool", "message", "--credits", "5", "--reason", "mine", "--json")
    assert r.exit_code == 4
    error = json.loads(r.stdout)["error"]
    assert error["code"] == "not_allowed" and error["message"].startswith("not allowed: alice is a member")
    assert r.stderr.strip() == "credits: " + error["message"]
    assert ledger.state() == before


def test_only_an_admin_copies_a_ledger_into_a_teams(ledger, tmp_path):
    solo = Cli(tmp_path / "solo.db")
    allowed(solo("--workspace", "solo", "init", "--plan", "starter", now=NOW))
    allowed(solo("--workspace", "solo", "log", "agent", "--app", "mine", now=NOW))
    before = ledger.state()
    for role, says in (
        (ALICE, "alice is a member of the ledger at"),
        (DAVE, "dave is not in the team of the ledger at"),
    ):
        line = one_line_error(solo("copy", ledger.url(role), now=NOW), code=4)
        assert line.startswith(f"credits: not allowed: {says}") and "an admin of it can copy into it" in line
    assert ledger.state() == before
    allowed(solo("copy", ledger.url(CAROL), now=NOW))
    assert [e["app"] for e in ledger.json(ALICE, "--workspace", "solo", "events")] == ["mine"]
    assert ledger.check()["ok"]


# -- a role that is not in the team ---------------------------------------------------------------

OUTSIDER_TRIES = [
    ["balance"],
    ["log", "agent"],
    ["log", "agent", "--member", DAVE],
    ["events"],
    ["check"],
    ["doctor"],
    ["export", "--format", "csv"],
    ["status"],
    ["grant", "--pool", "message", "--credits", "5", "--reason", "mine"],
    ["init", "--plan", "pro"],
    ["team", "list"],
    ["team", "add", DAVE, "--as", "admin"],
]


@pytest.mark.parametrize("args", OUTSIDER_TRIES, ids=" ".join)
def test_a_role_not_in_the_team_is_told_so_and_changes_nothing(ledger, args):
    before = ledger.state()
    line = one_line_error(ledger(DAVE, *args), code=4)
    assert (
        line
        == "credits: not allowed: dave is not in the team of this ledger; an admin can add it: credits team add dave"
    )
    assert ledger.state() == before


def test_a_role_not_in_the_team_reads_nothing_in_psql(ledger):
    for table in ("events", "grants", "workspaces", "team_changes", "v_events"):
        e = ledger.attempt(DAVE, f"SELECT count(*) FROM {table}")
        assert e is not None and e.sqlstate == "42501", (table, e)
    # the team is readable by anyone, so that credits can tell an outsider so
    assert ledger.attempt(DAVE, "SELECT role FROM credits_team") is None


def test_a_ledger_in_a_schema_of_its_own_tells_a_role_not_in_its_team_so(made):
    """Two ledgers of one database, each in its schema: a role not in a ledger's team may not even use its
    schema (the server's USAGE privilege)."""
    public = made.database()
    led = Ledger(public.server, public.db, schema="team_a")
    assert public.attempt(LEAD, "CREATE SCHEMA team_a") is None
    allowed(led(LEAD, "init", "--plan", "starter"))
    allowed(led(LEAD, "team", "add", ALICE))
    assert led.json(ALICE, "log", "agent")["member"] == ALICE
    line = one_line_error(led(DAVE, "balance"), code=4)
    assert line == (
        "credits: not allowed: dave may not use the schema 'team_a': it is not in the team of the ledger there"
    )
    # the public schema's ledger of the same database is another, with a team of its own
    allowed(public(LEAD, "init", "--plan", "builder"))
    one_line_error(public(ALICE, "balance"), code=4)


# -- the server enforces it: raw SQL with a member's, an admin's and the owner's own login ---------------

# The ledger's entries, and a change of each (an UPDATE may name only some columns).
ENTRIES = {
    "events": "credits_milli = credits_milli + 1",
    "grants": "amount_milli = amount_milli + 1",
    "plan_changes": "plan = 'elite'",
    "coupons": "amount_milli = amount_milli + 1",
    "redemptions": "at = at || 'x'",
    "shares": "url = url || '/x'",
    "notifications": "message = message || '!'",
    "team_changes": "role = 'mallory'",
}
# A privilege the role lacks, or a team's rule (a trigger's insufficient_privilege): exit 4 in credits; a trigger's
# refusal of a change (the ledger is append-only).
NOT_PERMITTED = {"42501"}
REFUSED = {*NOT_PERMITTED, "P0001"}


def refused(ledger: Ledger, role: str, statement: str, codes=REFUSED):
    """`statement` as `role` fails with a privilege's or a trigger's error (SQLSTATE in `codes`), and leaves
    everything as it was."""
    before = ledger.state()
    e = ledger.attempt(role, statement)
    assert e is not None, f"{role} could: {statement}"
    assert e.sqlstate in codes, (statement, e.sqlstate, str(e))
    assert ledger.state() == before, statement
    return e


@pytest.mark.parametrize("role", [ALICE, CAROL, LEAD], ids=["member", "admin", "owner"])
@pytest.mark.parametrize("table", ENTRIES)
def test_no_one_updates_deletes_or_truncates_an_entry(ledger, role, table):
    key = "rowid" if table == "redemptions" else "id"
    newest = f"WHERE {key} = (SELECT max({key}) FROM {table})"
    for statement in (
        f"UPDATE {table} SET {ENTRIES[table]}",
        f"UPDATE {table} SET {ENTRIES[table]} {newest}",
        f"UPDATE {table} SET {key} = {key} + 1000 {newest}",  # a member may name the id of some (to lock rows)
        f"DELETE FROM {table}",
        f"DELETE FROM {table} {newest}",
        f"TRUNCATE {table} CASCADE",
    ):
        e = refused(ledger, role, statement)
        if role == LEAD:  # the owner holds every privilege: the triggers refuse
            assert "append-only" in str(e), (statement, str(e))
    assert ledger.check()["ok"]


def grant_row(source: str, amount_milli: int = 1_000_000, pool: str = "message") -> str:
    return (
        "INSERT INTO grants (workspace_id, pool, source, amount_milli, starts_at, expires_at, granted_at, reason)"
        f" VALUES (1, '{pool}', '{source}', {amount_milli}, '{NOW}', NULL, '{NOW}', 'raw SQL')"
    )


NEXT_CYCLE = ("2026-12-01T00:00:00.000000Z", "2027-01-01T00:00:00.000000Z")  # the prepared ledger's next cycle


def next_allowance_row(amount: str | None = None, starts_at=NEXT_CYCLE[0], expires_at=NEXT_CYCLE[1]) -> str:
    """The integration allowance of the prepared ledger's next cycle, as a member's log would write it (the
    amount this ledger records for its plan then, pro, unless another is given), without its seal."""
    recorded = "(SELECT amount_milli FROM team_allowances WHERE plan = 'pro' AND pool = 'integration')"
    return (
        "INSERT INTO grants (workspace_id, pool, source, amount_milli, starts_at, expires_at, granted_at, reason)"
        f" VALUES (1, 'integration', 'allowance', {amount or recorded}, '{starts_at}', '{expires_at}',"
        f" '{starts_at}', 'raw SQL')"
    )


def event_row(member: str | None, credits_milli: int = 3000, corrects: int | None = None) -> str:
    who = "NULL" if member is None else f"'{member}'"
    return (
        "INSERT INTO events (workspace_id, at, recorded_at, pool, action, quantity, credits_milli, member, corrects)"
        f" VALUES (1, '{NOW}', '{NOW}', 'integration', 'agent', 1, {credits_milli}, {who},"
        f" {'NULL' if corrects is None else corrects})"
    )


MEMBER_MAY_NOT_INSERT = {
    "a promo grant": grant_row("promo"),
    "a referral grant": grant_row("referral"),
    "a share's grant": grant_row("share"),
    "a top-up": grant_row("topup"),
    "a coupon's grant without its redemption": grant_row("coupon", 5000),
    "a plan change": "INSERT INTO plan_changes (workspace_id, plan, billing, requested_at, effective_at)"
    f" VALUES (1, 'elite', 'monthly', '{NOW}', '{NOW}')",
    "a coupon": "INSERT INTO coupons (code, display, pool, amount_milli, created_at)"
    f" VALUES ('MINE', 'MINE', 'message', 100000, '{NOW}')",
    "a budget": "INSERT INTO budgets (workspace_id, kind, name, pool, credits_milli, created_at)"
    f" VALUES (1, 'member', 'alice', 'integration', 999999999, '{NOW}')",
    "an alert": "INSERT INTO alerts (workspace_id, pool, at_percent, by_mid_cycle, exec, created_at)"
    f" VALUES (1, 'message', 1, 0, 'touch /tmp/owned', '{NOW}')",
    "a team change": f"INSERT INTO team_changes (at, role, change, kind, made_by) VALUES ('{NOW}', 'alice', 'add',"
    " 'admin', 'lead')",
    "a row of credits_team": "INSERT INTO credits_team VALUES ('boss', 'alice')",
    "a workspace": "INSERT INTO workspaces (name, plan, billing, anchor, timezone, created_at)"
    f" VALUES ('mine', 'elite', 'monthly', '{NOW}', 'UTC', '{NOW}')",
    "a simulated clock": "INSERT INTO sim_clock VALUES (1, '2030-01-01T00:00:00Z')",
    "an event of someone else's": event_row(BOB),
    "an event of no one's": event_row(None),
    "a void of its own event": event_row(ALICE, -3000, corrects=1),
    "events of its own and of someone else's in one statement": event_row(ALICE) + f", (1, '{NOW}', '{NOW}',"
    " 'integration', 'agent', 1, 3000, 'bob', NULL)",
}


@pytest.mark.parametrize("what", MEMBER_MAY_NOT_INSERT)
def test_a_member_inserts_none_of_what_an_admin_writes(ledger, what):
    refused(ledger, ALICE, MEMBER_MAY_NOT_INSERT[what], NOT_PERMITTED)


def test_a_member_copies_no_event_of_someone_else_s(ledger):
    """COPY (what log --batch writes by) is held by the same rules as INSERT."""
    before = ledger.state()
    columns = "workspace_id, at, recorded_at, pool, action, quantity, credits_milli, member"
    with (
        pytest.raises(psycopg.Error) as e,
        psycopg.connect(ledger.url(ALICE)) as conn,
        conn.cursor().copy(f"COPY events ({columns}) FROM STDIN") as copy,
    ):
        copy.write_row((1, NOW, NOW, "integration", "agent", 1, 3000, ALICE))
        copy.write_row((1, NOW, NOW, "integration", "agent", 1, 3000, BOB))
    assert e.value.sqlstate == "42501"
    assert ledger.state() == before


MEMBER_MAY_NOT_CHANGE = [
    "ALTER TABLE events ADD COLUMN extra integer",
    "ALTER TABLE events DISABLE TRIGGER ALL",
    "ALTER TABLE events DISABLE TRIGGER events_by_members",
    "ALTER TABLE grants ENABLE ROW LEVEL SECURITY",
    "DROP TABLE events CASCADE",
    "DROP TABLE team_changes",
    "DROP TRIGGER events_by_members ON events",
    "DROP TRIGGER events_no_update ON events",
    "DROP TRIGGER grants_coupon_redeemed ON grants",
    "DROP FUNCTION credits_append_only() CASCADE",
    "CREATE OR REPLACE FUNCTION credits_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$",
    "DROP INDEX events_key",
    "CREATE TABLE notes (x integer)",
    "SET session_replication_role = replica",  # which would skip every trigger
    "ALTER ROLE alice CREATEROLE",
]


@pytest.mark.parametrize("role", [ALICE, CAROL], ids=["member", "admin"])
@pytest.mark.parametrize("statement", MEMBER_MAY_NOT_CHANGE)
def test_no_member_or_admin_alters_or_drops_the_schema(ledger, role, statement):
    refused(ledger, role, statement.replace("alice", role), NOT_PERMITTED)


def test_a_member_takes_no_admin_s_rights(ledger):
    member, admin = (r[0] for r in ledger.rows("SELECT role FROM credits_team ORDER BY kind DESC"))
    for statement in (
        f"GRANT {admin} TO alice",
        f"GRANT {member} TO dave",
        f"REVOKE {member} FROM bob",
        f"SET ROLE {admin}",
        "SET ROLE lead",
        f"ALTER ROLE {member} LOGIN",
    ):
        refused(ledger, ALICE, statement, NOT_PERMITTED)
    assert ledger.json(LEAD, "team", "list") == [
        {"role": ALICE, "as": "member"},
        {"role": BOB, "as": "member"},
        {"role": CAROL, "as": "admin"},
        {"role": LEAD, "as": "admin"},
    ]


# -- what the server lets a role write behind credits' back, `check` names ------------------------------


def problems(ledger: Ledger) -> list[dict]:
    """`credits check`'s problems (it exits 1 when there are any, 0 when there are none)."""
    return ledger.check()["problems"]


def named(found: list[dict], kind: str, **which) -> dict:
    """The one problem of `kind` about `which` (e.g. table="grants", id=6)."""
    hits = [p for p in found if p["kind"] == kind and all(p.get(k) == v for k, v in which.items())]
    assert len(hits) == 1, (kind, which, found)
    return hits[0]


def newest(ledger: Ledger, table: str) -> int:
    return ledger.rows(f"SELECT max(id) FROM {table}")[0][0]


def test_an_admins_raw_grant_is_written_and_check_names_it_unsealed(ledger):
    """An admin's direct SQL may add a grant, as `grant` does; not being credits' own, it has no seal."""
    assert ledger.attempt(CAROL, grant_row("promo", 7000)) is None
    gid = newest(ledger, "grants")
    assert ledger.rows("SELECT source, amount_milli FROM grants WHERE id = %s", (gid,)) == [("promo", 7000)]
    found = problems(ledger)
    assert named(found, "unsealed", table="grants", id=gid)["message"] == (
        f"grants {gid} was not written by credits (it has no seal)"
    )
    assert {p["kind"] for p in found} <= {"unsealed", "inserted"}  # what it pays has not been recomputed
    r = ledger(LEAD, "check")
    assert r.exit_code == 1
    assert f"credits: grants {gid} was not written by credits (it has no seal)" in r.stderr.splitlines()


def forge(ledger: Ledger, role: str, table: str, values: dict) -> int:
    """An entry inserted as `role` by someone who re-computes seals (they have no secret) and winds the chain's
    head on: nothing about it but what it says is out of place. Its id."""
    chain_column, columns = seals.SEALED[table]
    chain = 0 if chain_column is None else values[chain_column]
    row = [values.get(c) for c in columns]
    with psycopg.connect(ledger.url(role)) as conn:
        last, rows = conn.execute(
            "SELECT last_id, rows FROM seal_heads WHERE tbl = %s AND chain = %s", (table, chain)
        ).fetchone()
        (new,) = conn.execute(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id'))").fetchone()
        conn.execute(
            f"INSERT INTO {table} (id, prev_id, seal, {', '.join(columns)})"
            f" VALUES (%s, %s, %s, {', '.join(['%s'] * len(columns))})",
            [new, last, seals.seal(table, new, last, row), *row],
        )
        conn.execute(
            "UPDATE seal_heads SET last_id = %s, rows = %s, seal = %s WHERE tbl = %s AND chain = %s",
            (new, rows + 1, seals.head_seal(table, chain, new, rows + 1), table, chain),
        )
    return new


def overdraw(member: str) -> dict:
    """An event that costs more than the whole pool holds."""
    return dict(
        workspace_id=1,
        at=NOW,
        recorded_at=NOW,
        pool="integration",
        action="agent",
        quantity=1,
        credits_milli=10**12,
        member=member,
    )


@pytest.mark.parametrize("role", [CAROL, ALICE], ids=["admin", "member"])
def test_an_event_that_overdraws_inserted_by_raw_sql_is_named_by_check(ledger, role):
    assert ledger.attempt(role, event_row(role, 10**12)) is None
    eid = newest(ledger, "events")
    found = problems(ledger)
    assert named(found, "unpaid_event", event=eid)["message"] == (
        f"event {eid} costs 1000000000000 milli-credits, its grants paid 0"
    )
    named(found, "unsealed", table="events", id=eid)
    r = ledger(LEAD, "check")
    assert r.exit_code == 1 and f"credits: event {eid} costs 1000000000000 milli-credits, its grants paid 0" in r.stderr


@pytest.mark.parametrize("role", [CAROL, ALICE], ids=["admin", "member"])
def test_an_overdrawing_event_sealed_and_paid_behind_credits_back_is_still_named(ledger, role):
    """Seals re-computed, the event's payment written where credits writes it (allocations, what the grant
    has given): the seals are all in order, and the grant paid more than it holds."""
    eid = forge(ledger, role, "events", overdraw(role))
    ((gid, amount),) = ledger.rows(
        "SELECT id, amount_milli FROM grants WHERE pool = 'integration' AND source = 'allowance'"
    )
    with psycopg.connect(ledger.url(role)) as conn:
        conn.execute(
            "INSERT INTO allocations (event_id, grant_id, credits_milli) VALUES (%s, %s, %s)", (eid, gid, 10**12)
        )
        conn.execute("UPDATE grant_usage SET used_milli = used_milli + %s WHERE grant_id = %s", (10**12, gid))
    found = problems(ledger)
    assert not [p for p in found if p.get("table")]  # no seal or chain is out of place
    assert named(found, "grant_overdrawn", grant=gid)["message"].endswith(f"drawn of {amount}")
    assert named(found, "allocation", event=eid)["message"] == (
        f"event {eid} is recorded as paid by grant {gid} {10**12}; the pool's grants cannot pay it (it overdraws them)"
    )


WRITES_BEHIND_CREDITS_BACK = {
    # a member's: what its commands write, written by hand
    "a member's own event": (ALICE, event_row(ALICE), "unsealed", {"table": "events"}),
    "a member's allowance grant": (ALICE, next_allowance_row(), "unsealed", {"table": "grants"}),
    "a member's notification": (
        ALICE,
        f"INSERT INTO notifications (workspace_id, kind, at, message) VALUES (1, 'alert', '{NOW}', 'fake')",
        "unsealed",
        {"table": "notifications"},
    ),
    "a member's share, approved": (
        ALICE,
        "INSERT INTO shares (workspace_id, platform, url, followers, submitted_at, status, decided_at)"
        f" VALUES (1, 'x', 'https://x.com/a/status/9', 500, '{NOW}', 'approved', '{NOW}')",
        "unsealed",
        {"table": "shares"},
    ),
    "what paid each event, deleted by a member": (ALICE, "DELETE FROM allocations", "unpaid_event", {}),
    "what a grant gave, rewritten by a member": (ALICE, "UPDATE grant_usage SET used_milli = 0", "grant_usage", {}),
    "the daily summary, rewritten by a member": (
        ALICE,
        "UPDATE usage_days SET credits_milli = 0",
        "usage_summary",
        {},
    ),
    "the chains' heads, rewritten by a member": (ALICE, "UPDATE seal_heads SET rows = rows + 1", "chain_head", {}),
    # an admin's: what its commands change, changed by hand
    "a workspace's plan, changed by an admin": (
        CAROL,
        "UPDATE workspaces SET plan = 'elite'",
        "tampered",
        {"table": "workspaces"},
    ),
    "a share decided by an admin's SQL": (
        CAROL,
        f"UPDATE shares SET status = 'approved', decided_at = '{NOW}' WHERE status = 'pending'",
        "tampered",
        {"table": "shares"},
    ),
    "an alert deleted by an admin's SQL": (CAROL, "DELETE FROM alerts", "missing", {"table": "alerts"}),
    "a budget deleted by an admin's SQL": (CAROL, "DELETE FROM budgets", "missing", {"table": "budgets"}),
}


@pytest.mark.parametrize("what", WRITES_BEHIND_CREDITS_BACK)
def test_what_the_server_lets_a_role_write_behind_credits_back_check_names(ledger, what):
    role, statement, kind, which = WRITES_BEHIND_CREDITS_BACK[what]
    assert ledger.attempt(role, statement) is None  # the server lets it: credits' own commands write these
    found = problems(ledger)
    assert found and any(p["kind"] == kind and all(p.get(k) == v for k, v in which.items()) for p in found), found


# -- two members at once ------------------------------------------------------------------------------


def run(url: str, *args, input: str | None = None) -> subprocess.CompletedProcess:
    """`credits` in a process of its own, as a member's script on another machine runs it."""
    return subprocess.run(
        [sys.executable, "-m", "credits_cli", *args],
        input=input,
        capture_output=True,
        text=True,
        env={**os.environ, "CREDITS_DB": url, "CREDITS_NOW": NOW, "NO_COLOR": "1"},
        timeout=120,
    )


def test_two_members_logging_at_once_never_overdraw_their_pool(made):
    led = made.ledger(plan="free", admins=())
    available = Decimal(str(led.json(LEAD, "balance")["integration"]["available"]))
    cost = 9  # 100 integration credits on the free plan: 11 of 16 logs fit
    outcomes: dict[str, list[tuple[int, str]]] = {ALICE: [], BOB: []}

    def member(role: str) -> None:
        for i in range(8):
            r = run(led.url(role), "log", "agent", "--credits", str(cost), "--key", f"{role}-{i}", "-q")
            outcomes[role].append((r.returncode, r.stderr))

    threads = [threading.Thread(target=member, args=(role,)) for role in outcomes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = [code for results in outcomes.values() for code, _ in results]
    assert set(codes) <= {0, 3}, outcomes
    for err in (err for results in outcomes.values() for code, err in results if code == 3):
        assert err.startswith("credits: not enough integration credits") and err.count("\n") == 1, err
    fit = int(available // cost)
    assert codes.count(0) == fit
    events = led.members_of_events()
    assert len(events) == fit and {m for _, m in events} <= {ALICE, BOB}
    assert [m for _, m in events].count(ALICE) == [code for code, _ in outcomes[ALICE]].count(0)
    b = led.json(LEAD, "balance")["integration"]
    assert Decimal(str(b["used"])) == cost * fit and Decimal(str(b["available"])) == available - cost * fit >= 0
    assert led.check()["ok"]


def test_two_members_batches_at_once_never_overdraw_their_pool(made):
    led = made.ledger(plan="free", admins=())
    results: dict[str, subprocess.CompletedProcess] = {}

    def member(role: str) -> None:
        lines = (json.dumps({"action": "agent", "credits": "7", "key": f"{role}-{i}"}) for i in range(10))
        results[role] = run(led.url(role), "log", "--batch", input="\n".join(lines) + "\n")

    threads = [threading.Thread(target=member, args=(role,)) for role in (ALICE, BOB)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    recorded = refused = 0
    for role, r in results.items():
        out = [json.loads(line) for line in r.stdout.splitlines()]
        assert len(out) == 10 and r.stderr == "", (role, r.stdout, r.stderr)
        assert all("id" in x or x["error"]["code"] == "refused" for x in out), out
        assert r.returncode == (3 if any("error" in x for x in out) else 0)
        recorded += sum("id" in x for x in out)
        refused += sum("error" in x for x in out)
    assert recorded == 100 // 7 == len(led.members_of_events()) and refused == 20 - recorded
    assert led.check()["ok"]


# -- the team: add, list, remove -----------------------------------------------------------------------


def test_team_remove_takes_effect_for_the_next_command_and_history_stays(fresh):
    first = fresh.json(ALICE, "log", "agent", "--app", "crm")["id"]
    assert fresh.json(LEAD, "team", "remove", ALICE) == {"role": ALICE, "as": None, "was": "member", "changed": True}
    before = fresh.state()
    for args in (["log", "agent"], ["balance"], ["events"]):
        line = one_line_error(fresh(ALICE, *args), code=4)
        assert (
            line == "credits: not allowed: alice is not in the team of this ledger; an admin can add it:"
            " credits team add alice"
        )
    assert fresh.attempt(ALICE, "SELECT count(*) FROM events").sqlstate == "42501"
    assert fresh.state() == before
    assert (first, ALICE) in fresh.members_of_events()  # what it logged stays
    assert fresh.json(BOB, "members")[0]["member"] == ALICE
    assert ALICE not in [r["role"] for r in fresh.json(LEAD, "team", "list")]
    changes = fresh.rows("SELECT role, change, kind, made_by FROM team_changes WHERE role = 'alice' ORDER BY id")
    assert changes == [(ALICE, "add", "member", LEAD), (ALICE, "remove", None, LEAD)]
    assert fresh.check()["ok"]
    # and back: what it logged before is its own again
    assert fresh.json(CAROL, "team", "add", ALICE)["changed"] is True
    fresh.json(ALICE, "log", "agent")
    assert [m for _, m in fresh.members_of_events()] == [ALICE, ALICE]


def test_team_add_list_and_remove_print_their_json_and_text(fresh):
    assert fresh.json(LEAD, "team", "add", DAVE) == {"role": DAVE, "as": "member", "was": None, "changed": True}
    assert fresh.json(LEAD, "team", "add", DAVE, "--as", "member") == {
        "role": DAVE,
        "as": "member",
        "was": "member",
        "changed": False,
    }
    assert fresh.json(CAROL, "team", "add", DAVE, "--as", "admin") == {
        "role": DAVE,
        "as": "admin",
        "was": "member",
        "changed": True,
    }
    allowed(fresh(DAVE, "grant", "--pool", "message", "--credits", "1", "--reason", "now an admin"))
    listed = fresh.json(LEAD, "team", "list")
    assert listed == [
        {"role": ALICE, "as": "member"},
        {"role": BOB, "as": "member"},
        {"role": CAROL, "as": "admin"},
        {"role": DAVE, "as": "admin"},
        {"role": LEAD, "as": "admin"},
    ]
    assert fresh.json(LEAD, "team", "add", DAVE, "--as", "member")["was"] == "admin"
    one_line_error(fresh(DAVE, "grant", "--pool", "message", "--credits", "1", "--reason", "no more"), code=4)
    assert fresh.json(LEAD, "team", "remove", DAVE) == {"role": DAVE, "as": None, "was": "member", "changed": True}
    # the same, as text
    assert fresh(LEAD, "team", "add", DAVE).stdout == "dave is now a member of this ledger.\n"
    assert fresh(LEAD, "team", "add", DAVE).stdout == "dave is already a member of this ledger.\n"
    assert (
        fresh(LEAD, "team", "add", DAVE, "--as", "admin").stdout
        == "dave is now an admin of this ledger (was a member).\n"
    )
    assert fresh(LEAD, "team", "add", DAVE, "--as", "admin").stdout == "dave is already an admin of this ledger.\n"
    assert (
        fresh(LEAD, "team", "remove", DAVE).stdout
        == "dave is no longer in the team (was an admin); what it logged stays.\n"
    )
    text = fresh(LEAD, "team", "list").stdout.splitlines()
    assert [line.split() for line in text] == [
        ["role", "as"],
        [ALICE, "member"],
        [BOB, "member"],
        [CAROL, "admin"],
        [LEAD, "admin"],
    ]


def test_team_list_of_a_team_with_no_one_added_yet(made):
    led = made.ledger(members=(), admins=())
    assert led.json(LEAD, "team", "list") == [{"role": LEAD, "as": "admin"}]


TEAM_BAD_INPUT = [
    (["team", "add", "nosuch"], "no role named 'nosuch' on this server; create it first: CREATE ROLE nosuch LOGIN"),
    (["team", "add", "Alice"], "no role named 'Alice' on this server; create it first: CREATE ROLE \"Alice\" LOGIN"),
    (["team", "add", GHOST], "'ghost' cannot log in"),
    (["team", "add", DAVE, "--as", "owner"], "'owner' is not one of: member, admin"),
    (["team", "add", "{member_group}"], "is one of this ledger's own group roles"),
    (["team", "add", "{admin_group}", "--as", "admin"], "is one of this ledger's own group roles"),
    (["team", "add", "bad\tname"], "ROLE: contains control"),
    (["team", "remove", DAVE], "'dave' is not in the team of this ledger"),
    (["team", "remove", "nosuch"], "'nosuch' is not in the team of this ledger"),
]


@pytest.mark.parametrize("args, says", TEAM_BAD_INPUT, ids=[" ".join(a) for a, _ in TEAM_BAD_INPUT])
def test_team_add_and_remove_refuse_bad_input_and_change_nothing(fresh, args, says):
    member, admin = (r[0] for r in fresh.rows("SELECT role FROM credits_team ORDER BY kind DESC"))
    args = [a.format(member_group=member, admin_group=admin) for a in args]
    before = fresh.state()
    line = one_line_error(fresh(CAROL, *args), code=2)
    assert says in line, line
    assert fresh.state() == before


def test_the_hint_for_a_role_that_does_not_exist_makes_it_as_written(fresh):
    line = one_line_error(fresh(LEAD, "team", "add", "Erin Mixed"), code=2)
    hint = line.split("create it first: ", 1)[1]
    assert hint == 'CREATE ROLE "Erin Mixed" LOGIN'
    assert fresh.attempt("postgres", hint) is None
    assert fresh.json(LEAD, "team", "add", "Erin Mixed")["as"] == "member"
    assert fresh.json("Erin Mixed", "log", "agent")["member"] == "Erin Mixed"


def test_the_last_admin_is_neither_removed_nor_made_a_member(made):
    led = made.ledger(admins=())
    before = led.state()
    for args in (["team", "remove", LEAD], ["team", "add", LEAD, "--as", "member"]):
        line = one_line_error(led(LEAD, *args), code=2)
        assert "'lead' is the ledger's last admin; add another admin first" in line
    assert led.state() == before
    # with a second admin, the first may go: the owner of the tables then is in the team no more
    led.json(LEAD, "team", "add", CAROL, "--as", "admin")
    assert led.json(CAROL, "team", "remove", LEAD)["was"] == "admin"
    one_line_error(led(LEAD, "balance"), code=4)
    one_line_error(led(CAROL, "team", "remove", CAROL), code=2)


def test_a_ledger_in_a_file_has_no_team(tmp_path):
    cli = Cli(tmp_path / "solo.db")
    allowed(cli("init", "--plan", "builder", now=NOW))
    before = cli.dump(outbox=True)
    for args in (["team", "list"], ["team", "add", "alice"], ["team", "remove", "alice"]):
        line = one_line_error(cli(*args, now=NOW), code=2)
        assert "a ledger in a file has no team" in line
    assert cli.dump(outbox=True) == before
    # its one user may do everything, log for anyone included
    assert cli.json("log", "agent", "--member", "anyone", now=NOW)["member"] == "anyone"
    allowed(cli("grant", "--pool", "message", "--credits", "5", "--reason", "mine", now=NOW))
    # and a file that is not there is not made by being told so
    nothing = Cli(tmp_path / "none.db")
    for args in (["team", "list"], ["team", "add", "alice", "--as", "admin"], ["team", "remove", "alice"]):
        assert "a ledger in a file has no team" in one_line_error(nothing(*args, now=NOW), code=2)
    assert not list(tmp_path.glob("none.db*"))


def test_doctor_says_who_is_connected_as_what(ledger):
    for role, said in ((ALICE, "alice is a member of this ledger"), (CAROL, "carol is an admin of this ledger")):
        checks = {c["check"]: c for c in ledger.json(role, "doctor")["checks"]}
        assert checks["role"]["value"] == role
        assert checks["team"]["ok"] and checks["team"]["value"].startswith(said)


def test_members_read_the_views_as_the_lead_does(ledger):
    """The views SQL tools read (docs/storage.md): a member's psql sees what the ledger's owner sees."""
    for view in ("v_events", "v_daily", "v_grants"):
        with psycopg.connect(ledger.url(ALICE)) as conn:
            seen = conn.execute(f"SELECT * FROM {view} ORDER BY 1, 2, 3").fetchall()
        assert seen and seen == ledger.rows(f"SELECT * FROM {view} ORDER BY 1, 2, 3"), view


def test_a_teams_ledger_made_before_the_views_gets_them_from_its_owner(ledger):
    """Made by a credits before the views: a member's or an admin's command may not add them (they create
    nothing in the schema) and says who can, changing nothing; the owner's next command adds them, members'
    reading included, though the team's roles came first (migrations by name)."""
    with psycopg.connect(ledger.server.url("postgres", ledger.db), autocommit=True) as conn:
        conn.execute("DROP VIEW v_events, v_daily, v_grants")
        conn.execute("DELETE FROM credits_migrations WHERE name = '011_views'")
        conn.execute("DELETE FROM credits_guards WHERE kind = 'view'")
    before = ledger.state()
    for role in (ALICE, CAROL):
        line = one_line_error(ledger(role, "balance"), code=4)
        assert "run any command once as lead, the role that owns its tables" in line, line
    assert ledger.state() == before
    allowed(ledger(LEAD, "balance"))
    assert ledger.attempt(ALICE, "SELECT * FROM v_events") is None
    assert ledger.check(ALICE)["ok"]
    assert all(c["ok"] for c in ledger.json(ALICE, "doctor")["checks"])


# -- the first command: who may make a ledger ------------------------------------------------------------


def test_the_role_that_runs_the_first_command_owns_the_ledger_and_is_its_first_admin(made, server):
    led = made.database()
    allowed(led(LEAD, "init", "--plan", "starter"))
    assert led.rows("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'") == [(LEAD,)]
    assert led.json(LEAD, "team", "list") == [{"role": LEAD, "as": "admin"}]
    member, admin = (r[0] for r in led.rows("SELECT role FROM credits_team ORDER BY kind DESC"))
    assert (member, admin) == (f"credits_{led.db}_public_member", f"credits_{led.db}_public_admin")
    assert server.su.execute(
        "SELECT rolcanlogin FROM pg_roles WHERE rolname IN (%s, %s)", (member, admin)
    ).fetchall() == [(False,), (False,)]


def test_a_member_on_a_ledger_with_no_workspace_yet_is_told_an_admin_must_init(made):
    led = made.database()
    allowed(led(LEAD, "team", "add", ALICE))  # the tables and the team, no workspace yet
    assert led.rows("SELECT count(*) FROM workspaces") == [(0,)]
    before = led.state()
    for args in (["balance"], ["log", "agent"], ["events"], ["status"]):
        line = one_line_error(led(ALICE, *args), code=4)
        assert line == (
            "credits: not allowed: alice is a member of this ledger; an admin can create the workspace 'default':"
            " credits init"
        )
    assert led.state() == before
    allowed(led(LEAD, "init", "--plan", "starter"))
    assert led.json(ALICE, "log", "agent")["member"] == ALICE


def roles_of_credits() -> str:
    return "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'credits%'"


@pytest.mark.parametrize("where", ["database", "schema"])
def test_a_role_that_may_not_create_roles_creates_nothing_on_an_empty_database(made, server, where):
    """The first command makes the team's group roles: a role without CREATEROLE is refused, and the tables
    it could have made (it owns the database, or the schema) are not made either."""
    server.su.execute("DO $$ BEGIN CREATE ROLE erin LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    roles = server.su.execute(roles_of_credits()).fetchone()
    if where == "database":
        led = made.database(owner="erin")
    else:
        led = made.database()
        assert led.attempt("postgres", "CREATE SCHEMA erins AUTHORIZATION erin") is None
        led.schema = "erins"
    line = one_line_error(led("erin", "init", "--plan", "starter"), code=4)
    assert line.startswith("credits: not allowed: erin may not create roles") and "CREATEROLE" in line
    one_line_error(led("erin", "balance"), code=4)
    assert led.rows("SELECT tablename FROM pg_tables WHERE schemaname = %s", (led.schema or "public",)) == []
    assert server.su.execute(roles_of_credits()).fetchone() == roles


def test_a_role_that_may_not_create_tables_creates_nothing_on_an_empty_database(made):
    led = made.database()  # lead's: alice may not create tables in it
    line = one_line_error(led(ALICE, "init", "--plan", "starter"), code=4)
    assert line.startswith("credits: not allowed: ") and "schema public" in line
    assert led.rows("SELECT tablename FROM pg_tables WHERE schemaname = 'public'") == []


def test_a_members_log_in_a_new_cycle_writes_its_allowance(ledger):
    """A cycle's allowance is written by the first write that draws on it: a member's log may be that one."""
    later = "2026-12-05T00:00:00Z"
    before = ledger.rows("SELECT count(*) FROM grants WHERE source = 'allowance'")[0][0]
    r = ledger(ALICE, "log", "agent", now=later)
    allowed(r)
    assert ledger.rows("SELECT count(*) FROM grants WHERE source = 'allowance'")[0][0] == before + 1
    assert Cli(ledger.url(LEAD))("check", now=later).exit_code == 0


# -- a cycle's allowance: the ledger's plans, not a member's catalog ---------------------------------------

CATALOG = os.path.join(os.path.dirname(__file__), "..", "credits_cli", "data", "catalog.toml")
LATER = "2026-12-05T00:00:00Z"  # in the prepared ledger's next cycle, whose allowance nothing has drawn on


def catalog_with(tmp_path, integration: int, name: str = "catalog.toml") -> str:
    """The shipped catalog with another integration allowance for the pro plan (the prepared ledger's)."""
    with open(CATALOG, encoding="utf-8") as f:
        text = f.read()
    changed = re.sub(r"(\[plans\.pro\][^\[]*?integration = )\d+", rf"\g<1>{integration}", text)
    assert changed != text
    path = tmp_path / name
    path.write_text(changed, encoding="utf-8")
    return str(path)


def next_allowance(ledger: Ledger) -> list[int]:
    return [
        r[0]
        for r in ledger.rows(
            "SELECT amount_milli FROM grants WHERE source = 'allowance' AND pool = 'integration' AND starts_at = %s",
            (NEXT_CYCLE[0],),
        )
    ]


def test_the_ledger_records_its_plans_allowances_as_its_admin_set_them(ledger):
    recorded = dict(ledger.rows("SELECT plan || ' ' || pool, amount_milli FROM team_allowances"))
    assert recorded["builder integration"] == 10_000_000 and recorded["free message"] == 25_000
    assert {r[0] for r in ledger.rows("SELECT made_by FROM team_allowances")} == {LEAD}


def test_a_members_own_catalog_does_not_set_the_allowance_its_log_writes(ledger, tmp_path):
    """The member's catalog says the pro plan has 99,999 integration credits a cycle; the ledger's admins
    said 20,000: the new cycle's allowance its log writes is the ledger's, and so is its balance."""
    mine = catalog_with(tmp_path, 99_999)
    before = ledger(ALICE, "--catalog", mine, "balance", "--json", now=LATER)
    allowed(before)
    assert Decimal(json.loads(before.stdout)["integration"]["allowance"]) == 20_000
    allowed(ledger(ALICE, "--catalog", mine, "log", "agent", now=LATER))
    assert next_allowance(ledger) == [20_000_000]
    assert Cli(ledger.url(LEAD))("check", now=LATER).exit_code == 0


def test_an_admins_catalog_is_recorded_and_members_write_the_new_allowance(ledger, tmp_path):
    theirs = catalog_with(tmp_path, 24_000)
    allowed(ledger(LEAD, "--catalog", theirs, "team", "add", ALICE))  # already a member: records the plans
    assert ledger.rows(
        "SELECT amount_milli, made_by FROM team_allowances WHERE plan = 'pro' AND pool = 'integration'"
        " ORDER BY id DESC LIMIT 1"
    ) == [(24_000_000, LEAD)]
    allowed(ledger(ALICE, "log", "agent", now=LATER))
    assert next_allowance(ledger) == [24_000_000]


BAD_ALLOWANCES = {
    "another amount": next_allowance_row(amount="99999000"),
    "one credit more": next_allowance_row(
        amount="(SELECT amount_milli + 1000 FROM team_allowances WHERE plan = 'pro' AND pool = 'integration')"
    ),
    "a second allowance in the cycle": next_allowance_row(
        starts_at="2026-11-15T00:00:00.000000Z", expires_at="2026-12-01T00:00:00.000000Z"
    ),
    "one that outlives its cycle": next_allowance_row(expires_at="2027-02-01T00:00:00.000000Z"),
    "one that never expires": next_allowance_row().replace(f"'{NEXT_CYCLE[1]}'", "NULL"),
    "the builder plan's, on the pro plan": next_allowance_row(amount="10000000"),
}


@pytest.mark.parametrize("what", BAD_ALLOWANCES)
def test_a_member_may_not_write_an_allowance_other_than_the_ledgers(ledger, what):
    refused(ledger, ALICE, BAD_ALLOWANCES[what])


def test_the_allowance_the_ledger_records_a_member_may_write_and_an_admin_any(ledger):
    assert ledger.attempt(ALICE, next_allowance_row()) is None  # what its own log would write (check names it)
    assert ledger.attempt(CAROL, next_allowance_row(amount="5000", starts_at="2027-01-01T00:00:00.000000Z")) is None


def test_a_member_may_not_record_an_allowance(ledger):
    refused(
        ledger,
        ALICE,
        "INSERT INTO team_allowances (plan, pool, amount_milli, at) VALUES ('builder', 'integration', 1, 'x')",
    )
    for statement in (
        "UPDATE team_allowances SET amount_milli = 1",
        "DELETE FROM team_allowances",
        "TRUNCATE team_allowances",
    ):
        refused(ledger, CAROL, statement)


def test_a_ledger_that_records_no_allowance_refuses_a_members_new_cycle_until_an_admin_records_them(ledger):
    """A team's ledger from before the plans were recorded (made so here by the superuser, with the ledger's
    own triggers off): a member's log that would write a new cycle's allowance is refused, one line, exit 4,
    nothing written; an admin's team command records the plans and the member's log goes through."""
    with psycopg.connect(ledger.server.url("postgres", ledger.db), autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("DELETE FROM team_allowances")
    before = ledger.state()
    line = one_line_error(ledger(ALICE, "log", "agent", now=LATER), code=4)
    assert line.startswith("credits: not allowed: alice is a member of this ledger: a cycle's allowance")
    assert ledger.state() == before
    allowed(ledger(LEAD, "team", "list"))  # reads only
    assert ledger.state() == before
    allowed(ledger(LEAD, "team", "add", ALICE))
    allowed(ledger(ALICE, "log", "agent", now=LATER))
    assert next_allowance(ledger) == [20_000_000]


def test_a_ledger_from_before_the_allowances_migration_gets_it_from_its_owners_next_command(ledger):
    """The ledger as the previous version left it (no team_allowances, its migration not recorded): a
    member's command is refused (it may not bring the schema up to date), the owner's brings it, and then
    the member's log writes the ledger's allowance."""
    with psycopg.connect(ledger.server.url("postgres", ledger.db), autocommit=True) as conn:
        conn.execute("DROP TABLE team_allowances")
        conn.execute("DROP TRIGGER grants_allowance_by_members ON grants")
        conn.execute("DROP FUNCTION credits_members_allowance()")
        conn.execute(
            "DELETE FROM credits_guards WHERE name IN ('credits_members_allowance', 'grants_allowance_by_members')"
            " OR name LIKE 'team\\_allowances%'"
        )
        conn.execute("DELETE FROM credits_migrations WHERE name = 'pg_012_team_allowances'")
    before = ledger.state()
    line = one_line_error(ledger(ALICE, "balance"), code=4)
    assert line == (
        "credits: not allowed: this ledger is a schema version behind this credits and alice may not bring it"
        " up to date: run any command once as lead, the role that owns its tables (its first admin)"
    )
    assert ledger.state() == before
    allowed(ledger(LEAD, "balance"))
    assert ledger.check()["ok"]
    assert ledger.rows("SELECT count(*) FROM team_allowances")[0][0] == 0
    allowed(ledger(LEAD, "team", "add", ALICE))
    allowed(ledger(ALICE, "log", "agent", now=LATER))
    assert next_allowance(ledger) == [20_000_000]
    refused(ledger, BOB, next_allowance_row(amount="1", starts_at="2027-01-01T00:00:00.000000Z"))


# -- the README's set-up for a team lead, run as written ---------------------------------------------------


def readme_team_blocks() -> list[list[str]]:
    """The lines of the README's sh blocks marked <!-- team ... -->."""
    from test_readme import README

    return [block.splitlines() for block in re.findall(r"<!-- team[^>]*-->\n```sh\n(.*?)```", README, flags=re.S)]


def test_the_guides_team_examples_run_on_a_server(made):
    """docs/guide.md's `credits team` block (marked <!-- server -->: on a file, team exits 2), run by the
    ledger's first admin."""
    from test_readme import GUIDE, run_lines, shown_commands

    lines = shown_commands("server", GUIDE)
    assert [line.split()[1] for line in lines] == ["team"] * 4
    led = made.ledger(members=(), admins=())
    run_lines(Cli(led.url(LEAD)), lines, now=NOW)
    assert led.json(LEAD, "team", "list") == [{"role": BOB, "as": "admin"}, {"role": LEAD, "as": "admin"}]


def test_the_readme_team_section_runs_as_written(tmp_path, monkeypatch):
    """On a server of its own (the README makes the roles `lead`, `alice` and `bob` this module's cast has):
    psql and createdb reach it through PGHOST/PGPORT, credits through the README's URLs with its host."""
    monkeypatch.chdir(tmp_path)  # the backup the README writes lands here
    blocks = readme_team_blocks()
    assert len(blocks) == 2 and [line.split()[0] for line in blocks[1]] == ["export", "credits", "credits"]
    with throwaway_cluster("fsync=off") as cluster:
        env = {**os.environ, "PGHOST": "127.0.0.1", "PGPORT": str(cluster.port)}
        url = None
        for line in (line for block in blocks for line in block):
            if line.startswith("pip install"):
                continue  # this checkout's environment has it
            if line.startswith("export CREDITS_DB="):
                url = line.split("=", 1)[1].replace("db.example.net", f"127.0.0.1:{cluster.port}")
            elif line.startswith("credits "):
                assert url is not None, line
                expected = int(line.split("# exits ")[1].split(":")[0]) if "# exits " in line else 0
                r = Cli(url)(*shlex.split(line, comments=True)[1:], now=NOW)
                assert r.exit_code == expected, (line, r.stdout, r.stderr)
                assert "Traceback" not in r.stderr
            else:
                r = subprocess.run(line, shell=True, env=env, capture_output=True, text=True, timeout=60)
                assert r.returncode == 0, (line, r.stdout, r.stderr)
        lead = Cli(url.replace("alice@", "lead@"))
        assert lead.json("team", "list", now=NOW) == [
            {"role": "alice", "as": "member"},
            {"role": "bob", "as": "admin"},
            {"role": "lead", "as": "admin"},
        ]
        assert [(e["member"], e["app"]) for e in lead.json("events", now=NOW)] == [("alice", "crm")]
        assert Cli(tmp_path / "team-backup.db").json("balance", now=NOW)["plan"] == "builder"


# -- an alert's command runs on its author's machine only -------------------------------------------------


def test_an_admins_alert_command_never_runs_in_a_members_log(fresh, tmp_path):
    """A member's log that crosses an admin's alert writes it to the outbox; the command (the admin's code,
    which would run with the member's environment: its CREDITS_DB, its PGPASSWORD) runs only in a log of
    the role that added the alert."""
    ran = tmp_path / "ran"
    allowed(fresh(CAROL, "alert", "add", "--pool", "integration", "--left", "9999", "--exec", f"echo carol >> {ran}"))
    allowed(fresh(ALICE, "log", "agent"))  # crosses it: 9,999 or fewer left
    assert not ran.exists()
    assert any(n["kind"] == "alert" for n in fresh.json(ALICE, "notifications"))
    allowed(fresh(CAROL, "alert", "add", "--pool", "integration", "--left", "9990", "--exec", f"echo carol >> {ran}"))
    allowed(fresh(CAROL, "log", "agent", "--credits", "20"))  # crosses the second: carol's own log
    assert ran.read_text() == "carol\n"


def test_a_ledger_whose_group_roles_are_gone_gets_them_again_from_its_next_command(fresh):
    """As on a database restored onto another server (roles are the server's, not the database's): the first
    command of a role that may create roles makes the group roles named in credits_team again, with their
    grants; the team is then added again (its memberships were the old server's)."""
    groups = dict(fresh.rows("SELECT kind, role FROM credits_team"))
    with psycopg.connect(fresh.server.url("postgres", fresh.db), autocommit=True) as conn:
        for role in groups.values():
            conn.execute(f'DROP OWNED BY "{role}"')
            conn.execute(f'DROP ROLE "{role}"')
    one_line_error(fresh(ALICE, "balance"), code=4)  # may not make them; nothing made
    assert fresh.server.su.execute(
        "SELECT count(*) FROM pg_roles WHERE rolname = ANY(%s)", (list(groups.values()),)
    ).fetchone() == (0,)
    allowed(fresh(LEAD, "balance"))
    assert dict(fresh.rows("SELECT kind, role FROM credits_team")) == groups
    assert fresh.json(LEAD, "team", "list") == [{"role": LEAD, "as": "admin"}]
    allowed(fresh(LEAD, "team", "add", ALICE))
    assert fresh.json(ALICE, "log", "agent")["member"] == ALICE
    assert fresh.attempt(ALICE, "SELECT * FROM v_events") is None  # the views' grants made again too
    assert one_line_error(fresh(ALICE, "grant", "--pool", "message", "--credits", "1", "--reason", "x"), code=4)
    assert fresh.check()["ok"]


def test_an_admins_expiring_alert_command_never_runs_in_a_members_log(fresh, tmp_path):
    """An alert on expiring credits keeps the rule: a member's log fires it into the outbox, and only a log of
    the role that added it runs its command."""
    ran = tmp_path / "ran"
    allowed(
        fresh(
            CAROL,
            "alert",
            "add",
            "--pool",
            "message",
            "--expiring",
            "30",
            "--exec",
            f"echo $CREDITS_ALERT_GRANT >> {ran}",
        )
    )
    grant = fresh.json(
        LEAD, "grant", "--pool", "message", "--credits", "5", "--expires", "2026-11-20T00:00:00Z", "--reason", "launch"
    )["grant"]
    r = fresh(ALICE, "log", "agent")
    allowed(r)
    assert "from promo: launch expire on 2026-11-20 00:00 UTC" in r.stderr and not ran.exists()
    assert [n["kind"] for n in fresh.json(ALICE, "notifications")] == ["alert"]
    later = fresh.json(
        LEAD, "grant", "--pool", "message", "--credits", "5", "--expires", "2026-11-25T00:00:00Z", "--reason", "later"
    )["grant"]
    allowed(fresh(CAROL, "log", "agent"))  # fires for the second grant only: carol's own log runs it
    assert ran.read_text() == f"{later}\n" and grant != later


def test_a_ledger_of_the_schema_before_expiring_alerts_is_brought_up_to_date_by_its_owner(ledger):
    """The migration 012_expiring_alerts adds a column: the first command after the upgrade must be the owner's
    (lead made the ledger). A member's is refused, naming the owner, and changes nothing."""
    columns = [c for c in seals.SEALED["alerts"][1] if c != "expiring_days"]
    with psycopg.connect(ledger.server.url("postgres", ledger.db)) as conn:  # what the previous credits left
        for row in conn.execute(f"SELECT id, prev_id, {', '.join(columns)} FROM alerts").fetchall():
            conn.execute(
                "UPDATE alerts SET seal = %s WHERE id = %s", (seals.seal("alerts", row[0], row[1], row[2:]), row[0])
            )
        conn.execute("ALTER TABLE alerts DROP COLUMN expiring_days")
        conn.execute("DELETE FROM credits_migrations WHERE name = '012_expiring_alerts'")
    before = ledger.state()
    line = one_line_error(ledger(ALICE, "log", "agent"), code=4)
    assert line == (
        "credits: not allowed: this ledger is a schema version behind this credits and alice may not bring it"
        " up to date: run any command once as lead, the role that owns its tables (its first admin)"
    )
    assert ledger.state() == before
    allowed(ledger(LEAD, "balance"))
    allowed(ledger(ALICE, "log", "agent"))
    assert ledger.json(CAROL, "alert", "list")[0]["expiring_days"] is None
    assert ledger.check()["ok"]
