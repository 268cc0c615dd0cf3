"""`credits export` and `credits import`."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from ..domain.money import fmt
from ..render.jsonout import Credits
from . import spec
from .common import JsonOption, QuietOption, emit_json, failures, from_spec, refuse_quiet_json

app = typer.Typer()

_FORMAT = Annotated[str, typer.Option("--format", metavar="csv|json|jsonl|journal|xlsx",
                                      help="The file format (journal: for hledger; xlsx: a workbook"
                                           " of typed cells for spreadsheets).")]
_OUTPUT = Annotated[Optional[str], typer.Option("--output", "-o", metavar="FILE",
                                                help="Write to FILE (default: stdout).")]
_BOM = Annotated[bool, typer.Option("--bom", help="Start a CSV with a UTF-8 byte-order mark, so that"
                                                  " spreadsheets read its text as UTF-8.")]


@app.command()
@from_spec(*spec.FILTERS, format=(_FORMAT, "csv"), output=(_OUTPUT, None), bom=(_BOM, False))
def export(ctx: typer.Context, format="csv", output=None, bom=False, **filters):
    """Write every event (oldest first) as CSV, a JSON array, JSON lines, an hledger journal or xlsx, streaming."""
    from .. import transfer

    with failures():
        n = transfer.export(ctx.obj, format, output, bom=bom, **filters)
        if output not in (None, "-"):
            print(f"credits: wrote {n:,} events to {output}", file=sys.stderr)


@app.command(name="import")
def import_(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(metavar="FILE", help="A CSV, JSON lines or xlsx file as export writes"
                                                              " it; - reads stdin.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and count; import nothing.")] = False,
    json: JsonOption = False,
    quiet: QuietOption = False,
):
    """Import events from CSV, JSON lines or xlsx: all rows or none; rows already in the ledger are skipped."""
    from .. import importer

    with failures(json):
        refuse_quiet_json(quiet, json)
        progress = _progress_bar() if sys.stderr.isatty() and not json and not quiet else None
        try:
            r = importer.import_file(ctx.obj, file, dry_run=dry_run, progress=progress)
        finally:
            if progress is not None:
                progress.close()
        if quiet:
            return
        if json:
            emit_json({"rows": r.rows, "added": r.added, "skipped": r.skipped, "dry_run": r.dry_run,
                       "credits": {p: Credits(v) for p, v in r.credits.items()}})
            return
        verb = "would add" if dry_run else "added"
        spent = ", ".join(f"{fmt(v)} {p}" for p, v in r.credits.items() if v) or "no credits"

        def n(k, word):
            return f"{k:,} {word}{'' if k == 1 else 's'}"

        print(f"{n(r.rows, 'row')} read: {verb} {n(r.added, 'event')} ({spent}),"
              f" {r.skipped:,} already in the ledger")


class _progress_bar:
    """A rich progress bar on stderr, shown only for large files."""

    def __init__(self):
        self.bar = None
        self.task = None

    def __call__(self, done: int, total: int) -> None:
        if total < 20_000:
            return
        if self.bar is None:
            from rich.console import Console
            from rich.progress import Progress

            self.bar = Progress(console=Console(stderr=True), transient=True)
            self.bar.start()
            self.task = self.bar.add_task("importing", total=total)
        self.bar.update(self.task, completed=done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
