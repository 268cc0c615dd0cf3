"""Assembles the `credits` command from its groups; holds the global options."""

from __future__ import annotations

from typing import Annotated

import typer

from .. import __version__
from . import (
    catalog_cmds,
    config_cmds,
    foresight_cmds,
    html_cmds,
    ledger_cmds,
    mcp_cmds,
    report_cmds,
    simulate_cmds,
    team_cmds,
    transfer_cmds,
)
from .common import CreditsGroup, PagedGroup, failures, from_spec, no_pager
from .out import open_session
from .spec import GLOBALS

app = typer.Typer(
    cls=CreditsGroup,
    name="credits",
    help="Keep a local ledger of AI-platform credits (message and integration pools), and simulate it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(ctx: typer.Context, value: bool):
    if value and not ctx.resilient_parsing:  # not while completing a command line
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
    no_pager=(
        Annotated[
            bool,
            typer.Option(
                "--no-pager",
                callback=no_pager,
                is_eager=True,
                expose_value=False,
                help="Print long output (events, grants, notifications, a group's help) without a pager;"
                " CREDITS_PAGER= (set to nothing) too.",
            ),
        ],
        False,
    ),
)
def main(ctx: typer.Context, version=False, **given):
    from click.core import ParameterSource

    with failures():
        on_command_line = {name for name in given if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE}
        ctx.obj = open_session(given, on_command_line)
    ctx.call_on_close(ctx.obj.close)


# Each module's commands, in the order of the help's panels.
GROUPS = (
    ledger_cmds,
    report_cmds,
    html_cmds,
    simulate_cmds,
    foresight_cmds,
    transfer_cmds,
    team_cmds,
    mcp_cmds,
    catalog_cmds,
    config_cmds,
)
for _module in GROUPS:
    app.add_typer(_module.app)

# The help groups commands by what they are for.
PANELS = {
    "Ledger": ("init", "log", "balance", "check", "doctor"),
    "Reports": ("apps", "members", "actions", "daily", "weekly", "monthly", "cycles", "report", "events", "show"),
    "Simulation": ("reset", "clock", "plan", "coupon", "share", "topup", "grant", "grants", "void", "notifications"),
    "Foresight": ("forecast", "estimate", "advise", "budget", "alert", "status", "watch"),
    "Data in and out": ("export", "import", "copy"),
    "Team (PostgreSQL)": ("team",),
    "AI assistants (MCP)": ("mcp",),
    "Catalog": ("plans", "prices"),
    "Settings": ("config",),
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
            if sub.typer_instance is not None:
                sub.typer_instance.info.cls = PagedGroup  # its --help through the pager, as the top one's
        elif sub.typer_instance is not None:  # added without a name (typer's placeholder for none)
            _in_panels(sub.typer_instance)


for _module in GROUPS:
    _in_panels(_module.app)
