"""Shared setup for the financing tests: firms with accounts and records, institutions with users and keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from xinyong.access.actors import Actor, actor_for_account
from xinyong.accounts import service as accounts
from xinyong.accounts.models import Department
from xinyong.catalog import rules as catalog_rules
from xinyong.core.identifiers import make_uscc
from xinyong.financing import service
from xinyong.financing.models import Institution, Product
from xinyong.records import service as records
from xinyong.subject_accounts import service as subject_accounts
from xinyong.subjects import service as subjects
from xinyong.subjects.models import Subject

REP_ID = "11010519491231002X"
PASSWORD = "firm-secret-2026"
BANK_PASSWORD = "bank-secret-2026"
RULE = {"all": [{"fact": "on_black_list", "eq": False}, {"fact": "severe_penalties_2y", "eq": 0},
                {"fact": "years_established", "gte": 2}]}


def _dept(db: Session, code: str, name: str) -> Department:
    found = db.query(Department).filter_by(code=code).one_or_none()
    return found or accounts.add_department(db, code, name)


@dataclass
class Firm:
    subject: Subject
    actor: Actor


def firm(db: Session, n: int, *, established: date = date(2018, 5, 1), severe_penalty_on: date | None = None,
         tax: str | None = None) -> Firm:
    scjg = _dept(db, "SCJG", "德州市市场监督管理局")
    uscc = make_uscc("91", "371402", f"FN{n:06d}")
    subject = subjects.upsert_organisation(db, uscc=uscc, name=f"德州融资测试有限公司{n}", region_code="371402")
    subject.established = established
    start, until = catalog_rules.permanent_window(established)
    records.add_record(db, subject=subject, item_code="registration", dept_id=scjg.id,
                       values={"subject_name": subject.name, "uscc": uscc, "legal_rep": "张三",
                               "legal_rep_id_no": REP_ID, "established": established.isoformat()},
                       decision_date=established, publish_from=start, publish_until=until)
    if severe_penalty_on is not None:
        records.add_record(db, subject=subject, item_code="admin_penalty", dept_id=scjg.id, severity="严重",
                           decision_no=f"德市监罚〔2026〕{n}号",
                           values={"subject_name": subject.name, "uscc": uscc, "decision_no": f"德市监罚〔2026〕{n}号",
                                   "violation_type": "虚假宣传", "penalty_type": "罚款", "penalty_content": "罚款",
                                   "authority": "德州市市场监督管理局", "decision_date": severe_penalty_on.isoformat()},
                           decision_date=severe_penalty_on, publish_from=severe_penalty_on,
                           publish_until=date(2099, 1, 1))
    if tax is not None:
        sw = _dept(db, "SW", "国家税务总局德州市税务局")
        records.add_record(db, subject=subject, item_code="tax_credit_rating", dept_id=sw.id,
                           values={"subject_name": subject.name, "uscc": uscc, "rating_year": "2025", "rating": tax,
                                   "rating_date": "2026-04-01"}, decision_date=date(2026, 4, 1))
    account = subject_accounts.register(db, subject_accounts.Registration(uscc, "张三", REP_ID, PASSWORD, ""))
    code = subject_accounts.issue_code(db, uscc, actor="user:admin")
    subject_accounts.activate(db, uscc, code, address="10.0.0.1")
    db.commit()
    return Firm(subject, actor_for_account(account))


@dataclass
class Bank:
    institution: Institution
    officer: Actor
    manager: Actor
    key: str
    product: Product


def bank(db: Session, n: int, *, rules: dict[str, object] | None = None, guarantee: str = "credit") -> Bank:
    inst = service.add_institution(db, make_uscc("91", "371400", f"BK{n:06d}"), f"德州测试银行{n}")
    officer = service.add_user(db, inst, f"officer{n}", BANK_PASSWORD, "loan_officer")
    manager = service.add_user(db, inst, f"manager{n}", BANK_PASSWORD, "product_manager")
    key = service.create_key(db, inst, "test")
    product = service.create_product(db, service.actor_for_bank_user(manager), service.ProductIn(
        name=f"信易贷{n}号", min_amount=100_000, max_amount=3_000_000, min_term=6, max_term=36, min_rate=3.2,
        max_rate=5.5, guarantee=guarantee, regions=["3714"], industries=[], rules=RULE if rules is None else rules))
    db.commit()
    return Bank(inst, service.actor_for_bank_user(officer), service.actor_for_bank_user(manager), key, product)
