"""Report use cases: distribution by app, member or action; daily use; history; one event."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta, tzinfo

from .domain.catalog import POOLS
from .domain.cycles import Interval, cycle_at, from_storage, local_midnight, parse_instant, parse_zone
from .domain.money import Credits
from .errors import BadInput
from .records import record
from .services import Session, check_name, paid_by
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
    # the zone days are counted and times shown in: --timezone (`credits report`), else the workspace's
    zone = parse_zone(timezone, "timezone") if timezone is not None else parse_zone(ws.timezone, "workspace timezone")
    now = session.now_in(ws)
    start = _bound(since, "since", zone, end=False) if since else None
    end = _bound(until, "until", zone, end=True) if until else None
    if default_span == "cycle":
        start = start or cycle_at(ws.anchor, now).start
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


def share(part: int, whole: int):
    """Percent with one decimal, exact (Decimal), rounded half-up."""
    from decimal import ROUND_HALF_UP, Decimal

    if not whole:
        return Decimal(0)
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


# --- daily --------------------------------------------------------------------------


@record
class Daily:
    scope: Scope
    days: list[dict]  # date (YYYY-MM-DD), credits (Credits), events


def daily(session: Session, **options) -> Daily:
    sc = scope(session, **options)
    first = sc.span.start.astimezone(sc.zone).date()
    last = (sc.span.end - _TINY).astimezone(sc.zone).date()
    if (last - first).days > 3660:
        raise BadInput(
            "since", lambda n: f"the range is longer than ten years; narrow it with {n('since')}/{n('until')}"
        )
    spans, dates = [], []
    d = first
    while d <= last:
        start = max(local_midnight(d, sc.zone), sc.span.start)
        end = min(local_midnight(d + timedelta(days=1), sc.zone), sc.span.end)
        spans.append(Interval(start, end))
        dates.append(d)
        d += timedelta(days=1)
    sums = session.store.per_interval(sc.workspace_id, sc.filter, spans)
    days = [{"date": d.isoformat(), "credits": Credits(c), "events": n} for d, (c, n) in zip(dates, sums, strict=True)]
    return Daily(sc, days)


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


def count_events(session: Session, sc: Scope) -> int:
    return session.store.total(sc.workspace_id, sc.filter)[1]


def show(session: Session, event_id: str) -> dict:
    from .domain.money import parse_count

    n = parse_count(event_id, "event", maximum=2**62)
    row = session.store.event(session.workspace().id, n)
    if row is None:
        raise BadInput("event", f"no event {n} in workspace {session.workspace_name!r}")
    out = event_dict(row)
    out["recorded_at"] = from_storage(row["recorded_at"])
    out["paid_by"] = paid_by(session.store, n)
    return out
