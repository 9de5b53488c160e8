"""Measures from config/measures/*.yaml: each file holds `measures: [...]`; every measure needs a legal basis."""

from __future__ import annotations

import builtins
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from xinyong.catalog.service import config_dir
from xinyong.core.errors import NotFound
from xinyong.lists.config import LegalBasis, ListTypes, get_list_types
from xinyong.lists.yamlconf import ConfigError, display, line_of, node_at, parse, validate, yaml_files

WHAT = "措施清单配置"
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
_DEPT = re.compile(r"^[A-Z][A-Z0-9_]*$")
TYPE_LABELS = {
    "1": "第一类：依法依规减损权益或增加义务的措施",
    "2": "第二类：根据履职需要实施的管理措施",
    "3": "第三类：市场和社会力量实施的措施",
    "incentive": "守信激励措施",
}


class Measure(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    name: str = Field(min_length=1)
    type: Literal["1", "2", "3", "incentive"]
    legal_basis: list[LegalBasis] = Field(min_length=1)
    implementers: list[str] = Field(min_length=1)
    list_types: list[str] = Field(min_length=1)
    description: str | None = None

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not _CODE.match(value):
            raise ValueError("须为小写英文字母、数字和下划线，以字母开头")
        return value

    @field_validator("implementers")
    @classmethod
    def _depts(cls, value: list[str]) -> list[str]:
        for code in value:
            if not _DEPT.match(code):
                raise ValueError(f"部门代码“{code}”格式不对：应为大写字母代码，如 SCJG、SW")
        return value

    @property
    def type_label(self) -> str:
        return TYPE_LABELS[self.type]

    @property
    def is_incentive(self) -> bool:
        return self.type == "incentive"

    def basis_text(self) -> str:
        return "；".join(b.text() for b in self.legal_basis)


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    measures: list[dict[str, object]] = Field(min_length=1)


class Measures(BaseModel):
    model_config = ConfigDict(frozen=True)
    items: dict[str, Measure]

    def get(self, code: str) -> Measure:
        found = self.items.get(code)
        if found is None:
            raise NotFound(f"措施“{code}”不在措施清单中", rule="measure.unknown")
        return found

    def list(self) -> list[Measure]:
        return sorted(self.items.values(), key=lambda m: (m.type, m.code))

    def for_list_type(self, list_type: str) -> builtins.list[Measure]:
        return [m for m in self.list() if list_type in m.list_types]


def load_measures(directory: Path, list_types: ListTypes) -> Measures:
    if not directory.is_dir():
        raise ConfigError(f"找不到措施清单配置文件夹 {display(directory)}", path=str(directory))
    items: dict[str, Measure] = {}
    problems: list[str] = []
    first: ConfigError | None = None
    for path in yaml_files(directory):
        try:
            for measure in _load_file(path, list_types, items):
                items[measure.code] = measure
        except ConfigError as exc:
            problems.append(str(exc))
            first = first or exc
    if first is not None:
        raise ConfigError("\n".join(problems), path=first.path, line=first.line)
    return Measures(items=items)


def _load_file(path: Path, list_types: ListTypes, seen: dict[str, Measure]) -> list[Measure]:
    root, data = parse(path, WHAT)
    shown = display(path)
    parsed = validate(_File, root, data, path, WHAT)
    out: list[Measure] = []
    for i, raw in enumerate(parsed.measures):
        measure = validate(Measure, root, raw, path, WHAT, prefix=("measures", i))
        if measure.code in seen or any(m.code == measure.code for m in out):
            line = line_of(node_at(root, ("measures", i, "code")))
            raise ConfigError(f"{WHAT} {shown} 第{line}行：措施代码 {measure.code} 重复", path=shown, line=line)
        for j, code in enumerate(measure.list_types):
            lt = list_types.find(code)
            line = line_of(node_at(root, ("measures", i, "list_types", j)))
            if lt is None:
                raise ConfigError(f"{WHAT} {shown} 第{line}行：措施 {measure.code} 引用的名单类型 {code} 不存在",
                                  path=shown, line=line)
            if (lt.kind == "red") != measure.is_incentive:
                wanted = "激励措施只能由红名单触发" if measure.is_incentive else "惩戒措施只能由黑名单触发"
                raise ConfigError(f"{WHAT} {shown} 第{line}行：措施 {measure.code} {wanted}（{code} 是{lt.kind_label}）",
                                  path=shown, line=line)
        out.append(measure)
    return out


def get_measures() -> Measures:
    """The measures of the configuration directory in use (XINYONG_CONFIG_DIR, as for the list types)."""
    return _cached(str((config_dir() / "measures").resolve()))


@lru_cache(maxsize=4)
def _cached(directory: str) -> Measures:
    return load_measures(Path(directory), get_list_types())
