"""List types and measures load from YAML; without a legal basis they are refused, naming file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from xinyong.joint.config import get_measures, load_measures
from xinyong.lists.config import get_list_types, load_list_types
from xinyong.lists.yamlconf import ConfigError

GOOD = """\
code: demo_list
name: 演示名单
kind: black
legal_basis:
  - document: 《某某管理办法》（某部令第1号）
    article: 第二条
entry_criteria: 情节严重
term:
  default_months: 12
  max_months: 36
exit_conditions: [期满移出]
remedies: 可申请行政复议
initiators: [SCJG]
"""


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_list_types_all_rest_on_a_legal_basis() -> None:
    types = get_list_types().list()
    assert 6 <= len(types) <= 10
    assert {t.kind for t in types} == {"red", "black"}
    for t in types:
        assert t.legal_basis and all("《" in b.document for b in t.legal_basis)
        assert t.term.default_months <= t.term.max_months and t.initiators and t.exit_conditions
    debtor = get_list_types().get("zy_dishonest_judgment_debtor")
    assert debtor.term.default_months == 24 and debtor.source == "imported" and "法释〔2017〕7号" in debtor.basis_text()


def test_shipped_measures_cover_the_three_types_and_incentives() -> None:
    measures = get_measures().list()
    assert {m.type for m in measures} == {"1", "2", "3", "incentive"}
    for m in measures:
        assert m.legal_basis and m.implementers and m.list_types


def test_list_type_without_legal_basis_is_refused_with_file_and_line(tmp_path: Path) -> None:
    text = GOOD.replace("legal_basis:\n  - document: 《某某管理办法》（某部令第1号）\n    article: 第二条\n", "")
    _write(tmp_path / "lists", "demo_list.yaml", text)
    with pytest.raises(ConfigError) as info:
        load_list_types(tmp_path / "lists")
    message = str(info.value)
    assert "demo_list.yaml" in message and "第1行" in message and "缺少必填项 legal_basis" in message
    assert "法律依据" in message


def test_empty_legal_basis_names_its_line(tmp_path: Path) -> None:
    text = GOOD.replace("legal_basis:\n  - document: 《某某管理办法》（某部令第1号）\n    article: 第二条\n",
                        "legal_basis: []\n")
    _write(tmp_path / "lists", "demo_list.yaml", text)
    with pytest.raises(ConfigError) as info:
        load_list_types(tmp_path / "lists")
    assert info.value.line == 4 and "legal_basis 不能为空" in str(info.value)


def test_basis_that_names_no_document_is_refused(tmp_path: Path) -> None:
    _write(tmp_path / "lists", "demo_list.yaml", GOOD.replace("《某某管理办法》（某部令第1号）", "有关规定"))
    with pytest.raises(ConfigError) as info:
        load_list_types(tmp_path / "lists")
    assert info.value.line == 5 and "不像文件名称" in str(info.value)


def test_default_term_past_the_maximum_is_refused(tmp_path: Path) -> None:
    _write(tmp_path / "lists", "demo_list.yaml", GOOD.replace("default_months: 12", "default_months: 48"))
    with pytest.raises(ConfigError, match=r"第9行.*超过最长期限"):
        load_list_types(tmp_path / "lists")


MEASURE = """\
measures:
  - code: m_ok
    name: 限制参加政府采购活动
    type: 1
    legal_basis:
      - document: 《中华人民共和国政府采购法》
        article: 第二十二条
    implementers: [CZ]
    list_types: [demo_list]
  - code: m_bad
    name: 没有依据的措施
    type: 2
    implementers: [SCJG]
    list_types: [demo_list]
"""


def test_measure_without_legal_basis_is_refused_with_file_and_line(tmp_path: Path) -> None:
    _write(tmp_path / "lists", "demo_list.yaml", GOOD)
    _write(tmp_path / "measures", "penalty.yaml", MEASURE)
    with pytest.raises(ConfigError) as info:
        load_measures(tmp_path / "measures", load_list_types(tmp_path / "lists"))
    message = str(info.value)
    assert "措施清单配置" in message and "penalty.yaml 第10行" in message and "缺少必填项 legal_basis" in message


def test_measure_for_an_unknown_list_type_or_wrong_kind_is_refused(tmp_path: Path) -> None:
    _write(tmp_path / "lists", "demo_list.yaml", GOOD)
    types = load_list_types(tmp_path / "lists")
    good_only = MEASURE.split("  - code: m_bad")[0]
    _write(tmp_path / "m1", "a.yaml", good_only.replace("[demo_list]", "[no_such_list]"))
    with pytest.raises(ConfigError, match=r"第9行.*no_such_list 不存在"):
        load_measures(tmp_path / "m1", types)
    _write(tmp_path / "m2", "a.yaml", good_only.replace("type: 1", "type: incentive"))
    with pytest.raises(ConfigError, match="激励措施只能由红名单触发"):
        load_measures(tmp_path / "m2", types)
    _write(tmp_path / "m3", "a.yaml", good_only)
    assert list(load_measures(tmp_path / "m3", types).items) == ["m_ok"]
