"""Generate a year-long ledger of usage events for the benchmarks, as a CSV `credits import` reads.

    python bench/generate.py --events 100000 --out /tmp/events-100k.csv
    python bench/generate.py --catalog /tmp/bench-catalog.toml   # the catalog the CSV is priced with

Seeded and deterministic: the same --events and --seed give the same bytes. A three-member
team (ana, bob, cy) runs twenty apps for a year (START to NOW below) and uses every action of
the built-in catalog, with its models, scopes, seconds, characters, custom-domain emails,
counts, idempotency keys and notes (some of which start with `=` or `-`, to exercise the CSV's
formula quoting). Each event's credits are what the product charges for it: the generator
prices every event with credits_cli's own catalog and pricing code.

The bench's catalog. 1,000,000 events over a year are about 80,000 a month, several hundred
thousand integration credits a cycle: more than any built-in plan's allowance (elite: 50,000),
and `credits import` refuses an event the pool cannot pay. The bench does not fund the ledger
with grants (`credits grant` takes at most 1,000,000 credits a grant, and a dozen extra grants
per pool would change the shape of the ledger that the reports and the allocation of each event
walk through); it uses its own catalog instead: the built-in catalog, copied verbatim (same
actions, same prices), plus one plan `bench` whose monthly allowance is the largest a catalog
accepts (1,000,000 credits per pool), with every feature (custom-domain email, automations) and
no daily cap. The ledger then looks like a real one: one allowance grant per pool per cycle,
every event paid by it. `write_catalog` writes that file; every `credits` command of the bench
gets it through CREDITS_CATALOG, the empty baseline ledgers too. The generator checks that no
cycle spends more than the allowance (it stops with an error if a change of the catalog's
prices ever made it so).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import random
import sys
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

from credits_cli.domain.catalog import parse_catalog
from credits_cli.domain.cycles import cycle_index
from credits_cli.domain.money import parse_credits
from credits_cli.domain.pricing import Usage, price

START = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)  # the workspace's purchase instant (cycles reset on the 1st)
NOW = datetime(2026, 12, 31, 20, 0, tzinfo=UTC)  # every command runs at this instant (--now)
YEAR_SECONDS = int((NOW - START).total_seconds())
START_ISO = START.strftime("%Y-%m-%dT%H:%M:%SZ")
NOW_ISO = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")

PLAN = "bench"
ALLOWANCE = 1_000_000  # credits a cycle and pool: the largest amount a catalog accepts
BENCH_PLAN = f"""

# --- added by bench/generate.py: a plan large enough for a year of 1,000,000 events ---
[plans.{PLAN}]
price_monthly = 0
price_yearly = 0
message = {ALLOWANCE}
integration = {ALLOWANCE}
features = ["backend_functions", "custom_domain_email", "automations"]
"""

MEMBERS = ("ana", "bob", "cy")
APPS = (
    "crm",
    "newsletter",
    "support-bot",
    "landing",
    "billing",
    "onboarding",
    "analytics",
    "inventory",
    "booking",
    "helpdesk",
    "blog",
    "shop",
    "survey",
    "recruiting",
    "wiki",
    "chat",
    "scheduler",
    "invoices",
    "portal",
    "reports",
)
# How often each action happens (an action of the catalog not named here gets DEFAULT_WEIGHT).
WEIGHTS = {
    "invokeLLM": 30,
    "agent": 14,
    "SendEmail": 14,
    "message": 12,
    "automation": 8,
    "UploadFile": 5,
    "ExtractDataFromUploadedFile": 5,
    "GenerateImage": 5,
    "GenerateSpeech": 3,
    "GenerateVideo": 2,
}
DEFAULT_WEIGHT = 3
MESSAGE_CREDITS = ("0.3", "0.7", "0.9", "1.3", "2.4")  # a builder prompt's real cost, as the platform shows it
NOTES = (
    "add a login page",
    "fix the pricing table",
    "=2+2 showed up in the sheet",
    "dark mode",
    "faster search",
    "rename the onboarding steps",
    "export to PDF",
    "-- ask about webhooks",
    "@channel: demo friday",
    "+1 from the client",
)
FIELDS = (
    "at",
    "pool",
    "action",
    "model",
    "scope",
    "quantity",
    "seconds",
    "chars",
    "custom_domain",
    "credits",
    "app",
    "member",
    "key",
    "note",
)
# Activity by UTC hour: the team builds in working hours; the apps run all day, busier by day.
HOURS = (2, 1, 1, 1, 1, 2, 3, 5, 8, 10, 10, 10, 9, 10, 10, 10, 9, 8, 6, 5, 4, 3, 3, 2)
SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}


def catalog_text() -> str:
    """The built-in catalog (of the installed credits_cli) plus the bench plan."""
    text = resources.files("credits_cli").joinpath("data/catalog.toml").read_text(encoding="utf-8")
    return text.rstrip("\n") + "\n" + BENCH_PLAN


def write_catalog(path: Path) -> Path:
    text = catalog_text()
    parse_catalog(text, str(path))  # fails here, not in the middle of a run, if it is not valid
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return path


def credits_text(milli: int) -> str:
    whole, frac = divmod(milli, 1000)
    return str(whole) if not frac else f"{whole}.{frac:03d}".rstrip("0")


def quoted(cell: str) -> str:
    """A text cell as the export writes it (a leading quote where a spreadsheet would see a formula)."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r", "'") else cell


