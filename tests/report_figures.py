"""The figures of `credits report`'s page, and their check against the JSON of the commands that print them.

Each figure the page shows is an element with `data-cmd` (the command, as typed after `credits`), `data-key`
(the value's key in that command's JSON: `message.available`, `0.credits`) and `data-value` (the value as that
JSON writes it); its text is what a person reads. The tests read them from the HTML (`figures_of`) or from the
DOM of a browser that shows the page, and `check_figures` runs each command with --json and compares.
"""

from __future__ import annotations

import functools
import re
import shlex
from decimal import Decimal
from html.parser import HTMLParser

import typer

from credits_cli.cli.app import app

# a figure: (command, key, value as its JSON writes it, the text shown)
Figure = tuple[str, str, str, str]


class _Figures(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[list[str]] = []
        self.open: list[tuple[str, list[str] | None]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        figure = [a["data-cmd"], a["data-key"], a["data-value"], ""] if "data-cmd" in a else None
        if figure is not None:
            self.found.append(figure)
        if tag not in ("br", "meta", "input", "img"):
            self.open.append((tag, figure))

    def handle_endtag(self, tag):
        while self.open:
            if self.open.pop()[0] == tag:
                break

    def handle_data(self, data):
        for _, figure in self.open:
            if figure is not None:
                figure[3] += data


def figures_of(page: str) -> list[Figure]:
    parser = _Figures()
    parser.feed(page)
    return [(c, k, v, t) for c, k, v, t in parser.found]


def _at(data, key: str):
    for part in key.split("."):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


def _as_json(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_NUMBER = re.compile(r"[$]?(-?[0-9][0-9,]*(?:\.[0-9]+)?)%?(?: lost)?")


def _shown_instant(iso: str, zone: str) -> str:
    """How the page shows an ISO UTC instant in a UTC report (seconds only when not zero)."""
    assert zone == "UTC", "the instants' text is checked on reports in UTC"
    return f"{iso[:10]} {iso[11:19] if iso[17:19] != '00' else iso[11:16]} UTC"


@functools.cache
def commands() -> frozenset[str]:
    return frozenset(c.name for c in typer.main.get_command(app).commands.values())


def check_figures(cli, figures: list[Figure], now: str, zone: str = "UTC", answers: dict | None = None) -> set[str]:
    """Every figure equals the value at its key in its command's JSON (run with --json at `now`; `answers`
    keeps them for another check of the same ledger at the same instant), and its text shows it: a number as
    its digits (a thousands comma, a % or $ aside), an instant in the report's zone. The commands checked."""
    answers = {} if answers is None else answers
    checked = set()
    for cmd, key, value, text in figures:
        words = shlex.split(cmd)
        if words[0] == "cycles" and "cycles" not in commands():
            continue  # checked by check_cycles until `credits cycles` exists
        if cmd not in answers:
            answers[cmd] = cli.json(*words, now=now)
        checked.add(cmd)
        expected = _at(answers[cmd], key)
        if isinstance(expected, Decimal | int) and not isinstance(expected, bool):
            assert Decimal(value) == expected, (cmd, key, value, expected)
            m = _NUMBER.fullmatch(text.strip())
            assert m and Decimal(m.group(1).replace(",", "")) == expected, (cmd, key, text, expected)
        else:
            assert value == _as_json(expected), (cmd, key, value, expected)
            if isinstance(expected, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT.*Z", expected):
                assert text.strip() == _shown_instant(expected, zone), (cmd, key, text, expected)
            elif isinstance(expected, str):
                assert text.strip() == expected, (cmd, key, text, expected)
    return checked


def check_cycles(cli, figures: list[Figure], now: str) -> int:
    """The cycles' rows (`cycles --pool POOL`) against the commands that exist on this branch: each cycle's use
    is `apps`' over it, its allowance the plan's grant for it (`grants`), the last one is the current cycle
    (`balance`). The number of rows checked."""
    rows: dict[tuple[str, int], dict[str, str]] = {}
    for cmd, key, value, _ in figures:
        if cmd.startswith("cycles "):
            index, field = key.split(".")
            rows.setdefault((cmd.split()[-1], int(index)), {})[field] = value
    if "cycles" in commands():  # the real command: check_figures compared them with it
        return len(rows)
    balance = cli.json("balance", now=now)
    grants = cli.json("grants", now=now)
    for (pool, _), row in sorted(rows.items()):
        used = cli.json("apps", "--pool", pool, "--since", row["start"], "--until", row["end"], now=now)
        assert Decimal(row["credits"]) == sum(r["credits"] for r in used), row
        assert int(row["events"]) == sum(r["events"] for r in used), row
        plan_credits = [
            g["credits"]
            for g in grants
            if g["pool"] == pool and g["source"] in ("allowance", "upgrade") and g["expires_at"] == row["end"]
        ]
        assert Decimal(row["allowance"]) == sum(plan_credits), (row, plan_credits)
        current = row["start"] == balance["cycle"]["start"]
        assert row.get("current", "false") == ("true" if current else "false"), row
        if current:
            assert row["plan"] == balance["plan"] and Decimal(row["credits"]) == balance[pool]["used"], row
    return len(rows)
