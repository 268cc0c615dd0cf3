"""Long output through a pager (docs/guide.md, "Long output"): `events`, `grants`, `notifications` and a
group's `--help` go through PAGER when stdout is a terminal and the text is taller than it; never when piped,
nor with --no-pager or CREDITS_PAGER set to nothing. The terminal is a pseudo-terminal of a chosen size, the
pager a command that keeps what it was given in a file."""

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios

import pytest
from conftest import Cli

from credits_cli.render.pager import rows

NOW = "2026-03-02T10:00:00Z"


@pytest.fixture
def busy(new_db):
    """A ledger of 85 events, 12 grants and 8 notifications (alerts that fired)."""
    cli = Cli(new_db())
    assert cli("init", "--plan", "free", now=NOW).exit_code == 0
    for percent in range(10, 90, 10):
        assert cli("alert", "add", "--pool", "integration", "--at", f"{percent}%", now=NOW).exit_code == 0
    lines = "".join(f'{{"action": "SendEmail", "app": "app{i % 5}"}}\n' for i in range(85))
    assert cli("log", "--batch", "-q", input=lines, now=NOW).exit_code == 0
    for i in range(12):
        assert cli("grant", "--pool", "message", "--credits", "1", "--reason", f"gift {i}", now=NOW).exit_code == 0
    return cli


def on_terminal(cli, args, tmp_path, *, rows=20, columns=100, env=None):
    """`credits ARGS` with stdin, stdout and stderr on a pseudo-terminal of `rows` x `columns` and PAGER a
    command that writes what it reads to paged.txt: (what the terminal showed, what the pager got or None,
    the exit code)."""
    paged = tmp_path / "paged.txt"
    paged.unlink(missing_ok=True)
    full = {k: v for k, v in os.environ.items() if k not in ("LINES", "COLUMNS", "CREDITS_PAGER", "LESS")}
    full |= {"CREDITS_DB": str(cli.db), "CREDITS_NOW": NOW, "NO_COLOR": "1", "TERM": "xterm"}
    full |= {"PAGER": f"cat > '{paged}'", **(env or {})}
    full = {k: v for k, v in full.items() if v is not None}
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "credits_cli", *args], stdin=follower, stdout=follower, stderr=follower, env=full
    )
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 1 << 16)
        except OSError:  # EIO: every process holding the terminal has ended
            break
        if not chunk:
            break
        shown += chunk
    code = proc.wait()
    os.close(leader)
    return shown.decode().replace("\r\n", "\n"), (paged.read_text() if paged.exists() else None), code


def test_a_tall_history_goes_through_the_pager_and_a_short_one_does_not(busy, tmp_path):
    shown, paged, code = on_terminal(busy, ["events"], tmp_path)
    assert code == 0 and paged is not None
    assert paged.count("SendEmail") == 50 and "SendEmail" not in shown  # the whole table, in the pager only
    assert shown.strip() == "(the newest 50 of 85 events; --limit 0 shows all)"  # the footnote, after it
    shown, paged, code = on_terminal(busy, ["events", "--limit", "3"], tmp_path)
    assert code == 0 and paged is None
    assert shown.count("SendEmail") == 3 and shown.strip().endswith("(the newest 3 of 85 events; --limit 0 shows all)")


@pytest.mark.parametrize("args", [["grants"], ["notifications"], ["coupon", "--help"], ["--help"]])
def test_grants_notifications_and_a_group_s_help_go_through_it_when_tall(busy, tmp_path, args):
    shown, paged, code = on_terminal(busy, args, tmp_path, rows=6)
    assert code == 0 and paged and len(paged.splitlines()) >= 6, (shown, paged)
    assert shown.strip() == ""
    tall = on_terminal(busy, args, tmp_path, rows=200)
    assert tall[1] is None and tall[0].strip() == paged.strip()  # on a tall enough terminal: as it is


@pytest.mark.parametrize(
    "args, env",
    [
        (["events", "--no-pager"], {}),
        (["--no-pager", "events"], {}),
        (["--help", "--no-pager"], {}),
        (["coupon", "--help", "--no-pager"], {}),
        (["events"], {"CREDITS_PAGER": ""}),
        (["events"], {"PAGER": ""}),
    ],
)
def test_no_pager_and_an_empty_variable_turn_it_off(busy, tmp_path, args, env):
    shown, paged, code = on_terminal(busy, args, tmp_path, rows=6, env=env)
    assert code == 0 and paged is None
    assert "Usage:" in shown or shown.count("SendEmail") == 50


def test_credits_pager_names_the_pager_before_pager(busy, tmp_path):
    mine = tmp_path / "mine.txt"
    shown, paged, code = on_terminal(busy, ["grants"], tmp_path, rows=6, env={"CREDITS_PAGER": f"cat > '{mine}'"})
    assert code == 0 and paged is None and mine.read_text().count("gift") == 12


def test_a_pager_that_cannot_run_leaves_the_text_on_the_terminal(busy, tmp_path):
    shown, paged, code = on_terminal(busy, ["grants"], tmp_path, rows=6, env={"PAGER": "no-such-pager-here"})
    assert code == 0 and shown.count("gift") == 12


def test_piped_output_is_never_paged_and_unchanged(busy, tmp_path):
    paged = tmp_path / "paged.txt"
    env = {**os.environ, "CREDITS_DB": str(busy.db), "CREDITS_NOW": NOW, "PAGER": f"cat > '{paged}'", "LINES": "5"}
    for args in (["events"], ["grants"], ["notifications"], ["coupon", "--help"]):
        piped = subprocess.run([sys.executable, "-m", "credits_cli", *args], env=env, capture_output=True, text=True)
        unpaged = busy(*args, "--no-pager", now=NOW)
        assert piped.returncode == 0 and not paged.exists()
        assert piped.stdout == unpaged.stdout and piped.stdout.count("\n") > 5


def test_rows_counts_what_the_terminal_shows():
    assert rows("one\ntwo\n", 80) == 2
    assert rows("x" * 81, 80) == 2  # a long line wraps
    assert rows("\x1b[1mbold\x1b[0m", 4) == 1  # colours take no room
    assert rows("表" * 40, 80) == 1 and rows("表" * 41, 80) == 2  # a wide character takes two columns
    assert rows("\n", 80) == 1
