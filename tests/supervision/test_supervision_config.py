"""config/supervision: the shipped schemes load; a broken one names file, line and reason in Chinese."""

from __future__ import annotations

from pathlib import Path

import pytest

from xinyong.lists.yamlconf import ConfigError
from xinyong.supervision import rules
from xinyong.supervision.config import get_schemes, load_schemes

GOOD = """code: test_scheme
name: 测试方案
departments: [SCJG]
legal_basis:
  - document: 《优化营商环境条例》（国务院令第722号）
grades:
  - {grade: A+, ratio: 1%, frequency: 每年1次}
  - {grade: A, ratio: 3%, frequency: 每年1次}
  - {grade: B, ratio: 5%, frequency: 每年1次}
  - {grade: C, ratio: 10%, frequency: 每年1次}
  - {grade: C-, ratio: 10%, frequency: 每年1次}
  - {grade: D, ratio: 20%, frequency: 每年2次}
  - {grade: D-, ratio: all, frequency: 全覆盖}
  - {grade: 未评价, ratio: 5%, frequency: 每年1次}
"""


def test_shipped_schemes_cover_every_grade_with_measures_and_basis() -> None:
    schemes = get_schemes()
    assert {"scjg_market", "sthj_environment"} <= set(schemes.items)
    market = schemes.get("scjg_market")
    assert market.strata() == ["A+", "A", "B", "C", "C-", "D", "D-", rules.UNGRADED]
    assert market.ratios()["A"] == pytest.approx(0.03) and market.ratios()["D-"] is None
    assert all(g.measures and all(m.legal_basis for m in g.measures) for g in market.grades)
    assert [s.code for s in schemes.for_dept("STHJ")] == ["sthj_environment"]


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "s.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def test_a_good_file_loads(tmp_path: Path) -> None:
    assert load_schemes(write(tmp_path, GOOD)).get("test_scheme").rule_for(None) is not None


@pytest.mark.parametrize(("change", "line", "words"), [
    (("ratio: 3%", "ratio: 300%"), 8, "超出范围"),
    (("grade: C-,", "grade: E,"), 11, "不是模型"),
    (("  - {grade: 未评价, ratio: 5%, frequency: 每年1次}\n", ""), 7, "缺少等级 未评价"),
    (("grade: A,", "grade: A+,"), 8, "重复"),
    (("departments: [SCJG]", "departments: [scjg]"), 3, "部门代码"),
    (("legal_basis:\n  - document: 《优化营商环境条例》（国务院令第722号）\n", ""), 1, "legal_basis"),
    (("name: 测试方案", "name: 测试方案\nmodel: no_such_model"), 3, "评价模型 no_such_model 不存在"),
    (("frequency: 全覆盖}", "frequency: 全覆盖, extra: 1}"), 13, "未知的配置项"),
])
def test_a_broken_file_names_file_line_and_reason(tmp_path: Path, change: tuple[str, str], line: int,
                                                  words: str) -> None:
    old, new = change
    assert old in GOOD
    with pytest.raises(ConfigError) as caught:
        load_schemes(write(tmp_path, GOOD.replace(old, new, 1)))
    assert caught.value.line == line, str(caught.value)
    assert words in str(caught.value) and "s.yaml" in str(caught.value)
