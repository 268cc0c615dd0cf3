"""Export: the whole ledger of events, out to CSV, JSON or JSON lines, streamed from a cursor in
batches.

Import (the way back) is in `importer`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .domain.money import shown
from .errors import BadInput
from .reports import scope
from .services import Session
from .store import queries

FORMATS = ("csv", "json", "jsonl")


# --- export -------------------------------------------------------------------------

def export(session: Session, fmt: str, output: str | None, **filters) -> int:
    fmt = (fmt or "csv").strip().lower()
    if fmt not in FORMATS:
        raise BadInput("--format", f"{shown(fmt)} is not one of {', '.join(FORMATS)}")
    sc = scope(session, default_span="all", **filters)
    batches = queries.export_batches(session.conn, sc.workspace_id, sc.filter)

    def write(out) -> int:
        from .render.output import write_events

        return write_events(batches, fmt, out, queries.shape_fields)

    if output is None or output == "-":
        return write(sys.stdout)
    path = Path(output).expanduser()
    if path.is_dir():
        raise BadInput("--output", f"{str(path)!r} is a directory")
    ledger = Path(session.conn.execute("PRAGMA database_list").fetchone()[2]).resolve()
    if path.resolve() in (ledger, Path(str(ledger) + "-wal"), Path(str(ledger) + "-shm")):
        raise BadInput("--output", f"{str(path)!r} is the ledger itself; write the export elsewhere")
    tmp = path.with_name(path.name + ".part")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as out:
            n = write(out)
        os.replace(tmp, path)
    except OSError as e:
        raise BadInput("--output", f"cannot write {str(path)!r}: {e.strerror}") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return n

