"""`credits export --format xlsx` and `credits import FILE.xlsx`: typed cells, exact round trips."""

import csv
import io
import subprocess
import sys
from datetime import datetime
from decimal import Decimal

import openpyxl
import pytest
from conftest import Cli, one_line_error

NOW = "2026-11-10T00:00:00Z"
PARIS = ["--timezone", "Europe/Paris"]


def init(cli, grant=False):
    assert (
        cli(
            "init", "--plan", "builder", "--start", "2026-10-05T10:00:00Z", *PARIS, now="2026-10-05T10:00:00Z"
        ).exit_code
        == 0
    )
    if grant:
        assert cli("grant", "--pool", "integration", "--credits", "20000", "--reason", "big", now=NOW).exit_code == 0


def imported(new_db, name, *args, input=None):
    """A fresh ledger (given the source's grant) that imported `args` without a complaint."""
    copy = Cli(new_db(name))
    init(copy, grant=True)
    r = copy("import", *args, now=NOW, input=input)
    assert r.exit_code == 0, r.stderr
    return copy


@pytest.fixture
def source(cli):
    init(cli, grant=True)
    # 01:30:00.123456Z is 02:30 in Paris on the night clocks go back: that local time happens twice
    assert (
        cli(
            "log",
            "message",
            "--credits",
            "0.001",
            "--note",
            "=SUM(A1)",
            "--app",
            "bø",
            "--member",
            "José",
            "--at",
            "2026-10-25T01:30:00.123456Z",
            now=NOW,
        ).exit_code
        == 0
    )
    assert (
        cli(
            "log",
            "message",
            "--credits",
            "1.3",
            "--note",
            "0042",
            "--key",
            "007",
            "--member",
            "Zoë",
            "--at",
            "2026-10-24T22:30:00Z",
            now=NOW,
        ).exit_code
        == 0
    )
    assert cli("log", "invokeLLM", "--model", "gpt-5", "--credits", "12345.678", "--app", "crm", now=NOW).exit_code == 0
    assert (
        cli("log", "SendEmail", "--custom-domain", "--count", "3", "--note", "+cmd|' /C calc'!A0", now=NOW).exit_code
        == 0
    )
    assert cli("log", "GenerateSpeech", "--chars", "120", "--at", "2026-11-01T12:00:00Z", now=NOW).exit_code == 0
    assert cli("void", "4", "--reason", "oops", now=NOW).exit_code == 0
    return cli


def same(a, b) -> None:
    assert a.json("balance", now=NOW) == b.json("balance", now=NOW)
    assert a.json("apps", now=NOW) == b.json("apps", now=NOW)

    def export(cli):  # without the ids, which are each ledger's own (and so is a void's `corrects`)
        return [row[1:-1] for row in csv.reader(io.StringIO(cli("export", now=NOW).stdout, newline=""))]

    assert export(a) == export(b)


def test_xlsx_cells_are_typed_numbers_date_times_in_the_zone_and_text_that_never_runs(source, tmp_path):
    path = tmp_path / "e.xlsx"
    r = source("export", "--format", "xlsx", "-o", str(path), now=NOW)
    assert r.exit_code == 0, r.stderr
    sheet = openpyxl.load_workbook(path).worksheets[0]
    header = [c.value for c in sheet[1]]
    assert header[:2] == ["id", "at"] and header[-1] == "at_utc"
    rows = [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2)]
    first = next(r for r in rows if r["member"].value == "José")
    assert (
        first["at"].value == datetime(2026, 10, 25, 2, 30, 0, 123000)
        or abs(first["at"].value - datetime(2026, 10, 25, 2, 30, 0, 123456)).total_seconds() < 0.001
    )
    assert first["at"].is_date and "hh:mm:ss" in first["at"].number_format
    assert first["at_utc"].value == "2026-10-25T01:30:00.123456Z"
    assert (first["note"].value, first["note"].data_type) == ("=SUM(A1)", "s")  # text, not a formula
    assert first["app"].value == "bø"
    credits = {r["credits"].value for r in rows}
    assert {Decimal(repr(v)) for v in credits} >= {
        Decimal("0.001"),
        Decimal("1.3"),
        Decimal("12345.678"),
        Decimal("6"),
        Decimal("-6"),
    }
    assert all(r["credits"].data_type == "n" and r["quantity"].data_type == "n" for r in rows)
    zero = next(r for r in rows if r["note"].value == "0042")
    assert zero["note"].data_type == "s" and zero["key"].value == "007"
    email = next(r for r in rows if r["action"].value == "SendEmail" and r["corrects"].value is None)
    assert email["custom_domain"].value is True and email["note"].value == "+cmd|' /C calc'!A0"


