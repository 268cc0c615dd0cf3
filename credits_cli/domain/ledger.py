"""The grant ledger: which credits exist at an instant and which grants pay a debit.

A pool's credits are grants: the plan's allowance for each cycle, and later
coupons, bonuses and top-ups. A debit draws from the grants live at its
instant, in the order docs/rules.md sets: soonest expiry first, ties by the earliest
granted, top-ups always last.
"""

from __future__ import annotations

from datetime import datetime

from ..errors import Refused
from ..records import record, replace
from .money import Credits, fmt


@record
class Grant:
    id: int | None  # None: the allowance of a cycle not yet written down
    pool: str
    source: str  # allowance, coupon, share, promo, referral, topup ...
    amount: int  # milli-credits
    starts_at: datetime
    expires_at: datetime | None  # None: never expires
    granted_at: datetime
    used: int = 0  # milli-credits already drawn

    @property
    def left(self) -> int:
        return self.amount - self.used

    def live_at(self, t: datetime) -> bool:
        return self.starts_at <= t and (self.expires_at is None or t < self.expires_at)


def consumption_key(g: Grant):
    """Soonest expiry first (never-expiring last), ties by earliest granted; top-ups after all."""
    return (
        g.source == "topup",
        g.expires_at is None,
        g.expires_at or g.granted_at,
        g.granted_at,
        g.id if g.id is not None else -1,
    )


def available(grants: list[Grant], pool: str, t: datetime) -> int:
    return sum(g.left for g in grants if g.pool == pool and g.live_at(t) and g.left > 0)


def allocate(grants: list[Grant], pool: str, t: datetime, cost: int) -> list[tuple[Grant, int]]:
    """Split `cost` over the grants live at `t`, in consumption order.

    Returns (grant, milli-credits) pairs; raises Refused when the live grants
    hold less than `cost`. Pure: the caller writes the result down.
    """
    live = sorted((g for g in grants if g.pool == pool and g.live_at(t) and g.left > 0), key=consumption_key)
    have = sum(g.left for g in live)
    if have < cost:
        short = cost - have
        raise Refused(
            f"not enough {pool} credits: this costs {fmt(cost)}, {fmt(have)} available ({fmt(short)} short)",
            pool=pool,
            short=Credits(short),
        )
    out: list[tuple[Grant, int]] = []
    need = cost
    for g in live:
        if need == 0:
            break
        take = min(need, g.left)
        out.append((g, take))
        need -= take
    return out


def daily_left(cap: int, used_today: int) -> int:
    """What a daily cap still allows today."""
    return max(0, cap - used_today)


@record
class PlanChange:
    plan: str
    billing: str
    requested_at: datetime
    effective_at: datetime


def _latest(changes: list[PlanChange]) -> PlanChange | None:
    """The latest decision (ties: the later one, as changes come in order), or None."""
    if not changes:
        return None
    return max(enumerate(changes), key=lambda x: (x[1].requested_at, x[0]))[1]


def change_in_force(changes: list[PlanChange], t: datetime) -> PlanChange | None:
    """The change that set the plan in force at `t`: the latest decision among those effective by
    `t`, or None while the workspace's initial plan holds.

    A later decision overrides an earlier one that is still pending: an upgrade
    today cancels a downgrade scheduled for the next reset.
    """
    return _latest([c for c in changes if c.effective_at <= t])


def plan_in_force(initial: tuple[str, str], changes: list[PlanChange], t: datetime) -> tuple[str, str]:
    """(plan, billing) at `t` (see change_in_force)."""
    change = change_in_force(changes, t)
    return initial if change is None else (change.plan, change.billing)


def pending_change(changes: list[PlanChange], now: datetime) -> PlanChange | None:
    """A change decided and not in force at `now` (a downgrade waiting for the reset), or None.

    Only the latest decision can be pending: a later decision replaces an earlier one.
    """
    last = _latest(changes)
    return last if last is not None and last.effective_at > now else None


def repay_in_order(grants: list[Grant], pool: str, events):
    """Recompute which grants pay each event, from the entries alone: `events` are (id, instant, cost) in
    ledger order (time, then id), `grants` start with what voided events still hold of them. Yields
    (id, {grant id: milli-credits}), or (id, None) for an event the grants cannot pay.

    This is what the ledger keeps by construction (every write pays the events after it again, in
    order), so `credits check` holds the written allocations against it.
    """
    held = {g.id: g for g in grants if g.pool == pool}
    for event_id, t, cost in events:
        try:
            parts = allocate(list(held.values()), pool, t, cost)
        except Refused:
            yield event_id, None
            continue
        for g, take in parts:
            held[g.id] = replace(g, used=g.used + take)
        yield event_id, {g.id: take for g, take in parts}
