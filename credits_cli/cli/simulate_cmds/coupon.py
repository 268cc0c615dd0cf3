"""`credits coupon create|redeem|list`: coupons and gift cards."""

from __future__ import annotations

from typing import Annotated

import typer

from ...domain.cycles import when
from ...domain.money import amount, fmt
from ..common import JsonOption, PoolOption, respond
from .shared import CreditsOption, ExpiresOption, use_cases

app = typer.Typer(help="Coupons and gift cards: create, redeem, list.", no_args_is_help=True)


@app.command("create")
def coupon_create(
    ctx: typer.Context,
    code: Annotated[str | None, typer.Argument(metavar="[CODE]", help="The code (default: a strong one).")] = None,
    credits: CreditsOption = None,
    pool: PoolOption = None,
    expires: ExpiresOption = None,
    uses: Annotated[str | None, typer.Option("--uses", metavar="N", help="How many workspaces may redeem it.")] = None,
    json: JsonOption = False,
):
    """Create a coupon (a code worth credits in one pool)."""
    respond(ctx, json, lambda s: use_cases().coupon_create(s, code, credits, pool, expires, uses), _coupon_text)


def _coupon_text(c) -> None:
    limits = []
    if c.expires_at:
        limits.append(f"until {when(c.expires_at)}")
    if c.uses:
        limits.append(f"{c.uses} use{'s' if c.uses > 1 else ''}")
    print(f"Coupon {c.code}: {amount(c.credits, c.pool)}" + (f" ({', '.join(limits)})" if limits else ""))


@app.command("redeem")
def coupon_redeem(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(metavar="CODE", help="Case, spaces and hyphens do not matter.")],
    json: JsonOption = False,
):
    """Redeem a coupon: its credits are added at once (one redemption per workspace)."""
    respond(
        ctx,
        json,
        lambda s: use_cases().coupon_redeem(s, code),
        lambda r: print(
            f"Redeemed {r.code}: {amount(r.credits, r.pool)} added"
            + (f", valid until {when(r.expires_at)}" if r.expires_at else "")
            + f"; {amount(r.available, r.pool)} available"
        ),
    )


@app.command("list")
def coupon_list(ctx: typer.Context, json: JsonOption = False):
    """Every coupon: value, pool, expiry, uses."""
    respond(ctx, json, lambda s: use_cases().coupon_list(s), _coupons_text)


def _coupons_text(coupons: list) -> None:
    if not coupons:
        print("No coupons.")
    for c in coupons:
        uses = f"{c.used} of {c.uses}" if c.uses else f"{c.used} of unlimited"
        print(
            f"{c.code}  {fmt(c.credits)} {c.pool}  used {uses}"
            + (f"  expires {when(c.expires_at)}" if c.expires_at else "")
            + ("  (redeemed here)" if c.redeemed_here else "")
        )
