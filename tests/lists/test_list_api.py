"""The list API on both databases: types, entries and their transitions, 409 naming the rule, history;
the public /lists page and the subject-page section."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from lists_support import add_departments, new_citizen_id, new_org
from xinyong.accounts import service as accounts
from xinyong.core.identifiers import make_uscc

TODAY = date.today()


def _h(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _body(uscc: str, **over: Any) -> dict[str, Any]:
    body = {"subject": uscc, "list_type": "scjg_serious_illegal", "decision_no": "德市监严失〔2026〕101号",
            "decision_date": (TODAY - timedelta(days=10)).isoformat(), "facts": "生产销售假冒伪劣产品，情节严重",
            "basis": "《市场监督管理严重违法失信名单管理办法》第七条",
            "term_end": (TODAY + timedelta(days=365)).isoformat()}
    return {**body, **over}


def test_list_types_and_measures_are_published_with_their_basis(client: Any) -> None:
    types = client.get("/api/v1/list-types").json()
    debtor = next(t for t in types if t["code"] == "zy_dishonest_judgment_debtor")
    assert debtor["kind"] == "black" and debtor["initiators"] == ["ZY", "SHENG"] and debtor["legal_basis"][0]["document"]
    assert {t["kind"] for t in types} == {"red", "black"}
    measures = client.get("/api/v1/measures").json()
    assert all(m["legal_basis"] and m["implementers"] and m["list_types"] for m in measures)
    assert {m["type"] for m in measures} == {"1", "2", "3", "incentive"}


def test_entry_through_the_api_with_409_naming_the_rule(client: Any, db: Session, dept_key: tuple[str, str]) -> None:
    _, key = dept_key
    add_departments(db, ["ZJ", "JT"])
    s = new_org(db, "德州市某食品有限公司")
    db.commit()
    r = client.post("/api/v1/list-entries", json=_body(s.uscc), headers=_h(key))
    assert r.status_code == 201 and r.json()["state"] == "proposed"
    entry_id = r.json()["id"]

    r = client.post(f"/api/v1/list-entries/{entry_id}/publish", headers=_h(key))
    assert r.status_code == 409
    problem = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert problem["rule"] == "notify_before_publish" and "未告知当事人" in problem["detail"]

    r = client.post(f"/api/v1/list-entries/{entry_id}/notify", headers=_h(key),
                    json={"notified_at": TODAY.isoformat(), "channel": "直接送达"})
    assert r.json() == {"id": entry_id, "state": "notified"}
    assert client.post(f"/api/v1/list-entries/{entry_id}/publish", headers=_h(key)).json()["state"] == "published"
    r = client.post(f"/api/v1/list-entries/{entry_id}/publish", headers=_h(key))
    assert r.status_code == 409 and r.json()["rule"] == "entry_transition"

    page = client.get("/lists", headers={"accept": "text/html"})
    assert page.status_code == 200 and "德州市某食品有限公司" in page.text and "德市监严失〔2026〕101号" in page.text

    r = client.post(f"/api/v1/list-entries/{entry_id}/exit", headers=_h(key), json={"reason": "信用修复"})
    assert r.json()["state"] == "exited"
    detail = client.get(f"/api/v1/list-entries/{entry_id}", headers=_h(key)).json()
    assert [h["to_state"] for h in detail["history"]] == ["proposed", "notified", "published", "exited"]
    assert detail["notify_channel"] == "直接送达" and detail["exit_reason"] == "信用修复"
    # exited: gone from the public page, still in history
    assert "德州市某食品有限公司" not in client.get("/lists").text


def test_refusals_through_the_api(client: Any, db: Session, dept_key: tuple[str, str]) -> None:
    _, key = dept_key
    add_departments(db, ["SW"])
    sw_key = accounts.create_api_key(db, "SW")
    s = new_org(db)
    db.commit()
    too_long = _body(s.uscc, decision_date=(TODAY - timedelta(days=10)).isoformat(),
                     term_end=(TODAY + timedelta(days=3 * 366)).isoformat())
    r = client.post("/api/v1/list-entries", json=too_long, headers=_h(key))
    assert r.status_code == 409 and r.json()["rule"] == "term_max" and "最长期限" in r.json()["detail"]
    r = client.post("/api/v1/list-entries", json=_body(s.uscc), headers=_h(sw_key))
    assert r.status_code == 403 and "无权提出列入" in r.json()["detail"]
    assert client.post("/api/v1/list-entries", json=_body(s.uscc)).status_code == 401
    r = client.post("/api/v1/list-entries", json=_body(s.uscc, list_type="nope"), headers=_h(key))
    assert r.status_code == 404 and "名单类型" in r.json()["detail"]
    created = client.post("/api/v1/list-entries", json=_body(s.uscc), headers=_h(key)).json()
    r = client.post(f"/api/v1/list-entries/{created['id']}/notify", headers=_h(sw_key),
                    json={"notified_at": TODAY.isoformat(), "channel": "邮寄"})
    assert r.status_code == 403
    r = client.post(f"/api/v1/list-entries/{created['id']}/notify", headers=_h(key),
                    json={"notified_at": (TODAY + timedelta(days=3)).isoformat(), "channel": "邮寄"})
    assert r.status_code == 409 and r.json()["rule"] == "notice_date"
    assert client.get("/api/v1/list-entries/99999", headers=_h(key)).status_code == 404


def test_natural_person_with_responsible_persons_masked(client: Any, db: Session, dept_key: tuple[str, str]) -> None:
    _, key = dept_key
    s = new_org(db)
    db.commit()
    cid = new_citizen_id(3)
    body = _body(s.uscc, persons=[{"role": "legal_rep", "name": "王五", "citizen_id": cid}])
    entry_id = client.post("/api/v1/list-entries", json=body, headers=_h(key)).json()["id"]
    r = client.get(f"/api/v1/list-entries/{entry_id}", headers=_h(key))
    assert cid not in r.text and r.json()["persons"][0]["id_masked"].startswith(cid[:6] + "*")


def test_subject_page_section_lists_published_entries(client: Any, db: Session, dept_key: tuple[str, str]) -> None:
    from xinyong.ui.sections import subject_sections

    _, key = dept_key
    s = new_org(db)
    db.commit()
    entry_id = client.post("/api/v1/list-entries", json=_body(s.uscc), headers=_h(key)).json()["id"]
    client.post(f"/api/v1/list-entries/{entry_id}/notify", headers=_h(key),
                json={"notified_at": TODAY.isoformat(), "channel": "电子送达"})
    client.post(f"/api/v1/list-entries/{entry_id}/publish", headers=_h(key))
    db.expire_all()
    section = next(x for x in subject_sections(db, s, "public", TODAY) if x.key == "lists")
    assert section.title == "红黑名单" and len(section.rows) == 1 and section.rows[0]["badge"] == "黑名单"
    assert section.rows[0]["cells"]["决定书文号"] == "德市监严失〔2026〕101号"


def test_unknown_subject_needs_a_name(client: Any, dept_key: tuple[str, str]) -> None:
    _, key = dept_key
    uscc = make_uscc("91", "371402", "MC000001")
    r = client.post("/api/v1/list-entries", json=_body(uscc), headers=_h(key))
    assert r.status_code == 404 and "subject_name" in r.json()["detail"]
    r = client.post("/api/v1/list-entries", json=_body(uscc, subject_name="德州新公司"), headers=_h(key))
    assert r.status_code == 201
