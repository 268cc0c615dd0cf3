"""Use cases that look ahead: forecast, estimate, advise, budgets, alerts, the status line."""

from __future__ import annotations

import math
import os
import subprocess
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from .domain.catalog import POOLS
from .domain.cycles import cycle_at, iso, parse_zone
from .domain.forecast import DAY, replay, resampled_burns, runs_out, weighted_burn
from .domain.money import Credits, credits_or_none, parse_count, parse_credits, shown
from .domain.pricing import price
from .errors import BadInput, CreditsError
from .records import record, replace
from .reports import check_pool, required_credits, required_pool
from .services import Plans, Session, check_name, pool_balance


def _days(span: timedelta) -> Decimal:
    """A span in days, exactly, to one decimal (JSON numbers are never floats)."""
    return (Decimal(span.total_seconds()) / 86400).quantize(Decimal("0.1")).normalize() + 0


# --- budgets ----------------------------------------------------------------------------


def _target(app: str | None, member: str | None) -> tuple[str, str]:
    if (app is None) == (member is None):
        raise BadInput("app", lambda n: f"give either {n('app')} NAME or {n('member')} NAME")
    kind, name = ("app", app) if app is not None else ("member", member)
    assert name is not None  # one of the two, checked above
    check_name(name, kind)
    return kind, name


@record
class Budget:
    """What an app or a member (`kind`, `name`) may spend of a pool a cycle."""

    kind: str
    name: str
    pool: str
    credits: Credits


@record
class BudgetUse:
    """A budget and this cycle's use against it."""

    kind: str
    name: str
    pool: str
    credits: Credits
    used: Credits
    left: Credits
    resets_at: datetime


def budget_set(session: Session, app, member, pool, credits) -> Budget:
    session.admin_only("set budgets: credits budget set")
    kind, name = _target(app, member)
    pool = required_pool(pool)
    milli = required_credits(credits)
    with session.writing() as ws:
        session.store.set_budget(ws.id, kind, name, pool, milli, session.now_in(ws))
    return Budget(kind, name, pool, Credits(milli))


def budget_list(session: Session) -> list[BudgetUse]:
    ws = session.workspace()
    now = session.now_in(ws)
    cycle = cycle_at(ws.anchor, now)
    store = session.store
    out = []
    for b in store.budgets(ws.id):
        used = store.budget_used(ws.id, b.kind, b.name, b.pool, cycle.start, cycle.end)
        out.append(
            BudgetUse(
                kind=b.kind,
                name=b.name,
                pool=b.pool,
                credits=Credits(b.credits),
                used=Credits(used),
                left=Credits(max(0, b.credits - used)),
                resets_at=cycle.end,
            )
        )
    return out


def budget_remove(session: Session, app, member, pool) -> int:
    session.admin_only("remove budgets: credits budget remove")
    kind, name = _target(app, member)
    with session.writing() as ws:
        n = session.store.remove_budgets(ws.id, kind, name, check_pool(pool) if pool is not None else None)
    if n == 0:
        raise BadInput(kind, f"no budget for {kind} {name!r}")
    return n


def budgets_by(session: Session, kind: str, pool: str) -> dict[str, Credits]:
    """Each app's or member's (`kind`) budget on `pool`."""
    ws = session.workspace()
    return {k: Credits(v) for k, v in session.store.budget_limits(ws.id, kind, pool).items()}


# --- alerts ------------------------------------------------------------------------------


@record
class Alert:
    """Fires once a cycle when a pool's use reaches `at_percent` of its allowance, or only `left` credits
    remain (before the middle of the cycle with `by_mid_cycle`); or, `expiring_days`, once per bonus grant
    whose unused credits expire within that many days. Runs `exec` when it fires."""

    id: int
    pool: str
    at_percent: int | None
    left: Credits | None
    by_mid_cycle: bool
    exec: str | None
    expiring_days: int | None = None


EXPIRING_MAX_DAYS = 3650  # the furthest an alert on expiring credits looks ahead (ten years)


