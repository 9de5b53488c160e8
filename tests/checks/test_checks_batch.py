"""The batch path (set-based, checks/batch.py) answers like the single check, and logs every query."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from check_data import CITIZEN_ID, CLEAN, DEBTOR, PENALISED, TODAY, city, dept, org, penalty
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.checks import batch, fast, service
from xinyong.checks.models import CheckLog
from xinyong.core.identifiers import make_uscc
from xinyong.records import service as records
from xinyong.subjects import service as subjects
from xinyong.subjects.models import Subject

PERSON = "371402198501010019"
BODY = {"matter": "采购\\事项", "matter_type": "procurement", "purpose": "资格审查"}


def _rating(db: Session, s: Subject, grade: str, days_ago: int, objection: bool = False) -> None:
    on = TODAY - timedelta(days=days_ago)
    rec = records.add_record(db, subject=s, item_code="tax_credit_rating", dept_id=dept(db, "SW").id,
                             values={"subject_name": s.name, "uscc": s.uscc, "rating": grade, "year": "2025"},
                             decision_no=f"税评{s.id}-{days_ago}", decision_date=on)
    if objection:
        rec.state = "objection"


def _abnormal(db: Session, s: Subject) -> None:
    on = TODAY - timedelta(days=20)
    records.add_record(db, subject=s, item_code="business_abnormal", dept_id=dept(db).id,
                       values={"subject_name": s.name, "uscc": s.uscc, "reason": "未按规定公示年度报告"},
                       decision_no=f"异常{s.id}", decision_date=on, publish_from=on)


def _varied_city(db: Session) -> list[str]:
    """Queries covering every kind of answer: the check_data city and subjects whose facts differ."""
    c = city(db)
    made = [org(db, make_uscc("91", "371402", f"7700{n:04d}"), f"德州市测试{n}有限公司") for n in range(6)]
    _rating(db, made[0], "D", 30)                   # a recent D rating: attention
    _rating(db, made[1], "D", 500)                  # an old one: weighed, no reason (clean, empty reasons)
    _rating(db, made[2], "B", 10)                   # another grade: not weighed at all
    _rating(db, made[3], "D", 20, objection=True)   # under objection
    _abnormal(db, made[4])
    penalty(db, made[4], no="德市监罚〔2026〕8号")  # two reasons
    penalty(db, made[5], no="德市监罚〔2025〕9号", until_days=-5)  # out of its window
    _abnormal(db, c["penalised"])
    subjects.upsert_person(db, PERSON, "李四")
    db.commit()
    return [CLEAN, PENALISED, DEBTOR, "德州市同名商店", "91371402MA3C5X0U6X", "bad-code-1", CITIZEN_ID,
            "德州市恒达机械制造有限公司", "", "德" * 300, "  " + CLEAN.lower() + " ", "371402199001020128", PERSON,
            "a\tb", CLEAN, "德州市同名商店", *[m.uscc for m in made], "不存在的公司", "含'引号\\反斜杠\"的名称"]


def test_batch_answers_like_the_single_check(db: Session) -> None:
    queries = _varied_city(db)
    d = dept(db)
    db.commit()
    out = batch.check_batch(db, dept=d, queries=queries, **BODY)
    db.commit()
    assert out["summary"] == {"total": 24, "clean": 8, "attention": 4, "dishonest": 2, "not_found": 4,
                              "ambiguous": 2, "invalid": 4}
    logs = db.scalars(select(CheckLog).where(CheckLog.batch_id == out["batch_check_id"]).order_by(CheckLog.seq)).all()
    assert [log.seq for log in logs] == list(range(1, 25)) and len({log.id for log in logs}) == 24
    for query, row, log in zip(queries, out["results"], logs, strict=True):
        assert (log.dept_id, log.matter, log.matter_type, log.purpose) == (d.id, BODY["matter"], "procurement", "资格审查")
        assert log.result == ("ambiguous" if row.get("ambiguous") else "invalid" if "error" in row else row["result"])
        assert PERSON not in log.query_ref and CITIZEN_ID not in log.query_ref
        if "error" in row:
            continue
        single = service.check_one(db, dept=d, subject=query, **BODY)
        db.rollback()
        assert row["result"] == single["result"], query
        assert row.get("ambiguous", False) == single["ambiguous"]
        if single["subject"] is None:
            assert "uscc" not in row and "reasons" not in row
            continue
        assert sorted(row.get("reasons", [])) == sorted(single["reasons"]), query
        assert (row["uscc"], row["name"], row["region"]) == (single["subject"]["uscc"], single["subject"]["name"],
                                                             single["subject"]["region"])
        assert log.subject_id == single["subject"]["id"]
    # the keys and their order are part of the API's JSON
    by_subject = {r["subject"]: r for r in out["results"]}
    assert list(by_subject[made_code(4)]) == ["seq", "subject", "result", "reasons", "uscc", "name", "region",
                                              "result_label"]
    assert by_subject[made_code(4)]["reasons"] == ["有公示期内的行政处罚", "被列入经营异常名录"]
    assert by_subject[made_code(1)]["reasons"] == [] and by_subject[made_code(1)]["result"] == "clean"
    assert list(by_subject[made_code(2)]) == ["seq", "subject", "result", "uscc", "name", "region", "result_label"]
    assert by_subject["371402********0019"]["name"] == "李*"
    assert list(out["results"][3]) == ["seq", "subject", "result", "ambiguous", "candidates", "result_label"]
    assert out["results"][3]["candidates"] == ["91371402MA3C5X0R1C", "91371402MA3C5X0T83"]
    assert list(out["results"][8]) == ["seq", "subject", "result", "error", "result_label"]


def made_code(n: int) -> str:
    return make_uscc("91", "371402", f"7700{n:04d}")


def test_batch_sees_the_records_of_its_own_transaction(db: Session) -> None:
    """Written but not committed: the records are read on the request's connection, not on a second one."""
    city(db)
    d = dept(db)
    db.commit()
    clean = db.scalar(select(Subject).where(Subject.uscc == CLEAN))
    assert clean is not None
    penalty(db, clean, no="德市监罚〔2026〕77号")
    db.flush()
    out = batch.check_batch(db, dept=d, queries=[CLEAN, PENALISED], **BODY)
    assert [r["result"] for r in out["results"]] == ["attention", "attention"]
    db.rollback()


