"""Run every benchmark of the performance issue and print one table.

    python bench/run.py                 # 10k, 100k and 1M events (the 1M import takes minutes today)
    python bench/run.py --quick         # 10k and 100k only
    python bench/run.py --only log,reports --quick
    python bench/run.py --only pg --quick --pg postgresql://postgres@127.0.0.1:5432/postgres

Each row: benchmark | baseline | ours | ratio | target | met?. Every timing is a median, shown with
its number of runs (n=); the baseline is measured in the same run, interleaved with ours where
the runs are short. `credits` is whatever is installed beside this Python (the `credits` script
of its virtualenv, else `python -m credits_cli`): the script measures what is there, it does not
build anything. Every command runs with --now pinned (bench/generate.py's NOW), so the results do
not depend on the date, and with CREDITS_CATALOG set to the bench catalog (see generate.py).

Generated CSVs and built ledgers are cached in bench/.cache/ (ignored by git), keyed by the
generator, its seed and the catalog; `--fresh` rebuilds them. The import benchmark rebuilds the
ledger of its size and the cache keeps the result, so a run that measures the 1M import does
not import it twice.

The rows P1 to P8 measure the same on a PostgreSQL ledger (bench/pgserver.py: databases made for
the run and dropped after it, the largest ledger imported once a run and copied for each row
that writes to it); P8 puts many writers on one workspace of each engine.

Wall times come from time.perf_counter around one child process; peak memory is ru_maxrss of
that child from os.wait4 (KiB on Linux, shown in MB of 2^20 bytes).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import resource
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import generate as gen
import write_floor
from pgserver import PgServer

CACHE = HERE / ".cache"
WORK = CACHE / "work"
FLOOR = HERE / "floor.py"
MEASURE = HERE / "measure.py"
WRITE_FLOOR = HERE / "write_floor.py"
PG_FLOOR = HERE / "pg_floor.py"
SIZES = {"10k": 10_000, "100k": 100_000, "1M": 1_000_000}
REPORTS = ("balance", "apps", "daily", "weekly", "monthly", "cycles", "members", "forecast")
PG_GROUPS = ("pg-log", "pg-reports", "pg-import", "concurrent")
GROUPS = ("log", "batch", "reports", "import", "export", "journal") + REPORTS + PG_GROUPS + ("pg",)

# the targets of the issue
LOG_RATIO = 3.0
BATCH_RATE = 20_000
REPORT_RATIO = 1.5
IMPORT_RATE, IMPORT_RATIO = 150_000, 0.4
EXPORT_RATE, EXPORT_RSS_MB = 200_000, 80
RSS_MB = 60
PG_LOG_RATIO = 2.0


# --- measuring one child ----------------------------------------------------------------


@dataclass
class Run:
    wall: float  # seconds
    rss: int  # KiB, ru_maxrss of the child
    rc: int
    err: str
    timed_out: bool = False
    floor: int = 0  # KiB: bench/measure.py's own size; an RSS at or below it means "at most this"


def run(argv, *, env=None, stdin=None, stdout=None, timeout=None) -> Run:
    """Run one child to its end, through bench/measure.py: its wall time and its own peak RSS (os.wait4)."""
    with tempfile.NamedTemporaryFile(prefix="bench-err-") as err:
        req = {
            "argv": [str(a) for a in argv],
            "env": env,
            "stdin": str(stdin) if stdin else None,
            "stdout": str(stdout) if stdout else None,
            "stderr": err.name,
            "timeout": timeout,
        }
        p = subprocess.run(
            [sys.executable, "-S", "-I", str(MEASURE)],
            input=json.dumps(req),
            capture_output=True,
            text=True,
            check=False,
        )
        if p.returncode != 0:
            raise SystemExit(f"bench: bench/measure.py failed: {p.stderr.strip()[-500:]}")
        res = json.loads(p.stdout)
        text = Path(err.name).read_text(encoding="utf-8", errors="replace")
    return Run(res["wall"], res["maxrss_kib"], res["rc"], text, res["timed_out"], res["floor_kib"])


def remove_db(db: Path) -> None:
    """A database file and its WAL companions, gone."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)


