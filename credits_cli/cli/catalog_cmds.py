"""`credits plans` and `credits prices`: the catalog."""

from __future__ import annotations

import typer

from .common import JsonOption, respond

app = typer.Typer()


@app.command()
def plans(ctx: typer.Context, json: JsonOption = False):
    """List the plans: price, monthly allowance of each pool, daily cap, features."""
    respond(ctx, json, lambda s: _plans(s.catalog), lambda rows: _human().plans_table(rows, ctx.obj.catalog.source))


def _plans(catalog) -> list[dict]:
    return [
        {
            "plan": p.name,
            "price_monthly": p.price_monthly,
            "price_yearly": p.price_yearly,
            "message": p.message,
            "integration": p.integration,
            "daily_message_cap": p.daily_message_cap,
            "max_apps": p.max_apps,
            "features": sorted(p.features),
        }
        for p in catalog.plans.values()
    ]


@app.command()
def prices(ctx: typer.Context, json: JsonOption = False):
    """List what each action costs, with its pool, unit and variants."""
    respond(
        ctx,
        json,
        lambda s: _prices(s.catalog),
        lambda _: _human().prices_table(ctx.obj.catalog.actions.values(), ctx.obj.catalog.source),
    )


def _human():
    from ..render import human  # rich, only for a table

    return human


# An action's optional fields, in the order prices --json writes them: an amount is written when the catalog
# sets it (even to 0), anything else when it is not empty; models and scopes map names to amounts.
_AMOUNTS = ("price", "max_per_call", "custom_domain_price")
_OPTIONAL = (
    "price",
    "per",
    "block_chars",
    "max_per_call",
    "models",
    "scopes",
    "custom_domain_price",
    "requires",
    "custom_domain_requires",
)


def _prices(catalog) -> list[dict]:
    rows = []
    for a in catalog.actions.values():
        row = {"action": a.name, "pool": a.pool, "unit": a.unit}
        for k in _OPTIONAL:
            v = getattr(a, k)
            if (v is not None) if k in _AMOUNTS else v:
                row[k] = v
        rows.append(row)
    return rows
