"""Who may file in an organisation's name, on SQLite and PostgreSQL: its own account, the credit office's counter
(窗口代办, the filer recorded), or — for commitments — the accepting department; anonymous filing is refused in
Chinese with what to do, and natural persons keep their own paths."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from due_process_support import (
    FIRM_PASSWORD,
    PDF,
    b64,
    count_rows,
    firm_account,
    org,
    penalty,
    sign_in,
    world,
)
from xinyong.access.actors import ANONYMOUS, Actor, ActorKind
from xinyong.access.filing import FiledVia, filing_for
from xinyong.accounts import service as accounts
from xinyong.catalog import rules as catalog_rules
from xinyong.commitments.models import Commitment
from xinyong.core.clock import FixedClock
from xinyong.core.errors import Forbidden, Unauthorized
from xinyong.objections.models import Objection
from xinyong.records import service as records
from xinyong.repair.models import RepairApplication
from xinyong.subjects import service as subjects

PERSON_ID = "11010519491231002X"
HTML = {"Accept": "text/html"}


def _objection(subject: Any, rec: Any) -> dict[str, Any]:
    return {"applicant_name": "德州某某食品有限公司", "contact": "0534-1234567", "subject_code": subject.uscc,
            "record_id": rec.id, "reason": "处罚决定已被复议机关撤销，信息不应公示"}


def _repair(subject: Any, rec: Any) -> dict[str, Any]:
    return {"record_id": rec.id, "subject_code": subject.uscc, "applicant_name": "德州某某食品有限公司",
            "contact": "0534-7654321", "statement": "已缴清罚款，完成整改并通过复查", "obligations_fulfilled": True,
            "sign_commitment_as": "王某某", "attachments": [{"filename": "缴款凭证.pdf", "content_base64": b64(PDF)}]}


def _commitment(subject: Any, acceptor: str = "SCJG") -> dict[str, Any]:
    return {"type": "notice", "uscc": subject.uscc, "signer_uscc": subject.uscc, "signer_name": "张某某",
            "matter": "食品经营许可证核发（证明事项：场所产权证明）", "acceptor": acceptor}


# ---------------------------------------------------------------- the rule itself

ORG_ID, OTHER_ID, ACCEPTOR = 7, 8, 3
ACTORS = {
    "anonymous": ANONYMOUS,
    "own account": Actor(ActorKind.SUBJECT, label="account:A", account_id=1, subject_id=ORG_ID),
    "other account": Actor(ActorKind.SUBJECT, label="account:B", account_id=2, subject_id=OTHER_ID),
    "acceptor key": Actor(ActorKind.DEPT_KEY, label="dept:SCJG", dept_id=ACCEPTOR, dept_code="SCJG"),
    "other key": Actor(ActorKind.DEPT_KEY, label="dept:SW", dept_id=4, dept_code="SW"),
    "dept user": Actor(ActorKind.DEPT_USER, label="user:sw", dept_id=4, user_id=5),
    "operator": Actor(ActorKind.OPERATOR, label="user:op", dept_id=1, user_id=6, is_credit_office=True),
    "office key": Actor(ActorKind.DEPT_KEY, label="dept:XYB", dept_id=1, is_credit_office=True),
    "auditor": Actor(ActorKind.AUDITOR, label="user:au", user_id=9),
    "bank": Actor(ActorKind.BANK, label="bank:1"),
}
# (actor, organisation?, acceptor given?) -> filed via, or the error
EXPECTED: dict[tuple[str, bool, bool], Any] = {}
for name in ACTORS:
    for is_org in (True, False):
        for with_acceptor in (True, False):
            EXPECTED[(name, is_org, with_acceptor)] = Forbidden
for acc in (True, False):
    EXPECTED[("anonymous", True, acc)] = Unauthorized
    EXPECTED[("own account", True, acc)] = FiledVia.ACCOUNT
    EXPECTED[("operator", True, acc)] = EXPECTED[("office key", True, acc)] = FiledVia.COUNTER
    EXPECTED[("operator", False, acc)] = EXPECTED[("office key", False, acc)] = FiledVia.COUNTER
    for name in ("anonymous", "acceptor key", "other key", "dept user"):
        EXPECTED[(name, False, acc)] = FiledVia.PUBLIC
EXPECTED[("acceptor key", True, True)] = FiledVia.DEPARTMENT


@pytest.mark.parametrize("key", sorted(EXPECTED, key=str), ids=str)
def test_every_actor_for_organisations_and_persons(key: tuple[str, bool, bool]) -> None:
    name, is_org, with_acceptor = key
    expected = EXPECTED[key]
    kind = "legal_person" if is_org else "natural_person"
    call = dict(what="异议", subject_kind=kind, subject_id=ORG_ID, acceptor_dept_id=ACCEPTOR if with_acceptor else None)
    if isinstance(expected, FiledVia):
        filing = filing_for(ACTORS[name], **call)  # type: ignore[arg-type]
        assert filing.via is expected and filing.by == ACTORS[name].label
        assert filing.account_id == (1 if expected is FiledVia.ACCOUNT else None)
    else:
        with pytest.raises(expected) as refused:
            filing_for(ACTORS[name], **call)  # type: ignore[arg-type]
        assert any("\u4e00" <= ch <= "\u9fff" for ch in refused.value.detail)


# ---------------------------------------------------------------- objections

def test_objections_in_an_organisations_name(client: Any, db: Session) -> None:
    w = world(db)
    subject, other = org(db), org(db)
    rec = penalty(db, subject, w.scjg, decided=date(2026, 1, 5))
    db.commit()
    anonymous = client.post("/api/v1/objections", json=_objection(subject, rec))
    assert anonymous.status_code == 401 and "主体账户" in anonymous.json()["detail"]
    assert "窗口代办" in anonymous.json()["detail"] and count_rows(db, Objection) == 0
    sign_in(client, db, other)  # another firm's account
    wrong = client.post("/api/v1/objections", json=_objection(subject, rec))
    assert wrong.status_code == 403 and "其他单位" in wrong.json()["detail"] and count_rows(db, Objection) == 0
    client.post("/account/logout")
    account = sign_in(client, db, subject)
    own = client.post("/api/v1/objections", json=_objection(subject, rec))
    assert own.status_code == 201, own.text
    filed = db.scalars(select(Objection)).one()
    assert (filed.filed_via, filed.filed_by, filed.filer_account_id) == ("account", f"account:{subject.uscc}",
                                                                         account.id)


def test_the_counter_files_for_an_organisation_and_is_recorded(client: Any, db: Session,
                                                               clock: FixedClock) -> None:
    clock.set(date(2026, 5, 2))  # past the minimum period of a 一般 penalty
    w = world(db)
    subject = org(db)
    rec = penalty(db, subject, w.scjg, decided=date(2026, 1, 5))
    accounts.create_user(db, "op", "operator-123", role="operator", dept_code="XYB")
    accounts.create_user(db, "au", "auditor-123", role="auditor", dept_code="XYB")
    db.commit()
    # an auditor reads, never files
    client.post("/admin/login", data={"username": "au", "password": "auditor-123"})
    form = {"token": "c-1", "record_id": str(rec.id), "subject_code": subject.uscc, "applicant_name": "某公司",
            "contact": "0534-1", "reason": "处罚决定书文号录入错误"}
    refused = client.post("/objections/new", data=form, headers=HTML)
    assert refused.status_code == 403 and count_rows(db, Objection) == 0
    # the operator at the counter: the form, with the operator's own login
    client.post("/admin/logout")
    client.post("/admin/login", data={"username": "op", "password": "operator-123"})
    ok = client.post("/objections/new", data=form, headers=HTML)
    assert ok.status_code == 201, ok.text
    filed = db.scalars(select(Objection)).one()
    assert (filed.filed_via, filed.filed_by, filed.filer_account_id) == ("counter", "user:op", None)
    # the API with the office's key is the counter as well
    r = client.post("/api/v1/repair-applications", json=_repair(subject, rec), headers=w.auth("office"))
    assert r.status_code == 201, r.text
    app = db.scalars(select(RepairApplication)).one()
    assert (app.filed_via, app.filed_by) == ("counter", "dept:XYB")


def test_a_natural_persons_objection_still_needs_no_account(client: Any, db: Session) -> None:
    w = world(db)
    person = subjects.upsert_person(db, PERSON_ID, "李四")
    start, until = catalog_rules.publication_window("一般", date(2026, 1, 5), None)
    rec = records.add_record(db, subject=person, item_code="admin_penalty", dept_id=w.scjg.id,
                             values={"subject_name": "李四", "decision_no": "德市监罚〔2026〕88号", "penalty_type": "罚款"},
                             decision_no="德市监罚〔2026〕88号", decision_date=date(2026, 1, 5), severity="一般",
                             publish_from=start, publish_until=until)
    db.commit()
    body = {"applicant_name": "李四", "contact": "13900000000", "subject_code": PERSON_ID, "record_id": rec.id,
            "reason": "本人未在该处经营，信息有误"}
    r = client.post("/api/v1/objections", json=body)
    assert r.status_code == 201, r.text
    assert db.scalars(select(Objection.filed_via)).one() == "public"
    # a firm's account cannot file for a person
    sign_in(client, db, org(db))
    r = client.post("/api/v1/objections", json={**body, "reason": "再次提出：信息有误"})
    assert r.status_code == 403 and "自然人" in r.json()["detail"]


# ---------------------------------------------------------------- repair applications

def test_repair_applications_in_an_organisations_name(client: Any, db: Session,
                                                     clock: FixedClock) -> None:
    clock.set(date(2026, 5, 2))  # past the minimum period of a 一般 penalty
    w = world(db)
    subject, other = org(db), org(db)
    rec = penalty(db, subject, w.scjg, decided=date(2026, 1, 5))
    db.commit()
    anonymous = client.post("/api/v1/repair-applications", json=_repair(subject, rec))
    assert anonymous.status_code == 401 and "窗口代办" in anonymous.json()["detail"]
    assert count_rows(db, RepairApplication) == count_rows(db, Commitment) == 0
    sign_in(client, db, other)
    assert client.post("/api/v1/repair-applications", json=_repair(subject, rec)).status_code == 403
    client.post("/account/logout")
    account = sign_in(client, db, subject)
    ok = client.post("/api/v1/repair-applications", json=_repair(subject, rec))
    assert ok.status_code == 201, ok.text
    app = db.scalars(select(RepairApplication)).one()
    assert (app.filed_via, app.filer_account_id) == ("account", account.id)
    signed = db.scalars(select(Commitment)).one()  # the repair commitment signed with it, by the same account
    assert (signed.filed_via, signed.filer_account_id) == ("account", account.id)


# ---------------------------------------------------------------- commitments

def test_commitments_are_signed_by_the_account_or_entered_by_the_acceptor(client: Any, db: Session) -> None:
    w = world(db)
    subject = org(db)
    db.commit()
    anonymous = client.post("/api/v1/commitments", json=_commitment(subject))
    assert anonymous.status_code == 401 and "主体账户" in anonymous.json()["detail"]
    other_dept = client.post("/api/v1/commitments", json=_commitment(subject), headers=w.auth("sw"))
    assert other_dept.status_code == 403 and "受理该承诺的部门" in other_dept.json()["detail"]
    assert count_rows(db, Commitment) == 0
    entered = client.post("/api/v1/commitments", json=_commitment(subject), headers=w.auth("scjg"))
    assert entered.status_code == 201, entered.text
    assert entered.json()["filed_via"] == "department" and entered.json()["filed_via_label"] == "受理部门录入"
    firm_account(db, subject)
    client.post("/account/login", data={"uscc": subject.uscc, "password": FIRM_PASSWORD})
    signed = client.post("/api/v1/commitments", json={**_commitment(subject), "matter": "另一审批事项"})
    assert signed.status_code == 201 and signed.json()["filed_via"] == "account"
    by = dict(db.execute(select(Commitment.commitment_no, Commitment.filed_by)).tuples().all())
    assert by == {entered.json()["commitment_no"]: "dept:SCJG", signed.json()["commitment_no"]: f"account:{subject.uscc}"}


def test_the_signing_form_refuses_anonymous_signers_in_chinese(client: Any, db: Session) -> None:
    world(db)
    subject = org(db)
    db.commit()
    form = {"type": "notice", "uscc": subject.uscc, "signer_name": "张某某", "matter": "某审批事项",
            "acceptor": "SCJG", "agree": "yes"}
    r = client.post("/commitments/new", data=form, headers=HTML)
    assert r.status_code == 401 and "主体账户" in r.text and count_rows(db, Commitment) == 0
    sign_in(client, db, subject)
    ok = client.post("/commitments/new", data=form, headers=HTML, follow_redirects=False)
    assert ok.status_code == 303 and count_rows(db, Commitment) == 1


def test_the_forms_say_in_which_capacity_one_files(client: Any, db: Session) -> None:
    w = world(db)
    subject = org(db)
    rec = penalty(db, subject, w.scjg, decided=date(2026, 1, 5))
    accounts.create_user(db, "op", "operator-123", role="operator", dept_code="XYB")
    db.commit()
    anonymous = client.get(f"/objections/new?record={rec.id}", headers=HTML).text
    assert "须先登录本单位的主体账户" in anonymous
    sign_in(client, db, subject)
    for url in (f"/objections/new?record={rec.id}", f"/repair/new?record={rec.id}"):
        page = client.get(url, headers=HTML).text
        assert f"主体账户（{subject.uscc}）" in page and f'value="{subject.uscc}"' in page, url
    client.post("/account/logout")
    client.post("/admin/login", data={"username": "op", "password": "operator-123"})
    assert "窗口代办" in client.get(f"/objections/new?record={rec.id}", headers=HTML).text
