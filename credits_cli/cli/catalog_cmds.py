"""`credits plans` and `credits prices`: the catalog."""

from __future__ import annotations

import typer

from ..render.jsonout import Credits
from .common import JsonOption, emit_json, failures

app = typer.Typer()


@app.command()
def plans(ctx: typer.Context, json: JsonOption = False):
    """List the plans: price, monthly allowance of each pool, daily cap, features."""
    with failures(json):
        catalog = ctx.obj.catalog
        rows = [
            {
                "plan": p.name,
                "price_monthly": Credits(p.price_monthly),
                "price_yearly": Credits(p.price_yearly),
                "message": Credits(p.message),
                "integration": Credits(p.integration),
                "daily_message_cap": Credits(p.daily_message_cap) if p.daily_message_cap is not None else None,
                "max_apps": p.max_apps,
                "features": sorted(p.features),
            }
            for p in catalog.plans.values()
        ]
        if json:
            emit_json(rows)
            return
        from ..render import human

        human.plans_table(rows, catalog.source)


@app.command()
def prices(ctx: typer.Context, json: JsonOption = False):
    """List what each action costs, with its pool, unit and variants."""
    with failures(json):
        catalog = ctx.obj.catalog
        rows = []
        for a in catalog.actions.values():
            row = {"action": a.name, "pool": a.pool, "unit": a.unit}
            if a.price is not None:
                row["price"] = Credits(a.price)
            if a.per:
                row["per"] = a.per
            if a.block_chars:
                row["block_chars"] = a.block_chars
            if a.max_per_call is not None:
                row["max_per_call"] = Credits(a.max_per_call)
            if a.models:
                row["models"] = {m: Credits(v) for m, v in a.models.items()}
            if a.scopes:
                row["scopes"] = {s: Credits(v) for s, v in a.scopes.items()}
            if a.custom_domain_price is not None:
                row["custom_domain_price"] = Credits(a.custom_domain_price)
            if a.requires:
                row["requires"] = a.requires
            if a.custom_domain_requires:
                row["custom_domain_requires"] = a.custom_domain_requires
            rows.append(row)
        if json:
            emit_json(rows)
            return
        from ..render import human

        human.prices_table(catalog.actions.values(), catalog.source)
