"""`xinyong demo`: write the department files of the demo city, or load the city through the real ingestion."""

from __future__ import annotations

import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from xinyong.core import clock
from xinyong.core.clock import FixedClock
from xinyong.demo import history
from xinyong.demo.departments import DEMO_FIRM_PASSWORD, DEMO_USERS, DEPARTMENTS
from xinyong.demo.evaluation import load_evaluation
from xinyong.demo.exchange import setup_exchange
from xinyong.demo.files import write_files
from xinyong.demo.financing import load_financing
from xinyong.demo.stats import build_stats
from xinyong.demo.supervision import load_supervision


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True)  # fmt: skip


def _generate(directory: Path, console: Console, *, subjects: int, seed: int, records: int | None, dirty: float,
              today: date, xlsx: bool = True) -> dict[str, Any]:
    total = subjects + (records if records is not None else 2 * subjects)
    with _progress(console) as bar:
        task = bar.add_task("生成演示城市数据", total=total)
        pending = 0

        def tick(n: int) -> None:
            nonlocal pending
            pending += n
            if pending >= 20_000:
                bar.advance(task, pending)
                pending = 0

        manifest = write_files(directory, subjects=subjects, seed=seed, today=today, records=records, dirty=dirty,
                               progress=tick, xlsx=xlsx)  # fmt: skip
    return manifest


def run_demo(*, subjects: int = 20_000, seed: int = 7, records: int | None = None, files: Path | None = None,
             dirty: float = 0.03, console: Console | None = None, today: date | None = None) -> dict[str, Any]:
    console = console or Console(stderr=True)
    if subjects < 1 or (records is not None and records < 0) or not 0 <= dirty <= 1:
        console.print("[red]错误：[/red]主体数量须大于 0，记录数量不能为负，脏数据比例须在 0 到 1 之间")
        raise typer.Exit(2)
    # The demo's "today" (`xinyong demo --today`) pins the generated files to one day and, for the whole
    # command, the legal clock: publication windows and deadlines are counted from it.
    with clock.use(FixedClock(today or clock.today())) as fixed:
        return _run(console, subjects=subjects, seed=seed, records=records, files=files, dirty=dirty,
                    today=fixed.today())


def _run(console: Console, *, subjects: int, seed: int, records: int | None, files: Path | None, dirty: float,
         today: date) -> dict[str, Any]:
    started = time.perf_counter()
    if files is not None:
        manifest = _generate(files, console, subjects=subjects, seed=seed, records=records, dirty=dirty, today=today)
        console.print(
            f"已生成 {len(manifest['files'])} 个部门报送文件，共 {manifest['rows']:,} 行，其中预计应退回 "
            f"{manifest['expected_rejected']:,} 行；清单见 {files / 'manifest.json'}"
            f"（用时 {time.perf_counter() - started:.1f} 秒）"
        )
        return manifest
    return load_city(console, subjects=subjects, seed=seed, records=records, today=today, started=started)


def setup_accounts(session: Any) -> None:
    """Departments, one API key each (kept secret: issue your own with `xinyong apikey create`), demo users.

    Idempotent: existing departments are updated, existing keys and users kept."""
    from sqlalchemy import func, select

    from xinyong.accounts import service as accounts
    from xinyong.accounts.models import ApiKey, User

    for d in DEPARTMENTS:
        dept = accounts.add_department(session, d.code, d.name, d.uscc, credit_office=d.credit_office, actor="demo")
        if not session.scalar(select(func.count()).select_from(ApiKey).where(ApiKey.dept_id == dept.id)):
            accounts.create_api_key(session, d.code, "演示数据", actor="demo")
    # Existing users are left alone: a re-run must not reset a changed password (and argon2 is slow on purpose).
    existing = set(session.scalars(select(User.username).where(User.username.in_([u[0] for u in DEMO_USERS]))))
    for username, password, role, dept_code in DEMO_USERS:
        if username in existing:
            continue
        accounts.create_user(session, username, password, display_name=f"演示用户 {username}", dept_code=dept_code,
                             role=role, actor="demo")  # fmt: skip


