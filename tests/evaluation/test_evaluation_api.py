"""The evaluation over HTTP: models, a subject's evaluation (department key or the subject's own account),
credit checks carrying the grade and its measures, /admin/evaluation and a subject's explanation, the report."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from due_process_support import listed, org, penalty, sign_in, world
from xinyong.accounts import service as accounts
from xinyong.evaluation import grades, service

TODAY = date(2026, 6, 1)


def _setup(db: Session, clock: Any) -> dict[str, Any]:
    clock.set(TODAY)
    w = world(db)
    fined, bad, clean = org(db), org(db), org(db)
    penalty(db, fined, w.scjg, decided=TODAY - timedelta(days=30))
    rec = penalty(db, bad, w.scjg, decided=TODAY - timedelta(days=20), severity="严重")
    listed(db, w.scjg, bad, rec, TODAY - timedelta(days=1))
    db.commit()
    service.run(grades.COMPREHENSIVE)
    return {"w": w, "fined": fined, "bad": bad, "clean": clean}


def test_models_and_a_subjects_evaluation_for_a_department(client: Any, db: Session, clock: Any) -> None:
    c = _setup(db, clock)
    auth = c["w"].auth("scjg")
    models = client.get("/api/v1/evaluation/models", headers=auth).json()
    assert {m["id"] for m in models} == {"city_comprehensive", "env_enterprise"}
    assert next(m for m in models if m["id"] == "city_comprehensive")["grades"][0] == "A+"
    r = client.get(f"/api/v1/subjects/{c['fined'].uscc}/evaluation", headers=auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["grade"], body["version"], body["as_of"]) == ("A", "2026.1", TODAY.isoformat())
    assert body["score"] == 900 - 12 - 14.4
    assert body["contributions"][0]["indicator"] == "penalty_fines" and body["contributions"][0]["facts"]
    bad = client.get(f"/api/v1/subjects/{c['bad'].uscc}/evaluation", headers=auth).json()
    assert bad["grade"] == "D-" and bad["override"] == "列入严重失信主体名单" and "诚信约谈" in bad["measures"]
    env = client.get(f"/api/v1/subjects/{c['bad'].uscc}/evaluation?model=env_enterprise", headers=auth)
    assert env.status_code == 404 and "尚未参加" in env.json()["detail"]
    assert client.get(f"/api/v1/subjects/{c['bad'].uscc}/evaluation").status_code == 401


def test_the_subject_sees_its_own_evaluation_only(client: Any, db: Session, clock: Any) -> None:
    c = _setup(db, clock)
    sign_in(client, db, c["fined"])
    own = client.get(f"/api/v1/subjects/{c['fined'].uscc}/evaluation")
    assert own.status_code == 200 and own.json()["grade"] == "A"
    other = client.get(f"/api/v1/subjects/{c['bad'].uscc}/evaluation")
    assert other.status_code == 403 and "本单位" in other.json()["detail"]


def test_checks_carry_the_grade_and_its_measures(client: Any, db: Session, clock: Any) -> None:
    c = _setup(db, clock)
    auth = c["w"].auth("sw")
    one = client.post("/api/v1/checks", headers=auth, json={"subject": c["fined"].uscc, "matter": "政府采购供应商资格审查",
                                                           "matter_type": "procurement"})
    assert one.status_code == 200, one.text
    ev = one.json()["evaluation"]
    assert ev["grade"] == "A" and ev["model"] == "city_comprehensive" and ev["measures"] == ["降低抽查比例", "优先享受便利措施"]
    listed_one = client.post("/api/v1/checks", headers=auth, json={"subject": c["bad"].uscc, "matter": "政府采购供应商资格审查",
                                                                  "matter_type": "procurement"}).json()
    assert listed_one["evaluation"]["grade"] == "D-"  # the regular (listed) path carries it too
    batch = client.post("/api/v1/checks/batch", headers=auth, json={
        "subjects": [c["fined"].uscc, c["bad"].uscc, c["clean"].uscc], "matter": "资格审查",
        "matter_type": "procurement"})
    assert batch.status_code == 200, batch.text
    got = [r.get("evaluation", {}).get("grade") for r in batch.json()["results"]]
    assert got == ["A", "D-", "A"]


def test_admin_evaluation_page_and_a_subjects_explanation(client: Any, db: Session, clock: Any) -> None:
    c = _setup(db, clock)
    accounts.create_user(db, "xyb", "xyb12345678", dept_code="XYB", role="operator")
    db.commit()
    assert client.post("/admin/login", data={"username": "xyb", "password": "xyb12345678"},
                       follow_redirects=False).status_code == 303
    page = client.get("/admin/evaluation")
    assert page.status_code == 200 and "评价记录" in page.text and "等级迁移" in page.text and "D-" in page.text
    found = client.get(f"/admin/evaluation/subject?uscc={c['bad'].uscc}", follow_redirects=True)
    assert found.status_code == 200 and "直接判级：列入严重失信主体名单" in found.text
    fined = client.get(f"/admin/evaluation/subjects/{c['fined'].uscc}")
    assert "扣 12 分" in fined.text and "行政处罚" in fined.text
    # default disclosure: not on the public portal
    portal = client.get(f"/subjects/{c['fined'].uscc}")
    assert "公共信用综合评价" not in portal.text


def test_a_public_model_shows_the_grade_on_the_credit_report(client: Any, db: Session, clock: Any,
                                                              monkeypatch: Any) -> None:
    from xinyong.evaluation import routes

    c = _setup(db, clock)
    hidden = client.get(f"/reports/{c['fined'].uscc}")
    assert hidden.status_code == 200 and "公共信用综合评价" not in hidden.text
    models = dict(routes.get_models())
    lm = models[grades.COMPREHENSIVE]
    models[grades.COMPREHENSIVE] = type(lm)(model=lm.model.model_copy(update={"public": True}), path=lm.path,
                                           overrides=lm.overrides)
    monkeypatch.setattr(routes, "get_models", lambda: models)
    shown = client.get(f"/reports/{c['fined'].uscc}")
    assert "公共信用综合评价" in shown.text and "2026.1" in shown.text and "扣 14.4 分" in shown.text
