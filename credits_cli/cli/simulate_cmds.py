"""Simulation commands: plan, coupon, share, clock (groups); reset, topup, grant, grants, void, notifications."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..domain.cycles import iso, when
from ..domain.money import amount, fmt
from ..render.jsonout import Credits
from .common import JsonOption, PoolOption, QuietOption, emit_json, failures, refuse_quiet_json, say

app = typer.Typer()
CreditsOption = Annotated[Optional[str], typer.Option("--credits", metavar="N", help="How many credits.")]
ShareId = Annotated[Optional[str], typer.Argument(metavar="[ID]", help="The share (default: the pending one).")]
ExpiresOption = Annotated[Optional[str], typer.Option("--expires", metavar="ISO-INSTANT",
                                                      help="When the credits expire (default: never).")]

KindOption = Annotated[str, typer.Option("--kind", metavar="promo|referral", help=(
    "referral: the catalog's amount, pool and limit (built in: 10 message credits, at most 5 a workspace),"
    " no expiry"))]


def _credits(d: dict, *fields: str) -> dict:
    return {k: (Credits(v) if k in fields and v is not None else v) for k, v in d.items()}


def _notices(ctx) -> None:
    for n in ctx.obj.notices:
        say(n)


plan_app = typer.Typer(help="Change the workspace's plan.", no_args_is_help=True)
coupon_app = typer.Typer(help="Coupons and gift cards: create, redeem, list.", no_args_is_help=True)
share_app = typer.Typer(help="Share-to-earn: 20 message credits for an approved post.", no_args_is_help=True)
clock_app = typer.Typer(help="The workspace's simulated clock.", invoke_without_command=True)
app.add_typer(plan_app, name="plan")
app.add_typer(coupon_app, name="coupon")
app.add_typer(share_app, name="share")
app.add_typer(clock_app, name="clock")


@plan_app.command("set")
def plan_set(
    ctx: typer.Context,
    plan: Annotated[str, typer.Argument(metavar="PLAN", help="The plan to move to (see: credits plans).")],
    billing: Annotated[Optional[str], typer.Option("--billing", metavar="monthly|yearly")] = None,
    json: JsonOption = False,
):
    """Upgrade at once (this cycle's use is kept) or downgrade at the next reset."""
    from .. import simulate

    with failures(json):
        r = simulate.plan_set(ctx.obj, plan, billing)
        _notices(ctx)
        if json:
            emit_json({**r, "added": {p: Credits(v) for p, v in r["added"].items()}})
            return
        if r["change"] == "unchanged":
            print(f"Already on the {r['plan']} plan ({r['billing']}).")
        elif r["change"] == "downgrade":
            print(f"Downgrade from {r['from']} to {r['plan']} scheduled for the next reset,"
                  f" {when(r['effective_at'])}.")
        else:
            extra = ", ".join(amount(v, p) for p, v in r["added"].items())
            print(f"Now on the {r['plan']} plan ({r['billing']})" + (f": {extra} added for this cycle" if extra
                                                                      else "") + ".")


@coupon_app.command("create")
def coupon_create(
    ctx: typer.Context,
    code: Annotated[Optional[str], typer.Argument(metavar="[CODE]", help="The code (default: a strong one).")] = None,
    credits: CreditsOption = None,
    pool: PoolOption = None,
    expires: ExpiresOption = None,
    uses: Annotated[Optional[str], typer.Option("--uses", metavar="N", help="How many workspaces may redeem it.")] = None,
    json: JsonOption = False,
):
    """Create a coupon (a code worth credits in one pool)."""
    from .. import simulate

    with failures(json):
        r = simulate.coupon_create(ctx.obj, code, credits, pool, expires, uses)
        _notices(ctx)
        if json:
            emit_json(_credits(r, "credits"))
            return
        limits = []
        if r["expires_at"]:
            limits.append(f"until {when(r['expires_at'])}")
        if r["uses"]:
            limits.append(f"{r['uses']} use{'s' if r['uses'] > 1 else ''}")
        print(f"Coupon {r['code']}: {amount(r['credits'], r['pool'])}" + (f" ({', '.join(limits)})" if limits else ""))


@coupon_app.command("redeem")
def coupon_redeem(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(metavar="CODE", help="Case, spaces and hyphens do not matter.")],
    json: JsonOption = False,
):
    """Redeem a coupon: its credits are added at once (one redemption per workspace)."""
    from .. import simulate

    with failures(json):
        r = simulate.coupon_redeem(ctx.obj, code)
        _notices(ctx)
        if json:
            emit_json(_credits(r, "credits", "available"))
            return
        print(f"Redeemed {r['code']}: {amount(r['credits'], r['pool'])} added"
              + (f", valid until {when(r['expires_at'])}" if r["expires_at"] else "")
              + f"; {amount(r['available'], r['pool'])} available")


