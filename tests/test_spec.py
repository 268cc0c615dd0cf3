"""Every copy of `log`'s parameters reads cli/spec.py by name: the order of its tables means nothing."""

import json
import os
import subprocess
import sys

import pytest

NOW = "2026-02-10T00:00:00Z"

# Runs `credits` with spec.USAGE (and LOG, which starts with it) reversed before anything reads them.
PERMUTED = """
import sys
from credits_cli.cli import spec
n = len(spec.USAGE)
assert spec.LOG[:n] == spec.USAGE
spec.USAGE = tuple(reversed(spec.USAGE))
spec.LOG = spec.USAGE + spec.LOG[n:]
spec.BATCH_KEYS = dict(reversed(spec.BATCH_KEYS.items()))
from credits_cli.cli import main
sys.argv = ["credits", *sys.argv[1:]]
main()
"""

CALLS = [
    ["log", "GenerateVideo", "--seconds", "3", "--dry-run", "--json"],  # the lean path
    ["log", "GenerateSpeech", "--chars", "700", "--count", "2", "--dry-run", "--json"],
    ["log", "message", "--scope", "feature", "--app", "crm", "--dry-run", "--json", "--note", "--"],  # typer's
    ["log", "SendEmail", "--custom-domain", "--credits", "1.5", "--dry-run", "--json"],
    ["log", "invokeLLM", "--model", "gpt-5", "--dry-run", "--json"],
    ["log", "GenerateVideo", "--chars", "3", "--json"],
    ["estimate", "GenerateVideo", "--seconds", "5", "--per-day", "2", "--json"],
    ["estimate", "GenerateSpeech", "--chars", "1000", "--users", "3", "--per-user", "2", "--json"],
    ["estimate", "SendEmail", "--custom-domain", "--per-day", "4", "--json"],
    ["estimate", "automation", "--per-day", "1", "--json"],
]


def run(db, args, *, permuted):
    env = {**os.environ, "CREDITS_DB": str(db), "CREDITS_NOW": NOW}
    for var in ("CREDITS_WORKSPACE", "CREDITS_CATALOG"):
        env.pop(var, None)
    command = ["-c", PERMUTED] if permuted else ["-m", "credits_cli"]
    return subprocess.run([sys.executable, *command, *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def db(module_db):
    path = module_db("s")
    r = run(path, ["init", "--plan", "builder", "--start", "2026-02-01T00:00:00Z"], permuted=False)
    assert r.returncode == 0, r.stderr
    # One use written, so that the cycle's allowance grant exists: a dry run's `paid_by` then names it on
    # both engines (else each dry run would make it anew, and a server's sequence gives each another id).
    for use in (["SendEmail"], ["message", "--credits", "1"]):  # one a pool
        assert run(path, ["log", *use, "-q"], permuted=False).returncode == 0
    return path


@pytest.mark.parametrize("args", CALLS, ids=[" ".join(a[:3]) for a in CALLS])
def test_reordering_the_usage_table_changes_no_result(db, args):
    plain, permuted = run(db, args, permuted=False), run(db, args, permuted=True)
    assert (permuted.returncode, permuted.stdout, permuted.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert plain.stdout and "Traceback" not in plain.stderr
    if plain.returncode == 0:
        json.loads(plain.stdout)


def test_a_batch_line_reads_its_keys_by_name_in_any_order(db):
    line = json.dumps({"action": "GenerateSpeech", "chars": 700, "count": 2, "dry_run": True}) + "\n"
    results = []
    for permuted in (False, True):
        env = {**os.environ, "CREDITS_DB": str(db), "CREDITS_NOW": NOW}
        command = ["-c", PERMUTED] if permuted else ["-m", "credits_cli"]
        r = subprocess.run(
            [sys.executable, *command, "log", "--batch"],
            env=env,
            input=line,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 0, r.stderr
        results.append(json.loads(r.stdout))
    assert results[0] == results[1] and results[0]["quantity"] == 2 and results[0]["dry_run"] is True
