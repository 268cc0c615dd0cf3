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
from .errors import BadInput
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


def budget_set(session: Session, app, member, pool, credits) -> dict:
    kind, name = _target(app, member)
    pool = required_pool(pool)
    milli = required_credits(credits)
    with session.writing() as ws:
        session.store.set_budget(ws.id, kind, name, pool, milli, session.now_in(ws))
    return {"kind": kind, "name": name, "pool": pool, "credits": Credits(milli)}


def budget_list(session: Session) -> list[dict]:
    ws = session.workspace()
    now = session.now_in(ws)
    cycle = cycle_at(ws.anchor, now)
    store = session.store
    out = []
    for b in store.budgets(ws.id):
        used = store.budget_used(ws.id, b.kind, b.name, b.pool, cycle.start, cycle.end)
        out.append(
            {
                "kind": b.kind,
                "name": b.name,
                "pool": b.pool,
                "credits": Credits(b.credits),
                "used": Credits(used),
                "left": Credits(max(0, b.credits - used)),
                "resets_at": cycle.end,
            }
        )
    return out


def budget_remove(session: Session, app, member, pool) -> int:
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


def alert_add(session: Session, pool, at_percent, left, by, command) -> dict:
    pool = required_pool(pool)
    if (at_percent is None) == (left is None):
        raise BadInput("at", lambda n: f"give either {n('at')} PERCENT% or {n('left')} N")
    percent = left_milli = None
    if at_percent is not None:
        percent = parse_count(at_percent.strip().removesuffix("%"), "at", minimum=1, maximum=100)
    else:
        left_milli = parse_credits(left, "left")
    if by is not None and by.strip().lower() not in ("mid-cycle", "midcycle"):
        raise BadInput("by", f"{shown(by)} is not mid-cycle")
    if command is not None:
        check_name(command, "command", limit=2000)
    with session.writing() as ws:
        alert_id = session.store.insert_alert(
            ws.id, pool, percent, left_milli, by is not None, command, session.now_in(ws)
        )
    return {
        "id": alert_id,
        "pool": pool,
        "at_percent": percent,
        "left": credits_or_none(left_milli),
        "by_mid_cycle": by is not None,
        "exec": command,
    }


def alert_list(session: Session) -> list[dict]:
    ws = session.workspace()
    return [
        {
            "id": a.id,
            "pool": a.pool,
            "at_percent": a.at_percent,
            "left": credits_or_none(a.left),
            "by_mid_cycle": a.by_mid_cycle,
            "exec": a.exec,
        }
        for a in session.store.alerts(ws.id)
    ]


def alert_remove(session: Session, alert_id: str) -> None:
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
        try:
            r = subprocess.run(["sh", "-c", a["exec"]], env=env, stdin=subprocess.DEVNULL, timeout=30)
            if r.returncode != 0:
                report(f"alert {a['id']}: its command exited {r.returncode}")
        except (OSError, subprocess.TimeoutExpired) as e:
            report(f"alert {a['id']}: its command failed: {e}")


# --- forecast ----------------------------------------------------------------------------------


def forecast(session: Session, pool: str | None = None) -> dict:
    pools = [required_pool(pool)] if pool is not None else list(POOLS)
    ws = session.workspace()
    now = session.now_in(ws)
    store = session.store
    plans = Plans(session, store, ws)
    out = {}
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
        out[p] = {
            "burn_per_day": Credits(burn),
            "available": Credits(left),
            "runs_out_at": out_at,
            "next_reset": cycle.end,
            "before_reset": out_at is not None and out_at < cycle.end,
            "days_before_reset": _days(cycle.end - out_at) if out_at is not None and out_at < cycle.end else None,
            "p50": {"burn_per_day": Credits(p50), "runs_out_at": runs_out(now, left, p50)},
            "p90": {"burn_per_day": Credits(p90), "runs_out_at": runs_out(now, left, p90)},
        }
    return {"now": now, "pools": out}


# --- estimate ----------------------------------------------------------------------------------