def setup_firm_account(session: Any, *, subjects: int, seed: int, today: date) -> str | None:
    """The demo firm's own account: registered as a firm would (checked against its registration record), then
    approved by the office. Returns its unified code (None when the city has no company)."""
    import polars as pl
    from sqlalchemy import select

    from xinyong.accounts.models import SubjectAccount
    from xinyong.demo.vsubjects import subject_frame
    from xinyong.subject_accounts import service

    firms = subject_frame(seed, 0, min(subjects, 200), today).filter(pl.col("category") == "91")
    if firms.is_empty():
        return None
    firm = firms.row(0, named=True)
    uscc = str(firm["uscc"])
    if session.scalar(select(SubjectAccount.id).where(SubjectAccount.uscc == uscc)) is None:
        account = service.register(session, service.Registration(uscc, str(firm["legal_rep"]), str(firm["legal_rep_id"]),
                                                                  DEMO_FIRM_PASSWORD, "0534-2000000"))
        service.approve(session, account.id, actor="demo")
    return uscc


def load_city(console: Console, *, subjects: int, seed: int, records: int | None, today: date,
              started: float) -> dict[str, Any]:
    from xinyong.core.db import session_scope
    from xinyong.demo.sharing import setup_sharing
    from xinyong.ingest.service import ingest_file

    with session_scope() as session:
        setup_accounts(session)
    loaded = {"rows": 0, "accepted": 0, "rejected": 0, "duplicates": 0}
    with tempfile.TemporaryDirectory(prefix="xinyong-demo-") as tmp:
        directory = Path(tmp)
        # Only the database matters here: CSV throughout, since reading a sheet costs ingestion far more.
        manifest = _generate(directory, console, subjects=subjects, seed=seed, records=records, dirty=0.0,
                             today=today, xlsx=False)  # fmt: skip
        with _progress(console) as bar:
            task = bar.add_task("归集入库", total=manifest["rows"])
            done = 0
            for entry in manifest["files"]:
                bar.update(task, description=f"归集 {entry['file']}")

                def step(rows: int, _total: int | None, base: int = done) -> None:
                    bar.update(task, completed=base + rows)

                with session_scope() as session:
                    result = ingest_file(session, directory / entry["file"], entry["item"], entry["dept"],
                                         file_name=entry["file"], progress=step, today=today)  # fmt: skip
                for key in loaded:
                    loaded[key] += int(_get(result, key, 0))
                done += entry["rows"]
                bar.update(task, completed=done)
    with session_scope() as session:
        firm = setup_firm_account(session, subjects=subjects, seed=seed, today=today)
    history.populate(today=today, seed=seed, subjects=subjects)
    with session_scope() as session:
        setup_sharing(session, today=today)
    load_evaluation(console, today)
    load_supervision(today=today, seed=seed)
    with session_scope() as session:
        load_financing(session, subjects=subjects, seed=seed, today=today, firm_uscc=firm)
    setup_exchange(today=today)
    build_stats(console, today=today)
    summary = _summary(today)
    seconds = time.perf_counter() - started
    console.print(
        f"演示城市（德州市）已载入：主体 {summary['subjects']:,} 个，记录 {summary['records']:,} 条，"
        f"部门 {summary['departments']} 个；本次归集 {loaded['rows']:,} 行，接收 {loaded['accepted']:,} 行，"
        f"重复 {loaded['duplicates']:,} 行，退回 {loaded['rejected']:,} 行（用时 {seconds:.1f} 秒）。"
    )
    logins = "，".join(f"{u} / {p}" for u, p, _, _ in DEMO_USERS[:2])
    console.print(f"管理后台 /admin 演示账号：{logins}（信用办、市场监管局），其余部门账号见 README。")
    if firm:
        console.print(f"单位账户 /account 演示登录：统一社会信用代码 {firm} / {DEMO_FIRM_PASSWORD}")
    console.print("各部门已各签发一个 API 密钥（不显示）；如需调用接口，请用 `xinyong apikey create --dept 代码` 另行签发。")
    return {"manifest": manifest, "loaded": loaded, "summary": summary, "seconds": seconds}


def _get(result: Any, key: str, default: int) -> Any:
    if isinstance(result, dict):
        return result.get(key, default)
    return getattr(result, key, default)


def _summary(today: date) -> dict[str, int]:
    from sqlalchemy import func, select

    from xinyong.accounts.models import Department
    from xinyong.core.db import session_scope
    from xinyong.records.models import Record
    from xinyong.subjects.models import Subject

    with session_scope() as session:
        return {
            "subjects": session.scalar(select(func.count()).select_from(Subject)) or 0,
            "records": session.scalar(select(func.count()).select_from(Record)) or 0,
            "departments": session.scalar(select(func.count()).select_from(Department)) or 0,
        }
