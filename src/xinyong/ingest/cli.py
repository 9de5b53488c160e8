"""`xinyong ingest FILE --item ITEM --dept CODE [--json]`: progress on stderr, one JSON object on stdout."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from xinyong.core.db import session_scope
from xinyong.core.errors import DomainError
from xinyong.core.settings import SecretKeyMissing
from xinyong.ingest.schemas import BatchSummary
from xinyong.ingest.service import ingest_file, summary_json


def run_ingest(file: Path, item: str, dept: str, *, as_json: bool, console: Console) -> None:
    try:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      console=console, transient=True) as bar:
            task = bar.add_task(f"正在归集 {file.name}", total=None)

            def progress(done: int, _total: int | None) -> None:
                bar.update(task, description=f"正在归集 {file.name}：已处理 {done:,} 行")

            with session_scope() as session:
                summary = ingest_file(session, file, item, dept, progress=progress)
    except (DomainError, SecretKeyMissing) as exc:
        console.print(f"[red]错误：[/red]{getattr(exc, 'detail', str(exc))}")
        console.print("文件未入库（没有写入任何数据）。")
        raise typer.Exit(1) from None
    if as_json:
        sys.stdout.write(json.dumps(summary_json(summary), ensure_ascii=False) + "\n")
        sys.stdout.flush()
    else:
        _print(summary, console)


def _print(summary: BatchSummary, console: Console) -> None:
    table = Table("批次", "数据行", "入库", "退回", "重复", "更正", "逾期报送", "用时（秒）")
    table.add_row(str(summary.batch_id), f"{summary.rows:,}", f"{summary.accepted:,}", f"{summary.rejected:,}",
                  f"{summary.duplicates:,}", f"{summary.superseded:,}", f"{summary.late:,}", f"{summary.seconds:.1f}")
    console.print(table)
    for w in summary.warnings:
        console.print(f"[yellow]提示：[/yellow]{w}")
    if summary.rejects:
        shown = summary.rejects[:20]
        rejects = Table("行号", "字段", "原因", "原值", title=f"退回明细（前 {len(shown)} 条）")
        for r in shown:
            rejects.add_row(str(r.row), r.field, r.reason, r.value or "")
        console.print(rejects)
        console.print(f"完整退回数据：GET /api/v1/batches/{summary.batch_id}/rejects.xlsx")
