"""信易贷 on SQLite and PostgreSQL: products, eligibility, claiming, structured feedback, grants and the bank's
authorised view with its log, statistics, and the bad input and security list of the issue."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import pytest
from fi_support import BANK_PASSWORD, PASSWORD, RULE, bank, firm
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from xinyong.cli import app as cli_app
from xinyong.core.errors import DomainError, Forbidden, NotFound, Refused
from xinyong.financing import service
from xinyong.financing.models import Grant, Institution, Need, NeedEvent, ViewLog
from xinyong.reports import service as reports

HTML = {"Accept": "text/html"}
TODAY = date(2026, 6, 15)  # a Monday


@pytest.fixture
def today(clock: Any) -> date:
    clock.set(TODAY)
    return TODAY


def _state(db: Session, need_id: int) -> str:
    db.expire_all()
    need = db.get(Need, need_id)
    assert need is not None
    return need.state


# ---------------------------------------------------------------- products and eligibility

def test_products_are_checked_and_published(client: Any, db: Session, today: date) -> None:
    b = bank(db, 1)
    auth = {"Authorization": f"Bearer {b.key}"}
    good = {"name": "科创贷", "min_amount": 100000, "max_amount": 5000000, "min_term": 6, "max_term": 36,
            "min_rate": 3.1, "max_rate": 4.8, "guarantee": "credit", "rules": RULE}
    assert client.post("/api/v1/financing/products", json=good, headers=auth).status_code == 201
    for bad, words in [({"min_amount": -5}, "最低额度须大于 0"), ({"max_amount": 10}, "最低额度不能高于最高额度"),
                       ({"guarantee": "house"}, "担保方式"), ({"max_rate": 50}, "年利率"),
                       ({"rules": {"fact": "net_worth", "gte": 1}}, "未知的事实"),
                       ({"rules": {"fact": "grade", "gte": "B"}}, "不能比较大小")]:
        r = client.post("/api/v1/financing/products", json={**good, **bad}, headers=auth)
        assert r.status_code in (400, 422) and words in r.json()["detail"], (bad, r.text)
    assert db.scalar(select(func.count()).select_from(service.Product)) == 2
    page = client.get("/financing", headers=HTML).text
    assert "科创贷" in page and "信易贷1号" in page and "近2年严重行政处罚（次）等于 0" in page
    listed = client.get("/api/v1/financing/products").json()
    assert {p["name"] for p in listed} == {"科创贷", "信易贷1号"}
    # a loan officer may not publish products; the public may not at all
    officer = service.actor_for_bank_user(service.bank_user_of(db, b.officer))  # type: ignore[arg-type]
    with pytest.raises(Forbidden, match="产品经理"):
        service.create_product(db, officer, service.ProductIn(**{**good, "regions": [], "industries": []}))
    assert client.post("/api/v1/financing/products", json=good).status_code == 401


def test_eligibility_names_the_failing_rule_in_chinese(db: Session, today: date) -> None:
    b = bank(db, 1)
    clean = firm(db, 1)
    penalised = firm(db, 2, severe_penalty_on=today - timedelta(days=100))
    young = firm(db, 3, established=today - timedelta(days=200))
    ok = service.eligibility_for(db, clean.subject.id, today, amount=500_000, term=12)
    assert ok[0]["eligible"] and ok[0]["reasons"] == []
    bad = service.eligibility_for(db, penalised.subject.id, today, amount=500_000, term=12)
    assert not bad[0]["eligible"] and bad[0]["reasons"] == ["近2年严重行政处罚（次）为 1，要求等于 0"]
    fresh = service.eligibility_for(db, young.subject.id, today, amount=50_000_000, term=12)[0]["reasons"]
    assert any("成立年限（年）为 0，要求不小于 2" in r for r in fresh)
    assert any("不在产品额度范围" in r for r in fresh)
    assert b.product.id == ok[0]["product"]["id"]


# ---------------------------------------------------------------- needs: claiming and feedback

def test_first_claim_wins_and_others_see_it_taken(client: Any, db: Session, today: date) -> None:
    f = firm(db, 1)
    b1, b2 = bank(db, 1), bank(db, 2)
    need = service.create_need(db, f.actor, amount=800_000, term=12, purpose="采购原材料", product_id=None,
                               today=today)
    db.commit()
    r1 = client.post(f"/api/v1/financing/needs/{need.id}/claim", json={},
                     headers={"Authorization": f"Bearer {b1.key}"})
    assert r1.status_code == 200 and r1.json()["state"] == "accepted"
    r2 = client.post(f"/api/v1/financing/needs/{need.id}/claim", json={},
                     headers={"Authorization": f"Bearer {b2.key}"})
    assert r2.status_code == 409 and "已被接单" in r2.json()["detail"]
    seen = client.get("/api/v1/financing/needs", headers={"Authorization": f"Bearer {b2.key}"}).json()
    assert [n["state_label"] for n in seen if n["id"] == need.id] == ["已被接单"]
    db.expire_all()
    assert db.get(Need, need.id).institution_id == b1.institution.id  # type: ignore[union-attr]
    assert db.scalar(select(func.count()).select_from(NeedEvent).where(NeedEvent.action == "claim")) == 1


def test_a_bank_without_an_eligible_product_cannot_claim(db: Session, today: date) -> None:
    f = firm(db, 1, severe_penalty_on=today - timedelta(days=30))
    b = bank(db, 1)
    need = service.create_need(db, f.actor, amount=800_000, term=12, purpose="周转", product_id=None, today=today)
    with pytest.raises(Refused, match="没有该企业符合条件的上架产品"):
        service.claim(db, b.officer, need.id, today)
    assert need.state == "posted"


def test_feedback_runs_in_order_from_the_right_bank_only(db: Session, today: date) -> None:
    f = firm(db, 1)
    b1, b2 = bank(db, 1), bank(db, 2)
    need = service.create_need(db, f.actor, amount=800_000, term=12, purpose="采购", product_id=b1.product.id,
                               today=today)
    db.commit()
    assert need.state == "sent" and need.institution_id == b1.institution.id
    fb = service.Feedback
    with pytest.raises(DomainError, match="不能授信"):
        service.act(db, b1.officer, need.id, "grant", fb(amount=500_000, rate=4.0, term=12), today)
    with pytest.raises(NotFound):  # another bank does not even see a need sent to this one
        service.act(db, b2.officer, need.id, "accept", fb(), today)
    with pytest.raises(Forbidden, match="信贷员"):
        service.act(db, b1.manager, need.id, "accept", fb(), today)
    service.act(db, b1.officer, need.id, "accept", fb(), today)
    assert service.overdue_stage(need, today + timedelta(days=2)) == "contact"  # Wednesday: 2 working days
    service.act(db, b1.officer, need.id, "contact", fb(text="电话联系法定代表人"), today)
    with pytest.raises(DomainError, match="无需重复登记"):
        service.act(db, b1.officer, need.id, "contact", fb(), today)
    assert service.overdue_stage(need, today + timedelta(days=2)) is None
    for bad, words in [(fb(amount=-1, rate=4.0, term=12), "须大于 0"),
                       (fb(amount=9_000_000, rate=4.0, term=12), "超出产品范围"),
                       (fb(amount=500_000, rate=9.0, term=12), "年利率"),
                       (fb(amount=500_000, rate=4.0, term=60), "期限"), (fb(amount=500_000), "须填写金额、年利率和期限")]:
        with pytest.raises(DomainError, match=words):
            service.act(db, b1.officer, need.id, "grant", bad, today)
        assert _state(db, need.id) == "accepted"
    with pytest.raises(DomainError, match="不能放款"):
        service.act(db, b1.officer, need.id, "disburse", fb(amount=1), today)
    service.act(db, b1.officer, need.id, "grant", fb(amount=600_000, rate=4.1, term=12), today)
    with pytest.raises(DomainError, match="不能超过授信金额"):
        service.act(db, b1.officer, need.id, "disburse", fb(amount=700_000), today)
    with pytest.raises(DomainError, match="不晚于今天"):
        service.act(db, b1.officer, need.id, "disburse", fb(amount=600_000, on=today + timedelta(days=1)), today)
    service.act(db, b1.officer, need.id, "disburse", fb(amount=600_000), today)
    db.commit()
    assert _state(db, need.id) == "disbursed"
    with pytest.raises(DomainError, match="办理已结束"):
        service.act(db, b1.officer, need.id, "withdraw", fb(), today)


def test_refusal_needs_reasons_and_the_firm_follows_it(client: Any, db: Session, today: date) -> None:
    f = firm(db, 1)
    b = bank(db, 1)
    need = service.create_need(db, f.actor, amount=800_000, term=12, purpose="采购", product_id=None, today=today)
    service.claim(db, b.officer, need.id, today)
    with pytest.raises(DomainError, match="至少一项"):
        service.act(db, b.officer, need.id, "refuse", service.Feedback(reasons=[], text="x"), today)
    service.act(db, b.officer, need.id, "refuse", service.Feedback(reasons=["repayment"], text="现金流不足"), today)
    db.commit()
    assert client.post("/account/login", data={"uscc": f.subject.uscc, "password": PASSWORD}).status_code == 200
    page = client.get(f"/account/financing/needs/{need.id}", headers=HTML).text
    assert "已拒绝" in page and "还款能力不足" in page and "现金流不足" in page


def test_a_firm_sees_only_its_own_needs(client: Any, db: Session, today: date) -> None:
    mine, theirs = firm(db, 1), firm(db, 2)
    other = service.create_need(db, theirs.actor, amount=500_000, term=12, purpose="他人的需求", product_id=None,
                                today=today)
    db.commit()
    with pytest.raises(NotFound):
        service.get_need_for(db, mine.actor, other.id)
    with pytest.raises(NotFound):
        service.act(db, mine.actor, other.id, "cancel", service.Feedback(), today)
    client.post("/account/login", data={"uscc": mine.subject.uscc, "password": PASSWORD})
    assert client.get(f"/account/financing/needs/{other.id}", headers=HTML).status_code == 404
    assert "他人的需求" not in client.get("/account/financing", headers=HTML).text
    assert _state(db, other.id) == "posted"


def test_bad_need_input_is_refused_without_writing(client: Any, db: Session, today: date) -> None:
    f = firm(db, 1)
    b = bank(db, 1)
    client.post("/account/login", data={"uscc": f.subject.uscc, "password": PASSWORD})
    for form, words in [({"amount": "-5", "term": "12", "purpose": "x"}, "须大于 0"),
                        ({"amount": "abc", "term": "12", "purpose": "x"}, "须为整数"),
                        ({"amount": "100", "term": "999", "purpose": "x"}, "期限"),
                        ({"amount": "50000000", "term": "12", "purpose": "x", "product_id": str(b.product.id)},
                         "不在产品额度范围")]:
        r = client.post("/account/financing/needs", data=form, headers=HTML)
        assert r.status_code in (400, 409, 422) and words in r.text, form
    assert db.scalar(select(func.count()).select_from(Need)) == 0
    r = client.post("/account/financing/needs", data={"amount": "500000", "term": "12", "purpose": "采购"},
                    headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    assert db.scalar(select(func.count()).select_from(Need)) == 1


def test_overdue_stages_are_flagged_and_counted(db: Session, clock: Any) -> None:
    clock.set(TODAY)
    f = firm(db, 1)
    b = bank(db, 1)
    need = service.create_need(db, f.actor, amount=500_000, term=12, purpose="采购", product_id=b.product.id,
                               today=TODAY)
    db.commit()
    assert service.overdue_stage(need, TODAY + timedelta(days=2)) is None
    assert service.overdue_stage(need, TODAY + timedelta(days=7)) == "claim"
    out = service.need_out(db, need, TODAY + timedelta(days=7))
    assert out["overdue_label"] == "接单超时"
    assert service.stats(db, TODAY + timedelta(days=7))["total"]["overdue"] == 1


# ---------------------------------------------------------------- grants and the bank's view

def test_a_bank_sees_the_authorised_report_only_under_a_grant(client: Any, db: Session, today: date) -> None:
    f = firm(db, 1, tax="A")
    b = bank(db, 1)
    auth = {"Authorization": f"Bearer {b.key}"}
    uscc = f.subject.uscc
    # no grant: refused, and the refusal is logged for the firm
    r = client.get(f"/api/v1/financing/reports/{uscc}?purpose=贷前调查", headers=auth)
    assert r.status_code == 403 and "未向本机构授权" in r.json()["detail"]
    assert db.scalar(select(func.count()).select_from(ViewLog).where(ViewLog.allowed.is_(False))) == 1
    with pytest.raises(DomainError, match="未知的信用信息项目"):
        service.create_grant(db, f.actor, institution_id=b.institution.id, items=["bank_statement"],
                             purpose="monitoring", expires_on=today + timedelta(days=30), need_id=None, today=today)
    narrow = service.create_grant(db, f.actor, institution_id=b.institution.id, items=["admin_penalty"],
                                  purpose="monitoring", expires_on=today + timedelta(days=30), need_id=None,
                                  today=today)
    db.commit()
    sections = client.get(f"/api/v1/financing/reports/{uscc}?purpose=贷前调查", headers=auth).json()["sections"]
    assert not any("纳税信用" in s["title"] for s in sections)
    service.create_grant(db, f.actor, institution_id=b.institution.id, items=["admin_penalty", "tax_credit_rating"],
                         purpose="monitoring", expires_on=today + timedelta(days=30), need_id=None, today=today)
    db.commit()
    body = client.get(f"/api/v1/financing/reports/{uscc}?purpose=贷前调查", headers=auth).json()
    assert any("纳税信用" in s["title"] for s in body["sections"])
    assert narrow.id != body["grant"]["id"]
    # the firm sees who looked, when and why
    client.post("/account/login", data={"uscc": uscc, "password": PASSWORD})
    page = client.get("/account/financing", headers=HTML).text
    assert "谁在何时因何查看了我的信用信息" in page and "贷前调查" in page and "德州测试银行1" in page
    assert "已拒绝：企业未向本机构授权" in page
    # revoked: refused again and logged
    for g in db.scalars(select(Grant)):
        service.revoke_grant(db, f.actor, g.id, today)
    db.commit()
    r = client.get(f"/api/v1/financing/reports/{uscc}", headers=auth)
    assert r.status_code == 403 and "撤销授权" in r.json()["detail"]
    assert db.scalar(select(func.count()).select_from(ViewLog).where(ViewLog.allowed.is_(False))) == 2


def test_an_expired_grant_is_refused(db: Session, clock: Any) -> None:
    clock.set(TODAY)
    f = firm(db, 1)
    b = bank(db, 1)
    service.create_grant(db, f.actor, institution_id=b.institution.id, items=["admin_penalty"], purpose="monitoring",
                         expires_on=TODAY + timedelta(days=10), need_id=None, today=TODAY)
    db.commit()
    service.authorised_report(db, b.officer, f.subject.uscc or "", purpose="贷后", today=TODAY)
    with pytest.raises(service.GrantRequired, match="到期"):
        service.authorised_report(db, b.officer, f.subject.uscc or "", purpose="贷后", today=TODAY + timedelta(days=11))
    other = bank(db, 2)
    with pytest.raises(service.GrantRequired, match="未向本机构授权"):
        service.authorised_report(db, other.officer, f.subject.uscc or "", purpose="贷后", today=TODAY)


def test_a_grant_for_a_need_must_name_the_firms_own_need(db: Session, today: date) -> None:
    f, g = firm(db, 1), firm(db, 2)
    b = bank(db, 1)
    theirs = service.create_need(db, g.actor, amount=500_000, term=12, purpose="x", product_id=None, today=today)
    with pytest.raises(DomainError, match="本企业的一项融资需求"):
        service.create_grant(db, f.actor, institution_id=b.institution.id, items=["admin_penalty"], purpose="need",
                             expires_on=today + timedelta(days=10), need_id=theirs.id, today=today)
    with pytest.raises(DomainError, match="到期日"):
        service.create_grant(db, f.actor, institution_id=b.institution.id, items=["admin_penalty"],
                             purpose="monitoring", expires_on=today - timedelta(days=1), need_id=None, today=today)


# ---------------------------------------------------------------- bank login, keys, office

def test_bank_login_is_throttled_and_sessions_work(client: Any, db: Session, today: date) -> None:
    b = bank(db, 1)
    for _ in range(5):
        r = client.post("/bank/login", data={"username": "officer1", "password": "wrong-password"}, headers=HTML)
        assert r.status_code == 401 and "用户名或密码错误" in r.text
    r = client.post("/bank/login", data={"username": "officer1", "password": BANK_PASSWORD}, headers=HTML)
    assert r.status_code == 429
    from xinyong.core.throttle import reset_throttles

    reset_throttles()
    r = client.post("/bank/login", data={"username": "officer1", "password": BANK_PASSWORD}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/bank"
    page = client.get("/bank", headers=HTML).text
    assert b.institution.name in page and "信贷员" in page
    assert client.get("/account/financing", headers=HTML, follow_redirects=False).status_code == 403
    client.post("/bank/logout")
    assert client.get("/bank", headers=HTML, follow_redirects=False).status_code == 303


def test_a_revoked_or_wrong_bank_key_is_refused(client: Any, db: Session, today: date) -> None:
    b = bank(db, 1)
    assert client.get("/api/v1/financing/needs", headers={"Authorization": f"Bearer {b.key}"}).status_code == 200
    service.revoke_key(db, b.key[:12])
    db.commit()
    r = client.get("/api/v1/financing/needs", headers={"Authorization": f"Bearer {b.key}"})
    assert r.status_code == 401 and "密钥" in r.json()["detail"]
    r = client.get("/api/v1/financing/needs", headers={"Authorization": "Bearer xyb_nonsense"})
    assert r.status_code == 401


def test_cli_adds_institutions_users_and_keys(db: Session) -> None:
    runner = CliRunner()
    r = runner.invoke(cli_app, ["fi", "add", "--uscc", "91371400MA3BANK01X", "--name", "德州农商银行"])
    # an invalid code is refused in Chinese, nothing written
    assert r.exit_code != 0 or db.scalar(select(func.count()).select_from(Institution)) == 1
    from xinyong.core.identifiers import make_uscc

    uscc = make_uscc("91", "371400", "CLN00001")
    assert runner.invoke(cli_app, ["fi", "add", "--uscc", uscc, "--name", "德州农商银行"]).exit_code == 0
    r = runner.invoke(cli_app, ["fi", "user", "--institution", uscc, "--username", "clerk1", "--role",
                                "loan_officer", "--password", "long-password-1"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli_app, ["fi", "key", "--institution", uscc])
    assert r.exit_code == 0 and r.stdout.strip().startswith("xyb_")
    r = runner.invoke(cli_app, ["fi", "user", "--institution", uscc, "--username", "clerk2", "--role", "boss",
                                "--password", "long-password-1"])
    assert r.exit_code == 1 and "角色" in r.output


def test_statistics_and_export(client: Any, db: Session, today: date) -> None:
    from xinyong.accounts import service as accounts

    f1, f2 = firm(db, 1), firm(db, 2)
    b = bank(db, 1)
    n1 = service.create_need(db, f1.actor, amount=500_000, term=12, purpose="x", product_id=None, today=today)
    n2 = service.create_need(db, f2.actor, amount=900_000, term=12, purpose="y", product_id=None, today=today)
    service.create_need(db, f2.actor, amount=900_000, term=12, purpose="z", product_id=None, today=today)
    for need in (n1, n2):
        service.claim(db, b.officer, need.id, today)
    service.act(db, b.officer, n1.id, "grant", service.Feedback(amount=500_000, rate=4.0, term=12), today)
    service.act(db, b.officer, n1.id, "disburse", service.Feedback(amount=500_000), today)
    service.act(db, b.officer, n2.id, "refuse", service.Feedback(reasons=["credit"], text="x"), today)
    data = service.stats(db, today)
    assert data["claim_rate"] == pytest.approx(66.7) and data["total"]["obtain_rate"] == pytest.approx(33.3)
    assert data["total"]["loan_amount"] == 500_000 and data["total"]["credit_share"] == 100.0
    accounts.create_user(db, "op", "operator-123", role="operator")
    db.commit()
    client.post("/admin/login", data={"username": "op", "password": "operator-123"})
    page = client.get("/admin/financing", headers=HTML)
    assert page.status_code == 200 and "接单率" in page.text and "德州测试银行1" in page.text
    xlsx = client.get("/admin/financing/export.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None and sheet.cell(1, 9).value == "接单率（%）"
    r = client.post("/admin/financing/institutions", data={"uscc": "bad", "name": "x"}, headers=HTML)
    assert r.status_code == 400 and "18 位" in r.text


DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _font_or_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the Chinese font (fonts-wqy-zenhei) the PDF is made with DejaVu: glyphs missing, but numbering,
    hashes and seals are the same code."""
    import os

    from xinyong.reports import pdf

    try:
        pdf.find_font()
    except pdf.FontMissing:
        if os.environ.get("CI") == "true" or not os.path.exists(DEJAVU):
            raise
        monkeypatch.setenv("XINYONG_REPORT_FONT", DEJAVU)


