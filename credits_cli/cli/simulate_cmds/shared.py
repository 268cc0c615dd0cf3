"""What the simulation commands share: their use cases, imported on first use, and two options."""

from __future__ import annotations

from typing import Annotated

import typer

CreditsOption = Annotated[str | None, typer.Option("--credits", metavar="N", help="How many credits.")]

ExpiresOption = Annotated[
    str | None, typer.Option("--expires", metavar="ISO-INSTANT", help="When the credits expire (default: never).")
]


def use_cases():
    from ... import simulate  # on first use: a command of another group does not pay for importing it

    return simulate
