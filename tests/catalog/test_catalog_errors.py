"""A broken catalog file is refused with the file, the line and a Chinese explanation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from xinyong.catalog import CatalogError, load_catalog

GOOD = """\
code: sample
name: 示例信息
category: 行政管理信息
subject_kinds: [legal_person, natural_person]
disclosure: public
legal_basis: 《示例条例》第一条
publication:
  rule: severity
  type_field: penalty_type
  default_classes: {警告: 轻微, 吊销许可证件: 严重}
date_field: decision_date
providers:
  departments: [SCJG, SW]
  credit_office: true
fields:
  - name: subject_name
    label: 行政相对人名称
    required: true
    role: subject_name
    aliases: [相对人名称, 当事人名称]
  - name: penalty_type
    label: 处罚类别
    type: string
    role: penalty_type
  - name: decision_date
    label: 处罚决定日期
    type: date
    role: decision_date
  - name: id_no
    label: 证件号码
    type: code
    sensitive: true
    role: id_no
"""


def _write(tmp_path: Path, text: str, name: str = "sample.yaml") -> Path:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def _refusal(directory: Path) -> CatalogError:
    with pytest.raises(CatalogError) as info:
        load_catalog(directory)
    return info.value


def _assert_located(err: CatalogError, line: int, *words: str) -> None:
    message = str(err)
    assert "sample.yaml" in message
    assert f"第{line}行" in message, message
    assert err.line == line
    assert re.search(r"[\u4e00-\u9fff]", message)
    for word in words:
        assert word in message, message


def test_the_template_itself_loads(tmp_path: Path) -> None:
    catalog = load_catalog(_write(tmp_path, GOOD))
    assert catalog.get("sample").name == "示例信息"


def test_yaml_syntax_error(tmp_path: Path) -> None:
    text = GOOD.replace("    label: 处罚类别\n", "    label: 处罚类别\n   type string: [\n")
    err = _refusal(_write(tmp_path, text))
    assert "YAML 语法错误" in str(err)
    assert "sample.yaml" in str(err) and err.line is not None
    assert abs(err.line - _line_of(text, "type string")) <= 1


def test_tab_indentation_is_explained(tmp_path: Path) -> None:
    text = GOOD.replace("  rule: severity", "\trule: severity")
    err = _refusal(_write(tmp_path, text))
    assert "制表符" in str(err) or "YAML 语法错误" in str(err)
    assert err.line == _line_of(text, "rule: severity")


def test_unknown_category(tmp_path: Path) -> None:
    text = GOOD.replace("category: 行政管理信息", "category: 行政处罚类")
    err = _refusal(_write(tmp_path, text))
    _assert_located(err, 3, "category", "行政处罚类", "登记注册基本信息")


def test_category_with_full_width_brackets_is_accepted(tmp_path: Path) -> None:
    text = GOOD.replace("category: 行政管理信息", "category: 经营（活动）异常名录（状态）信息")
    item = load_catalog(_write(tmp_path, text)).get("sample")
    assert item.category == "经营(活动)异常名录(状态)信息"


def test_missing_legal_basis(tmp_path: Path) -> None:
    text = GOOD.replace("legal_basis: 《示例条例》第一条\n", "")
    err = _refusal(_write(tmp_path, text))
    _assert_located(err, 1, "缺少必填项 legal_basis")


def test_empty_legal_basis(tmp_path: Path) -> None:
    text = GOOD.replace("legal_basis: 《示例条例》第一条", 'legal_basis: "  "')
    err = _refusal(_write(tmp_path, text))
    _assert_located(err, 6, "legal_basis", "不能为空")


def test_unknown_field_type(tmp_path: Path) -> None:
    text = GOOD.replace("    type: date\n", "    type: strng\n")
    err = _refusal(_write(tmp_path, text))
    _assert_located(err, _line_of(text, "type: strng"), '字段 type 的取值 "strng" 无效', "string、text")
    assert str(err).startswith(f"目录配置 {tmp_path.as_posix()}/sample.yaml 第")


def test_duplicate_alias_across_fields(tmp_path: Path) -> None:
    text = GOOD.replace(
        "    type: string\n    role: penalty_type",
        "    type: string\n    role: penalty_type\n    aliases: [处罚种类, 当事人名称]",
    )
    err = _refusal(_write(tmp_path, text))
    _assert_located(err, _line_of(text, "[处罚种类, 当事人名称]"), "当事人名称", "subject_name", "重复")


def test_duplicate_alias_after_normalisation(tmp_path: Path) -> None:
    text = GOOD.replace(
        "aliases: [相对人名称, 当事人名称]", 'aliases: [相对人名称, 当事人名称, "相对人 名称"]'
    )
    err = _refusal(_write(tmp_path, text))
    _assert_located(err, _line_of(text, "相对人 名称"), "重复")


def test_alias_equal_to_another_label(tmp_path: Path) -> None:
    text = GOOD.replace("aliases: [相对人名称, 当事人名称]", "aliases: [相对人名称, 处罚类别]")
    err = _refusal(_write(tmp_path, text))
    # Reported where the second spelling appears: the label of penalty_type.
    _assert_located(err, _line_of(text, "label: 处罚类别"), "处罚类别", "subject_name", "重复")


def test_duplicate_role(tmp_path: Path) -> None:
    text = GOOD.replace(
        "    type: string\n    role: penalty_type", "    type: string\n    role: subject_name"
    )
    err = _refusal(_write(tmp_path, text))
    lines = [i for i, line in enumerate(text.splitlines(), start=1) if "role: subject_name" in line]
    _assert_located(err, lines[1], "每个 role 只能有一个字段")


def test_enum_without_values(tmp_path: Path) -> None:
    text = GOOD.replace("    type: string\n    role: penalty_type", "    type: enum\n    role: penalty_type")
    err = _refusal(_write(tmp_path, text))
    assert "enum" in str(err) and "sample.yaml" in str(err)


def test_severity_rule_needs_type_field(tmp_path: Path) -> None:
    text = GOOD.replace("  type_field: penalty_type\n", "")
    err = _refusal(_write(tmp_path, text))
    _assert_located(err, _line_of(text, "rule: severity"), "type_field")


def test_rule_field_must_exist(tmp_path: Path) -> None:
    text = GOOD.replace("type_field: penalty_type", "type_field: penalty_kind")
    err = _refusal(_write(tmp_path, text))
    _assert_located(err, _line_of(text, "penalty_kind"), "penalty_kind", "不存在")


def test_bad_severity_class(tmp_path: Path) -> None:
    text = GOOD.replace("吊销许可证件: 严重", "吊销许可证件: 很严重")
    err = _refusal(_write(tmp_path, text))
    _assert_located(err, _line_of(text, "很严重"), "很严重", "轻微、一般、严重")


def test_unknown_key_is_a_typo(tmp_path: Path) -> None:
    text = GOOD.replace("    label: 处罚类别\n", "    label: 处罚类别\n    requried: true\n")
    err = _refusal(_write(tmp_path, text))
    _assert_located(err, _line_of(text, "requried"), "未知的配置项 requried")


def test_unknown_subject_kind(tmp_path: Path) -> None:
    text = GOOD.replace(
        "subject_kinds: [legal_person, natural_person]", "subject_kinds: [legal_person, person]"
    )
    err = _refusal(_write(tmp_path, text))
    _assert_located(err, 4, '"person"', "natural_person")


def test_id_number_must_be_sensitive(tmp_path: Path) -> None:
    text = GOOD.replace("    sensitive: true\n", "")
    err = _refusal(_write(tmp_path, text))
    assert "sensitive" in str(err) and "sample.yaml" in str(err)


def test_duplicate_key(tmp_path: Path) -> None:
    text = GOOD.replace("disclosure: public\n", "disclosure: public\ndisclosure: shared\n")
    err = _refusal(_write(tmp_path, text))
    _assert_located(err, _line_of(text, "disclosure: shared"), "disclosure", "重复")


def test_file_name_must_be_the_code(tmp_path: Path) -> None:
    err = _refusal(_write(tmp_path, GOOD, name="other.yaml"))
    assert "other.yaml" in str(err) and "第1行" in str(err) and "不一致" in str(err)


def test_number_where_text_is_expected(tmp_path: Path) -> None:
    text = GOOD.replace("name: 示例信息", "name: 123")
    err = _refusal(_write(tmp_path, text))
    _assert_located(err, 2, "应为文字")


def test_all_broken_files_are_reported_together(tmp_path: Path) -> None:
    _write(tmp_path, GOOD.replace("category: 行政管理信息", "category: 无"))
    _write(
        tmp_path,
        GOOD.replace("code: sample", "code: second").replace("    type: date\n", "    type: strng\n"),
        "second.yaml",
    )
    message = str(_refusal(tmp_path))
    assert "sample.yaml" in message and "second.yaml" in message


def test_missing_directory(tmp_path: Path) -> None:
    err = _refusal(tmp_path / "nowhere")
    assert "找不到目录配置文件夹" in str(err)


def test_unclosed_list_is_explained(tmp_path: Path) -> None:
    text = GOOD.replace("aliases: [相对人名称, 当事人名称]", "aliases: [相对人名称, 当事人名称")
    err = _refusal(_write(tmp_path, text))
    assert "方括号列表没有闭合" in str(err) and "sample.yaml" in str(err) and err.line is not None


def test_providers_are_required(tmp_path: Path) -> None:
    text = GOOD.replace("providers:\n  departments: [SCJG, SW]\n  credit_office: true\n", "")
    err = _refusal(_write(tmp_path, text))
    assert "缺少必填项 providers" in str(err) and "sample.yaml" in str(err)


def test_providers_of_an_unknown_shape_stop_loading_with_the_line(tmp_path: Path) -> None:
    text = GOOD.replace("providers:\n  departments: [SCJG, SW]\n  credit_office: true\n", "providers: SCJG\n")
    err = _refusal(_write(tmp_path, text))
    _assert_located(err, _line_of(text, "providers: SCJG"), "providers", "映射")


def test_providers_need_at_least_one_department(tmp_path: Path) -> None:
    text = GOOD.replace("  departments: [SCJG, SW]\n", "  departments: []\n")
    err = _refusal(_write(tmp_path, text))
    _assert_located(err, _line_of(text, "departments: []"), "departments")


def test_a_provider_code_of_the_wrong_form_is_located(tmp_path: Path) -> None:
    text = GOOD.replace("  departments: [SCJG, SW]\n", "  departments: [SCJG, 税务局]\n")
    err = _refusal(_write(tmp_path, text))
    _assert_located(err, _line_of(text, "税务局"), "部门代码")


def test_a_repeated_provider_is_located(tmp_path: Path) -> None:
    text = GOOD.replace("  departments: [SCJG, SW]\n", "  departments: [SCJG, SCJG]\n")
    err = _refusal(_write(tmp_path, text))
    _assert_located(err, _line_of(text, "[SCJG, SCJG]"), "重复")


def test_the_office_flag_must_be_true_or_false(tmp_path: Path) -> None:
    text = GOOD.replace("  credit_office: true\n", "  credit_office: 可以\n")
    err = _refusal(_write(tmp_path, text))
    _assert_located(err, _line_of(text, "credit_office: 可以"), "true 或 false")
