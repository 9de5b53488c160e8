"""Evaluation models as configuration: the shipped models load; broken ones stop with file, line, reason."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from xinyong.evaluation import config
from xinyong.evaluation.grades import COMPREHENSIVE, grade_order
from xinyong.lists.yamlconf import ConfigError

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "evaluation"


def test_shipped_models_load_with_their_grade_orders() -> None:
    models = config.load_models(SHIPPED)
    assert set(models) == {"city_comprehensive", "env_enterprise"}
    assert grade_order(COMPREHENSIVE) == ["A+", "A", "B", "C", "C-", "D", "D-"]
    assert models["env_enterprise"].model.grade_order == ["A", "B", "C", "D"]
    assert "natural_person" not in models[COMPREHENSIVE].model.subject_kinds


def _broken(tmp_path: Path, old: str, new: str, name: str = "city_comprehensive") -> tuple[str, int]:
    text = (SHIPPED / f"{name}.yaml").read_text(encoding="utf-8")
    assert old in text
    text = text.replace(old, new, 1)
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if new.splitlines()[0] in ln)
    with pytest.raises(ConfigError) as exc:
        config.load_model(path)
    return str(exc.value), line


@pytest.mark.parametrize(("old", "new", "reason"), [
    ("    name: 遵纪守法\n    weight: 40", "    name: 遵纪守法\n    weight: 45", "权重之和须为 100，现为 105"),
    ("source: {item: admin_penalty, severity: [严重, 较重]}", "source: {item: admin_fine, severity: [严重, 较重]}",
     "未知的目录信息项“admin_fine”"),
    ("lists: [sw_a_grade_taxpayer, hg_advanced_certified]", "lists: [sw_a_grade_taxpayer, no_such_list]",
     "未知的名单类型“no_such_list”"),
    ("{grade: B, min: 750, max: 850", "{grade: B, min: 750, max: 900", "重叠"),
    ("{grade: C, min: 650, max: 750", "{grade: C, min: 650, max: 700", "空档"),
    ("subject_kinds: [legal_person, other_org]", "subject_kinds: [legal_person, natural_person]", "自然人不参与"),
    ("when: {fact: black_listed, gt: 0}", "when: {fact: on_black_list, gt: 0}", "未知的事实“on_black_list”"),
    ("            field: fine_amount", "            field: decision_no", "不是数值"),
    ("source: {item: admin_inspection, field: result,", "source: {item: admin_inspection, field: outcome,",
     "没有字段“outcome”"),
    ("field: result, not_in: [合格, 未发现问题, 未发现问题（合格）]}",
     "field: result, in: [合格], not_in: [合格]}", "须且只能写 in"),
    ("source: {item: business_abnormal}", "source: {lists: [scjg_serious_illegal], not_in: [合格]}", "只能与 item"),
])
def test_a_broken_model_names_file_line_and_reason(tmp_path: Path, old: str, new: str, reason: str) -> None:
    message, line = _broken(tmp_path, old, new)
    assert "city_comprehensive.yaml" in message and reason in message, message
    found = [int(n) for n in re.findall(r"第(\d+)行", message)]
    assert found and abs(found[0] - line) <= 3, (found, line, message)


def test_a_cycle_in_overrides_is_refused(tmp_path: Path) -> None:
    # serious_list reads the grade judgment_debtor sets (D) and judgment_debtor the one serious_list sets (D-)
    text = (SHIPPED / "city_comprehensive.yaml").read_text(encoding="utf-8")
    text = text.replace("when: {fact: black_listed, gt: 0}",
                        "when: {any: [{fact: black_listed, gt: 0}, {fact: grade, eq: D}]}")
    text = text.replace("{fact: grade, not_in: [D-]}", "{fact: grade, not_in: [D]}")
    (tmp_path / "city_comprehensive.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        config.load_model(tmp_path / "city_comprehensive.yaml")
    message = str(exc.value)
    assert "循环依赖" in message and "serious_list" in message and "judgment_debtor" in message


def test_models_directory_reports_every_broken_file(tmp_path: Path) -> None:
    shutil.copytree(SHIPPED, tmp_path / "evaluation")
    p = tmp_path / "evaluation" / "env_enterprise.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("id: env_enterprise", "id: env_other"), encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        config.load_models(tmp_path / "evaluation")
    assert "与文件名“env_enterprise.yaml”不一致" in str(exc.value)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=100), min_size=2, max_size=5))
def test_level_weights_are_accepted_exactly_when_they_add_up_to_100(tmp_path_factory: pytest.TempPathFactory,
                                                                     weights: list[int]) -> None:
    data = yaml.safe_load((SHIPPED / "env_enterprise.yaml").read_text(encoding="utf-8"))
    leaf = data["indicators"][1]["children"][0]["children"][0]
    children = []
    for i, w in enumerate(weights):
        child = dict(leaf, id=f"leaf_{i}", weight=w)
        children.append(child)
    data["indicators"][1]["children"][0]["children"] = children
    path = tmp_path_factory.mktemp("m") / "env_enterprise.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    if sum(weights) == 100:
        assert len(config.load_model(path).model.leaves()) == 3 + len(weights)
    else:
        with pytest.raises(ConfigError, match="权重之和须为 100"):
            config.load_model(path)
