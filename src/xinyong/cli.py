"""The `xinyong` command. Progress goes to stderr; machine-readable output (--json) to stdout."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from xinyong.audit_cli import app as audit_app
from xinyong.core.errors import DomainError
from xinyong.core.logging import setup_logging
from xinyong.core.settings import get_settings
from xinyong.evaluation_cli import app as evaluation_app
from xinyong.exchange import cli as exchange_cli
from xinyong.exchange.sharing.cli import app as partner_app
from xinyong.financing.cli import app as fi_app
from xinyong.keys_cli import app as keys_app
from xinyong.keys_cli import db_app
from xinyong.stats.cli import app as stats_app
from xinyong.subject_accounts.cli import app as account_app
from xinyong.supervision.cli import app as supervision_app

app = typer.Typer(help="xinyong 公共信用信息平台命令行", no_args_is_help=True, add_completion=False)
dept_app = typer.Typer(help="部门管理", no_args_is_help=True)
apikey_app = typer.Typer(help="API 密钥管理", no_args_is_help=True)
catalog_app = typer.Typer(help="公共信用信息目录", no_args_is_help=True)
user_app = typer.Typer(help="管理后台用户", no_args_is_help=True)
jobs_app = typer.Typer(help="定时任务", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")
app.add_typer(audit_app, name="audit")
app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")
app.add_typer(dept_app, name="dept")
app.add_typer(apikey_app, name="apikey")
app.add_typer(catalog_app, name="catalog")
app.add_typer(user_app, name="user")
app.add_typer(account_app, name="account")
quality_app = typer.Typer(help="数据质量与问题数据（重错码治理）", no_args_is_help=True)
app.add_typer(quality_app, name="quality")
app.add_typer(partner_app, name="partner")
app.add_typer(evaluation_app, name="evaluation")
app.add_typer(supervision_app, name="supervision")
app.add_typer(stats_app, name="stats")
app.add_typer(exchange_cli.app, name="exchange")


@app.command("worker")
def worker(interval: Annotated[float, typer.Option(help="间隔（秒）：每个间隔扫描、投递一次")] = 60.0,
           once: Annotated[bool, typer.Option("--once", help="只运行一轮后退出")] = False,
           no_jobs: Annotated[bool, typer.Option("--no-jobs", help="不运行 Webhook 与每日任务")] = False) -> None:
    """后台工作进程：向上级平台报送，投递 Webhook，运行每日任务；可同时运行多个（数据库租约防止重复投递）。"""
    from xinyong.web.app import load_domains

    load_domains()  # every domain's jobs, listeners and upstream sources
    exchange_cli.worker(interval=interval, once=once, no_jobs=no_jobs)

app.add_typer(fi_app, name="fi")

T = TypeVar("T")
err = Console(stderr=True)
out = Console()


def fail(message: str, code: int = 1) -> None:
    err.print(f"[red]错误：[/red]{message}")
    raise typer.Exit(code)


def _run(fn: Callable[[Session], T]) -> T:
    """Run fn(session) in one transaction; domain errors become a Chinese message and exit 1."""
    from xinyong.core.db import session_scope
    from xinyong.core.settings import SecretKeyMissing

    try:
        with session_scope() as session:
            return fn(session)
    except (DomainError, SecretKeyMissing) as exc:
        fail(getattr(exc, "detail", str(exc)))
        raise  # unreachable: fail() exits


@app.callback()
def main() -> None:
    setup_logging(get_settings().log_level)


@app.command()
def init() -> None:
    """初始化：生成密钥文件（如未配置），创建或升级数据库结构，登记信用办，写入第一条审计见证。"""
    from xinyong.core.keyring import ensure_key_file
    from xinyong.core.migrate import upgrade

    settings = get_settings()
    done = ensure_key_file(settings)
    where = settings.key_file.resolve()
    if done == "created":
        err.print(f"已生成密钥文件 {where}（权限 0600）")
    elif done == "moved":
        err.print(f"已把密钥文件从数据目录移到 {where}（权限 0600）")
    if settings.secret_key:
        err.print("密钥来自环境变量 XINYONG_SECRET_KEY：请把它与数据库备份分开保存")
    else:
        err.print(f"密钥文件：{where}。请立即离线备份，并与数据库备份分开保存：丢失后加密的证件号码和附件无法解密，"
                  "审计链和报告验证码无法校验")
    from xinyong.catalog.service import get_catalog

    get_catalog()
    upgrade()

    def seed(session: Session) -> None:
        from xinyong.accounts import service as accounts

        accounts.add_department(session, "XYB", "信用办（社会信用体系建设领导小组办公室）", credit_office=True)

    _run(seed)
    from xinyong.core.audit import anchor

    head = _run(lambda s: anchor(s, actor="cli"))
    err.print(f"数据库已就绪：{settings.database_url.split('@')[-1]}")
    err.print(f"审计见证目录：{settings.audit_witness_dir.resolve()}（已写入第 {head.seq} 号事件的链头；"
              "请把该目录放在数据库之外、只允许追加的位置）")


@app.command()
def serve(host: Annotated[str, typer.Option(help="监听地址")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="端口")] = 8000,
          workers: Annotated[int, typer.Option(help="进程数")] = 1) -> None:
    """启动网站与接口服务。"""
    import os

    import uvicorn

    os.environ.setdefault("XINYONG_RUN_SCHEDULER", "1")

    err.print(f"信用平台服务启动：http://{host}:{port}/  （接口文档 /docs）")
    uvicorn.run("xinyong.web.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="warning", access_log=False)


@dept_app.command("add")
def dept_add(code: Annotated[str, typer.Option("--code", help="部门代码")],
             name: Annotated[str, typer.Option("--name", help="部门名称")],
             uscc: Annotated[str | None, typer.Option("--uscc", help="部门统一社会信用代码")] = None,
             credit_office: Annotated[bool, typer.Option("--credit-office", help="是否为信用办")] = False) -> None:
    """登记（或更新）一个部门。"""
    from xinyong.accounts import service as accounts

    dept = _run(lambda s: accounts.add_department(s, code, name, uscc, credit_office=credit_office, actor="cli"))
    err.print(f"部门已登记：{dept.code} {dept.name}")


@dept_app.command("list")
def dept_list() -> None:
    """列出部门。"""
    from xinyong.accounts import service as accounts

    table = Table("代码", "名称", "统一社会信用代码")
    for d in _run(accounts.list_departments):
        table.add_row(d.code, d.name, d.uscc or "")
    out.print(table)


@apikey_app.command("create")
def apikey_create(dept: Annotated[str, typer.Option("--dept", help="部门代码")],
                  label: Annotated[str | None, typer.Option("--label", help="用途说明")] = None) -> None:
    """为部门签发 API 密钥（只显示这一次，库中仅存哈希）。"""
    from xinyong.accounts import service as accounts

    key = _run(lambda s: accounts.create_api_key(s, dept, label, actor="cli"))
    err.print("密钥只显示这一次，请立即妥善保存：")
    print(key)


@apikey_app.command("revoke")
def apikey_revoke(prefix: Annotated[str, typer.Argument(help="密钥前 10 位")]) -> None:
    """吊销密钥。"""
    from xinyong.accounts import service as accounts

    _run(lambda s: accounts.revoke_api_key(s, prefix, actor="cli"))
    err.print("已吊销")


@user_app.command("add")
def user_add(username: Annotated[str, typer.Option("--username")],
             password: Annotated[str, typer.Option("--password", prompt=True, hide_input=True)],
             role: Annotated[str, typer.Option("--role", help="operator | dept | auditor")] = "dept",
             dept: Annotated[str | None, typer.Option("--dept", help="部门代码")] = None,
             name: Annotated[str | None, typer.Option("--name", help="显示名")] = None) -> None:
    """新增或重置管理后台用户。"""
    from xinyong.accounts import service as accounts

    _run(lambda s: accounts.create_user(s, username, password, display_name=name, dept_code=dept, role=role,
                                         actor="cli"))
    err.print(f"用户已保存：{username}")


@user_app.command("disable")
def user_disable(username: Annotated[str, typer.Argument(help="用户名")]) -> None:
    """停用管理后台用户：立即结束其全部登录会话。"""
    from xinyong.accounts import service as accounts

    _run(lambda s: accounts.set_user_active(s, username, False, actor="cli"))
    err.print(f"已停用：{username}（其全部登录会话已结束）")


@user_app.command("enable")
def user_enable(username: Annotated[str, typer.Argument(help="用户名")]) -> None:
    """重新启用已停用的管理后台用户。"""
    from xinyong.accounts import service as accounts

    _run(lambda s: accounts.set_user_active(s, username, True, actor="cli"))
    err.print(f"已启用：{username}")


@catalog_app.command("list")
def catalog_list(as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False) -> None:
    """列出目录中的信息项。"""
    from xinyong.catalog import CatalogError
    from xinyong.catalog.service import get_catalog

    try:
        catalog = get_catalog()
    except CatalogError as exc:
        fail(str(exc))
        return
    items = catalog.list()
    if as_json:
        print(json.dumps([{"code": i.code, "name": i.name, "category": i.category, "disclosure": i.disclosure,
                           "fields": len(i.fields)} for i in items], ensure_ascii=False))
        return
    table = Table("代码", "名称", "类别", "公开级别", "字段数")
    for i in items:
        table.add_row(i.code, i.name, i.category, i.disclosure, str(len(i.fields)))
    out.print(table)


@app.command()
def ingest(file: Annotated[Path, typer.Argument(help="CSV / XLSX / JSON 文件")],
           item: Annotated[str, typer.Option("--item", help="目录信息项代码，如 admin_penalty")],
           dept: Annotated[str, typer.Option("--dept", help="报送部门代码")],
           as_json: Annotated[bool, typer.Option("--json", help="在标准输出打印 JSON 摘要")] = False) -> None:
    """归集一个部门报送的文件：校验、入库，退回有问题的行。"""
    from xinyong.ingest.cli import run_ingest

    run_ingest(file, item, dept, as_json=as_json, console=err)


@app.command()
def demo(subjects: Annotated[int, typer.Option("--subjects", help="主体数量")] = 20000,
         seed: Annotated[int, typer.Option("--seed", help="随机种子")] = 7,
         records: Annotated[int | None, typer.Option("--records", help="记录数量（默认为主体数的 2 倍）")] = None,
         files: Annotated[Path | None, typer.Option("--files", help="只生成部门报送文件到此目录，不入库")] = None,
         dirty: Annotated[float, typer.Option("--dirty", help="报送文件中脏数据行的比例")] = 0.03,
         today: Annotated[str | None, typer.Option(
             "--today", help="演示城市的“今天”（如 2025-06-30）：同一种子在任何一天生成相同的文件，"
                             "公示期和各项期限也从这一天算起；默认为今天")] = None) -> None:
    """生成确定性的演示城市（主体、部门、许可与处罚），或生成部门报送文件。"""
    from xinyong.demo.cli import run_demo

    try:
        day = date.fromisoformat(today.strip()) if today else None
    except ValueError:
        err.print(f"[red]错误：[/red]--today 不是有效日期（收到“{today}”），请按 2025-06-30 格式填写")
        raise typer.Exit(2) from None
    run_demo(subjects=subjects, seed=seed, records=records, files=files, dirty=dirty, console=err, today=day)


@jobs_app.command("run-daily")
def jobs_run_daily() -> None:
    """立即运行一次全部每日任务（公示期届满下线、名单到期移出、逾期标记等）。"""
    from xinyong.core.jobs import run_daily
    from xinyong.web.app import load_domains

    load_domains()
    results = run_daily()
    failed = False
    for name, result in results.items():
        err.print(f"{name}: {result}")
        failed = failed or isinstance(result, str)
    if failed:
        raise typer.Exit(1)


@quality_app.command("scan")
def quality_scan(
    silent_days: Annotated[int, typer.Option("--silent-days", help="连续多少个工作日未报送即列为问题数据")] = 10,
) -> None:
    """检查一码多主、一主多码、校验码错误、注销主体记录、逾期未报送，更新问题数据（已改正的自动销号）。"""
    from xinyong.core import clock
    from xinyong.core.db import session_scope
    from xinyong.stats import quality

    if silent_days < 1:
        err.print("[red]错误：[/red]--silent-days 须为正整数（工作日）")
        raise typer.Exit(2)
    with session_scope() as session:
        result = quality.scan(session, clock.today(), silent_workdays=silent_days)
    out.print(f"发现问题 {result['found']} 项：新增 {result['opened']}，重新打开 {result['reopened']}，"
              f"自动销号 {result['fixed']}；当前未销号 {result['open']} 项。")


def entry() -> None:  # pragma: no cover
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
