"""`xinyong audit …`: verify the keyed, witnessed audit trail; write its head to the witness."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(help="审计日志", no_args_is_help=True)
err = Console(stderr=True)


@app.command("verify")
def verify(as_json: Annotated[bool, typer.Option("--json", help="在标准输出打印 JSON 结果")] = False) -> None:
    """校验审计链、审计见证与受保护数据表的签名摘要：完整时返回 0；被改写、截断、清空或绕过平台修改时返回 1，并说明原因。"""
    from xinyong import db_models
    from xinyong.core.audit import verify as verify_all
    from xinyong.core.db import session_scope
    from xinyong.core.settings import SecretKeyMissing

    _ = db_models
    try:
        with session_scope() as session:
            result = verify_all(session)
    except SecretKeyMissing as exc:
        err.print(f"[red]无法校验审计链：[/red]{exc}")
        raise typer.Exit(1) from None
    if as_json:
        print(json.dumps({"ok": result.ok, "events": result.events, "first_broken": result.first_broken,
                          "reason": result.reason}, ensure_ascii=False))
    if result.ok:
        err.print(f"审计链完整：共 {result.events} 条事件，校验码、锚点、见证与数据表摘要一致")
        return
    where = f"第 {result.first_broken} 号事件 —— " if result.first_broken else ""
    err.print(f"[red]审计链已被破坏：[/red]{where}{result.reason}")
    raise typer.Exit(1)


@app.command("anchor")
def anchor() -> None:
    """把受保护数据表的签名摘要链入审计链，并把链头写入数据库之外的见证文件（每日任务也会执行）。"""
    from xinyong import db_models
    from xinyong.core.audit import anchor as write_anchor
    from xinyong.core.audit import witness_path
    from xinyong.core.db import session_scope
    from xinyong.core.errors import DomainError
    from xinyong.core.settings import SecretKeyMissing

    _ = db_models
    try:
        with session_scope() as session:
            seq = write_anchor(session, actor="cli").seq
    except (DomainError, SecretKeyMissing) as exc:
        err.print(f"[red]未写入见证：[/red]{getattr(exc, 'detail', str(exc))}。请先运行 `xinyong audit verify` 查明原因")
        raise typer.Exit(1) from None
    from xinyong.core.audit import witnessed

    if not witnessed(seq):
        err.print(f"[red]未写入见证：[/red]第 {seq} 号事件已记入数据库，但见证文件 {witness_path()} 无法写入。"
                  "请检查该目录的写权限后重新运行 `xinyong audit anchor`")
        raise typer.Exit(1)
    err.print(f"已写入见证：第 {seq} 号事件（{witness_path()}）")
