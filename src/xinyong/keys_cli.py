"""`xinyong keys …` (where the key file is, rotation) and `xinyong db harden` (PostgreSQL grants)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(help="密钥管理", no_args_is_help=True)
db_app = typer.Typer(help="数据库维护", no_args_is_help=True)
err = Console(stderr=True)


def _fail(message: str) -> None:
    err.print(f"[red]错误：[/red]{message}")
    raise typer.Exit(1)


@app.command("show")
def show() -> None:
    """显示密钥文件位置与密钥代数（不显示密钥本身）。"""
    from xinyong.core import keyring
    from xinyong.core.settings import SecretKeyMissing

    try:
        ring = keyring.keyring()
    except SecretKeyMissing as exc:
        _fail(str(exc))
        return
    where = "环境变量 XINYONG_SECRET_KEY" if ring.path is None else str(ring.path.resolve())
    err.print(f"密钥来源：{where}")
    err.print(f"当前密钥：第 {ring.current} 代；保留的旧密钥：{sorted(set(ring.masters) - {ring.current}) or '无'}")
    err.print("查询哈希根密钥：" + ("沿用初版（HMAC 派生）" if ring.lookup_scheme == "legacy" else "HKDF 派生") +
              "，轮换时保留，按证件号码查询不受影响")


@app.command("rotate")
def rotate(as_json: Annotated[bool, typer.Option("--json", help="在标准输出打印 JSON 结果")] = False) -> None:
    """生成新主密钥并用它重新加密全部密文与附件、重新签封报告；旧密钥文件在完成前备份为 .bak。"""
    from xinyong import db_models, rekey
    from xinyong.core import keyring
    from xinyong.core.db import session_scope
    from xinyong.core.errors import DomainError
    from xinyong.core.settings import SecretKeyMissing

    _ = db_models
    try:
        with session_scope() as session:
            result = rekey.rotate(session, actor="cli")
    except (DomainError, SecretKeyMissing) as exc:
        _fail(getattr(exc, "detail", str(exc)))
        return
    except Exception:
        ring = keyring.keyring()
        backup = keyring.backup_path(ring.path) if ring.path else None
        err.print("[red]密钥轮换未完成，数据库已回滚：[/red]密钥文件已含新旧两代密钥，现有数据仍可读；"
                  f"原密钥文件备份在 {backup}。请查明下方错误后重新运行 `xinyong keys rotate`")
        raise
    rekey.finish()
    if as_json:
        print(json.dumps({"generation": result.generation, "values": result.values, "files": result.files,
                          "reports_resealed": result.reports_resealed, "reports_refused": result.reports_refused},
                         ensure_ascii=False))
    converted = sum(result.values.values())
    err.print(f"密钥已轮换为第 {result.generation} 代：重新加密 {converted} 个字段值、{result.files} 个附件，"
              f"重新签封 {result.reports_resealed} 份报告")
    if result.reports_refused:
        err.print(f"[yellow]注意：[/yellow]{len(result.reports_refused)} 份报告的签封不符，未重新签封（验真将显示不符）："
                  + "、".join(result.reports_refused[:20]))
    err.print("请立即备份新的密钥文件，并重启正在运行的 xinyong serve / worker 进程以启用新密钥（重启前它们写入的"
              "数据仍可读，下次轮换时一并转换）；旧密钥仍保留在文件中，用于校验轮换前的审计事件")


@db_app.command("harden")
def harden(app_role: Annotated[str, typer.Option("--app-role", help="应用程序连接数据库所用的 PostgreSQL 角色")],
           dry_run: Annotated[bool, typer.Option("--dry-run", help="只打印将执行的语句")] = False) -> None:
    """PostgreSQL：审计表只允许应用角色插入和读取，并安装拒绝修改、删除、清空审计表的触发器。须以表的属主运行。"""
    from sqlalchemy import text

    from xinyong.core.audit import harden_statements, install_append_only
    from xinyong.core.db import get_engine
    from xinyong.core.settings import get_settings

    if get_settings().is_sqlite:
        _fail("SQLite 没有数据库角色：请把数据库文件与审计见证目录的写权限只授予运行平台的系统用户")
    statements = harden_statements(app_role)
    if dry_run:
        for sql in statements:
            print(sql + ";")
        return
    engine = get_engine()
    try:
        with engine.begin() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": app_role}).first()
            if exists is None:
                _fail(f"数据库中没有角色「{app_role}」：请先 CREATE ROLE {app_role} LOGIN，再运行本命令")
            install_append_only(conn)
            for sql in statements:
                conn.execute(text(sql))
    except typer.Exit:
        raise
    except Exception as exc:
        _fail(f"授权失败：{str(exc).splitlines()[0]}。请以数据库表的属主（或超级用户）连接后重试")
    err.print(f"已加固：角色「{app_role}」对 audit_events 只能 INSERT 与 SELECT；审计表拒绝 UPDATE、DELETE、TRUNCATE")
