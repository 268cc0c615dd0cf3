"""Export: the whole ledger of events, out to CSV, JSON, JSON lines or an hledger journal,
streamed from a cursor in batches.

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

FORMATS = ("csv", "json", "jsonl", "journal")


# --- export -------------------------------------------------------------------------

def export(session: Session, fmt: str, output: str | None, **filters) -> int:
    fmt = (fmt or "csv").strip().lower()
    if fmt not in FORMATS:
        raise BadInput("--format", f"{shown(fmt)} is not one of {', '.join(FORMATS)}")
    sc = scope(session, default_span="all", **filters)
    batches = queries.export_batches(session.conn, sc.workspace_id, sc.filter)

    def write(out) -> int:
        if fmt == "journal":
            from .render.journal import write_journal

            return write_journal(batches, out, queries.shape_fields, workspace=sc.workspace, zone=sc.zone,
                                 selection=_selection(sc.filter))
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


def _selection(f) -> str:
    """The events an export holds, in words: 'every event' or 'events of pool integration, app ...'."""
    from .domain.cycles import iso

    parts = [f"{k} {getattr(f, k)!r}" for k in ("pool", "app", "member", "action") if getattr(f, k) is not None]
    if f.since is not None:
        parts.append(f"from {iso(f.since)}")
    if f.until is not None:
        parts.append(f"until {iso(f.until)} (excluded)")
    return "events " + ", ".join(parts) if parts else "every event"
