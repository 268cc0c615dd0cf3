"""`credits plan set`: change the workspace's plan."""

from __future__ import annotations

from typing import Annotated

import typer

from ...domain.cycles import when
from ...domain.money import amount
from ..common import JsonOption, respond
from ..complete import BY_KIND
from .shared import use_cases

app = typer.Typer(help="Change the workspace's plan.", no_args_is_help=True)


@app.command("set")
def plan_set(
    ctx: typer.Context,
    plan: Annotated[
        str,
        typer.Argument(
            metavar="PLAN", help="The plan to move to (see: credits plans).", autocompletion=BY_KIND["plans"]
        ),
    ],
    billing: Annotated[str | None, typer.Option("--billing", metavar="monthly|yearly")] = None,
    json: JsonOption = False,
):
    """Upgrade at once (this cycle's use is kept) or downgrade at the next reset."""
    respond(ctx, json, lambda s: use_cases().plan_set(s, plan, billing), _plan_text)


def _plan_text(r) -> None:
    if r.change == "unchanged":
        print(f"Already on the {r.plan} plan ({r.billing}).")
    elif r.change == "downgrade":
        print(f"Downgrade from {r.from_} to {r.plan} scheduled for the next reset, {when(r.effective_at)}.")
    else:
        extra = ", ".join(amount(v, p) for p, v in r.added.items())
        print(f"Now on the {r.plan} plan ({r.billing})" + (f": {extra} added for this cycle" if extra else "") + ".")
