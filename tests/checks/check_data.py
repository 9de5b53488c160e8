"""Small data builders shared by the check and report tests (imported by tests/reports/conftest.py too)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from xinyong.accounts import service as accounts
from xinyong.accounts.models import Department
from xinyong.records import service as records
from xinyong.records.models import Record
from xinyong.subjects import service as subjects
from xinyong.subjects.models import Subject

TODAY = date.today()
CLEAN = "91371402MA3C5X0Q3H"
PENALISED = "91440300708461136T"
DEBTOR = "91110000100000585X"
CITIZEN_ID = "371402199001020127"


def dept(db: Session, code: str = "SCJG") -> Department:
    return accounts.add_department(db, code, {"SCJG": "德州市市场监督管理局"}.get(code, f"测试部门{code}"))


def org(db: Session, uscc: str, name: str) -> Subject:
    return subjects.upsert_organisation(db, uscc=uscc, name=name)


def penalty(db: Session, subject: Subject, *, no: str = "德市监处罚〔2026〕1号", days_ago: int = 30,
            until_days: int = 300, severity: str = "一般", dept_code: str = "SCJG", **values: Any) -> Record:
    d = dept(db, dept_code)
    decided = TODAY - timedelta(days=days_ago)
    body = {"subject_name": subject.name, "uscc": subject.uscc, "decision_no": no, "penalty_type": "罚款",
            "violation_facts": "销售不合格产品", "fine_amount": "5000", "decision_date": decided.isoformat(),
            "authority": "德州市市场监督管理局", **values}
    return records.add_record(db, subject=subject, item_code="admin_penalty", dept_id=d.id, values=body,
                              decision_no=no, decision_date=decided, severity=severity, publish_from=decided,
                              publish_until=TODAY + timedelta(days=until_days))


def debtor(db: Session, subject: Subject, case_no: str = "(2026)鲁1402执123号") -> Record:
    d = dept(db, "FY")
    published = TODAY - timedelta(days=10)
    body = {"subject_name": subject.name, "uscc": subject.uscc, "case_no": case_no, "court": "德城区人民法院",
            "obligation": "支付货款 10 万元", "performance": "全部未履行", "publish_date": published.isoformat()}
    return records.add_record(db, subject=subject, item_code="dishonest_judgment_debtor", dept_id=d.id, values=body,
                              decision_no=case_no, decision_date=published, publish_from=published,
                              publish_until=published + timedelta(days=730))


def inspection(db: Session, subject: Subject) -> Record:
    """A shared (部门间共享) item: departments see it, the public does not."""
    d = dept(db)
    on = TODAY - timedelta(days=5)
    body = {"subject_name": subject.name, "uscc": subject.uscc, "inspection_no": "德市监检〔2026〕7号",
            "inspection_date": on.isoformat(), "result": "未发现问题", "authority": "德州市市场监督管理局"}
    return records.add_record(db, subject=subject, item_code="admin_inspection", dept_id=d.id, values=body,
                              decision_no="德市监检〔2026〕7号", decision_date=on)


def licence(db: Session, subject: Subject, no: str = "鲁食经许〔2026〕9号") -> Record:
    d = dept(db)
    on = TODAY - timedelta(days=40)
    body = {"subject_name": subject.name, "uscc": subject.uscc, "decision_no": no, "certificate_name": "食品经营许可证",
            "content": "预包装食品销售", "decision_date": on.isoformat(), "authority": "德州市市场监督管理局"}
    return records.add_record(db, subject=subject, item_code="admin_license", dept_id=d.id, values=body,
                              decision_no=no, decision_date=on, publish_from=on, publish_until=None)


def city(db: Session) -> dict[str, Subject]:
    """A clean company, a penalised one, a court-listed debtor, two companies with one name, one person."""
    out = {
        "clean": org(db, CLEAN, "德州市恒达机械制造有限公司"),
        "penalised": org(db, PENALISED, "德州市顺意商贸有限公司"),
        "debtor": org(db, DEBTOR, "德州市欠款建材有限公司"),
        "twin1": org(db, "91371402MA3C5X0R1C", "德州市同名商店"),
        "twin2": org(db, "91371402MA3C5X0T83", "德州市同名商店"),
        "person": subjects.upsert_person(db, CITIZEN_ID, "张三丰"),
    }
    licence(db, out["clean"])
    penalty(db, out["penalised"])
    inspection(db, out["penalised"])
    debtor(db, out["debtor"])
    debtor(db, out["person"], case_no="(2026)鲁1402执456号")
    db.commit()
    return out