def estimate(session: Session, use, per_day: str | None, users: str | None, per_user: str | None) -> dict:
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
    rows, unit, pool = [], None, action.pool
    for plan in session.catalog.plans.values():
        try:
            quote = price(action, use, plan)
        except BadInput as e:
            if e.field in ("action", "custom_domain"):  # the plan lacks a feature it needs
                rows.append(
                    {"plan": plan.name, "allowance": plan.allowance(pool), "fits": False, "spare": None, "why": e}
                )
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
        rows.append(
            {
                "plan": plan.name,
                "allowance": allowance,
                "fits": fits,
                "spare": Credits(allowance - per_cycle) if fits else None,
                "why": why,
            }
        )
    if unit is None:
        raise BadInput("action", f"no plan offers {action.name}")
    per_day_milli = unit * times
    return {
        "action": action.name,
        "pool": pool,
        "unit_cost": Credits(unit),
        "times_per_day": times,
        "per_day": Credits(per_day_milli),
        "per_cycle": Credits(round(per_day_milli * cycle_days)),
        "cycle_days": _days(cycle.end - cycle.start),
        "plans": rows,
        "fits": [r["plan"] for r in rows if r["fits"]],
    }


# --- advise ------------------------------------------------------------------------------------------


def advise(session: Session, flat: str | None = None, cycles_back: int = 3) -> dict:
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
    rows: list[dict] = []
    for plan in session.catalog.plans.values():
        r = replay(events, spans, plan.allowance, plan.daily_cap, day_of)
        paid = plan.price_monthly > 0
        packs = {p: math.ceil(r.refused_credits.get(p, 0) / rules.topup_pack(p)) for p in POOLS} if paid else None
        rows.append(
            {
                "plan": plan.name,
                "days_blocked": len(r.days_blocked),
                "actions_refused": r.refused,
                "credits_unused": {p: Credits(r.unused.get(p, 0)) for p in POOLS},
                "topup_packs": packs,
                "cost": Credits(plan.price_monthly * len(spans)),
                "cost_yearly_billing": Credits(plan.price_yearly * len(spans)),
            }
        )
    if flat_milli is not None:
        rows.append(
            {
                "plan": "flat",
                "days_blocked": 0,
                "actions_refused": 0,
                "credits_unused": None,
                "topup_packs": None,
                "cost": Credits(flat_milli * len(spans)),
                "cost_yearly_billing": None,
            }
        )
    clean = [r for r in rows if r["days_blocked"] == 0]
    recommended = min(clean, key=lambda r: r["cost"])["plan"] if clean else None

    top = [
        {"action": a, "app": app, "credits": Credits(credits)}
        for a, app, credits in store.top_spending(ws.id, first, last)
    ]
    # cache candidates: an action on an app over 100 times a local day
    per_day: dict = {}
    for at, action, app, qty, ih in store.calls(ws.id, first, last):
        key = (action, app, day_of(at))
        entry = per_day.setdefault(key, [0, 0, set()])
        entry[0] += qty
        if ih is not None:
            entry[1] += qty
            entry[2].add(ih)
    candidates: dict[tuple, dict] = {}
    for (action, app, _day), (n, with_input, distinct) in per_day.items():
        if n > 100:
            found = candidates.setdefault(
                (action, app), {"action": action, "app": app, "days": 0, "max_per_day": 0, "repeated_inputs": 0}
            )
            found["days"] += 1
            found["max_per_day"] = max(found["max_per_day"], n)
            found["repeated_inputs"] += with_input - len(distinct)
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
    return {
        "cycles": len(spans),
        "complete_cycles": complete,
        "from": first,
        "until": last,
        "recommended": recommended,
        "plans": rows,
        "top_features": top,
        "cache_candidates": sorted(candidates.values(), key=lambda c: -c["max_per_day"]),
        "gpt5_to_automatic": {"calls": calls, "credits_saved": Credits(savings)},
    }


# --- status line -------------------------------------------------------------------------------------


def status_line(session: Session) -> dict:
    ws = session.workspace()
    now = session.now_in(ws)
    store = session.store
    plans = Plans(session, store, ws)
    pools = {p: pool_balance(store, ws, plans, p, now) for p in POOLS}
    cycle = cycle_at(ws.anchor, now)
    fired = store.notifications_between(ws.id, cycle.start, cycle.end)
    low = any(b.available * 10 < b.allowance for b in pools.values())
    return {"pools": pools, "days_to_reset": _days(cycle.end - now), "warning": low or fired > 0}