def alert_add(session: Session, pool, at_percent, left, by, command, expiring=None) -> Alert:
    session.admin_only("add alerts: credits alert add")
    pool = required_pool(pool)
    if sum(x is not None for x in (at_percent, left, expiring)) != 1:
        raise BadInput("at", lambda n: f"give one of {n('at')} PERCENT%, {n('left')} N or {n('expiring')} DAYS")
    percent = left_milli = days = None
    if at_percent is not None:
        percent = parse_count(at_percent.strip().removesuffix("%"), "at", minimum=1, maximum=100)
    elif left is not None:
        left_milli = parse_credits(left, "left")
    else:
        days = parse_count(expiring, "expiring", maximum=EXPIRING_MAX_DAYS)
    if by is not None and by.strip().lower() not in ("mid-cycle", "midcycle"):
        raise BadInput("by", f"{shown(by)} is not mid-cycle")
    if by is not None and days is not None:
        raise BadInput("by", lambda n: f"applies to {n('at')} and {n('left')}, not to {n('expiring')}")
    if command is not None:
        check_name(command, "command", limit=2000)
    with session.writing() as ws:
        alert_id = session.store.insert_alert(
            ws.id, pool, percent, left_milli, by is not None, command, session.now_in(ws), days
        )
    return Alert(alert_id, pool, percent, credits_or_none(left_milli), by is not None, command, days)


def alert_list(session: Session) -> list[Alert]:
    ws = session.workspace()
    return [
        Alert(a.id, a.pool, a.at_percent, credits_or_none(a.left), a.by_mid_cycle, a.exec, a.expiring_days)
        for a in session.store.alerts(ws.id)
    ]


def alert_remove(session: Session, alert_id: str) -> None:
    session.admin_only("remove alerts: credits alert remove")
    n = parse_count(alert_id, "alert", maximum=2**62)
    with session.writing() as ws:
        if not session.store.remove_alert(ws.id, n):
            raise BadInput("alert", f"no alert {n} in workspace {ws.name!r}")


def run_alert_commands(alerts: list[dict], workspace: str, report: Callable[[str], None]) -> None:
    """Run each fired alert's --exec command, the alert in its environment. A failure is not fatal:
    `report` is given a line saying which command failed and how, as soon as it has."""
    from .domain.money import to_decimal

    for a in alerts:
        if not a.get("exec"):
            continue
        env = {
            **os.environ,
            "CREDITS_ALERT_ID": str(a["id"]),
            "CREDITS_ALERT_POOL": a["pool"],
            "CREDITS_ALERT_MESSAGE": a["message"],
            "CREDITS_ALERT_USED": str(to_decimal(a["used"])),
            "CREDITS_ALERT_AVAILABLE": str(to_decimal(a["available"])),
            "CREDITS_ALERT_ALLOWANCE": str(to_decimal(a["allowance"])),
            "CREDITS_ALERT_RESETS_AT": iso(a["resets_at"]),
            "CREDITS_ALERT_WORKSPACE": workspace,
        }
        if "expiring" in a:  # an alert on expiring credits: the grant's
            env["CREDITS_ALERT_EXPIRING"] = str(to_decimal(a["expiring"]))
            env["CREDITS_ALERT_EXPIRES_AT"] = iso(a["expires_at"])
            env["CREDITS_ALERT_GRANT"] = str(a["grant"])
            env["CREDITS_ALERT_SOURCE"] = a["source"]
        try:
            r = subprocess.run(["sh", "-c", a["exec"]], env=env, stdin=subprocess.DEVNULL, timeout=30)
            if r.returncode != 0:
                report(f"alert {a['id']}: its command exited {r.returncode}")
        except (OSError, subprocess.TimeoutExpired) as e:
            report(f"alert {a['id']}: its command failed: {e}")


# --- forecast ----------------------------------------------------------------------------------


@record
class Pace:
    """A rate of use, and when the pool's credits run out at it (None: nothing is used, never)."""

    burn_per_day: Credits
    runs_out_at: datetime | None


