"""Simulation commands, one module a group: plan, coupon, share, the clock and the next reset (clock),
top-ups, grants, voids and the outbox (grants). Assembled here in the order the help lists them: the
commands, then the groups."""

from __future__ import annotations

import typer

from . import clock, coupon, grants, plan, share

app = typer.Typer()
app.add_typer(clock.app)  # reset
app.add_typer(grants.app)  # topup, grant, grants, void, notifications
app.add_typer(plan.app, name="plan")
app.add_typer(coupon.app, name="coupon")
app.add_typer(share.app, name="share")
app.add_typer(clock.clock_app, name="clock")
