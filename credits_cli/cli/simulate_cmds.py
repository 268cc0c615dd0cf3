"""Simulation commands: plan, coupon, share, clock (groups); reset, topup, grant, grants, void, notifications."""

from __future__ import annotations

from typing import Annotated

import typer

from ..domain.cycles import iso, when
from ..domain.money import amount, fmt
from .common import JsonOption, PoolOption, QuietOption, respond

app = typer.Typer()
plan_app = typer.Typer(help="Change the workspace's plan.", no_args_is_help=True)
coupon_app = typer.Typer(help="Coupons and gift cards: create, redeem, list.", no_args_is_help=True)
share_app = typer.Typer(help="Share-to-earn: 20 message credits for an approved post.", no_args_is_help=True)
clock_app = typer.Typer(help="The workspace's simulated clock.", invoke_without_command=True)
app.add_typer(plan_app, name="plan")
app.add_typer(coupon_app, name="coupon")
app.add_typer(share_app, name="share")
app.add_typer(clock_app, name="clock")

CreditsOption = Annotated[str | None, typer.Option("--credits", metavar="N", help="How many credits.")]
ShareId = Annotated[str | None, typer.Argument(metavar="[ID]", help="The share (default: the pending one).")]
ExpiresOption = Annotated[
    str | None, typer.Option("--expires", metavar="ISO-INSTANT", help="When the credits expire (default: never).")
]
KindOption = Annotated[
    str,
    typer.Option(
        "--kind",
        metavar="promo|referral",
        help=(
            "referral: the catalog's amount, pool and limit (built in: 10 message credits, at most 5 a workspace),"
            " no expiry"
        ),
    ),
]
ReasonOption = Annotated[str | None, typer.Option("--reason", metavar="TEXT", help="Why (required).")]


def _simulate():
    from .. import simulate  # on first use: a command of another group does not pay for importing it

    return simulate


@plan_app.command("set")
def plan_set(
    ctx: typer.Context,
    plan: Annotated[str, typer.Argument(metavar="PLAN", help="The plan to move to (see: credits plans).")],
    billing: Annotated[str | None, typer.Option("--billing", metavar="monthly|yearly")] = None,
    json: JsonOption = False,
):
    """Upgrade at once (this cycle's use is kept) or downgrade at the next reset."""
    respond(ctx, json, lambda s: _simulate().plan_set(s, plan, billing), _plan_text)


def _plan_text(r) -> None:
    if r.change == "unchanged":
        print(f"Already on the {r.plan} plan ({r.billing}).")
    elif r.change == "downgrade":
        print(f"Downgrade from {r.from_} to {r.plan} scheduled for the next reset, {when(r.effective_at)}.")
    else:
        extra = ", ".join(amount(v, p) for p, v in r.added.items())
        print(f"Now on the {r.plan} plan ({r.billing})" + (f": {extra} added for this cycle" if extra else "") + ".")


@coupon_app.command("create")
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
    respond(ctx, json, lambda s: _simulate().coupon_create(s, code, credits, pool, expires, uses), _coupon_text)


def _coupon_text(c) -> None:
    limits = []
    if c.expires_at:
        limits.append(f"until {when(c.expires_at)}")
    if c.uses:
        limits.append(f"{c.uses} use{'s' if c.uses > 1 else ''}")
    print(f"Coupon {c.code}: {amount(c.credits, c.pool)}" + (f" ({', '.join(limits)})" if limits else ""))


@coupon_app.command("redeem")
def coupon_redeem(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(metavar="CODE", help="Case, spaces and hyphens do not matter.")],
    json: JsonOption = False,
):
    """Redeem a coupon: its credits are added at once (one redemption per workspace)."""
    respond(
        ctx,
        json,
        lambda s: _simulate().coupon_redeem(s, code),
        lambda r: print(
            f"Redeemed {r.code}: {amount(r.credits, r.pool)} added"
            + (f", valid until {when(r.expires_at)}" if r.expires_at else "")
            + f"; {amount(r.available, r.pool)} available"
        ),
    )


@coupon_app.command("list")
def coupon_list(ctx: typer.Context, json: JsonOption = False):
    """Every coupon: value, pool, expiry, uses."""
    respond(ctx, json, lambda s: _simulate().coupon_list(s), _coupons_text)


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


@share_app.command("submit")
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
        lambda s: _simulate().share_submit(s, platform, url, followers),
        lambda r: print(
            f"Share {r.id} submitted: {amount(r.credits, 'message')} once it is approved"
            f" (credits share approve {r.id})."
        ),
    )


@share_app.command("approve")
def share_approve(ctx: typer.Context, share: ShareId = None, json: JsonOption = False):
    """Approve a pending share: its bonus is credited."""
    respond(
        ctx,
        json,
        lambda s: _simulate().share_decide(s, share, True),
        lambda r: print(f"Share {r.id} approved: {amount(r.credits, 'message')} added (they do not expire)."),
    )


@share_app.command("reject")
def share_reject(ctx: typer.Context, share: ShareId = None, json: JsonOption = False):
    """Reject a pending share (another may be submitted)."""
    respond(ctx, json, lambda s: _simulate().share_decide(s, share, False), lambda r: print(f"Share {r.id} rejected."))


