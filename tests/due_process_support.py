"""Helpers shared by the due-process tests (objections, repair, commitments, complaints, audit)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import count
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyong.accounts import service as accounts
from xinyong.accounts.models import Department, SubjectAccount
from xinyong.catalog import rules as catalog_rules
from xinyong.core.identifiers import make_uscc
from xinyong.lists import service as lists
from xinyong.lists.models import ListEntry
from xinyong.lists.schemas import ListEntryIn
from xinyong.records import service as records
from xinyong.records.models import Record
from xinyong.subjects import service as subjects
from xinyong.subjects.models import Subject

_seq = count(1)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n%%EOF\n"
JPG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


@dataclass
class World:
    office: Department
    scjg: Department
    sw: Department
    office_key: str
    scjg_key: str
    sw_key: str

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": "Bearer " + {"office": self.office_key, "scjg": self.scjg_key, "sw": self.sw_key}[who]}


def world(db: Session) -> World:
    office = accounts.add_department(db, "XYB", "德州市社会信用体系建设领导小组办公室", credit_office=True)
    scjg = accounts.add_department(db, "SCJG", "德州市市场监督管理局")
    sw = accounts.add_department(db, "SW", "国家税务总局德州市税务局")
    keys = [accounts.create_api_key(db, c) for c in ("XYB", "SCJG", "SW")]
    db.commit()
    return World(office, scjg, sw, *keys)


def org(db: Session, name: str | None = None) -> Subject:
    n = next(_seq)
    return subjects.upsert_organisation(db, uscc=make_uscc("91", "371402", f"DP{n:06d}"),
                                        name=name or f"德州某某食品有限公司{n}")


def penalty(db: Session, subject: Subject, dept: Department, *, decided: date, severity: str = "一般",
            penalty_type: str = "罚款", decision_no: str | None = None) -> Record:
    no = decision_no or f"德市监罚〔2026〕{next(_seq)}号"
    start, until = catalog_rules.publication_window(severity, decided, None)
    values = {"subject_name": subject.name, "uscc": subject.uscc, "decision_no": no, "violation_facts": "销售过期食品",
              "penalty_basis": "《中华人民共和国食品安全法》第一百二十四条", "penalty_type": penalty_type,
              "penalty_content": "罚款人民币贰万元", "fine_amount": "2", "decision_date": decided.isoformat(),
              "authority": dept.name, "severity": severity}
    return records.add_record(db, subject=subject, item_code="admin_penalty", dept_id=dept.id, values=values,
                              decision_no=no, decision_date=decided, severity=severity, publish_from=start,
                              publish_until=until)


def listed(db: Session, dept: Department, subject: Subject, rec: Record, today: date) -> ListEntry:
    body = ListEntryIn(subject=subject.uscc or "", list_type="scjg_serious_illegal", decision_no=rec.decision_no or "",
                       decision_date=today - timedelta(days=3), facts="生产销售不符合食品安全标准的食品，情节严重",
                       basis="《市场监督管理严重违法失信名单管理办法》第九条", record_id=rec.id)
    entry = lists.propose(db, body, dept=dept, today=today)
    lists.notify(db, entry.id, dept=dept, notified_at=today, channel="直接送达", today=today)
    return lists.publish(db, entry.id, dept=dept, today=today)


FIRM_PASSWORD = "firm-pass-2026"


def firm_account(db: Session, subject: Subject, *, status: str = "active") -> SubjectAccount:
    """The organisation's own account, as if registered and activated (registration itself: tests/accounts)."""
    account = SubjectAccount(subject_id=subject.id, uscc=subject.uscc, password_hash=accounts.hash_password(FIRM_PASSWORD),
                             legal_rep_name="王某某", legal_rep_id_hash="0" * 64, status=status, activated_by="test")
    db.add(account)
    db.commit()
    return account


def sign_in(client: Any, db: Session, subject: Subject) -> SubjectAccount:
    """Log the test client in as the organisation's own account: what it files is filed in its own name."""
    account = firm_account(db, subject)
    r = client.post("/account/login", data={"uscc": subject.uscc, "password": FIRM_PASSWORD}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return account


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def count_rows(db: Session, model: type) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0
