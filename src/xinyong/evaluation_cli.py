"""`xinyong evaluation …`: list the models, run one (full), refresh what changed. At the top of the package
(like audit_cli) because it loads every domain first (web.app.load_domains), so later domains hear of grade changes."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="公共信用综合评价", no_args_is_help=True)
err = Console(stderr=True)


def _fail(message: str) -> None:
    err.print(f"[red]错误：[/red]{message}")
    raise typer.Exit(1)


def _load() -> None:
    from xinyong.web.app import load_domains

    load_domains()


@app.command("models")
def models(as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False) -> None:
    """列出评价模型（config/evaluation/*.yaml）；模型有错时指出文件、行号和原因。"""
    from xinyong.evaluation import service
    from xinyong.lists.yamlconf import ConfigError

    try:
        items = service.model_list()
    except ConfigError as exc:
        _fail(str(exc))
        return
    if as_json:
        print(json.dumps([m.model_dump() for m in items], ensure_ascii=False))
        return
    table = Table("代码", "名称", "版本", "主体类型", "基础分", "等级", "末级指标", "直接判级", "向社会公开")
    for m in items:
        table.add_row(m.id, m.name, m.version, "、".join(m.subject_kinds), f"{m.base_score:g}", " ".join(m.grades),
                      str(m.indicators), str(m.overrides), "是" if m.public else "否")
    Console().print(table)


def _print(outcomes: list[object], as_json: bool) -> None:
    from xinyong.evaluation.service import RunOutcome

    for o in outcomes:
        assert isinstance(o, RunOutcome)
        if as_json:
            print(json.dumps(o.as_json(), ensure_ascii=False))
            continue
        grades = "，".join(f"{g} {n:,}" for g, n in o.grades.items()) or "无"
        kind = "增量" if o.kind == "refresh" else "全量"
        err.print(f"评价 {o.run_id}（{o.model} {o.version}，{kind}，{o.engine}）基准日 {o.as_of}：主体 {o.subjects:,} 个；"
                  f"{grades}；用时 {o.seconds:.2f} 秒")
        moved = [(a, b, n) for a, b, n in o.migrations if a != b]
        if moved:
            err.print("等级迁移：" + "，".join(f"{a or '未评价'}→{b or '不再评价'} {n:,}" for a, b, n in moved))


@app.command("run")
def run(model: Annotated[str, typer.Option("--model", help="模型代码，如 city_comprehensive")],
        as_of: Annotated[str | None, typer.Option("--as-of", help="评价基准日 YYYY-MM-DD（默认今天）")] = None,
        engine: Annotated[str, typer.Option("--engine", help="计算引擎：polars（单机）或 spark")] = "polars",
        as_json: Annotated[bool, typer.Option("--json", help="在标准输出打印一个 JSON 对象")] = False) -> None:
    """对模型覆盖的全部主体进行一次评价；结束时整体生效，失败或中断则原结果继续有效。"""
    from xinyong.core.errors import DomainError
    from xinyong.evaluation import service
    from xinyong.lists.yamlconf import ConfigError

    _load()
    day = _day(as_of)
    try:
        outcome = service.run(model, as_of=day, engine=engine)
    except (DomainError, ConfigError) as exc:
        _fail(getattr(exc, "detail", str(exc)))
        return
    _print([outcome], as_json)


@app.command("refresh")
def refresh(model: Annotated[str | None, typer.Option("--model", help="只刷新这一个模型")] = None,
            as_of: Annotated[str | None, typer.Option("--as-of", help="评价基准日 YYYY-MM-DD（默认今天）")] = None,
            as_json: Annotated[bool, typer.Option("--json", help="每个模型打印一个 JSON 对象")] = False) -> None:
    """只重新评价上次评价以来信息有变化的主体（归集、更正、异议、修复、名单列入移出、承诺履约）。"""
    from xinyong.core.errors import DomainError
    from xinyong.evaluation import service
    from xinyong.lists.yamlconf import ConfigError

    _load()
    try:
        outcomes = service.refresh(model, as_of=_day(as_of))
    except (DomainError, ConfigError) as exc:
        _fail(getattr(exc, "detail", str(exc)))
        return
    _print(list(outcomes), as_json)


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        _fail(f"日期“{text}”格式不对，请写 YYYY-MM-DD，如 2026-06-30")
        raise
