"""Pure foresight: burn rates, run-out instants, resampled ranges, and replaying a
history under another plan. Amounts are milli-credits; instants are passed in."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .ledger import daily_left

DAY = timedelta(days=1)


def weighted_burn(windows: list[tuple[int, float]]) -> int:
    """Credits a day from (credits, days) windows, newest first, weighted towards the latest.

    Window k (0 = the latest) weighs N - k: the last day counts N times as much
    as the oldest. A partial window (days < 1) is scaled to a daily rate.
    """
    if not windows:
        return 0
    n = len(windows)
    total_w = 0.0
    acc = 0.0
    for k, (credits, days) in enumerate(windows):
        if days <= 0:
            continue
        w = n - k
        acc += w * credits / days
        total_w += w
    return round(acc / total_w) if total_w else 0


def runs_out(now: datetime, available: int, burn_per_day: int) -> datetime | None:
    if burn_per_day <= 0:
        return None
    return now + timedelta(days=available / burn_per_day)


def resampled_burns(daily: list[int], days_ahead: int, *, trials: int = 2000, seed: int = 0) -> tuple[int, int]:
    """(P50, P90) of the mean daily burn over `days_ahead` days, resampling past days with replacement.

    Seeded: the same history gives the same answer.
    """
    if not daily or days_ahead <= 0:
        return 0, 0
    rng = random.Random(seed)
    means = sorted(sum(rng.choice(daily) for _ in range(days_ahead)) / days_ahead for _ in range(trials))
    return round(means[trials // 2]), round(means[int(trials * 0.9)])


@dataclass
class ReplayResult:
    days_blocked: set = field(default_factory=set)
    refused: int = 0
    refused_credits: dict = field(default_factory=dict)  # pool -> milli
    unused: dict = field(default_factory=dict)  # pool -> milli left when cycles ended


def replay(events, cycles, allowance, daily_cap, day_of) -> ReplayResult:
    """Replay events [(at, pool, credits)] in time order under one plan's allowances.

    `cycles` is a list of (start, end); `allowance(pool)` the plan's credits a cycle;
    `daily_cap(pool)` its credits a day (or None: no daily cap); `day_of(t)` the local day.
    An event the plan could not pay is refused (counted, its day blocked).
    """
    r = ReplayResult()
    events = sorted(events)
    i = 0
    for start, end in cycles:
        left = {p: allowance(p) for p in ("message", "integration")}
        used_day: dict = {}
        while i < len(events) and events[i][0] < start:
            i += 1
        while i < len(events) and events[i][0] < end:
            at, pool, credits = events[i]
            i += 1
            day = day_of(at)
            cap = daily_cap(pool)
            over_day = cap is not None and credits > daily_left(cap, used_day.get((pool, day), 0))
            if credits > left[pool] or over_day:
                r.refused += 1
                r.days_blocked.add(day)
                r.refused_credits[pool] = r.refused_credits.get(pool, 0) + credits
                continue
            left[pool] -= credits
            if cap is not None:
                used_day[pool, day] = used_day.get((pool, day), 0) + credits
        for p, v in left.items():
            r.unused[p] = r.unused.get(p, 0) + v
    return r
