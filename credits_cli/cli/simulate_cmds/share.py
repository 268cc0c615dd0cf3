"""`credits share submit|approve|reject|status`: share-to-earn."""

from __future__ import annotations

from typing import Annotated

import typer

from ...domain.money import amount
from ..common import JsonOption, respond
from .shared import use_cases

app = typer.Typer(help="Share-to-earn: 20 message credits for an approved post.", no_args_is_help=True)


ShareId = Annotated[str | None, typer.Argument(metavar="[ID]", help="The share (default: the pending one).")]


@app.command("submit")
def share_submit(
    ctx: typer.Context,
    platform: Annotated[str | None, typer.Option("--platform", metavar="linkedin|x")] = None,
    url: Annotated[str | None, typer.Option("--url", metavar="URL", help="The post's address.")] = None,
    followers: Annotated[str | None, typer.Option("--followers", metavar="N")] = None,
    json: JsonOption = False,
):
    """Submit a post for the share-to-earn bonus (credited once approved)."""
    respond(
        ctx,
        json,
        lambda s: use_cases().share_submit(s, platform, url, followers),
        lambda r: print(
            f"Share {r.id} submitted: {amount(r.credits, 'message')} once it is approved"
            f" (credits share approve {r.id})."
        ),
    )


@app.command("approve")
def share_approve(ctx: typer.Context, share: ShareId = None, json: JsonOption = False):
    """Approve a pending share: its bonus is credited."""
    respond(
        ctx,
        json,
        lambda s: use_cases().share_decide(s, share, True),
        lambda r: print(f"Share {r.id} approved: {amount(r.credits, 'message')} added (they do not expire)."),
    )


@app.command("reject")
def share_reject(ctx: typer.Context, share: ShareId = None, json: JsonOption = False):
    """Reject a pending share (another may be submitted)."""
    respond(ctx, json, lambda s: use_cases().share_decide(s, share, False), lambda r: print(f"Share {r.id} rejected."))


@app.command("status")
def share_status(ctx: typer.Context, json: JsonOption = False):
    """Every share submitted and its state."""
    respond(ctx, json, lambda s: use_cases().share_status(s), _shares_text)


def _shares_text(shares: list) -> None:
    if not shares:
        print("No share submitted yet: credits share submit --platform linkedin|x --url URL --followers N")
    for r in shares:
        print(f"share {r.id}  {r.status}  {r.platform}  {r.followers:,} followers  {r.url}")
