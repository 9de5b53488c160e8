"""Two-character queries, answered by the side table of two-character runs (subjects.grams), on both databases."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.core.identifiers import make_citizen_id, make_uscc
from xinyong.search.service import EXACT_NAME, PREFIX, SUBSTRING, search_subjects
from xinyong.subjects import service as subjects
from xinyong.subjects.grams import grams_frame, name_grams
from xinyong.subjects.models import Subject, SubjectGram

NAMES = ["华为技术有限公司", "德州华为建筑工程有限公司", "深圳市(华为)配件商店", "华为", "ABC Trading 有限公司",
         "德州市华信科技有限公司"]


def uscc(i: int) -> str:
    return make_uscc("91", "371402", f"MA7G{i:04d}")


def seed(db: Session) -> dict[str, Subject]:
    out = {name: subjects.upsert_organisation(db, uscc=uscc(i), name=name) for i, name in enumerate(NAMES)}
    subjects.upsert_person(db, make_citizen_id("371402", date(1990, 1, 1), 7), "华为明")
    db.commit()
    return out


def stored(db: Session) -> set[tuple[str, int]]:
    return {(g, int(i)) for g, i in db.execute(select(SubjectGram.gram, SubjectGram.subject_id))}


def expected(db: Session) -> set[tuple[str, int]]:
    orgs = db.execute(select(Subject.id, Subject.name).where(Subject.kind != "natural_person")).all()
    return {(g, int(i)) for g, i in grams_frame([r[0] for r in orgs], [r[1] for r in orgs]).iter_rows()}


def test_the_grams_of_a_name() -> None:
    assert name_grams("德州(华为) AB") == {"^德州", "德州", "华为", "ab"}
    assert name_grams("华") == set()


def test_two_characters_find_every_name_that_holds_them_ranked_as_before(db: Session) -> None:
    seed(db)
    result = search_subjects(db, "华为", limit=10)
    assert [i.name for i in result.items] == ["华为", "华为技术有限公司", "德州华为建筑工程有限公司", "深圳市(华为)配件商店"]
    assert [i.tier for i in result.items] == [EXACT_NAME, PREFIX, SUBSTRING, SUBSTRING]
    assert result.total == 4  # never the natural person 华为明
    assert [i.name for i in search_subjects(db, "華為").items][:2] == ["华为", "华为技术有限公司"]
    assert "ABC Trading 有限公司" in [i.name for i in search_subjects(db, "ab").items]
    assert [i.name for i in search_subjects(db, "德州").items] == ["德州市华信科技有限公司", "德州华为建筑工程有限公司"]
    assert search_subjects(db, "为德").total == 0


def test_the_side_table_follows_names_set_through_the_subjects_service(db: Session) -> None:
    made = seed(db)
    assert stored(db) == expected(db)
    subject = made["德州华为建筑工程有限公司"]
    subjects.upsert_organisation(db, uscc=uscc(1), name="德州中兴建材有限公司")
    db.commit()
    assert stored(db) == expected(db)
    assert ("华为", subject.id) not in stored(db) and ("中兴", subject.id) in stored(db)
    assert "德州中兴建材有限公司" in [i.name for i in search_subjects(db, "中兴").items]
    assert "德州中兴建材有限公司" not in [i.name for i in search_subjects(db, "华为").items]