def test_the_authorised_pdf_is_verifiable(client: Any, db: Session, today: date,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    _font_or_fallback(monkeypatch)
    f = firm(db, 1, tax="B")
    b = bank(db, 1)
    auth = {"Authorization": f"Bearer {b.key}"}
    uscc = f.subject.uscc
    service.create_grant(db, f.actor, institution_id=b.institution.id, items=["admin_penalty", "tax_credit_rating"],
                         purpose="monitoring", expires_on=today + timedelta(days=30), need_id=None, today=today)
    db.commit()
    pdf = client.get(f"/api/v1/financing/reports/{uscc}/pdf?purpose=贷前调查", headers=auth)
    assert pdf.status_code == 200, pdf.text and pdf.content.startswith(b"%PDF")
    number = pdf.headers["content-disposition"].split('"')[1].removesuffix(".pdf")
    rep = db.scalar(select(reports.Report).where(reports.Report.report_no == number))
    assert rep is not None and rep.audience == "authorised" and reports.seal_holds(rep)
    assert rep.pdf_sha256 == reports.crypto.sha256_hex(pdf.content)
    assert db.scalar(select(func.count()).select_from(ViewLog).where(ViewLog.what == "pdf")) == 1


def test_the_grade_fact_comes_from_the_current_evaluation(db: Session, today: date) -> None:
    from xinyong.evaluation.models import EvaluationCurrent, EvaluationRun

    graded, ungraded = firm(db, 1), firm(db, 2)
    b = bank(db, 1, rules={"fact": "grade", "in": ["A+", "A", "B"]})
    run = EvaluationRun(model_id="city_comprehensive", model_name="综合评价", model_version="1", as_of=today,
                        state="done")
    db.add(run)
    db.flush()
    db.add(EvaluationCurrent(model_id="city_comprehensive", subject_id=graded.subject.id, run_id=run.id, result_id=1,
                             grade="B", score=71.5, as_of=today))
    db.commit()
    ok = service.eligibility_for(db, graded.subject.id, today)
    assert ok[0]["eligible"] and ok[0]["product"]["id"] == b.product.id
    missing = service.eligibility_for(db, ungraded.subject.id, today)
    assert missing[0]["reasons"] == ["公共信用综合评价等级为 无记录，要求属于 A+、A、B"]
