"""Helpers for tests/sharing: departments, records, partners."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import count

from sqlalchemy.orm import Session

from xinyong.accounts import service as accounts
from xinyong.core.identifiers import make_uscc
from xinyong.exchange.sharing import service
from xinyong.records import service as records
from xinyong.records.models import Record
from xinyong.subjects import service as subjects

_seq = count(1)
ID_NO = "11010519491231002X"


def penalty(db: Session, today: date, *, n: int | None = None, penalty_type: str = "罚款",
            until: date | None = None) -> Record:
    dept = accounts.add_department(db, "SCJG", "德州市市场监督管理局")
    n = n or next(_seq)
    uscc = make_uscc("91", "371402", f"MP{n:06d}")
    subject = subjects.upsert_organisation(db, uscc=uscc, name=f"德州共享测试有限公司{n}")
    values = {"subject_name": subject.name, "uscc": uscc, "decision_no": f"德市监处罚〔2026〕{n}号",
              "penalty_type": penalty_type, "decision_date": (today - timedelta(days=3)).isoformat(),
              "legal_rep_id_no": ID_NO}
    return records.add_record(db, subject=subject, item_code="admin_penalty", dept_id=dept.id, values=values,
                              decision_no=values["decision_no"], decision_date=today - timedelta(days=3),
                              severity="一般", publish_from=today - timedelta(days=3),
                              publish_until=until or today + timedelta(days=365))


def partner(db: Session, code: str = "BANK1", items: str = "admin_penalty", **kw: object) -> str:
    scopes = [service.ScopeIn(i, str(kw.pop("level", "shared")), str(kw.pop("id_numbers", "masked")))
              for i in items.split(",")]
    _, key = service.add_partner(db, code, f"{code} 合作方", scopes, purpose="信贷审批", **kw)  # type: ignore[arg-type]
    db.commit()
    return key


def h(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
