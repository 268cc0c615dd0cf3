"""The export as an xlsx workbook: typed cells a spreadsheet shows as they are.

Numbers are numbers (credits as their exact decimal, 0.001 to 1,000,000,000.000: fifteen
significant digits at most, so the double a spreadsheet holds reads back as the same
decimal), text is text (typed as a string: `=SUM(A1)` stays text, no formula ever runs,
no quote is added), `custom_domain` is a boolean, and `at` is a date-time in the
workspace's time zone. A spreadsheet's date-time has no zone and rounds microseconds, so
the column `at_utc` beside it keeps the exact instant as ISO text: import reads `at_utc`,
checks that `at` still agrees with it, and reads `at` in the workspace's zone only when
`at_utc` is empty.

openpyxl is imported here and by the xlsx import only: no other command loads it. The
workbook is written in openpyxl's write-only mode, row by row to a temporary file with
inline strings, so memory stays flat whatever the size of the ledger.
"""

from __future__ import annotations

from ..domain.cycles import local_time
from ..domain.events import XLSX_FIELDS
from ..domain.money import to_decimal

DATE_FORMAT = "yyyy-mm-dd hh:mm:ss"
_WIDTHS = {"at": 20, "at_utc": 28, "action": 16, "note": 30, "credits": 12}


def write_xlsx(batches, path, shape_fields, zone) -> int:
    """Write the export's rows (see render.output.write_events) to the workbook `path`; the number of rows."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    sheet = wb.create_sheet("events")
    for i, field in enumerate(XLSX_FIELDS, 1):
        sheet.column_dimensions[get_column_letter(i)].width = _WIDTHS.get(field, 10)

    def text(value):
        if value is None:
            return None
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"  # openpyxl would write a string starting with "=" as a formula
        return cell

    def styled(value, number_format):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = number_format
        return cell

    sheet.append([text(f) for f in XLSX_FIELDS])
    n = 0
    for batch in batches:
        for event_id, at, shape, key, note, corrects in batch:
            pool, action, model, scope, quantity, seconds, chars, custom_domain, milli, app, member = shape_fields(
                shape
            )
            sheet.append(
                [
                    event_id,
                    styled(local_time(at, zone), DATE_FORMAT),
                    text(pool),
                    text(action),
                    text(model),
                    text(scope),
                    quantity,
                    seconds,
                    chars,
                    bool(custom_domain),
                    to_decimal(milli),
                    text(app),
                    text(member),
                    text(key),
                    text(note),
                    corrects,
                    text(at),
                ]
            )
            n += 1
    wb.save(path)
    return n