@record
class PoolForecast:
    """When a pool runs out at the recent pace (weighted to the latest days), with a P50/P90 range."""

    burn_per_day: Credits
    available: Credits
    runs_out_at: datetime | None
    next_reset: datetime
    before_reset: bool
    days_before_reset: Decimal | None
    p50: Pace
    p90: Pace


def forecast(session: Session, pool: str | None = None) -> dict[str, PoolForecast]:
    """Each pool's forecast (the one `pool` given), by pool."""
    pools = [required_pool(pool)] if pool is not None else list(POOLS)
    ws = session.workspace()
    now = session.now_in(ws)
    store = session.store
    plans = Plans(session, store, ws)
    out: dict[str, PoolForecast] = {}
    for p in pools:
        b = pool_balance(store, ws, plans, p, now)
        cycle = b.cycle
        since_start = (now - cycle.start) / DAY
        n = max(1, min(7, math.ceil(since_start)))
        windows = []
        for k in range(n):
            end = now - k * DAY
            start = max(cycle.start, end - DAY)
            if end <= start:
                break
            windows.append((store.sum_credits(ws.id, p, start, end), (end - start) / DAY))
        burn = weighted_burn(windows)
        left = b.allowance_left + b.bonus
        out_at = runs_out(now, left, burn)
        # the daily history to resample: up to 28 whole days back, not before the workspace began
        history = []
        for k in range(28):
            end = now - k * DAY
            start = end - DAY
            if start < ws.anchor:
                break
            history.append(store.sum_credits(ws.id, p, start, end))
        days_ahead = max(1, math.ceil((cycle.end - now) / DAY))
        seed = sum(history) % 2**32 + len(history)
        p50, p90 = resampled_burns(history or [c for c, _ in windows], days_ahead, seed=seed)
        out[p] = PoolForecast(
            burn_per_day=Credits(burn),
            available=Credits(left),
            runs_out_at=out_at,
            next_reset=cycle.end,
            before_reset=out_at is not None and out_at < cycle.end,
            days_before_reset=_days(cycle.end - out_at) if out_at is not None and out_at < cycle.end else None,
            p50=Pace(Credits(p50), runs_out(now, left, p50)),
            p90=Pace(Credits(p90), runs_out(now, left, p90)),
        )
    return out


# --- estimate ----------------------------------------------------------------------------------


@record
class PlanFit:
    """Whether a plan's allowance (and daily cap) covers a use, with what to spare, or why not: a
    sentence, or the error of a feature the plan lacks (it names the option that asks for it)."""

    plan: str
    allowance: Credits
    fits: bool
    spare: Credits | None
    why: str | CreditsError | None


@record
class Estimate:
    """What an action costs used `times_per_day` times a day, a day and a cycle, and which plans cover it."""

    action: str
    pool: str
    unit_cost: Credits
    times_per_day: int
    per_day: Credits
    per_cycle: Credits
    cycle_days: Decimal
    plans: list[PlanFit]
    fits: list[str]  # the names of the plans that cover it


