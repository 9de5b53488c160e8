"""Indicators and population from configuration: config/indicators/*.yaml and config/population/*.yaml.

An indicator file holds `indicators: [...]`; each names a *source*, a computation registered in
`stats.indicators` (other modules register theirs with `register_source`). A broken file stops loading with
the file, the line and the reason, in Chinese. Population is entered by the operator, one file per year.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from xinyong.catalog.service import config_dir
from xinyong.lists.yamlconf import ConfigError, display, line_of, node_at, parse, validate, yaml_files
from xinyong.stats.rules import GROUPS, UNIT_SCALE, Op, better

WHAT = "监测指标配置"
WHAT_POP = "人口配置"
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
SECTIONS: dict[str, str] = {
    "collection": "信用信息归集",
    "dual_publicity": "双公示",
    "quality": "数据质量",
    "lists": "红黑名单与联合奖惩",
    "due_process": "异议、修复与投诉",
    "checks": "信用核查",
    "evaluation": "综合评价与分级监管",
    "exchange": "共享交换",
}


class Definition(BaseModel):
    """口径: what is counted, over what, in which window — the words users read."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    numerator: str = Field(min_length=1)
    denominator: str | None = None
    window: str = Field(min_length=1)


class Target(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    op: Op
    value: float
    basis: str | None = None  # where the target comes from (a local document)


class Indicator(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str = Field(min_length=1)
    section: str
    definition: Definition
    unit: str = Field(min_length=1)
    groups: list[str] = Field(min_length=1)
    target: Target | None = None
    source: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)
    public: bool = False     # shown on the public /statistics page
    drill: bool = False       # a number links to the rows behind it (its source registers a drill)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("指标代码须为小写英文字母、数字和下划线，以字母开头")
        return value

    @field_validator("section")
    @classmethod
    def _section(cls, value: str) -> str:
        if value not in SECTIONS:
            raise ValueError(f"栏目“{value}”不存在，可选：{'、'.join(SECTIONS)}")
        return value

    @field_validator("groups")
    @classmethod
    def _groups(cls, value: list[str]) -> list[str]:
        for g in value:
            if g not in GROUPS:
                raise ValueError(f"分组“{g}”不存在，可选：{'、'.join(GROUPS)}")
        if "city" not in value:
            raise ValueError("分组须包含 city（全市）")
        return value

    @property
    def is_ratio(self) -> bool:
        return self.definition.denominator is not None

    @property
    def section_label(self) -> str:
        return SECTIONS[self.section]

    @property
    def target_text(self) -> str:
        if self.target is None:
            return "—"
        return f"{self.target.op} {self.target.value:g}{self.unit if self.unit in UNIT_SCALE else ''}"

    @property
    def direction(self) -> str | None:
        return better(self.target.op) if self.target else None


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    indicators: list[dict[str, object]] = Field(min_length=1)


class Indicators(BaseModel):
    model_config = ConfigDict(frozen=True)
    items: dict[str, Indicator]

    def list(self) -> list[Indicator]:
        order = list(SECTIONS)
        return sorted(self.items.values(), key=lambda i: order.index(i.section))

    def get(self, indicator_id: str) -> Indicator | None:
        return self.items.get(indicator_id)


def load_indicators(directory: Path, sources: Iterable[str], drillable: Iterable[str] = ()) -> Indicators:
    if not directory.is_dir():
        raise ConfigError(f"找不到监测指标配置文件夹 {display(directory)}", path=str(directory))
    known, drills = frozenset(sources), frozenset(drillable)
    items: dict[str, Indicator] = {}
    for path in yaml_files(directory):
        root, data = parse(path, WHAT)
        shown = display(path)
        parsed = validate(_File, root, data, path, WHAT)
        for i, raw in enumerate(parsed.indicators):
            ind = validate(Indicator, root, raw, path, WHAT, prefix=("indicators", i))
            if ind.id in items:
                line = line_of(node_at(root, ("indicators", i, "id")))
                raise ConfigError(f"{WHAT} {shown} 第{line}行：指标代码 {ind.id} 重复", path=shown, line=line)
            if ind.source not in known:
                line = line_of(node_at(root, ("indicators", i, "source")))
                raise ConfigError(f"{WHAT} {shown} 第{line}行：指标 {ind.id} 的数据来源 {ind.source} 不存在；"
                                  f"可用的来源：{'、'.join(sorted(known))}", path=shown, line=line)
            if ind.drill and ind.source not in drills:
                line = line_of(node_at(root, ("indicators", i, "drill")))
                raise ConfigError(f"{WHAT} {shown} 第{line}行：指标 {ind.id} 的数据来源 {ind.source} 不提供明细，"
                                  "请删除 drill", path=shown, line=line)
            items[ind.id] = ind
    return Indicators(items=items)


# ---------------------------------------------------------------- population


class RegionPopulation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    code: str = Field(pattern=r"^\d{6}$")
    name: str = Field(min_length=1)
    population: int
    adults: int

    @field_validator("population", "adults", mode="before")
    @classmethod
    def _count(cls, value: object) -> object:
        if value is None or value == "":
            raise ValueError("人口数不能为空，请填写统计部门公布的常住人口数")
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"人口数应为整数（收到“{str(value)[:20]}”）")
        if value < 0:
            raise ValueError(f"人口数不能为负数（收到 {value}），请核对后重新填写")
        return value


class PopulationYear(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    year: int = Field(ge=2000, le=2999)
    regions: list[RegionPopulation] = Field(min_length=1)

    @property
    def population(self) -> int:
        return sum(r.population for r in self.regions)

    @property
    def adults(self) -> int:
        return sum(r.adults for r in self.regions)


class Population(BaseModel):
    model_config = ConfigDict(frozen=True)
    years: dict[int, PopulationYear]

    def for_year(self, year: int) -> PopulationYear | None:
        """The figures of that year, else of the latest year before it."""
        usable = [y for y in self.years if y <= year]
        return self.years[max(usable)] if usable else None


def load_population(directory: Path) -> Population:
    years: dict[int, PopulationYear] = {}
    if not directory.is_dir():
        return Population(years=years)
    for path in yaml_files(directory):
        root, data = parse(path, WHAT_POP)
        entry = validate(PopulationYear, root, data, path, WHAT_POP)
        if entry.year in years:
            shown = display(path)
            line = line_of(node_at(root, ("year",)))
            raise ConfigError(f"{WHAT_POP} {shown} 第{line}行：{entry.year} 年的人口已在另一个文件中填写", path=shown,
                              line=line)
        years[entry.year] = entry
    return Population(years=years)


def indicators_dir() -> Path:
    return config_dir() / "indicators"


def population_dir() -> Path:
    return config_dir() / "population"


@lru_cache(maxsize=8)
def cached_indicators(directory: str, sources: frozenset[str], drillable: frozenset[str]) -> Indicators:
    return load_indicators(Path(directory), sources, drillable)


@lru_cache(maxsize=4)
def cached_population(directory: str) -> Population:
    return load_population(Path(directory))


def get_population() -> Population:
    return cached_population(str(population_dir().resolve()))
