"""`credits export`, `credits import` and `credits copy`."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from ..domain.money import fmt
from . import spec
from .common import JsonOption, QuietOption, failures, from_spec, respond, say

app = typer.Typer()

_EXPORT = (
    spec.Param(
        "format",
        ("--format",),
        default="csv",
        metavar="csv|json|jsonl|journal|xlsx",
        help="The file format (journal: for hledger; xlsx: a workbook of typed cells for spreadsheets).",
    ),
    spec.OUTPUT_FILE,
    spec.Param(
        "bom",
        ("--bom",),
        flag=True,
        default=False,
        help="Start a CSV with a UTF-8 byte-order mark, so that spreadsheets read its text as UTF-8.",
    ),
)


@app.command()
@from_spec(*_EXPORT, *spec.FILTERS, spec.TIMEZONE)
def export(ctx: typer.Context, format="csv", output=None, bom=False, **filters):
    """Write every event (oldest first) as CSV, a JSON array, JSON lines, an hledger journal or xlsx, streaming."""
    from .. import transfer

    with failures():
        n = transfer.export(ctx.obj, format, output, bom=bom, **filters)
        if output not in (None, "-"):
            say(f"wrote {n:,} events to {output}")


@app.command(name="import")
def import_(
    ctx: typer.Context,
    file: Annotated[
        str, typer.Argument(metavar="FILE", help="A CSV, JSON lines or xlsx file as export writes it; - reads stdin.")
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and count; import nothing.")] = False,
    json: JsonOption = False,
    quiet: QuietOption = False,
):
    """Import events from CSV, JSON lines or xlsx: all rows or none; rows already in the ledger are skipped."""
    from .. import importer

    def run(s):
        progress = _progress_bar() if sys.stderr.isatty() and not json and not quiet else None
        try:
            return importer.import_file(s, file, dry_run=dry_run, progress=progress)
        finally:
            if progress is not None:
                progress.close()

    respond(ctx, json, run, _import_text, quiet=quiet)


def _import_text(r) -> None:
    def n(k, word):
        return f"{k:,} {word}{'' if k == 1 else 's'}"

    spent = ", ".join(f"{fmt(v)} {p}" for p, v in r.credits.items() if v) or "no credits"
    print(
        f"{n(r.rows, 'row')} read: {'would add' if r.dry_run else 'added'} {n(r.added, 'event')} ({spent}),"
        f" {r.skipped:,} already in the ledger"
    )


@app.command()
def copy(
    ctx: typer.Context,
    dest: Annotated[
        str,
        typer.Argument(
            metavar="DEST",
            help="The ledger to copy into: a file (created if new) or a postgresql:// URL.",
            show_default=False,
        ),
    ],
    json: JsonOption = False,
):
    """Copy the whole ledger (or --workspace's), every entry, into DEST: a file or a postgresql:// URL."""
    from .. import copying

    respond(ctx, json, lambda s: copying.copy(s, dest), _copy_text)  # JSON: the result's fields


def _copy_text(r) -> None:
    words = {"plan_changes": "plan change"}
    counts = ", ".join(
        f"{n:,} {words.get(t, t[:-1].replace('_', ' '))}{'' if n == 1 else 's'}"
        for t, n in r.entries.items()
        if n and t != "workspaces"
    )
    names = ", ".join(r.workspaces)
    ws = f"{len(r.workspaces)} workspace{'' if len(r.workspaces) == 1 else 's'} ({names})"
    how = "ids kept" if r.ids_kept else "renumbered (ids differ from the source's)"
    print(f"Copied {ws} to {r.dest}, {how}: {counts}")


class _progress_bar:
    """A rich progress bar on stderr, shown only for large files."""

    def __init__(self):
        self.bar = None
        self.task: Any = None  # rich's TaskID once the bar is shown

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
