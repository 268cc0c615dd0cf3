"""A property-based state machine drives the real commands and compares with a simple model.

The commands: log (now and back-dated), grant, coupon, void, plan set (upgrades, downgrades and
their cancellations), reset, and import (new files, files re-imported as they were, with a void
added or with more rows). The model is a replay: every live event of the integration pool paid in
time order (ties by id) from the grants live at its instant, soonest expiry first (docs/rules.md); a void
gives back what it can and what had already expired stays spent.

Invariants after every step: the balance (available, allowance left, bonus, used, plan, the
scheduled change) equals the model's and nothing is negative; `credits check` is clean; every
grant holds what the model says and an expired one holds nothing.

The model does not predict ids (a server's sequences skip the ids of refused writes and dry runs): it
reads them from what `log` and `void` report and, after an import, from `credits events`, and checks
that each event has an id of its own, greater than every one before it, and that a void names the
event it voids; after an import every event listed is the model's.

It runs on SQLite and, given CREDITS_TEST_PG, on PostgreSQL (fewer examples: each step is slower there).

The defects it found are plain tests at the end, each a minimal reproduction.

The seed is printed first (pytest shows it with a failure, -s shows it always, with a summary of
what the runs did) and hypothesis prints the blob that replays a failure (print_blob):

    CREDITS_MODEL_EXAMPLES=1000 CREDITS_MODEL_STEPS=30 python -m pytest -q -s tests/test_model.py
    CREDITS_MODEL_SEED=1234 python -m pytest -q tests/test_model.py    # the run that printed seed 1234
    CREDITS_MODEL_BLOB='AXic...' python -m pytest -q tests/test_model.py  # the failure that printed it
"""

import copy
import csv
import json
import os
import random
import re
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import ClassVar

import click.testing
import typer.main
import typer.testing
from conftest import Cli
from dateutil.relativedelta import relativedelta
from hypothesis import HealthCheck, __version__, reproduce_failure, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from credits_cli.cli.app import app

T0 = datetime(2026, 1, 1, tzinfo=UTC)
UTC_Z = "%Y-%m-%dT%H:%M:%S.%fZ"

# plan -> (price a month, integration allowance in milli-credits), as docs/rules.md and the built-in catalog say
PLANS = {
    "free": (0, 100_000),
    "starter": (20, 2_000_000),
    "builder": (50, 10_000_000),
    "pro": (100, 20_000_000),
    "elite": (200, 50_000_000),
}
PLAN_SOURCES = ("allowance", "upgrade")  # the plan's credits for a cycle; every other grant is bonus

# examples a run on each engine: a step takes about three times as long on a server, whose run is there for
# what differs on it (ids from sequences, its transactions); CREDITS_MODEL_EXAMPLES sets both
EXAMPLES = {"sqlite": 60, "postgresql": 20}
if os.environ.get("CREDITS_MODEL_EXAMPLES"):
    EXAMPLES = dict.fromkeys(EXAMPLES, int(os.environ["CREDITS_MODEL_EXAMPLES"]))
STEPS = int(os.environ.get("CREDITS_MODEL_STEPS", "20"))
SEED = int(os.environ.get("CREDITS_MODEL_SEED") or random.SystemRandom().randrange(2**32))
# the ledgers live in memory where there is a tmpfs: every commit fsyncs (synchronous=FULL), and on a
# busy disk the waits, not the work, would set the run time
MEMORY = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


def z(t):
    return t.strftime(UTC_Z)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def credits_text(milli):
    sign = "-" if milli < 0 else ""
    return f"{sign}{abs(milli) // 1000}.{abs(milli) % 1000:03d}"


def milli(value):
    return D(value) * 1000


class BuiltOnce(typer.testing.CliRunner):
    """typer's runner builds the click command from the app on every call (nine tenths of a call's
    time); this one builds it once and runs the same command the same way."""

    command = None

    def invoke(self, app_, args=None, **kwargs):
        if BuiltOnce.command is None:
            BuiltOnce.command = typer.main.get_command(app)
        return click.testing.CliRunner.invoke(self, BuiltOnce.command, args, **kwargs)


def fast_cli(db):
    cli = Cli(db)
    cli.runner = BuiltOnce()
    return cli


# --- the model ----------------------------------------------------------------------------------


class Refused(Exception):
    """The ledger refuses (exit 3) and nothing changes."""


class BadFile(Exception):
    """Import refuses the file (exit 2) and nothing changes."""


def is_live(g, t):
    return g["starts"] <= t and (g["expires"] is None or t < g["expires"])


def consumption_key(g):
    """Top-ups after all; soonest expiry first (never-expiring last), ties by the earliest granted, then the
    first written."""
    return (g["source"] == "topup", g["expires"] is None, g["expires"] or g["granted"], g["granted"], g["seq"])


