"""The CSV export opens cleanly in a real spreadsheet: LibreOffice, headless.

Formula-looking cells must show as text (never run), numbers must be numbers.
CI installs LibreOffice (.ci/run); elsewhere the test is skipped when it is missing.
"""

import csv
import html
import io
import os
import re
import shutil
import subprocess

import pytest

NOW = "2026-11-10T00:00:00Z"
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(SOFFICE is None and not os.environ.get("CI"), reason="LibreOffice is not installed")
def test_libreoffice_shows_formula_cells_as_text_and_numbers_as_numbers(cli, tmp_path):
    assert SOFFICE, "CI must have LibreOffice (.ci/run installs libreoffice-calc-nogui)"
    assert cli("init", "--plan", "builder", "--start", "2026-11-01T00:00:00Z", now=NOW).exit_code == 0
    assert (
        cli(
            "log", "message", "--credits", "0.3", "--note", "=1+1", "--app", "+cmd", "--member", "-2+3", now=NOW
        ).exit_code
        == 0
    )
    assert (
        cli(
            "log", "SendEmail", "--count", "3", "--note", "@SUM(1)", "--key", '=HYPERLINK("http://x")', now=NOW
        ).exit_code
        == 0
    )
    csv_path = tmp_path / "events.csv"
    assert cli("export", "-o", str(csv_path), now=NOW).exit_code == 0
    profile = tmp_path / "lo-profile"
    subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            "html",
            "--outdir",
            str(tmp_path),
            str(csv_path),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    page = (tmp_path / "events.html").read_text(errors="replace")
    cells = [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", page, re.S)]
    from credits_cli.domain.events import EXPORT_FIELDS

    width = len(EXPORT_FIELDS)
    header = cells[:width]
    assert header == list(EXPORT_FIELDS)
    rows = [dict(zip(header, cells[i : i + width], strict=True)) for i in range(width, len(cells), width)]
    assert rows[0]["note"] == "'=1+1" and rows[0]["app"] == "'+cmd" and rows[0]["member"] == "'-2+3"
    assert rows[1]["note"] == "'@SUM(1)" and rows[1]["key"] == '\'=HYPERLINK("http://x")'
    assert "2" not in (rows[0]["note"], rows[1]["note"])  # no formula was evaluated
    # numbers are numbers: LibreOffice gives numeric cells a value attribute
    numeric = re.findall(r'sdval="([^"]+)"', page)
    assert "0.3" in numeric and "3" in numeric


def _resave(profile, src, outdir, target, infilter=None):
    """Open `src` in LibreOffice headless and save it back as `target` (a --convert-to filter)."""
    args = [SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless"]
    if infilter:
        args.append(f"--infilter={infilter}")
    subprocess.run(
        [*args, "--convert-to", target, "--outdir", str(outdir), str(src)], check=True, capture_output=True, timeout=180
    )
    return outdir / (src.stem + "." + target.split(":")[0])


# Comma-separated, UTF-8, "Detect special numbers" on: LibreOffice then reads true as TRUE, 1/2 as a date.
CSV_IN = "Text - txt - csv (StarCalc):44,34,76,1,,1033,false,true"


@pytest.mark.skipif(SOFFICE is None and not os.environ.get("CI"), reason="LibreOffice is not installed")
@pytest.mark.parametrize("fmt,infilter", [("csv", None), ("csv", CSV_IN), ("xlsx", None)])
def test_an_export_saved_back_by_libreoffice_reimports_identically(cli, tmp_path, fmt, infilter, new_db):
    assert SOFFICE, "CI must have LibreOffice (.ci/run installs libreoffice-calc-nogui)"
    from conftest import Cli

    def init(c):
        assert (
            c(
                "init",
                "--plan",
                "builder",
                "--start",
                "2026-10-05T10:00:00Z",
                "--timezone",
                "Europe/Paris",
                now="2026-10-05T10:00:00Z",
            ).exit_code
            == 0
        )

    init(cli)
    for args in (
        [
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
        ],
        ["SendEmail", "--custom-domain", "--count", "3", "--app", "crm", "--key", "0042", "--note", "1/2"],
        ["message", "--credits", "1.3", "--note", "true", "--member", "Zoë"],
        ["invokeLLM", "--model", "gpt-5", "--credits", "1234.567", "--note", "-2+3", "--app", "bø"],
        ["GenerateSpeech", "--chars", "120", "--note", "  naïve café ✓  ", "--at", "2026-11-01T12:00:00Z"],
    ):
        assert cli("log", *args, now=NOW).exit_code == 0, args
    assert cli("void", "3", now=NOW).exit_code == 0
    src = tmp_path / f"events.{fmt}"
    extra = ["--bom"] if fmt == "csv" else []
    assert cli("export", "--format", fmt, *extra, "-o", str(src), now=NOW).exit_code == 0
    saved = _resave(tmp_path / "lo-profile", src, tmp_path / "saved", fmt, infilter)
    if infilter:
        assert b"TRUE" in saved.read_bytes()  # LibreOffice's booleans
    copy = Cli(new_db("copy"))
    init(copy)
    r = copy("import", str(saved), now=NOW)
    assert r.exit_code == 0, r.stderr
    assert copy.json("balance", now=NOW) == cli.json("balance", now=NOW)
    assert copy.json("apps", now=NOW) == cli.json("apps", now=NOW)

    def export(c):  # without the ids, each ledger's own (and so is a void's `corrects`)
        return [row[1:-1] for row in csv.reader(io.StringIO(c("export", now=NOW).stdout, newline=""))]

    assert export(copy) == export(cli)
    assert {e["note"] for e in copy.json("events", now=NOW)} >= {"=SUM(A1)", "1/2", "true", "  naïve café ✓  "}
