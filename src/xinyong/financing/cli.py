"""`xinyong fi …`: the credit office's commands for financial institutions (信易贷)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(help="信易贷：金融机构、用户和 API 密钥", no_args_is_help=True)
err = Console(stderr=True)


def _fail(message: str) -> None:
    err.print(f"[red]错误：[/red]{message}")
    raise typer.Exit(1)


@app.command("add")
def add(uscc: Annotated[str, typer.Option("--uscc", help="机构的统一社会信用代码")],
        name: Annotated[str, typer.Option("--name", help="机构名称")],
        kind: Annotated[str, typer.Option("--kind", help="bank、guarantee 或 microloan")] = "bank") -> None:
    """登记一家金融机构（银行、融资担保公司、小额贷款公司）。"""
    from xinyong.core.db import session_scope
    from xinyong.core.errors import DomainError
    from xinyong.financing import service

    try:
        with session_scope() as session:
            inst = service.add_institution(session, uscc, name, kind, actor="cli")
            print(inst.id)
    except DomainError as exc:
        _fail(exc.detail)


@app.command("user")
def user(institution: Annotated[str, typer.Option("--institution", help="机构的统一社会信用代码")],
         username: Annotated[str, typer.Option("--username")],
         role: Annotated[str, typer.Option("--role", help="product_manager 或 loan_officer")],
         password: Annotated[str, typer.Option("--password", prompt=True, hide_input=True)]) -> None:
    """为金融机构添加用户（产品经理或信贷员），在 /bank/login 登录。"""
    from xinyong.core.db import session_scope
    from xinyong.core.errors import DomainError
    from xinyong.financing import service

    try:
        with session_scope() as session:
            inst = service.get_institution(session, institution)
            service.add_user(session, inst, username, password, role, actor="cli")
    except DomainError as exc:
        _fail(exc.detail)
    err.print("已添加用户")


@app.command("key")
def key(institution: Annotated[str, typer.Option("--institution", help="机构的统一社会信用代码")],
        label: Annotated[str | None, typer.Option("--label")] = None) -> None:
    """为金融机构签发 API 密钥（只显示这一次，库中仅存哈希）。"""
    from xinyong.core.db import session_scope
    from xinyong.core.errors import DomainError
    from xinyong.financing import service

    try:
        with session_scope() as session:
            inst = service.get_institution(session, institution)
            secret = service.create_key(session, inst, label, actor="cli")
    except DomainError as exc:
        _fail(exc.detail)
        return
    err.print("密钥只显示这一次：")
    print(secret)


@app.command("webhook")
def webhook(institution: Annotated[str, typer.Option("--institution", help="机构的统一社会信用代码")],
            url: Annotated[str, typer.Option("--url", help="接收贷后变动事件的公网地址；空字符串为停用")]) -> None:
    """登记金融机构接收贷后监测事件的地址（须为公网地址），并显示验签密钥。"""
    from xinyong.core.db import session_scope
    from xinyong.core.errors import DomainError
    from xinyong.financing import service

    try:
        with session_scope() as session:
            inst = service.get_institution(session, institution)
            secret = service.set_webhook(session, inst, url or None, actor="cli")
    except DomainError as exc:
        _fail(exc.detail)
        return
    if secret:
        err.print("事件以 X-Xinyong-Signature: sha256=HMAC-SHA256(密钥, 请求体) 签名；验签密钥：")
        print(secret)