def count_lines(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


def first_line(text: str) -> str:
    """The first telling line of stderr (a usage error's box and 'Usage:' lines skipped)."""
    for line in text.splitlines():
        line = line.strip(" │╭╮╰╯─\t")
        if line and not line.startswith(("Usage:", "Try '")) and line != "Error":
            return line[:100]
    return "(no stderr)"


def failed(r: Run, what: str = "") -> str:
    if r.timed_out:
        return f"n/a: {what}timed out after {r.wall:.0f} s"
    return f"n/a: exit {r.rc}: {first_line(r.err)}"


# --- formatting -------------------------------------------------------------------------


def t(s: float) -> str:
    return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s"


def rate(x: float) -> str:
    return f"{x:,.0f}/s"


def mb(kib: int) -> str:
    return f"{kib / 1024:.1f} MB"


def med(runs: list[Run]) -> float:
    return statistics.median(r.wall for r in runs)


def n(runs) -> str:
    return f" (n={len(runs)})"


def yes(ok: bool) -> str:
    return "yes" if ok else "NO"


@dataclass
class Row:
    group: int | str  # the row: 1 to 7 on SQLite, P1 to P8 on PostgreSQL
    name: str
    baseline: str = "—"
    ours: str = "—"
    ratio: str = "—"
    target: str = "—"
    met: str = "—"


@dataclass
class Rss:
    name: str
    ours: int | None  # KiB, the largest of its runs
    baseline: int | None = None
    baseline_name: str = ""
    limit_mb: int = RSS_MB


# --- the bench ------------------------------------------------------------------------


@dataclass
class Bench:
    args: argparse.Namespace
    sizes: list[str]
    credits: list[str]
    env: dict
    rows: list[Row] = field(default_factory=list)
    rss: list[Rss] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    pg: PgServer | None = None  # the server of the PostgreSQL rows (--pg)
    pg_missing: str = ""  # why there is none: what those rows say instead

    @property
    def big(self) -> str:
        return self.sizes[-1]

    def say(self, text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    def c(self, db, *args) -> list[str]:
        return [*self.credits, "--db", str(db), "--now", gen.NOW_ISO, *args]

    def want(self, *names) -> bool:
        return not self.args.only or any(x in self.args.only for x in names)

    # files and ledgers

    def csv(self, size: str) -> Path:
        path = CACHE / f"events-{size.lower()}.csv"
        if self.args.fresh and path not in self._fresh:
            for f in (path, path.with_name(path.name + ".stamp")):
                f.unlink(missing_ok=True)
        if not gen.current(SIZES[size], path):
            self.say(f"generating {SIZES[size]:,} events into {path.relative_to(HERE.parent)}")
        gen.ensure(SIZES[size], path)
        self._fresh.add(path)
        return path

    def init(self, db: Path | str) -> None:
        if isinstance(db, Path):
            remove_db(db)
        r = run(
            [*self.credits, "--db", db, "init", "--plan", gen.PLAN, "--start", gen.START_ISO, "--now", gen.START_ISO],
            env=self.env,
        )
        if r.rc != 0:
            raise SystemExit(f"bench: credits init failed: {first_line(r.err)}")

    def ledger_stamp(self, size: str) -> str:
        csv = self.csv(size)
        return csv.with_name(csv.name + ".stamp").read_text()

    def cached_ledger(self, size: str) -> Path | str:
        """The cached ledger of `size` (built through `credits import` if missing), or why there is none."""
        csv = self.csv(size)
        path = CACHE / f"ledger-{size.lower()}.db"
        stamp = path.with_name(path.name + ".stamp")
        if (
            path.exists()
            and stamp.exists()
            and stamp.read_text() == self.ledger_stamp(size)
            and not (self.args.fresh and path not in self._fresh)
        ):
            return path
        if size in self.import_failed:
            return self.import_failed[size]
        self.say(f"building the {size} ledger (credits import, not timed)")
        db = WORK / f"build-{size}.db"
        self.init(db)
        r = run(self.c(db, "import", csv), env=self.env, timeout=self.args.import_timeout)
        if r.rc != 0:
            self.import_failed[size] = f"no {size} ledger: import {failed(r)}"
            return self.import_failed[size]
        return self.adopt(size, db)

    def ledger(self, size: str) -> Path | str:
        """This run's copy of the ledger of `size`, opened once by `credits` (untimed), or why there is none.

        The commands run on a copy: the cache keeps the schema it was built with, whatever an
        installed credits of a newer schema migrates (the first command on the copy does it, untimed);
        a cached ledger newer than the installed credits is built again.
        """
        if size in self._copies:
            return self._copies[size]
        for attempt in (1, 2):
            cached = self.cached_ledger(size)
            if isinstance(cached, str):
                return cached
            copy = self.copy(cached, f"ledger-{size.lower()}.db")
            r = run(self.c(copy, "balance", "--json"), env=self.env)
            if r.rc == 0:
                self._copies[size] = copy
                return copy
            if "newer than this credits" in r.err and attempt == 1:
                self.say(f"the cached {size} ledger is newer than the installed credits: building it again")
                cached.with_name(cached.name + ".stamp").unlink(missing_ok=True)
                continue
            break
        return f"no {size} ledger: {failed(r)}"

    def adopt(self, size: str, db: Path) -> Path:
        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        path = CACHE / f"ledger-{size.lower()}.db"
        for suffix in ("-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
            Path(str(db) + suffix).unlink(missing_ok=True)
        os.replace(db, path)
        path.with_name(path.name + ".stamp").write_text(self.ledger_stamp(size))
        self._fresh.add(path)
        self._copies.pop(size, None)
        return path

    def copy(self, src: Path, name: str) -> Path:
        dst = WORK / name
        remove_db(dst)
        if Path(str(src) + "-wal").exists():
            with sqlite3.connect(src) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.copyfile(src, dst)
        return dst

    def empty(self) -> Path:
        db = WORK / "empty.db"
        if not db.exists():
            self.init(db)
        return db

    def events_in(self, db: Path) -> int:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return conn.execute("SELECT count(*) FROM events").fetchone()[0]

    def __post_init__(self):
        self._fresh: set = set()
        self._copies: dict = {}
        self.import_failed: dict = {}
        self._pg_empty: str | None = None
        self._pg_ledgers: dict = {}

    # 1. one logged event

    def bench_log(self) -> None:
        big = self.ledger(self.big)
        if isinstance(big, str):
            self.rows.append(Row(1, f"log SendEmail -q ({self.big} ledger)", ours=big))
            return
        self.say(f"1. credits log SendEmail -q vs bench/floor.py, {self.args.log_runs} interleaved runs")
        ledger = self.copy(big, "log.db")
        empty = self.copy(self.empty(), "log-empty.db")
        floor_db = WORK / "floor.db"
        remove_db(floor_db)
        with sqlite3.connect(floor_db) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(
                "CREATE TABLE events (id INTEGER PRIMARY KEY, at TEXT NOT NULL, action TEXT NOT NULL,"
                " quantity INTEGER NOT NULL, credits_milli INTEGER NOT NULL)"
            )
        self.log_rows(1, [sys.executable, FLOOR, floor_db], "floor.py", ledger, empty, LOG_RATIO)

    def log_rows(self, group, floor: list, floor_name: str, ledger, empty, limit: float, engine: str = "") -> None:
        """`credits log SendEmail -q` on `ledger` (a copy of the largest) and on `empty`, interleaved with
        `floor`: a row each, their medians' ratio to the floor's."""
        legs = {
            "floor": floor,
            "ours": self.c(ledger, "log", "SendEmail", "-q"),
            "empty": self.c(empty, "log", "SendEmail", "-q"),
        }
        times: dict = {k: [] for k in legs}
        for argv in legs.values():  # warm the page cache and the .pyc files
            run(argv, env=self.env)
        order = list(legs)
        for i in range(self.args.log_runs):
            for k in order[i % 3 :] + order[: i % 3]:
                r = run(legs[k], env=self.env)
                if r.rc != 0:
                    where = "" if k == "ours" else f"{k}: "
                    self.rows.append(
                        Row(group, f"log SendEmail -q ({engine}{self.big} ledger)", ours=where + failed(r))
                    )
                    return
                times[k].append(r)
        base = med(times["floor"])
        for k, label in (("ours", f"{engine}{self.big} ledger"), ("empty", f"{engine}empty ledger")):
            ours = med(times[k])
            self.rows.append(
                Row(
                    group,
                    f"log SendEmail -q ({label}) vs {floor_name}",
                    t(base) + n(times["floor"]),
                    t(ours) + n(times[k]),
                    f"{ours / base:.2f}",
                    f"≤ {limit:g}",
                    yes(ours / base <= limit),
                )
            )
        self.rss.append(
            Rss(
                f"log SendEmail -q ({engine}{self.big})",
                max(r.rss for r in times["ours"]),
                max(r.rss for r in times["floor"]),
                floor_name,
            )
        )

    # 2. log --batch

    def bench_batch(self) -> None:
        name = f"log --batch, {self.args.batch_events:,} events ({self.big} ledger)"
        big = self.ledger(self.big)
        if isinstance(big, str):
            self.rows.append(Row(2, name, ours=big))
            return
        self.say(f"2. credits log --batch, {self.args.batch_events:,} events x {self.args.batch_runs}")
        ledger = self.copy(big, "batch.db")
        # December's allowance is mostly spent by the ledger's own year: a promotion pays for every line
        # of the runs, so the row measures recording, not refusals (a refused line is still counted)
        r = run(
            self.c(
                ledger,
                "grant",
                "--pool",
                "integration",
                "--credits",
                "1000000",
                "--reason",
                "bench: credits for every log --batch line",
            ),
            env=self.env,
        )
        if r.rc != 0:
            self.rows.append(Row(2, name, ours=failed(r, "grant: ")))
            return
        floor_db = self.copy(big, "floor-batch.db")
        floors = []
        actions = (
            ("SendEmail", {}),
            ("invokeLLM", {"model": "automatic"}),
            ("UploadFile", {}),
            ("GenerateImage", {}),
            ("agent", {"model": "gemini-3-flash"}),
        )
        runs = []
        for k in range(self.args.batch_runs):
            src = WORK / "batch.jsonl"
            with open(src, "w", encoding="utf-8") as f:
                for i in range(self.args.batch_events):
                    action, extra = actions[i % len(actions)]
                    f.write(
                        json.dumps(
                            {
                                "action": action,
                                "count": 1 + i % 3,
                                "app": gen.APPS[i % len(gen.APPS)],
                                "member": gen.MEMBERS[i % 3],
                                "key": f"batch-{k}-{i}",
                                **extra,
                            }
                        )
                        + "\n"
                    )
            out = WORK / "batch.out"
            r = run(
                self.c(ledger, "log", "--batch"), env=self.env, stdin=src, stdout=out, timeout=self.args.batch_timeout
            )
            lines = count_lines(out)
            # exit 3: some lines were refused for credits (each still got its result line)
            if lines == 0 or (r.rc not in (0, 3) and not r.timed_out):
                self.rows.append(Row(2, name, ours=failed(r)))
                return
            refused = sum(1 for line in out.read_text(encoding="utf-8").splitlines() if '"error"' in line)
            runs.append((r, lines))
            f = run(
                [sys.executable, WRITE_FLOOR, "--batch", floor_db],
                env=self.env,
                stdin=src,
                stdout=out,
                timeout=self.args.batch_timeout,
            )
            if f.rc == 0 and count_lines(out) == self.args.batch_events:
                floors.append(f)
            if r.timed_out or lines != self.args.batch_events:
                break
        rates = [lines / r.wall for r, lines in runs]
        x = statistics.median(rates)
        r, lines = runs[-1]
        note = (
            f", {lines:,} done in {r.wall:.0f} s, then timed out"
            if r.timed_out
            else (
                f", {lines:,} result lines for {self.args.batch_events:,} events"
                if lines != self.args.batch_events
                else ""
            )
        )
        if refused:
            name += f" ({refused:,} refused: the pool ran out)"
        self.rows.append(
            Row(2, name + note, "—", rate(x) + n(runs), "—", f"≥ {BATCH_RATE:,}/s", yes(x >= BATCH_RATE and not note))
        )
        remove_db(floor_db)
        if floors:
            # one event at a time into this schema, nothing checked: the bound under the target above
            y = statistics.median(self.args.batch_events / f.wall for f in floors)
            self.rows.append(
                Row(
                    2,
                    "log --batch vs the schema's write floor (bench/write_floor.py --batch)",
                    rate(y) + n(floors),
                    rate(x),
                    f"{x / y:.2f}",
                )
            )
        self.rss.append(Rss(f"log --batch ({self.big})", max(r.rss for r, _ in runs)))

    # 3. reports

    def bench_reports(self) -> None:
        names = [x for x in REPORTS if self.want("reports", x)]
        big = self.ledger(self.big)
        if isinstance(big, str):
            for x in names:
                self.rows.append(Row(3, f"{x} ({self.big})", ours=big))
            return
        self.report_rows(3, names, self.empty(), big)

    def report_rows(self, group, names, empty, big, engine: str = "") -> None:
        """Each report of `names`, --json and human, on `big` and on `empty`, interleaved: a row each."""
        cmds = [(x, form) for x in names for form in ("--json", "")]
        runs = self.args.runs
        self.say(f"{group}. {len(cmds)} reports on the {engine}{self.big} ledger and on an empty one, {runs} runs each")
        legs = {}
        for x, form in cmds:
            extra = [form] if form else []
            legs[(x, form)] = (self.c(empty, x, *extra), self.c(big, x, *extra))
        for base, ours in legs.values():  # warm-up
            run(base, env=self.env)
            run(ours, env=self.env)
        times = {k: ([], []) for k in legs}
        broken = {}
        for i in range(self.args.runs):
            for k, (base, ours) in legs.items():
                if k in broken:
                    continue
                pair = [(0, base), (1, ours)] if i % 2 == 0 else [(1, ours), (0, base)]
                for side, argv in pair:
                    r = run(argv, env=self.env)
                    if r.rc != 0:
                        broken[k] = ("empty ledger: " if side == 0 else "") + failed(r)
                        break
                    times[k][side].append(r)
        for (x, form), (b, o) in times.items():
            label = f"{x} {form}".strip() + f" ({engine}{self.big} vs empty)"
            if (x, form) in broken:
                self.rows.append(Row(group, label, ours=broken[(x, form)]))
                continue
            ratio = med(o) / med(b)
            self.rows.append(
                Row(
                    group,
                    label,
                    t(med(b)) + n(b),
                    t(med(o)) + n(o),
                    f"{ratio:.2f}",
                    f"≤ {REPORT_RATIO:g}",
                    yes(ratio <= REPORT_RATIO),
                )
            )
            self.rss.append(
                Rss(
                    f"{x} {form}".strip() + f" ({engine}{self.big})",
                    max(r.rss for r in o),
                    max(r.rss for r in b),
                    "empty ledger",
                )
            )

    # 4. import

    def bench_import(self, size: str) -> None:
        csv = self.csv(size)
        rows = SIZES[size]
        runs_ours = 1 if rows >= 1_000_000 else 3
        name = f"import {size} CSV into a fresh ledger vs sqlite3 .import"
        self.say(f"4. credits import of {rows:,} rows (x{runs_ours}) vs sqlite3 .import")
        sqlite = shutil.which("sqlite3")
        base, floor, sql_floor, ours, last_ok, fail = [], [], [], [], None, None
        base_db = WORK / "sqlite-import.db"
        floor_db = WORK / "floor-import.db"
        script = WORK / "floor-import.sql"
        db = WORK / f"import-{size}.db"
        for i in range(max(runs_ours, 3)):
            if sqlite:
                base_db.unlink(missing_ok=True)
                r = run([sqlite, base_db, f".import --csv {csv} events"], env=self.env)
                if r.rc == 0:
                    base.append(r)
            if i < runs_ours:
                self.init(floor_db)
                r = run([sys.executable, WRITE_FLOOR, csv, floor_db], env=self.env)
                if r.rc == 0:
                    floor.append(r)
            if i < runs_ours and sqlite:
                self.init(floor_db)
                script.write_text(write_floor.sql_script(str(csv), str(floor_db)), encoding="utf-8")
                r = run([sqlite, "-bail", floor_db], env=self.env, stdin=script)
                if r.rc == 0:
                    sql_floor.append(r)
            if i < runs_ours and fail is None:
                self.init(db)
                r = run(self.c(db, "import", csv), env=self.env, timeout=self.args.import_timeout)
                if r.rc != 0:
                    fail = failed(r)
                    self.import_failed[size] = f"no {size} ledger: import {fail}"
                else:
                    ours.append(r)
                    last_ok = db
        base_db.unlink(missing_ok=True)
        script.unlink(missing_ok=True)
        remove_db(floor_db)
        b = f"{rate(rows / med(base))}" + n(base) if base else "n/a: no sqlite3 tool"
        target = f"≥ {IMPORT_RATE:,}/s, ratio ≥ {IMPORT_RATIO:g}"
        if fail:
            self.rows.append(Row(4, name, b, fail, target=target))
            return
        x = rows / med(ours)
        ratio = x / (rows / med(base)) if base else None
        self.rows.append(
            Row(
                4,
                name,
                b,
                f"{rate(x)} = {t(med(ours))}" + n(ours),
                f"{ratio:.2f}" if ratio is not None else "—",
                target,
                yes(x >= IMPORT_RATE and (ratio is None or ratio >= IMPORT_RATIO)),
            )
        )
        if floor:
            # what the schema costs any writer from Python: the bound under the target above
            y = rows / med(floor)
            self.rows.append(
                Row(
                    4,
                    f"import {size} CSV vs the schema's write floor (bench/write_floor.py)",
                    f"{rate(y)} = {t(med(floor))}" + n(floor),
                    f"{rate(x)}",
                    f"{x / y:.2f}",
                )
            )
        if sql_floor:
            # the same writes by SQLite alone: what the schema costs in any language
            y = rows / med(sql_floor)
            self.rows.append(
                Row(
                    4,
                    f"import {size} CSV vs the schema's write floor in SQL alone (sqlite3 < write_floor.py --sql)",
                    f"{rate(y)} = {t(med(sql_floor))}" + n(sql_floor),
                    f"{rate(x)}",
                    f"{x / y:.2f}",
                )
            )
        self.rss.append(
            Rss(f"import {size}", max(r.rss for r in ours), max((r.rss for r in base), default=None), "sqlite3 .import")
        )
        if last_ok is not None:
            self.adopt(size, last_ok)

    # 5. export

    def bench_export(self) -> None:
        big = self.ledger(self.big)
        if isinstance(big, str):
            self.rows.append(Row(5, f"export ({self.big})", ours=big))
            return
        events = self.events_in(big)
        sqlite = shutil.which("sqlite3")
        self.say(f"5. credits export csv and jsonl of {events:,} events, {self.args.export_runs} runs each")
        out = WORK / "export.out"
        for fmt, mode in (("csv", "-csv"), ("jsonl", "-json")):
            name = f"export --format {fmt} ({self.big}) vs sqlite3 {mode}"
            ours, base, fail = [], [], None
            for i in range(self.args.export_runs):
                if sqlite:
                    r = run(
                        [sqlite, "-readonly", mode, "-header", big, "SELECT * FROM events ORDER BY at, id"],
                        env=self.env,
                        stdout=out,
                    )
                    if r.rc == 0:
                        base.append(r)
                r = run(self.c(big, "export", "--format", fmt), env=self.env, stdout=out)
                lines = count_lines(out)
                if r.rc != 0:
                    fail = failed(r)
                    break
                if lines != events + (fmt == "csv"):
                    fail = f"n/a: {lines:,} lines for {events:,} events"
                    break
                ours.append(r)
            out.unlink(missing_ok=True)
            b = rate(events / med(base)) + n(base) if base else "n/a: no sqlite3 tool"
            if fail:
                self.rows.append(Row(5, name, b, fail, target=f"≥ {EXPORT_RATE:,}/s"))
                continue
            x = events / med(ours)
            self.rows.append(
                Row(
                    5,
                    name,
                    b,
                    f"{rate(x)} = {t(med(ours))}" + n(ours),
                    f"{x / (events / med(base)):.2f}" if base else "—",
                    f"≥ {EXPORT_RATE:,}/s",
                    yes(x >= EXPORT_RATE),
                )
            )
            peak = max(r.rss for r in ours)
            self.rows.append(
                Row(
                    5,
                    f"export --format {fmt} ({self.big}): peak RSS",
                    mb(max(r.rss for r in base)) if base else "—",
                    mb(peak),
                    f"{peak / max(r.rss for r in base):.2f}" if base else "—",
                    f"< {EXPORT_RSS_MB} MB",
                    yes(peak < EXPORT_RSS_MB * 1024),
                )
            )
            self.rss.append(
                Rss(
                    f"export --format {fmt} ({self.big})",
                    peak,
                    max((r.rss for r in base), default=None),
                    f"sqlite3 {mode}",
                )
            )

    # 7. journal and hledger

    def bench_journal(self) -> None:
        size = "100k"
        ledger = self.ledger(size)
        if isinstance(ledger, str):
            self.rows.append(Row(7, "export --format journal (100k)", ours=ledger))
            return
        events = self.events_in(ledger)
        journal = WORK / "ledger.journal"
        self.say("7. credits export --format journal of the 100k ledger; hledger beside credits")
        r = run(self.c(ledger, "export", "--format", "journal"), env=self.env, stdout=journal)
        if r.rc != 0:
            self.rows.append(Row(7, "export --format journal (100k)", ours=failed(r)))
            journal = None
        else:
            self.rows.append(
                Row(7, "export --format journal (100k)", "—", f"{rate(events / r.wall)} = {t(r.wall)} (n=1)")
            )
            self.rss.append(Rss("export --format journal (100k)", r.rss))
        hledger = shutil.which("hledger")
        pairs = (
            ("balance", ["balance"], ["balance"]),
            ("per app", ["balance", "--pivot", "app"], ["apps", "--since", gen.START_ISO[:10]]),
        )
        for label, h_args, c_args in pairs:
            name = f"{label}: credits {' '.join(c_args)} vs hledger {' '.join(h_args)} (100k)"
            if journal is None:
                self.rows.append(Row(7, name, "n/a: no journal", target="(comparison)"))
                continue
            if hledger is None:
                self.rows.append(Row(7, name, "n/a: hledger not installed", target="(comparison)"))
                continue
            hl, ours, fail, ours_fail = [], [], None, None
            for i in range(self.args.hledger_runs):
                r = run([hledger, "-f", journal, *h_args], env=self.env)
                if r.rc != 0:
                    fail = failed(r)
                    break
                hl.append(r)
                r = run(self.c(ledger, *c_args), env=self.env)
                if r.rc != 0:
                    ours_fail = failed(r)
                    break
                ours.append(r)
            if fail or ours_fail:
                self.rows.append(Row(7, name, fail or t(med(hl)) + n(hl), ours_fail or "—", target="(comparison)"))
                continue
            self.rows.append(
                Row(7, name, t(med(hl)) + n(hl), t(med(ours)) + n(ours), f"{med(ours) / med(hl):.3f}", "(comparison)")
            )
            self.rows.append(
                Row(
                    7,
                    f"{label}: peak RSS, credits vs hledger (100k)",
                    mb(max(r.rss for r in hl)),
                    mb(max(r.rss for r in ours)),
                    f"{max(r.rss for r in ours) / max(r.rss for r in hl):.3f}",
                    "(comparison)",
                )
            )
            self.rss.append(Rss(f"{' '.join(c_args)} (100k)", max(r.rss for r in ours)))

    # P. the same on PostgreSQL: every row on its own databases, made from a ledger built once a run

    def pg_fresh(self, what: str) -> str:
        """A new, empty ledger on the server (a copy of one made by `credits init` with the bench's plan)."""
        assert self.pg is not None
        if self._pg_empty is None:
            self._pg_empty = self.pg.create("empty")
            self.init(self._pg_empty)
        return self.pg.create(what, template=self._pg_empty)

    def pg_ledger(self, size: str) -> tuple[str | None, str]:
        """The PostgreSQL ledger of `size`, made by `credits import` of its CSV once a run (by P4 when it
        runs, else here, untimed), or why there is none. Rows that write to it use a copy."""
        if size not in self._pg_ledgers:
            self.say(f"building the {size} PostgreSQL ledger (credits import, not timed)")
            db = self.pg_fresh(f"ledger_{size.lower()}")
            self._pg_ledgers[size] = self.pg_import(size, db)[1]
        return self._pg_ledgers[size]

    def pg_import(self, size: str, db: str) -> tuple[Run | None, tuple[str | None, str]]:
        """`credits import` of the CSV of `size` into the ledger `db`, its events counted: the run and
        (the ledger, "") or (None, why it failed)."""
        assert self.pg is not None
        r = run(self.c(db, "import", self.csv(size)), env=self.env, timeout=self.args.import_timeout)
        if r.rc != 0:
            return None, (None, f"no {size} PostgreSQL ledger: import {failed(r)}")
        events = self.pg.scalar(db, "SELECT count(*) FROM events")
        if events != SIZES[size]:
            return None, (None, f"n/a: {events:,} events imported of {SIZES[size]:,} rows")
        return r, (db, "")

    # P1. one logged event

    def pg_big(self, group: str, name: str) -> str | None:
        """The largest PostgreSQL ledger, or None and a row `group` that says why there is none."""
        why = self.pg_missing
        if self.pg is not None:
            big, why = self.pg_ledger(self.big)
            if big is not None:
                return big
        self.rows.append(Row(group, name, ours=why))
        return None

    def bench_pg_log(self) -> None:
        big = self.pg_big("P1", f"log SendEmail -q (PostgreSQL, {self.big} ledger)")
        if big is None or self.pg is None:
            return
        self.say(
            f"P1. credits log SendEmail -q on PostgreSQL vs bench/pg_floor.py, {self.args.log_runs} interleaved runs"
        )
        ledger = self.pg.create("log", template=big)
        empty = self.pg_fresh("log_empty")
        floor = self.pg.create("log_floor")
        self.pg.run_sql(
            floor,
            "CREATE TABLE workspaces (id bigint PRIMARY KEY)",
            "INSERT INTO workspaces VALUES (1)",
            "CREATE TABLE events (id bigserial PRIMARY KEY, workspace_id bigint NOT NULL REFERENCES workspaces,"
            " at text NOT NULL, action text NOT NULL, quantity bigint NOT NULL, credits_milli bigint NOT NULL)",
        )
        self.log_rows(
            "P1", [sys.executable, PG_FLOOR, floor], "pg_floor.py", ledger, empty, PG_LOG_RATIO, "PostgreSQL, "
        )

    # P3. reports

    def bench_pg_reports(self) -> None:
        big = self.pg_big("P3", f"reports (PostgreSQL, {self.big} vs empty)")
        if big is None or self.pg is None:
            return
        ledger = self.pg.create("reports", template=big)
        self.report_rows("P3", REPORTS, self.pg_fresh("reports_empty"), ledger, "PostgreSQL, ")

    # P4. import

    def bench_pg_import(self, size: str) -> None:
        rows = SIZES[size]
        runs_ours = 1 if rows >= 1_000_000 else 3
        name = (
            f"import {size} CSV into a fresh PostgreSQL ledger vs psycopg COPY into a plain table (pg_floor.py --copy)"
        )
        if self.pg is None:
            self.rows.append(Row("P4", name, ours=self.pg_missing))
            return
        csv = self.csv(size)
        self.say(f"P4. credits import of {rows:,} rows into PostgreSQL (x{runs_ours}) vs psycopg COPY")
        floor, ours, fail, kept, floor_fail = [], [], None, None, "n/a"
        for i in range(max(runs_ours, 3)):
            plain = self.pg.create("copy_floor")
            f = run([sys.executable, PG_FLOOR, "--copy", csv, plain], env=self.env)
            copied = self.pg.scalar(plain, "SELECT count(*) FROM events") if f.rc == 0 else None
            if copied == rows:
                floor.append(f)
            else:
                floor_fail = failed(f) if f.rc != 0 else f"n/a: COPY made {copied:,} rows of {rows:,}"
            self.pg.drop_url(plain)
            if i < runs_ours and fail is None:
                db = self.pg_fresh(f"import_{size.lower()}_{i}")
                r, (_, why) = self.pg_import(size, db)
                if r is None:
                    fail = why
                    self._pg_ledgers[size] = (None, why)
                    self.pg.drop_url(db)
                    continue
                ours.append(r)
                if kept is not None:
                    self.pg.drop_url(kept)
                kept = db
        b = f"{rate(rows / med(floor))} = {t(med(floor))}" + n(floor) if floor else floor_fail
        if fail:
            self.rows.append(Row("P4", name, b, fail, target="a comparison"))
            return
        x = rows / med(ours)
        self.rows.append(
            Row(
                "P4",
                name,
                b,
                f"{rate(x)} = {t(med(ours))}" + n(ours),
                f"{x / (rows / med(floor)):.2f}" if floor else "—",
                "a comparison",
            )
        )
        self.rss.append(
            Rss(
                f"import {size} (PostgreSQL)",
                max(r.rss for r in ours),
                max((r.rss for r in floor), default=None),
                "pg_floor.py --copy",
            )
        )
        self._pg_ledgers[size] = (kept, "")

    # P8. many writers of one workspace, on both engines

    def bench_concurrent(self) -> None:
        procs, each, runs = self.args.concurrent_procs, self.args.concurrent_logs, self.args.concurrent_runs
        total = procs * each
        name = f"{procs} processes × {each} log SendEmail -q on one workspace: events/s, PostgreSQL vs SQLite"
        if self.args.quick and each < 200:
            name += " (--quick: 16 × 200 without it)"
        self.say(f"P8. {procs} processes x {each} credits log on one workspace, SQLite and PostgreSQL, x{runs}")
        walls: dict = {"sqlite": [], "pg": []}
        cpu: dict = {"sqlite": [], "pg": []}
        why = {"sqlite": "", "pg": self.pg_missing if self.pg is None else ""}
        for i in range(runs):
            for engine in ("sqlite", "pg") if i % 2 == 0 else ("pg", "sqlite"):
                if why[engine]:
                    continue
                if engine == "sqlite":
                    db: Path | str = WORK / "concurrent.db"
                    self.init(db)
                else:
                    db = self.pg_fresh("concurrent")
                wall, used, why[engine] = self.concurrent_logs(db, procs, each)
                if wall is not None:
                    walls[engine].append(wall)
                    cpu[engine].append(used / total)
                if isinstance(db, Path):
                    remove_db(db)
                elif self.pg is not None:
                    self.pg.drop_url(db)

        def cell(engine):
            if why[engine]:
                return why[engine]
            wall = statistics.median(walls[engine])
            return (
                f"{rate(total / wall)} = {t(wall)} (n={len(walls[engine])};"
                f" {t(statistics.median(cpu[engine]))} CPU a log)"
            )

        both = not why["sqlite"] and not why["pg"]
        ratio = statistics.median(walls["sqlite"]) / statistics.median(walls["pg"]) if both else None
        self.rows.append(
            Row(
                "P8",
                name,
                "SQLite: " + cell("sqlite"),
                "PostgreSQL: " + cell("pg"),
                f"{ratio:.2f}" if ratio is not None else "—",
                f"all {total:,} recorded once, check clean",
                "NO" if why["sqlite"] or (self.pg is not None and why["pg"]) else ("yes" if both else "—"),
            )
        )

    def concurrent_logs(self, db, procs: int, each: int) -> tuple[float | None, float, str]:
        """`procs` processes at once, each running `credits log` `each` times one after the other (each
        with its own --key): the wall time of the whole, the CPU time its logs used (theirs, not the
        server's), and "" when every event is in the ledger once and `credits check` finds it consistent,
        else (None, 0, what is wrong)."""
        errors: list[str] = []

        def member(m: int) -> None:
            for k in range(each):
                argv = self.c(db, "log", "SendEmail", "-q", "--key", f"bench-{m}-{k}")
                try:
                    p = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=300, check=False)
                except subprocess.TimeoutExpired:
                    errors.append("a log timed out after 300 s")
                    continue
                if p.returncode != 0:
                    errors.append(f"exit {p.returncode}: {first_line(p.stderr)}")

        threads = [threading.Thread(target=member, args=(m,), daemon=True) for m in range(procs)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        used = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        total = procs * each
        if errors:
            return None, 0, f"n/a: {len(errors):,} of {total:,} logs failed, first: {errors[0]}"
        out = WORK / "concurrent.jsonl"
        r = run(self.c(db, "export", "--format", "jsonl"), env=self.env, stdout=out)
        if r.rc != 0:
            return None, 0, f"n/a: export {failed(r)}"
        with open(out, encoding="utf-8") as f:
            keys = collections.Counter(json.loads(line)["key"] for line in f)
        out.unlink()
        expected = {f"bench-{m}-{k}" for m in range(procs) for k in range(each)}
        if set(keys) != expected or any(x != 1 for x in keys.values()):
            twice = sum(1 for x in keys.values() if x > 1)
            return None, 0, f"n/a: {len(expected & set(keys)):,} of {total:,} keys recorded, {twice:,} more than once"
        r = run(self.c(db, "check"), env=self.env)
        if r.rc != 0:
            return None, 0, f"n/a: check {failed(r)}"
        return wall, used, ""

    # 6. peak memory of every command above

    def rss_rows(self) -> None:
        for x in self.rss:
            base = f"{mb(x.baseline)} ({x.baseline_name})" if x.baseline else "—"
            ratio = f"{x.ours / x.baseline:.2f}" if x.baseline else "—"
            self.rows.append(
                Row(
                    6,
                    f"peak RSS: {x.name}",
                    base,
                    mb(x.ours),
                    ratio,
                    f"< {x.limit_mb} MB",
                    yes(x.ours < x.limit_mb * 1024),
                )
            )

    def table(self) -> str:
        head = ("#", "benchmark", "baseline", "ours", "ratio", "target", "met?")
        body = [
            (str(r.group), r.name, r.baseline, r.ours, r.ratio, r.target, r.met)
            for r in sorted(self.rows, key=lambda r: (str(r.group)[0] == "P", int(str(r.group).lstrip("P"))))
        ]
        widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]

        def line(cells):
            return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"

        return "\n".join([line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(b) for b in body])


def credits_command() -> list[str]:
    script = Path(sys.executable).parent / "credits"
    if script.exists():
        return [str(script)]
    found = shutil.which("credits")
    return [found] if found else [sys.executable, "-m", "credits_cli"]


def version(argv) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False).stdout.strip()
        return out.splitlines()[0] if out else "?"
    except (OSError, subprocess.SubprocessError):
        return "absent"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="10k and 100k events only (no 1M ledger)")
    p.add_argument(
        "--only",
        type=lambda s: [x.strip().lower() for x in s.split(",") if x.strip()],
        default=[],
        help=f"comma-separated rows to run: {', '.join(GROUPS)}",
    )
    p.add_argument(
        "--sizes",
        type=lambda s: [x.strip() for x in s.split(",")],
        default=None,
        help="the ledger sizes, smallest first (default 10k,100k,1M; 10k,100k with --quick); the largest"
        " is the one the reports, export and log run on",
    )
    p.add_argument("--fresh", action="store_true", help="regenerate the CSVs and rebuild the ledgers")
    p.add_argument("--runs", type=int, default=None, help="runs of each report (default 7; 5 with --quick)")
    p.add_argument("--log-runs", type=int, default=None, help="interleaved runs of log (default 31; 21 with --quick)")
    p.add_argument(
        "--batch-events", type=int, default=None, help="events fed to log --batch (default 20,000; 5,000 with --quick)"
    )
    p.add_argument("--batch-runs", type=int, default=3, help="runs of log --batch, each on new keys (default 3)")
    p.add_argument("--batch-timeout", type=float, default=300, help="seconds before a log --batch run is stopped")
    p.add_argument("--import-timeout", type=float, default=3600)
    p.add_argument("--export-runs", type=int, default=None, help="default 3; 5 with --quick")
    p.add_argument("--hledger-runs", type=int, default=None, help="default 3; 1 with --quick")
    p.add_argument(
        "--pg",
        metavar="URL",
        default=os.environ.get("CREDITS_BENCH_PG"),
        help="a PostgreSQL server for the P rows, by a URL whose user may create databases (default: the"
        " environment variable CREDITS_BENCH_PG); without one those rows say n/a",
    )
    p.add_argument("--concurrent-procs", type=int, default=16, help="P8: processes logging at once (default 16)")
    p.add_argument(
        "--concurrent-logs", type=int, default=None, help="P8: logs each process makes (default 200; 25 with --quick)"
    )
    p.add_argument("--concurrent-runs", type=int, default=1, help="P8: runs on each engine, alternated (default 1)")
    a = p.parse_args(argv)
    if a.sizes and any(x not in SIZES for x in a.sizes):
        p.error(f"--sizes: choose from {', '.join(SIZES)}")
    unknown = [x for x in a.only if x not in GROUPS]
    if unknown:
        p.error(f"--only: unknown {', '.join(unknown)}; choose from {', '.join(GROUPS)}")
    q = a.quick
    a.runs = a.runs or (5 if q else 7)
    a.log_runs = a.log_runs or (21 if q else 31)
    a.batch_events = a.batch_events or (5_000 if q else 20_000)
    a.export_runs = a.export_runs or (5 if q else 3)
    a.hledger_runs = a.hledger_runs or (1 if q else 3)
    a.concurrent_logs = a.concurrent_logs or (25 if q else 200)

    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDITS_")}
    env.update(
        CREDITS_CATALOG=str(gen.write_catalog(CACHE / "catalog.toml")), NO_COLOR="1", COLUMNS="100", LC_ALL="C.UTF-8"
    )
    WORK.mkdir(parents=True, exist_ok=True)
    for f in WORK.iterdir():
        if f.is_file():
            f.unlink()
    sizes = a.sizes or (["10k", "100k"] + ([] if q else ["1M"]))
    b = Bench(a, sizes, credits_command(), env)
    cmdline = "python bench/run.py" + ("".join(f" {x}" for x in (argv if argv is not None else sys.argv[1:])))
    started = time.time()
    load0 = os.getloadavg()
    if b.want("pg", *PG_GROUPS):
        b.pg, b.pg_missing = pg_server(a.pg)
    # a bench stopped by a signal still drops its databases (the finally below)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        run_rows(b)
    finally:
        if b.pg is not None:
            b.pg.drop_all()
    for f in WORK.iterdir():  # the copies of big ledgers are not worth keeping
        if f.is_file() and f.suffix != ".journal":
            f.unlink()

    load1 = os.getloadavg()
    sqlite_tool = version(["sqlite3", "--version"]).split(" ")[0]
    server = f"PostgreSQL {b.pg.version}" if b.pg is not None else f"PostgreSQL: {b.pg_missing or 'not asked'}"
    report = "\n".join(
        [
            f"$ {cmdline}",
            (
                f"credits: {' '.join(b.credits)}; Python {platform.python_version()}; SQLite {sqlite3.sqlite_version}"
                f" (Python's), sqlite3 tool {sqlite_tool}; hledger: {version(['hledger', '--version'])}; {server}"
            ),
            (
                f"{os.cpu_count()} CPUs, load average {load0[0]:.2f} at the start and {load1[0]:.2f} at the end;"
                f" ledgers of {', '.join(sizes)} events from bench/generate.py, --now {gen.NOW_ISO}, plan {gen.PLAN!r};"
                f" took {time.time() - started:.0f} s"
            ),
            "",
            b.table(),
        ]
    )
    print(report)
    (CACHE / "last-run.txt").write_text(report + "\n", encoding="utf-8")
    return 0