@share_app.command("status")
def share_status(ctx: typer.Context, json: JsonOption = False):
    """Every share submitted and its state."""
    respond(ctx, json, lambda s: _simulate().share_status(s), _shares_text)


def _shares_text(shares: list) -> None:
    if not shares:
        print("No share submitted yet: credits share submit --platform linkedin|x --url URL --followers N")
    for r in shares:
        print(f"share {r.id}  {r.status}  {r.platform}  {r.followers:,} followers  {r.url}")


@clock_app.callback()
def clock_show(ctx: typer.Context, json: JsonOption = False):
    """Show the clock (subcommands: set ISO, advance DURATION, real)."""
    if ctx.invoked_subcommand is None:
        respond(ctx, json, lambda s: _simulate().clock(s, "show"), _clock_text)


@clock_app.command("set")
def clock_set(ctx: typer.Context, instant: Annotated[str, typer.Argument(metavar="INSTANT")], json: JsonOption = False):
    """Run this workspace on a simulated clock set to INSTANT."""
    respond(ctx, json, lambda s: _simulate().clock(s, "set", instant), _clock_text)


@clock_app.command("advance")
def clock_advance(
    ctx: typer.Context,
    duration: Annotated[str, typer.Argument(metavar="DURATION", help="3d, 12h, 2w, 1mo, 2d6h ...")],
    json: JsonOption = False,
):
    """Move the simulated clock forward (from the real time if none is set)."""
    respond(ctx, json, lambda s: _simulate().clock(s, "advance", duration), _clock_text)


@clock_app.command("real")
def clock_real(ctx: typer.Context, json: JsonOption = False):
    """Go back to the real clock."""
    respond(ctx, json, lambda s: _simulate().clock(s, "real"), _clock_text)


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
    respond(ctx, json, lambda s: _simulate().reset(s, advance), lambda r: _reset_text(r, advance))


def _reset_text(r, advance: bool) -> None:
    print(f"Next reset: {when(r.at)} ({iso(r.at)}), on the {r.plan_after} plan.")
    for pool, v in r.pools.items():
        lost = f"{fmt(v.lost)} expire unused" if v.lost else "nothing expires"
        print(f"  {pool:<12} {lost}; {fmt(v.granted)} granted; {fmt(v.available_after)} available after")
    if advance:
        print(f"The workspace's clock is now {iso(r.at)} (credits clock real to go back).")


@app.command()
def topup(
    ctx: typer.Context,
    pool: PoolOption = None,
    packs: Annotated[
        str | None, typer.Option("--packs", metavar="N", help="Packs of 50 message or 1,000 integration credits (1-8).")
    ] = None,
    json: JsonOption = False,
    quiet: QuietOption = False,
):
    """Buy top-up packs (paid plans): valid a year, used after every other credit."""
    respond(
        ctx,
        json,
        lambda s: _simulate().topup(s, pool, packs),
        lambda t: print(
            f"Topped up {amount(t.credits, t.pool)} ({t.packs} pack{'s' if t.packs > 1 else ''}),"
            f" valid until {when(t.expires_at)}."
        ),
        quiet=quiet,
    )


@app.command()
def grant(
    ctx: typer.Context,
    pool: PoolOption = None,
    credits: CreditsOption = None,
    expires: ExpiresOption = None,
    reason: ReasonOption = None,
    kind: KindOption = "promo",
    json: JsonOption = False,
):
    """Add a promotional grant (any amount) or a referral grant (the catalog's, at most 5)."""
    respond(
        ctx,
        json,
        lambda s: _simulate().add_grant(s, pool, credits, expires, reason, kind),
        lambda g: print(
            f"Granted {amount(g.credits, g.pool)} ({g.source}: {g.reason})"
            + (f", until {when(g.expires_at)}" if g.expires_at else "")
            + f"; grant {g.grant}"
            + (f" (referral {g.referrals} of {g.referral_max})" if g.referrals is not None else "")
            + "."
        ),
    )


@app.command()
def grants(ctx: typer.Context, json: JsonOption = False):
    """Every grant: source, amount, what is left (or was lost at expiry), expiry."""
    respond(ctx, json, _simulate().list_grants, _grants_text)


def _grants_text(grants: list) -> None:
    from ..render import human

    human.grants(grants)


@app.command()
def void(
    ctx: typer.Context,
    event: Annotated[str, typer.Argument(metavar="ID")],
    reason: Annotated[str | None, typer.Option("--reason", metavar="TEXT")] = None,
    json: JsonOption = False,
):
    """Cancel a mistaken log with a correcting entry; the grants it drew from get their credits back."""
    respond(
        ctx,
        json,
        lambda s: _simulate().void(s, event, reason),
        lambda v: print(
            f"Event {v.voids} voided by event {v.id}: {amount(v.restored, v.pool)} restored"
            + (f" ({fmt(v.expired)} had expired since and stay spent)" if v.expired else "")
            + "."
        ),
    )


@app.command()
def notifications(ctx: typer.Context, json: JsonOption = False):
    """The local outbox (the owner's "emails"), oldest first."""
    respond(ctx, json, lambda s: _simulate().notifications(s), _notifications_text)


def _notifications_text(notes: list) -> None:
    if not notes:
        print("No notifications.")
    for n in notes:
        print(f"{when(n.at)}  [{n.kind}] {n.message}")
