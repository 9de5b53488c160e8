"""`xinyong audit …`: verify the tamper-evident audit chain."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(help="审计日志", no_args_is_help=True)
err = Console(stderr=True)


@app.command("verify")
def verify(as_json: Annotated[bool, typer.Option("--json", help="在标准输出打印 JSON 结果")] = False) -> None:
    """校验审计链：完整时返回 0；被修改或删除时返回 1，并指出第一条出问题的事件。"""
    from xinyong.core.audit import verify_chain
    from xinyong.core.db import session_scope

    with session_scope() as session:
        result = verify_chain(session)
    if as_json:
        print(json.dumps({"ok": result.ok, "events": result.events, "first_broken": result.first_broken,
                          "reason": result.reason}, ensure_ascii=False))
    if result.ok:
        err.print(f"审计链完整：共 {result.events} 条事件，哈希链与锚点一致")
        return
    err.print(f"[red]审计链已被破坏：[/red]第 {result.first_broken} 号事件 —— {result.reason}")
    raise typer.Exit(1)