class Model:
    """The integration pool of one workspace, anchored at T0."""

    def __init__(self, plan):
        self.now = T0
        self.plan = plan  # the plan chosen at init
        self.changes = []  # dicts: plan, requested, effective (in the order they were made)
        self.grants = []  # dicts: seq, source, amount, starts, expires, granted, used
        self.allowances = {}  # cycle start -> its allowance grant, once the ledger writes it down
        # dicts: seq (the order written), id (the ledger's, once it says), at, cost, fp, corrects and voided_by
        # (the seq of the event voided, of its void), alloc, lost, raw
        self.events = []

    # -- cycles and plans --------------------------------------------------------------------

    def boundary(self, n):
        return T0 + relativedelta(months=n)

    def cycle(self, t):
        n = (t.year - T0.year) * 12 + t.month - T0.month
        while self.boundary(n) > t:
            n -= 1
        while self.boundary(n + 1) <= t:
            n += 1
        return self.boundary(n), self.boundary(n + 1)

    def plan_at(self, t):
        """The latest decision among the changes in force at t (a later one overrides a pending one)."""
        live = [(c["requested"], i) for i, c in enumerate(self.changes) if c["effective"] <= t]
        return self.changes[max(live)[1]]["plan"] if live else self.plan

    def pending(self):
        """The latest decision, when it is not in force yet (a downgrade waiting for the reset)."""
        if not self.changes:
            return None
        last = self.changes[max(range(len(self.changes)), key=lambda i: (self.changes[i]["requested"], i))]
        return last if last["effective"] > self.now else None

    def set_plan(self, new):
        """Returns (change, effective, added): an upgrade at once, topping this cycle up to the new
        allowance; a downgrade at the next reset; the same plan again cancels a pending change."""
        current = self.plan_at(self.now)
        end = self.cycle(self.now)[1]
        if new == current and self.pending() is None:
            return "unchanged", self.now, 0
        added = 0
        if PLANS[new][0] < PLANS[current][0]:
            change, effective = "downgrade", end
        else:
            change, effective = ("upgrade" if new != current else "billing"), self.now
            self.ensure_allowance(self.now)
            granted = sum(
                g["amount"]
                for g in self.grants
                if g["source"] in PLAN_SOURCES and g["expires"] == end and is_live(g, self.now)
            )
            if PLANS[new][1] > granted:
                added = PLANS[new][1] - granted
                self.add_grant("upgrade", added, self.now, end)
        self.changes.append({"plan": new, "requested": self.now, "effective": effective})
        return change, effective, added

    # -- grants --------------------------------------------------------------------------------

    def add_grant(self, source, amount, starts, expires):
        g = {
            "seq": len(self.grants) + 1,
            "source": source,
            "amount": amount,
            "starts": starts,
            "expires": expires,
            "granted": starts,
            "used": 0,
        }
        self.grants.append(g)
        assert self.replay() is None, "a grant only adds credits"  # events of its instant may draw on it
        return g

    def ensure_allowance(self, t):
        """The ledger writes a cycle's allowance down (at its plan's size) when something first draws on it."""
        start, end = self.cycle(t)
        if start not in self.allowances:
            self.allowances[start] = self.add_grant("allowance", PLANS[self.plan_at(start)][1], start, end)

    def live_grants(self, t):
        """The grants live at t, with the cycle's allowance as it would be written down if it is not yet."""
        start, end = self.cycle(t)
        out = [g for g in self.grants if is_live(g, t)]
        if start not in self.allowances:
            out.append(
                {
                    "seq": None,
                    "source": "allowance",
                    "amount": PLANS[self.plan_at(start)][1],
                    "starts": start,
                    "expires": end,
                    "granted": start,
                    "used": 0,
                }
            )
        return out

    def balance(self, t=None):
        t = self.now if t is None else t
        start, end = self.cycle(t)
        live = self.live_grants(t)
        plan = [g for g in live if g["source"] in PLAN_SOURCES and g["expires"] == end]
        bonus = [g for g in live if g not in plan]

        def left(gs):
            return sum(max(0, g["amount"] - g["used"]) for g in gs)

        in_cycle = [e for e in self.live_events() if start <= e["at"] < end]
        return {
            "allowance": sum(g["amount"] for g in plan),
            "allowance_left": left(plan),
            "bonus": left(bonus),
            "available": left(live),
            "used": sum(e["cost"] for e in self.events if start <= e["at"] < end),
            # what paid this cycle's live events, from their allocations (a voided pair nets out of `used`)
            "allowance_used": sum(take for e in in_cycle for g, take in e["alloc"] if g in plan),
            "bonus_used": sum(take for e in in_cycle for g, take in e["alloc"] if g not in plan),
        }

    # -- events ----------------------------------------------------------------------------------

    def live_events(self):
        return [e for e in self.events if e["corrects"] is None and e["voided_by"] is None and not e["raw"]]

    def event(self, seq):
        return self.events[seq - 1]

    def replay(self):
        """Pay every live event again in time order (ties in the order written, which the ledger's ids keep);
        returns the first that cannot be paid (or None)."""
        for g in self.grants:
            g["used"] = 0
        for e in self.events:
            for g, take in e["lost"]:
                g["used"] += take  # what a void could not give back (its grant had expired) stays spent
        for e in sorted(self.live_events(), key=lambda e: (e["at"], e["seq"])):
            live = sorted(
                (g for g in self.grants if is_live(g, e["at"]) and g["amount"] > g["used"]), key=consumption_key
            )
            if sum(g["amount"] - g["used"] for g in live) < e["cost"]:
                return e
            need, e["alloc"] = e["cost"], []
            for g in live:
                take = min(need, g["amount"] - g["used"])
                if take > 0:
                    g["used"] += take
                    e["alloc"].append((g, take))
                    need -= take
        return None

    def new_event(self, at, cost, fp, corrects=None):
        e = {
            "seq": len(self.events) + 1,
            "id": None,  # the ledger's, read from what it reports: a server's sequences leave gaps
            "at": at,
            "cost": cost,
            "fp": fp,
            "corrects": corrects,
            "voided_by": None,
            "alloc": [],
            "lost": [],
            "raw": False,
        }
        self.events.append(e)
        return e

    def debit(self, at, cost, fp):
        self.ensure_allowance(at)
        e = self.new_event(at, cost, fp)
        if self.replay() is not None:
            raise Refused
        return e

    def void(self, e, fp):
        """Returns (void event, restored, expired): the event's credits go back to the grants still live."""

        lost = [(g, take) for g, take in e["alloc"] if g["expires"] is not None and g["expires"] <= self.now]
        restored = sum(take for _, take in e["alloc"]) - sum(take for _, take in lost)
        v = self.new_event(e["at"], -e["cost"], fp, corrects=e["seq"])
        e["voided_by"], e["lost"] = v["seq"], lost
        assert self.replay() is None, "a void can only free credits"
        return v, restored, sum(take for _, take in lost)

    def existing(self, fp):
        """The ledger's first copy of some content that is not voided (an import's void cancels it)."""
        return next(
            (e for e in self.events if e["fp"] == fp and e["corrects"] is None and e["voided_by"] is None), None
        )

    def import_rows(self, rows):
        """An import, as the importer does it: returns how many rows were added."""
        have = Counter(e["fp"] for e in self.events)
        seen, todo = Counter(), []
        for r in rows:  # a row is new when the file holds more copies of its content than the ledger
            seen[r["fp"]] += 1
            if seen[r["fp"]] > have[r["fp"]]:
                todo.append(r)
        by_id = {r["id"]: r for r in rows}
        new_ids = {id(r) for r in todo}
        voided = set()  # the file's ids of events new here with their void: the void is new too (it is theirs)
        for r in rows:
            if r["corrects"] is not None and id(by_id[r["corrects"]]) in new_ids:
                voided.add(r["corrects"])
                if id(r) not in new_ids:
                    todo.append(r)
                    new_ids.add(id(r))
        todo.sort(key=lambda r: (r["at"], r["corrects"] is not None))  # a void after its event
        local, raw = {}, set()
        for r in todo:
            if r["id"] in voided or (r["corrects"] is not None and r["corrects"] in raw):
                # an event and its void both new: they net to nothing and neither draws on a grant
                original = local.get(r["corrects"]) if r["corrects"] is not None else None
                e = self.new_event(r["at"], r["cost"], r["fp"], corrects=original["seq"] if original else None)
                e["raw"] = True  # never paid, so never paid again (its void follows it in this file)
                if original is not None:
                    original["voided_by"] = e["seq"]
                if r["id"] in voided:
                    raw.add(r["id"])
            elif r["corrects"] is not None:
                original = self.existing(by_id[r["corrects"]]["fp"])
                if original is None:
                    raise BadFile
                e = self.void(original, r["fp"])[0]
            else:
                e = self.debit(r["at"], r["cost"], r["fp"])
            local[r["id"]] = e
        return len(todo)


