"""The CSV export opens cleanly in a real spreadsheet: LibreOffice, headless.

Formula-looking cells must show as text (never run), numbers must be numbers.
CI installs LibreOffice (.ci/run); elsewhere the test is skipped when it is missing.
"""

import html
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
    assert cli("log", "message", "--credits", "0.3", "--note", "=1+1", "--app", "+cmd", "--member", "-2+3",
               now=NOW).exit_code == 0
    assert cli("log", "SendEmail", "--count", "3", "--note", "@SUM(1)", "--key", '=HYPERLINK("http://x")',
               now=NOW).exit_code == 0
    csv_path = tmp_path / "events.csv"
    assert cli("export", "-o", str(csv_path), now=NOW).exit_code == 0
    profile = tmp_path / "lo-profile"
    subprocess.run([SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "html",
                    "--outdir", str(tmp_path), str(csv_path)], check=True, capture_output=True, timeout=180)
    page = (tmp_path / "events.html").read_text(errors="replace")
    cells = [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", page, re.S)]
    from credits_cli.domain.events import EXPORT_FIELDS

    width = len(EXPORT_FIELDS)
    header = cells[:width]
    assert header == list(EXPORT_FIELDS)
    rows = [dict(zip(header, cells[i:i + width])) for i in range(width, len(cells), width)]
    assert rows[0]["note"] == "'=1+1" and rows[0]["app"] == "'+cmd" and rows[0]["member"] == "'-2+3"
    assert rows[1]["note"] == "'@SUM(1)" and rows[1]["key"] == "'=HYPERLINK(\"http://x\")"
    assert "2" not in (rows[0]["note"], rows[1]["note"])  # no formula was evaluated
    # numbers are numbers: LibreOffice gives numeric cells a value attribute
    numeric = re.findall(r'sdval="([^"]+)"', page)
    assert "0.3" in numeric and "3" in numeric
