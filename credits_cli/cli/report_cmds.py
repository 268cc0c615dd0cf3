"""The reports: apps, members, actions, daily, events, show."""

from __future__ import annotations

from typing import Annotated

import typer

from . import spec
from .common import JsonOption, from_spec, respond, say

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


@app.command()
@from_spec(*spec.REPORT, spec.JSON, spec.CSV)
def daily(ctx: typer.Context, json=False, csv=False, **filters):
    """Daily usage: one bar per day of the workspace's zone, days without use shown as zero."""
    from .. import reports

    def as_text(d):
        from ..render import human

        human.daily(d)

    respond(ctx, json, lambda s: reports.daily(s, **reports.on_one_pool(filters)), as_text, csv=csv)


@app.command()
@from_spec(*spec.FILTERS, spec.LIMIT, spec.JSON, spec.CSV)
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

    respond(ctx, json, run, as_text, csv=csv)


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
