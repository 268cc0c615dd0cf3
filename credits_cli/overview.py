"""`credits report`'s use case: every figure the HTML report shows, each from the use case of the command
that prints it (`balance`, `apps`, `members`, `actions`, `daily`, `forecast`, `grants`, `advise`), so that the
report and those commands' JSON agree for the same --now.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, tzinfo
from pathlib import Path

from . import __version__, foresight, reports, simulate
from .domain.catalog import POOLS
from .domain.cycles import Interval
from .domain.money import Credits
from .errors import BadInput
from .records import record
from .reports import Distribution, Periods
from .services import Balance, Session, balance

_TINY = timedelta(microseconds=1)
STACKED_APPS = 6  # a daily chart stacks this many apps, the largest; the rest are one layer


@record
class Layer:
    """One layer of a daily chart stacked by app: its name, the app (None: the rest) and its credits each day."""

    name: str
    app: str | None
    days: list[Credits]


@record
class PoolView:
    """One pool's part of the report: its use over the report's span, day by day and by app, member and action;
    its billing cycles so far; and its forecast."""

    pool: str
    daily: Periods  # `credits daily --pool POOL`
    layers: list[Layer]  # the daily chart's, by app
    distributions: dict[str, Distribution]  # by app, member and action: `credits apps|members|actions`
    cycles: list[dict]  # `credits cycles --pool POOL`
    forecast: foresight.PoolForecast  # `credits forecast`


@record
class Overview:
    """What `credits report` shows: as of `now`, times shown in `zone`; the period views over `span`."""

    workspace: str
    now: datetime
    zone: tzinfo
    span: Interval
    options: dict  # --since, --until and --timezone as given (None when not)
    balance: Balance  # `credits balance`
    pools: dict[str, PoolView]
    grants: list[simulate.GrantState]  # `credits grants`
    advice: foresight.Advice  # `credits advise`


def overview(session: Session, *, since=None, until=None, timezone=None) -> Overview:
    options = {"since": since, "until": until, "timezone": timezone}
    given = {k: v for k, v in options.items() if v is not None}
    # checked first (bad input changes nothing): the span and the zone of the period views
    sc = reports.scope(session, pool="integration", **given)
    store = session.store
    with store.read():  # one snapshot for every figure
        b = balance(session)
        forecasts = foresight.forecast(session)
        pools = {}
        for pool in POOLS:
            daily = reports.daily(session, pool=pool, **given)
            by = {k: reports.distribution(session, k, pool=pool, **given) for k in ("app", "member", "action")}
            pools[pool] = PoolView(
                pool,
                daily,
                layers(session, pool, daily, by["app"], given),
                by,
                reports.cycles(session, pool=pool).rows,
                forecasts[pool],
            )
        grants = simulate.list_grants(session)
        advice = foresight.advise(session)
    return Overview(sc.workspace, sc.now, sc.zone, sc.span, options, b, pools, grants, advice)


def layers(session: Session, pool: str, daily: Periods, by_app: Distribution, given: dict) -> list[Layer]:
    """The daily chart's layers: each of the largest apps' own days (`credits daily --app APP`), then what the
    days hold besides when there is any: the other apps and use logged for no app ("other apps"), or only the
    latter ("(no app)")."""
    apps = [r["app"] for r in by_app.rows if r["app"] is not None]
    out = []
    for app in apps[:STACKED_APPS]:
        days = reports.daily(session, pool=pool, app=app, **given).rows
        out.append(Layer(app, app, [d["credits"] for d in days]))
    rest = [Credits(day["credits"] - sum(layer.days[i] for layer in out)) for i, day in enumerate(daily.rows)]
    if any(rest):
        out.append(Layer("other apps" if len(apps) > STACKED_APPS else "(no app)", None, rest))
    return out


# --- the file ---------------------------------------------------------------------------------------


@record
class Report:
    """A report written: where (None: stdout) and how many bytes."""

    path: Path | None
    size: int


def default_name(o: Overview) -> str:
    """credits-report-YYYY-MM-DD.html, the day of now in the report's zone."""
    return f"credits-report-{o.now.astimezone(o.zone):%Y-%m-%d}.html"


def report(session: Session, output: str | None, *, opening: bool = False, **options) -> Report:
    """Write the HTML report to `output` (a path; "-": stdout; None: the default name in the current
    directory), whole or not at all. `opening`: it is to be opened in a browser, so it must be a file."""
    if output == "-" and opening:
        raise BadInput("opening", lambda n: f"cannot open a report written to stdout; give {n('output')} FILE")
    if output is not None and output != "-" and not output.strip():
        raise BadInput("output", "is empty (leave it out for the default name)")
    o = overview(session, **options)
    from .render.html import page  # pygal: imported by this command only

    data = page(o, __version__).encode("utf-8")
    if output == "-":
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return Report(None, len(data))
    from .transfer import whole_file

    with whole_file(session, output or default_name(o), "report") as (path, part):
        part.write_bytes(data)
    return Report(path, len(data))
