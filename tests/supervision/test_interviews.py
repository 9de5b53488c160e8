"""诚信约谈 on SQLite and PostgreSQL: who qualifies (low grade or listed), outcome and rectification, the daily
overdue flag, the admin page and the subject's admin view section."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from supervision_support import grade, org, setup
from xinyong.accounts import service as accounts
from xinyong.core import jobs
from xinyong.core.clock import FixedClock
from xinyong.supervision import service
from xinyong.supervision.models import Interview
from xinyong.ui.sections import subject_sections

HTML = {"accept": "text/html"}


def body(uscc: str, **extra: Any) -> dict[str, Any]:
    return {"uscc": uscc, "reason": "连续两次抽查发现食品安全问题", "legal_basis": "《优化营商环境条例》第五十五条",
            "scheduled_at": "2026-05-25T09:00:00", "place": "市市场监管局三楼会议室", **extra}


def test_interview_life_cycle_with_overdue_rectification(client: Any, db: Session, clock: FixedClock) -> None:
    clock.set(date(2026, 5, 20))
    s = setup(db)
    low, good, unrated = org(db), org(db), org(db)
    db.commit()
    grade(db, {low.id: "C-", good.id: "A"})
    for firm in (good, unrated):
        r = client.post("/api/v1/interviews", json=body(firm.uscc), headers=s.h())
        assert r.status_code == 409 and "不适用诚信约谈" in r.json()["detail"]
    past = client.post("/api/v1/interviews", json=body(low.uscc, scheduled_at="2026-05-01T09:00:00"), headers=s.h())
    assert past.status_code == 422
    r = client.post("/api/v1/interviews", json=body(low.uscc), headers=s.h())
    assert r.status_code == 201, r.text
    iv = r.json()
    assert iv["state"] == "scheduled" and "C-" in iv["grounds"]
    no = iv["interview_no"]
    clock.set(date(2026, 5, 25))
    missing = client.post(f"/api/v1/interviews/{no}/hold", json={"outcome": "已约谈", "rectification": "整改"},
                          headers=s.h())
    assert missing.status_code == 422 and "整改期限" in missing.json()["detail"]
    r = client.post(f"/api/v1/interviews/{no}/hold", json={"outcome": "法定代表人到场，承认问题",
                                                          "rectification": "一个月内完成冷链设施整改",
                                                          "deadline": "2026-06-25"}, headers=s.h())
    assert r.status_code == 200 and r.json()["state"] == "rectifying"
    assert jobs.daily_jobs()["supervision.interviews_overdue"](db, date(2026, 6, 25)) == 0
    db.commit()
    assert jobs.daily_jobs()["supervision.interviews_overdue"](db, date(2026, 6, 26)) == 1
    db.commit()
    got = client.get(f"/api/v1/interviews/{no}", headers=s.h()).json()
    assert got["state"] == "overdue" and got["overdue"] is True and got["overdue_flagged_on"] == "2026-06-26"
    clock.set(date(2026, 6, 30))
    r = client.post(f"/api/v1/interviews/{no}/rectified", json={}, headers=s.h())
    assert r.status_code == 200 and r.json()["state"] == "rectified" and r.json()["overdue"] is True
    again = client.post(f"/api/v1/interviews/{no}/rectified", json={}, headers=s.h())
    assert again.status_code == 409
    # another department does not see it
    assert client.get(f"/api/v1/interviews/{no}", headers=s.h(s.sw_key)).status_code == 404
    # the subject's admin view shows it; the public view does not
    section = {x.key: x for x in subject_sections(db, low, "department", date(2026, 6, 30))}["interviews"]
    assert section.rows[0]["badge"] == "已整改"
    assert "interviews" not in {x.key for x in subject_sections(db, low, "public", date(2026, 6, 30))}


def test_a_listed_subject_qualifies_and_held_without_rectification(client: Any, db: Session,
                                                                   clock: FixedClock) -> None:
    from due_process_support import listed, penalty

    clock.set(date(2026, 5, 20))
    s = setup(db)
    firm = org(db)
    rec = penalty(db, firm, s.scjg, decided=date(2026, 3, 1), severity="严重")
    listed(db, s.scjg, firm, rec, date(2026, 3, 10))
    db.commit()
    r = client.post("/api/v1/interviews", json=body(firm.uscc), headers=s.h())
    assert r.status_code == 201, r.text
    assert "列入" in r.json()["grounds"]
    no = r.json()["interview_no"]
    r = client.post(f"/api/v1/interviews/{no}/hold", json={"outcome": "已约谈，无需整改", "held_on": "2026-05-20"},
                    headers=s.h())
    assert r.status_code == 200 and r.json()["state"] == "held"
    assert client.post(f"/api/v1/interviews/{no}/cancel", headers=s.h()).status_code == 409


def test_admin_interviews_page_schedules_and_records(client: Any, db: Session, clock: FixedClock) -> None:
    clock.set(date(2026, 5, 20))
    setup(db)
    low = org(db)
    db.commit()
    grade(db, {low.id: "D"})
    accounts.create_user(db, "sc", "scjg-user-1", dept_code="SCJG")
    db.commit()
    assert client.get("/admin/interviews", headers=HTML, follow_redirects=False).status_code == 303
    client.post("/admin/login", data={"username": "sc", "password": "scjg-user-1"})
    form = {"uscc": low.uscc, "reason": "信用等级为 D", "legal_basis": "《优化营商环境条例》", "day": "2026-05-22",
            "hour": "10", "place": "会议室"}
    r = client.post("/admin/interviews", data=form, headers=HTML, follow_redirects=False)
    assert r.status_code == 303, r.text
    iv = db.scalar(select(Interview))
    assert iv is not None and iv.state == "scheduled"
    bad = client.post("/admin/interviews", data=form | {"day": "2026-05-01"}, headers=HTML)
    assert bad.status_code == 422 and "不能早于今天" in bad.text
    r = client.post(f"/admin/interviews/{iv.interview_no}/hold", data={"outcome": "已约谈", "rectification": "整改",
                                                                       "deadline": "2026-06-20"},
                    headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(f"/admin/interviews?uscc={low.uscc}", headers=HTML)
    assert page.status_code == 200 and "整改中" in page.text and low.name in page.text
    db.expire_all()
    assert service.interviews(db, None)[0].state == "rectifying"
