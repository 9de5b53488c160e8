"""List entries on both databases: the whole life of an entry, refusals that change nothing, records."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from lists_support import add_departments, new_citizen_id, new_org, propose, publish
from xinyong.core.audit import AuditEvent, verify_chain
from xinyong.core.errors import Forbidden, RuleViolation
from xinyong.core.settings import REPO_ROOT
from xinyong.lists import service as lists
from xinyong.lists.config import get_list_types
from xinyong.lists.models import ListEntry, ListEntryEvent
from xinyong.lists.schemas import ListEntryIn, PersonIn
from xinyong.records import service as records

TODAY = date(2026, 3, 2)


def _count(db: Session, model: type) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


def test_entry_goes_proposed_notified_published_exited_with_events_and_audit(db: Session) -> None:
    d = add_departments(db)
    subject = new_org(db)
    entry = propose(db, d["SCJG"], subject, today=TODAY)
    assert entry.state == "proposed" and entry.term_end == date(2029, 2, 25)  # default 36 months
    lists.notify(db, entry.id, dept=d["SCJG"], notified_at=date(2026, 3, 1), channel="邮寄送达", today=TODAY)
    lists.publish(db, entry.id, dept=d["SCJG"], today=TODAY)
    lists.exit_by_dept(db, entry.id, dept=d["SCJG"], reason="信用修复", today=date(2027, 4, 1))
    db.commit()
    events = lists.history(db, entry.id)
    assert [(e.action, e.actor) for e in events] == [("propose", "dept:SCJG"), ("notified", "dept:SCJG"),
                                                     ("published", "dept:SCJG"), ("exited", "dept:SCJG")]
    assert entry.published_on == TODAY and entry.exited_on == date(2027, 4, 1) and entry.exit_reason == "信用修复"
    actions = list(db.scalars(select(AuditEvent.action).where(AuditEvent.entity == "list_entry")))
    assert {"list_entry.propose", "list_entry.notified", "list_entry.published", "list_entry.exited"} <= set(actions)
    assert verify_chain(db).ok


def test_publishing_before_notice_is_refused_and_changes_nothing(db: Session) -> None:
    d = add_departments(db, ["SCJG"])
    entry = propose(db, d["SCJG"], new_org(db), today=TODAY)
    db.commit()
    before = (_count(db, ListEntryEvent), _count(db, AuditEvent))
    with pytest.raises(RuleViolation) as info:
        lists.publish(db, entry.id, dept=d["SCJG"], today=TODAY)
    assert info.value.rule == "notify_before_publish" and "未告知当事人" in info.value.detail
    db.rollback()
    assert db.get(ListEntry, entry.id).state == "proposed"
    assert (_count(db, ListEntryEvent), _count(db, AuditEvent)) == before


def test_term_past_the_maximum_is_refused(db: Session) -> None:
    d = add_departments(db, ["SCJG"])
    with pytest.raises(RuleViolation) as info:
        propose(db, d["SCJG"], new_org(db), today=TODAY, decision_date=date(2026, 2, 1), term_end=date(2029, 2, 2))
    assert info.value.rule == "term_max" and "最长期限 36 个月" in info.value.detail
    db.rollback()
    assert _count(db, ListEntry) == 0


def test_only_initiators_named_by_the_list_type_may_propose(db: Session) -> None:
    d = add_departments(db, ["SCJG", "SW"])
    with pytest.raises(Forbidden, match="无权提出列入"):
        propose(db, d["SW"], new_org(db), list_type="scjg_serious_illegal", today=TODAY)


def test_only_the_initiator_or_credit_office_may_act_on_an_entry(db: Session) -> None:
    d = add_departments(db, ["SCJG", "SW", "XYB"])
    entry = propose(db, d["SCJG"], new_org(db), today=TODAY)
    with pytest.raises(Forbidden):
        lists.notify(db, entry.id, dept=d["SW"], notified_at=TODAY, channel="邮寄", today=TODAY)
    lists.notify(db, entry.id, dept=d["XYB"], notified_at=TODAY, channel="邮寄", today=TODAY)


def test_duplicate_entry_for_the_same_decision_is_refused(db: Session) -> None:
    d = add_departments(db, ["SCJG"])
    s = new_org(db)
    propose(db, d["SCJG"], s, today=TODAY, decision_no="德市监严失〔2026〕1号")
    with pytest.raises(RuleViolation, match="请勿重复"):
        propose(db, d["SCJG"], s, today=TODAY, decision_no="德市监严失〔2026〕1号")


def test_responsible_persons_are_linked_masked_and_never_in_clear(db: Session) -> None:
    d = add_departments(db, ["SCJG", "CZ"])
    cid = new_citizen_id(7)
    entry = propose(db, d["SCJG"], new_org(db), today=TODAY,
                    persons=[PersonIn(role="legal_rep", name="张三丰", citizen_id=cid)])
    db.commit()
    out = lists.entry_out(db, entry)
    assert out["persons"] == [{"role": "legal_rep", "name": "张**", "id_masked": cid[:6] + "********" + cid[-4:]}]
    table_dump = " ".join(str(row) for t in ("subjects", "list_entry_persons", "audit_events", "list_entries")
                          for row in db.execute(text(f"SELECT * FROM {t}")))
    assert cid not in table_dump
    with pytest.raises(RuleViolation, match="不关联"):
        propose(db, d["CZ"], new_org(db), list_type="cz_procurement_bad_record", today=TODAY,
                persons=[PersonIn(role="legal_rep", name="李四", citizen_id=new_citizen_id(8))])


def test_subject_is_registered_when_named_and_refused_when_unknown(db: Session) -> None:
    d = add_departments(db, ["SCJG"])
    body = dict(list_type="scjg_serious_illegal", decision_no="X1", decision_date=date(2026, 2, 1), facts="事实",
                basis="依据")
    from xinyong.core.identifiers import make_uscc
    uscc = make_uscc("91", "371402", "MB000001")
    with pytest.raises(Exception, match="subject_name"):
        lists.propose(db, ListEntryIn(subject=uscc, **body), dept=d["SCJG"], today=TODAY)
    entry = lists.propose(db, ListEntryIn(subject=uscc, subject_name="德州新登记有限公司", **body), dept=d["SCJG"],
                          today=TODAY)
    assert entry.subject_id


def test_entries_for_subject_by_audience(db: Session) -> None:
    d = add_departments(db, ["SCJG", "SW"])
    s = new_org(db)
    published = publish(db, d["SCJG"], s, today=TODAY)
    suspended = publish(db, d["SCJG"], s, today=TODAY)
    lists.suspend_entry(db, suspended.id, actor="objections", reason="异议受理", today=TODAY)
    propose(db, d["SCJG"], s, today=TODAY)  # proposed: never shown
    exited = publish(db, d["SCJG"], s, today=TODAY)
    lists.exit_entry(db, exited.id, actor="repair", reason="信用修复", today=TODAY)
    public = lists.entries_for_subject(db, s.id, audience="public", today=TODAY)
    assert [e["id"] for e in public] == [published.id]
    row = public[0]
    assert {"id", "list_type", "list_name", "kind", "state", "decision_no", "decision_date", "basis", "term_end",
            "initiator", "suspended"} <= set(row)
    assert row["kind"] == "black" and row["initiator"] == "德州市市场监督管理局" and row["suspended"] is False
    dept_view = lists.entries_for_subject(db, s.id, audience="department", today=TODAY)
    assert sorted(e["id"] for e in dept_view) == sorted([published.id, suspended.id])
    assert next(e for e in dept_view if e["id"] == suspended.id)["suspended"] is True
    assert lists.entries_for_subject(db, s.id, audience="public", today=published.term_end.replace(year=2030)) == []


def test_entries_of_non_public_list_types_stay_off_the_portal(db: Session, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    d = add_departments(db, ["SCJG"])
    s = new_org(db)
    entry = publish(db, d["SCJG"], s, today=TODAY)
    config = tmp_path / "config"
    shutil.copytree(REPO_ROOT / "config", config)
    path = config / "lists" / "scjg_serious_illegal.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("\npublic: true\n", "\npublic: false\n"), encoding="utf-8")
    with monkeypatch.context() as m:
        m.setenv("XINYONG_CONFIG_DIR", str(config))
        assert get_list_types().items["scjg_serious_illegal"].public is False
        assert lists.entries_for_subject(db, s.id, audience="public", today=TODAY) == []
        assert lists.public_entries(db, today=TODAY)[1] == 0
        assert [e["id"] for e in lists.entries_for_subject(db, s.id, audience="department", today=TODAY)] == [entry.id]
    rows, total = lists.public_entries(db, today=TODAY)
    assert total == 1 and rows[0]["basis"] and rows[0]["term_end"] == entry.term_end


def test_daily_job_exits_entries_after_their_term(db: Session) -> None:
    d = add_departments(db, ["SCJG"])
    entry = publish(db, d["SCJG"], new_org(db), today=TODAY, decision_date=date(2026, 2, 1), term_end=date(2026, 5, 31))
    assert lists.expire_entries(db, date(2026, 5, 31)) == 0
    assert lists.expire_entries(db, date(2026, 6, 1)) == 1
    assert entry.state == "exited" and "届满" in (entry.exit_reason or "")
    assert lists.history(db, entry.id)[-1].actor == "system"


def test_objection_suspends_and_resumes_entries_resting_on_a_record(db: Session) -> None:
    d = add_departments(db, ["SCJG"])
    s = new_org(db)
    rec = records.add_record(db, subject=s, item_code="serious_dishonesty", dept_id=d["SCJG"].id,
                             values={"subject_name": s.name, "uscc": s.uscc, "list_type": "scjg_serious_illegal",
                                     "decision_no": "德市监严失〔2026〕9号", "decision_date": "2026-02-20",
                                     "facts": "事实", "basis": "依据"},
                             decision_no="德市监严失〔2026〕9号", decision_date=date(2026, 2, 20))
    entry = publish(db, d["SCJG"], s, today=TODAY, decision_no="德市监严失〔2026〕9号")
    assert entry.record_id == rec.id  # found by decision number
    assert lists.suspend_entries_for_record(db, rec.id, actor="objection:1", reason="异议已受理") == 1
    assert entry.state == "suspended"
    assert lists.resume_entries_for_record(db, rec.id, actor="objection:1", reason="异议不成立") == 1
    assert entry.state == "published"
    records.set_state(db, rec.id, "revoked", actor="SCJG")
    assert lists.exit_entries_for_record(db, rec.id, actor="objection:1", reason="原决定被撤销") == 1
    assert entry.state == "revoked"


def test_repair_exits_entries_of_the_record(db: Session) -> None:
    d = add_departments(db, ["SCJG"])
    s = new_org(db)
    rec = records.add_record(db, subject=s, item_code="serious_dishonesty", dept_id=d["SCJG"].id,
                             values={"subject_name": s.name, "uscc": s.uscc, "list_type": "scjg_serious_illegal",
                                     "decision_no": "R1", "decision_date": "2026-02-20", "facts": "事实",
                                     "basis": "依据"}, decision_no="R1", decision_date=date(2026, 2, 20))
    entry = publish(db, d["SCJG"], s, today=TODAY, record_id=rec.id, decision_no="other-number")
    records.set_state(db, rec.id, "repaired", actor="repair")
    assert lists.exit_entries_for_record(db, rec.id, actor="repair:1", reason="信用修复") == 1
    assert entry.state == "exited"
    assert lists.exit_entries_for_record(db, rec.id, actor="repair:1", reason="再次") == 0


@pytest.mark.parametrize("fn", ["suspend_entry", "resume_entry"])
def test_entry_level_functions_refuse_wrong_states(db: Session, fn: str) -> None:
    d = add_departments(db, ["SCJG"])
    entry = propose(db, d["SCJG"], new_org(db), today=TODAY)
    with pytest.raises(RuleViolation):
        getattr(lists, fn)(db, entry.id, actor="x", reason="y", today=TODAY)
    lists.revoke_entry(db, entry.id, actor="x", reason="撤回", today=TODAY)
    assert entry.state == "revoked"
