"""`credits team add|list|remove`: who may use a team's ledger on PostgreSQL, as a member or an admin."""

from __future__ import annotations

from typing import Annotated

import typer

from .common import JsonOption, respond

app = typer.Typer()
team = typer.Typer(
    help="A team's ledger on PostgreSQL: which login roles may use it, as members or admins.", no_args_is_help=True
)
app.add_typer(team, name="team")

RoleArgument = Annotated[str, typer.Argument(metavar="ROLE", help="A PostgreSQL login role (a person's).")]


def use_cases():
    from .. import team as team_mod  # on first use only

    return team_mod


@team.command("add")
def team_add(
    ctx: typer.Context,
    role: RoleArgument,
    as_: Annotated[
        str | None,
        typer.Option(
            "--as",
            metavar="member|admin",
            help="member (the default): logs its own events and reads; admin: also manages the ledger and team.",
        ),
    ] = None,
    json: JsonOption = False,
):
    """Give a login role access to this ledger, as a member or an admin (admins only)."""
    respond(ctx, json, lambda s: use_cases().team_add(s, role, as_), _change_text)


@team.command("list")
def team_list(ctx: typer.Context, json: JsonOption = False):
    """Every login role in the team, and as what (admins only)."""
    respond(ctx, json, lambda s: use_cases().team_list(s), _list_text)


@team.command("remove")
def team_remove(ctx: typer.Context, role: RoleArgument, json: JsonOption = False):
    """Take a role's access to this ledger away; what it logged stays (admins only)."""
    respond(ctx, json, lambda s: use_cases().team_remove(s, role), _change_text)


def _change_text(c) -> None:
    if not c.changed:
        print(
            f"{c.role} is already an {c.as_} of this ledger."
            if c.as_ == "admin"
            else f"{c.role} is already a member of this ledger."
        )
    elif c.as_ is None:
        print(f"{c.role} is no longer in the team (was {_a(c.was)}); what it logged stays.")
    else:
        print(f"{c.role} is now {_a(c.as_)} of this ledger" + (f" (was {_a(c.was)})." if c.was else "."))


def _a(kind: str) -> str:
    return "an admin" if kind == "admin" else "a member"


def _list_text(roles) -> None:
    if not roles:
        print("No login role is in the team yet: credits team add ROLE --as member|admin")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, show_edge=False)
    table.add_column("role")
    table.add_column("as")
    for r in roles:
        table.add_row(r.role, r.as_)
    Console().print(table)