@coupon_app.command("list")
def coupon_list(ctx: typer.Context, json: JsonOption = False):
    """Every coupon: value, pool, expiry, uses."""
    from .. import simulate

    with failures(json):
        rows = [_credits(r, "credits") for r in simulate.coupon_list(ctx.obj)]
        if json:
            emit_json(rows)
            return
        if not rows:
            print("No coupons.")
        for r in rows:
            uses = f"{r['used']} of {r['uses']}" if r["uses"] else f"{r['used']} of unlimited"
            print(f"{r['code']}  {fmt(r['credits'].milli)} {r['pool']}  used {uses}"
                  + (f"  expires {when(r['expires_at'])}" if r["expires_at"] else "")
                  + ("  (redeemed here)" if r["redeemed_here"] else ""))


@share_app.command("submit")
def share_submit(
    ctx: typer.Context,
    platform: Annotated[Optional[str], typer.Option("--platform", metavar="linkedin|x")] = None,
    url: Annotated[Optional[str], typer.Option("--url", metavar="URL", help="The post's address.")] = None,
    followers: Annotated[Optional[str], typer.Option("--followers", metavar="N")] = None,
    json: JsonOption = False,
):
    """Submit a post for the share-to-earn bonus (credited once approved)."""
    from .. import simulate

    with failures(json):
        r = simulate.share_submit(ctx.obj, platform, url, followers)
        _notices(ctx)
        if json:
            emit_json(_credits(r, "credits"))
            return
        print(f"Share {r['id']} submitted: {amount(r['credits'], 'message')} once it is approved"
              f" (credits share approve {r['id']}).")


@share_app.command("approve")
def share_approve(ctx: typer.Context, share: ShareId = None, json: JsonOption = False):
    """Approve a pending share: its bonus is credited."""
    _decide(ctx, share, True, json)


@share_app.command("reject")
def share_reject(ctx: typer.Context, share: ShareId = None, json: JsonOption = False):
    """Reject a pending share (another may be submitted)."""
    _decide(ctx, share, False, json)


@share_app.command("status")
def share_status(ctx: typer.Context, json: JsonOption = False):
    """Every share submitted and its state."""
    from .. import simulate

    with failures(json):
        rows = simulate.share_status(ctx.obj)
        if json:
            emit_json(rows)
            return
        if not rows:
            print("No share submitted yet: credits share submit --platform linkedin|x --url URL --followers N")
        for r in rows:
            print(f"share {r['id']}  {r['status']}  {r['platform']}  {r['followers']:,} followers  {r['url']}")


@clock_app.callback()
def clock_show(ctx: typer.Context, json: JsonOption = False):
    """Show the clock (subcommands: set ISO, advance DURATION, real)."""
    if ctx.invoked_subcommand is not None:
        return
    from .. import simulate

    with failures(json):
        _print_clock(simulate.clock(ctx.obj, "show"), json)


@clock_app.command("set")
def clock_set(ctx: typer.Context, instant: Annotated[str, typer.Argument(metavar="INSTANT")],
              json: JsonOption = False):
    """Run this workspace on a simulated clock set to INSTANT."""
    from .. import simulate

    with failures(json):
        _print_clock(simulate.clock(ctx.obj, "set", instant), json)


@clock_app.command("advance")
def clock_advance(ctx: typer.Context, duration: Annotated[str, typer.Argument(metavar="DURATION",
                                                                               help="3d, 12h, 2w, 1mo, 2d6h ...")],
                  json: JsonOption = False):
    """Move the simulated clock forward (from the real time if none is set)."""
    from .. import simulate

    with failures(json):
        _print_clock(simulate.clock(ctx.obj, "advance", duration), json)


@clock_app.command("real")
def clock_real(ctx: typer.Context, json: JsonOption = False):
    """Go back to the real clock."""
    from .. import simulate

    with failures(json):
        _print_clock(simulate.clock(ctx.obj, "real"), json)


@app.command()
def reset(ctx: typer.Context,
          advance: Annotated[bool, typer.Option("--advance", help="Move the simulated clock to the reset.")] = False,
          json: JsonOption = False):
    """Simulate the next reset: when, what expires in each pool, what is granted, the balance after."""
    from .. import simulate

    with failures(json):
        r = simulate.reset(ctx.obj, advance)
        _notices(ctx)
        if json:
            emit_json({**r, "pools": {p: {
                "expires": [_credits(e, "left") for e in v["expires"]],
                "lost": Credits(v["lost"]), "granted": Credits(v["granted"]),
                "available_after": Credits(v["available_after"])} for p, v in r["pools"].items()}})
            return
        print(f"Next reset: {when(r['at'])} ({iso(r['at'])}), on the {r['plan_after']} plan.")
        for pool, v in r["pools"].items():
            lost = f"{fmt(v['lost'])} expire unused" if v["lost"] else "nothing expires"
            print(f"  {pool:<12} {lost}; {fmt(v['granted'])} granted; {fmt(v['available_after'])} available after")
        if advance:
            print(f"The workspace's clock is now {iso(r['at'])} (credits clock real to go back).")


