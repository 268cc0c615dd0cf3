"""Foresight commands, one module a group: forecast, estimate, advise, status and watch (forecast);
budget; alert. Assembled here in the order the help lists them: the commands, then the groups."""

from __future__ import annotations

import typer

from . import alert, budget, forecast

app = typer.Typer()
app.add_typer(forecast.app)  # forecast, estimate, advise, status, watch
app.add_typer(budget.app, name="budget")
app.add_typer(alert.app, name="alert")
