"""`credits topup`, `grant`, `grants`, `void` and `notifications`: credits added, given back, and the outbox."""

from __future__ import annotations

from typing import Annotated

import typer

from ...domain.cycles import when
from ...domain.money import amount, fmt
from ..common import JsonOption, PoolOption, QuietOption, respond
from .shared import CreditsOption, ExpiresOption, use_cases

app = typer.Typer()


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
        lambda s: use_cases().topup(s, pool, packs),
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
        lambda s: use_cases().add_grant(s, pool, credits, expires, reason, kind),
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
    respond(ctx, json, use_cases().list_grants, _grants_text, page=True)


def _grants_text(grants: list) -> None:
    from ...render import human

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
        lambda s: use_cases().void(s, event, reason),
        lambda v: print(
            f"Event {v.voids} voided by event {v.id}: {amount(v.restored, v.pool)} restored"
            + (f" ({fmt(v.expired)} had expired since and stay spent)" if v.expired else "")
            + "."
        ),
    )


@app.command()
def notifications(ctx: typer.Context, json: JsonOption = False):
    """The local outbox (the owner's "emails"), oldest first."""
    respond(ctx, json, lambda s: use_cases().notifications(s), _notifications_text, page=True)


def _notifications_text(notes: list) -> None:
    if not notes:
        print("No notifications.")
    for n in notes:
        print(f"{when(n.at)}  [{n.kind}] {n.message}")
