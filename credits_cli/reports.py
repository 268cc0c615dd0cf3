"""Report use cases: distribution by app, member or action; use by day, week, month or billing cycle; history;
one event."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta, tzinfo

from .domain.catalog import POOLS
from .domain.cycles import (
    MONDAY,
    SUNDAY,
    Interval,
    add_months,
    boundary,
    cycle_at,
    cycle_index,
    from_storage,
    iso,
    local_midnight,
    month_start,
    parse_instant,
    parse_zone,
    week_label,
    week_start,
)
from .domain.money import Credits, shown
from .errors import BadInput
from .records import record, replace
from .services import Plans, Session, check_name, paid_by, plan_credits, with_allowance
from .store.queries import EventFilter

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TINY = timedelta(microseconds=1)


def check_pool(pool: str | None, field: str = "pool") -> str | None:
    return None if pool is None else required_pool(pool, field)


def required_pool(pool: str | None, field: str = "pool") -> str:
    if pool is None:
        raise BadInput(field, "is required: message or integration")
    p = pool.strip().lower()
    if p not in POOLS:
        raise BadInput(field, f"{pool!r} is not a pool; pools: {', '.join(POOLS)}")
    return p


def required_credits(text: str | None, field: str = "credits", *, positive: bool = False) -> int:
    """A required amount of credits, in milli-credits (more than 0 when `positive`)."""
    from .domain.money import parse_credits

    if text is None:
        raise BadInput(field, "is required")
    milli = parse_credits(text, field)
    if positive and milli == 0:
        raise BadInput(field, "must be more than 0")
    return milli


def _bound(text: str, field: str, zone, *, end: bool) -> datetime:
    """A DATE means that whole local day (--since from its start, --until to its end); else an instant."""
    s = text.strip()
    if _DATE.fullmatch(s):
        try:
            d = date.fromisoformat(s)
        except ValueError:
            raise BadInput(field, f"{text!r} is not a date such as 2026-11-01") from None
        return local_midnight(d + timedelta(days=1) if end else d, zone)
    return parse_instant(text, field, zone)


@record
class Scope:
    """Where and when a report looks."""

    workspace: str
    workspace_id: int
    zone: tzinfo
    now: datetime
    span: Interval
    filter: EventFilter


def report_zone(session: Session, ws, timezone: str | None = None) -> tzinfo:
    """The zone a report counts its days, weeks and months in and shows its times in: `--timezone` (or
    CREDITS_TIMEZONE, which typer reads for it), else the configured one (`Session.timezone_default`), else
    the workspace's. Only what a report shows follows it: the stored instants and the free plan's daily cap
    keep the workspace's zone."""
    if timezone is not None:
        return parse_zone(timezone, "timezone")
    if session.timezone_default is not None:
        return parse_zone(session.timezone_default, "configured timezone")
    return parse_zone(ws.timezone, "workspace timezone")


def scope(
    session: Session,
    *,
    pool=None,
    app=None,
    member=None,
    action=None,
    since=None,
    until=None,
    timezone=None,
    default_span: str = "cycle",
) -> Scope:
    ws = session.workspace()
    zone = report_zone(session, ws, timezone)
    now = session.now_in(ws)
    start = _bound(since, "since", zone, end=False) if since else None
    end = _bound(until, "until", zone, end=True) if until else None
    if default_span == "cycle":  # else "periods" (the caller picks the start) or "all" (the whole history)
        start = start or cycle_at(ws.anchor, now).start
    if default_span != "all":
        end = end or now + _TINY  # up to and including now
    if start is not None and end is not None and end <= start:
        if since is None:
            raise BadInput("until", lambda n: f"is before the current cycle began (give {n('since')} too)")
        if until is None:
            raise BadInput("since", lambda n: f"is after now (give {n('until')} too)")
        raise BadInput("until", lambda n: f"is not after {n('since')}")
    if action is not None:
        try:
            action = session.catalog.action(action, "action").name
        except BadInput:
            action = check_name(action, "action")
    f = EventFilter(
        pool=check_pool(pool),
        app=check_name(app, "app"),
        member=check_name(member, "member"),
        action=action,
        since=start,
        until=end,
    )
    return Scope(ws.name, ws.id, zone, now, Interval(start or ws.anchor, end or now + _TINY), f)


# --- distribution ---------------------------------------------------------------

GROUPS = {"app": ("app",), "member": ("member",), "action": ("action", "model")}


@record
class Distribution:
    by: str
    scope: Scope
    total: int
    events: int
    rows: list[dict]  # group columns, credits (Credits), events, share (percent, 1 decimal, as text)


def distribution(session: Session, by: str, **options) -> Distribution:
    sc = scope(session, **options)
    columns = GROUPS[by]
    rows = session.store.grouped(sc.workspace_id, sc.filter, columns)
    total = sum(r[-2] for r in rows)
    out = []
    for r in rows:
        row = dict(zip(columns, r[: len(columns)], strict=True))
        row["credits"] = Credits(r[-2])
        row["events"] = r[-1]
        row["share"] = share(r[-2], total)
        out.append(row)
    return Distribution(by, sc, total, sum(r["events"] for r in out), out)