def test_xlsx_round_trip_is_exact(source, tmp_path, new_db):
    path = tmp_path / "e.xlsx"
    assert source("export", "--format", "xlsx", "-o", str(path), now=NOW).exit_code == 0
    copy = imported(new_db, "copy", str(path))
    same(copy, source)
    assert copy.json("import", str(path), now=NOW)["added"] == 0
    # and from stdin, told from CSV by its content
    same(imported(new_db, "other", "-", input=path.read_bytes()), source)


def _edit(path, fn):
    wb = openpyxl.load_workbook(path)
    sheet = wb.worksheets[0]
    header = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        fn(dict(zip(header, row, strict=True)))
    wb.save(path)


def test_xlsx_at_is_read_in_the_zone_when_at_utc_is_cleared_and_an_ambiguous_time_is_refused(source, tmp_path, new_db):
    path = tmp_path / "e.xlsx"
    assert source("export", "--format", "xlsx", "-o", str(path), now=NOW).exit_code == 0

    def clear(row):
        if row["member"].value != "José":  # José's 02:30 happens twice in Paris that night
            row["at_utc"].value = None

    _edit(path, clear)
    same(imported(new_db, "copy", str(path)), source)

    _edit(path, lambda row: row["at_utc"].__setattr__("value", None))
    fresh = Cli(new_db("fresh"))
    init(fresh)
    before = fresh.dump()
    r = fresh("import", str(path), now=NOW)
    assert r.exit_code == 2
    assert "e.xlsx line 3: at: '2026-10-25T02:30:00.123" in r.stderr and "happens twice in Europe/Paris" in r.stderr
    assert fresh.dump() == before


def test_xlsx_an_at_edited_apart_from_at_utc_is_refused_and_garbage_is_named(source, tmp_path, new_db):
    path = tmp_path / "e.xlsx"
    assert source("export", "--format", "xlsx", "-o", str(path), now=NOW).exit_code == 0

    def spoil(row):
        if row["member"].value == "Zoë":
            row["at"].value = datetime(2026, 10, 25, 4, 0)
        if row["app"].value == "crm":
            row["credits"].value = "lots"

    _edit(path, spoil)
    copy = Cli(new_db("copy"))
    init(copy)
    before = copy.dump()
    r = copy("import", str(path), now=NOW)
    assert r.exit_code == 2
    assert "e.xlsx line 2: at: 2026-10-25 04:00:00 is not at_utc 2026-10-24T22:30:00Z in Europe/Paris" in r.stderr
    assert "e.xlsx line 5: credits: 'lots'" in r.stderr and "Traceback" not in r.stderr
    assert copy.dump() == before
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"id,at\n")
    one_line_error(copy("import", str(bad), now=NOW), field="not an xlsx workbook")
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    one_line_error(copy("import", str(bad), now=NOW), field="not a readable xlsx workbook")


def test_xlsx_to_stdout_and_openpyxl_is_loaded_only_by_xlsx(source, tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "credits_cli", "--db", str(source.db), "--now", NOW, "export", "--format", "xlsx"],
        capture_output=True,
        check=True,
    ).stdout
    assert out.startswith(b"PK\x03\x04")
    probe = (
        f"import sys, runpy; sys.argv = ['credits', '--db', {str(source.db)!r}, '--now', {NOW!r}] + sys.argv[1:];"
        " code = 0\ntry: runpy.run_module('credits_cli', run_name='__main__')\n"
        "except SystemExit as e: code = e.code\n"
        "print('openpyxl' in sys.modules, code, file=sys.stderr)"
    )
    csv_export = source("export", now=NOW).stdout.encode()
    for args, loaded in (
        (["balance"], False),
        (["log", "UploadFile", "-q"], False),
        (["export"], False),
        (["import", "-", "--dry-run"], False),
        (["export", "--format", "xlsx"], True),
    ):
        r = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, input=csv_export)
        assert r.stderr.decode().split()[-2:] == [str(loaded), "0"], (args, r.stderr)
