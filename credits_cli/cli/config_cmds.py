"""`credits config`: the settings in force and where each came from."""

from __future__ import annotations

import typer

from .common import JsonOption, respond

app = typer.Typer()


@app.command()
def config(ctx: typer.Context, json: JsonOption = False):
    """The settings in force (ledger, workspace, catalog, time zone) and where each came from."""
    from ..config import in_force

    respond(ctx, json, lambda s: in_force(s.settings), _config_text)


_SHOWN_DEFAULT = {"catalog": "built-in", "timezone": "each workspace's own"}


def _config_text(settings) -> None:
    from .spec import GLOBALS

    envvar = {p.name: p.envvar for p in GLOBALS}
    rows = [("setting", "value", "from")]
    for name in ("db", "workspace", "catalog", "timezone"):
        s = getattr(settings, name)
        source = {"option": f"--{name}", "env": envvar.get(name), "file": "the file"}.get(s.from_, s.from_)
        rows.append((name, s.value if s.value is not None else _SHOWN_DEFAULT[name], source))
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    for name, value, source in rows:
        print(f"{name:<{widths[0]}}  {value:<{widths[1]}}  {source}")
    f = settings.file
    named = " (CREDITS_CONFIG)" if f.from_ == "env" else ""
    print(f"file: {f.value}{named}{'' if f.exists else ', none there'}")