REPORT_POOL = "integration"  # the pool apps, members, actions and daily report on when none is given


def on_one_pool(options: dict) -> dict:
    """A report's options with the one pool it reports on: REPORT_POOL unless `pool` names one
    (apps, members, actions, daily)."""
    return {**options, "pool": options.get("pool") or REPORT_POOL}


def usage_by(session: Session, by: str, **options) -> Distribution:
    """`credits apps`, `members`, `actions`: the distribution on one pool (`on_one_pool`), with each app's
    or member's budget beside its use when budgets are set."""
    d = distribution(session, by, **on_one_pool(options))
    if by in ("app", "member"):
        from .foresight import budgets_by  # foresight imports this module

        budgets = budgets_by(session, by, d.scope.filter.pool or REPORT_POOL)
        if budgets:
            for r in d.rows:
                r["budget"] = budgets.get(r[by])
    return d


def share(part: int, whole: int):
    """Percent with one decimal, exact (Decimal), rounded half-up."""
    from decimal import ROUND_HALF_UP, Decimal

    if not whole:
        return Decimal(0)
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


# --- use by period: days, weeks, months, billing cycles ------------------------------------------

# A period report's columns, by the kind of its periods (its JSON rows hold these keys, in this order).
COLUMNS = {
    "day": ("date", "credits", "events"),
    "week": ("week", "start", "credits", "events"),
    "month": ("month", "credits", "events"),
    "cycle": ("start", "end", "plan", "allowance", "credits", "events", "current"),
}
DEFAULT_PERIODS = 12  # weekly and monthly, without --since: the last 12 weeks or months
_MAX_DAYS = 3660  # about ten years: a day, week or month report's longest range
WEEK_STARTS = {"monday": MONDAY, "sunday": SUNDAY}


@record
class Periods:
    """Use in each period of a range, oldest first, periods without use included (as zero)."""

    kind: str  # day, week, month or cycle (COLUMNS)
    scope: Scope
    rows: list[dict]  # COLUMNS[kind]; credits as Credits


def daily(session: Session, **options) -> Periods:
    """One row a day of the report's zone; the current cycle by default."""
    return _calendar(session, "day", MONDAY, options)


def weekly(session: Session, *, week_start: str | None = "monday", **options) -> Periods:
    """One row a week of the report's zone, from Monday (ISO weeks) or from Sunday; the last 12 by default."""
    text = (week_start or "monday").strip().lower()
    if text not in WEEK_STARTS:
        raise BadInput("week_start", f"{shown(week_start)} is not one of {', '.join(WEEK_STARTS)}")
    return _calendar(session, "week", WEEK_STARTS[text], options)


def monthly(session: Session, **options) -> Periods:
    """One row a calendar month of the report's zone; the last 12 by default."""
    return _calendar(session, "month", MONDAY, options)


def _first_day(kind: str, d: date, first_weekday: int) -> date:
    """The first day of the period of `kind` holding the day `d`."""
    if kind == "week":
        return week_start(d, first_weekday)
    return month_start(d) if kind == "month" else d


def _after(kind: str, start: date, n: int = 1) -> date:
    """The first day of the period `n` periods after the one starting on `start` (n may be negative)."""
    if kind == "month":
        return add_months(start, n)
    return start + timedelta(days=n * (7 if kind == "week" else 1))


def _calendar(session: Session, kind: str, first_weekday: int, options: dict) -> Periods:
    sc = scope(session, default_span="cycle" if kind == "day" else "periods", **options)
    zone = sc.zone
    last = _first_day(kind, (sc.span.end - _TINY).astimezone(zone).date(), first_weekday)
    if kind != "day" and options.get("since") is None:
        # the last 12 periods, but none before the workspace began (no event can be dated before it)
        first = _after(kind, last, 1 - DEFAULT_PERIODS)
        began = _first_day(kind, session.workspace().anchor.astimezone(zone).date(), first_weekday)
        if first < began <= last:
            first = began
        start = local_midnight(first, zone)
        sc = replace(sc, span=Interval(start, sc.span.end), filter=replace(sc.filter, since=start))
    else:
        first = _first_day(kind, sc.span.start.astimezone(zone).date(), first_weekday)
    if (last - first).days > _MAX_DAYS:
        raise BadInput(
            "since", lambda n: f"the range is longer than ten years; narrow it with {n('since')}/{n('until')}"
        )
    rows, spans = [], []
    d = first
    while d <= last:
        after = _after(kind, d)
        spans.append(
            Interval(max(local_midnight(d, zone), sc.span.start), min(local_midnight(after, zone), sc.span.end))
        )
        if kind == "day":
            rows.append({"date": d.isoformat()})
        elif kind == "week":
            rows.append({"week": week_label(d), "start": d.isoformat()})
        else:
            rows.append({"month": f"{d.year:04d}-{d.month:02d}"})
        d = after
    return Periods(kind, sc, _tally(session, sc, rows, spans))


