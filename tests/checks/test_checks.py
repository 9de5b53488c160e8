from __future__ import annotations

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from check_data import CITIZEN_ID, CLEAN, DEBTOR, PENALISED, city, dept
from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.checks import service, stats
from xinyong.checks.logbuffer import buffer
from xinyong.checks.models import CheckLog
from xinyong.core.audit import AuditEvent
from xinyong.core.errors import Refused
from xinyong.records import service as records

TODAY = date.today()
LOCAL_TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()
UNKNOWN = "91371402MA3C5X0U6X"


def _check(db: Session, subject: str, **kw: str) -> dict:
    args = {"matter": "2026年政府采购项目", "matter_type": "procurement", "purpose": "投标人资格审查", **kw}
    return service.check_one(db, dept=dept(db), subject=subject, **args)


def test_clean_attention_dishonest_not_found(db: Session) -> None:
    city(db)
    clean = _check(db, CLEAN)
    assert clean["result"] == "clean" and clean["subject"]["name"] == "德州市恒达机械制造有限公司"
    assert [r["item"] for r in clean["records"]] == ["admin_license"]
    penalised = _check(db, PENALISED)
    assert penalised["result"] == "attention" and "有公示期内的行政处罚" in penalised["reasons"]
    debtor = _check(db, DEBTOR)
    assert debtor["result"] == "dishonest" and debtor["reasons"] == ["被人民法院列为失信被执行人"]
    missing = _check(db, UNKNOWN)
    assert missing["result"] == "not_found" and missing["subject"] is None


def test_codes_are_normalised_and_unknown_names_not_found(db: Session) -> None:
    city(db)
    out = _check(db, "91440300708461136T".lower())  # codes are normalised
    assert out["subject"]["uscc"] == PENALISED
    out = _check(db, "德州市不存在的公司")
    assert out["result"] == "not_found" and out["subject"] is None and "未找到" in out["message"]


def test_exact_name_finds_the_company(db: Session) -> None:
    city(db)
    out = _check(db, " 德州市顺意商贸有限公司 ")
    assert out["subject"]["uscc"] == PENALISED and out["result"] == "attention"


def test_ambiguous_name_lists_candidates_and_shows_no_records(db: Session) -> None:
    city(db)
    out = _check(db, "德州市同名商店")
    assert out["ambiguous"] is True and out["result"] == "not_found" and out["subject"] is None
    assert sorted(c["uscc"] for c in out["candidates"]) == ["91371402MA3C5X0R1C", "91371402MA3C5X0T83"]
    assert out["candidates"][0]["region"] and out["records"] == []
    buffer.flush()
    assert db.scalar(select(CheckLog.result).where(CheckLog.id == out["check_id"])) == "ambiguous"


def test_shared_items_are_visible_to_departments_only(db: Session) -> None:
    subjects = city(db)
    out = _check(db, PENALISED)
    items = {r["item"]: r for r in out["records"]}
    assert items["admin_inspection"]["disclosure"] == "shared"
    public = records.visible_records(db, subjects["penalised"].id, "public", TODAY)
    assert {r.item_code for r in public} == {"admin_penalty"}


def test_record_under_objection_is_marked_and_softens_the_court_list(db: Session) -> None:
    subjects = city(db)
    rec = next(r for r in records.visible_records(db, subjects["debtor"].id, "department", TODAY))
    records.set_state(db, rec.id, "objection", actor="test")
    db.commit()
    out = _check(db, DEBTOR)
    assert out["records"][0]["under_objection"] is True
    assert out["result"] == "attention" and "异议" in out["reasons"][0]


