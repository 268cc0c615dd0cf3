"""The reports: apps, members, actions, daily, weekly, monthly, cycles, events, show."""

from __future__ import annotations

from typing import Annotated

import typer

from . import spec
from .common import JsonOption, TimezoneOption, from_spec, respond, say

app = typer.Typer()


def _distribution(ctx: typer.Context, by: str, json: bool, csv: bool, filters: dict) -> None:
    from .. import reports

    def as_text(d):
        from ..render import human

        human.distribution(d, {r[by]: r["budget"] for r in d.rows if r.get("budget")})

    respond(ctx, json, lambda s: reports.usage_by(s, by, **filters), as_text, csv=csv)


@app.command()
@from_spec(*spec.REPORT, spec.JSON, spec.CSV)
def apps(ctx: typer.Context, json=False, csv=False, **filters):
    """Credit usage by app, largest first: bar, credits and share of the pool."""
    _distribution(ctx, "app", json, csv, filters)


@app.command()
@from_spec(*spec.REPORT, spec.JSON, spec.CSV)
def members(ctx: typer.Context, json=False, csv=False, **filters):
    """Credit usage by member, largest first: bar, credits and share of the pool."""
    _distribution(ctx, "member", json, csv, filters)


@app.command()
@from_spec(*spec.REPORT, spec.JSON, spec.CSV)
def actions(ctx: typer.Context, json=False, csv=False, **filters):
    """Credit usage by action and model (the per-feature breakdown), largest first."""
    _distribution(ctx, "action", json, csv, filters)


_WEEK_START = spec.Param(
    "week_start",
    ("--week-start",),
    default="monday",
    metavar="monday|sunday",
    help="The day weeks start on: monday (ISO weeks) or sunday (each named by the ISO week of the Monday after it).",
)


def _period_report(name: str, summary: str, *more: spec.Param) -> None:
    """The command `name`: the chart of reports.<name>, one bar a period (daily, weekly, monthly, cycles)."""

    @from_spec(*spec.REPORT, *more, spec.JSON, spec.CSV)
    def command(ctx: typer.Context, json=False, csv=False, **filters):
        from .. import reports

        def as_text(p):
            from ..render import human

            human.periods(p)

        respond(ctx, json, lambda s: getattr(reports, name)(s, **reports.on_one_pool(filters)), as_text, csv=csv)

    command.__doc__ = summary
    app.command(name=name)(command)


_period_report(
    "daily", "Daily usage: one bar per day (of the workspace's zone, or --timezone's), days without use shown as zero."
)
_period_report("weekly", "Weekly usage: one bar per week from Monday (ISO weeks), the last 12 by default.", _WEEK_START)
_period_report("monthly", "Monthly usage: one bar per calendar month, the last 12 by default.")
_period_report(
    "cycles", "Usage per billing cycle, with its plan and allowance: every cycle by default, the current one last."
)


@app.command()
@from_spec(*spec.FILTERS, spec.TIMEZONE, spec.LIMIT, spec.JSON, spec.CSV)
def events(ctx: typer.Context, limit="50", json=False, csv=False, **filters):
    """The history of logged events, newest first."""
    from .. import reports

    def run(s):
        return reports.events(s, limit=reports.parse_limit(limit), **filters)

    def as_text(h):
        from ..render import human

        shown = list(h.rows)  # at most --limit rows (all with 0): the table is measured before it is drawn
        human.events(shown, h.scope)
        total = reports.count_events(ctx.obj, h.scope)
        if h.limit and total > len(shown):
            say(f"(the newest {len(shown)} of {total:,} events; --limit 0 shows all)", tag=False)

    respond(ctx, json, run, as_text, csv=csv, page=True)


@app.command()
def show(
    ctx: typer.Context,
    event: Annotated[str, typer.Argument(metavar="ID", help="The event's id (see: credits events).")],
    timezone: TimezoneOption = None,
    json: JsonOption = False,
):
    """One event with the grants that paid for it (the platform's "Credits Used")."""
    from .. import reports

    respond(ctx, json, lambda s: reports.show(s, event, timezone), _show_text)


def _show_text(e) -> None:
    from ..render import human

    human.show(e)
