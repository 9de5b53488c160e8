"""Test helpers: departments with keys and rosters, organisations, and grades in force (evaluation's tables)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from xinyong.accounts import service as accounts
from xinyong.accounts.models import Department
from xinyong.core.identifiers import make_uscc
from xinyong.evaluation.grades import COMPREHENSIVE
from xinyong.evaluation.models import EvaluationCurrent, EvaluationRun
from xinyong.subjects import service as subjects
from xinyong.subjects.models import Subject

_seq = itertools.count(1)


@dataclass
class Setup:
    office: Department
    scjg: Department
    sw: Department
    office_key: str
    scjg_key: str
    sw_key: str

    def h(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.scjg_key}"}


def setup(db: Session) -> Setup:
    office = accounts.add_department(db, "XYB", "德州市社会信用体系建设领导小组办公室", credit_office=True)
    scjg = accounts.add_department(db, "SCJG", "德州市市场监督管理局")
    sw = accounts.add_department(db, "SW", "国家税务总局德州市税务局")
    keys = [accounts.create_api_key(db, c) for c in ("XYB", "SCJG", "SW")]
    db.commit()
    return Setup(office, scjg, sw, *keys)


def org(db: Session, *, region: str = "371402", kind: str | None = None) -> Subject:
    n = next(_seq)
    return subjects.upsert_organisation(db, uscc=make_uscc("91", region, f"JD{n:06d}"), name=f"德州某某商贸有限公司{n}",
                                        region_code=region, kind=kind)


def grade(db: Session, graded: dict[int, str], *, model: str = COMPREHENSIVE, as_of: date = date(2026, 3, 31)) -> None:
    """Grades in force as the evaluation's run leaves them (one run, current rows switched)."""
    run = EvaluationRun(model_id=model, model_name="公共信用综合评价", model_version="1", kind="full", engine="polars",
                        as_of=as_of, state="done", subjects=len(graded), grades="{}", migrations="[]", watermark="{}",
                        seconds=0.0)
    db.add(run)
    db.flush()
    for sid, g in graded.items():
        db.merge(EvaluationCurrent(model_id=model, subject_id=sid, run_id=run.id, result_id=0, grade=g, score=800.0,
                                   as_of=as_of))
    db.commit()


def inspectors(client: Any, s: Setup, n: int, key: str | None = None, **extra: Any) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        r = client.post("/api/v1/inspectors", json={"name": f"检查员{i}", "badge_no": f"ZF{i:05d}", **extra},
                        headers=s.h(key))
        assert r.status_code == 201, r.text
        out.append(r.json())
    return out


def plan(client: Any, s: Setup, key: str | None = None, **extra: Any) -> dict[str, Any]:
    body = {"name": "2026年度食品经营者双随机抽查", "scheme": "scjg_market", "period_start": "2026-04-01",
            "period_end": "2026-06-30", **extra}
    r = client.post("/api/v1/inspections", json=body, headers=s.h(key))
    assert r.status_code == 201, r.text
    return dict(r.json())
