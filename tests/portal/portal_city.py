"""A small city for the portal tests (HTTP and browser): records inside and outside their windows, in every
state that matters. A plain module so the browser tests can seed a live server with it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy.orm import Session

from xinyong.accounts import service as accounts
from xinyong.core.identifiers import make_citizen_id, make_uscc
from xinyong.records import service as records
from xinyong.subjects import service as subjects

TODAY = date.today()


@dataclass
class City:
    uscc: str = ""
    other_uscc: str = ""
    dept_a: int = 0
    dept_b: int = 0
    records: dict[str, int] = field(default_factory=dict)


def penalty(subject_name: str, uscc: str | None, no: str, kind: str = "罚款", content: str = "罚款人民币五千元",
            **extra: str) -> dict[str, str]:
    values = {"subject_name": subject_name, "decision_no": no, "penalty_type": kind, "penalty_content": content,
              "authority": "德州市市场监督管理局", "violation_facts": "未按规定公示年度报告"}
    if uscc:
        values["uscc"] = uscc
    values.update(extra)
    return values


def licence(subject_name: str, uscc: str, no: str) -> dict[str, str]:
    return {"subject_name": subject_name, "uscc": uscc, "decision_no": no, "license_category": "普通",
            "content": "食品经营许可", "authority": "德州市行政审批服务局"}


def seed_city(db: Session) -> City:
    """Two departments, two organisations and a natural person with records of every visibility."""
    city = City()
    a = accounts.add_department(db, "SCJG", "德州市市场监督管理局")
    b = accounts.add_department(db, "XZSP", "德州市行政审批服务局")
    db.flush()
    city.dept_a, city.dept_b = a.id, b.id
    org = subjects.upsert_organisation(db, uscc=make_uscc("91", "371402", "MA3C0001"),
                                       name="德州市恒达机械制造有限公司", seen=TODAY - timedelta(days=400))
    subjects.upsert_organisation(db, uscc=org.uscc or "", name="德州市恒达重工机械制造有限公司", seen=TODAY - timedelta(days=30))
    other = subjects.upsert_organisation(db, uscc=make_uscc("92", "371402", "MA3C0002"), name="德州市鑫源小吃店")
    person = subjects.upsert_person(db, make_citizen_id("371402", date(1980, 5, 6), 12), "王小明")
    city.uscc, city.other_uscc = org.uscc or "", other.uscc or ""
    name = "德州市恒达重工机械制造有限公司"
    d = TODAY - timedelta(days=20)

    def add(key: str, subject: object, item: str, dept: int, values: dict[str, str], **kw: object) -> None:
        rec = records.add_record(db, subject=subject, item_code=item, dept_id=dept, values=values,  # type: ignore[arg-type]
                                 decision_no=values["decision_no"], **kw)  # type: ignore[arg-type]
        city.records[key] = rec.id

    add("in_window", org, "admin_penalty", a.id, penalty(name, org.uscc, "德市监罚〔2025〕1号"),
        decision_date=d, severity="一般", publish_from=d, publish_until=d + timedelta(days=365))
    add("objection", org, "admin_penalty", a.id, penalty(name, org.uscc, "德市监罚〔2025〕2号", content="罚款人民币一万元"),
        decision_date=d - timedelta(days=1), severity="一般", publish_from=d, publish_until=d + timedelta(days=365))
    records.set_state(db, city.records["objection"], "objection", actor="test", note="异议受理")
    old = TODAY - timedelta(days=800)
    add("expired", org, "admin_penalty", a.id, penalty(name, org.uscc, "德市监罚〔2023〕9号", content="已过公示期的处罚"),
        decision_date=old, severity="一般", publish_from=old, publish_until=old + timedelta(days=365))
    add("minor", org, "admin_penalty", a.id, penalty(name, org.uscc, "德市监罚〔2025〕3号", kind="警告", content="轻微警告内容"),
        decision_date=d, severity="轻微", publish_from=None, publish_until=None)
    add("shared", org, "admin_inspection", a.id, {"subject_name": name, "uscc": org.uscc or "",
                                                  "decision_no": "德市监检〔2025〕7号"},
        decision_date=d, publish_from=None, publish_until=None)
    add("licence", org, "admin_license", b.id, licence(name, org.uscc or "", "德审批许〔2025〕5号"),
        decision_date=d - timedelta(days=5), publish_from=d - timedelta(days=5), publish_until=None)
    add("other_licence", other, "admin_license", b.id, licence("德州市鑫源小吃店", other.uscc or "", "德审批许〔2024〕8号"),
        decision_date=TODAY - timedelta(days=200), publish_from=TODAY - timedelta(days=200), publish_until=None)
    add("person", person, "admin_penalty", a.id,
        penalty("王小明", None, "德市监罚〔2025〕4号", id_no=make_citizen_id("371402", date(1980, 5, 6), 12)),
        decision_date=d, severity="一般", publish_from=d, publish_until=d + timedelta(days=365))
    db.commit()
    return city
