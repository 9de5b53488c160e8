"""Graded supervision through the API, on SQLite and PostgreSQL: rosters, plans, the stratified and
reproducible draw and its refusals, results as admin_inspection records, the public 抽查结果公示."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from supervision_support import grade, inspectors, org, plan, setup
from xinyong.core.clock import FixedClock
from xinyong.records.models import Record
from xinyong.records.service import record_values
from xinyong.supervision.models import Draw, DrawItem, Plan


def test_roster_is_kept_per_department_with_conflicts(client: Any, db: Session) -> None:
    s = setup(db)
    firm = org(db)
    db.commit()
    [a] = inspectors(client, s, 1, conflict_usccs=[firm.uscc], conflict_regions=["3714"])
    assert a["conflict_usccs"] == [firm.uscc] and a["conflict_regions"] == ["3714"]
    dup = client.post("/api/v1/inspectors", json={"name": "重复", "badge_no": a["badge_no"]}, headers=s.h())
    assert dup.status_code == 409 and "执法证号" in dup.json()["detail"]
    bad = client.post("/api/v1/inspectors", json={"name": "甲", "badge_no": "X1", "conflict_usccs": ["123"]},
                      headers=s.h())
    assert bad.status_code == 422 and "回避主体" in bad.json()["detail"]
    r = client.patch(f"/api/v1/inspectors/{a['id']}", json={"active": False}, headers=s.h())
    assert r.status_code == 200 and r.json()["active"] is False
    # another department neither sees nor edits it
    assert client.get("/api/v1/inspectors", headers=s.h(s.sw_key)).json() == []
    assert client.patch(f"/api/v1/inspectors/{a['id']}", json={"active": True}, headers=s.h(s.sw_key)).status_code == 404
    assert client.get("/api/v1/inspectors").status_code == 401


def test_a_plan_with_fewer_than_two_inspectors_is_refused_and_nothing_is_written(client: Any, db: Session) -> None:
    s = setup(db)
    for _ in range(5):
        org(db)
    db.commit()
    p = plan(client, s)
    r = client.post(f"/api/v1/inspections/{p['plan_no']}/draw", json={}, headers=s.h())
    assert r.status_code == 409 and "检查人员" in r.json()["detail"]
    inspectors(client, s, 1)
    r = client.post(f"/api/v1/inspections/{p['plan_no']}/draw", json={}, headers=s.h())
    assert r.status_code == 409 and "只有 1 名" in r.json()["detail"]
    db.expire_all()
    assert db.scalar(select(Draw)) is None and db.scalar(select(DrawItem)) is None
    assert db.scalar(select(Plan.state)) == "draft"


def test_a_draw_larger_than_the_population_is_refused(client: Any, db: Session) -> None:
    s = setup(db)
    for _ in range(4):
        org(db)
    db.commit()
    inspectors(client, s, 2)
    p = plan(client, s, size=5)
    r = client.post(f"/api/v1/inspections/{p['plan_no']}/draw", json={}, headers=s.h())
    assert r.status_code == 409 and "超过检查对象总数 4" in r.json()["detail"]
    db.expire_all()
    assert db.scalar(select(DrawItem)) is None and db.scalar(select(Plan.state)) == "draft"


def test_draw_is_stratified_by_grade_assigns_two_free_inspectors_and_verifies(client: Any, db: Session) -> None:
    s = setup(db)
    firms = [org(db, region="371402" if i % 2 else "371500") for i in range(120)]
    db.commit()
    # A: 40 (3% → 2), B: 40 (5% → 2), D-: 10 (all), the rest ungraded (30, 5% → 2)
    grade(db, {f.id: "A" for f in firms[:40]} | {f.id: "B" for f in firms[40:80]} | {f.id: "D-" for f in firms[80:90]})
    team = inspectors(client, s, 4)
    conflicted = firms[80]
    r = client.patch(f"/api/v1/inspectors/{team[0]['id']}", json={"conflict_usccs": [conflicted.uscc]}, headers=s.h())
    assert r.status_code == 200
    r = client.patch(f"/api/v1/inspectors/{team[1]['id']}", json={"conflict_regions": ["371500"]}, headers=s.h())
    assert r.status_code == 200
    p = plan(client, s)
    r = client.post(f"/api/v1/inspections/{p['plan_no']}/draw", json={"seed": 20260401}, headers=s.h())
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["allocation"] == {"A+": 0, "A": 2, "B": 2, "C": 0, "C-": 0, "D": 0, "D-": 10, "未评价": 2}
    assert d["population_size"] == 120 and len(d["items"]) == 16
    grades = {f.uscc: g for f, g in zip(firms, ["A"] * 40 + ["B"] * 40 + ["D-"] * 10 + ["未评价"] * 30, strict=True)}
    for it in d["items"]:
        assert grades[it["uscc"]] == it["stratum"]
        ids = [i["id"] for i in it["inspectors"]]
        assert len(set(ids)) == 2
        if it["uscc"] == conflicted.uscc:
            assert team[0]["id"] not in ids
        if it["uscc"][2:8] == "371500":   # the region of the subject is in its code here
            assert team[1]["id"] not in ids
    got = client.get(f"/api/v1/inspections/{p['plan_no']}/draw", headers=s.h()).json()
    assert got["verification"]["verified"] is True and got["seed"] == "20260401"
    # grades change after the draw: the stored snapshot still verifies the draw
    grade(db, {f.id: "C" for f in firms})
    assert client.get(f"/api/v1/inspections/{p['plan_no']}/draw", headers=s.h()).json()["verification"]["verified"]
    # a tampered draw does not
    item = db.scalar(select(DrawItem).where(DrawItem.seq == 1))
    assert item is not None
    item.inspector_a, item.inspector_b = item.inspector_b, item.inspector_a
    db.commit()
    bad = client.get(f"/api/v1/inspections/{p['plan_no']}/draw", headers=s.h()).json()["verification"]
    assert bad["verified"] is False and bad["snapshot_matches_digest"] is True
    # a drawn plan cannot be drawn again; another department cannot see it
    again = client.post(f"/api/v1/inspections/{p['plan_no']}/draw", json={}, headers=s.h())
    assert again.status_code == 409 and "已抽取" in again.json()["detail"]
    assert client.get(f"/api/v1/inspections/{p['plan_no']}/draw", headers=s.h(s.sw_key)).status_code == 404


def test_the_same_seed_over_the_same_population_draws_the_same(client: Any, db: Session) -> None:
    s = setup(db)
    for _ in range(60):
        org(db)
    db.commit()
    inspectors(client, s, 4)
    draws = []
    for _ in range(2):
        p = plan(client, s, size=7)
        draws.append(client.post(f"/api/v1/inspections/{p['plan_no']}/draw", json={"seed": 99}, headers=s.h()).json())
    assert [(i["uscc"], [x["id"] for x in i["inspectors"]]) for i in draws[0]["items"]] == \
           [(i["uscc"], [x["id"] for x in i["inspectors"]]) for i in draws[1]["items"]]
    assert draws[0]["result_digest"] == draws[1]["result_digest"] and len(draws[0]["items"]) == 7


def test_scope_by_region_and_catalog_item(client: Any, db: Session) -> None:
    s = setup(db)
    inside = [org(db, region="371402") for _ in range(3)]
    for _ in range(3):
        org(db, region="371500")
    db.commit()
    inspectors(client, s, 2)
    p = plan(client, s, regions=["371402"], size=3)
    d = client.post(f"/api/v1/inspections/{p['plan_no']}/draw", json={}, headers=s.h()).json()
    assert d["population_size"] == 3 and {i["uscc"] for i in d["items"]} == {f.uscc for f in inside}
    bad = client.post("/api/v1/inspections", json={"name": "x", "scheme": "scjg_market", "period_start": "2026-04-01",
                                                   "period_end": "2026-06-30", "items": ["no_such_item"]}, headers=s.h())
    assert bad.status_code == 422 and "目录事项" in bad.json()["detail"]
    wrong = client.post("/api/v1/inspections", json={"name": "x", "scheme": "sthj_environment",
                                                     "period_start": "2026-04-01", "period_end": "2026-06-30"},
                        headers=s.h())
    assert wrong.status_code == 403 and "不适用" in wrong.json()["detail"]


def test_results_are_published_and_become_admin_inspection_records(client: Any, db: Session,
                                                                    clock: FixedClock) -> None:
    clock.set(date(2026, 5, 20))
    s = setup(db)
    firms = [org(db) for _ in range(3)]
    db.commit()
    inspectors(client, s, 2)
    p = plan(client, s, size=3)
    no = p["plan_no"]
    client.post(f"/api/v1/inspections/{no}/draw", json={}, headers=s.h())
    early = client.post(f"/api/v1/inspections/{no}/publish", headers=s.h())
    assert early.status_code == 409
    outcomes = ["pass", "rectify", "case"]
    for firm, outcome in zip(firms, outcomes, strict=True):
        r = client.post(f"/api/v1/inspections/{no}/results", json={"uscc": firm.uscc, "outcome": outcome,
                                                                   "note": "现场检查", "on": "2026-05-18"},
                        headers=s.h())
        assert r.status_code == 200, r.text
    assert r.json()["state"] == "in_progress" and r.json()["results"] == 3
    stranger = org(db)
    db.commit()
    r = client.post(f"/api/v1/inspections/{no}/results", json={"uscc": stranger.uscc, "outcome": "pass"}, headers=s.h())
    assert r.status_code == 404 and "不是" in r.json()["detail"]
    r = client.post(f"/api/v1/inspections/{no}/publish", headers=s.h())
    assert r.status_code == 200 and r.json()["state"] == "published"
    recs = list(db.scalars(select(Record).where(Record.item_code == "admin_inspection").order_by(Record.subject_id)))
    assert [r.subject_id for r in recs] == [f.id for f in firms]
    values = record_values(recs[1])
    assert values["result"] == "发现问题，责令整改" and values["authority"] == "德州市市场监督管理局"
    assert values["inspection_date"] == "2026-05-18" and recs[1].decision_no.startswith(no)
    public = client.get(f"/api/v1/public/inspections/{no}").json()
    assert [x["outcome_label"] for x in public["results"]] == ["未发现问题（合格）", "发现问题，责令整改", "发现问题，立案查处"]
    page = client.get(f"/inspections/{no}")
    assert page.status_code == 200 and firms[0].name in page.text and "责令整改" in page.text
    assert no in client.get("/inspections").text
    assert client.post(f"/api/v1/inspections/{no}/close", headers=s.h()).json()["state"] == "closed"


def test_an_unpublished_plan_is_not_public(client: Any, db: Session) -> None:
    s = setup(db)
    p = plan(client, s)
    assert client.get(f"/api/v1/public/inspections/{p['plan_no']}").status_code == 404
    assert client.get(f"/inspections/{p['plan_no']}").status_code == 404


def test_a_subject_without_two_free_inspectors_refuses_the_whole_draw(client: Any, db: Session) -> None:
    s = setup(db)
    firms = [org(db) for _ in range(3)]
    db.commit()
    team = inspectors(client, s, 2)
    client.patch(f"/api/v1/inspectors/{team[0]['id']}", json={"conflict_usccs": [firms[1].uscc]}, headers=s.h())
    p = plan(client, s, size=3)
    r = client.post(f"/api/v1/inspections/{p['plan_no']}/draw", json={}, headers=s.h())
    assert r.status_code == 409 and firms[1].name in r.json()["detail"] and "只有 1 名" in r.json()["detail"]
    db.expire_all()
    assert db.scalar(select(Draw)) is None and db.scalar(select(DrawItem)) is None
    assert db.scalar(select(Plan.state)) == "draft"