@app.command()
def topup(ctx: typer.Context, pool: PoolOption = None,
          packs: Annotated[Optional[str], typer.Option("--packs", metavar="N",
                                                       help="Packs of 50 message or 1,000 integration credits (1-8).")] = None,
          json: JsonOption = False, quiet: QuietOption = False):
    """Buy top-up packs (paid plans): valid a year, used after every other credit."""
    from .. import simulate

    with failures(json):
        refuse_quiet_json(quiet, json)
        r = simulate.topup(ctx.obj, pool, packs)
        if quiet:
            return
        _notices(ctx)
        if json:
            emit_json(_credits(r, "credits"))
            return
        print(f"Topped up {amount(r['credits'], r['pool'])} ({r['packs']} pack{'s' if r['packs'] > 1 else ''}),"
              f" valid until {when(r['expires_at'])}.")


@app.command()
def grant(ctx: typer.Context, pool: PoolOption = None, credits: CreditsOption = None, expires: ExpiresOption = None,
          reason: Annotated[Optional[str], typer.Option("--reason", metavar="TEXT", help="Why (required).")] = None,
          kind: KindOption = "promo", json: JsonOption = False):
    """Add a promotional grant (any amount) or a referral grant (the catalog's, at most 5)."""
    from .. import simulate

    with failures(json):
        r = simulate.add_grant(ctx.obj, pool, credits, expires, reason, kind)
        _notices(ctx)
        if json:
            emit_json(_credits(r, "credits"))
            return
        print(f"Granted {amount(r['credits'], r['pool'])} ({r['source']}: {r['reason']})"
              + (f", until {when(r['expires_at'])}" if r["expires_at"] else "") + f"; grant {r['grant']}"
              + (f" (referral {r['referrals']} of {r['referral_max']})" if "referrals" in r else "") + ".")


@app.command()
def grants(ctx: typer.Context, json: JsonOption = False):
    """Every grant: source, amount, what is left (or was lost at expiry), expiry."""
    from .. import simulate

    with failures(json):
        rows = [_credits(r, "credits", "used", "left", "lost") for r in simulate.list_grants(ctx.obj)]
        _notices(ctx)
        if json:
            emit_json(rows)
            return
        from ..render import human

        human.grants(rows)


@app.command()
def void(ctx: typer.Context, event: Annotated[str, typer.Argument(metavar="ID")],
         reason: Annotated[Optional[str], typer.Option("--reason", metavar="TEXT")] = None,
         json: JsonOption = False):
    """Cancel a mistaken log with a correcting entry; the grants it drew from get their credits back."""
    from .. import simulate

    with failures(json):
        r = simulate.void(ctx.obj, event, reason)
        if json:
            emit_json(_credits(r, "credits", "restored", "expired"))
            return
        print(f"Event {r['voids']} voided by event {r['id']}: {amount(r['restored'], r['pool'])} restored"
              + (f" ({fmt(r['expired'])} had expired since and stay spent)" if r["expired"] else "") + ".")


@app.command()
def notifications(ctx: typer.Context, json: JsonOption = False):
    """The local outbox (the owner's "emails"), oldest first."""
    from .. import simulate

    with failures(json):
        rows = simulate.notifications(ctx.obj)
        _notices(ctx)
        if json:
            emit_json(rows)
            return
        if not rows:
            print("No notifications.")
        for r in rows:
            print(f"{when(r['at'])}  [{r['kind']}] {r['message']}")



def _decide(ctx, share, approve: bool, json: bool) -> None:
    from .. import simulate

    with failures(json):
        r = simulate.share_decide(ctx.obj, share, approve)
        _notices(ctx)
        if json:
            emit_json(_credits(r, "credits"))
            return
        print(f"Share {r['id']} approved: {amount(r['credits'], 'message')} added (they do not expire)."
              if approve else f"Share {r['id']} rejected.")


def _print_clock(r: dict, json: bool) -> None:
    if json:
        emit_json(r)
        return
    if r["overridden"]:
        kept = f"; the simulated clock ({iso(r['simulated_at'])}) applies without it" if r["simulated"] else ""
        print(f"--now / CREDITS_NOW is set: commands run at {iso(r['now'])}{kept}.")
    elif r["simulated"]:
        print(f"Simulated clock: {iso(r['now'])} (credits clock real to go back).")
    else:
        print(f"Real clock: {iso(r['now'])}.")
