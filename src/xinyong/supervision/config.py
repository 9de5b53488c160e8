"""Graded supervision schemes from config/supervision/*.yaml: per department or sector, the evaluation model whose
grades stratify the draw, the inspection ratio (or all) and frequency per grade, and the measures per grade, each
with its legal basis. A broken file stops loading with file, line and reason in Chinese."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from xinyong.catalog.service import config_dir
from xinyong.core.errors import NotFound
from xinyong.evaluation.grades import COMPREHENSIVE, grade_order
from xinyong.lists.config import LegalBasis
from xinyong.lists.yamlconf import ConfigError, display, line_of, node_at, parse, validate, yaml_files
from xinyong.supervision import rules

WHAT = "分级分类监管配置"
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
_DEPT = re.compile(r"^[A-Z][A-Z0-9_]*$")


class GradeMeasure(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    text: str = Field(min_length=1)
    legal_basis: list[LegalBasis] = Field(min_length=1)

    def basis_text(self) -> str:
        return "；".join(b.text() for b in self.legal_basis)


class GradeRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    grade: str = Field(min_length=1)
    ratio: float | None            # None: everyone (all)
    frequency: str = Field(min_length=1)
    measures: list[GradeMeasure] = Field(default_factory=list)

    @field_validator("ratio", mode="before")
    @classmethod
    def _ratio(cls, value: object) -> float | None:
        return rules.parse_ratio(value)

    @property
    def ratio_text(self) -> str:
        return "全部" if self.ratio is None else f"{self.ratio * 100:g}%"


class Scheme(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    code: str
    name: str = Field(min_length=1)
    departments: list[str] = Field(min_length=1)
    model: str = COMPREHENSIVE
    legal_basis: list[LegalBasis] = Field(min_length=1)
    grades: list[GradeRule] = Field(min_length=1)

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not _CODE.match(value):
            raise ValueError("须为小写英文字母、数字和下划线，以字母开头")
        return value

    @field_validator("departments")
    @classmethod
    def _depts(cls, value: list[str]) -> list[str]:
        for code in value:
            if not _DEPT.match(code):
                raise ValueError(f"部门代码“{code}”格式不对：应为大写字母代码，如 SCJG、SW")
        return value

    def strata(self) -> list[str]:
        """Stratum names in draw order: the model's grades best → worst, then 未评价."""
        return [g.grade for g in self.grades]

    def ratios(self) -> dict[str, float | None]:
        return {g.grade: g.ratio for g in self.grades}

    def rule_for(self, grade: str | None) -> GradeRule | None:
        wanted = grade or rules.UNGRADED
        return next((g for g in self.grades if g.grade == wanted), None)

    def basis_text(self) -> str:
        return "；".join(b.text() for b in self.legal_basis)


class Schemes(BaseModel):
    model_config = ConfigDict(frozen=True)
    items: dict[str, Scheme]

    def get(self, code: str) -> Scheme:
        found = self.items.get(code)
        if found is None:
            raise NotFound(f"分级分类监管方案“{code}”不存在；可用方案：{'、'.join(self.items) or '无'}",
                           rule="supervision.scheme_unknown")
        return found

    def for_dept(self, dept_code: str, *, office: bool = False) -> list[Scheme]:
        return [s for s in self.items.values() if office or dept_code in s.departments]


def load_schemes(directory: Path) -> Schemes:
    if not directory.is_dir():
        return Schemes(items={})
    items: dict[str, Scheme] = {}
    problems: list[str] = []
    first: ConfigError | None = None
    for path in yaml_files(directory):
        try:
            scheme = _load_file(path)
            if scheme.code in items:
                raise ConfigError(f"{WHAT} {display(path)} 第1行：方案代码 {scheme.code} 重复", path=display(path), line=1)
            items[scheme.code] = scheme
        except ConfigError as exc:
            problems.append(str(exc))
            first = first or exc
    if first is not None:
        raise ConfigError("\n".join(problems), path=first.path, line=first.line)
    return Schemes(items=items)


def _load_file(path: Path) -> Scheme:
    root, data = parse(path, WHAT)
    shown = display(path)
    scheme = validate(Scheme, root, data, path, WHAT)
    try:
        order = grade_order(scheme.model)
    except KeyError:
        line = line_of(node_at(root, ("model",)))
        raise ConfigError(f"{WHAT} {shown} 第{line}行：评价模型 {scheme.model} 不存在，请核对模型编号", path=shown,
                          line=line) from None
    wanted = [*order, rules.UNGRADED]
    seen: list[str] = []
    for i, g in enumerate(scheme.grades):
        line = line_of(node_at(root, ("grades", i, "grade")))
        if g.grade not in wanted:
            raise ConfigError(f"{WHAT} {shown} 第{line}行：等级“{g.grade}”不是模型 {scheme.model} 的等级；"
                              f"应为 {'、'.join(wanted)} 之一", path=shown, line=line)
        if g.grade in seen:
            raise ConfigError(f"{WHAT} {shown} 第{line}行：等级“{g.grade}”重复", path=shown, line=line)
        seen.append(g.grade)
    missing = [g for g in wanted if g not in seen]
    if missing:
        line = line_of(node_at(root, ("grades",)))
        raise ConfigError(f"{WHAT} {shown} 第{line}行：缺少等级 {'、'.join(missing)} 的抽查比例（每个等级和“未评价”都要写）",
                          path=shown, line=line)
    ordered = sorted(scheme.grades, key=lambda g: wanted.index(g.grade))
    return scheme.model_copy(update={"grades": ordered})


def get_schemes() -> Schemes:
    return _cached(str((config_dir() / "supervision").resolve()))


@lru_cache(maxsize=4)
def _cached(directory: str) -> Schemes:
    return load_schemes(Path(directory))