def pg_server(url: str | None) -> tuple[PgServer | None, str]:
    """The server of the P rows, or why there is none (what those rows say)."""
    if not url:
        return None, "n/a: no PostgreSQL server (--pg URL or CREDITS_BENCH_PG)"
    try:
        return PgServer(url), ""
    except ImportError:
        return None, "n/a: psycopg is not installed beside this Python (pip install 'credits-cli[postgres]')"
    except Exception as e:  # psycopg's errors: the server down, a refused login, a bad URL
        return None, f"n/a: no PostgreSQL server: {first_line(str(e))}"


def run_rows(b: Bench) -> None:
    sizes = b.sizes
    if b.want("import"):
        for size in sizes:
            b.bench_import(size)
    if b.want("reports", *REPORTS):
        b.bench_reports()
    if b.want("export"):
        b.bench_export()
    if b.want("journal"):
        b.bench_journal()
    if b.want("log"):
        b.bench_log()
    if b.want("batch"):
        b.bench_batch()
    if b.want("pg", "pg-import"):
        for size in sizes:
            b.bench_pg_import(size)
    if b.want("pg", "pg-reports"):
        b.bench_pg_reports()
    if b.want("pg", "pg-log"):
        b.bench_pg_log()
    if b.want("pg", "concurrent"):
        b.bench_concurrent()
    b.rss_rows()


if __name__ == "__main__":
    sys.exit(main())
