"""Upstream targets from config/exchange/*.yaml: what each receives and through which adapter.

```yaml
code: provincial              # the outbox target name (objections and repair queue to provincial / national)
name: 省公共信用信息平台
adapter: service              # file | database | service
receives: [dual_publicity, updates, lists, evaluation]
service: {url: https://…/api/exchange, secret_env: XINYONG_EXCHANGE_PROVINCIAL_SECRET}
# file: {directory: var/exchange/provincial, format: json}      (前置机 drop; csv or json)
# database: {url: postgresql+psycopg://…/qianzhiku}            (前置库)
batch_size: 500
dead_after_hours: 72          # then the event is a dead letter, replayed by an operator
```
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from xinyong.core.errors import Refused
from xinyong.core.settings import get_settings

Kind = Literal["dual_publicity", "updates", "lists", "evaluation"]
DEFAULT_KINDS: tuple[Kind, ...] = ("dual_publicity", "updates", "lists")
KIND_LABELS: dict[str, str] = {"dual_publicity": "双公示", "updates": "更正、撤销、修复与公示结束",
                               "lists": "红黑名单列入与移出", "evaluation": "信用评价结果"}


class FileSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    directory: str
    format: Literal["json", "csv"] = "json"


class DatabaseSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str | None = None
    url_env: str | None = None
    table: str = "xy_exchange_rows"

    def resolved_url(self) -> str:
        url = self.url or (os.environ.get(self.url_env) if self.url_env else None)
        if not url:
            raise Refused(f"前置库地址未配置：请在配置中给出 url，或设置环境变量 {self.url_env or '（url_env）'}")
        return url


class ServiceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str
    secret: str | None = None  # tests and the demo; production names an environment variable
    secret_env: str | None = None
    client_cert: str | None = None  # PEM file (certificate and key) instead of, or beside, the signature
    timeout_seconds: float = 10.0
    verify: bool | str = True

    def resolved_secret(self) -> str | None:
        return self.secret or (os.environ.get(self.secret_env) if self.secret_env else None)


class Target(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")
    name: str
    adapter: Literal["file", "database", "service"]
    receives: list[Kind] = Field(default_factory=lambda: list(DEFAULT_KINDS))
    enabled: bool = True
    file: FileSpec | None = None
    database: DatabaseSpec | None = None
    service: ServiceSpec | None = None
    batch_size: int = Field(default=500, ge=1, le=10000)
    dead_after_hours: float = Field(default=72, gt=0)
    backoff_seconds: float = Field(default=30, gt=0)
    backoff_max_seconds: float = Field(default=3600, gt=0)
    lease_seconds: float = Field(default=120, gt=0)


def _check(target: Target, path: Path) -> Target:
    spec = {"file": target.file, "database": target.database, "service": target.service}[target.adapter]
    if spec is None:
        raise Refused(f"{path.name}：适配器 {target.adapter} 需要同名的配置段（{target.adapter}: …），请补充后重启")
    return target


def load_targets(directory: Path) -> dict[str, Target]:
    targets: dict[str, Target] = {}
    if not directory.is_dir():
        return targets
    for path in sorted(directory.glob("*.yaml")):
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            target = _check(Target.model_validate(raw), path)
        except (yaml.YAMLError, ValidationError) as exc:
            raise Refused(f"交换目标配置 {path.name} 有误：{exc}；请改正后重启") from exc
        if target.code in targets:
            raise Refused(f"交换目标 {target.code} 在 {path.name} 中重复定义，请保留一个")
        targets[target.code] = target
    return targets


def config_dir() -> Path:
    """config/exchange, or the directory named by XINYONG_EXCHANGE_DIR (tests, a second deployment)."""
    override = os.environ.get("XINYONG_EXCHANGE_DIR")
    return Path(override) if override else get_settings().config_dir / "exchange"


@lru_cache(maxsize=4)
def _cached(directory: str) -> dict[str, Target]:
    return load_targets(Path(directory))


def get_targets() -> dict[str, Target]:
    """Enabled and disabled targets by code (config/exchange/*.yaml)."""
    return _cached(str(config_dir()))


def reset_targets() -> None:
    _cached.cache_clear()
