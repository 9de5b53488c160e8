"""List types from config/lists/*.yaml (one list type per file, file name = code)."""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from xinyong.catalog.service import config_dir
from xinyong.core.errors import NotFound
from xinyong.lists.yamlconf import ConfigError, display, line_of, node_at, parse, validate, yaml_files

WHAT = "名单类型配置"
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
_DEPT = re.compile(r"^[A-Z][A-Z0-9_]*$")
_DOCUMENT = re.compile(r"《.+》")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LegalBasis(_Model):
    document: str = Field(min_length=1)
    article: str | None = None

    @field_validator("document")
    @classmethod
    def _named(cls, value: str) -> str:
        value = value.strip()
        if not _DOCUMENT.search(value):
            raise ValueError(f"“{value[:40]}”不像文件名称：请写出《法律、法规或文件名称》及文号")
        return value

    def text(self) -> str:
        return self.document + (self.article or "")


class Term(_Model):
    default_months: int = Field(gt=0)
    max_months: int = Field(gt=0)


def _dept_codes(codes: list[str]) -> list[str]:
    for code in codes:
        if not _DEPT.match(code):
            raise ValueError(f"部门代码“{code}”格式不对：应为大写字母代码，如 SCJG、SW")
    return codes


class ListType(_Model):
    code: str
    name: str = Field(min_length=1)
    kind: Literal["red", "black"]
    legal_basis: list[LegalBasis] = Field(min_length=1)
    entry_criteria: str = Field(min_length=1)
    term: Term
    exit_conditions: list[str] = Field(min_length=1)
    remedies: str = Field(min_length=1)
    consulted_on: date | None = None
    published_on: date | None = None
    initiators: list[str] = Field(min_length=1)
    responsible_persons: bool = False
    public: bool = True
    # platform: decided by the initiator, notified before publication; imported: decided elsewhere (courts).
    source: Literal["platform", "imported"] = "platform"
    catalog_item: str | None = None
    description: str | None = None

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not _CODE.match(value):
            raise ValueError("须为小写英文字母、数字和下划线，以字母开头")
        return value

    @field_validator("initiators")
    @classmethod
    def _initiators(cls, value: list[str]) -> list[str]:
        return _dept_codes(value)

    @property
    def kind_label(self) -> str:
        return "红名单" if self.kind == "red" else "黑名单"

    def basis_text(self) -> str:
        return "；".join(b.text() for b in self.legal_basis)


class ListTypes(_Model):
    items: dict[str, ListType]

    def find(self, code: str) -> ListType | None:
        return self.items.get(code)

    def get(self, code: str) -> ListType:
        found = self.items.get(code)
        if found is None:
            raise NotFound(f"名单类型“{code}”不存在，可选：{'、'.join(sorted(self.items))}", rule="list_type.unknown")
        return found

    def list(self) -> list[ListType]:
        return sorted(self.items.values(), key=lambda t: (t.kind != "black", t.code))


def load_list_type(path: Path) -> ListType:
    root, data = parse(path, WHAT)
    item = validate(ListType, root, data, path, WHAT)
    if item.term.default_months > item.term.max_months:
        line = line_of(node_at(root, ("term", "default_months")))
        raise ConfigError(f"{WHAT} {display(path)} 第{line}行：默认期限 {item.term.default_months} 个月超过最长期限 "
                          f"{item.term.max_months} 个月", path=display(path), line=line)
    if item.code != path.stem:
        line = line_of(node_at(root, ("code",)))
        raise ConfigError(f"{WHAT} {display(path)} 第{line}行：名单类型代码 code “{item.code}”与文件名“{path.name}”不一致",
                          path=display(path), line=line)
    return item


def load_list_types(directory: Path) -> ListTypes:
    if not directory.is_dir():
        raise ConfigError(f"找不到名单类型配置文件夹 {display(directory)}", path=str(directory))
    items: dict[str, ListType] = {}
    problems: list[ConfigError] = []
    for path in yaml_files(directory):
        try:
            item = load_list_type(path)
        except ConfigError as exc:
            problems.append(exc)
            continue
        items[item.code] = item
    if problems:
        raise ConfigError("\n".join(str(p) for p in problems), path=problems[0].path, line=problems[0].line)
    return ListTypes(items=items)


def get_list_types() -> ListTypes:
    """The list types of the configuration directory in use (XINYONG_CONFIG_DIR: tests and benchmarks point it
    at a copy of config/ with their own list types)."""
    return _cached(str((config_dir() / "lists").resolve()))


@lru_cache(maxsize=4)
def _cached(directory: str) -> ListTypes:
    return load_list_types(Path(directory))
