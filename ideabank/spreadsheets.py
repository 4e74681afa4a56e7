"""Cells for spreadsheets, safe to open: both apps' CSV and XLSX files go through here.

A cell that begins with = + - @ (or a tab or carriage return) is a formula to Excel and
LibreOffice: a title such as "=HYPERLINK(...)" typed into the bank would run on the
computer of whoever opens the export (OWASP, "CSV injection"). Such a cell is written
with a leading apostrophe, which spreadsheets show as text. So that reading a file back
loses nothing, every cell that begins with an apostrophe gets one more, and `unguarded`
takes exactly one away again.
"""

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
GUARD = "'"
# Excel in Norway reads a comma as the decimal mark and opens comma-separated files as
# one column; with semicolons it splits them.
CSV_DELIMITER = ";"
# The byte-order mark tells Excel the file is UTF-8; without it æ, ø and å come out garbled.
BOM = "\ufeff"
# Characters XML 1.0 (and so XLSX) cannot hold; openpyxl refuses them.
XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def guarded(value: str) -> str:
    """`value` as a spreadsheet shows it as text, never runs it."""
    if value.startswith((*FORMULA_STARTS, GUARD)):
        return GUARD + value
    return value


# A cell is guarded when its first character is one of these (all are one character long).
GUARDED_FIRST = frozenset((*FORMULA_STARTS, GUARD))


def guarded_row(values: list) -> list:
    """`values` with every text guarded: `guarded` for a whole row, without a call per cell
    (an export of the whole bank has millions of cells)."""
    return [
        GUARD + value if type(value) is str and value[:1] in GUARDED_FIRST else value
        for value in values
    ]


def unguarded(value: str) -> str:
    """What `guarded` was given."""
    return value[1:] if value.startswith(GUARD) else value


def xlsx_text(value: str) -> str:
    """`value` guarded, without the control characters an XLSX file cannot hold."""
    return guarded(XML_ILLEGAL.sub("", value))


class Echo:
    """A file-like object whose write returns what it was given: csv.writer into a stream
    (Django's documentation, "Streaming large CSV files")."""

    def write(self, value: str) -> str:
        return value
