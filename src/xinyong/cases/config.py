"""Due-process settings (deadlines, repair rule overrides, complaint routing) from config/due_process.yaml.

Shared by objections, repair and complaints; missing file or keys fall back to the defaults below.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError

from xinyong.core.settings import get_settings


class AttachmentPolicy(BaseModel):
    max_mb: float = 10
    max_files: int = 5
    types: list[str] = Field(default_factory=lambda: ["pdf", "jpg", "png"])


class ObjectionPolicy(BaseModel):
    answer_workdays: int = Field(5, ge=1, le=60)
    decide_workdays: int = Field(10, ge=1, le=90)


class Exclusion(BaseModel):
    name: str
    departments: list[str] = Field(default_factory=list)
    penalty_types: list[str] = Field(default_factory=list)
    reason: str


class MinOverride(BaseModel):
    name: str
    departments: list[str] = Field(default_factory=list)
    months: int = Field(ge=0, le=60)
    reason: str


class RepairPolicy(BaseModel):
    decide_workdays: int = Field(10, ge=1, le=60)
    sync_targets: list[str] = Field(default_factory=lambda: ["provincial", "national"])
    repairable_items: list[str] = Field(default_factory=lambda: ["admin_penalty", "business_abnormal",
                                                                 "serious_dishonesty", "credit_commitment"])
    not_repairable: dict[str, str] = Field(default_factory=dict)
    exclusions: list[Exclusion] = Field(default_factory=list)
    min_months_overrides: list[MinOverride] = Field(default_factory=list)


class ComplaintPolicy(BaseModel):
    assign_workdays: int = Field(3, ge=1, le=30)
    handle_workdays: int = Field(15, ge=1, le=90)
    categories: dict[str, str] = Field(default_factory=lambda: {"其他": "XYB"})


class DueProcessConfig(BaseModel):
    attachments: AttachmentPolicy = Field(default_factory=AttachmentPolicy)
    objections: ObjectionPolicy = Field(default_factory=ObjectionPolicy)
    repair: RepairPolicy = Field(default_factory=RepairPolicy)
    complaints: ComplaintPolicy = Field(default_factory=ComplaintPolicy)


class DueProcessConfigError(ValueError):
    pass


def load(path: Path) -> DueProcessConfig:
    if not path.is_file():
        return DueProcessConfig()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return DueProcessConfig.model_validate(data)
    except (yaml.YAMLError, ValidationError) as exc:
        raise DueProcessConfigError(f"{path}：配置有误（{exc}），请对照仓库中的 config/due_process.yaml 修改") from exc


@lru_cache(maxsize=4)
def _cached(path: str) -> DueProcessConfig:
    return load(Path(path))


def get_config() -> DueProcessConfig:
    return _cached(str(get_settings().config_dir / "due_process.yaml"))
