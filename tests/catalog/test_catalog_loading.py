from __future__ import annotations

from pathlib import Path

import pytest

from xinyong.catalog import get_catalog, load_catalog, normalize_header, reset_catalog_cache
from xinyong.catalog.schemas import CATEGORIES, CatalogItem
from xinyong.core.errors import NotFound

CONFIG = Path(__file__).resolve().parents[2] / "config" / "catalog"
SHIPPED = [
    "admin_penalty",
    "admin_license",
    "dishonest_judgment_debtor",
    "business_abnormal",
    "credit_commitment",
    "honour",
    "registration",
]


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    return load_catalog(CONFIG)


def test_every_shipped_file_loads(catalog) -> None:  # type: ignore[no-untyped-def]
    files = sorted(p.stem for p in CONFIG.glob("*.yaml"))
    assert sorted(catalog.items) == files
    for code in SHIPPED:
        assert code in catalog


def test_every_item_has_a_legal_basis_and_a_national_category(catalog) -> None:  # type: ignore[no-untyped-def]
    for item in catalog.list():
        assert item.legal_basis.strip()
        assert item.category in CATEGORIES


def test_some_items_are_shared_only(catalog) -> None:  # type: ignore[no-untyped-def]
    shared = catalog.list(disclosure="shared")
    assert shared
    assert all(i.disclosure == "shared" for i in shared)


def test_list_follows_the_national_category_order(catalog) -> None:  # type: ignore[no-untyped-def]
    order = [CATEGORIES.index(i.category) for i in catalog.list()]
    assert order == sorted(order)
    assert catalog.list()[0].code == "registration"


def test_unknown_code_is_not_found(catalog) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFound, match="没有信息项"):
        catalog.get("no_such_item")
    assert catalog.find("no_such_item") is None


def test_dual_publicity_items(catalog) -> None:  # type: ignore[no-untyped-def]
    penalty = catalog.by_dual_publicity("penalty")
    license_ = catalog.by_dual_publicity("license")
    assert penalty is not None and penalty.code == "admin_penalty"
    assert license_ is not None and license_.code == "admin_license"
    assert penalty.timeliness_workdays == 7 and license_.timeliness_workdays == 7


PENALTY_HEADERS = {
    "行政相对人名称": "subject_name",
    "行政相对人类别": "subject_kind",
    "行政相对人代码_1(统一社会信用代码)": "uscc",
    "行政相对人代码＿1\n（统一社会信用代码） ": "uscc",
    "统一社会信用代码": "uscc",
    "行政相对人代码_2(工商注册号)": "reg_no",
    "行政相对人代码_3(组织机构代码)": "org_code",
    "行政相对人代码_4(税务登记号)": "tax_no",
    "行政相对人代码_5(事业单位证书号)": "inst_cert_no",
    "行政相对人代码_6(社会组织登记证号)": "social_org_no",
    "法定代表人": "legal_rep",
    "法定代表人证件类型": "legal_rep_id_type",
    "法定代表人证件号码": "legal_rep_id_no",
    "证件类型": "id_type",
    "证件号码": "id_no",
    "行政处罚决定书文号": "decision_no",
    "处罚决定书文号": "decision_no",
    "CF_WSH": "decision_no",
    "cf_wsh": "decision_no",
    "违法行为类型": "violation_type",
    "违法事实": "violation_facts",
    "处罚依据": "penalty_basis",
    "处罚类别": "penalty_type",
    "CF_CFLB": "penalty_type",
    "处罚内容": "penalty_content",
    "罚款金额(万元)": "fine_amount",
    "罚款金额（万元）": "fine_amount",
    "CF_NR_FK": "fine_amount",
    "没收违法所得、没收非法财物的金额(万元)": "confiscated_amount",
    "CF_NR_WFFF": "confiscated_amount",
    "暂扣或吊销证照名称及编号": "licence_seized",
    "处罚决定日期": "decision_date",
    "CF_JDRQ": "decision_date",
    "处罚有效期": "penalty_valid_until",
    "公示截止期": "publish_until",
    "CF_GSJZQ": "publish_until",
    "处罚机关": "authority",
    "处罚机关统一社会信用代码": "authority_uscc",
    "CF_CFJGDM": "authority_uscc",
    "数据来源单位": "source_dept",
    "数据来源单位统一社会信用代码": "source_dept_uscc",
    "CF_SJLYDM": "source_dept_uscc",
    "备注": "note",
    "BZ": "note",
}

