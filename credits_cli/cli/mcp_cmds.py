"""`credits mcp`: the ledger's tools for an AI assistant, over the Model Context Protocol."""

from __future__ import annotations

import typer

from .common import failures

app = typer.Typer()


@app.command()
def mcp(ctx: typer.Context):
    """Serve the ledger to an AI assistant: a Model Context Protocol server on stdin and stdout.

    Tools: balance, status, forecast, estimate, apps, daily, events and log (only a quote unless
    dry_run is false), each answering the JSON its command prints with --json.
    Each call opens the ledger afresh. Needs the mcp extra: pip install 'credits-cli\\[mcp]'.
    """
    from . import mcpserver  # the SDK is imported by this command only

    with failures():
        mcpserver.serve(ctx.obj)
