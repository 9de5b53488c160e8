"""Tasks, feedback, webhooks and statistics over the API, on both databases."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from lists_support import add_departments, new_org
from xinyong.accounts import service as accounts
from xinyong.joint.models import JointTask, Webhook

TODAY = date.today()


def _h(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _published(client: Any, db: Session, scjg_key: str) -> int:
    s = new_org(db)
    db.commit()
    body = {"subject": s.uscc, "list_type": "scjg_serious_illegal", "decision_no": "德市监严失〔2026〕7号",
            "decision_date": (TODAY - timedelta(days=3)).isoformat(), "facts": "事实", "basis": "依据"}
    entry_id = client.post("/api/v1/list-entries", json=body, headers=_h(scjg_key)).json()["id"]
    client.post(f"/api/v1/list-entries/{entry_id}/notify", headers=_h(scjg_key),
                json={"notified_at": TODAY.isoformat(), "channel": "直接送达"})
    assert client.post(f"/api/v1/list-entries/{entry_id}/publish", headers=_h(scjg_key)).json()["state"] == "published"
    return entry_id


def test_tasks_feedback_and_stats(client: Any, db: Session, dept_key: tuple[str, str]) -> None:
    _, scjg = dept_key
    add_departments(db, ["ZJ", "JT", "ZRZY"])
    zj, jt = accounts.create_api_key(db, "ZJ"), accounts.create_api_key(db, "JT")
    db.commit()
    entry_id = _published(client, db, scjg)

    tasks = client.get("/api/v1/tasks?state=open", headers=_h(zj)).json()
    assert {t["measure_code"] for t in tasks} == {"p1_bidding", "p2_closer_supervision", "p2_no_commitment_approval"}
    assert all(t["entry_id"] == entry_id and t["legal_basis"] for t in tasks)
    assert tasks[0]["due_date"] == tasks[0]["due_date"] and tasks[0]["state_label"] == "待反馈"
    task_id = next(t["id"] for t in tasks if t["measure_code"] == "p1_bidding")

    body = {"action": "applied", "matter": "德州某道路工程施工招标", "applied_at": TODAY.isoformat(), "note": ""}
    r = client.post(f"/api/v1/tasks/{task_id}/feedback", json=body, headers=_h(jt))
    assert r.status_code == 403 and "不属于本部门" in r.json()["detail"]
    db.expire_all()
    assert db.get(JointTask, task_id).state == "open"
    r = client.post(f"/api/v1/tasks/{task_id}/feedback", json={**body, "matter": ""}, headers=_h(zj))
    assert r.status_code == 422 and "matter" in r.json()["detail"]
    r = client.post(f"/api/v1/tasks/{task_id}/feedback", json=body, headers=_h(zj))
    assert r.status_code == 200 and r.json()["state"] == "applied" and r.json()["matter"] == body["matter"]
    r = client.post(f"/api/v1/tasks/{task_id}/feedback", json=body, headers=_h(zj))
    assert r.status_code == 409 and r.json()["rule"] == "task_feedback"
    assert [t["id"] for t in client.get("/api/v1/tasks?state=applied", headers=_h(zj)).json()] == [task_id]
    assert client.get("/api/v1/tasks?state=nope", headers=_h(zj)).status_code == 422
    assert client.get(f"/api/v1/tasks/{task_id}", headers=_h(jt)).status_code == 403

    stats = client.get(f"/api/v1/stats/joint?month={TODAY:%Y-%m}", headers=_h(scjg)).json()
    zj_row = next(r for r in stats["feedback"] if r["dept"] == "ZJ")
    assert zj_row["answered"] == 1 and zj_row["applied"] == 1
    assert next(r for r in stats["initiators"] if r["dept"] == "SCJG")["initiated"] == 1
    assert next(r for r in stats["measures_applied"] if r["type"] == "1")["count"] == 1
    x = client.get(f"/api/v1/stats/joint.xlsx?month={TODAY:%Y-%m}", headers=_h(scjg))
    assert x.status_code == 200 and "spreadsheetml" in x.headers["content-type"]
    book = load_workbook(io.BytesIO(x.content))
    assert book["实施部门反馈"].max_row >= 2
    r = client.get("/api/v1/stats/joint?month=2026-3", headers=_h(scjg))
    assert r.status_code == 422 and "YYYY-MM" in r.json()["detail"]


def test_webhook_registration_keeps_the_secret_encrypted(client: Any, db: Session, dept_key: tuple[str, str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from xinyong.joint import webhooks

    monkeypatch.setattr(webhooks, "resolve_host", lambda host, port: ["93.184.216.34"])  # no DNS in tests
    _, key = dept_key
    r = client.post("/api/v1/webhooks", json={"url": "https://scjg.example.gov.cn/xinyong", "secret": "s" * 32},
                    headers=_h(key))
    assert r.status_code == 201 and "secret" not in r.json() and "task.created" in r.json()["events"]
    stored = db.scalars(select(Webhook)).one()
    assert stored.secret_enc != "s" * 32 and "s" * 32 not in stored.secret_enc
    assert [h["id"] for h in client.get("/api/v1/webhooks", headers=_h(key)).json()] == [stored.id]
    assert client.post("/api/v1/webhooks", json={"url": "https://x.example/h", "secret": "short"},
                       headers=_h(key)).status_code == 422
    assert client.delete(f"/api/v1/webhooks/{stored.id}", headers=_h(key)).json()["active"] is False


@pytest.mark.parametrize("url", ["http://127.0.0.1/h", "http://10.0.0.8/h", "http://169.254.169.254/latest",
                                 "http://[::1]:8080/h"])
def test_webhook_to_an_inner_address_is_refused_over_the_api(client: Any, db: Session, dept_key: tuple[str, str],
                                                              url: str) -> None:
    _, key = dept_key
    r = client.post("/api/v1/webhooks", json={"url": url, "secret": "s" * 32}, headers=_h(key))
    assert r.status_code == 422 and "不向本机、内网或保留地址推送" in r.json()["detail"]
    assert db.scalars(select(Webhook)).first() is None


def test_admin_task_pages_for_a_department_user(client: Any, db: Session, dept_key: tuple[str, str]) -> None:
    _, scjg = dept_key
    add_departments(db, ["ZJ"])
    accounts.create_user(db, "zj", "zj1234567", dept_code="ZJ")
    accounts.create_user(db, "admin", "admin12345", dept_code="SCJG", role="operator")
    db.commit()
    _published(client, db, scjg)
    assert client.post("/admin/login", data={"username": "zj", "password": "zj1234567"},
                       follow_redirects=False).status_code == 303
    page = client.get("/admin/tasks")
    assert page.status_code == 200 and "依法限制或禁止参与工程建设项目招标投标" in page.text
    task_id = db.scalars(select(JointTask.id).where(JointTask.measure_code == "p1_bidding")).one()
    r = client.post(f"/admin/tasks/{task_id}/feedback", data={"action": "applied", "matter": "某招标",
                                                               "applied_at": TODAY.isoformat()},
                    follow_redirects=False)
    assert r.status_code == 303
    oversight = client.get("/admin/joint")
    assert oversight.status_code == 200 and "实施部门反馈" in oversight.text
