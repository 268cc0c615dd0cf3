"""`credits budget set|list|remove`: per-cycle budgets of an app or a member."""

from __future__ import annotations

from typing import Annotated

import typer

from ...domain.money import amount, fmt
from ..common import JsonOption, PoolOption, respond
from ..complete import BY_KIND
from .shared import use_cases

app = typer.Typer(help="Per-cycle budgets for an app or a member inside the shared pool.", no_args_is_help=True)


AppTarget = Annotated[str | None, typer.Option("--app", metavar="NAME", help="An app.", autocompletion=BY_KIND["apps"])]

MemberTarget = Annotated[
    str | None, typer.Option("--member", metavar="NAME", help="A member.", autocompletion=BY_KIND["members"])
]


@app.command("set")
def budget_set(
    ctx: typer.Context,
    app: AppTarget = None,
    member: MemberTarget = None,
    pool: PoolOption = None,
    credits: Annotated[str | None, typer.Option("--credits", metavar="N", help="Credits a cycle.")] = None,
    json: JsonOption = False,
):
    """Give an app or a member a budget a cycle: `credits log` refuses (exit 3) what would exceed it."""
    respond(
        ctx,
        json,
        lambda s: use_cases().budget_set(s, app, member, pool, credits),
        lambda b: print(f"Budget: {b.kind} {b.name!r} may spend {amount(b.credits, b.pool)} a cycle."),
    )


@app.command("list")
def budget_list(ctx: typer.Context, json: JsonOption = False):
    """Every budget with this cycle's use against it."""
    respond(ctx, json, lambda s: use_cases().budget_list(s), _budgets_text)


def _budgets_text(budgets: list) -> None:
    if not budgets:
        print("No budgets.")
    for b in budgets:
        print(
            f"{b.kind} {b.name}: {fmt(b.used)} of {fmt(b.credits)} {b.pool} credits used this cycle, {fmt(b.left)} left"
        )


@app.command("remove")
def budget_remove(ctx: typer.Context, app: AppTarget = None, member: MemberTarget = None, pool: PoolOption = None):
    """Remove a budget (of one pool with --pool, else of both)."""
    respond(
        ctx,
        False,
        lambda s: use_cases().budget_remove(s, app, member, pool),
        lambda n: print(f"Removed {n} budget{'s' if n > 1 else ''}."),
    )
