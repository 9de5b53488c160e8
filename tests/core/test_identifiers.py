from __future__ import annotations

import random
import string
from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xinyong.core.identifiers import (
    USCC_ALPHABET,
    check_citizen_id,
    check_org_code,
    check_secondary_code,
    check_uscc,
    citizen_id_check_char,
    citizen_id_valid_expr,
    is_valid_uscc,
    make_citizen_id,
    make_uscc,
    mask_citizen_id,
    mask_text,
    normalize_code,
    org_code_check_char,
    secondary_valid_expr,
    uscc_check_char,
    uscc_subject_kind,
    uscc_valid_expr,
)

PUBLISHED_USCC = ["914403001922038216", "91110000710926094P", "91440300708461136T", "114418020073034851"]
TODAY = date(2025, 6, 1)

uscc_chars = st.sampled_from(USCC_ALPHABET)
categories = st.sampled_from(
    ["91", "92", "93", "11", "12", "51", "52", "53", "A1", "N1", "N2", "N3", "Y1", "31"]
)
regions = st.sampled_from(["110105", "371402", "440300", "100000", "440524"])


@st.composite
def valid_usccs(draw: st.DrawFn) -> str:
    body = "".join(draw(st.lists(uscc_chars, min_size=8, max_size=8)))
    return make_uscc(draw(categories), draw(regions), body)


@st.composite
def valid_ids(draw: st.DrawFn) -> str:
    birth = draw(st.dates(min_value=date(1880, 1, 1), max_value=TODAY))
    return make_citizen_id(draw(regions), birth, draw(st.integers(0, 999)))


def _dirty(code: str, data: st.DataObject) -> str:
    out = []
    for ch in code:
        if data.draw(st.booleans()):
            ch = chr(ord(ch) + 0xFEE0)  # full-width form
        if data.draw(st.booleans()):
            ch = ch.lower()
        out.append(ch + data.draw(st.sampled_from(["", " ", "\u3000", "\u00a0", "-", "－", "—", "‐", "\t"])))
    return data.draw(st.sampled_from(["", " ", "\u3000"])) + "".join(out)


# ---- USCC ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", PUBLISHED_USCC)
def test_published_codes_pass(code: str) -> None:
    result = check_uscc(code)
    assert result.ok and result.error is None and result.value == code
    assert is_valid_uscc(code)


@given(valid_usccs(), st.data())
def test_dirty_variants_of_a_valid_code_normalise_to_it(code: str, data: st.DataObject) -> None:
    dirty = _dirty(code, data)
    assert normalize_code(dirty) == code
    result = check_uscc(dirty)
    assert result.ok and result.value == code


@given(valid_usccs())
def test_generated_codes_pass(code: str) -> None:
    assert check_uscc(code).ok
    assert is_valid_uscc(code)


@given(valid_usccs(), st.integers(0, 17), uscc_chars)
def test_any_single_character_change_fails(code: str, pos: int, ch: str) -> None:
    changed = code[:pos] + ch + code[pos + 1 :]
    if changed == code:
        return
    result = check_uscc(changed)
    assert not result.ok and result.error and "请核对" in result.error
    assert not is_valid_uscc(changed)


@pytest.mark.parametrize("category", ["A1", "N2", "Y1"])
def test_a_n_and_y_codes_are_valid(category: str) -> None:
    code = make_uscc(category, "371402", "MA3C4D5E")
    result = check_uscc(code)
    assert result.ok and result.warnings == ()


def test_check_characters_match_the_standard() -> None:
    assert uscc_check_char("91440300192203821") == "6"
    assert org_code_check_char("19220382") == "1"
    assert org_code_check_char("71092609") == "4"
    assert uscc_check_char("91110000710926094") == "P"
    assert org_code_check_char("00730348") == "5"


def test_wrong_length_and_alphabet_are_refused_with_reasons() -> None:
    assert "18位" in (check_uscc("91440300192203821").error or "")
    bad = check_uscc("9144030019220382I6")
    assert not bad.ok and "第17位" in (bad.error or "")
    assert "为空" in (check_uscc("  ").error or "")


def test_wrong_body_check_is_refused_even_if_overall_check_matches() -> None:
    first17 = "91440300" + "19220382" + "2"
    code = first17 + uscc_check_char(first17)
    result = check_uscc(code)
    assert not result.ok and "组织机构代码" in (result.error or "")


def test_unknown_region_and_category_only_warn() -> None:
    old_region = check_uscc(make_uscc("91", "440524", "12345670"))
    assert old_region.ok and any("行政区划" in w for w in old_region.warnings)
    odd_category = check_uscc(make_uscc("97", "371402", "12345670"))
    assert odd_category.ok and any("机构类别" in w for w in odd_category.warnings)
    odd_authority = check_uscc(make_uscc("B1", "371402", "12345670"))
    assert odd_authority.ok and any("登记管理部门" in w for w in odd_authority.warnings)


