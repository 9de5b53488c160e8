"""Server-rendered pages of the due-process domains: portal forms and /admin queues render and act."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from due_process_support import PNG, count_rows, org, penalty, sign_in, world
from xinyong.accounts import service as accounts
from xinyong.complaints.models import Complaint
from xinyong.objections.models import Objection

HTML = {"accept": "text/html"}


def _login(client: Any, db: Session, username: str, role: str, dept: str) -> None:
    accounts.create_user(db, username, "password-123", role=role, dept_code=dept)
    db.commit()
    client.cookies.clear()
    client.post("/admin/login", data={"username": username, "password": "password-123"}, follow_redirects=False)


def test_portal_forms_render_and_refuse_in_chinese(client: Any, db: Session) -> None:
    w = world(db)
    subject = org(db)
    rec = penalty(db, subject, w.scjg, decided=date(2026, 1, 5))
    db.commit()
    for url in ("/complaints/new", "/commitments/new?type=notice", f"/objections/new?record={rec.id}",
                f"/repair/new?record={rec.id}", "/objections/YY1", "/repair/XF1", "/complaints/TS1"):
        assert client.get(url, headers=HTML).status_code == 200, url
    form = {"token": "t-1", "record_id": str(rec.id), "subject_code": subject.uscc, "applicant_name": "某公司",
            "contact": "0534-1", "reason": "处罚决定书文号录入错误"}
    bad = client.post("/objections/new", data=form, files=[("files", ("a.pdf", b"hello", "application/pdf"))],
                      headers=HTML)
    assert bad.status_code == 422 and "按文件内容判断" in bad.text and count_rows(db, Objection) == 0
    anonymous = client.post("/objections/new", data=form, files=[("files", ("a.png", PNG, "image/png"))],
                            headers=HTML)
    assert anonymous.status_code == 401 and "主体账户" in anonymous.text and "窗口代办" in anonymous.text
    assert count_rows(db, Objection) == 0
    sign_in(client, db, subject)
    ok = client.post("/objections/new", data=form, files=[("files", ("a.png", PNG, "image/png"))], headers=HTML)
    again = client.post("/objections/new", data=form, files=[("files", ("a.png", PNG, "image/png"))], headers=HTML)
    assert ok.status_code == 201 and again.status_code == 201 and "此前已提交" in again.text
    assert count_rows(db, Objection) == 1
    r = client.post("/complaints/new", headers=HTML, data={
        "token": "t-2", "category": "其他", "target_name": "某公司", "content": "虚假宣传，夸大产品功效，已截图留存"})
    assert r.status_code == 201 and count_rows(db, Complaint) == 1


def test_admin_pages_render_for_office_and_department(client: Any, db: Session) -> None:
    world(db)
    client.post("/api/v1/complaints", json={"category": "其他", "target_name": "某公司", "content": "虚假宣传，夸大产品功效",
                                            "reporter_name": "钱某", "reporter_contact": "13900000000"})
    _login(client, db, "op", "operator", "XYB")
    for url in ("/admin/objections", "/admin/repair", "/admin/complaints", "/admin/commitments", "/admin/audit"):
        r = client.get(url, headers=HTML)
        assert r.status_code == 200, url
    page = client.get("/admin/complaints", headers=HTML).text
    assert "匿名/已隐藏" in page and "钱某" not in page and "13900000000" not in page
    cid = select(Complaint.id)
    r = client.post(f"/admin/complaints/{db.scalar(cid)}/assign", data={"to_dept": "SW"}, headers=HTML,
                    follow_redirects=False)
    assert r.status_code == 303
    _login(client, db, "swuser", "dept", "SW")
    page = client.get("/admin/complaints", headers=HTML).text
    assert "匿名/已隐藏" in page and "钱某" not in page
    assert client.get("/admin/audit", headers=HTML).status_code == 403
