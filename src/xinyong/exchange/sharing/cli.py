"""`xinyong partner …`: the credit office's commands for sharing partners."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="共享合作方（部门、银行、公用事业单位、其他平台、上级平台）", no_args_is_help=True)
err = Console(stderr=True)
out = Console()


def _fail(message: str) -> None:
    err.print(f"[red]错误：[/red]{message}")
    raise typer.Exit(1)


@app.command("add")
def add(code: Annotated[str, typer.Option("--code", help="合作方代码")],
        name: Annotated[str, typer.Option("--name", help="合作方名称")],
        items: Annotated[str, typer.Option("--items", help="可读取的信息项或名单类型，逗号分隔")],
        expires: Annotated[str | None, typer.Option("--expires", help="密钥到期日（含当日），如 2027-12-31")] = None,
        kind: Annotated[str, typer.Option("--kind", help="department/bank/utility/platform/upstream")] = "department",
        level: Annotated[str, typer.Option("--level", help="可读取的最高公开等级：public/shared/authorised")] = "shared",
        id_numbers: Annotated[str, typer.Option("--id-numbers", help="证件号码：none/masked/clear")] = "masked",
        purpose: Annotated[str, typer.Option("--purpose", help="用途")] = "",
        rate_limit: Annotated[str, typer.Option("--rate-limit", help="访问频率，如 \"600 per minute\"")] = "600 per minute",
        dept: Annotated[str | None, typer.Option("--dept", help="上级平台下发数据时使用的部门代码，如 SHENG")] = None,
        ) -> None:
    """登记合作方并签发共享密钥（只显示这一次，库中仅存哈希）。"""
    from xinyong.core.db import session_scope
    from xinyong.core.errors import DomainError
    from xinyong.exchange.sharing import rules, service

    try:
        expires_on = date.fromisoformat(expires) if expires else None
    except ValueError:
        _fail(f"到期日“{expires}”格式有误，请按 2027-12-31 格式填写")
        return
    scopes = [service.ScopeIn(i, level, id_numbers) for i in rules.split_items(items)]
    try:
        with session_scope() as session:
            _, key = service.add_partner(session, code, name, scopes, kind=kind, purpose=purpose,
                                         expires_on=expires_on, rate_limit=rate_limit, dept_code=dept, actor="cli")
    except DomainError as exc:
        _fail(exc.detail)
        return
    err.print("共享密钥只显示这一次，请立即妥善保存并交给合作方：")
    print(key)


@app.command("list")
def list_() -> None:
    """列出合作方、共享范围、状态和累计读取。"""
    from xinyong.core import clock
    from xinyong.core.db import session_scope
    from xinyong.exchange.sharing import service

    table = Table("代码", "名称", "类型", "共享范围", "到期日", "状态", "读取次数", "读取条数")
    with session_scope() as session:
        totals = service.totals(session)
        for p in service.list_partners(session):
            reads, rows = totals.get(p.id, (0, 0))
            scopes = ",".join(s.item for s in service.scopes_of(session, p.id))
            table.add_row(p.code, p.name, p.kind, scopes, p.expires_on.isoformat() if p.expires_on else "长期",
                          service.status_of(p, clock.today()), f"{reads:,}", f"{rows:,}")
    out.print(table)


@app.command("revoke")
def revoke(code: Annotated[str, typer.Argument(help="合作方代码")]) -> None:
    """吊销合作方及其全部密钥。"""
    from xinyong.core.db import session_scope
    from xinyong.core.errors import DomainError
    from xinyong.exchange.sharing import service

    try:
        with session_scope() as session:
            service.revoke_partner(session, code, actor="cli")
    except DomainError as exc:
        _fail(exc.detail)
        return
    err.print(f"合作方 {code} 已吊销，其密钥即时失效")