def estimate(session: Session, use, per_day: str | None, users: str | None, per_user: str | None) -> Estimate:
    if per_day is not None and (users is not None or per_user is not None):
        raise BadInput(
            "per_day", lambda n: f"give {n('per_day')} N, or {n('users')} N with {n('per_user')} N, not both"
        )
    if per_day is not None:
        times = parse_count(per_day, "per_day")
    elif users is not None and per_user is not None:
        times = parse_count(users, "users") * parse_count(per_user, "per_user")
    else:
        raise BadInput("per_day", lambda n: f"give {n('per_day')} N, or {n('users')} N with {n('per_user')} N")
    action = session.catalog.action(use.action)
    ws = session.workspace()
    now = session.now_in(ws)
    cycle = cycle_at(ws.anchor, now)
    cycle_days = (cycle.end - cycle.start) / DAY
    rows: list[PlanFit] = []
    unit, pool = None, action.pool
    for plan in session.catalog.plans.values():
        try:
            quote = price(action, use, plan)
        except BadInput as e:
            if e.field in ("action", "custom_domain"):  # the plan lacks a feature it needs
                rows.append(PlanFit(plan.name, plan.allowance(pool), fits=False, spare=None, why=e))
                continue
            raise
        unit = quote.credits
        per_day_milli = unit * times
        per_cycle = round(per_day_milli * cycle_days)
        allowance = plan.allowance(pool)
        cap = plan.daily_cap(pool)
        if cap is not None and per_day_milli > cap:
            fits, why = False, f"over the daily cap of {cap // 1000}"
        elif per_cycle > allowance:
            fits, why = False, "the cycle's allowance is too small"
        else:
            fits, why = True, None
        rows.append(PlanFit(plan.name, allowance, fits, Credits(allowance - per_cycle) if fits else None, why))
    if unit is None:
        raise BadInput("action", f"no plan offers {action.name}")
    per_day_milli = unit * times
    return Estimate(
        action=action.name,
        pool=pool,
        unit_cost=Credits(unit),
        times_per_day=times,
        per_day=Credits(per_day_milli),
        per_cycle=Credits(round(per_day_milli * cycle_days)),
        cycle_days=_days(cycle.end - cycle.start),
        plans=rows,
        fits=[r.plan for r in rows if r.fits],
    )


def with_reasons(e: Estimate, name: Callable[[str], str]) -> Estimate:
    """The estimate with each plan's reason as text: the error of a feature a plan lacks names the field
    that asks for it by `name` (the option, or a tool's argument, as the caller wrote it)."""
    rows = []
    for r in e.plans:
        why = r.why
        if isinstance(why, CreditsError):
            if isinstance(why, BadInput):
                why.name_fields(name)
            why = why.message
        rows.append(replace(r, why=why))
    return replace(e, plans=rows)


# --- advise ------------------------------------------------------------------------------------------


@record
class PlanReplay:
    """A plan replayed over the recent cycles: the days it would have blocked, the uses it would have
    refused, what it would have left unused and cost (`flat`: the offer given, with no allowance)."""

    plan: str
    days_blocked: int
    actions_refused: int
    credits_unused: dict[str, Credits] | None  # by pool
    topup_packs: dict[str, int] | None  # by pool: the packs that would have paid for what was refused
    cost: Credits
    cost_yearly_billing: Credits | None


@record
class TopFeature:
    """An action on an app among those that spent the most credits over the cycles replayed."""

    action: str
    app: str | None
    credits: Credits


@record
class CacheCandidate:
    """An action on an app that ran over 100 times on `days` local days: its results may be worth caching."""

    action: str
    app: str | None
    days: int
    max_per_day: int
    repeated_inputs: int  # calls whose input an earlier call of the same day had


@record
class ModelSwitch:
    """What moving the paid gpt-5 calls to the automatic model would have saved."""

    calls: int
    credits_saved: Credits


@record
class Advice:
    """The recent cycles (`complete_cycles`: whole ones; else the current so far) replayed under every plan."""

    cycles: int
    complete_cycles: bool
    from_: datetime
    until: datetime
    recommended: str | None  # the cheapest plan that would have blocked nothing
    plans: list[PlanReplay]
    top_features: list[TopFeature]
    cache_candidates: list[CacheCandidate]  # the busiest first
    gpt5_to_automatic: ModelSwitch


