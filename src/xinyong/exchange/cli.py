"""`xinyong worker` and `xinyong exchange …`: the delivery worker and the operators' commands."""

from __future__ import annotations

import json
import signal
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="数据交换（向省级、全国平台报送）", no_args_is_help=True)
err = Console(stderr=True)
out = Console()


def _fail(message: str) -> None:
    err.print(f"[red]错误：[/red]{message}")
    raise typer.Exit(1)


def worker(interval: Annotated[float, typer.Option(help="间隔（秒）：每个间隔扫描、投递一次")] = 60.0,
           once: Annotated[bool, typer.Option("--once", help="只运行一轮后退出")] = False,
           no_jobs: Annotated[bool, typer.Option("--no-jobs", help="不运行 Webhook 与每日任务")] = False) -> None:
    """后台工作进程：向上级平台扫描、投递数据，投递 Webhook，运行每日任务。可同时运行多个（数据库租约防止重复投递）。

    The caller imports every domain first (their jobs and sources register at import): `xinyong.cli` does."""
    from xinyong.core.errors import DomainError
    from xinyong.exchange.worker import Worker

    try:
        w = Worker(interval=interval, run_jobs=not no_jobs)
        w.targets()  # a broken configuration stops start-up with its message
    except DomainError as exc:
        _fail(exc.detail)
        return
    if once:
        print(json.dumps(w.run_once(), ensure_ascii=False, default=str))
        return

    def stop(_sig: int, _frame: Any) -> None:
        w.stop_event.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    err.print(f"工作进程已启动（{w.owner}，间隔 {interval:g} 秒）；Ctrl+C 停止")
    w.run_forever()


@app.command("status")
def status(as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False) -> None:
    """各交换目标的待发送、已送达、被退回、死信数量与最近一次成功。"""
    from xinyong.core import clock
    from xinyong.core.db import session_scope
    from xinyong.core.errors import DomainError
    from xinyong.exchange import service

    try:
        with session_scope() as session:
            rows = service.target_status(session, today=clock.today())
    except DomainError as exc:
        _fail(exc.detail)
        return
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, default=str))
        return
    table = Table("目标", "方式", "待发送", "已送达", "被退回", "死信", "逾期", "最早未送达", "最近成功")
    for r in rows:
        table.add_row(f"{r['code']} {r['name']}", r["adapter"], str(r["queued"]), str(r["delivered"]),
                      str(r["rejected"]), str(r["dead"]), str(r["late"]), str(r["oldest_undelivered"] or "—"),
                      str(r["last_success"] or "—"))
    out.print(table)


@app.command("replay")
def replay(target: Annotated[str, typer.Option("--target", help="目标代码，如 provincial")],
           rejected: Annotated[bool, typer.Option("--rejected", help="同时重发被退回的事件")] = False) -> None:
    """把死信（及可选的被退回事件）重新排队；幂等键不变，接收方不会多出一份。"""
    from xinyong.core.db import session_scope
    from xinyong.core.errors import DomainError
    from xinyong.exchange import service

    states = ("dead", "rejected") if rejected else ("dead",)
    try:
        with session_scope() as session:
            n = service.replay(session, target, actor="cli", states=states)
    except DomainError as exc:
        _fail(exc.detail)
        return
    err.print(f"已重新排队 {n} 个事件")