LICENSE_HEADERS = {
    "行政相对人名称": "subject_name",
    "XK_XDR_MC": "subject_name",
    "行政相对人类别": "subject_kind",
    "统一社会信用代码": "uscc",
    "行政相对人代码＿1（统一社会信用代码）": "uscc",
    "XK_XDR_SHXYM": "uscc",
    "工商注册号": "reg_no",
    "XK_XDR_GSZC": "reg_no",
    "组织机构代码": "org_code",
    "税务登记号": "tax_no",
    "事业单位证书号": "inst_cert_no",
    "社会组织登记证号": "social_org_no",
    "XK_XDR_SHZZ": "social_org_no",
    "法定代表人": "legal_rep",
    "XK_FRDB": "legal_rep",
    "法定代表人证件类型": "legal_rep_id_type",
    "XK_FR_ZJHM": "legal_rep_id_no",
    "证件类型": "id_type",
    "证件号码": "id_no",
    "XK_XDR_ZJHM": "id_no",
    "行政许可决定文书名称": "document_name",
    "行政许可决定文书号": "decision_no",
    "XK_WSH": "decision_no",
    "许可类别": "license_category",
    "许可证书名称": "certificate_name",
    "许可编号": "license_no",
    "许可内容": "content",
    "许可决定日期": "decision_date",
    "有效期自": "valid_from",
    "有效期至": "valid_to",
    "XK_YXQZ": "valid_from",
    "XK_YXQZI": "valid_to",
    "许可机关": "authority",
    "许可机关统一社会信用代码": "authority_uscc",
    "当前状态": "status",
    "数据来源单位": "source_dept",
    "XK_LYDWDM": "source_dept_uscc",
    "备注": "note",
    # the 2016 set
    "项目名称": "document_name",
    "XK_XMMC": "document_name",
    "审批类别": "license_category",
    "XK_SPLB": "license_category",
    "许可截止期": "valid_to",
    "XK_JZQ": "valid_to",
    "地方编码": "region_code",
    "DFBM": "region_code",
    "更新时间戳": "source_timestamp",
    "SJC": "source_timestamp",
}


@pytest.mark.parametrize(("header", "field"), PENALTY_HEADERS.items())
def test_penalty_headers_map_to_fields(catalog, header: str, field: str) -> None:  # type: ignore[no-untyped-def]
    item = catalog.get("admin_penalty")
    assert item.header_index()[normalize_header(header)] == field
    matched = item.match_header(header)
    assert matched is not None and matched.name == field


@pytest.mark.parametrize(("header", "field"), LICENSE_HEADERS.items())
def test_license_headers_map_to_fields(catalog, header: str, field: str) -> None:  # type: ignore[no-untyped-def]
    assert catalog.get("admin_license").header_index()[normalize_header(header)] == field


def test_platform_columns_are_not_mapped(catalog) -> None:  # type: ignore[no-untyped-def]
    assert catalog.get("admin_penalty").match_header("自动上报信用中国状态") is None


def test_sensitive_fields_are_the_id_numbers(catalog) -> None:  # type: ignore[no-untyped-def]
    for code in ("admin_penalty", "admin_license"):
        names = {f.name for f in catalog.get(code).sensitive_fields()}
        assert names == {"legal_rep_id_no", "id_no"}
    for item in catalog.list():
        for f in item.fields:
            if f.role in ("id_no", "legal_rep_id_no") or f.type == "citizen_id":
                assert f.sensitive, (item.code, f.name)


def test_required_fields_depend_on_the_subject_kind(catalog) -> None:  # type: ignore[no-untyped-def]
    item: CatalogItem = catalog.get("admin_penalty")
    base = {f.name for f in item.required_fields()}
    assert base == {"subject_name", "decision_no", "penalty_type", "decision_date"}
    assert {f.name for f in item.required_fields("legal_person")} == base | {"uscc"}
    assert {f.name for f in item.required_fields("natural_person")} == base | {"id_no"}


def test_field_by_role(catalog) -> None:  # type: ignore[no-untyped-def]
    item = catalog.get("admin_penalty")
    decision = item.field_by_role("decision_no")
    assert decision is not None and decision.code == "CF_WSH"
    assert item.field_by_role("valid_from") is None
    debtor = catalog.get("dishonest_judgment_debtor")
    assert debtor.field_by_role("decision_no").name == "case_no"  # type: ignore[union-attr]


def test_publication_rules_of_the_shipped_items(catalog) -> None:  # type: ignore[no-untyped-def]
    penalty = catalog.get("admin_penalty").publication
    assert penalty.rule == "severity" and penalty.type_field == "penalty_type"
    assert penalty.default_classes["吊销许可证件"] == "严重"
    debtor = catalog.get("dishonest_judgment_debtor")
    assert (debtor.publication.rule, debtor.publication.months) == ("fixed", 24)
    assert "natural_person" in debtor.subject_kinds and debtor.disclosure == "public"
    assert catalog.get("registration").publication.rule == "permanent"
    assert catalog.get("admin_license").publication.rule == "validity"


def test_get_catalog_reads_the_configured_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "catalog").mkdir()
    source = (CONFIG / "honour.yaml").read_text(encoding="utf-8")
    (tmp_path / "catalog" / "honour.yaml").write_text(source, encoding="utf-8")
    monkeypatch.setenv("XINYONG_CONFIG_DIR", str(tmp_path))
    reset_catalog_cache()
    try:
        first = get_catalog()
        assert list(first.items) == ["honour"]
        assert get_catalog() is first
    finally:
        reset_catalog_cache()


def test_get_catalog_defaults_to_the_repository_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("XINYONG_CONFIG_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    reset_catalog_cache()
    try:
        assert "admin_penalty" in get_catalog()
    finally:
        reset_catalog_cache()
