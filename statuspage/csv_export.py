"""CSV downloads that a spreadsheet opens as data, never as formulas.

A cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to Excel,
LibreOffice and Google Sheets (`=cmd|' /C calc'!A0`, `=HYPERLINK(...)`): such a cell is
prefixed with a single quote, which spreadsheets show as text (OWASP "CSV injection"). Every
CSV the service exports goes through `csv_response`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable

from django.http import HttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value) -> str:
    """One cell as text a spreadsheet does not evaluate."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def csv_response(filename: str, rows: Iterable[Iterable]) -> HttpResponse:
    """An attachment with every cell neutralized."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    for row in rows:
        writer.writerow([neutralize(cell) for cell in row])
    return response
