"""The body of `credits log`, shared by the typer command and the lean path (cli/fast.py).

Nothing here imports typer, click or rich: a shell script's `credits log`
pays only for what recording an event needs.
"""

from __future__ import annotations

import os
import sys
from decimal import Decimal

from ..errors import EXIT_BAD_INPUT, EXIT_NOT_ALLOWED, EXIT_OK, EXIT_REFUSED, BadInput, CreditsError
from .out import emit_json, error_json, failures, file_names, name_field, notices, say, usage
from .spec import BATCH_KEYS, BATCH_NAMES, LOG_NAMES

BATCH_CHUNK = 2000  # events a transaction in --batch (results are printed once it commits)


def run(session, p: dict) -> int:
    """Run `credits log` with its parsed parameters (spec.LOG's names); the exit code."""
    names = {**LOG_NAMES, **file_names(session)}
    if p["batch"]:
        with failures(False, names):
            return batch(session, p)
    with failures(p["json"], names):
        if p["quiet"] and p["json"]:
            raise BadInput("quiet", "cannot be used with --json")
        if p["action"] is None:
            raise BadInput("action", lambda n: f"is missing (or give {n('batch')} and events on stdin)")
        r = log_event(session, p, quiet=p["quiet"])
        if p["quiet"]:
            return EXIT_OK
        if p["json"]:
            emit_json(r)
            return EXIT_OK
        from ..domain.cycles import when
        from ..domain.money import amount

        b = r.balance
        left = f"{amount(b.available, b.pool)} available"
        if b.daily is not None and b.daily.left == b.available:
            left += f" today (daily cap; resets {when(b.daily.day.end, b.daily.zone)})"
        else:
            left += f" (resets {when(b.cycle.end)})"
        cost = f"{amount(r.quote.credits, r.quote.pool)} for {r.description}"
        if r.replayed:
            print(f"Already recorded as event {r.id}: {cost}; {left}")
        elif r.dry_run:
            print(f"Would charge {cost}; then {left}")
        else:
            print(f"Charged {cost} (event {r.id}); {left}")
    return EXIT_OK


def _request(p: dict):
    from .. import services

    return services.LogRequest(
        usage=usage(p),
        at=p["at"],
        key=p["key"],
        app=p["app"],
        member=p["member"],
        note=p["note"],
        dry_run=p["dry_run"],
        input=p["input"],
    )


def _log(session, p: dict, quiet: bool):
    from .. import services

    try:
        return services.log(session, _request(p))
    finally:
        notices(session, quiet)


def log_event(session, p: dict, quiet: bool = False):
    """Record one event (or quote it: `dry_run`) with log's parameters by name; its result, once the alerts
    it crossed are told (on stderr) and their commands run."""
    r = _log(session, p, quiet)
    _after(session, r)
    return r


def _after(session, r) -> None:
    """What follows a recorded event: the alerts it crossed, on stderr and to their commands."""
    if r.alerts:
        from ..foresight import run_alert_commands

        for a in r.alerts:
            say(a["message"])
        run_alert_commands(r.alerts, session.workspace_name, say)


# --- --batch ---------------------------------------------------------------------------------


def _reader():
    """A read(n) of stdin's bytes: its file descriptor when it has one (a test runner's stdin has not)."""
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, OSError, ValueError):
        return sys.stdin.buffer.read
    return lambda n: os.read(fd, n)


def _lines(read):
    """Complete lines of stdin as they arrive: (first line number, [lines]) per read.

    Reading the file descriptor directly (not through a buffer) means a script
    that writes one line and waits for its result gets it at once, while a file
    piped in arrives in large reads, many events to a transaction.
    """
    pending = b""
    n = 1
    while True:
        chunk = read(1 << 20)
        if not chunk:
            break
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for i in range(0, len(complete), BATCH_CHUNK):
            part = complete[i : i + BATCH_CHUNK]
            yield n, part
            n += len(part)
    if pending.strip():
        yield n, [pending]


class _Twice(ValueError):
    def __init__(self, key):
        super().__init__(key)
        self.key = key