def test_a_nul_character_is_logged_as_a_replacement_character(db: Session) -> None:
    city(db)
    d = dept(db)
    db.commit()
    out = batch.check_batch(db, dept=d, queries=[CLEAN, "a\x00b"], **BODY)
    db.commit()
    logs = db.scalars(select(CheckLog).where(CheckLog.batch_id == out["batch_check_id"]).order_by(CheckLog.seq)).all()
    assert [(log.query_ref, log.result) for log in logs] == [(CLEAN, "clean"), ("a\ufffdb", "invalid")]  # PostgreSQL text cannot hold NUL


def test_ratings_written_before_a_catalog_change_are_still_read(db: Session,
                                                                catalog_with_field: Callable[..., None]) -> None:
    """The rating's place in a positional payload depends on the record's layout: a field inserted before it
    moves it for new records only. Batch (SQL per layout), single and fast checks all read both."""
    made = [org(db, make_uscc("91", "371402", f"7800{n:04d}"), f"德州市布局{n}有限公司") for n in range(3)]
    _rating(db, made[0], "D", 30)
    db.commit()
    catalog_with_field("middle", "tax_credit_rating")
    _rating(db, made[1], "D", 30)
    _rating(db, made[2], "B", 30)
    d = dept(db)
    db.commit()
    out = batch.check_batch(db, dept=d, queries=[m.uscc for m in made], **BODY)
    db.commit()
    assert [row["result"] for row in out["results"]] == ["attention", "attention", "clean"]
    for m, grade in zip(made, ("D", "D", "B"), strict=True):
        single = service.check_one(db, dept=d, subject=m.uscc, **BODY)
        db.rollback()
        assert single["records"][0]["values"]["rating"] == grade
        quick = fast.try_check(d, m.uscc, **BODY)
        assert quick is not None and quick["records"] == single["records"] and quick["result"] == single["result"]