def generate(n: int, out, seed: int = 2026) -> dict:
    """Write `n` events (header first, oldest first) to the text stream `out`; return a summary."""
    rng = random.Random(seed)
    catalog = parse_catalog(catalog_text(), "bench catalog")
    plan = catalog.plan(PLAN)
    actions = list(catalog.actions.values())
    action_cum = _cum([WEIGHTS.get(a.name, DEFAULT_WEIGHT) for a in actions])
    app_cum = _cum([1 / (i + 1) ** 0.8 for i in range(len(APPS))])  # a few apps do most of the work
    owner = {app: MEMBERS[i % len(MEMBERS)] for i, app in enumerate(APPS)}
    # the days of the year, weekdays busier, the team growing through the year
    days = int((NOW - START).total_seconds() // 86400) + 1
    day_w = []
    for d in range(days):
        t = START + timedelta(days=d)
        day_w.append((1.0 if t.weekday() < 5 else 0.4) * (0.6 + 0.8 * d / days))
    day_cum = _cum(day_w)
    hour_cum = _cum(HOURS)
    quotes: dict = {}

    def unit_cost(action, model, scope, seconds, chars, custom, override):
        key = (action.name, model, scope, seconds, chars, custom, override)
        q = quotes.get(key)
        if q is None:
            usage = Usage(
                action=action.name,
                count=1,
                model=model,
                scope=scope,
                seconds=seconds,
                chars=chars,
                custom_domain=custom,
                credits=None if override is None else parse_credits(override, "credits"),
            )
            q = quotes[key] = price(action, usage, plan)
        return q

    instants = []
    for _ in range(n):
        day = rng.choices(range(days), cum_weights=day_cum)[0]
        hour = rng.choices(range(24), cum_weights=hour_cum)[0]
        s = day * 86400 + hour * 3600 + rng.randrange(3600)
        instants.append(min(s, YEAR_SECONDS - 1))
    instants.sort()

    used: dict = {}  # (cycle, pool) -> milli-credits
    counts: dict = {}
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(FIELDS)
    for i, s in enumerate(instants):
        at = START + timedelta(seconds=s)
        action = rng.choices(actions, cum_weights=action_cum)[0]
        model = scope = seconds = chars = override = None
        custom = False
        quantity = 1
        if action.models:
            names = list(action.models)
            model = rng.choices(names, weights=_weights(len(names), (6, 3, 1)))[0]
        if action.scopes:
            if rng.random() < 0.6:
                scope = rng.choices(list(action.scopes), weights=_weights(len(action.scopes), (4, 4, 2, 1, 3)))[0]
            else:
                override = rng.choice(MESSAGE_CREDITS)
        elif action.price is None and not action.models:
            override = "1"
        if action.per == "second":
            seconds = rng.randint(3, 15)
        if action.per == "block":
            chars = rng.randint(40, 1200)
        if action.custom_domain_price is not None and rng.random() < 0.4:
            custom = True
        if action.name == "SendEmail":
            quantity = rng.randint(1, 10)
        elif action.pool == "integration" and rng.random() < 0.2:
            quantity = rng.randint(2, 5)
        app = rng.choices(APPS, cum_weights=app_cum)[0] if rng.random() > 0.02 else ""
        if action.pool == "message":
            member = rng.choices(MEMBERS, weights=(4, 1, 1))[0]
        else:
            member = owner.get(app, "") if rng.random() > 0.1 else ""
        q = unit_cost(action, model, scope, seconds, chars, custom, override)
        credits = q.unit_cost * quantity
        cycle = cycle_index(START, at)
        used[(cycle, q.pool)] = used.get((cycle, q.pool), 0) + credits
        counts[action.name] = counts.get(action.name, 0) + 1
        key = f"bench-{seed}-{i}" if rng.random() < 0.02 else ""
        note = rng.choice(NOTES) if action.pool == "message" and rng.random() < 0.05 else ""
        w.writerow(
            (
                at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                q.pool,
                q.action,
                q.model or "",
                q.scope or "",
                quantity,
                "" if seconds is None else seconds,
                "" if chars is None else chars,
                "true" if custom else "false",
                credits_text(credits),
                quoted(app),
                quoted(member),
                key,
                quoted(note),
            )
        )
    worst = max(used.values(), default=0)
    if worst > ALLOWANCE * 1000:
        raise SystemExit(
            f"generate: a cycle spends {credits_text(worst)} credits, more than the bench plan's"
            f" {ALLOWANCE:,}: lower the event count or the weights"
        )
    missing = [a.name for a in actions if a.name not in counts]
    if missing and n >= 1000:
        raise SystemExit(f"generate: no event for {', '.join(missing)}")
    return {"events": n, "max_cycle_credits": credits_text(worst), "actions": counts}


def _weights(n: int, first) -> list:
    return list(first[:n]) + [1] * max(0, n - len(first))


def _cum(weights):
    total, out = 0.0, []
    for x in weights:
        total += x
        out.append(total)
    return out


def _stamp(n: int, seed: int) -> str:
    return f"{n} {seed} {hashlib.sha256(catalog_text().encode()).hexdigest()} {_self_digest()}"


def current(n: int, path: Path, seed: int = 2026) -> bool:
    """Whether `path` holds the CSV of `n` events this generator writes (a stamp beside it says so)."""
    stamp = path.with_name(path.name + ".stamp")
    return path.exists() and stamp.exists() and stamp.read_text() == _stamp(n, seed)


def ensure(n: int, path: Path, seed: int = 2026) -> Path:
    """Write the CSV of `n` events at `path` unless it is there already."""
    if current(n, path, seed):
        return path
    tmp = path.with_name(path.name + ".part")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(tmp, "w", encoding="utf-8", newline="") as out:
        generate(n, out, seed)
    os.replace(tmp, path)
    path.with_name(path.name + ".stamp").write_text(_stamp(n, seed))
    return path


_DIGEST = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]  # this generator, as it was loaded


def _self_digest() -> str:
    return _DIGEST


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--events", type=str, default="10000", help="how many events (or 10k, 100k, 1m)")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--out", help="the CSV file (default: stdout)")
    p.add_argument("--catalog", help="write the bench catalog (built-in catalog + the bench plan) to this file")
    a = p.parse_args(argv)
    if a.catalog:
        write_catalog(Path(a.catalog))
        print(
            f"wrote the bench catalog to {a.catalog} (plan {PLAN!r}); start {START_ISO}, now {NOW_ISO}", file=sys.stderr
        )
        if not a.out:
            return 0
    n = SIZES.get(a.events.lower()) or int(a.events.replace("_", "").replace(",", ""))
    if a.out:
        with open(a.out, "w", encoding="utf-8", newline="") as out:
            summary = generate(n, out, a.seed)
    else:
        summary = generate(n, sys.stdout, a.seed)
    print(
        f"{summary['events']:,} events; the busiest cycle and pool spends {summary['max_cycle_credits']} credits",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
