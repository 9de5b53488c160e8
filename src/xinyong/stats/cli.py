"""`xinyong stats …`: build the monthly snapshots and write the monthly report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

app = typer.Typer(help="监测统计：指标快照与月报", no_args_is_help=True)
err = Console(stderr=True)


def _fail(message: str) -> None:
    err.print(f"[red]错误：[/red]{message}")
    raise typer.Exit(1)


@app.command("build")
def build(month: Annotated[str | None, typer.Option("--month", help="统计月份 YYYY-MM（默认本月）")] = None,
          rebuild: Annotated[bool, typer.Option("--rebuild", help="重算已结账（冻结）的月份，记入审计日志")] = False) -> None:
    """计算一个月的全部监测指标，写入月度快照（页面和月报只读快照）。已结账的月份须加 --rebuild 才能重算。"""
    from xinyong.core import clock
    from xinyong.core.db import session_scope
    from xinyong.core.errors import DomainError
    from xinyong.lists.yamlconf import ConfigError
    from xinyong.stats import service

    today = clock.today()
    label = month or f"{today:%Y-%m}"
    try:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err,
                      transient=True) as bar:
            task = bar.add_task(f"统计 {label}")
            with session_scope() as session:
                result = service.build_month(session, label, today=today, actor="cli", rebuild=rebuild,
                                             progress=lambda name: bar.update(task, description=f"统计 {label}：{name}"))
    except DomainError as exc:
        _fail(exc.detail)
        return
    except ConfigError as exc:
        _fail(str(exc))
        return
    state = "已结账" if result["state"] == "closed" else "本月统计中"
    again = "（重算，已记入审计日志）" if result["rebuilt"] else ""
    err.print(f"{result['month']}（{state}）：{result['indicators']} 项指标，快照 {result['rows']} 行，"
              f"用时 {result['seconds']:.2f} 秒{again}")


@app.command("report")
def report_cmd(month: Annotated[str, typer.Option("--month", help="统计月份 YYYY-MM")],
               out: Annotated[Path, typer.Option("--out", help="输出文件夹")]) -> None:
    """写出月报：月报-YYYY-MM.xlsx 和 月报-YYYY-MM.pdf（须先运行 xinyong stats build 生成该月快照）。"""
    from xinyong.core.db import session_scope
    from xinyong.core.errors import DomainError
    from xinyong.stats import report, service

    try:
        with session_scope() as session:
            m = service.resolve_month(session, month)
            data = report.report_data(session, m)
        xlsx, pdf = report.to_xlsx(data), report.to_pdf(data)
    except DomainError as exc:
        _fail(exc.detail)
        return
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / f"月报-{m.label}.xlsx").write_bytes(xlsx)
        (out / f"月报-{m.label}.pdf").write_bytes(pdf)
    except OSError as exc:
        _fail(f"无法写入文件夹 {out}：{exc.strerror or exc}；请检查路径和权限")
        return
    err.print(f"已写出 {out / f'月报-{m.label}.xlsx'} 和 {out / f'月报-{m.label}.pdf'}")
