"""Every CSV cell the kit writes for a person or an LMS, made safe to open in a spreadsheet.

Student ids, names, emails, LMS ids and sections come from submissions and rosters, and texts in
the report come from students' exceptions: an attacker picks them. Excel, LibreOffice Calc and
Google Sheets run a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or with a tab or carriage
return before one) as a formula: ``=HYPERLINK(...)`` leaks data, ``+cmd|' /C calc'!A0`` (DDE) can
start a program on the instructor's machine.

The rule, as OWASP recommends (https://owasp.org/www-community/attacks/CSV_Injection):

- a text cell that starts with ``=``, ``+``, ``-``, ``@``, tab (0x09) or carriage return (0x0D)
  gets a leading single quote ``'``, which spreadsheets read as "this cell is text";
- every text cell is wrapped in double quotes (inner ones doubled), so that a separator inside it
  (``,`` or, where a spreadsheet splits on it, ``;``) cannot start a new cell that begins with one
  of those characters;
- numbers (scores, counts, rates) are written as numbers: never quoted, never changed.

Whether a cell is a number or text is decided by its Python type, never by what the text looks
like: a roster value "-5" is text and gets its quote. The cost is that an LMS matching a student
on a value that starts with one of those characters sees the quote: the LMS exports warn.
"""

import csv
import math
import numbers
from decimal import Decimal

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def is_number(value):
    """True for an int or a finite float or Decimal (bools are not scores): written as it is."""
    if isinstance(value, bool):
        return False
    if isinstance(value, numbers.Integral):
        return True
    if isinstance(value, Decimal):
        return value.is_finite()
    return isinstance(value, numbers.Real) and math.isfinite(value)


def starts_formula(text):
    """True if a spreadsheet could read this text as a formula."""
    return text.startswith(FORMULA_STARTS)


def safe_cell(value):
    """The cell as it may be written: a number unchanged, None as '', anything else as neutralised text."""
    if is_number(value):
        return value
    if value is None:
        return ""
    text = str(value)
    return QUOTE + text if starts_formula(text) else text


def safe_row(row):
    """A list of safe cells."""
    return [safe_cell(value) for value in row]


def changes(value):
    """True if safe_cell alters this value (the LMS exports warn about a match key it altered)."""
    return not is_number(value) and value is not None and starts_formula(str(value))


class SafeWriter:
    """csv.writer whose every row goes through safe_row; text quoted, numbers bare (QUOTE_NONNUMERIC)."""

    def __init__(self, handle):
        self._writer = csv.writer(handle, quoting=csv.QUOTE_NONNUMERIC)

    def writerow(self, row):
        return self._writer.writerow(safe_row(row))

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


class SafeDictWriter:
    """csv.DictWriter's interface over SafeWriter: a key outside fieldnames is an error, a missing one ''."""

    def __init__(self, handle, fieldnames):
        self.fieldnames = list(fieldnames)
        self._writer = SafeWriter(handle)

    def writeheader(self):
        self._writer.writerow(self.fieldnames)

    def writerow(self, record):
        unknown = [key for key in record if key not in self.fieldnames]
        if unknown:
            raise ValueError(f"fields not in the CSV header: {', '.join(map(str, unknown))}")
        self._writer.writerow([record.get(name, "") for name in self.fieldnames])

    def writerows(self, records):
        for record in records:
            self.writerow(record)
