"""Export: the whole ledger of events, out to CSV, JSON, JSON lines, an hledger journal or an
xlsx workbook, streamed from a cursor in batches.

Import (the way back) is in `importer`.
"""

from __future__ import annotations

import codecs
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .domain.money import shown
from .errors import BadInput
from .reports import scope
from .services import Session
from .store import queries

FORMATS = ("csv", "json", "jsonl", "journal", "xlsx")


# --- export -------------------------------------------------------------------------


def export(session: Session, fmt: str, output: str | None, *, bom: bool = False, **filters) -> int:
    """Write the events to `output` (a path; None or "-": stdout); the number written.

    `bom` starts a CSV with a UTF-8 byte-order mark, which makes a spreadsheet read it as UTF-8.
    """
    fmt = (fmt or "csv").strip().lower()
    if fmt not in FORMATS:
        raise BadInput("format", f"{shown(fmt)} is not one of {', '.join(FORMATS)}")
    if bom and fmt != "csv":
        raise BadInput("bom", lambda n: f"is for {n('format')} csv only, not {fmt}")
    output = None if output == "-" else output  # None: stdout
    to_stdout = output is None
    if fmt == "xlsx" and to_stdout and sys.stdout.isatty():
        raise BadInput("output", lambda n: f"an xlsx workbook is binary: give {n('output')} FILE (or redirect stdout)")
    sc = scope(session, default_span="all", **filters)
    batches = session.store.export_batches(sc.workspace_id, sc.filter)

    def write(out) -> int:
        if bom:
            out.write(codecs.BOM_UTF8.decode("utf-8"))
        if fmt == "xlsx":
            from .render.xlsx import write_xlsx

            return write_xlsx(batches, out, queries.shape_fields, sc.zone)
        if fmt == "journal":
            from .render.journal import write_journal

            return write_journal(
                batches,
                out,
                queries.shape_fields,
                workspace=sc.workspace,
                zone=sc.zone,
                selection=_selection(sc.filter),
            )
        from .render.output import write_events

        return write_events(batches, fmt, out, queries.shape_fields)

    if to_stdout and fmt == "xlsx":  # a zip file is written seekable, then copied to stdout
        with tempfile.TemporaryFile() as tmp:
            n = write(tmp)
            tmp.seek(0)
            sys.stdout.flush()
            shutil.copyfileobj(tmp, sys.stdout.buffer)
            sys.stdout.buffer.flush()
        return n
    if output is None:
        return write(sys.stdout)
    with (
        whole_file(session, output, "export") as (path, part),
        open(part, "wb") if fmt == "xlsx" else open(part, "w", encoding="utf-8", newline="") as out,
    ):
        n = write(out)  # the file is closed before it replaces the old one
    _remember(session, sc, path, fmt, n)
    return n


@contextmanager
def whole_file(session: Session, output: str, what: str) -> Iterator[tuple[Path, Path]]:
    """The file `output` (--output) written whole or not at all: refused when it is a directory or the ledger
    itself; the block writes the part file it is given (path, part), which then replaces the file. A failure
    to write is bad input naming --output, and leaves nothing behind."""
    path = Path(output).expanduser()
    if path.is_dir():
        raise BadInput("output", f"{str(path)!r} is a directory")
    if session.store.is_ledger_file(path):
        raise BadInput("output", f"{str(path)!r} is the ledger itself; write the {what} elsewhere")
    part = path.with_name(path.name + ".part")
    try:
        yield path, part
        os.replace(part, path)
    except OSError as e:
        raise BadInput("output", f"cannot write {str(path)!r}: {e.strerror}") from None
    finally:
        if part.exists():
            part.unlink()


def _remember(session: Session, sc, path: Path, fmt: str, n: int) -> None:
    """Note where this copy of the ledger went (`credits doctor` points a damaged ledger's owner to it)."""
    f = sc.filter
    whole = all(getattr(f, k) is None for k in ("pool", "app", "member", "action", "since", "until"))
    with session.store.write():
        session.store.record_export(sc.workspace_id, str(path.resolve()), fmt, sc.now, n, path.stat().st_size, whole)


def _selection(f) -> str:
    """The events an export holds, in words: 'every event' or 'events of pool integration, app ...'."""
    from .domain.cycles import iso

    parts = [f"{k} {getattr(f, k)!r}" for k in ("pool", "app", "member", "action") if getattr(f, k) is not None]
    if f.since is not None:
        parts.append(f"from {iso(f.since)}")
    if f.until is not None:
        parts.append(f"until {iso(f.until)} (excluded)")
    return "events " + ", ".join(parts) if parts else "every event"
