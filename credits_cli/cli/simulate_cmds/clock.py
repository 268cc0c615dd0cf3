"""`credits clock [set|advance|real]` and `credits reset`: the simulated clock and the next reset."""

from __future__ import annotations

from typing import Annotated

import typer

from ...domain.cycles import iso, when
from ...domain.money import fmt
from ..common import JsonOption, respond
from .shared import use_cases

app = typer.Typer()  # reset
clock_app = typer.Typer(help="The workspace's simulated clock.", invoke_without_command=True)


@clock_app.callback()
def clock_show(ctx: typer.Context, json: JsonOption = False):
    """Show the clock (subcommands: set ISO, advance DURATION, real)."""
    if ctx.invoked_subcommand is None:
        respond(ctx, json, lambda s: use_cases().clock(s, "show"), _clock_text)


@clock_app.command("set")
def clock_set(ctx: typer.Context, instant: Annotated[str, typer.Argument(metavar="INSTANT")], json: JsonOption = False):
    """Run this workspace on a simulated clock set to INSTANT."""
    respond(ctx, json, lambda s: use_cases().clock(s, "set", instant), _clock_text)


@clock_app.command("advance")
def clock_advance(
    ctx: typer.Context,
    duration: Annotated[str, typer.Argument(metavar="DURATION", help="3d, 12h, 2w, 1mo, 2d6h ...")],
    json: JsonOption = False,
):
    """Move the simulated clock forward (from the real time if none is set)."""
    respond(ctx, json, lambda s: use_cases().clock(s, "advance", duration), _clock_text)


@clock_app.command("real")
def clock_real(ctx: typer.Context, json: JsonOption = False):
    """Go back to the real clock."""
    respond(ctx, json, lambda s: use_cases().clock(s, "real"), _clock_text)


def _clock_text(c) -> None:
    if c.overridden:
        kept = f"; the simulated clock ({iso(c.simulated_at)}) applies without it" if c.simulated else ""
        print(f"--now / CREDITS_NOW is set: commands run at {iso(c.now)}{kept}.")
    elif c.simulated:
        print(f"Simulated clock: {iso(c.now)} (credits clock real to go back).")
    else:
        print(f"Real clock: {iso(c.now)}.")


@app.command()
def reset(
    ctx: typer.Context,
    advance: Annotated[bool, typer.Option("--advance", help="Move the simulated clock to the reset.")] = False,
    json: JsonOption = False,
):
    """Simulate the next reset: when, what expires in each pool, what is granted, the balance after."""
    respond(ctx, json, lambda s: use_cases().reset(s, advance), lambda r: _reset_text(r, advance))


def _reset_text(r, advance: bool) -> None:
    print(f"Next reset: {when(r.at)} ({iso(r.at)}), on the {r.plan_after} plan.")
    for pool, v in r.pools.items():
        lost = f"{fmt(v.lost)} expire unused" if v.lost else "nothing expires"
        print(f"  {pool:<12} {lost}; {fmt(v.granted)} granted; {fmt(v.available_after)} available after")
    if advance:
        print(f"The workspace's clock is now {iso(r.at)} (credits clock real to go back).")
