"""Commitment templates, one YAML file per type in config/commitments/."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError

from xinyong.core.errors import NotFound
from xinyong.core.settings import get_settings


class Template(BaseModel):
    code: str = Field(pattern=r"^[a-z_]{2,32}$")
    name: str
    catalog_type: str
    title: str
    legal_basis: str
    text: str
    requires_acceptor: bool = False
    requires_record: bool = False


class TemplateError(ValueError):
    pass


def load_templates(directory: Path) -> dict[str, Template]:
    out: dict[str, Template] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            tpl = Template.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except (yaml.YAMLError, ValidationError) as exc:
            raise TemplateError(f"{path}：承诺书模板有误（{exc}）") from exc
        if tpl.code in out:
            raise TemplateError(f"{path}：承诺类型代码“{tpl.code}”重复")
        out[tpl.code] = tpl
    return out


@lru_cache(maxsize=4)
def _cached(directory: str) -> dict[str, Template]:
    return load_templates(Path(directory))


def templates() -> dict[str, Template]:
    return _cached(str(get_settings().config_dir / "commitments"))


def get_template(code: str) -> Template:
    tpl = templates().get(code)
    if tpl is None:
        names = "、".join(f"{t.code}（{t.name}）" for t in templates().values())
        raise NotFound(f"承诺类型“{code}”不存在；可选：{names}")
    return tpl
