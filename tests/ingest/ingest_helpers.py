"""Helpers for ingest tests: CSV writing, sample rows, table counts, a fixed ingest date."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xinyong.ingest.models import Batch, BatchReject
from xinyong.records.models import Record, RecordEvent
from xinyong.subjects.grams import grams_frame
from xinyong.subjects.models import Subject, SubjectGram, SubjectIdentifier, SubjectName

TODAY = date(2026, 3, 20)

PENALTY_HEADERS = [
    "行政相对人名称", "行政相对人类别", "行政相对人代码_1(统一社会信用代码)", "法定代表人", "法定代表人证件号码",
    "证件类型", "证件号码", "行政处罚决定书文号", "处罚类别", "罚款金额(万元)", "处罚决定日期", "公示截止期", "处罚机关",
]  # fmt: skip

ORG_A = "914403001922038216"
ORG_B = "91110000710926094P"
ORG_C = "91440300708461136T"
PERSON_ID = "11010519491231002X"


def penalty_row(name: str = "德州甲有限公司", kind: str = "法人及非法人组织", uscc: str = ORG_A, rep: str = "张三",
                rep_id: str = "", id_type: str = "", id_no: str = "", no: str = "德市监罚〔2026〕1号",
                ptype: str = "罚款", amount: str = "1.5", decided: str = "2026-03-16", until: str = "",
                authority: str = "德州市市场监督管理局") -> list[str]:
    return [name, kind, uscc, rep, rep_id, id_type, id_no, no, ptype, amount, decided, until, authority]


def write_csv(path: Path, headers: list[str], rows: Iterable[list[str]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(headers)
        writer.writerows(rows)
    return path


def count(db: Session, model: type) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def counts(db: Session) -> dict[str, int]:
    models = (Record, RecordEvent, Subject, SubjectIdentifier, SubjectName, Batch, BatchReject)
    return {m.__tablename__: count(db, m) for m in models}


def stored_grams(db: Session) -> set[tuple[str, int]]:
    """The search side table of two-character runs, as stored."""
    return {(g, int(i)) for g, i in db.execute(select(SubjectGram.gram, SubjectGram.subject_id))}


def expected_grams(db: Session) -> set[tuple[str, int]]:
    """What the side table must hold: the runs of every organisation's current name, none of a person's."""
    orgs = db.execute(select(Subject.id, Subject.name).where(Subject.kind != "natural_person")).all()
    frame = grams_frame([r[0] for r in orgs], [r[1] for r in orgs])
    return {(g, int(i)) for g, i in frame.iter_rows()}