def _tally(session: Session, sc: Scope, rows: list[dict], spans: list[Interval]) -> list[dict]:
    """Each row with the credits and events of its span (read from the daily summary, and from the events only
    for the parts of a UTC day at its edges: store.queries)."""
    sums = session.store.per_interval(sc.workspace_id, sc.filter, spans)
    for row, (c, n) in zip(rows, sums, strict=True):
        row["credits"] = Credits(c)
        row["events"] = n
    return rows


def cycles(session: Session, **options) -> Periods:
    """One row a billing cycle of the workspace (the purchase anchor's), with the plan in force in it (at its
    end, or now for the current one) and the pool's plan credits for it; every cycle since the workspace
    began by default, never one after the current cycle, which comes last and is marked."""
    sc = scope(session, default_span="periods", **options)
    ws = session.workspace()
    anchor, now = ws.anchor, sc.now
    if sc.span.end <= anchor:
        raise BadInput("until", f"is before the workspace began ({iso(anchor)}): no billing cycle ends there")
    current = cycle_index(anchor, now)
    first = max(0, cycle_index(anchor, sc.span.start))
    last = min(current, cycle_index(anchor, sc.span.end - _TINY))
    end = min(sc.span.end, boundary(anchor, current + 1))
    sc = replace(sc, span=Interval(sc.span.start, end), filter=replace(sc.filter, since=sc.span.start, until=end))
    pool = sc.filter.pool or "integration"
    rows, spans = [], []
    store = session.store
    with store.read():  # one snapshot: the plans, the grants and the sums
        plans = Plans(session, store, ws)
        grants = store.grants_overlapping(ws.id, pool, boundary(anchor, first), boundary(anchor, last + 1))
        for n in range(first, last + 1):
            cycle = Interval(boundary(anchor, n), boundary(anchor, n + 1))
            allowance = sum(g.amount for g in plan_credits(with_allowance(grants, plans, pool, cycle), cycle))
            rows.append(
                {
                    "start": cycle.start,
                    "end": cycle.end,
                    "plan": plans.named_at(min(now, cycle.end - _TINY))[0],
                    "allowance": Credits(allowance),
                }
            )
            spans.append(Interval(max(cycle.start, sc.span.start), min(cycle.end, sc.span.end)))
        rows = _tally(session, sc, rows, spans)
    for n, row in enumerate(rows, first):
        row["current"] = n == current
    return Periods("cycle", sc, rows)


# --- history ----------------------------------------------------------------------------


def event_dict(row: dict) -> dict:
    """An event as the reports show it."""
    return {
        "id": row["id"],
        "at": from_storage(row["at"]),
        "pool": row["pool"],
        "action": row["action"],
        "model": row["model"],
        "scope": row["scope"],
        "quantity": row["quantity"],
        "seconds": row["seconds"],
        "chars": row["chars"],
        "custom_domain": bool(row["custom_domain"]),
        "credits": Credits(row["credits_milli"]),
        "app": row["app"],
        "member": row["member"],
        "key": row["key"],
        "note": row["note"],
        "corrects": row["corrects"],  # a void: the id of the event it cancels
    }


@record
class History:
    """The events a scope holds, newest first, at most `limit` of them (None: all)."""

    scope: Scope
    limit: int | None
    rows: Iterator[dict]  # the export's fields of each event (a generator: rows stream from the database)


def events(session: Session, *, limit: int | None, **options) -> History:
    sc = scope(session, default_span="all", **options)
    rows = session.store.iter_events(sc.workspace_id, sc.filter, newest_first=True, limit=limit)
    return History(sc, limit, (event_dict(r) for r in rows))


def parse_limit(text: str) -> int | None:
    """How many events at most: a whole number, 0 for all (None)."""
    from .domain.money import parse_count

    return parse_count(text, "limit", minimum=0) or None


def count_events(session: Session, sc: Scope) -> int:
    return session.store.total(sc.workspace_id, sc.filter)[1]


@record
class Shown:
    """One event (its JSON: `event`), and the zone its times are shown in."""

    event: dict
    zone: tzinfo


def show(session: Session, event_id: str, timezone: str | None = None) -> Shown:
    from .domain.money import parse_count

    n = parse_count(event_id, "event", maximum=2**62)
    ws = session.workspace()
    zone = report_zone(session, ws, timezone)
    row = session.store.event(ws.id, n)
    if row is None:
        raise BadInput("event", f"no event {n} in workspace {session.workspace_name!r}")
    out = event_dict(row)
    out["recorded_at"] = from_storage(row["recorded_at"])
    out["paid_by"] = paid_by(session.store, n)
    return Shown(out, zone)
