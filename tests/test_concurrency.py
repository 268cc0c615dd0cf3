"""Many processes logging at once against one pool: never overdrawn, nothing lost."""

import json
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

NOW = "2026-02-01T00:00:00Z"
# CI: 8 processes x 20 calls of 1 credit against the free plan's 100.
# CREDITS_RELIABILITY_SCALE=10: issue 6's full size, 16 x 200 against the starter plan's 2,000.
FULL = int(os.environ.get("CREDITS_RELIABILITY_SCALE", "1")) >= 10
PROCESSES, CALLS_EACH, PLAN, AFFORDABLE = (16, 200, "starter", 2000) if FULL else (8, 20, "free", 100)


def run(db, *args):
    env = {**os.environ, "CREDITS_DB": str(db), "CREDITS_NOW": NOW, "NO_COLOR": "1"}
    env.pop("CREDITS_WORKSPACE", None)
    env.pop("CREDITS_CATALOG", None)
    return subprocess.run([sys.executable, "-m", "credits_cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.slow
@pytest.mark.reliability
def test_eight_processes_log_at_once_and_exactly_the_affordable_number_succeed(tmp_path):
    db = tmp_path / "credits.db"
    assert run(db, "init", "--plan", PLAN, "--start", "2026-01-15T00:00:00Z").returncode == 0

    seen_balances = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            r = run(db, "balance", "--json")
            assert r.returncode == 0, r.stderr
            seen_balances.append(json.loads(r.stdout, parse_float=Decimal)["integration"])

    def worker(w):
        results = []
        for i in range(CALLS_EACH):
            r = run(db, "log", "GenerateImage", "--key", f"w{w}-{i}", "--json")
            results.append((f"w{w}-{i}", r.returncode, r.stdout, r.stderr))
        return results

    poller = threading.Thread(target=reader)
    poller.start()
    try:
        with ThreadPoolExecutor(PROCESSES) as pool:
            results = [r for batch in pool.map(worker, range(PROCESSES)) for r in batch]
    finally:
        stop.set()
        poller.join()

    codes = [code for _, code, _, _ in results]
    assert codes.count(0) == AFFORDABLE
    assert codes.count(3) == PROCESSES * CALLS_EACH - AFFORDABLE
    assert not any("locked" in err for _, _, _, err in results)
    assert all("not enough integration credits" in err for _, code, _, err in results if code == 3)

    # nothing lost, nothing doubled: every acknowledged key is in the ledger once, and only those
    import sqlite3

    conn = sqlite3.connect(db)
    keys = {k for (k,) in conn.execute("SELECT key FROM events")}
    total = conn.execute("SELECT sum(credits_milli) FROM events").fetchone()[0]
    conn.close()
    assert keys == {k for k, code, _, _ in results if code == 0}
    assert total == AFFORDABLE * 1000

    final = json.loads(run(db, "balance", "--json").stdout, parse_float=Decimal)["integration"]
    assert final["available"] == 0 and final["used"] == AFFORDABLE
    assert seen_balances, "the reader never got a balance"
    for b in seen_balances:
        assert b["available"] >= 0
        assert b["used"] + b["available"] == AFFORDABLE
    check = run(db, "check")
    assert check.returncode == 0, check.stderr  # every balance recomputed from the entries agrees
