"""Long output through a pager, as git shows a long log.

What a command prints inside `paged()` is held, then written through the pager when stdout is a terminal
and the text is taller than it; otherwise (piped, short, or paging turned off) it is written as it is. The
pager is the command in CREDITS_PAGER, else in PAGER, else `less` (or `more`); either variable set to
nothing turns paging off, as `--no-pager` does. `less` gets LESS=FRX unless LESS is set (as git does):
colours pass through and the text stays on the screen after it quits.

While the text is held, stdout still says it is a terminal and rich measures the real one, so the text is
drawn exactly as it would have been without a pager.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager, suppress

_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")  # colours, links


def command() -> str | None:
    """The pager's command line, or None: paging is turned off, or there is no pager to run."""
    for name in ("CREDITS_PAGER", "PAGER"):
        value = os.environ.get(name)
        if value is not None:
            return value.strip() or None
    return next((p for p in ("less", "more") if shutil.which(p)), None)


class _Held(io.StringIO):
    """stdout while the text is held: a terminal of the real one's encoding, as far as what prints can tell."""

    def __init__(self, terminal) -> None:
        super().__init__()
        self._encoding = getattr(terminal, "encoding", None) or "utf-8"

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._encoding

    def isatty(self) -> bool:
        return True


def rows(text: str, width: int) -> int:
    """The terminal rows `text` takes at `width` columns (a long line wraps; a wide character takes two)."""
    total = 0
    for line in _ESCAPE.sub("", text).splitlines():
        cells = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)
        total += max(1, -(-cells // max(width, 1)))
    return total


@contextmanager
def paged(enabled: bool = True) -> Iterator[None]:
    """Hold what is printed inside, then page it if stdout is a terminal and it is taller than it. What goes
    to stderr meanwhile (a footnote) is held too and written after the text, once the pager has quit."""
    terminal, errors = sys.stdout, sys.stderr
    pager = command() if enabled and terminal.isatty() else None
    if pager is None:
        yield
        return
    held, held_errors = _Held(terminal), io.StringIO()
    sys.stdout, sys.stderr = held, held_errors
    try:
        yield
    except BaseException:  # what was printed before the failure is shown as it is, then the failure
        sys.stdout, sys.stderr = terminal, errors
        terminal.write(held.getvalue())
        errors.write(held_errors.getvalue())
        raise
    sys.stdout, sys.stderr = terminal, errors
    text = held.getvalue()
    size = shutil.get_terminal_size()
    # the prompt takes a row after the text: a text as tall as the terminal would push its first row out
    if rows(text, size.columns) < size.lines or not _through(pager, text, terminal):
        terminal.write(text)
        terminal.flush()
    errors.write(held_errors.getvalue())


def _through(pager: str, text: str, terminal) -> bool:
    """Show `text` through the pager; False when it could not be started (the text is then not shown)."""
    terminal.flush()
    env = {**os.environ}
    env.setdefault("LESS", "FRX")
    try:
        proc = subprocess.Popen(pager, shell=True, stdin=subprocess.PIPE, env=env)
    except OSError:
        return False
    assert proc.stdin is not None
    data = text.encode(getattr(terminal, "encoding", None) or "utf-8", "replace")
    for step in (lambda: proc.stdin.write(data), proc.stdin.close):
        with suppress(BrokenPipeError, KeyboardInterrupt):  # the reader quit before the end; Ctrl-C is the pager's
            step()
    while True:
        try:
            code = proc.wait()
            break
        except KeyboardInterrupt:  # the pager's to handle (less stops a search with it); wait for it to quit
            continue
    return code not in (126, 127)  # the shell found no such command, or could not run it
