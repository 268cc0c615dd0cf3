"""`credits report`: the HTML report, one self-contained file to share."""

from __future__ import annotations

from typing import Annotated

import typer

from ..records import replace
from . import spec
from .common import failures, from_spec, notices, say

app = typer.Typer()

_FILTER = {p.name: p for p in spec.FILTERS}
_REPORT = (
    replace(
        spec.OUTPUT_FILE,
        help="Write to FILE (default: credits-report-YYYY-MM-DD.html here, dated today in the report's zone;"
        " - writes on stdout).",
    ),
    replace(
        _FILTER["since"],
        help="Day by day and by app, member and action from this day or instant (default: the current cycle's start).",
    ),
    _FILTER["until"],
    spec.TIMEZONE,
)


@app.command()
@from_spec(
    *_REPORT,
    opening=(Annotated[bool, typer.Option("--open", help="Open it in the default browser.")], False),
)
def report(ctx: typer.Context, output=None, opening=False, **options):
    """One HTML page to share: both pools, daily charts, where credits went, cycles, forecast, grants, savings.

    Self-contained: it works offline (from a mail attachment), reads on a phone and in dark mode, prints on A4.
    Every figure on it is the one the matching command prints with --json for the same --now.
    """
    from .. import overview

    with failures():
        r = overview.report(ctx.obj, output, opening=opening, **options)
        notices(ctx.obj)
        if r.path is None:
            return
        say(f"wrote the report to {r.path}")
        if opening:
            import webbrowser

            if not webbrowser.open(r.path.resolve().as_uri()):
                say(f"could not open a browser; open {r.path} in one")
