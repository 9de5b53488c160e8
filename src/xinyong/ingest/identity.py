"""Subject kinds as departments write them, and code warnings (unknown region or category) counted per batch."""

from __future__ import annotations

from collections import Counter

import polars as pl

from xinyong.catalog.schemas import FieldDef
from xinyong.core.identifiers import _LEGAL_PERSON_CATEGORIES, USCC_CATEGORIES
from xinyong.core.regions import known_region

ORG = "org"  # 法人及非法人组织: legal person or other organisation, decided by the unified code

_KIND_WORDS: dict[str, str] = {
    "法人及非法人组织": ORG, "法人和非法人组织": ORG, "法人或非法人组织": ORG, "法人及其他组织": ORG,
    "法人和其他组织": ORG, "法人": ORG, "法人组织": ORG, "企业": ORG, "企业法人": ORG, "单位": ORG,
    "非法人组织": ORG, "其他组织": ORG, "组织": ORG, "legal_person": ORG, "other_org": ORG,
    "个体工商户": "individual_business", "个体户": "individual_business", "个体": "individual_business",
    "individual_business": "individual_business",
    "自然人": "natural_person", "个人": "natural_person", "公民": "natural_person",
    "natural_person": "natural_person",
}
_NATIONAL = {
    "legal_person": "法人及非法人组织",
    "other_org": "法人及非法人组织",
    "individual_business": "个体工商户",
    "natural_person": "自然人",
}


def kind_lookup(value: str) -> str | None:
    """A 行政相对人类别 value -> kind, ORG (decide by code) or None when unknown."""
    return _KIND_WORDS.get("".join(value.split()).lower()) or _KIND_WORDS.get("".join(value.split()))


def national_kind_label(kind: str) -> str:
    return _NATIONAL[kind]


def uscc_kind_expr(uscc: pl.Expr) -> pl.Expr:
    """Vectorised identifiers.uscc_subject_kind; an organisation without a code counts as a legal person."""
    prefix = uscc.str.slice(0, 2)
    return (pl.when(uscc.is_null()).then(pl.lit("legal_person"))
            .when(prefix == "92").then(pl.lit("individual_business"))
            .when(prefix.is_in(sorted(_LEGAL_PERSON_CATEGORIES))).then(pl.lit("legal_person"))
            .otherwise(pl.lit("other_org")))


def _known_category(prefix: str) -> bool:
    return len(prefix) == 2 and prefix[1] in USCC_CATEGORIES.get(prefix[0], {})


def code_warnings(good: pl.DataFrame, uscc_field: FieldDef | None, id_field: FieldDef | None) -> Counter[str]:
    """Accepted rows whose codes carry a region or category outside the current tables (warn, not reject)."""
    out: Counter[str] = Counter()
    if "_uscc" in good.columns:
        codes = good.get_column("_uscc").drop_nulls()
        if len(codes):
            regions = codes.str.slice(2, 6)
            unknown = {r for r in regions.unique().to_list() if r != "100000" and not known_region(r)}
            n = int(regions.is_in(sorted(unknown)).sum()) if unknown else 0
            if n:
                out[f"统一社会信用代码的行政区划代码（第3–8位）不在现行区划表中（如 {min(unknown)}），已接收，请确认"] += n
            cats = codes.str.slice(0, 2)
            odd = {c for c in cats.unique().to_list() if not _known_category(c)}
            n = int(cats.is_in(sorted(odd)).sum()) if odd else 0
            if n:
                out[f"统一社会信用代码的登记管理部门或机构类别代码（第1–2位）不在国家标准所列范围内（如 {min(odd)}），已接收，请确认"] += n
    if "_pid" in good.columns:
        ids = good.get_column("_pid").drop_nulls()
        ids = ids.filter(ids.str.len_chars() == 18)
        if len(ids):
            regions = ids.str.slice(0, 6)
            unknown = {r for r in regions.unique().to_list() if r not in ("810000", "820000", "830000")
                       and not known_region(r)}
            n = int(regions.is_in(sorted(unknown)).sum()) if unknown else 0
            if n:
                out["公民身份号码的行政区划代码（前6位）不在现行区划表中，已接收，请确认"] += n
    return out