def _once(pairs: list) -> dict:
    """A JSON object whose keys are all different ({"count": 3, "count": 4} is a mistake, not 4)."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen = set()
        for k, _ in pairs:
            if k in seen:
                raise _Twice(k)
            seen.add(k)
    return obj


def _params(raw: bytes, base: dict) -> dict:
    """One --batch line as log's parameters (its keys are the options' names)."""
    import json

    try:
        obj = json.loads(raw, parse_float=Decimal, object_pairs_hook=_once)
    except RecursionError:
        raise BadInput("", "not valid JSON (nested too deeply)") from None
    except _Twice as e:
        raise BadInput(e.key.encode("utf-8", "backslashreplace").decode(), "is given twice") from None
    except ValueError as e:
        raise BadInput("", f"not valid JSON ({getattr(e, 'msg', e)})") from None
    if not isinstance(obj, dict):
        raise BadInput("", 'is not a JSON object of log\'s options (e.g. {"action": "SendEmail"})')
    p = params_of(obj, BATCH_KEYS, base, "an option of credits log")
    if p["action"] is None:
        raise BadInput("action", "is missing")
    return p


def params_of(obj: dict, keys: dict, base: dict, what: str) -> dict:
    """A JSON object's members as a command's parameters by name (`base` holds each one's default): `keys`
    maps each key it may hold to its parameter (spec.Param), `what` says what a key is ("an option of
    credits log"). A flag takes true or false; any other parameter text or a number, taken as its decimal
    text (JSON's 1.50 read as a Decimal is "1.50", read as a float "1.5"). null is the parameter's default,
    as if the key were not there."""
    from ..services import NOT_UTF8

    p = dict(base)
    for k, v in obj.items():
        if NOT_UTF8.search(k) or isinstance(v, str) and k != "input" and NOT_UTF8.search(v):  # a lone \ud800 escape
            raise BadInput(k.encode("utf-8", "backslashreplace").decode(), "is not valid UTF-8 text")
        spec = keys.get(k)
        if spec is None:
            known = f"use: {', '.join(sorted(keys))}" if keys else "there are none"
            raise BadInput(k, f"is not {what} ({known})")
        if v is None:
            continue
        if spec.flag:
            if not isinstance(v, bool):
                raise BadInput(k, "must be true or false")
        else:
            if isinstance(v, bool) or not isinstance(v, (str, int, Decimal, float)):
                raise BadInput(k, f"must be text or a number, not {type(v).__name__}")
            v = str(v)
        p[spec.name] = v
    return p


def _one_event(p: dict) -> None:
    """--batch takes each event's parameters from stdin: refused when the command line gives any."""
    if any(p[s.name] != s.default for s in BATCH_KEYS.values()):
        raise BadInput("batch", "takes every event's options from stdin, not from the command line")
    if p["json"]:
        raise BadInput("json", lambda n: f"is implied by {n('batch')} (one JSON result a line)")


# The exit code of a batch whose lines failed in different ways: bad input first, then lines not allowed,
# then lines refused for credits.
_WORST = {EXIT_OK: 0, EXIT_REFUSED: 1, EXIT_NOT_ALLOWED: 2, EXIT_BAD_INPUT: 3}


def batch(session, p: dict) -> int:
    """`credits log --batch`: every line of stdin is one log, validated, priced and checked like one.

    Lines are written in transactions of up to BATCH_CHUNK events; each line's
    result is printed, one JSON object a line, once its transaction has
    committed: an "id" line is durable. A bad or refused line changes nothing
    and does not stop the others. Exit 0 when every line was recorded (or
    replayed), 3 when some were refused for credits, 4 when some were not allowed (a member's
    line naming another member), 2 when some were bad input.
    """
    from ..render.jsonout import data, dumps

    names = {**BATCH_NAMES, **file_names(session)}
    _one_event(p)
    base = {s.name: s.default for s in BATCH_KEYS.values()}
    worst = EXIT_OK
    out = sys.stdout
    for first, lines in _lines(_reader()):
        results, recorded = [], []
        with session.store.bulk():  # one transaction a chunk, reads shared by its events
            for n, raw in enumerate(lines, first):
                if not raw.strip():
                    continue
                try:
                    r = _log(session, _params(raw, base), quiet=p["quiet"])
                except CreditsError as e:
                    worst = max(worst, e.exit_code if e.exit_code in _WORST else EXIT_BAD_INPUT, key=_WORST.__getitem__)
                    results.append({"line": n, **error_json(name_field(e, names))})
                    continue
                results.append({"line": n, **data(r)})
                recorded.append(r)
        if not p["quiet"]:
            out.write("".join(dumps(x, indent=None) + "\n" for x in results))
            out.flush()
        for r in recorded:
            _after(session, r)
    return worst
