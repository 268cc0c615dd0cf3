"""Assembles the `credits` command from its groups; holds the global options."""

from __future__ import annotations

from typing import Annotated

import typer

from .. import __version__
from . import (
    catalog_cmds,
    foresight_cmds,
    html_cmds,
    ledger_cmds,
    report_cmds,
    simulate_cmds,
    team_cmds,
    transfer_cmds,
)
from .common import CreditsGroup, failures, from_spec
from .out import refuse_empty_env
from .spec import GLOBALS

app = typer.Typer(
    cls=CreditsGroup,
    name="credits",
    help="Keep a local ledger of AI-platform credits (message and integration pools), and simulate it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool):
    if value:
        print(f"credits {__version__}")
        raise typer.Exit(0)


@app.callback()
@from_spec(
    *GLOBALS,
    version=(
        Annotated[
            bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
        ],
        False,
    ),
)
def main(ctx: typer.Context, version=False, **given):
    from ..services import Session

    with failures():
        refuse_empty_env(given)
        ctx.obj = Session(**given)
    ctx.call_on_close(ctx.obj.close)


# Each module's commands, in the order of the help's panels.
GROUPS = (ledger_cmds, report_cmds, html_cmds, simulate_cmds, foresight_cmds, transfer_cmds, team_cmds, catalog_cmds)
for _module in GROUPS:
    app.add_typer(_module.app)

# The help groups commands by what they are for.
PANELS = {
    "Ledger": ("init", "log", "balance", "check", "doctor"),
    "Reports": ("apps", "members", "actions", "daily", "events", "show", "report"),
    "Simulation": ("reset", "clock", "plan", "coupon", "share", "topup", "grant", "grants", "void", "notifications"),
    "Foresight": ("forecast", "estimate", "advise", "budget", "alert", "status", "watch"),
    "Data in and out": ("export", "import", "copy"),
    "Team (PostgreSQL)": ("team",),
    "Catalog": ("plans", "prices"),
}
_PANEL_OF = {name: panel for panel, names in PANELS.items() for name in names}


def _in_panels(group: typer.Typer) -> None:
    """Put each command and group of `group` in its panel; a group added without a name (a module of a
    package of commands) is looked into, its commands being the parent's."""
    for command in group.registered_commands:
        name = command.name or (command.callback.__name__ if command.callback else "")
        command.rich_help_panel = _PANEL_OF.get(name)
    for sub in group.registered_groups:
        if isinstance(sub.name, str):
            sub.rich_help_panel = _PANEL_OF.get(sub.name)
        elif sub.typer_instance is not None:  # added without a name (typer's placeholder for none)
            _in_panels(sub.typer_instance)


for _module in GROUPS:
    _in_panels(_module.app)
