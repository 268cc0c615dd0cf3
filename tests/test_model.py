"""A property-based state machine drives the real commands and compares with a simple model.

Invariants after every step: the balance equals the model's, nothing is ever negative, and
`credits check` finds the entries consistent (so expired grants hold nothing they should not).
On failure hypothesis prints the blob that replays it (print_blob).
"""

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

from dateutil.relativedelta import relativedelta
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from conftest import Cli

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
UTC_Z = "%Y-%m-%dT%H:%M:%S.%fZ"


def z(t):
    return t.strftime(UTC_Z)


class Ledger(RuleBasedStateMachine):
    """The integration pool of a starter workspace (2,000 a month), later perhaps builder (10,000)."""

    def __init__(self):
        super().__init__()
        import tempfile
        from pathlib import Path

        self.dir = tempfile.TemporaryDirectory()
        self.cli = Cli(Path(self.dir.name) / "m.db")
        self.now = T0
        self.grants = []  # dicts: amount, used, starts, expires, granted, seq
        self.events = []  # dicts: id, at, cost, parts [(grant, amount)], voided
        self.allowance = 2_000_000
        self.seq = 0
        self.next_event = 1

    def teardown(self):
        try:
            self.entries_are_consistent()  # once per run: the check recomputes the whole ledger
        finally:
            self.dir.cleanup()

    # --- the model ---------------------------------------------------------------------

    def cycle(self, t):
        n = (t.year - T0.year) * 12 + t.month - T0.month
        while T0 + relativedelta(months=n) > t:
            n -= 1
        while T0 + relativedelta(months=n + 1) <= t:
            n += 1
        return T0 + relativedelta(months=n), T0 + relativedelta(months=n + 1)

    def ensure_allowance(self, t):
        start, end = self.cycle(t)
        if not any(g["kind"] == "allowance" and g["starts"] == start for g in self.grants):
            self.seq += 1
            self.grants.append({"kind": "allowance", "amount": self.allowance_at(start), "used": 0, "starts": start,
                                "expires": end, "granted": start, "seq": self.seq})

    def allowance_at(self, start):
        return self.upgraded_allowance if getattr(self, "upgraded_at", None) and start >= self.upgraded_at \
            else 2_000_000

    def live(self, t):
        return [g for g in self.grants if g["starts"] <= t and (g["expires"] is None or t < g["expires"])]

    def model_available(self):
        self.ensure_allowance(self.now)
        return sum(g["amount"] - g["used"] for g in self.live(self.now))

    # --- steps ------------------------------------------------------------------------------

    @initialize()
    def start(self):
        r = self.cli("init", "--plan", "starter", "--start", z(T0), now=z(T0))
        assert r.exit_code == 0, r.stderr

    @rule(hours=st.integers(1, 24 * 20))
    def advance(self, hours):
        self.now += timedelta(hours=hours)

    @rule(credits=st.integers(1, 900))
    def log(self, credits):
        cost = credits * 1000
        self.ensure_allowance(self.now)
        live = sorted(self.live(self.now), key=lambda g: (g["expires"] is None, g["expires"] or g["granted"],
                                                          g["granted"], g["seq"]))
        r = self.cli("log", "invokeLLM", "--credits", str(credits), "--json", now=z(self.now))
        have = sum(g["amount"] - g["used"] for g in live)
        if have < cost:
            assert r.exit_code == 3, (r.stdout, r.stderr)
            return
        assert r.exit_code == 0, r.stderr
        parts, need = [], cost
        for g in live:
            take = min(need, g["amount"] - g["used"])
            if take > 0:
                g["used"] += take
                parts.append((g, take))
                need -= take
        self.events.append({"id": self.next_event, "at": self.now, "cost": cost, "parts": parts, "voided": False})
        assert json.loads(r.stdout)["id"] == self.next_event
        self.next_event += 1

    @rule(credits=st.integers(1, 500), days=st.one_of(st.none(), st.integers(1, 60)))
    def grant(self, credits, days):
        args = ["grant", "--pool", "integration", "--credits", str(credits), "--reason", "model"]
        expires = None
        if days is not None:
            expires = self.now + timedelta(days=days)
            args += ["--expires", z(expires)]
        r = self.cli(*args, now=z(self.now))
        assert r.exit_code == 0, r.stderr
        self.seq += 1
        self.grants.append({"kind": "promo", "amount": credits * 1000, "used": 0, "starts": self.now,
                            "expires": expires, "granted": self.now, "seq": self.seq})

    @rule(credits=st.integers(1, 300), days=st.one_of(st.none(), st.integers(1, 45)))
    def coupon(self, credits, days):
        self.coupons = getattr(self, "coupons", 0) + 1
        code = f"MODEL-{self.coupons:04d}"
        args = ["coupon", "create", code, "--credits", str(credits), "--pool", "integration"]
        expires = None
        if days is not None:
            expires = self.now + timedelta(days=days)
            args += ["--expires", z(expires)]
        assert self.cli(*args, now=z(self.now)).exit_code == 0
        r = self.cli("coupon", "redeem", code.lower().replace("-", " "), now=z(self.now))
        assert r.exit_code == 0, r.stderr
        self.seq += 1
        self.grants.append({"kind": "coupon", "amount": credits * 1000, "used": 0, "starts": self.now,
                            "expires": expires, "granted": self.now, "seq": self.seq})

    @rule()
    def jump_to_the_reset(self):
        r = self.cli("reset", "--json", now=z(self.now))
        assert r.exit_code == 0, r.stderr
        body = json.loads(r.stdout, parse_float=D)
        start, end = self.cycle(self.now)
        assert body["at"] == end.strftime("%Y-%m-%dT%H:%M:%SZ")
        # what the reset says will be left equals the model's view of that instant
        self.now = end
        assert body["pools"]["integration"]["available_after"] * 1000 == D(self.model_available())

    @rule()
    def void_last(self):
        candidates = [e for e in self.events if not e["voided"] and e["cost"] > 0]
        if not candidates or candidates[-1] is not self.events[-1]:
            return  # the model keeps to voids of the newest event (nothing after it to pay again)
        e = candidates[-1]
        r = self.cli("void", str(e["id"]), now=z(self.now))
        assert r.exit_code == 0, r.stderr
        e["voided"] = True
        for g, take in e["parts"]:
            if g["expires"] is None or g["expires"] > self.now:
                g["used"] -= take
        self.events.append({"id": self.next_event, "at": e["at"], "cost": -e["cost"], "parts": [], "voided": True})
        self.next_event += 1

    @rule()
    def upgrade(self):
        if getattr(self, "upgraded_at", None):
            return
        r = self.cli("plan", "set", "builder", now=z(self.now))
        assert r.exit_code == 0, r.stderr
        self.ensure_allowance(self.now)
        start, end = self.cycle(self.now)
        self.upgraded_at = self.now
        self.upgraded_allowance = 10_000_000
        self.seq += 1
        self.grants.append({"kind": "upgrade", "amount": 8_000_000, "used": 0, "starts": self.now, "expires": end,
                            "granted": self.now, "seq": self.seq})

    # --- invariants ---------------------------------------------------------------------------

    @invariant()
    def balance_matches_the_model(self):
        b = self.cli.json("balance", now=z(self.now))["integration"]
        assert b["available"] >= 0 and b["allowance_left"] >= 0 and b["bonus"] >= 0
        assert b["available"] * 1000 == D(self.model_available())
        start, end = self.cycle(self.now)
        used = sum(e["cost"] for e in self.events if start <= e["at"] < end)
        assert b["used"] * 1000 == D(used)

    def entries_are_consistent(self):
        r = self.cli("check", now=z(self.now))
        assert r.exit_code == 0, r.stderr
        for g in self.cli.json("grants", now=z(self.now)):
            if g["status"] == "expired":
                assert g["left"] == 0


TestLedgerModel = Ledger.TestCase
TestLedgerModel.settings = settings(max_examples=60, stateful_step_count=15, deadline=None, print_blob=True,
                                    suppress_health_check=[HealthCheck.too_slow])
