"""Object-level checks through the HTTP API and pages, on SQLite and PostgreSQL: another department's unpublished
list entry, records outside the public projection, other departments' webhooks; auditors never act; path ids out of
their column's range are refused in Chinese, never a server error."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from access_support import Actors
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from due_process_support import listed, org, penalty
from xinyong.access.actors import ActorKind
from xinyong.core.audit import AuditEvent
from xinyong.joint.models import Webhook
from xinyong.lists import service as lists
from xinyong.lists.schemas import ListEntryIn
from xinyong.subjects.models import Subject

_CJK = re.compile(r"[\u4e00-\u9fff]")


def _key(a: Actors, who: str) -> dict[str, str]:
    return a.w.auth(who)


# ---------------------------------------------------------------- list entries

def test_another_departments_unpublished_list_entry_is_not_found(actors: Actors, db: Session) -> None:
    a = actors
    subject = org(db)
    today = date.today()
    entry = lists.propose(db, ListEntryIn(subject=subject.uscc or "", list_type="scjg_serious_illegal",
                                          decision_no="德市监严〔2026〕1号", decision_date=today - timedelta(days=3),
                                          facts="生产销售不符合食品安全标准的食品，情节严重",
                                          basis="《市场监督管理严重违法失信名单管理办法》第九条"),
                          dept=a.w.scjg, today=today)
    db.commit()
    client = a.clients[ActorKind.ANONYMOUS]
    other = client.get(f"/api/v1/list-entries/{entry.id}", headers=_key(a, "sw"))
    assert other.status_code == 404
    assert _CJK.search(other.json()["detail"]) and "facts" not in other.text and "情节严重" not in other.text
    own = client.get(f"/api/v1/list-entries/{entry.id}", headers=_key(a, "scjg"))
    assert own.status_code == 200 and own.json()["state"] == "proposed"
    assert client.get(f"/api/v1/list-entries/{entry.id}", headers=_key(a, "office")).status_code == 200
    # a missing entry answers the same as a hidden one
    assert client.get("/api/v1/list-entries/987654", headers=_key(a, "sw")).json()["detail"].startswith("名单信息")


def test_a_published_list_entry_is_readable_by_every_department(actors: Actors, db: Session) -> None:
    a = actors
    subject = org(db)
    today = date.today()
    rec = penalty(db, subject, a.w.scjg, decided=today - timedelta(days=10), severity="严重")
    entry = listed(db, a.w.scjg, subject, rec, today)
    db.commit()
    resp = a.clients[ActorKind.ANONYMOUS].get(f"/api/v1/list-entries/{entry.id}", headers=_key(a, "sw"))
    assert resp.status_code == 200 and resp.json()["state"] == "published"


# ---------------------------------------------------------------- records: the public projection

def test_the_public_reads_records_only_through_the_public_projection(actors: Actors, db: Session) -> None:
    a = actors
    subject = org(db)
    today = date.today()
    public = penalty(db, subject, a.w.scjg, decided=today - timedelta(days=10))
    minor = penalty(db, subject, a.w.scjg, decided=today - timedelta(days=10), severity="轻微")  # never published
    db.commit()
    anon = a.clients[ActorKind.ANONYMOUS]
    assert anon.get(f"/api/v1/records/{public.id}/repair-eligibility").status_code == 200
    hidden = anon.get(f"/api/v1/records/{minor.id}/repair-eligibility")
    assert hidden.status_code == 404 and "未公开" in hidden.json()["detail"]
    assert anon.get(f"/api/v1/records/{minor.id + 1000}/repair-eligibility").status_code == 404
    # the forms that take a record id show nothing of a record outside the projection
    page = anon.get(f"/repair/new?record={minor.id}", headers={"accept": "text/html"})
    assert page.status_code == 404 and minor.decision_no not in page.text
    assert anon.get(f"/repair/new?record={public.id}", headers={"accept": "text/html"}).status_code == 200
    page = anon.get(f"/objections/new?record={minor.id}", headers={"accept": "text/html"})
    assert page.status_code == 404 and minor.decision_no not in page.text
    page = anon.get(f"/objections/new?record={public.id}", headers={"accept": "text/html"})
    assert page.status_code == 200 and (public.decision_no or "") in page.text
    posted = anon.post("/repair/new", headers={"accept": "text/html"},
                       data={"record_id": str(minor.id), "subject_code": "91371402MA0000000X", "applicant_name": "李四",
                             "contact": "13800000000", "statement": "已履行全部义务", "token": "t" * 16})
    assert posted.status_code == 404 and minor.decision_no not in posted.text


def test_departments_and_the_subject_read_records_beyond_the_projection(actors: Actors, db: Session) -> None:
    a = actors
    today = date.today()
    own = penalty(db, a.subject, a.w.scjg, decided=today - timedelta(days=10), severity="轻微")
    other = penalty(db, org(db), a.w.scjg, decided=today - timedelta(days=10), severity="轻微")
    db.commit()
    url = "/api/v1/records/{}/repair-eligibility"
    anon = a.clients[ActorKind.ANONYMOUS]
    assert anon.get(url.format(own.id), headers=_key(a, "scjg")).status_code == 200    # its provider
    assert anon.get(url.format(own.id), headers=_key(a, "office")).status_code == 200  # the office
    assert anon.get(url.format(own.id), headers=_key(a, "sw")).status_code == 404      # neither shared nor its own
    account = a.clients[ActorKind.SUBJECT]
    assert account.get(url.format(own.id)).status_code == 200       # the organisation's own record
    assert account.get(url.format(other.id)).status_code == 404     # someone else's


# ---------------------------------------------------------------- webhooks

def test_a_department_cannot_deactivate_another_departments_webhook(actors: Actors, db: Session) -> None:
    a = actors
    hook = Webhook(dept_id=a.w.scjg.id, url="https://hooks.example.org/xinyong", secret_enc="-")
    db.add(hook)
    db.commit()
    client = a.clients[ActorKind.ANONYMOUS]
    for who in ("sw", "office"):
        resp = client.delete(f"/api/v1/webhooks/{hook.id}", headers=_key(a, who))
        assert resp.status_code == 404 and _CJK.search(resp.json()["detail"])
    db.expire_all()
    assert db.get(Webhook, hook.id).active is True  # type: ignore[union-attr]
    assert client.delete(f"/api/v1/webhooks/{hook.id}", headers=_key(a, "scjg")).status_code == 200


# ---------------------------------------------------------------- auditors read, never act

def test_auditors_read_the_admin_pages_and_never_act(actors: Actors, db: Session) -> None:
    auditor = actors.clients[ActorKind.AUDITOR]
    html = {"accept": "text/html"}
    for path in ("/admin", "/admin/audit", "/admin/joint"):
        assert auditor.get(path, headers=html).status_code == 200, path
    before = db.scalar(select(func.count()).select_from(AuditEvent))
    for path in ("/admin/objections/1/accepted", "/admin/repair/1/approve", "/admin/complaints/1/accept",
                 "/admin/lists", "/admin/lists/1/publish", "/admin/tasks/1/feedback", "/admin/joint/outbox/retry",
                 "/admin/commitments/CN1/outcome", "/admin/checks", "/api/v1/objections/YY1/accept",
                 "/api/v1/list-entries", "/api/v1/checks", "/api/v1/webhooks"):
        resp = auditor.post(path, headers={"accept": "application/json"}, follow_redirects=False)
        assert resp.status_code == 403, (path, resp.status_code)
        assert "审计人员只能查阅" in resp.json()["detail"], path
    assert auditor.delete("/api/v1/webhooks/1").status_code == 403
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == before  # nothing was written


def test_only_the_office_retries_dead_letters(actors: Actors) -> None:
    clerk = actors.clients[ActorKind.DEPT_USER].post("/admin/joint/outbox/retry", follow_redirects=False)
    assert clerk.status_code == 403 and "信用办" in clerk.json()["detail"]
    office = actors.clients[ActorKind.OPERATOR].post("/admin/joint/outbox/retry", follow_redirects=False)
    assert office.status_code == 303 and office.headers["location"] == "/admin/joint"


def test_refusals_say_why_in_chinese(actors: Actors) -> None:
    anon = actors.clients[ActorKind.ANONYMOUS]
    resp = anon.get("/api/v1/tasks")
    assert resp.status_code == 401 and "API 密钥" in resp.json()["detail"]
    page = anon.get("/admin/objections", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/admin/login?next=/admin/objections"
    resp = actors.clients[ActorKind.SUBJECT].get("/admin", headers={"accept": "application/json"})
    assert resp.status_code == 403 and resp.json()["detail"].startswith("主体账户无权")
    resp = actors.clients[ActorKind.DEPT_KEY].get("/admin/lists", headers={"accept": "application/json"})
    assert resp.status_code == 403 and resp.json()["detail"].startswith("部门接口密钥无权")
    resp = actors.clients[ActorKind.DEPT_USER].get("/api/v1/tasks")
    assert resp.status_code == 403 and "API 密钥" in resp.json()["detail"]


def test_a_revoked_key_is_refused_like_no_credentials(actors: Actors, db: Session) -> None:
    from xinyong.accounts import service as accounts

    accounts.revoke_api_key(db, actors.w.sw_key[:10])
    db.commit()
    resp = actors.clients[ActorKind.ANONYMOUS].get("/api/v1/tasks", headers=_key(actors, "sw"))
    assert resp.status_code == 401 and "吊销" in resp.json()["detail"]


# ---------------------------------------------------------------- path ids and their column's range

@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/v1/batches/500725643548313728"),
    ("GET", "/api/v1/batches/500725643548313728/rejects.xlsx"),
    ("DELETE", "/api/v1/webhooks/3426576228"),
    ("GET", "/api/v1/list-entries/9223372036854775808"),
    ("POST", "/api/v1/list-entries/9223372036854775808/publish"),
    ("GET", "/api/v1/tasks/99999999999999999999"),
    ("GET", "/api/v1/records/9223372036854775808/repair-eligibility"),
    ("GET", "/api/v1/checks/batch/9223372036854775808.xlsx"),
    ("GET", "/api/v1/batches/0"),
    ("GET", "/api/v1/tasks/-1"),
])
def test_path_ids_out_of_range_are_refused_in_chinese(actors: Actors, method: str, path: str) -> None:
    resp = actors.clients[ActorKind.DEPT_KEY].request(method, path)
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["detail"].startswith("请求参数有误") and ("过大" in body["detail"] or "过小" in body["detail"])


@pytest.mark.parametrize("path", [
    "/api/v1/batches/2147483647",
    "/api/v1/list-entries/9223372036854775807",
    "/api/v1/tasks/9223372036854775807",
    "/api/v1/records/9223372036854775807/repair-eligibility",
    "/api/v1/checks/batch/9223372036854775807.xlsx",
])
def test_the_largest_ids_of_each_column_are_simply_not_found(actors: Actors, path: str) -> None:
    resp = actors.clients[ActorKind.DEPT_KEY].get(path)
    assert resp.status_code == 404 and _CJK.search(resp.json()["detail"])


def test_admin_path_ids_out_of_range_are_refused_not_a_server_error(actors: Actors) -> None:
    office = actors.clients[ActorKind.OPERATOR]
    for path in ("/admin/objections/9223372036854775808", "/admin/repair/9223372036854775808",
                 "/admin/objections/1/files/9223372036854775808"):
        assert office.get(path, headers={"accept": "application/json"}).status_code == 422, path
    assert office.get("/admin/repair/9223372036854775807", headers={"accept": "text/html"}).status_code == 404


def test_filers_name_hidden_records_only_with_their_subjects_code(actors: Actors, db: Session) -> None:
    from xinyong.objections.models import Objection
    from xinyong.repair.models import RepairApplication

    a = actors
    subject = org(db)
    minor = penalty(db, subject, a.w.scjg, decided=date.today() - timedelta(days=10), severity="轻微")
    revoked = penalty(db, subject, a.w.scjg, decided=date.today() - timedelta(days=10))
    revoked.state = "revoked"
    db.commit()
    anon = a.clients[ActorKind.ANONYMOUS]
    body = {"applicant_name": "李四", "contact": "13800000000", "subject_code": "91371402MA0000000X",
            "reason": "该处罚决定已被撤销，请予更正"}
    for rec in (minor, revoked):
        resp = anon.post("/api/v1/objections", json={**body, "record_id": rec.id})
        assert resp.status_code == 404 and "revoked" not in resp.text and "状态" not in resp.text
    resp = anon.post("/api/v1/repair-applications", json={
        "record_id": minor.id, "subject_code": "91371402MA0000000X", "applicant_name": "李四",
        "contact": "13800000000", "statement": "已履行全部义务", "obligations_fulfilled": True})
    assert resp.status_code == 404
    page = anon.post("/objections/new", headers={"accept": "text/html"},
                     data={**body, "record_id": str(minor.id), "token": "t" * 16})
    assert page.status_code == 404 and minor.decision_no not in page.text
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Objection)) == 0
    assert db.scalar(select(func.count()).select_from(RepairApplication)) == 0
    # the subject's own code names it: the objection is filed (an organisation's, through the office's counter)
    resp = anon.post("/api/v1/objections", json={**body, "subject_code": subject.uscc, "record_id": minor.id},
                     headers=_key(a, "office"))
    assert resp.status_code == 201, resp.text


# ---------------------------------------------------------------- batches, batch checks, tasks: their department's

def test_batches_rejects_check_batches_and_tasks_are_their_departments(actors: Actors, db: Session) -> None:
    from xinyong.checks.models import BatchCheck
    from xinyong.ingest.models import Batch
    from xinyong.joint.models import JointTask

    a = actors
    today = date.today()
    subject = org(db)
    entry = listed(db, a.w.scjg, subject, penalty(db, subject, a.w.scjg, decided=today - timedelta(days=10),
                                                  severity="严重"), today)
    batch = Batch(dept_id=a.w.scjg.id, item_code="admin_penalty", file_name="a.csv", file_sha256="0" * 64,
                  state="done")
    checks = BatchCheck(id=4242, dept_id=a.w.scjg.id, matter="政府采购", matter_type="procurement", purpose="")
    task = JointTask(entry_id=entry.id, subject_id=subject.id, measure_code="test_measure", measure_type="penalty",
                     dept_id=a.w.scjg.id, dispatched_on=today, due_date=today + timedelta(days=14))
    db.add_all([batch, checks, task])
    db.commit()
    client = a.clients[ActorKind.ANONYMOUS]
    paths = (f"/api/v1/batches/{batch.id}", f"/api/v1/batches/{batch.id}/rejects.xlsx",
             f"/api/v1/checks/batch/{checks.id}.xlsx", f"/api/v1/tasks/{task.id}")
    for path in paths:
        other = client.get(path, headers=_key(a, "sw"))
        assert other.status_code == 403 and _CJK.search(other.json()["detail"]), path
        assert client.get(path, headers=_key(a, "scjg")).status_code == 200, path
        assert client.get(path, headers=_key(a, "office")).status_code == 200, path


# ---------------------------------------------------------------- the /admin menu follows the policy

def test_the_admin_menu_shows_what_the_policy_allows(actors: Actors) -> None:
    html = {"accept": "text/html"}
    auditor = actors.clients[ActorKind.AUDITOR].get("/admin", headers=html).text
    clerk = actors.clients[ActorKind.DEPT_USER].get("/admin", headers=html).text
    office = actors.clients[ActorKind.OPERATOR].get("/admin", headers=html).text
    assert 'href="/admin/audit"' in auditor and 'href="/admin/joint"' in auditor
    for href in ("/admin/objections", "/admin/checks", "/admin/lists", "/admin/repair", "/admin/tasks"):
        assert f'href="{href}"' not in auditor, href
        assert f'href="{href}"' in clerk and f'href="{href}"' in office, href
    assert 'href="/admin/audit"' not in clerk and 'href="/admin/audit"' in office


def test_a_department_not_handling_an_objection_cannot_tell_it_exists(actors: Actors, db: Session) -> None:
    a = actors
    rec = penalty(db, org(db), a.w.scjg, decided=date.today() - timedelta(days=10))
    db.commit()
    anon = a.clients[ActorKind.ANONYMOUS]
    filed = anon.post("/api/v1/objections", json={
        "applicant_name": "李四", "contact": "13800000000", "subject_code": db.get(Subject, rec.subject_id).uscc,
        "reason": "处罚金额与决定书不一致", "record_id": rec.id}, headers=_key(a, "office"))  # the counter files
    assert filed.status_code == 201, filed.text
    case_no = filed.json()["case_no"]
    hidden = anon.get(f"/api/v1/objections/{case_no}", headers=_key(a, "sw"))
    missing = anon.get("/api/v1/objections/YY2099999999", headers=_key(a, "sw"))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"].replace(case_no, "?") == missing.json()["detail"].replace("YY2099999999", "?")
    assert anon.get(f"/api/v1/objections/{case_no}", headers=_key(a, "scjg")).json()["case_no"] == case_no
    assert anon.get(f"/api/v1/objections/{case_no}", headers=_key(a, "office")).status_code == 200
