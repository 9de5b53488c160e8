"""`xinyong supervision …`: graded supervision schemes, and a plan's draw and its verification."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="分级分类监管（双随机抽查、诚信约谈）", no_args_is_help=True)
err = Console(stderr=True)


def _fail(message: str) -> None:
    err.print(f"[red]错误：[/red]{message}")
    raise typer.Exit(1)


@app.command("schemes")
def schemes() -> None:
    """列出分级分类监管方案（config/supervision）：各等级抽查比例、频次。"""
    from xinyong.lists.yamlconf import ConfigError
    from xinyong.supervision.config import get_schemes

    try:
        found = get_schemes()
    except ConfigError as exc:
        _fail(str(exc))
        return
    console = Console()
    for s in found.items.values():
        table = Table(title=f"{s.name}（{s.code}，适用部门：{'、'.join(s.departments)}，模型 {s.model}）")
        for col in ("等级", "抽查比例", "频次", "措施"):
            table.add_column(col)
        for g in s.grades:
            table.add_row(g.grade, g.ratio_text, g.frequency, "；".join(m.text for m in g.measures) or "—")
        console.print(table)


@app.command("draw")
def draw(plan_no: Annotated[str, typer.Argument(help="抽查计划编号")],
         seed: Annotated[int | None, typer.Option("--seed", help="随机种子（不填则随机生成）")] = None) -> None:
    """为草拟状态的抽查计划按等级分层随机抽取检查对象，并为每户随机选派两名检查人员。"""
    from xinyong.core.db import session_scope
    from xinyong.core.errors import DomainError
    from xinyong.supervision import service

    try:
        with session_scope() as session:
            plan = service.get_plan(session, plan_no)
            d = service.draw_plan(session, plan, actor="cli", seed=seed)
            out = {"plan_no": plan.plan_no, "seed": d.seed, "population": d.population_size,
                   "drawn": sum(json.loads(d.inputs)["allocation"].values()),
                   "allocation": json.loads(d.inputs)["allocation"], "result_digest": d.result_digest}
    except DomainError as exc:
        _fail(exc.detail)
        return
    print(json.dumps(out, ensure_ascii=False))


@app.command("verify")
def verify(plan_no: Annotated[str, typer.Argument(help="抽查计划编号")]) -> None:
    """按保存的种子和输入重新计算抽取结果，核对与保存的是否一致。"""
    from xinyong.core.db import session_scope
    from xinyong.core.errors import DomainError
    from xinyong.supervision import service

    try:
        with session_scope() as session:
            result = service.verify(session, service.get_plan(session, plan_no))
    except DomainError as exc:
        _fail(exc.detail)
        return
    print(json.dumps(result, ensure_ascii=False))
    if not result["verified"]:
        raise typer.Exit(2)
