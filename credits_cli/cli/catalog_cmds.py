"""`credits plans` and `credits prices`: the catalog."""

from __future__ import annotations

import typer

from .common import JsonOption, respond

app = typer.Typer()


@app.command()
def plans(ctx: typer.Context, json: JsonOption = False):
    """List the plans: price, monthly allowance of each pool, daily cap, features."""
    respond(
        ctx,
        json,
        lambda s: list(s.catalog.plans.values()),
        lambda plans: _human().plans_table(plans, ctx.obj.catalog.source),
    )


@app.command()
def prices(ctx: typer.Context, json: JsonOption = False):
    """List what each action costs, with its pool, unit and variants."""
    respond(
        ctx,
        json,
        lambda s: list(s.catalog.actions.values()),
        lambda actions: _human().prices_table(actions, ctx.obj.catalog.source),
    )


def _human():
    from ..render import human  # rich, only for a table

    return human
