"""Building monthly snapshots: values per group from one pass, frozen closed months, explicit logged rebuilds,
and Chinese refusals of bad months. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from stats_support import add_batch, add_record, snap

from lists_support import add_departments, new_org
from xinyong.core.audit import AuditEvent
from xinyong.core.errors import DomainError
from xinyong.stats import service
from xinyong.stats.models import StatMonth, StatSnapshot
from xinyong.stats.rules import parse_month
from xinyong.subjects.models import Subject

TODAY = date(2026, 4, 15)


def _city(db: Session) -> dict[str, int]:
    depts = add_departments(db, ["XYB", "SCJG", "SW"])
    orgs = [new_org(db) for _ in range(4)]
    db.flush()
    orgs[0].region_code = "371402"
    orgs[1].region_code = "371481"
    scjg, sw = depts["SCJG"].id, depts["SW"].id
    # March: SCJG 3 penalties (one late), SW 1 license on time; one record before March; April: one more
    add_record(db, dept_id=scjg, subject_id=orgs[0].id, day=date(2026, 3, 2))
    add_record(db, dept_id=scjg, subject_id=orgs[0].id, day=date(2026, 3, 20), late=True, workdays=12)
    add_record(db, dept_id=scjg, subject_id=orgs[1].id, day=date(2026, 3, 31))
    add_record(db, dept_id=sw, subject_id=orgs[1].id, item="admin_license", day=date(2026, 3, 5))
    add_record(db, dept_id=sw, subject_id=orgs[2].id, item="admin_license", day=date(2026, 2, 27))
    add_record(db, dept_id=sw, subject_id=orgs[2].id, item="admin_license", day=date(2026, 4, 1))
    add_batch(db, dept_id=scjg, day=date(2026, 3, 2), rows=10, rejected=2, duplicates=1,
              reasons=[("统一社会信用代码", "校验码不正确"), ("决定日期", "不是有效日期")])
    add_batch(db, dept_id=sw, item="admin_license", day=date(2026, 3, 5), rows=10)
    db.commit()
    return {"SCJG": scjg, "SW": sw}


def test_month_values_by_city_department_item_and_region(db: Session) -> None:
    _city(db)
    result = service.build_month(db, "2026-03", today=TODAY, actor="test")
    db.commit()
    assert result["state"] == "closed" and result["rows"] > 0 and not result["rebuilt"]
    board = service.board(db, parse_month("2026-03"))
    collected = snap(board, "records_collected")
    assert collected["value"] == 4  # 3 + 1 in March; February's and April's are outside
    on_time = snap(board, "dual_on_time")
    assert on_time["numerator"] == 3 and on_time["denominator"] == 4 and on_time["value"] == pytest.approx(75.0)
    assert on_time["meets"] is False  # target ≥ 95 %
    compliance = snap(board, "dual_compliance")
    assert compliance["value"] == pytest.approx(90.0)  # 18 of 20 rows passed every rule, rejected rows included
    assert snap(board, "reject_rate")["value"] == pytest.approx(10.0)
    assert snap(board, "duplicate_rate")["value"] == pytest.approx(5.0) and snap(board, "duplicate_rate")["meets"] is False
    # per capita: 5 records up to March's end over the configured population of 2026
    per_capita = snap(board, "records_per_capita")
    assert per_capita["numerator"] == 5 and per_capita["denominator"] > 1_000_000
    rows = {(s.grouping, s.key): s for s in db.scalars(select(StatSnapshot).where(
        StatSnapshot.month == "2026-03", StatSnapshot.indicator == "records_per_capita"))}
    # the subjects' regions: two organisations in 德城区 (3 records), one moved to 乐陵市 (2 records)
    assert rows[("region", "371402")].numerator == 3 and rows[("region", "371481")].numerator == 2
    # coverage of organisations: 3 of the 4 organisations registered by then have a record
    cover = snap(board, "org_coverage")
    assert cover["numerator"] == 3 and cover["denominator"] == 4 and cover["value"] == pytest.approx(75.0)
    league = service.league(db, parse_month("2026-03"), "dual_on_time")
    assert [(r["key"], r["value"]) for r in league["rows"]] == [("SW", 100.0), ("SCJG", pytest.approx(200 / 3))]
    assert [r["meets"] for r in league["rows"]] == [True, False]
    by_item = service.league(db, parse_month("2026-03"), "records_collected", grouping="item")
    assert {r["key"]: r["value"] for r in by_item["rows"]} == {"admin_penalty": 3, "admin_license": 1}


def test_department_sees_its_own_values_and_drill_shows_the_late_records(db: Session) -> None:
    depts = _city(db)
    service.build_month(db, "2026-03", today=TODAY, actor="test")
    db.commit()
    from xinyong.accounts.models import Department

    scjg = db.get(Department, depts["SCJG"])
    assert scjg is not None
    board = service.board(db, parse_month("2026-03"), dept=scjg)
    assert board["dept"]["code"] == "SCJG"
    assert snap(board, "records_collected")["value"] == 3
    assert all(r["id"] not in ("org_coverage", "records_per_capita") for r in board["indicators"])
    late = service.drill(db, parse_month("2026-03"), "dual_on_time", dept=scjg)
    assert len(late["rows"]) == 1 and late["rows"][0][6] == 12
    rejects = service.drill(db, parse_month("2026-03"), "reject_rate", dept_code="SCJG")
    assert {r[2] for r in rejects["rows"]} == {"校验码不正确", "不是有效日期"}
    with pytest.raises(DomainError, match="没有可查看的明细"):
        service.drill(db, parse_month("2026-03"), "org_coverage")


def test_previous_month_change_and_trend(db: Session) -> None:
    _city(db)
    service.build_month(db, "2026-02", today=TODAY, actor="test")
    service.build_month(db, "2026-03", today=TODAY, actor="test")
    db.commit()
    board = service.board(db, parse_month("2026-03"))
    collected = snap(board, "records_collected")
    assert collected["previous"] == 1 and collected["change"] == 3
    assert board["months"] == ["2026-02", "2026-03"] and collected["trend"] == [1, 4]


def test_closed_month_is_frozen_and_rebuild_is_logged(db: Session) -> None:
    _city(db)
    service.build_month(db, "2026-03", today=TODAY, actor="test")
    db.commit()
    with pytest.raises(DomainError, match=r"已结账.*--rebuild"):
        service.build_month(db, "2026-03", today=TODAY, actor="test")
    db.rollback()
    result = service.build_month(db, "2026-03", today=TODAY, actor="operator:admin", rebuild=True)
    db.commit()
    assert result["rebuilt"] is True
    assert db.get(StatMonth, "2026-03").rebuilds == 1  # type: ignore[union-attr]
    ev = db.scalars(select(AuditEvent).where(AuditEvent.action == "stats.rebuild")).one()
    assert ev.actor == "operator:admin" and ev.entity_id == "2026-03"


def test_open_month_rebuilds_freely_then_closes(db: Session) -> None:
    _city(db)
    assert service.build_month(db, "2026-04", today=TODAY, actor="jobs")["state"] == "open"
    assert service.build_month(db, "2026-04", today=TODAY, actor="jobs")["rebuilt"] is False
    db.commit()
    # the first daily run of May closes April once, then April is frozen
    assert service.daily_build(db, date(2026, 5, 1)) == 2
    db.commit()
    assert db.get(StatMonth, "2026-04").state == "closed"  # type: ignore[union-attr]
    assert service.daily_build(db, date(2026, 5, 2)) == 1


@pytest.mark.parametrize(("month", "message"), [
    ("2026-05", "尚未到来"), ("2027-01", "尚未到来"), ("2026-13", "YYYY-MM"), ("26-03", "YYYY-MM"),
    ("2026-3", "YYYY-MM"), ("", "YYYY-MM"), ("1999-12", "年份"), ("２０２６-03", "YYYY-MM"),
])
def test_bad_months_are_refused_in_chinese(db: Session, month: str, message: str) -> None:
    with pytest.raises(DomainError, match=message):
        service.build_month(db, month, today=TODAY, actor="test")
    assert db.scalar(select(StatMonth)) is None


def test_empty_platform_builds_zero_values(db: Session) -> None:
    result = service.build_month(db, "2026-03", today=TODAY, actor="test")
    db.commit()
    assert result["rows"] > 0
    board = service.board(db, parse_month("2026-03"))
    assert snap(board, "records_collected")["value"] == 0
    assert snap(board, "dual_on_time")["value"] is None and snap(board, "dual_on_time")["meets"] is None


def test_evaluation_and_upstream_indicators(db: Session) -> None:
    from datetime import UTC, datetime

    from xinyong.evaluation.models import EvaluationCurrent, EvaluationRun
    from xinyong.exchange.models import OutboxEvent

    depts = _city(db)
    run = EvaluationRun(model_id="city_comprehensive", model_name="综合评价", model_version="1", as_of=date(2026, 3, 31),
                        state="done")
    db.add(run)
    db.flush()
    orgs = db.scalars(select(Subject.id).where(Subject.kind != "natural_person")).all()
    for sid, grade in zip(orgs, ("A", "A", "B"), strict=False):
        db.add(EvaluationCurrent(model_id="city_comprehensive", subject_id=sid, run_id=run.id, result_id=sid,
                                 grade=grade, score=80.0, as_of=date(2026, 3, 31)))
    march = datetime(2026, 3, 10, 2, tzinfo=UTC)
    for i, (state, sent, deadline) in enumerate((
            ("delivered", datetime(2026, 3, 11, 2, tzinfo=UTC), date(2026, 3, 12)),   # on time
            ("delivered", datetime(2026, 3, 20, 2, tzinfo=UTC), date(2026, 3, 12)),   # late
            ("rejected", datetime(2026, 3, 11, 2, tzinfo=UTC), date(2026, 3, 12)),
            ("queued", None, None))):
        db.add(OutboxEvent(target="province", event_type="record", key=f"k{i}", payload="{}", state=state,
                           created_at=march, sent_at=sent, deadline=deadline, dept_id=depts["SCJG"]))
    db.commit()
    service.build_month(db, "2026-03", today=TODAY, actor="test")
    db.commit()
    board = service.board(db, parse_month("2026-03"))
    assert snap(board, "evaluated_share")["numerator"] == 3 and snap(board, "evaluated_share")["denominator"] == 4
    grades = service.league(db, parse_month("2026-03"), "grade_distribution", grouping="type")
    assert {r["key"]: r["value"] for r in grades["rows"]}["A"] == 2
    assert snap(board, "upstream_delivered")["value"] == pytest.approx(50.0)
    on_time = snap(board, "upstream_on_time")
    assert on_time["numerator"] == 1 and on_time["denominator"] == 3


def test_daily_job_closes_a_month_never_built(db: Session) -> None:
    assert service.daily_build(db, date(2026, 5, 3)) == 2
    db.commit()
    assert db.get(StatMonth, "2026-04").state == "closed"  # type: ignore[union-attr]
    assert db.get(StatMonth, "2026-05").state == "open"  # type: ignore[union-attr]