def test_subject_kind() -> None:
    assert uscc_subject_kind("914403001922038216") == "legal_person"
    assert uscc_subject_kind(make_uscc("92", "371402", "MA3C4D5E")) == "individual_business"
    assert uscc_subject_kind(make_uscc("93", "371402", "MA3C4D5E")) == "legal_person"
    assert uscc_subject_kind("114418020073034851") == "legal_person"
    assert uscc_subject_kind(make_uscc("N2", "371402", "MA3C4D5E")) == "legal_person"
    assert uscc_subject_kind(make_uscc("Y1", "371402", "MA3C4D5E")) == "other_org"
    assert uscc_subject_kind(make_uscc("31", "371402", "MA3C4D5E")) == "other_org"


def test_make_uscc_rejects_malformed_parts() -> None:
    with pytest.raises(ValueError):
        make_uscc("9", "371402", "MA3C4D5E")
    with pytest.raises(ValueError):
        make_uscc("91", "371402", "MA3C4D5I")


# ---- organisation code and secondary codes --------------------------------------------------------


def test_org_code_with_hyphen() -> None:
    assert check_org_code("19220382-1").ok
    assert check_org_code("19220382-1").value == "192203821"
    assert not check_org_code("19220382-2").ok
    assert "9位" in (check_org_code("1922038").error or "")


def test_secondary_codes() -> None:
    assert check_secondary_code("reg_no", "440301103 456789").ok
    assert not check_secondary_code("reg_no", "44030110345678").ok
    assert check_secondary_code("org_code", "19220382-1").ok
    assert not check_secondary_code("org_code", "19220382-9").ok
    for tax in ("440300192203821", "914403001922038216", "44030019491231002X01"):
        assert check_secondary_code("tax_no", tax).ok
    assert not check_secondary_code("tax_no", "4403001922").ok
    assert check_secondary_code("inst_cert_no", "事证第110000001234号").ok
    assert check_secondary_code("social_org_no", "京民社证字第0123号").ok
    assert not check_secondary_code("social_org_no", " ").ok
    with pytest.raises(ValueError):
        check_secondary_code("passport", "E12345678")


# ---- citizen IDs --------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["11010519491231002X", "440524188001010014", "11010519491231002x"])
def test_published_id_examples_pass(raw: str) -> None:
    assert check_citizen_id(raw).ok


def test_fifteen_digits_are_converted() -> None:
    result = check_citizen_id("110105491231002")
    assert result.ok and result.value == "11010519491231002X"


@given(valid_ids(), st.data())
def test_generated_ids_pass_in_any_dirty_form(code: str, data: st.DataObject) -> None:
    result = check_citizen_id(_dirty(code, data), today=TODAY)
    assert result.ok and result.value == code


@given(valid_ids(), st.integers(0, 17), st.sampled_from("0123456789X"))
def test_any_single_character_change_of_an_id_fails(code: str, pos: int, ch: str) -> None:
    changed = code[:pos] + ch + code[pos + 1 :]
    if changed != code:
        assert not check_citizen_id(changed, today=TODAY).ok


def test_future_and_impossible_birth_dates_are_refused() -> None:
    future = make_citizen_id("110105", TODAY + timedelta(days=1), 1)
    assert "晚于今天" in (check_citizen_id(future, today=TODAY).error or "")
    assert not check_citizen_id(make_citizen_id("110105", date(1879, 12, 31), 1), today=TODAY).ok
    first17 = "11010519990230001"
    result = check_citizen_id(first17 + citizen_id_check_char(first17), today=TODAY)
    assert "出生日期" in (result.error or "")


def test_id_errors_never_echo_the_number() -> None:
    bad = "110105194912310021"
    result = check_citizen_id(bad)
    assert not result.ok
    assert all(bad not in text and "19491231" not in text for text in (result.error or "", *result.warnings))


def test_unknown_id_region_is_a_warning() -> None:
    result = check_citizen_id("440524188001010014")
    assert result.ok and result.warnings and "440524" in result.warnings[0]


# ---- masking -------------------------------------------------------------------------------------


def test_mask_citizen_id_format() -> None:
    assert mask_citizen_id("11010519491231002X") == "110105********002X"


@given(valid_ids())
def test_masking_never_leaks_the_birth_date(code: str) -> None:
    masked = mask_citizen_id(code)
    assert len(masked) == 18 and masked[6:14] == "*" * 8 and code[6:14] not in masked


