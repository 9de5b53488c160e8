"""`xinyong account …`: the credit office's commands for organisations' own accounts."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(help="主体账户（法人和非法人组织）", no_args_is_help=True)
err = Console(stderr=True)


def _fail(message: str) -> None:
    err.print(f"[red]错误：[/red]{message}")
    raise typer.Exit(1)


@app.command("issue-code")
def issue_code(uscc: Annotated[str, typer.Option("--uscc", help="单位的统一社会信用代码")]) -> None:
    """为已注册、待激活的主体账户发放一次性激活码（7 天内有效，只显示这一次，库中仅存密钥哈希）。"""
    from xinyong.core.db import session_scope
    from xinyong.core.errors import DomainError
    from xinyong.subject_accounts import service

    try:
        with session_scope() as session:
            code = service.issue_code(session, uscc, actor="cli")
    except DomainError as exc:
        _fail(exc.detail)
        return
    err.print(f"激活码只显示这一次，{service.ACTIVATION_DAYS} 天内有效；请通过线下或短信等途径交给该单位，"
              "单位在 /account/activate 输入后即可登录：")
    print(code)


@app.command("approve")
def approve(uscc: Annotated[str, typer.Option("--uscc", help="单位的统一社会信用代码")]) -> None:
    """信用办核验材料后直接激活待激活的主体账户。"""
    from xinyong.core.db import session_scope
    from xinyong.core.errors import DomainError
    from xinyong.subject_accounts import service

    try:
        with session_scope() as session:
            service.approve(session, service.get_account(session, uscc).id, actor="cli")
    except DomainError as exc:
        _fail(exc.detail)
        return
    err.print("已激活，该单位现在可以登录 /account/login")
