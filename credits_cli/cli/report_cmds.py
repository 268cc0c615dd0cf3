"""The reports: apps, members, actions, daily, events, show."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ..domain.money import parse_count
from ..records import replace
from . import spec
from .common import JsonOption, failures, from_spec, output_format, respond

app = typer.Typer()

# apps, members, actions and daily report on one pool, integration unless --pool says otherwise.
_FILTER = {p.name: p for p in spec.FILTERS}
REPORT = (
    replace(_FILTER["pool"], help="The pool to report on (default integration)."),
    *(_FILTER[name] for name in ("since", "until", "app", "member", "action")),
)


def _distribution(ctx: typer.Context, by: str, json: bool, csv: bool, filters: dict) -> None:
    from .. import reports

    fmt = output_format(json, csv)
    with failures(fmt == "json"):
        d = reports.distribution(ctx.obj, by, **{**filters, "pool": filters["pool"] or "integration"})
        rows = d.rows
        if by in ("app", "member"):
            from ..foresight import budgets_by

            budgets = budgets_by(ctx.obj, by, d.scope.filter.pool or "integration")
            if budgets:
                for r in rows:
                    r["budget"] = budgets.get(r[by])
        if fmt != "table":
            from ..render.output import write

            extra = ["budget"] if rows and "budget" in rows[0] else []
            write(rows, fmt, sys.stdout, list(reports.GROUPS[by]) + ["credits", "share", "events"] + extra)
            return
        from ..render import human

        human.distribution(d, {r[by]: r["budget"] for r in rows if r.get("budget")})


@app.command()
@from_spec(*REPORT, spec.JSON, spec.CSV)
def apps(ctx: typer.Context, json=False, csv=False, **filters):
    """Credit usage by app, largest first: bar, credits and share of the pool."""
    _distribution(ctx, "app", json, csv, filters)


@app.command()
@from_spec(*REPORT, spec.JSON, spec.CSV)
def members(ctx: typer.Context, json=False, csv=False, **filters):
    """Credit usage by member, largest first: bar, credits and share of the pool."""
    _distribution(ctx, "member", json, csv, filters)


@app.command()
@from_spec(*REPORT, spec.JSON, spec.CSV)
def actions(ctx: typer.Context, json=False, csv=False, **filters):
    """Credit usage by action and model (the per-feature breakdown), largest first."""
    _distribution(ctx, "action", json, csv, filters)


@app.command()
@from_spec(*REPORT, spec.JSON, spec.CSV)
def daily(ctx: typer.Context, json=False, csv=False, **filters):
    """Daily usage: one bar per day of the workspace's zone, days without use shown as zero."""
    from .. import reports

    fmt = output_format(json, csv)
    with failures(fmt == "json"):
        d = reports.daily(ctx.obj, **{**filters, "pool": filters["pool"] or "integration"})
        rows = d.days
        if fmt != "table":
            from ..render.output import write

            write(rows, fmt, sys.stdout, ["date", "credits", "events"])
            return
        from ..render import human

        human.daily(d)


_LIMIT = spec.Param("limit", ("--limit",), default="50", metavar="N", help="At most N events (0: all).")


@app.command()
@from_spec(*spec.FILTERS, _LIMIT, spec.JSON, spec.CSV)
def events(ctx: typer.Context, limit="50", json=False, csv=False, **filters):
    """The history of logged events, newest first."""
    from .. import reports
    from ..domain.events import EXPORT_FIELDS

    fmt = output_format(json, csv)
    with failures(fmt == "json"):
        n = parse_count(limit, "limit", minimum=0)
        s = ctx.obj
        sc, rows = reports.events(s, limit=n or None, **filters)
        if fmt != "table":
            from ..render.output import write

            write(rows, fmt, sys.stdout, list(EXPORT_FIELDS))
            return
        from ..render import human

        shown = list(rows)
        human.events(shown, sc)
        total = reports.count_events(s, sc)
        if n and total > len(shown):
            print(f"(the newest {len(shown)} of {total:,} events; --limit 0 shows all)", file=sys.stderr)


@app.command()
def show(
    ctx: typer.Context,
    event: Annotated[str, typer.Argument(metavar="ID", help="The event's id (see: credits events).")],
    json: JsonOption = False,
):
    """One event with the grants that paid for it (the platform's "Credits Used")."""
    from .. import reports

    respond(ctx, json, lambda s: reports.show(s, event), _show_text)


def _show_text(e: dict) -> None:
    from ..render import human

    human.show(e)
