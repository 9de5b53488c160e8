"""With the real evaluation (its service runs the comprehensive model): the draw is stratified by the grades the run
left, and published inspection results are facts of the next run."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy.orm import Session

from supervision_support import inspectors, org, plan, setup
from xinyong.core.clock import FixedClock
from xinyong.evaluation.grades import COMPREHENSIVE, current_grades

evaluation = pytest.importorskip("xinyong.evaluation.service")


def test_draw_by_evaluated_grades_and_results_feed_the_next_run(client: Any, db: Session, clock: FixedClock) -> None:
    clock.set(date(2026, 5, 20))
    s = setup(db)
    firms = [org(db) for _ in range(8)]
    db.commit()
    evaluation.run(COMPREHENSIVE)
    db.expire_all()
    before = current_grades(db, [f.id for f in firms])
    assert before, "the comprehensive model evaluates existing organisations"
    inspectors(client, s, 2)
    p = plan(client, s, size=len(firms))
    d = client.post(f"/api/v1/inspections/{p['plan_no']}/draw", json={"seed": 3}, headers=s.h()).json()
    strata = {i["subject_id"]: i["stratum"] for i in d["items"]}
    for f in firms:
        assert strata[f.id] == (before[f.id].grade if f.id in before else "未评价")
    for f in firms:
        r = client.post(f"/api/v1/inspections/{p['plan_no']}/results",
                        json={"uscc": f.uscc, "outcome": "case", "note": "立案查处", "on": "2026-05-18"}, headers=s.h())
        assert r.status_code == 200, r.text
    assert client.post(f"/api/v1/inspections/{p['plan_no']}/publish", headers=s.h()).status_code == 200
    evaluation.run(COMPREHENSIVE)
    db.expire_all()
    after = current_grades(db, [f.id for f in firms])
    assert any(after[i].score < before[i].score for i in before if i in after)
