"""Search behaviour through search_subjects, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from xinyong.core.identifiers import make_citizen_id, make_uscc
from xinyong.search.service import EXACT_CODE, EXACT_NAME, PREFIX, SUBSTRING, TYPO, search_subjects
from xinyong.subjects import service as subjects

PERSON_ID = make_citizen_id("371402", date(1990, 1, 1), 123)
NAMES = [
    "德州市恒达机械制造有限公司",
    "恒达机械有限公司",
    "德州市德城区恒达机械配件经营部",
    "山东恒达建材有限公司",
    "德州市鑫源商贸有限公司",
    "禹城市天衢食品有限公司",
    "德州市(测试)机构",
    "德州市华信科技有限公司",
    "ABC Trading 有限公司",
    "50%_折扣商店",
]


def org_uscc(i: int) -> str:
    return make_uscc("91", "371402", f"MA3C{i:04d}")


@pytest.fixture
def orgs(db: Session) -> dict[str, str]:
    """name -> uscc for NAMES, plus a natural person 张恒达 (ID 371402199001011234-like)."""
    out = {}
    for i, name in enumerate(NAMES):
        s = subjects.upsert_organisation(db, uscc=org_uscc(i), name=name)
        out[name] = s.uscc or ""
    subjects.upsert_person(db, PERSON_ID, "张恒达")
    db.commit()
    return out


def names(result) -> list[str]:
    return [i.name for i in result.items]


def test_substring_finds_the_company(db: Session, orgs: dict[str, str]) -> None:
    result = search_subjects(db, "恒达机械", limit=20)
    assert "德州市恒达机械制造有限公司" in names(result)
    assert "山东恒达建材有限公司" not in names(result)
    assert result.total == 3


def test_traditional_characters_find_simplified_names(db: Session, orgs: dict[str, str]) -> None:
    result = search_subjects(db, "恆達機械製造")
    assert names(result)[0] == "德州市恒达机械制造有限公司"
    # a page with fewer exact matches than its size is filled with near matches, after them
    assert [i.tier for i in result.items][1:] == [TYPO] * (len(result.items) - 1)


def test_traditional_name_is_found_by_simplified_query(db: Session, orgs: dict[str, str]) -> None:
    subjects.upsert_organisation(db, uscc=org_uscc(50), name="香港華信貿易有限公司")
    db.commit()
    assert names(search_subjects(db, "华信贸易")) == ["香港華信貿易有限公司"]


def test_full_width_input_is_normalised(db: Session, orgs: dict[str, str]) -> None:
    assert "ABC Trading 有限公司" in names(search_subjects(db, "ＡＢＣ　ｔｒａｄｉｎｇ"))
    # full-width and half-width brackets match each other
    assert names(search_subjects(db, "德州市（测试）")) == ["德州市(测试)机构"]


def test_spaces_between_chinese_characters_are_ignored(db: Session, orgs: dict[str, str]) -> None:
    assert "德州市恒达机械制造有限公司" in names(search_subjects(db, " 恒达 机械 制造 "))


def test_exact_code_comes_first(db: Session, orgs: dict[str, str]) -> None:
    code = orgs["德州市鑫源商贸有限公司"]
    result = search_subjects(db, code)
    assert result.items[0].name == "德州市鑫源商贸有限公司"
    assert result.items[0].tier == EXACT_CODE
    assert result.total == 1


def test_partial_code_and_spaced_lowercase_code(db: Session, orgs: dict[str, str]) -> None:
    code = orgs["德州市鑫源商贸有限公司"]
    assert search_subjects(db, code[:8]).total == len(NAMES)  # every test code shares the prefix
    tail = code[-8:]
    assert names(search_subjects(db, tail)) == ["德州市鑫源商贸有限公司"]
    spaced = " ".join([code[:6].lower(), code[6:12], code[12:]])
    assert names(search_subjects(db, spaced))[0] == "德州市鑫源商贸有限公司"


def test_one_wrong_character_is_found_and_suggested(db: Session, orgs: dict[str, str]) -> None:
    result = search_subjects(db, "天衢实品有限")
    assert names(result) == ["禹城市天衢食品有限公司"]
    assert result.items[0].tier == TYPO
    assert result.suggestion == "天衢食品有限"


def test_ranking_exact_then_prefix_then_substring(db: Session, orgs: dict[str, str]) -> None:
    result = search_subjects(db, "恒达机械有限公司", limit=20)
    assert result.items[0].name == "恒达机械有限公司"
    assert result.items[0].tier == EXACT_NAME
    prefix = search_subjects(db, "恒达", limit=20)
    tiers = [i.tier for i in prefix.items]
    assert tiers == sorted(tiers)
    assert prefix.items[0].name == "恒达机械有限公司" and prefix.items[0].tier == PREFIX
    assert {i.tier for i in prefix.items[1:]} == {SUBSTRING}


def test_paging(db: Session, orgs: dict[str, str]) -> None:
    everything = search_subjects(db, "有限公司", limit=100)
    first = search_subjects(db, "有限公司", limit=2, offset=0)
    second = search_subjects(db, "有限公司", limit=2, offset=2)
    assert first.total == second.total == everything.total == 7
    assert names(first) + names(second) == names(everything)[:4]
    assert search_subjects(db, "有限公司", limit=5, offset=100).items == []


def test_natural_persons_are_never_found(db: Session, orgs: dict[str, str]) -> None:
    for q in ("张恒达", "恒达", PERSON_ID, PERSON_ID[:10]):
        assert all(i.kind != "natural_person" for i in search_subjects(db, q, limit=100).items)
    assert search_subjects(db, "张恒达").total == 0
    assert search_subjects(db, PERSON_ID).total == 0


def test_renamed_subject_is_found_by_new_name(db: Session, orgs: dict[str, str]) -> None:
    subjects.upsert_organisation(db, uscc=orgs["德州市华信科技有限公司"], name="德州市华信智能科技有限公司")
    db.commit()
    assert names(search_subjects(db, "华信智能")) == ["德州市华信智能科技有限公司"]
    assert search_subjects(db, "华信科技").total == 0


def test_bad_inputs_never_fail(db: Session, orgs: dict[str, str]) -> None:
    empty = search_subjects(db, "   ")
    assert empty.total == 0 and empty.problem and "请输入" in empty.problem
    short = search_subjects(db, "恒")
    assert short.total == 0 and short.problem and "太短" in short.problem
    long = search_subjects(db, "恒达机械" * 2500)
    assert long.notices and "过长" in long.notices[0]
    for q in ("' OR 1=1 --", "<script>alert(1)</script>", '"', '"恒达', "恒达*", "NEAR(恒达 机械)", "恒达 OR 鑫源",
              "a:b", "name:恒达", "^恒达", "恒达)", "(((", "\\", "%%%", "___", "\x00恒达", "{name}:x"):
        result = search_subjects(db, q)
        assert result.total >= 0
    assert search_subjects(db, "' OR 1=1 --").total == 0
    assert search_subjects(db, "%%%").total == 0


def test_like_wildcards_are_literal(db: Session, orgs: dict[str, str]) -> None:
    assert names(search_subjects(db, "50%_折")) == ["50%_折扣商店"]
    assert search_subjects(db, "50_%").total == 0


def test_two_character_query(db: Session, orgs: dict[str, str]) -> None:
    assert set(names(search_subjects(db, "鑫源"))) == {"德州市鑫源商贸有限公司"}


def test_two_character_queries_inside_and_at_the_end_of_names(db: Session, orgs: dict[str, str]) -> None:
    assert set(names(search_subjects(db, "经营", limit=20))) == {"德州市德城区恒达机械配件经营部"}
    # only at the end of names: no trigram starts with the pair, the bounded scan finds them
    assert set(names(search_subjects(db, "营部", limit=20))) == {"德州市德城区恒达机械配件经营部"}
    assert search_subjects(db, "公司", limit=20).total == 7
    assert search_subjects(db, "鼎鑫").total == 0


@pytest.mark.parametrize(("query", "expected"), [
    ("恒大机械", "恒达机械有限公司"),            # 4 characters, wrong second character
    ("恒达鸡械", "恒达机械有限公司"),            # 4 characters, wrong third character
    ("恒达鸡械制", "德州市恒达机械制造有限公司"),  # 5 characters, wrong middle character
    ("天衢實品", "禹城市天衢食品有限公司"),        # traditional input with a wrong character
])
def test_wrong_character_in_the_middle_of_a_short_query(db: Session, orgs: dict[str, str], query: str,
                                                        expected: str) -> None:
    result = search_subjects(db, query, limit=20)
    assert expected in names(result)
    assert all(i.tier == TYPO for i in result.items)
    assert result.suggestion


def test_transposed_characters_are_near_matches(db: Session, orgs: dict[str, str]) -> None:
    result = search_subjects(db, "德州市恒达械机制造")
    assert names(result)[0] == "德州市恒达机械制造有限公司"
    assert result.items[0].tier == TYPO
    assert names(search_subjects(db, "鑫源贸商有限公司"))[0] == "德州市鑫源商贸有限公司"


def test_near_matches_fill_the_page_best_first(db: Session, orgs: dict[str, str]) -> None:
    # one edit from "恒达机械有限公司"; the other 恒达 names share shorter runs and come after it
    result = search_subjects(db, "恒达机戒有限公司", limit=20)
    assert names(result)[0] == "恒达机械有限公司"
    assert "山东恒达建材有限公司" in names(result)
    scores = [i.tier for i in result.items]
    assert scores == [TYPO] * len(scores)


def test_unrelated_text_is_not_a_near_match(db: Session, orgs: dict[str, str]) -> None:
    assert search_subjects(db, "不存在的公司名称").total == 0
    assert search_subjects(db, "人民政府办公室").total == 0
