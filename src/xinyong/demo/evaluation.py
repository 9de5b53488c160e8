"""The demo city's 公共信用综合评价: both shipped models run, and the comprehensive one twice (a full run half a
year back, then a refresh as of the demo's today), so /admin/evaluation shows history and grade migrations."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any


def load_evaluation(console: Any, today: date) -> None:
    from xinyong.evaluation import service
    from xinyong.evaluation.grades import COMPREHENSIVE

    first = service.run(COMPREHENSIVE, as_of=today - timedelta(days=183))
    sector = service.run("env_enterprise", as_of=today)
    refreshed = service.refresh(COMPREHENSIVE, as_of=today)[0]
    moved = sum(n for a, b, n in refreshed.migrations if a != b)
    console.print(f"公共信用综合评价：{first.subjects:,} 个主体（{first.as_of} 全量，{refreshed.as_of} 增量刷新 "
                  f"{refreshed.subjects:,} 个，等级变化 {moved:,} 个）；行业评价（{sector.model}）{sector.subjects:,} 个主体。")
