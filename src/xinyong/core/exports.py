"""Spreadsheets the platform writes: text stays text.

A value a department or the public typed ("=HYPERLINK(...)", "+1", "@SUM(...)") must never become a formula
in a file someone opens in Excel or WPS. Every XLSX export is made by `workbook()`, which turns XlsxWriter's
string conversions off, so `write`/`write_row` store every str as a string cell.
"""

from __future__ import annotations

from typing import IO, Any

import xlsxwriter

SAFE_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}


def workbook(out: IO[bytes], **options: Any) -> xlsxwriter.Workbook:
    """An XlsxWriter workbook on `out` (in memory) that never turns a string into a formula, link or number."""
    return xlsxwriter.Workbook(out, {"in_memory": True, **options, **SAFE_OPTIONS})
