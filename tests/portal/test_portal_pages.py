"""Portal pages over HTTP (TestClient), on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import date, timedelta

import openpyxl
from sqlalchemy.orm import Session

from xinyong.subjects import service as subjects
from xinyong.ui.sections import SubjectSection, register_subject_section

HTML = {"accept": "text/html"}


def test_home_shows_counts_and_latest_dual_publicity(client, city) -> None:
    page = client.get("/", headers=HTML)
    assert page.status_code == 200
    assert "公共信用信息查询" in page.text
    assert 'action="/search"' in page.text
    assert "德州市恒达重工机械制造有限公司" in page.text  # latest 双公示
    assert "王小明" not in page.text


def test_search_page_highlights_and_pages(client, city) -> None:
    page = client.get("/search", params={"q": "恒达重工"}, headers=HTML)
    assert page.status_code == 200
    assert "<mark>恒达重工</mark>" in page.text
    assert f"/subjects/{city.uscc}" in page.text
    empty = client.get("/search", params={"q": "不存在的公司名称"}, headers=HTML)
    assert "未找到" in empty.text
    assert client.get("/search", params={"q": "恒达", "page": 999}, headers=HTML).status_code == 200


def test_search_page_live_results_fragment(client, city) -> None:
    frag = client.get("/search", params={"q": "鑫源"}, headers={**HTML, "HX-Request": "true"})
    assert frag.text.lstrip().startswith('<section id="results"')
    assert "<html" not in frag.text


def test_search_page_bad_inputs(client, city) -> None:
    for q in ("", " ", "恒", "' OR 1=1 --", '"*NEAR(', "x" * 10_000):
        page = client.get("/search", params={"q": q}, headers=HTML)
        assert page.status_code == 200, q
    xss = client.get("/search", params={"q": "<script>alert(1)</script>"}, headers=HTML)
    assert "<script>alert(1)" not in xss.text and "&lt;script&gt;" in xss.text
    assert "过长" in client.get("/search", params={"q": "恒达" * 2000}, headers=HTML).text
    assert "太短" in client.get("/search", params={"q": "恒"}, headers=HTML).text
    assert client.get("/search", params={"page": "abc"}, headers=HTML).status_code == 422


def test_search_api(client, city) -> None:
    body = client.get("/api/v1/search", params={"q": "恒达重工機械", "limit": 5}).json()
    assert body["total"] == 1
    assert body["items"] == [{"uscc": city.uscc, "name": "德州市恒达重工机械制造有限公司", "kind": "legal_person",
                              "region": "山东省德州市德城区"}]
    assert client.get("/api/v1/search", params={"q": "王小明"}).json()["total"] == 0


def test_search_api_invalid_parameters_are_chinese_problems(client, city) -> None:
    for params in ({"q": "恒达", "limit": 101}, {"q": "恒达", "limit": 0}, {"q": "恒达", "offset": -1},
                   {"q": "恒达", "limit": "x"}, {"q": ""}, {"q": "恒"}):
        r = client.get("/api/v1/search", params=params)
        assert r.status_code == 422, params
        assert r.headers["content-type"].startswith("application/problem+json")
        assert not r.json()["detail"].isascii()
    long = client.get("/api/v1/search", params={"q": "恒达" * 2000})
    assert long.status_code == 200 and "过长" in long.json()["notices"][0]


def test_subject_page_shows_only_public_in_window_records(client, city) -> None:
    page = client.get(f"/subjects/{city.uscc}", headers=HTML)
    assert page.status_code == 200
    text = page.text
    assert "德州市恒达重工机械制造有限公司" in text
    assert "德州市恒达机械制造有限公司" in text  # former name
    assert "山东省德州市德城区" in text
    assert "德市监罚〔2025〕1号" in text and "罚款人民币五千元" in text
    assert "德审批许〔2025〕5号" in text
    assert "德市监罚〔2023〕9号" not in text  # out of window
    assert "德市监罚〔2025〕3号" not in text  # 轻微: never published
    assert "德市监检〔2025〕7号" not in text  # shared with departments only
    assert "行政管理信息" in text
    assert f"/reports/{city.uscc}.pdf" in text
    assert f"/objections/new?record={city.records['in_window']}" in text


def test_record_under_objection_is_marked(client, city) -> None:
    text = client.get(f"/subjects/{city.uscc}", headers=HTML).text
    block = text.split(f'id="record-{city.records["objection"]}"', 1)[1].split("</article>", 1)[0]
    assert "异议中" in block
    clean = text.split(f'id="record-{city.records["in_window"]}"', 1)[1].split("</article>", 1)[0]
    assert "异议中" not in clean


def test_subject_page_renders_registered_sections(client, city) -> None:
    def provider(session: Session, subject: object, audience: str, today: date) -> SubjectSection:
        return SubjectSection(key="test-honours", title="测试荣誉", columns=["荣誉名称", "授予机关"],
                              rows=[{"cells": {"荣誉名称": "守合同重信用<企业>", "授予机关": "市政府"}, "badge": "有效"}])

    register_subject_section(999, "test-honours", provider)
    try:
        text = client.get(f"/subjects/{city.uscc}", headers=HTML).text
        assert "测试荣誉" in text and "守合同重信用&lt;企业&gt;" in text
    finally:
        register_subject_section(999, "test-honours", lambda *a: None)


def test_unknown_or_invalid_subject_is_a_chinese_404(client, city) -> None:
    r = client.get("/subjects/not-a-code", headers=HTML)
    assert r.status_code == 404 and "无效" in r.text
    r = client.get("/subjects/" + city.uscc[:-1] + ("0" if city.uscc[-1] != "0" else "1"), headers=HTML)
    assert r.status_code == 404


def test_publicity_lists_dual_publicity_without_natural_persons(client, city) -> None:
    text = client.get("/publicity", headers=HTML).text
    assert "德市监罚〔2025〕1号" in text and "德审批许〔2025〕5号" in text and "德审批许〔2024〕8号" in text
    assert "德市监罚〔2025〕4号" not in text and "王小明" not in text  # natural person
    assert "德市监罚〔2023〕9号" not in text and "德市监罚〔2025〕3号" not in text
    assert "异议中" in text


def test_publicity_filters(client, city) -> None:
    only_licences = client.get("/publicity", params={"type": "license"}, headers=HTML).text
    assert "德审批许〔2025〕5号" in only_licences and "德市监罚〔2025〕1号" not in only_licences
    by_dept = client.get("/publicity", params={"dept": city.dept_a}, headers=HTML).text
    assert "德市监罚〔2025〕1号" in by_dept and "德审批许" not in by_dept
    since = (date.today() - timedelta(days=60)).isoformat()
    recent = client.get("/publicity", params={"from": since}, headers=HTML).text
    assert "德审批许〔2025〕5号" in recent and "德审批许〔2024〕8号" not in recent
    bad = client.get("/publicity", params={"from": "2026-02-30", "type": "x", "dept": "abc"}, headers=HTML)
    assert bad.status_code == 200 and "不是有效日期" in bad.text


def test_publicity_pages_with_a_cursor(client, city, monkeypatch) -> None:
    from xinyong.web import portal

    monkeypatch.setattr(portal, "PUBLICITY_PAGE", 2)
    first = client.get("/publicity", headers=HTML).text
    assert "下一页" in first
    link = first.split('href="/publicity?', 2)[-1].split('"', 1)[0].replace("&amp;", "&")
    second = client.get("/publicity?" + link, headers=HTML).text
    # Newest published first: the licences were published after the penalties, whatever their decision dates.
    assert "德审批许〔2024〕8号" in first and "德审批许〔2025〕5号" in first
    assert "德市监罚〔2025〕1号" in second and "德市监罚〔2025〕2号" in second
    assert "德市监罚〔2025〕1号" not in first and "德审批许" not in second
    assert "下一页" not in second and "第一页" in second
    broken = client.get("/publicity", params={"after": "2026-01-01_3"}, headers=HTML).text
    assert "翻页参数无效" in broken and "德审批许〔2024〕8号" in broken


def test_publicity_lists_in_publication_order_with_date_range_as_a_filter(client, city) -> None:
    text = client.get("/publicity", headers=HTML).text
    order = [text.index(no) for no in ("德审批许〔2024〕8号", "德审批许〔2025〕5号", "德市监罚〔2025〕2号", "德市监罚〔2025〕1号")]
    assert order == sorted(order)
    since = (date.today() - timedelta(days=300)).isoformat()
    until = (date.today() - timedelta(days=23)).isoformat()
    ranged = client.get("/publicity", params={"from": since, "to": until}, headers=HTML).text
    assert "德审批许〔2024〕8号" in ranged and "德审批许〔2025〕5号" in ranged
    assert "德市监罚〔2025〕1号" not in ranged and "德市监罚〔2025〕2号" not in ranged


def test_publicity_xlsx_download(client, city) -> None:
    r = client.get("/publicity.xlsx", params={"type": "penalty"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(r.content), read_only=True)
    rows = list(book["双公示"].iter_rows(values_only=True))
    assert rows[0][:4] == ("类型", "行政相对人名称", "统一社会信用代码", "决定文书号")
    numbers = {row[3] for row in rows[1:]}
    assert numbers == {"德市监罚〔2025〕1号", "德市监罚〔2025〕2号"}
    assert all(row[0] == "行政处罚" for row in rows[1:])
    notes = [row[0] for row in book["说明"].iter_rows(values_only=True)]
    assert any("类型：行政处罚" in str(n) for n in notes)


def test_publicity_xlsx_is_capped(client, city, monkeypatch) -> None:
    from xinyong.web import publicity

    monkeypatch.setattr(publicity, "XLSX_CAP", 2)
    r = client.get("/publicity.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(r.content), read_only=True)
    assert len(list(book["双公示"].iter_rows(values_only=True))) == 3
    assert any("仅导出最新的" in str(row[0]) for row in book["说明"].iter_rows(values_only=True))


def test_natural_person_is_not_searchable_on_portal(client, city, db: Session) -> None:
    text = client.get("/search", params={"q": "王小明"}, headers=HTML).text
    assert "未找到" in text and 'class="hit-name"' not in text
    assert subjects.find_by_name(db, "王小明") == []
