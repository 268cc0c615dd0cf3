"""Assembles the `credits` command from its groups; holds the global options."""

from __future__ import annotations

from typing import Annotated

import typer

from .. import __version__
from .common import CreditsGroup, from_spec
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
@from_spec(*GLOBALS, version=(Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                            help="Print the version and exit.")], False))
def main(ctx: typer.Context, *, db=None, now=None, workspace=None, catalog=None, version=False):
    from ..services import Session

    ctx.obj = Session(db=db, now=now, workspace=workspace, catalog=catalog)
    ctx.call_on_close(ctx.obj.close)


from . import catalog_cmds, foresight_cmds, ledger_cmds, report_cmds, simulate_cmds, transfer_cmds  # noqa: E402

ledger_cmds.register(app)  # commands register on `app`
report_cmds.register(app)
simulate_cmds.register(app)
foresight_cmds.register(app)
ledger_cmds.register_checks(app)
transfer_cmds.register(app)
catalog_cmds.register(app)

# The help groups commands by what they are for.
PANELS = {
    "Ledger": ("init", "log", "balance", "check", "doctor"),
    "Reports": ("apps", "members", "actions", "daily", "events", "show"),
    "Simulation": ("reset", "clock", "plan", "coupon", "share", "topup", "grant", "grants", "void", "notifications"),
    "Foresight": ("forecast", "estimate", "advise", "budget", "alert", "status", "watch"),
    "Data in and out": ("export", "import"),
    "Catalog": ("plans", "prices"),
}
_PANEL_OF = {name: panel for panel, names in PANELS.items() for name in names}
for _info in app.registered_commands:
    _info.rich_help_panel = _PANEL_OF.get(_info.name or _info.callback.__name__)
for _info in app.registered_groups:
    _info.rich_help_panel = _PANEL_OF.get(_info.name)