def advise(session: Session, flat: str | None = None, cycles_back: int = 3) -> Advice:
    flat_milli = parse_credits(flat, "flat") if flat is not None else None
    ws = session.workspace()
    now = session.now_in(ws)
    store = session.store
    zone = parse_zone(ws.timezone, "workspace timezone")
    current = cycle_at(ws.anchor, now)
    spans: list[tuple[datetime, datetime]] = []
    c = current
    while len(spans) < cycles_back and c.start > ws.anchor:
        c = cycle_at(ws.anchor, c.start - timedelta(microseconds=1))
        spans.append((c.start, c.end))
    spans.reverse()
    complete = bool(spans)
    if not spans:
        spans = [(current.start, now)]
    first, last = spans[0][0], spans[-1][1]
    events = store.counted_uses(ws.id, first, last)

    def day_of(t):
        return t.astimezone(zone).date()

    rules = session.catalog.grants
    rows: list[PlanReplay] = []
    for plan in session.catalog.plans.values():
        r = replay(events, spans, plan.allowance, plan.daily_cap, day_of)
        paid = plan.price_monthly > 0
        packs = {p: math.ceil(r.refused_credits.get(p, 0) / rules.topup_pack(p)) for p in POOLS} if paid else None
        rows.append(
            PlanReplay(
                plan=plan.name,
                days_blocked=len(r.days_blocked),
                actions_refused=r.refused,
                credits_unused={p: Credits(r.unused.get(p, 0)) for p in POOLS},
                topup_packs=packs,
                cost=Credits(plan.price_monthly * len(spans)),
                cost_yearly_billing=Credits(plan.price_yearly * len(spans)),
            )
        )
    if flat_milli is not None:
        rows.append(PlanReplay("flat", 0, 0, None, None, Credits(flat_milli * len(spans)), None))
    clean = [r for r in rows if r.days_blocked == 0]
    recommended = min(clean, key=lambda r: r.cost).plan if clean else None

    top = [TopFeature(a, app, Credits(credits)) for a, app, credits in store.top_spending(ws.id, first, last)]
    # cache candidates: an action on an app over 100 times a local day
    per_day: dict = {}
    for at, action, app, qty, ih in store.calls(ws.id, first, last):
        key = (action, app, day_of(at))
        entry = per_day.setdefault(key, [0, 0, set()])
        entry[0] += qty
        if ih is not None:
            entry[1] += qty
            entry[2].add(ih)
    busy: dict[tuple, list[int]] = {}  # (action, app) -> [days, max_per_day, repeated_inputs]
    for (action, app, _day), (n, with_input, distinct) in per_day.items():
        if n > 100:
            found = busy.setdefault((action, app), [0, 0, 0])
            found[0] += 1
            found[1] = max(found[1], n)
            found[2] += with_input - len(distinct)
    candidates = [CacheCandidate(action, app, *figures) for (action, app), figures in busy.items()]
    # moving gpt-5 to the automatic model
    savings = 0
    calls = 0
    for action_name, qty in store.paid_calls_of_model(ws.id, first, last, "gpt-5"):
        try:
            a = session.catalog.action(action_name)
        except BadInput:
            continue
        if "gpt-5" in a.models and a.default_model:
            savings += qty * (a.models["gpt-5"] - a.models[a.default_model])
            calls += qty
    return Advice(
        cycles=len(spans),
        complete_cycles=complete,
        from_=first,
        until=last,
        recommended=recommended,
        plans=rows,
        top_features=top,
        cache_candidates=sorted(candidates, key=lambda c: -c.max_per_day),
        gpt5_to_automatic=ModelSwitch(calls, Credits(savings)),
    )


# --- status line -------------------------------------------------------------------------------------


@record
class PoolStatus:
    available: Credits
    allowance: Credits


@record
class Status:
    """Both pools at a glance, the days to the reset, and a warning: a pool under a tenth of its
    allowance, or a notification this cycle."""

    pools: dict[str, PoolStatus]
    days_to_reset: Decimal
    warning: bool


def status_line(session: Session) -> Status:
    ws = session.workspace()
    now = session.now_in(ws)
    store = session.store
    plans = Plans(session, store, ws)
    pools = {p: pool_balance(store, ws, plans, p, now) for p in POOLS}
    cycle = cycle_at(ws.anchor, now)
    fired = store.notifications_between(ws.id, cycle.start, cycle.end)
    low = any(b.available * 10 < b.allowance for b in pools.values())
    return Status(
        {p: PoolStatus(b.available, b.allowance) for p, b in pools.items()},
        _days(cycle.end - now),
        warning=low or fired > 0,
    )
