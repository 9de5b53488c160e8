from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xinyong.catalog.headers import normalize_header

SAME = [
    ("行政相对人代码＿1\n（统一社会信用代码） ", "行政相对人代码_1(统一社会信用代码)"),
    ("\ufeff行政相对人名称", "行政相对人名称"),
    ("“处罚类别”", "处罚类别"),
    ('"处罚类别"', "处罚类别"),
    ("罚款金额（万元）", "罚款金额(万元)"),
    ("罚款金额【万元】", "罚款金额(万元)"),
    ("罚款金额[万元]", "罚款金额(万元)"),
    ("处罚\r\n决定日期", "处罚决定日期"),
    ("处罚　决定　日期", "处罚决定日期"),
    ("ＣＦ＿ＷＳＨ", "CF_WSH"),
    ("cf_wsh", "CF_WSH"),
    ("行政相对人代码－1", "行政相对人代码_1"),
    ("行政相对人代码—1", "行政相对人代码_1"),
    ("行政相对人代码-1", "行政相对人代码_1"),
    ("\t许可编号\t", "许可编号"),
    ("许可\u200b编号", "许可编号"),
]


@pytest.mark.parametrize(("raw", "clean"), SAME)
def test_header_spellings_normalise_equal(raw: str, clean: str) -> None:
    assert normalize_header(raw) == normalize_header(clean)


def test_normal_form_is_compact_and_lower_case() -> None:
    assert (
        normalize_header(" 行政相对人代码＿1\n（统一社会信用代码） ") == "行政相对人代码_1(统一社会信用代码)"
    )
    assert normalize_header("XK_XDR_SHXYM") == "xk_xdr_shxym"


def test_different_headers_stay_different() -> None:
    assert normalize_header("行政相对人代码_2(工商注册号)") != normalize_header(
        "行政相对人代码_2(组织机构代码)"
    )
    assert normalize_header("有效期自") != normalize_header("有效期至")


header_text = st.text(
    alphabet=st.sampled_from(
        list("行政相对人代码处罚类别名称ABCxyz019_-－＿—（）()【】[]  　\n\r\t\"'“”‘’\ufeff\u200bＡｂ１")
    ),
    max_size=30,
)


@given(st.text(max_size=40))
def test_normalising_twice_changes_nothing(h: str) -> None:
    once = normalize_header(h)
    assert normalize_header(once) == once


@given(header_text)
def test_normal_form_has_no_whitespace_or_variants(h: str) -> None:
    out = normalize_header(h)
    assert not any(c.isspace() for c in out)
    assert not set(out) & set("（）【】[]＿－—\ufeff\u200b")
    assert not any("A" <= c <= "Z" for c in out)


@given(header_text, st.sampled_from([" ", "\n", "　", "\r\n", "\t"]))
def test_inserted_whitespace_is_ignored(h: str, space: str) -> None:
    middle = len(h) // 2
    assert normalize_header(h[:middle] + space + h[middle:]) == normalize_header(h)


@given(header_text)
def test_full_width_and_half_width_agree(h: str) -> None:
    wide = h.replace("(", "（").replace(")", "）").replace("_", "＿")
    assert normalize_header(wide) == normalize_header(h)


@given(header_text)
def test_case_of_ascii_letters_is_ignored(h: str) -> None:
    assert normalize_header(h.upper()) == normalize_header(h.lower())