def test_person_by_citizen_id_is_masked_and_audited(db: Session) -> None:
    city(db)
    out = _check(db, CITIZEN_ID)
    db.commit()
    text = json.dumps(out, ensure_ascii=False)
    assert CITIZEN_ID not in text and "张三丰" not in text
    assert out["subject"]["id_masked"] == "371402********0127" and out["subject"]["name"] == "张**"
    assert out["result"] == "dishonest"
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "check.person")).one()
    assert CITIZEN_ID not in (event.after or "") and "371402********0127" in (event.after or "")
    buffer.flush()
    log = db.get(CheckLog, out["check_id"])
    assert log is not None and CITIZEN_ID not in log.query_ref and log.query_kind == "citizen_id"


def test_person_check_needs_a_purpose(db: Session) -> None:
    city(db)
    with pytest.raises(Refused, match="核查目的"):
        _check(db, CITIZEN_ID, purpose=" ")


def test_unknown_citizen_id_is_not_found_and_logged_hashed(db: Session) -> None:
    dept(db)
    db.commit()
    out = _check(db, "11010519491231002X")
    assert out["result"] == "not_found"
    buffer.flush()
    log = db.get(CheckLog, out["check_id"])
    assert log is not None and log.query_ref.startswith("hash:") and "1949" not in log.query_ref


@pytest.mark.parametrize(("subject", "reason"), [
    ("", "为空"), ("   ", "为空"), ("德" * 10_000, "过长"), ("91371402MA3C5X0Q3X", "校验"),
    ("371402199001020128", "校验码"), ("a\x00b", "控制字符"),
])
def test_bad_subjects_are_refused_in_chinese(db: Session, subject: str, reason: str) -> None:
    dept(db)
    with pytest.raises(Refused, match=reason):
        _check(db, subject)


def test_sql_and_html_in_names_are_just_names(db: Session) -> None:
    city(db)
    for evil in ("'; DROP TABLE subjects; --", "<script>alert(1)</script>", "德州%' OR '1'='1"):
        assert _check(db, evil)["result"] == "not_found"
    assert _check(db, CLEAN)["result"] == "clean"


@pytest.mark.parametrize(("matter", "matter_type", "reason"), [
    ("", "license", "核查事项"), ("x" * 201, "license", "过长"), ("某事项", "bidding", "核查事项类型"),
])
def test_bad_matters_are_refused(db: Session, matter: str, matter_type: str, reason: str) -> None:
    dept(db)
    with pytest.raises(Refused, match=reason):
        _check(db, CLEAN, matter=matter, matter_type=matter_type)


def test_every_check_is_logged_and_counted(db: Session) -> None:
    city(db)
    other = dept(db, "SW")
    db.commit()
    ids = [_check(db, CLEAN)["check_id"], _check(db, DEBTOR, matter_type="license")["check_id"]]
    service.check_one(db, dept=other, subject=PENALISED, matter="纳税信用评价", matter_type="honour")
    assert len(set(ids)) == 2
    stats_own = stats.check_stats(db, dept(db), LOCAL_TODAY, LOCAL_TODAY)
    assert stats_own["total"] == 2 and {r["matter_type"] for r in stats_own["rows"]} == {"procurement", "license"}
    log = db.get(CheckLog, ids[0])
    assert log is not None and log.matter == "2026年政府采购项目" and log.purpose == "投标人资格审查"
    assert log.result == "clean" and log.subject_id is not None and log.batch_id is None
    office = dept(db, "XYB")
    office.is_credit_office = True
    db.commit()
    everything = stats.check_stats(db, office, LOCAL_TODAY, LOCAL_TODAY)
    assert everything["total"] == 3 and everything["scope"] == "all"
    row = next(r for r in everything["rows"] if r["dept_code"] == "SW")
    assert row["matter_type"] == "honour" and row["attention"] == 1
    assert stats.check_stats(db, office, date(2020, 1, 1), date(2020, 1, 31))["total"] == 0


def test_stats_refuse_reversed_dates(db: Session) -> None:
    with pytest.raises(Refused, match="晚于"):
        stats.check_stats(db, dept(db), date(2026, 2, 1), date(2026, 1, 1))
