"""Helpers shared by tests/lists and tests/joint: departments, subjects, entries."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import count

from sqlalchemy.orm import Session

from xinyong.accounts import service as accounts
from xinyong.accounts.models import Department
from xinyong.core.identifiers import make_citizen_id, make_uscc
from xinyong.lists import service as lists
from xinyong.lists.models import ListEntry
from xinyong.lists.schemas import ListEntryIn
from xinyong.subjects import service as subjects
from xinyong.subjects.models import Subject

DEPTS = {
    "XYB": "德州市社会信用体系建设领导小组办公室", "SCJG": "德州市市场监督管理局", "SW": "国家税务总局德州市税务局",
    "STHJ": "德州市生态环境局", "YJGL": "德州市应急管理局", "ZJ": "德州市住房和城乡建设局", "JT": "德州市交通运输局",
    "RS": "德州市人力资源和社会保障局", "WJ": "德州市卫生健康委员会", "GA": "德州市公安局", "XF": "德州市消防救援支队",
    "CG": "德州市综合行政执法局", "WL": "德州市文化和旅游局", "NY": "德州市农业农村局", "ZRZY": "德州市自然资源和规划局",
    "FGW": "德州市发展和改革委员会", "ZY": "德州市中级人民法院", "CZ": "德州市财政局",
}
_seq = count(1)


def add_departments(db: Session, codes: list[str] | None = None) -> dict[str, Department]:
    out = {}
    for code in codes or list(DEPTS):
        out[code] = accounts.add_department(db, code, DEPTS[code], credit_office=code == "XYB")
    db.flush()
    return out


def new_org(db: Session, name: str | None = None) -> Subject:
    n = next(_seq)
    uscc = make_uscc("91", "371402", f"MA{n:06d}")
    return subjects.upsert_organisation(db, uscc=uscc, name=name or f"德州某某商贸有限公司{n}")


def new_citizen_id(n: int | None = None) -> str:
    return make_citizen_id("371402", date(1980, 1, 1) + timedelta(days=n or next(_seq)), 12)


def propose(db: Session, dept: Department, subject: Subject, *, list_type: str = "scjg_serious_illegal",
            today: date = date(2026, 3, 2), decision_date: date | None = None, term_end: date | None = None,
            decision_no: str | None = None, **extra: object) -> ListEntry:
    body = ListEntryIn(subject=subject.uscc or "", list_type=list_type,
                       decision_no=decision_no or f"德市监严失〔2026〕{next(_seq)}号",
                       decision_date=decision_date or today - timedelta(days=5),
                       facts="生产销售不符合食品安全标准的食品，情节严重", basis="《市场监督管理严重违法失信名单管理办法》第九条",
                       term_end=term_end, **extra)  # type: ignore[arg-type]
    return lists.propose(db, body, dept=dept, today=today)


def publish(db: Session, dept: Department, subject: Subject, *, today: date = date(2026, 3, 2),
            **kwargs: object) -> ListEntry:
    entry = propose(db, dept, subject, today=today, **kwargs)  # type: ignore[arg-type]
    lists.notify(db, entry.id, dept=dept, notified_at=today, channel="直接送达", today=today)
    return lists.publish(db, entry.id, dept=dept, today=today)