# --- what an import file holds ---------------------------------------------------------------------

WHEN = st.one_of(
    st.tuples(st.just("back"), st.integers(0, 75 * 86400)),  # seconds before now (none before T0)
    st.tuples(st.just("cycle"), st.integers(0, 2)),  # the start of this cycle or of one before it
    st.tuples(st.just("event"), st.integers(0, 10**6)),  # the instant of an event in the ledger
)
ROW = st.fixed_dictionaries(
    {
        "when": WHEN,
        "milli": st.one_of(
            st.integers(1, 1200).map(lambda n: n * 500),  # up to 600 credits
            st.integers(1, 40).map(lambda n: n * 250_000),
        ),  # up to 10,000
        "app": st.sampled_from([None, "imp"]),  # None: the same content as a `credits log` may have
        "void": st.integers(0, 3).map(lambda n: n == 3),
        "copies": st.integers(0, 3).map(lambda n: 2 if n == 3 else 1),
    }
)
FORMAT = st.sampled_from(["csv", "jsonl"])


def fp(at, cost, app, note):
    """What makes two events the same content here (action, pool, quantity and model never vary)."""
    return (at, cost, app, note)


class Ledger(RuleBasedStateMachine):
    """The integration pool of a workspace on some plan, driven through the real CLI."""

    examples: ClassVar[int] = 0
    steps: ClassVar[int] = 0
    tally: ClassVar[Counter] = Counter()  # what the runs did, printed at the end (how often imports were refused ...)
    # where each run's ledger is: a file in the run's folder, or (given) a new ledger from new_db
    new_db: ClassVar[Callable[[], object] | None] = None

    def __init__(self):
        super().__init__()
        self.dir = tempfile.TemporaryDirectory(dir=MEMORY)
        self.cli = fast_cli(Ledger.new_db() if Ledger.new_db else Path(self.dir.name) / "m.db")
        self.m = None
        self.files = []  # every file imported (or refused) so far: lists of rows
        self.coupons = 0
        Ledger.examples += 1

    def teardown(self):
        self.dir.cleanup()

    def attempt(self, op):
        """Run `op` on the model; on a refusal the model is left as it was. Returns (outcome, result)."""
        before = copy.deepcopy(self.m)
        try:
            return "ok", op(self.m)
        except Refused:
            self.m = before
            return "refused", None
        except BadFile:
            self.m = before
            return "bad", None

    def new_instant(self):
        """A grant starts now and pays the events recorded at this very instant too (instants decide,
        as in the model's replay). Every other step makes one at the same instant as often as not."""

    def run(self, *args):
        return self.cli(*args, now=z(self.m.now))

    def saw(self, what):
        Ledger.tally[what] += 1

    # --- ids: the ledger gives them (a server's sequences skip the ids of refused writes), the model reads them

    def take_ids(self, ids):
        """The ledger's ids for the model's new events, in the order written: each new and distinct, and each
        greater than every id before it (ids may skip, never go back: ties of an instant go by id)."""
        new = [e for e in self.m.events if e["id"] is None]
        last = max((e["id"] for e in self.m.events if e["id"] is not None), default=0)
        assert len(ids) == len(new), (ids, new)
        assert ids == sorted(set(ids)) and all(i > last for i in ids), (last, ids)
        if ids != list(range(last + 1, last + 1 + len(ids))):
            self.saw("ids: the ledger skipped some")
        for e, i in zip(new, ids, strict=True):
            e["id"] = i

    def events_match(self):
        """After an import: the ids the ledger lists that the model does not know yet are its new events, in
        order; then every event listed is the model's (instant, credits, the id of the event it voids)."""
        listed = sorted(self.cli.json("events", "--limit", "0", now=z(self.m.now)), key=lambda x: x["id"])
        known = {e["id"] for e in self.m.events}
        self.take_ids([x["id"] for x in listed if x["id"] not in known])
        assert [(x["id"], x["at"], milli(x["credits"]), x["corrects"]) for x in listed] == [
            (e["id"], iso(e["at"]), e["cost"], None if e["corrects"] is None else self.m.event(e["corrects"])["id"])
            for e in self.m.events
        ]

    # --- steps ------------------------------------------------------------------------------

    @initialize(plan=st.sampled_from(["starter", "builder", "pro", "elite", "free"]))
    def start(self, plan):
        self.m = Model(plan)
        r = self.cli("init", "--plan", plan, "--start", z(T0), now=z(T0))
        assert r.exit_code == 0, r.stderr

    @rule(hours=st.one_of(st.integers(1, 24 * 20), st.none()))
    def advance(self, hours):
        """The clock moves on some hours, or (None) to the next reset, as `credits reset` foretells it."""
        if hours is None:
            self.jump_to_the_reset()
        else:
            self.m.now += timedelta(hours=hours)

    @rule(
        credits=st.one_of(st.integers(1, 900), st.integers(1000, 30_000)),
        back=st.one_of(st.none(), st.integers(0, 60 * 86400)),
    )
    def log(self, credits, back):
        """A use now, or back-dated (--at): the events after it are paid again in time order."""
        cost = credits * 1000
        at = self.m.now if back is None else max(T0, self.m.now - timedelta(seconds=back))
        outcome, e = self.attempt(lambda m: m.debit(at, cost, fp(at, cost, None, None)))
        args = ["log", "invokeLLM", "--credits", str(credits), "--json"]
        if back is not None:
            args += ["--at", iso(at)]
        r = self.run(*args)
        self.saw(f"log{'' if back is None else ' back-dated'}: {outcome}")
        if outcome == "refused":
            assert r.exit_code == 3, (r.stdout, r.stderr)
            return
        assert r.exit_code == 0, r.stderr
        self.take_ids([json.loads(r.stdout)["id"]])

    @rule(credits=st.integers(1, 500), days=st.one_of(st.none(), st.integers(1, 60)))
    def grant(self, credits, days):
        self.new_instant()
        args = ["grant", "--pool", "integration", "--credits", str(credits), "--reason", "model"]
        expires = None
        if days is not None:
            expires = self.m.now + timedelta(days=days)
            args += ["--expires", z(expires)]
        r = self.run(*args)
        assert r.exit_code == 0, r.stderr
        self.m.add_grant("promo", credits * 1000, self.m.now, expires)

    @rule(credits=st.integers(1, 300), days=st.one_of(st.none(), st.integers(1, 45)))
    def coupon(self, credits, days):
        self.new_instant()
        self.coupons += 1
        code = f"MODEL-{self.coupons:04d}"
        args = ["coupon", "create", code, "--credits", str(credits), "--pool", "integration"]
        expires = None
        if days is not None:
            expires = self.m.now + timedelta(days=days)
            args += ["--expires", z(expires)]
        assert self.run(*args).exit_code == 0
        r = self.run("coupon", "redeem", code.lower().replace("-", " "))
        assert r.exit_code == 0, r.stderr
        self.m.add_grant("coupon", credits * 1000, self.m.now, expires)

    @rule(packs=st.integers(1, 2))
    def topup(self, packs):
        """Paid plans only; 1,000 integration credits a pack, for a year, used after every other credit."""
        self.new_instant()
        r = self.run("topup", "--pool", "integration", "--packs", str(packs))
        if PLANS[self.m.plan_at(self.m.now)][0] == 0:
            assert r.exit_code == 3, (r.stdout, r.stderr)
            return
        assert r.exit_code == 0, r.stderr
        self.m.add_grant("topup", packs * 1_000_000, self.m.now, self.m.now + relativedelta(months=12))
        self.saw("topup")

    def jump_to_the_reset(self):
        r = self.run("reset", "--json")
        assert r.exit_code == 0, r.stderr
        body = json.loads(r.stdout, parse_float=D)
        end = self.m.cycle(self.m.now)[1]
        assert body["at"] == iso(end)
        pool = body["pools"]["integration"]
        # what expires at the reset, and what is left after it, as the model sees that instant
        expiring = [g for g in self.m.live_grants(self.m.now) if g["expires"] is not None and g["expires"] <= end]
        assert milli(pool["lost"]) == sum(max(0, g["amount"] - g["used"]) for g in expiring)
        assert body["plan_after"] == self.m.plan_at(end)
        assert milli(pool["granted"]) == PLANS[self.m.plan_at(end)][1]
        assert milli(pool["available_after"]) == self.m.balance(end)["available"]
        self.m.now = end
        self.saw("reset")

    @precondition(lambda self: self.m is not None and self.m.live_events())
    @rule(pick=st.integers(0, 10**6))
    def void(self, pick):
        """Any live event: what it drew from grants still live goes back, and later events are paid again."""
        live = self.m.live_events()
        e = live[pick % len(live)]
        note = f"void of event {e['id']}"
        outcome, result = self.attempt(lambda m: m.void(e, fp(e["at"], -e["cost"], e["fp"][2], note)))
        r = self.run("void", str(e["id"]), "--json")
        assert r.exit_code == 0, r.stderr
        body = json.loads(r.stdout, parse_float=D)
        _, restored, expired = result
        assert body["voids"] == e["id"]
        self.take_ids([body["id"]])
        assert (milli(body["restored"]), milli(body["expired"])) == (restored, expired)
        self.saw("void: some credits had expired" if expired else "void: all restored")

    @rule(plan=st.sampled_from(list(PLANS)))
    def set_plan(self, plan):
        """Upgrades at once, downgrades at the next reset; a later decision overrides a pending one."""
        self.new_instant()
        pending = self.m.pending()
        change, effective, added = self.m.set_plan(plan)
        r = self.run("plan", "set", plan, "--json")
        assert r.exit_code == 0, r.stderr
        body = json.loads(r.stdout, parse_float=D)
        assert (body["change"], body["effective_at"]) == (change, iso(effective))
        assert milli(body["added"].get("integration", 0)) == added
        self.saw(f"plan set: {change}{' (a pending change overridden)' if pending else ''}")

    def rows(self, specs, first_id):
        """File rows from drawn specs: instants resolved against the model, ids from first_id on."""
        out, n = [], first_id
        for s in specs:
            kind, k = s["when"]
            if kind == "back":
                at = max(T0, self.m.now - timedelta(seconds=k))
            elif kind == "cycle":
                at = max(T0, self.m.cycle(self.m.now)[0] - relativedelta(months=k))
            else:
                at = self.m.events[k % len(self.m.events)]["at"] if self.m.events else self.m.now
            for _ in range(s["copies"]):
                out.append({"id": n, "at": at, "cost": s["milli"], "app": s["app"], "note": None, "corrects": None})
                n += 1
            if s["void"]:
                out.append(self.void_row(out[-1], n))
                n += 1
        for r in out:
            r["fp"] = fp(r["at"], r["cost"], r["app"], r["note"])
        return out

    @staticmethod
    def void_row(r, n):
        v = {"id": n, "at": r["at"], "cost": -r["cost"], "app": r["app"], "note": "model void", "corrects": r["id"]}
        v["fp"] = fp(v["at"], v["cost"], v["app"], v["note"])
        return v

    def write(self, rows, fmt):
        path = Path(self.dir.name) / f"import-{len(self.files)}.{fmt}"
        fields = ["id", "at", "pool", "action", "quantity", "credits", "app", "note", "corrects"]
        cells = [
            {
                "id": r["id"],
                "at": iso(r["at"]),
                "pool": "integration",
                "action": "invokeLLM",
                "quantity": 1,
                "credits": credits_text(r["cost"]),
                "app": r["app"],
                "note": r["note"],
                "corrects": r["corrects"],
            }
            for r in rows
        ]
        with open(path, "w", encoding="utf-8", newline="") as f:
            if fmt == "csv":
                w = csv.DictWriter(f, fieldnames=fields)
                w.writeheader()
                w.writerows({k: "" if v is None else v for k, v in c.items()} for c in cells)
            else:
                f.writelines(json.dumps(c) + "\n" for c in cells)
        return path

    def import_file(self, rows, fmt, how="new"):
        """All or nothing: accepted as the model applies it, or refused with the ledger untouched."""
        outcome, added = self.attempt(lambda m: m.import_rows(rows))
        self.saw(
            f"import ({how}): "
            + {
                "ok": "added all" if added == len(rows) else "added some" if added else "added nothing",
                "refused": "refused (exit 3)",
                "bad": "bad file (exit 2)",
            }[outcome]
        )
        self.files.append(rows)
        path = self.write(rows, fmt)
        before = self.cli.dump() if outcome != "ok" else None
        r = self.run("import", str(path), "--json")
        if outcome == "ok":
            assert r.exit_code == 0, (r.stdout, r.stderr)
            body = json.loads(r.stdout, parse_float=D)
            assert (body["rows"], body["added"], body["skipped"]) == (len(rows), added, len(rows) - added)
            self.events_match()
        else:
            assert r.exit_code == (3 if outcome == "refused" else 2), (outcome, r.exit_code, r.stdout, r.stderr)
            assert self.cli.dump() == before

    @rule(specs=st.lists(ROW, min_size=1, max_size=4), fmt=FORMAT)
    def import_events(self, specs, fmt):
        """A file of events back-dated into this cycle and earlier ones, some voided, some repeated."""
        self.import_file(self.rows(specs, 1), fmt)

    @precondition(lambda self: self.files)
    @rule(data=st.data(), fmt=FORMAT)
    def reimport(self, data, fmt):
        """A file again: as it was (nothing is added twice), with a void of one of its events, or with more rows."""
        rows = [dict(r) for r in self.files[data.draw(st.integers(0, len(self.files) - 1), label="file")]]
        how = data.draw(st.sampled_from(["same", "plus_void", "plus_rows"]), label="how")
        next_id = max(r["id"] for r in rows) + 1
        if how == "plus_void":
            targets = [r for r in rows if r["corrects"] is None and r["id"] not in {v["corrects"] for v in rows}]
            if targets:
                rows.append(
                    self.void_row(targets[data.draw(st.integers(0, len(targets) - 1), label="target")], next_id)
                )
        elif how == "plus_rows":
            rows += self.rows(data.draw(st.lists(ROW, min_size=1, max_size=3), label="more"), next_id)
        self.import_file(rows, fmt, how)

    # --- invariants ---------------------------------------------------------------------------

    @invariant()
    def balance_matches_the_model(self):
        if self.m is None:
            return
        Ledger.steps += 1
        body = self.cli.json("balance", now=z(self.m.now))
        b = body["integration"]
        assert all(b[k] >= 0 for k in ("allowance", "used", "allowance_left", "bonus", "available")), b
        model = self.m.balance()
        assert {k: milli(b[k]) for k in model} == model
        assert body["plan"] == self.m.plan_at(self.m.now)
        self.every_view_adds_up(body)
        pending = self.m.pending()
        scheduled = body["scheduled"]
        assert (None if scheduled is None else (scheduled["plan"], scheduled["at"])) == (
            None if pending is None else (pending["plan"], iso(pending["effective"]))
        )

    def every_view_adds_up(self, body):
        """The identities README's balance section documents, in the JSON and in the human meter and table."""
        for pool, b in ((p, body[p]) for p in ("message", "integration")):
            assert b["allowance_used"] + b["allowance_left"] == b["allowance"], (pool, b)
            assert b["allowance_used"] + b["bonus_used"] == b["used"], (pool, b)
            assert b["allowance_used"] >= 0 and b["bonus_used"] >= 0, (pool, b)
            daily = b.get("daily")
            left = b["allowance_left"] + b["bonus"]
            assert b["available"] == (left if daily is None else min(left, daily["left"])), (pool, b)
        text = self.run("balance").stdout
        for pool in ("message", "integration"):
            b = body[pool]
            meter = next(line for line in text.splitlines() if re.match(pool + "[ :]", line))
            used, total, left = (
                D(x.replace(",", ""))
                for x in re.search(r"([\d,.]+) of ([\d,.]+) used · ([\d,.]+) left", meter).groups()
            )
            assert (used, left) == (b["used"], b["allowance_left"] + b["bonus"]), (meter, b)
            assert used + left == total, meter
        rows = {line[:20].strip(): line[20:].split() for line in text.splitlines() if line[:20].strip()}
        for label, key in (
            ("allowance", "allowance"),
            ("used", "allowance_used"),
            ("left", "allowance_left"),
            ("bonus used", "bonus_used"),
            ("bonus left", "bonus"),
            ("used this cycle", "used"),
            ("available now", "available"),
        ):
            assert [D(x.replace(",", "")) for x in rows[label]] == [body["message"][key], body["integration"][key]], (
                label,
                text,
            )

    @invariant()
    def entries_are_consistent(self):
        """`credits check` is clean; every grant holds what the model says, an expired one nothing."""
        if self.m is None:
            return
        r = self.cli("check", now=z(self.m.now))
        assert r.exit_code == 0, (r.stdout, r.stderr)
        listed = [g for g in self.cli.json("grants", now=z(self.m.now)) if g["pool"] == "integration"]
        for g in listed:
            assert g["used"] >= 0 and g["left"] >= 0 and g["lost"] >= 0, g
            if g["status"] == "expired":
                assert g["left"] == 0, g
        ours = self.m.grants + [g for g in self.m.live_grants(self.m.now) if g["seq"] is None]
        assert sorted(
            (g["source"], g["starts_at"], g["expires_at"] or "", milli(g["credits"]), milli(g["used"])) for g in listed
        ) == sorted(
            (g["source"], iso(g["starts"]), g["expires"] and iso(g["expires"]) or "", g["amount"], g["used"])
            for g in ours
        )