@given(st.text(alphabet=string.digits, min_size=1, max_size=30))
def test_masking_other_lengths_keeps_at_most_three_and_two(value: str) -> None:
    masked = mask_citizen_id(value)
    assert len(masked) == len(value)
    if len(value) != 18:
        shown = len(masked) - masked.count("*")
        assert masked.count("*") >= 1 and shown <= 5 and shown <= len(value) // 2 + 1


@given(st.text(min_size=1, max_size=20).filter(lambda s: "*" not in s), st.integers(0, 5), st.integers(0, 5))
def test_mask_text_always_hides_something(value: str, keep_start: int, keep_end: int) -> None:
    masked = mask_text(value, keep_start, keep_end)
    assert len(masked) == len(value) and "*" in masked
    assert masked.count("*") >= len(value) - keep_start - keep_end


def test_mask_text_names() -> None:
    assert mask_text("张三") == "张*"
    assert mask_text("张三丰") == "张*丰"
    assert mask_text("") == ""


# ---- vectorised ----------------------------------------------------------------------------------


def _random_codes(rng: random.Random, n: int) -> list[str | None]:
    codes: list[str | None] = []
    for i in range(n):
        code = make_uscc(
            rng.choice(["91", "92", "N1", "Y1"]), "371402", "".join(rng.choices(USCC_ALPHABET, k=8))
        )
        kind = i % 5
        if kind == 1:  # single change
            pos = rng.randrange(18)
            code = code[:pos] + rng.choice(USCC_ALPHABET) + code[pos + 1 :]
        elif kind == 2:  # random junk, sometimes with forbidden letters
            code = "".join(rng.choices(USCC_ALPHABET + "IOSVZ", k=18))
        elif kind == 3:
            code = code[: rng.randrange(18)]
        codes.append(code)
    return [*codes, None, "", "914403001922038216", "９14403001922038216"]


def test_uscc_expr_agrees_with_scalar() -> None:
    codes = _random_codes(random.Random(7), 5000)
    got = pl.DataFrame({"c": codes}).select(uscc_valid_expr("c"))["c"].to_list()
    assert got == [c is not None and is_valid_uscc(c) for c in codes]
    assert any(got) and not all(got)


def test_citizen_id_expr_agrees_with_scalar() -> None:
    rng = random.Random(11)
    ids: list[str | None] = []
    for i in range(5000):
        birth = date(1880, 1, 1) + timedelta(days=rng.randrange(60000))
        code = make_citizen_id(rng.choice(["110105", "371402"]), birth, rng.randrange(1000))
        if i % 4 == 1:
            pos = rng.randrange(18)
            code = code[:pos] + rng.choice("0123456789X") + code[pos + 1 :]
        elif i % 4 == 2:
            code = "".join(rng.choices("0123456789", k=17)) + rng.choice("0123456789X")
        ids.append(code)
    for first17 in ("11010520000229001", "11010519000229001", "11010520010229001", "11010519991301001"):
        ids.append(first17 + citizen_id_check_char(first17))
    ids += [None, "", "11010519990230001X", "11010518791231001X", "1101051949123100"]
    got = pl.DataFrame({"c": ids}).select(citizen_id_valid_expr("c", today=TODAY))["c"].to_list()
    expected = [c is not None and len(c) == 18 and check_citizen_id(c, today=TODAY).ok for c in ids]
    assert got == expected
    assert any(got) and not all(got)
    assert expected[5000:5004] == [True, False, False, False]  # leap days: 2000 yes, 1900 and 2001 no


@settings(max_examples=50)
@given(st.lists(valid_usccs(), min_size=1, max_size=20))
def test_uscc_expr_accepts_every_generated_code(codes: list[str]) -> None:
    assert pl.DataFrame({"c": codes}).select(uscc_valid_expr("c"))["c"].all()


@settings(max_examples=200)
@given(st.sampled_from(["reg_no", "org_code", "tax_no", "inst_cert_no", "social_org_no"]),
       st.lists(st.one_of(st.text(alphabet="0123456789ABXZ", min_size=0, max_size=21),
                          st.text(min_size=1, max_size=60),
                          st.builds(lambda b: b + org_code_check_char(b),
                                    st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=8,
                                            max_size=8))), min_size=1, max_size=30))
def test_secondary_expr_agrees_with_scalar(scheme: str, raw: list[str]) -> None:
    values = [normalize_code(v) or None for v in raw]
    got = pl.DataFrame({"c": values}, schema={"c": pl.String}).select(secondary_valid_expr(scheme, "c"))["c"]
    assert got.to_list() == [v is not None and check_secondary_code(scheme, v).ok for v in values]
