"""credits_cli.domain.ledger: which grants are live and which pay a debit.

docs/rules.md: the grant that expires soonest is used first (never-expiring after
expiring ones), ties by the earliest granted; top-ups always last; a grant
includes its start instant and excludes its end instant.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credits_cli.domain.ledger import (
    Grant,
    PlanChange,
    allocate,
    available,
    change_in_force,
    daily_left,
    pending_change,
    plan_in_force,
)
from credits_cli.errors import Refused

UTC = UTC
T = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
US = timedelta(microseconds=1)


def day(n: float) -> timedelta:
    return timedelta(days=n)


def grant(id, amount, *, source="coupon", pool="integration", starts=None, expires=None, granted=None, used=0):
    starts = T - day(5) if starts is None else starts
    return Grant(
        id=id,
        pool=pool,
        source=source,
        amount=amount,
        starts_at=starts,
        expires_at=expires,
        granted_at=starts if granted is None else granted,
        used=used,
    )


def ids(alloc):
    return [g.id for g, _ in alloc]


def split(alloc):
    return [(g.id, take) for g, take in alloc]


# --- order ----------------------------------------------------------------------


def test_soonest_expiry_first():
    late = grant(1, 5000, expires=T + day(30))
    soon = grant(2, 5000, expires=T + day(2))
    mid = grant(3, 5000, expires=T + day(10))
    assert split(allocate([late, soon, mid], "integration", T, 12000)) == [(2, 5000), (3, 5000), (1, 2000)]


def test_plan_allowance_before_a_coupon_that_outlives_the_cycle():
    allowance = grant(None, 100_000, source="allowance", expires=T + day(20), granted=T - day(10))
    coupon = grant(7, 50_000, source="coupon", expires=T + day(90), granted=T - day(30))
    assert split(allocate([coupon, allowance], "integration", T, 1000)) == [(None, 1000)]


def test_never_expiring_grants_come_after_expiring_ones():
    share = grant(1, 20_000, source="share", pool="message", expires=None, granted=T - day(100))
    allowance = grant(2, 25_000, source="allowance", pool="message", expires=T + day(365 * 5), granted=T - day(1))
    alloc = allocate([share, allowance], "message", T, 30_000)
    assert split(alloc) == [(2, 25_000), (1, 5000)]


def test_ties_by_earliest_granted():
    exp = T + day(5)
    a = grant(1, 1000, expires=exp, granted=T - day(1))
    b = grant(2, 1000, expires=exp, granted=T - day(3))
    c = grant(3, 1000, expires=exp, granted=T - day(2))
    assert ids(allocate([a, b, c], "integration", T, 3000)) == [2, 3, 1]


def test_never_expiring_ties_by_earliest_granted():
    a = grant(1, 1000, expires=None, granted=T - day(1))
    b = grant(2, 1000, expires=None, granted=T - day(3))
    assert ids(allocate([a, b], "integration", T, 2000)) == [2, 1]


def test_top_ups_last_even_if_they_expire_sooner():
    topup = grant(1, 1_000_000, source="topup", expires=T + day(1), granted=T - day(364))
    forever = grant(2, 1000, source="share", expires=None, granted=T - day(1))
    allowance = grant(3, 2000, source="allowance", expires=T + day(20))
    alloc = allocate([topup, forever, allowance], "integration", T, 3500)
    assert split(alloc) == [(3, 2000), (2, 1000), (1, 500)]


def test_top_ups_earliest_first_among_themselves():
    first = grant(1, 1000, source="topup", starts=T - day(100), expires=T - day(100) + day(365))
    second = grant(2, 1000, source="topup", starts=T - day(10), expires=T - day(10) + day(365))
    assert split(allocate([second, first], "integration", T, 1500)) == [(1, 1000), (2, 500)]


def test_stops_as_soon_as_the_cost_is_covered():
    a = grant(1, 5000, expires=T + day(1))
    b = grant(2, 5000, expires=T + day(2))
    assert split(allocate([a, b], "integration", T, 5000)) == [(1, 5000)]
    assert allocate([a, b], "integration", T, 0) == []


def test_used_credits_are_not_taken_again():
    a = grant(1, 5000, expires=T + day(1), used=4500)
    b = grant(2, 5000, expires=T + day(2))
    spent = grant(3, 5000, expires=T + day(0.5), used=5000)
    assert split(allocate([spent, a, b], "integration", T, 1000)) == [(1, 500), (2, 500)]


def test_pools_never_mix():
    msg = grant(1, 50_000, pool="message", expires=T + day(1))
    integ = grant(2, 1000, pool="integration", expires=T + day(1))
    assert split(allocate([msg, integ], "integration", T, 1000)) == [(2, 1000)]
    with pytest.raises(Refused) as e:
        allocate([msg, integ], "integration", T, 1500)
    assert e.value.pool == "integration" and e.value.short == 500
    assert available([msg, integ], "message", T) == 50_000


# --- live grants, half-open --------------------------------------------------------


def test_a_grant_expiring_at_t_is_not_live_at_t():
    ending = grant(1, 5000, expires=T)
    later = grant(2, 5000, expires=T + day(30))
    assert not ending.live_at(T)
    assert ending.live_at(T - US)
    assert split(allocate([ending, later], "integration", T, 1000)) == [(2, 1000)]
    assert split(allocate([ending, later], "integration", T - US, 1000)) == [(1, 1000)]


def test_a_grant_starting_at_t_is_live_at_t():
    starting = grant(1, 5000, starts=T, expires=T + day(1))
    assert starting.live_at(T)
    assert not starting.live_at(T - US)
    assert split(allocate([starting], "integration", T, 1000)) == [(1, 1000)]
    with pytest.raises(Refused):
        allocate([starting], "integration", T - US, 1000)


def test_next_cycles_allowance_takes_over_exactly_at_the_reset():
    reset = T
    old = grant(1, 100_000, source="allowance", starts=reset - day(28), expires=reset, used=99_000)
    new = grant(2, 100_000, source="allowance", starts=reset, expires=reset + day(31))
    assert available([old, new], "integration", reset - US) == 1000
    assert available([old, new], "integration", reset) == 100_000
    assert split(allocate([old, new], "integration", reset, 2000)) == [(2, 2000)]
    with pytest.raises(Refused) as e:
        allocate([old, new], "integration", reset - US, 2000)
    assert e.value.short == 1000


# --- Refused ---------------------------------------------------------------------------


def test_refused_with_the_exact_short_amount():
    a = grant(1, 1300, expires=T + day(1))
    b = grant(2, 5000, expires=T + day(2), used=4800)
    with pytest.raises(Refused) as e:
        allocate([a, b], "integration", T, 3000)
    assert e.value.short == 3000 - 1500
    assert e.value.pool == "integration"
    assert e.value.exit_code == 3
    assert "1.5 available" in e.value.message and "1.5 short" in e.value.message and "costs 3" in e.value.message


def test_refused_with_no_grants_at_all():
    with pytest.raises(Refused) as e:
        allocate([], "message", T, 300)
    assert (e.value.pool, e.value.short) == ("message", 300)


def test_expired_and_future_grants_do_not_count():
    expired = grant(1, 5000, starts=T - day(40), expires=T - day(10))
    future = grant(2, 5000, starts=T + day(1), expires=T + day(30))
    with pytest.raises(Refused) as e:
        allocate([expired, future], "integration", T, 1)
    assert e.value.short == 1
    assert available([expired, future], "integration", T) == 0


def test_exactly_enough_is_not_refused():
    a = grant(1, 1300, expires=T + day(1))
    assert split(allocate([a], "integration", T, 1300)) == [(1, 1300)]


def test_daily_left():
    assert daily_left(5000, 0) == 5000
    assert daily_left(5000, 4700) == 300
    assert daily_left(5000, 5000) == 0
    assert daily_left(5000, 6000) == 0


# --- the plan in force ------------------------------------------------------------------------

RESET = T + day(20)  # the next reset


def test_the_initial_plan_holds_until_a_change_takes_effect():
    assert plan_in_force(("free", "monthly"), [], T) == ("free", "monthly")
    assert change_in_force([], T) is None and pending_change([], T) is None
    up = PlanChange("pro", "yearly", T, T)
    assert plan_in_force(("free", "monthly"), [up], T - US) == ("free", "monthly")
    assert plan_in_force(("free", "monthly"), [up], T) == ("pro", "yearly")  # from its own instant on
    assert change_in_force([up], T) is up and pending_change([up], T) is None


def test_a_downgrade_waits_for_the_reset_and_is_pending_until_then():
    down = PlanChange("starter", "monthly", T, RESET)
    assert plan_in_force(("pro", "monthly"), [down], RESET - US) == ("pro", "monthly")
    assert pending_change([down], RESET - US) is down
    assert plan_in_force(("pro", "monthly"), [down], RESET) == ("starter", "monthly")
    assert change_in_force([down], RESET) is down and pending_change([down], RESET) is None


def test_a_later_decision_overrides_a_pending_one():
    down = PlanChange("starter", "monthly", T, RESET)
    up = PlanChange("team", "monthly", T + day(1), T + day(1))
    changes = [down, up]
    for t in (T + day(1), RESET, RESET + day(40)):
        assert plan_in_force(("pro", "monthly"), changes, t) == ("team", "monthly")
        assert change_in_force(changes, t) is up and pending_change(changes, t) is None


def test_two_decisions_at_one_instant_the_later_recorded_wins():
    a, b = PlanChange("starter", "monthly", T, T), PlanChange("team", "monthly", T, T)
    assert plan_in_force(("free", "monthly"), [a, b], T) == ("team", "monthly")
    assert plan_in_force(("free", "monthly"), [b, a], T) == ("starter", "monthly")


# --- hypothesis ----------------------------------------------------------------------------

SOURCES = ["allowance", "coupon", "share", "promo", "referral", "topup"]


@st.composite
def grants(draw):
    n = draw(st.integers(0, 8))
    out = []
    for i in range(n):
        amount = draw(st.integers(0, 20_000))
        used = draw(st.integers(0, amount))
        starts = T + timedelta(hours=draw(st.integers(-2000, 24)))
        expires = draw(st.one_of(st.none(), st.integers(-48, 3000).map(lambda h: T + timedelta(hours=h))))
        out.append(
            Grant(
                id=i,
                pool=draw(st.sampled_from(["message", "integration"])),
                source=draw(st.sampled_from(SOURCES)),
                amount=amount,
                starts_at=starts,
                expires_at=expires,
                granted_at=starts - timedelta(hours=draw(st.integers(0, 48))),
                used=used,
            )
        )
    return out


def order_key(g: Grant):
    """docs/rules.md's order, independently: top-ups last; soonest expiry, never-expiring last; earliest granted."""
    return (
        g.source == "topup",
        g.expires_at is None,
        g.expires_at or datetime.max.replace(tzinfo=UTC),
        g.granted_at,
        g.id,
    )


@settings(max_examples=200, deadline=None)
@given(gs=grants(), pool=st.sampled_from(["message", "integration"]), cost=st.integers(0, 100_000))
def test_property_allocation_never_overdraws_and_sums_to_the_cost(gs, pool, cost):
    live = [g for g in gs if g.pool == pool and g.starts_at <= T and (g.expires_at is None or g.expires_at > T)]
    have = sum(g.left for g in live)
    assert available(gs, pool, T) == have
    if have < cost:
        with pytest.raises(Refused) as e:
            allocate(gs, pool, T, cost)
        assert e.value.short == cost - have and e.value.pool == pool
        return
    alloc = allocate(gs, pool, T, cost)
    assert sum(take for _, take in alloc) == cost
    assert len({g.id for g, _ in alloc}) == len(alloc)
    for g, take in alloc:
        assert 0 < take <= g.left
        assert g in live
    # The order is docs/rules.md's, and every grant but the last is drained before the next one is touched.
    used = [g for g, _ in alloc]
    wanted = [g for g in sorted(live, key=order_key) if g.left > 0]
    assert used == wanted[: len(used)]
    for g, take in alloc[:-1]:
        assert take == g.left
