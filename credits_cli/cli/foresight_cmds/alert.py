"""`credits alert add|list|remove`: alerts before a pool runs dry."""

from __future__ import annotations

from typing import Annotated

import typer

from ...domain.money import fmt
from ..common import JsonOption, PoolOption, respond
from .shared import use_cases

app = typer.Typer(help="Alerts before a pool runs dry.", no_args_is_help=True)


@app.command("add")
def alert_add(
    ctx: typer.Context,
    pool: PoolOption = None,
    at: Annotated[
        str | None, typer.Option("--at", metavar="PERCENT%", help="Fire when this share of the allowance is used.")
    ] = None,
    left: Annotated[
        str | None, typer.Option("--left", metavar="N", help="Fire when N or fewer credits remain.")
    ] = None,
    expiring: Annotated[
        str | None,
        typer.Option(
            "--expiring", metavar="DAYS", help="Fire for each bonus grant whose unused credits expire within DAYS."
        ),
    ] = None,
    by: Annotated[
        str | None, typer.Option("--by", metavar="mid-cycle", help="Only before the middle of the cycle.")
    ] = None,
    command: Annotated[
        str | None, typer.Option("--exec", metavar="COMMAND", help="Run this (sh -c) when it fires.")
    ] = None,
    json: JsonOption = False,
):
    """Add an alert; it fires once a cycle (--expiring: once a grant), into the outbox and on the log's stderr."""
    respond(
        ctx,
        json,
        lambda s: use_cases().alert_add(s, pool, at, left, by, command, expiring),
        lambda a: print(f"Alert {a.id} added."),
    )


@app.command("list")
def alert_list(ctx: typer.Context, json: JsonOption = False):
    """Every alert."""
    respond(ctx, json, lambda s: use_cases().alert_list(s), _alerts_text)


def _alerts_text(alerts: list) -> None:
    if not alerts:
        print("No alerts.")
    for a in alerts:
        if a.expiring_days is not None:
            cond = f"bonus credits expiring within {a.expiring_days} day{'s' if a.expiring_days != 1 else ''}"
        elif a.at_percent is not None:
            cond = f"{a.at_percent}% used"
        else:
            cond = f"{fmt(a.left)} or fewer left"
        print(
            f"alert {a.id}: {a.pool} {cond}"
            + (" before mid-cycle" if a.by_mid_cycle else "")
            + (f"; runs {a.exec!r}" if a.exec else "")
        )


@app.command("remove")
def alert_remove(ctx: typer.Context, alert: Annotated[str, typer.Argument(metavar="ID")]):
    """Remove an alert."""
    respond(ctx, False, lambda s: use_cases().alert_remove(s, alert), lambda _: print(f"Alert {alert} removed."))
