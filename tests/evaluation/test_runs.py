"""Runs on both databases: scores and grades, overrides, exclusions, atomic switch, history and migrations,
the lease, refresh equal to a full run, the read contract, the CLI's JSON."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from due_process_support import listed, org, penalty, world
from xinyong.cli import app
from xinyong.core.db import new_session, utcnow
from xinyong.core.errors import RuleViolation
from xinyong.evaluation import engine as eng
from xinyong.evaluation import grades, service
from xinyong.evaluation.models import EvaluationCurrent, EvaluationLease, EvaluationRun
from xinyong.records import service as records

TODAY = date(2026, 6, 1)
M = grades.COMPREHENSIVE


def _city(db: Session) -> dict[str, Any]:
    w = world(db)
    s = {k: org(db) for k in ("clean", "fined", "listed", "other1", "other2", "other3")}
    fines = [penalty(db, s["fined"], w.scjg, decided=TODAY - timedelta(days=30)) for _ in range(2)]
    serious = penalty(db, s["listed"], w.scjg, decided=TODAY - timedelta(days=20), severity="严重")
    listed(db, w.scjg, s["listed"], serious, TODAY - timedelta(days=1))
    penalty(db, s["other1"], w.scjg, decided=TODAY - timedelta(days=400))
    db.commit()
    return {"w": w, "s": s, "fines": fines, "serious": serious}


def _current(model: str = M) -> dict[int, tuple[str, float]]:
    with new_session() as s:
        return {g.subject_id: (g.grade, g.score) for g in grades.current_grades(s, model_id=model).values()}


def test_a_full_run_scores_grades_and_explains(db: Session, clock: Any) -> None:
    clock.set(TODAY)
    c = _city(db)
    out = service.run(M)
    s = c["s"]
    assert out.subjects == 6 and out.as_of == TODAY and out.kind == "full"
    g = grades.current_grade(db, s["clean"].id)
    assert g is not None and (g.grade, g.score, g.model_version, g.run_id) == ("A", 900.0, "2026.1", out.run_id)
    fined = grades.current_grade(db, s["fined"].id)
    # two general penalties: 2 × 20 of 100 points of a 60-point budget, fines of 4 万元 → 40 of 36 points
    assert fined is not None and fined.score == pytest.approx(900 - 24 - 14.4) and fined.grade == "A"
    lst = grades.current_grade(db, s["listed"].id)
    assert lst is not None and lst.grade == "D-"  # 直接判级 whatever the score
    expl = service.explanation(db, s["fined"].id)
    assert expl is not None and expl["override"] is None
    rows = {r["indicator"]: r for r in expl["contributions"]}
    assert rows["penalty_general"]["points"] == -24.0
    assert sorted(rows["penalty_general"]["facts"]) == sorted(r.id for r in c["fines"])
    assert expl["contributions"][0]["indicator"] == "penalty_general"  # largest first
    assert "扣 24 分" in service.top_movers(expl)[0]
    assert service.explanation(db, s["listed"].id)["override"] == "serious_list"  # type: ignore[index]
    assert out.grades == {"A": 5, "D-": 1} and sum(out.grades.values()) == 6
    assert [m for m in out.migrations if m[0] is None and m[1] == "A"] == [(None, "A", 5)]
    # the old general penalty (400 days) is past its publication window (1 year by default): not counted
    assert grades.current_grade(db, s["other1"].id).score == 900  # type: ignore[union-attr]
    assert grades.grade_order() == ["A+", "A", "B", "C", "C-", "D", "D-"]
    assert set(grades.current_grades(db, [s["clean"].id, s["fined"].id])) == {s["clean"].id, s["fined"].id}


def test_records_under_objection_repaired_or_revoked_do_not_count_and_refresh_equals_a_full_run(
        db: Session, clock: Any) -> None:
    clock.set(TODAY)
    c = _city(db)
    s, w = c["s"], c["w"]
    first = service.run(M)
    heard: list[tuple[str, list[grades.GradeChange]]] = []

    def listener(_session: Session, model_id: str, changes: list[grades.GradeChange]) -> None:
        heard.append((model_id, changes))

    grades.register_grade_listener(listener)
    try:
        records.set_state(db, c["fines"][0].id, "objection", actor="test")      # 异议中
        records.set_state(db, c["fines"][1].id, "revoked", actor="test")        # 撤销
        for _ in range(3):
            penalty(db, s["clean"], w.scjg, decided=TODAY - timedelta(days=2), severity="严重")
        db.commit()
        clock.set(TODAY + timedelta(days=10))
        refreshed = service.refresh(M)[0]
        assert refreshed.kind == "refresh" and refreshed.subjects == 2  # only the two whose facts changed
        after_refresh = _current()
        assert after_refresh[s["fined"].id] == ("A", 900.0)
        assert after_refresh[s["clean"].id][0] in ("C", "C-", "D")
        moved = {(a, b): n for a, b, n in refreshed.migrations}
        assert moved[("A", after_refresh[s["clean"].id][0])] == 1
        assert heard and heard[-1][0] == M and (s["clean"].id, "A", after_refresh[s["clean"].id][0]) in heard[-1][1]
        full = service.run(M)
        assert _current() == after_refresh
        assert full.subjects == 6 and first.run_id < refreshed.run_id < full.run_id
    finally:
        grades._listeners.remove(listener)


def test_refresh_after_the_as_of_date_moves_equals_a_full_run(db: Session, clock: Any) -> None:
    clock.set(TODAY)
    c = _city(db)
    service.run(M)
    # a year and a half later: the old penalty left its 3-year window? not yet; the list term, the fines' windows
    later = TODAY + timedelta(days=800)
    clock.set(later)
    c["s"]["other2"].status = "注销"  # deregistered: leaves the population
    db.commit()
    service.refresh(M)
    refreshed = _current()
    service.run(M)
    assert _current() == refreshed
    assert c["s"]["other2"].id not in refreshed


def test_a_failed_run_leaves_the_previous_results_in_force(db: Session, clock: Any,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    clock.set(TODAY)
    _city(db)
    service.run(M)
    before = _current()

    def boom(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("磁盘已满")

    monkeypatch.setattr(eng, "fact_ids", boom)
    with pytest.raises(RuntimeError):
        service.run(M)
    assert _current() == before
    with new_session() as s:
        last = s.execute(select(EvaluationRun).order_by(EvaluationRun.id.desc())).scalars().first()
        assert last is not None and last.state == "failed" and "磁盘已满" in (last.error or "")
        assert s.get(EvaluationLease, M) is None  # released


def test_a_second_concurrent_run_of_the_same_model_is_refused(db: Session, clock: Any) -> None:
    clock.set(TODAY)
    _city(db)
    db.add(EvaluationLease(model_id=M, holder="other-host:123", acquired_at=utcnow(),
                           expires_at=utcnow() + timedelta(hours=1)))
    db.commit()
    with pytest.raises(RuleViolation, match="正在运行"):
        service.run(M)
    assert db.scalar(select(func.count()).select_from(EvaluationRun)) == 0
    service.run("env_enterprise")  # another model is not held up
    lease = db.get(EvaluationLease, M)
    assert lease is not None
    lease.expires_at = utcnow() - timedelta(seconds=1)  # a crashed holder's lease runs out
    db.commit()
    assert service.run(M).subjects == 6


def test_an_as_of_date_in_the_future_is_refused(db: Session, clock: Any) -> None:
    clock.set(TODAY)
    _city(db)
    with pytest.raises(RuleViolation, match="晚于今天"):
        service.run(M, as_of=TODAY + timedelta(days=1))
    assert db.scalar(select(func.count()).select_from(EvaluationCurrent)) == 0


def test_cli_run_prints_one_json_object(db: Session, clock: Any) -> None:
    clock.set(TODAY)
    _city(db)
    runner = CliRunner()
    res = runner.invoke(app, ["evaluation", "run", "--model", "env_enterprise", "--as-of", "2026-05-31", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert list(data) == ["run_id", "model", "version", "engine", "as_of", "subjects", "grades", "seconds"]
    assert data["model"] == "env_enterprise" and data["engine"] == "polars" and data["as_of"] == "2026-05-31"
    assert sum(data["grades"].values()) == data["subjects"] == 6
    bad = runner.invoke(app, ["evaluation", "run", "--model", "env_enterprise", "--as-of", "2099-01-01"])
    assert bad.exit_code == 1 and "晚于今天" in bad.output
    listing = runner.invoke(app, ["evaluation", "models", "--json"])
    assert {m["id"] for m in json.loads(listing.stdout)} == {"city_comprehensive", "env_enterprise"}
    refresh = runner.invoke(app, ["evaluation", "refresh", "--model", "env_enterprise", "--json"])
    assert refresh.exit_code == 0 and json.loads(refresh.stdout)["subjects"] == 0


def test_the_daily_job_refreshes_subjects_after_an_objection_a_repair_or_a_list_exit(db: Session, clock: Any) -> None:
    from xinyong.core.jobs import run_daily
    from xinyong.lists import service as lists
    from xinyong.lists.models import ListEntry

    clock.set(TODAY)
    c = _city(db)
    s = c["s"]
    assert run_daily(TODAY)["evaluation.refresh"] == 0  # no model has run yet: nothing to refresh
    service.run(M)
    assert _current()[s["listed"].id][0] == "D-"
    records.set_state(db, c["fines"][0].id, "objection", actor="test")
    records.set_state(db, c["fines"][1].id, "repaired", actor="test")
    entry = db.scalars(select(ListEntry).where(ListEntry.subject_id == s["listed"].id)).one()
    lists.exit_entry(db, entry.id, actor="test", reason="信用修复", today=TODAY)
    db.commit()
    clock.set(TODAY + timedelta(days=1))
    results = run_daily()
    assert results["evaluation.refresh"] >= 2, results
    now = _current()
    assert now[s["fined"].id] == ("A", 900.0)
    assert now[s["listed"].id][0] != "D-"  # off the list: no longer graded directly
    service.run(M, as_of=TODAY + timedelta(days=1))
    assert _current() == now  # the job's refresh equals a full run


def test_a_run_on_spark_switches_in_the_same_grades_as_polars(db: Session, clock: Any) -> None:
    clock.set(TODAY)
    _city(db)
    service.run(M)
    polars = _current()
    out = service.run(M, engine="spark")
    assert out.engine == "spark" and out.subjects == 6
    assert _current() == polars
    with pytest.raises(RuleViolation, match="未知的计算引擎"):
        service.run(M, engine="dask")


def _inspection(db: Session, subject: Any, dept: Any, result: str, decided: date) -> Any:
    values = {"subject_name": subject.name, "uscc": subject.uscc, "inspection_type": "双随机抽查",
              "inspection_items": "企业公示信息情况检查", "inspection_date": decided.isoformat(), "result": result,
              "authority": dept.name}
    return records.add_record(db, subject=subject, item_code="admin_inspection", dept_id=dept.id, values=values,
                              decision_date=decided, publish_from=decided, publish_until=None)


@pytest.mark.parametrize("which", ["polars", "spark"])
def test_only_inspections_that_found_problems_lower_the_score(db: Session, clock: Any, which: str) -> None:
    """A passed inspection (as supervision publishes it: 未发现问题（合格）) keeps the score; 责令整改 costs points,
    in a full run and in a refresh, on both engines."""
    clock.set(TODAY)
    w = world(db)
    passed, plain_pass, rectify = org(db), org(db), org(db)
    _inspection(db, passed, w.scjg, "未发现问题（合格）", TODAY - timedelta(days=10))
    _inspection(db, plain_pass, w.scjg, "合格", TODAY - timedelta(days=10))
    found = _inspection(db, rectify, w.scjg, "发现问题，责令整改", TODAY - timedelta(days=10))
    db.commit()
    service.run(M, engine=which)
    cur = _current()
    # inspection_findings: 25 of 100 points of a 1000 × 15 % × 30 % = 45-point budget
    assert cur[passed.id][1] == cur[plain_pass.id][1] == 900.0
    assert cur[rectify.id][1] == pytest.approx(888.75)
    expl = service.explanation(db, rectify.id)
    assert expl is not None
    rows = {r["indicator"]: r for r in expl["contributions"]}
    assert rows["inspection_findings"]["facts"] == [found.id]
    env = service.run("env_enterprise", engine=which)
    assert env.subjects == 3
    with new_session() as s2:
        env_cur = grades.current_grades(s2, model_id="env_enterprise")
        assert env_cur[passed.id].score == env_cur[plain_pass.id].score > env_cur[rectify.id].score
    # refresh: a new passed inspection changes nothing, a new 立案查处 one counts
    clock.set(TODAY + timedelta(days=1))
    _inspection(db, passed, w.scjg, "合格", TODAY)
    _inspection(db, plain_pass, w.scjg, "发现问题，立案查处", TODAY)
    db.commit()
    service.refresh(M, engine=which)
    cur = _current()
    assert cur[passed.id][1] == 900.0 and cur[plain_pass.id][1] == pytest.approx(888.75)

