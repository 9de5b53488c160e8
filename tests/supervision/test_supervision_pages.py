"""/admin/inspections on SQLite and PostgreSQL: roster and plan forms, the draw page, results and publication."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from supervision_support import org, setup
from xinyong.accounts import service as accounts
from xinyong.core.clock import FixedClock
from xinyong.supervision.models import DrawItem, Inspector, Plan

HTML = {"accept": "text/html"}


def test_admin_inspections_pages(client: Any, db: Session, clock: FixedClock) -> None:
    clock.set(date(2026, 5, 20))
    setup(db)
    firms = [org(db) for _ in range(6)]
    accounts.create_user(db, "sc", "scjg-user-1", dept_code="SCJG")
    db.commit()
    assert client.get("/admin/inspections", headers=HTML, follow_redirects=False).status_code == 303
    client.post("/admin/login", data={"username": "sc", "password": "scjg-user-1"})
    for i, name in enumerate(["王建国", "李海燕"]):
        r = client.post("/admin/inspections/inspectors", data={"name": name, "badge_no": f"B{i}"}, headers=HTML,
                        follow_redirects=False)
        assert r.status_code == 303, r.text
    bad = client.post("/admin/inspections/inspectors", data={"name": "赵六", "badge_no": "B9", "conflict_regions": "x"},
                      headers=HTML)
    assert bad.status_code == 422 and "回避地区" in bad.text
    assert db.scalar(select(Inspector).where(Inspector.badge_no == "B9")) is None
    form = {"name": "食品抽查", "scheme": "scjg_market", "period_start": "2026-06-01", "period_end": "2026-05-01",
            "size": "3"}
    bad = client.post("/admin/inspections", data=form, headers=HTML)
    assert bad.status_code == 422 and "结束日期早于开始日期" in bad.text and 'value="3"' in bad.text
    assert "built-in" not in bad.text
    r = client.post("/admin/inspections", data=form | {"period_end": "2026-06-30"}, headers=HTML,
                    follow_redirects=False)
    assert r.status_code == 303
    plan = db.scalar(select(Plan))
    assert plan is not None
    page = client.get(f"/admin/inspections/{plan.plan_no}", headers=HTML)
    assert page.status_code == 200 and "随机抽取" in page.text
    r = client.post(f"/admin/inspections/{plan.plan_no}/draw", headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(f"/admin/inspections/{plan.plan_no}", headers=HTML)
    assert page.status_code == 200, page.text
    assert "结果一致" in page.text and "王建国" in page.text and "李海燕" in page.text
    drawn = list(db.scalars(select(DrawItem).order_by(DrawItem.seq)))
    assert len(drawn) == 3
    by_id = {f.id: f for f in firms}
    for item in drawn:
        r = client.post(f"/admin/inspections/{plan.plan_no}/results",
                        data={"uscc": by_id[item.subject_id].uscc, "outcome": "pass", "note": ""},
                        headers=HTML, follow_redirects=False)
        assert r.status_code == 303
    r = client.post(f"/admin/inspections/{plan.plan_no}/publish", headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    again = client.post(f"/admin/inspections/{plan.plan_no}/publish", headers=HTML)
    assert again.status_code == 409 and "结果已公示" in again.text
    listing = client.get("/admin/inspections", headers=HTML)
    assert "结果已公示" in listing.text and "王建国" in listing.text
