from __future__ import annotations

from check_data import CITIZEN_ID, CLEAN, DEBTOR, PENALISED, city, dept
from sqlalchemy.orm import Session

from xinyong.accounts import service as accounts
from xinyong.checks import fast, service


def _login(client, db: Session, dept_code: str | None = "SCJG") -> None:  # type: ignore[no-untyped-def]
    accounts.create_user(db, "clerk", "correct horse 1", dept_code=dept_code)
    db.commit()
    resp = client.post("/admin/login", data={"username": "clerk", "password": "correct horse 1", "next": "/admin/checks"},
                       follow_redirects=False)
    assert resp.status_code == 303


def test_fast_path_answers_like_the_regular_path(db: Session) -> None:
    city(db)
    d = dept(db)
    db.commit()
    for code in (CLEAN, PENALISED, DEBTOR, "91371402MA3C5X0U6X"):
        quick = fast.try_check(d, code, "采购", "procurement", "")
        full = service.check_one(db, dept=d, subject=code, matter="采购", matter_type="procurement")
        assert quick is not None
        for key in ("result", "subject", "records", "reasons", "candidates"):
            assert quick[key] == full[key], (code, key)
        assert quick["check_id"] != full["check_id"]
    assert fast.try_check(d, "德州市同名商店", "采购", "procurement", "") is None  # names take the regular path
    assert fast.try_check(d, CITIZEN_ID, "采购", "procurement", "政审") is None  # persons are audited


def test_admin_check_page_needs_login_and_a_department(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/admin/checks", follow_redirects=False)
    assert resp.status_code == 303 and "/admin/login" in resp.headers["location"]
    city(db)
    _login(client, db, dept_code=None)
    assert "没有关联部门" in client.get("/admin/checks", headers={"accept": "text/html"}).text


def test_admin_single_and_batch_check(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    city(db)
    _login(client, db)
    page = client.get("/admin/checks")
    assert page.status_code == 200 and "信用核查" in page.text and "批量核查" in page.text
    resp = client.post("/admin/checks", data={"subject": DEBTOR, "matter": "采购", "matter_type": "procurement"})
    assert "严重失信" in resp.text and "失信被执行人" in resp.text
    resp = client.post("/admin/checks", data={"subject": "", "matter": "采购", "matter_type": "procurement"})
    assert "为空" in resp.text
    resp = client.post("/admin/checks", data={"subject": "<script>alert(1)</script>", "matter": "采购", "matter_type": "procurement"})
    assert "<script>alert(1)" not in resp.text and "未找到" in resp.text
    csv_body = f"{CLEAN}\n{PENALISED}\n".encode()
    resp = client.post("/admin/checks/batch", data={"matter": "采购", "matter_type": "procurement"},
                       files={"file": ("a.csv", csv_body, "text/csv")})
    assert "共 2 个" in resp.text
    number = resp.text.split("/admin/checks/batch/")[1].split(".xlsx")[0]
    xlsx = client.get(f"/admin/checks/batch/{number}.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    resp = client.post("/admin/checks/batch", data={"matter": "采购", "matter_type": "procurement"},
                       files={"file": ("a.doc", b"xx", "application/msword")})
    assert "不支持" in resp.text