SETTINGS = settings(
    stateful_step_count=STEPS,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def test_ledger_follows_the_model(engine, new_db):
    Ledger.new_db = new_db if engine == "postgresql" else None  # SQLite: a file in memory (tmpfs) where there is one
    print(
        f"credits model ({engine}): seed {SEED} (replay with CREDITS_MODEL_SEED={SEED}), {EXAMPLES[engine]} examples"
        f" of up to {STEPS} steps"
    )
    Ledger.examples = Ledger.steps = 0
    Ledger.tally.clear()
    machine = seed(SEED)(Ledger)
    if os.environ.get("CREDITS_MODEL_BLOB"):
        machine = reproduce_failure(__version__, os.environ["CREDITS_MODEL_BLOB"].encode())(machine)
    started = time.monotonic()
    run_state_machine_as_test(machine, settings=settings(SETTINGS, max_examples=EXAMPLES[engine]))
    print(f"credits model: {Ledger.examples} runs, {Ledger.steps} states checked, {time.monotonic() - started:.1f} s")
    for what, n in sorted(Ledger.tally.items()):
        print(f"  {n:6} {what}")


# --- known defects, each a minimal reproduction (the state machine steps around them) ---------------

STARTER = ("init", "--plan", "starter", "--start", "2026-01-01T00:00:00Z")


def test_a_void_repays_an_event_of_the_same_instant(cli):
    assert cli(*STARTER, now="2026-01-01T00:00:00Z").exit_code == 0
    assert (
        cli(
            "grant", "--pool", "integration", "--credits", "1000", "--reason", "x", now="2026-01-02T00:00:00Z"
        ).exit_code
        == 0
    )
    now = "2026-01-10T00:00:00Z"
    assert cli("log", "invokeLLM", "--credits", "1800", now=now).exit_code == 0
    assert cli("log", "invokeLLM", "--credits", "1000", now=now).exit_code == 0
    assert cli("void", "1", now=now).exit_code == 0
    b = cli.json("balance", now=now)["integration"]
    assert (b["allowance_left"], b["bonus"]) == (1000, 1000)
    assert cli.json("reset", now=now)["pools"]["integration"]["available_after"] == 3000


def test_import_never_writes_an_unpaid_event(cli, tmp_path):
    assert cli(*STARTER, now="2026-01-01T00:00:00Z").exit_code == 0
    head = "id,at,pool,action,quantity,credits,app,note,corrects\n"
    event = "{},2026-01-05T00:00:00Z,integration,invokeLLM,1,5,imp,,\n"
    void = "{},2026-01-05T00:00:00Z,integration,invokeLLM,1,-5,imp,v,{}\n"
    (tmp_path / "a.csv").write_text(head + event.format(1) + void.format(2, 1))
    (tmp_path / "b.csv").write_text(head + event.format(1) + event.format(3) + void.format(4, 3))
    now = "2026-01-10T00:00:00Z"
    assert cli("import", str(tmp_path / "a.csv"), now=now).exit_code == 0
    r = cli("import", str(tmp_path / "b.csv"), now=now)
    c = cli("check", now=now)
    assert c.exit_code == 0, (r.stdout, c.stderr)


def test_a_grant_pays_the_events_of_its_own_instant_at_once_not_after_some_later_change(cli):
    """Found by the state machine: the split used to depend on history (499/1000, then 1499/0 once a
    back-dated use re-paid the 10:00 event). Instants decide: the grant live at 10:00 pays first."""
    assert cli(*STARTER, now="2026-01-01T00:00:00Z").exit_code == 0
    now = "2026-01-10T10:00:00Z"
    assert cli("log", "invokeLLM", "--credits", "1500", now=now).exit_code == 0
    assert (
        cli(
            "grant",
            "--pool",
            "integration",
            "--credits",
            "1000",
            "--expires",
            "2026-01-15T00:00:00Z",
            "--reason",
            "x",
            now=now,
        ).exit_code
        == 0
    )
    b = cli.json("balance", now=now)["integration"]
    assert (b["allowance_left"], b["bonus"]) == (1500, 0)  # the grant expires first: it paid 1,000 of the 1,500
    assert cli("log", "invokeLLM", "--credits", "1", "--at", "2026-01-10T09:00:00Z", now=now).exit_code == 0
    b = cli.json("balance", now=now)["integration"]
    assert (b["allowance_left"], b["bonus"]) == (1499, 0)  # the same split: history does not matter


def test_importing_a_void_of_an_already_voided_event_says_so(cli, tmp_path):
    assert cli(*STARTER, now="2026-01-01T00:00:00Z").exit_code == 0
    head = "id,at,pool,action,quantity,credits,app,note,corrects\n"
    event = "1,2026-01-05T00:00:00Z,integration,invokeLLM,1,5,imp,,\n"
    (tmp_path / "a.csv").write_text(head + event)
    (tmp_path / "b.csv").write_text(head + event + "2,2026-01-05T00:00:00Z,integration,invokeLLM,1,-5,imp,v,1\n")
    now = "2026-01-10T00:00:00Z"
    assert cli("import", str(tmp_path / "a.csv"), now=now).exit_code == 0
    assert cli("void", "1", now=now).exit_code == 0
    r = cli("import", str(tmp_path / "b.csv"), now=now)
    assert r.exit_code == 2
    assert "voided" in r.stderr and "not imported" not in r.stderr, r.stderr


def test_voiding_an_imported_event_leaves_a_voided_pair_of_the_same_file_unpaid(new_db, tmp_path):
    """Found by the state machine: a file re-imports event 1 with its void, and brings a new event with its
    own void at the same instant. Both new rows are written first and draw on nothing; the void of event 1
    then paid the events after it again, the new one included: one larger than the pool was refused ("could
    not be paid again after the void"), a smaller one was paid and its void gave nothing back."""
    now = "2026-01-10T00:00:00Z"
    head = "id,at,pool,action,quantity,credits,app,note,corrects\n"
    row = "{},2026-01-05T00:00:00Z,integration,invokeLLM,1,{},imp,{},{}\n"
    for new in (5000, 100):  # more than the 2,000 the starter plan gives, and less
        cli = Cli(new_db(f"n{new}"))
        assert cli(*STARTER, now="2026-01-01T00:00:00Z").exit_code == 0
        (tmp_path / "a.csv").write_text(head + row.format(1, 750, "", ""))
        (tmp_path / "b.csv").write_text(
            head
            + row.format(1, 750, "", "")
            + row.format(2, -750, "v", 1)
            + row.format(3, new, "", "")
            + row.format(4, -new, "v", 3)
        )
        assert cli("import", str(tmp_path / "a.csv"), now=now).exit_code == 0
        r = cli("import", str(tmp_path / "b.csv"), "--json", now=now)
        assert r.exit_code == 0, r.stderr
        assert (json.loads(r.stdout)["added"], json.loads(r.stdout)["skipped"]) == (3, 1)
        b = cli.json("balance", now=now)["integration"]
        assert (b["used"], b["allowance_left"], b["available"]) == (0, 2000, 2000)
        c = cli("check", now=now)
        assert c.exit_code == 0, c.stderr
