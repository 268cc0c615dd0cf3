"""`credits init`, `credits log`, `credits balance`: the ledger."""

from __future__ import annotations

from typing import Annotated

import typer

from ..domain.cycles import iso
from . import spec
from .common import JsonOption, from_spec, respond, say
from .complete import BY_KIND

app = typer.Typer()


@app.command()
def init(
    ctx: typer.Context,
    plan: Annotated[
        str,
        typer.Option(
            "--plan", help="The plan the workspace is on (see: credits plans).", autocompletion=BY_KIND["plans"]
        ),
    ],
    start: Annotated[
        str | None,
        typer.Option(
            "--start",
            metavar="ISO-INSTANT",
            help="The exact instant of the original purchase; it anchors every reset (default: now).",
        ),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            "--timezone",
            metavar="IANA-ZONE",
            help="The zone days are counted in, for the free plan's daily cap (default: UTC).",
        ),
    ] = None,
    billing: Annotated[
        str | None,
        typer.Option("--billing", metavar="monthly|yearly", help="How the plan is billed (both reset monthly)."),
    ] = None,
    json: JsonOption = False,
):
    """Set up the workspace as it is on the platform: plan, purchase instant, time zone."""
    from .. import services

    respond(
        ctx,
        json,
        lambda s: services.init(s, plan, start, timezone, billing),
        _init_text,
    )


def _init_text(result) -> None:
    ws = result.workspace
    verb = "created" if result.created else ("updated" if result.changed else "unchanged")
    print(
        f"Workspace {ws.name!r} {verb}: {ws.plan} plan ({ws.billing}), resets on {iso(ws.anchor)}"
        f" each month, days in {ws.timezone}"
    )


@app.command()
@from_spec(*spec.LOG)
def log(ctx: typer.Context, **params):
    """Record one usage event, priced from the catalog, debited from its pool.

    Exit 0 when recorded (or already recorded under --key), 3 when credits or the daily cap are not enough.
    With --batch: one event a JSON line on stdin, one JSON result line each; exit 2 if any line was bad,
    else 3 if any was refused.
    """
    from . import logcmd

    code = logcmd.run(ctx.obj, params)
    if code:
        raise typer.Exit(code)


@app.command()
def balance(ctx: typer.Context, json: JsonOption = False):
    """Show both pools: allowance, used this cycle, bonus (and what of it expires soon), available now, next reset."""
    from .. import services

    respond(ctx, json, services.balance, lambda b: _balance_text(ctx.obj, b))


def _balance_text(s, b) -> None:
    from .. import reports
    from ..render import human

    human.balance(b, reports.distribution(s, "app", pool="integration"))


@app.command()
def check(ctx: typer.Context, json: JsonOption = False):
    """Recompute every balance from the entries; exit 1 with the details of any difference."""
    from .. import check as check_mod

    if not respond(ctx, json, check_mod.check_ledger, _check_text)["ok"]:
        raise typer.Exit(1)


def _check_text(r: dict) -> None:
    if r["ok"]:
        print(f"Ledger consistent: {r['events']:,} events and {r['grants']:,} grants checked.")
        return
    for p in r["problems"]:
        say(p["message"])
    say(f"{len(r['problems'])} problem(s) found")


@app.command()
def doctor(ctx: typer.Context, json: JsonOption = False):
    """Check the database file: SQLite version, schema, WAL, durability, permissions, integrity."""
    from .. import check as check_mod

    if not respond(ctx, json, check_mod.doctor, _doctor_text)["ok"]:
        raise typer.Exit(1)


def _doctor_text(r: dict) -> None:
    print(f"Ledger {'on' if '://' in r['path'] else 'file:'} {r['path']}")
    for c in r["checks"]:
        advice = "".join(f"\n      {line}" for line in c["advice"].splitlines()) if not c["ok"] else ""
        print(f"  {'ok ' if c['ok'] else 'FIX'} {c['check']:<13} {c['value']}{advice}")
    for x in r["exports"][:3]:
        state = "intact" if x["intact"] else "changed or gone"
        print(
            f"  export {x['at']}: {x['path']} ({x['format']}, {x['events']:,} events"
            f"{'' if x['whole'] else ', filtered'}; {state})"
        )
